"""The rendering side of ``data render``: lays out, builds and renders one scene and computes its truth.

Imports :mod:`bpy`; runs only in the worker processes that :mod:`.dataset` starts (and in tests that render).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

import numpy as np

from .. import shards
from . import blender
from .scene import expected_hidden_gains, layout, with_exposure
from .truth import compute_truth

#: Smallest normal float16 (2^-14 px); smaller stored coefficients become 0 (as in the 2-D generator).
_STORAGE_TINY = np.float32(2.0 ** -14)


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Send this process's file descriptor 1 (Cycles' progress lines) to /dev/null while active."""
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def render_scene(seed: int, width: int, height: int, threads: int = 1, samples: int | None = None,
                 family: str | None = None, families: tuple[str, ...] | None = None, exposure_stops: float = 0.0):
    """Render the scene of ``seed`` (of ``family``, or drawn among ``families``; see :func:`.scene.layout`), its
    exposure shifted by ``exposure_stops``: ``(spec, image uint8 [H, W, 3], truth)`` (see :mod:`.truth`)."""
    spec = with_exposure(layout(seed, width, height, family, families), exposure_stops)
    with tempfile.TemporaryDirectory(prefix="idyn_render_") as tmp, quiet_stdout():
        sc = blender.build(spec, threads=threads, samples=samples)
        image, passes = blender.render(sc, tmp)
    return spec, image, compute_truth(passes, spec.motions, spec.camera)


def ceiling_truths(seed: int, width: int, height: int, threads: int = 0, samples: int = 16):
    """``(truth, expected)`` of the scene of ``seed``: its truth and the truth with every hidden amplitude factor at
    its root mean square (:func:`.scene.expected_hidden_gains`), from the same render (the geometry is the same), for
    the appearance ceiling: how well the motion energy can be told from the picture alone (score both over
    ``truth.known``; ``expected.known`` differs slightly, as the spread test scales with the motion). The render uses
    flat shading (the passes do not depend on it) and no denoising, so it is quicker than a dataset sample."""
    spec = layout(seed, width, height)
    with expected_hidden_gains():
        expected = layout(seed, width, height)
    with tempfile.TemporaryDirectory(prefix="idyn_ceiling_") as tmp, quiet_stdout():
        sc = blender.build(spec, threads=threads, samples=samples, denoise=False, flat=True)
        _image, passes = blender.render(sc, tmp)
    return compute_truth(passes, spec.motions, spec.camera), compute_truth(passes, expected.motions, expected.camera)


def render_job(job: tuple) -> tuple:
    """One dataset sample in storage form: ``(seed, family, image uint8 [H, W, 3], float16 channels [K, 4, H, W],
    known uint8 [H, W])`` for ``job = (seed, width, height, threads, samples, families, exposure_stops)``."""
    seed, width, height, threads, samples, families, exposure_stops = job
    spec, image, truth = render_scene(seed, width, height, threads, samples, families=families,
                                      exposure_stops=exposure_stops)
    parts = np.stack([truth.coeffs.real, truth.coeffs.imag])
    parts[np.abs(parts) < _STORAGE_TINY] = 0.0
    channels = shards.coeffs_to_channels((parts[0] + 1j * parts[1]).astype(np.complex64)).astype(np.float16)
    return seed, spec.family, image, channels, truth.known

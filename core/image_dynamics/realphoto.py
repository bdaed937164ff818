"""The real-photo check: does a motion model move water and foliage, and leave rock, pavement and sky still, in
photographs it was never trained on? (issue 13; ``image-dynamics eval-photos``)

A *photo set* is a folder of ``<name>.png`` images and ``<name>_labels.png`` label maps of the same size (8-bit grey:
255 moving, 128 static, 0 unlabelled; other values are refused). The development set is ``docs/realphoto/``.

Protocol, per image:

1. the image (and, nearest-neighbour, its labels) is resized to ``WIDTH`` = 512 px wide (area averaging when
   shrinking, bilinear when enlarging), keeping its aspect ratio;
2. the model predicts its spectral volume for each seed (0, 1, 2 by default) through the runtime (onnxruntime), no
   disk cache;
3. a pixel's motion is its RMS displacement over one loop about the loop's mean, in pixels of the 512-px image:
   ``rms = sqrt(E / 2)`` with ``E = sum_{k: f_k > 0} |S_k,x|^2 + |S_k,y|^2`` (exact for bands on the loop's harmonics,
   which the model's are), computed on the volume's grid with coefficients rescaled to image pixels and brought to
   the image by the renderer's own edge-aware upsampler (the energy, then the square root), averaged over the seeds;
4. ``auc``: area under the ROC curve of that RMS for telling moving-labelled from static-labelled pixels (unlabelled
   pixels left out; 0.5 = chance, under 0.5 = inverted); ``mean_rms_px``: mean RMS over all pixels;
   ``moving_fraction``: fraction of all pixels whose RMS exceeds ``MOVING_PX`` = 0.5 px (issue 13's close-up figure);
   ``labelled_moving_fraction``: the same among the moving-labelled pixels only, and ``labelled_moving_share``: how
   much of the picture is labelled moving (a picture whose plants cover 15 % of it cannot have 20 % of all its pixels
   above 0.5 px without moving what stands still); and the mean RMS over the moving- and the static-labelled pixels.

A picture per image shows the input with its labels, the motion RMS on a fixed colour scale, and a rendered frame.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from . import spectral
from .errors import InputError
from .evaluation import roc_auc

WIDTH = 512
MOVING_PX = 0.5
LABEL_MOVING, LABEL_STATIC, LABEL_NONE = 255, 128, 0
LABEL_SUFFIX = "_labels"
DEFAULT_SEEDS = (0, 1, 2)
#: RMS (pixels) at the top of the pictures' colour scale.
PICTURE_RMS_MAX = 2.0
#: Frame time (frames at the model's fps) of the rendered frame in the pictures: a quarter of the 150-frame loop.
PICTURE_FRAME = 37.0

#: ``predict(image uint8 [H, W, 3], seed) -> SpectralVolume`` (any grid of the image's aspect ratio).
VolumePredictor = Callable[[np.ndarray, int], spectral.SpectralVolume]


@dataclass
class LabelledPhoto:
    """One photo of a set at ``WIDTH`` px wide: image uint8 ``[H, W, 3]`` and labels uint8 ``[H, W]``."""

    name: str
    image: np.ndarray
    labels: np.ndarray
    source_size: tuple[int, int]  #: (width, height) of the file


def _read_png(path: Path, grey: bool) -> np.ndarray:
    data = np.fromfile(path, dtype=np.uint8)
    pixels = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if pixels is None:
        raise InputError(f"{path}: not a readable PNG image. Replace the file.")
    if pixels.dtype != np.uint8:
        raise InputError(f"{path}: {pixels.dtype} pixels; the photo check reads 8-bit PNGs. Save it as 8-bit.")
    if grey:
        if pixels.ndim == 3:
            if pixels.shape[2] == 4:
                pixels = pixels[..., :3]
            if not (np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 0], pixels[..., 2])):
                raise InputError(f"{path}: labels must be grey (255 moving, 128 static, 0 unlabelled); this image has "
                                 "colour. Save the label map as a grey PNG.")
            pixels = pixels[..., 0]
        return np.ascontiguousarray(pixels)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    return np.ascontiguousarray(cv2.cvtColor(pixels[..., :3], cv2.COLOR_BGR2RGB))


def resize_photo(image: np.ndarray, labels: np.ndarray, width: int = WIDTH) -> tuple[np.ndarray, np.ndarray]:
    """Image uint8 ``[H, W, 3]`` and labels uint8 ``[H, W]`` at ``width`` px wide, height ``round(H * width / W)``:
    area averaging (shrinking) or bilinear (enlarging) for the image, nearest neighbour for the labels."""
    h, w = labels.shape
    height = max(1, int(round(h * width / w)))
    if (w, h) == (width, height):
        return image, labels
    interp = cv2.INTER_AREA if width < w else cv2.INTER_LINEAR
    return (cv2.resize(image, (width, height), interpolation=interp),
            cv2.resize(labels, (width, height), interpolation=cv2.INTER_NEAREST))


def load_photo_set(folder: str | os.PathLike, width: int = WIDTH) -> list[LabelledPhoto]:
    """Every ``<name>.png`` of ``folder`` that has a ``<name>_labels.png``, sorted by name, at ``width`` px wide.

    Raises :class:`InputError` when the folder is missing or holds no labelled photo, when an image has no label
    map (or a label map no image), when sizes differ, or when a label map holds values other than 0, 128 and 255.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: photo folder not found. Give a folder of <name>.png images with "
                         "<name>_labels.png label maps (docs/realphoto/ is one).")
    pngs = {p.stem: p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".png"}
    label_names = {n[:-len(LABEL_SUFFIX)] for n in pngs if n.endswith(LABEL_SUFFIX)}
    images = sorted(n for n in pngs if not n.endswith(LABEL_SUFFIX))
    orphans = sorted(label_names - set(images))
    if orphans:
        raise InputError(f"{pngs[orphans[0] + LABEL_SUFFIX]}: a label map without its image {orphans[0]}.png. Add "
                         "the image or remove the label map.")
    unlabelled = [n for n in images if n not in label_names]
    if unlabelled:
        raise InputError(f"{pngs[unlabelled[0]]}: no label map {unlabelled[0]}{LABEL_SUFFIX}.png beside it. Draw one "
                         "(8-bit grey: 255 moving, 128 static, 0 unlabelled) or move the image out of the folder.")
    if not images:
        raise InputError(f"{folder}: no <name>.png with a <name>{LABEL_SUFFIX}.png here. Add labelled photos.")
    photos = []
    for name in images:
        image = _read_png(pngs[name], grey=False)
        label_path = pngs[name + LABEL_SUFFIX]
        labels = _read_png(label_path, grey=True)
        if labels.shape != image.shape[:2]:
            raise InputError(f"{label_path}: label map is {labels.shape[1]}x{labels.shape[0]} but {name}.png is "
                             f"{image.shape[1]}x{image.shape[0]}. Draw the labels at the image's size.")
        bad = ~np.isin(labels, (LABEL_MOVING, LABEL_STATIC, LABEL_NONE))
        if bad.any():
            y, x = (int(v) for v in np.argwhere(bad)[0])
            raise InputError(f"{label_path}: value {int(labels[y, x])} at x={x}, y={y}; labels are 255 (moving), 128 "
                             "(static) or 0 (unlabelled) only (no anti-aliasing). Redraw without smoothing.")
        source = (image.shape[1], image.shape[0])
        image, labels = resize_photo(image, labels, width)
        photos.append(LabelledPhoto(name, image, labels, source))
    return photos


def loop_rms(energy: np.ndarray) -> np.ndarray:
    """float32 ``[...]``: RMS displacement about the loop mean (pixels) from motion energies ``E`` ``[...]``
    (squared pixels, bands above 0 Hz): ``sqrt(E / 2)``, the RMS of a cosine being its amplitude over sqrt 2."""
    return np.sqrt(np.maximum(energy, 0.0) / 2.0).astype(np.float32)


def motion_rms(volume: spectral.SpectralVolume, image: np.ndarray) -> np.ndarray:
    """float32 ``[H, W]``: each pixel's RMS displacement about its loop mean, in pixels of ``image`` (uint8
    ``[H, W, 3]``), from a volume on any grid of the image's aspect ratio.

    The energy ``E`` (bands above 0 Hz, coefficients rescaled from grid to image pixels) is upsampled to the image by
    the renderer's edge-aware upsampler guided by the image, then ``rms = sqrt(E / 2)``.
    """
    from .frames import check_aspect, to_image_pixels
    from .upsample import EdgeAwareUpsampler

    height, width = image.shape[:2]
    check_aspect(volume, width, height)
    energy = spectral.motion_energy(to_image_pixels(volume, width, height)).astype(np.float32)
    if energy.shape != (height, width):
        guide = image.astype(np.float32) / 255.0
        energy = EdgeAwareUpsampler(guide, energy.shape).apply(energy[None])[0]
    return loop_rms(energy)


def photo_metrics(rms: np.ndarray, labels: np.ndarray) -> dict:
    """The per-image figures of the protocol from an RMS map ``[H, W]`` (pixels) and labels ``[H, W]``.

    ``auc`` is ``None`` when the labels lack one of the two classes (a photo of only static things).
    """
    moving, static = labels == LABEL_MOVING, labels == LABEL_STATIC
    labelled = moving | static
    auc = roc_auc(rms[labelled], moving[labelled]) if moving.any() and static.any() else None
    return {
        "auc": auc,
        "mean_rms_px": float(rms.mean()),
        "moving_fraction": float((rms > MOVING_PX).mean()),
        "labelled_moving_fraction": float((rms[moving] > MOVING_PX).mean()) if moving.any() else None,
        "labelled_moving_share": float(moving.mean()),
        "mean_rms_moving_px": float(rms[moving].mean()) if moving.any() else None,
        "mean_rms_static_px": float(rms[static].mean()) if static.any() else None,
        "labelled_moving_px": int(moving.sum()),
        "labelled_static_px": int(static.sum()),
    }


def colour_rms(rms: np.ndarray, top: float = PICTURE_RMS_MAX) -> np.ndarray:
    """uint8 RGB ``[H, W, 3]`` picture of an RMS map ``[H, W]`` (pixels): inferno on a square-root scale, 0 to
    ``top`` px; the colour scale of every motion picture of the photo sets and datasets."""
    scaled = np.clip(rms / top, 0, 1) ** 0.5  # square root: small motion stays visible
    return cv2.cvtColor(cv2.applyColorMap((scaled * 255 + 0.5).astype(np.uint8), cv2.COLORMAP_INFERNO),
                        cv2.COLOR_BGR2RGB)


def label_overlay(image: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """uint8 ``[H, W, 3]``: ``image`` (uint8 RGB) tinted red where ``labels`` (uint8 ``[H, W]``) says moving and blue
    where it says static, unlabelled pixels as they are."""
    out = image.astype(np.float32)
    for value, colour in ((LABEL_MOVING, (255, 60, 40)), (LABEL_STATIC, (40, 90, 255))):
        mask = labels == value
        out[mask] = 0.55 * out[mask] + 0.45 * np.array(colour, np.float32)
    return (out + 0.5).astype(np.uint8)


def titled(panel: np.ndarray, title: str) -> np.ndarray:
    """``panel`` (uint8 RGB ``[H, W, 3]``) under a 22-px white bar with ``title``."""
    bar = np.full((22, panel.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, title, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, panel], axis=0)


def photo_picture(photo: LabelledPhoto, rms: np.ndarray, frame: np.ndarray, metrics: dict) -> np.ndarray:
    """uint8 ``[H + 22, 4 W + 12, 3]``: input, labels over it (red moving, blue static), motion RMS (inferno, square
    root scale, 0 to ``PICTURE_RMS_MAX`` px) and a rendered frame, side by side with titles."""
    gap = np.full((photo.image.shape[0] + 22, 4, 3), 255, np.uint8)
    auc = "n/a" if metrics["auc"] is None else f"{metrics['auc']:.2f}"
    panels = [titled(photo.image, f"{photo.name}"),
              titled(label_overlay(photo.image, photo.labels), "labels: red moving, blue static"),
              titled(colour_rms(rms), f"motion RMS 0-{PICTURE_RMS_MAX:g} px, AUC {auc}, mean "
                                        f"{metrics['mean_rms_px']:.2f} px"),
              titled(frame, f"frame {PICTURE_FRAME:g} (seed 0)")]
    return np.concatenate([panels[0], gap, panels[1], gap, panels[2], gap, panels[3]], axis=1)


def render_frame(image: np.ndarray, volume: spectral.SpectralVolume, time: float = PICTURE_FRAME) -> np.ndarray:
    """uint8 ``[H, W, 3]``: the engine's frame at ``time`` (frames) of ``image`` under ``volume``."""
    from .frames import FrameRenderer

    renderer = FrameRenderer(image.astype(np.float32) / 255.0, volume)
    frame = next(iter(renderer.frames(np.array([time], np.float64))))
    return (np.clip(frame[..., :3], 0, 1) * 255 + 0.5).astype(np.uint8)


def evaluate_photos(photos: Sequence[LabelledPhoto], predict: VolumePredictor, seeds: Sequence[int] = DEFAULT_SEEDS,
                    pictures: bool = True, progress: Callable[[int, int], None] | None = None
                    ) -> tuple[dict, dict[str, np.ndarray]]:
    """Score every photo under ``predict`` over ``seeds``; returns (report dict, pictures by name).

    The report has ``protocol`` (the numbers that define it), ``images`` (per image: the figures of
    :func:`photo_metrics` on the seed-averaged RMS, ``per_seed_auc``, size) and ``summary`` (means over images of
    each figure, the lowest AUC and how many images reach an AUC of 0.8).
    """
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise InputError("give at least one seed (e.g. --seeds 0,1,2)")
    results, pics = [], {}
    total, done = len(photos) * len(seeds), 0
    for photo in photos:
        maps, first_volume = [], None
        for seed in seeds:
            volume = predict(photo.image, seed)
            if first_volume is None:
                first_volume = volume
            maps.append(motion_rms(volume, photo.image))
            done += 1
            if progress is not None:
                progress(done, total)
        rms = np.mean(maps, axis=0).astype(np.float32)
        metrics = photo_metrics(rms, photo.labels)
        per_seed = [photo_metrics(m, photo.labels)["auc"] for m in maps]
        results.append({"name": photo.name, "width": int(photo.image.shape[1]), "height": int(photo.image.shape[0]),
                        "source_size": list(photo.source_size), **metrics, "per_seed_auc": per_seed})
        if pictures:
            pics[photo.name] = photo_picture(photo, rms, render_frame(photo.image, first_volume), metrics)
    aucs = [r["auc"] for r in results if r["auc"] is not None]
    summary = {
        "images": len(results),
        "mean_auc": float(np.mean(aucs)) if aucs else None,
        "min_auc": float(np.min(aucs)) if aucs else None,
        "images_auc_at_least_0.8": int(sum(a >= 0.8 for a in aucs)),
        "images_with_auc": len(aucs),
        "mean_rms_px": float(np.mean([r["mean_rms_px"] for r in results])),
        "mean_moving_fraction": float(np.mean([r["moving_fraction"] for r in results])),
    }
    protocol = {"width_px": WIDTH, "seeds": seeds, "moving_threshold_px": MOVING_PX,
                "motion": "RMS displacement about the loop mean, sqrt(E/2) over bands above 0 Hz, pixels of the image "
                          "resized to width_px, energy upsampled edge-aware, averaged over seeds",
                "labels": {"moving": LABEL_MOVING, "static": LABEL_STATIC, "unlabelled": LABEL_NONE}}
    return {"protocol": protocol, "images": results, "summary": summary}, pics


def package_volume_predictor(model: str | os.PathLike | None = None, provider: str = "auto"
                             ) -> tuple[VolumePredictor, dict]:
    """A :data:`VolumePredictor` for a model package through onnxruntime (no disk cache), and facts about the
    package (name, path, sha256) for the report."""
    from .model.predict import MotionPredictor

    predictor = MotionPredictor(model, provider=provider)

    def predict(image: np.ndarray, seed: int) -> spectral.SpectralVolume:
        return predictor.predict(image, seed=seed, cache=False)

    package = predictor.package
    return predict, {"name": package.name, "path": str(package.path), "sha256": package.sha256}


_SAFE = re.compile(r"^[A-Za-z0-9._-]+$")


def write_outputs(report: dict, pictures: dict[str, np.ndarray], report_path: str | os.PathLike,
                  pictures_dir: str | os.PathLike | None, overwrite: bool = False) -> list[Path]:
    """Write the report (JSON) and one PNG per picture (``<pictures_dir>/<name>.png``) as one transaction: all or
    nothing, and nothing replaced unless ``overwrite``; returns the paths written."""
    import json

    from .atomic import StagedOutputs

    report_path = Path(report_path).absolute()
    folder = Path(pictures_dir) if pictures_dir is not None and pictures else report_path.parent
    for name in pictures if pictures_dir is not None else ():
        if not _SAFE.match(name):
            raise InputError(f"photo name {name!r} is not a plain file name; rename the photo")
    folder.mkdir(parents=True, exist_ok=True)
    with StagedOutputs(folder, overwrite=overwrite) as staged:
        staged.stage_path(report_path).write_text(json.dumps(report, indent=1) + "\n")
        if pictures_dir is not None:
            for name, pixels in pictures.items():
                ok, data = cv2.imencode(".png", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
                staged.stage_path(f"{name}.png").write_bytes(data.tobytes())
        return staged.commit()

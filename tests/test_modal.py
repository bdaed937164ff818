"""Modal dynamics (image_dynamics.modal): exact oscillator responses, units of force, linearity, locality, refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from image_dynamics import modal, spectral
from image_dynamics.errors import InputError
from image_dynamics.frames import FrameRenderer
from image_dynamics.settings import RenderSettings


def one_band_volume(freq_hz: float = 0.8, height: int = 8, width: int = 10) -> spectral.SpectralVolume:
    """A 0 Hz band (must be ignored) and one mode moving every pixel along x, with a little y out of phase."""
    coeffs = np.zeros((2, 2, height, width), dtype=np.complex64)
    coeffs[0] = 5.0  # a 0 Hz offset: no restoring force, left out of the dynamics
    coeffs[1, 0] = 0.7 + 0.2j
    coeffs[1, 1] = 0.05j
    return spectral.make(coeffs, [0.0, freq_hz], 30.0)


def principal_direction(mode: np.ndarray) -> np.ndarray:
    _, vectors = np.linalg.eigh(np.outer(mode, mode.conj()).real)
    return vectors[:, -1]


def local_mode_volume(size: int = 128, bands: int = 9, seed: int = 3) -> tuple[spectral.SpectralVolume, list]:
    """Local modes: four "branches" (Gaussian blobs, sigma 5 px, cut at 20 px) 68 px apart; band ``k`` moves branch
    ``(k - 1) % 4`` with a random complex amplitude and leaks 5 % into the others."""
    rng = np.random.default_rng(seed)
    centres = [(30, 30), (98, 30), (30, 98), (98, 98)]
    yy, xx = np.mgrid[0:size, 0:size]
    blobs = []
    for cx, cy in centres:
        r2 = (xx - cx) ** 2 + (yy - cy) ** 2
        blobs.append(np.where(r2 < 20 ** 2, np.exp(-r2 / (2 * 5.0 ** 2)), 0.0))  # exactly 0 beyond 20 px
    coeffs = np.zeros((bands, 2, size, size), dtype=np.complex128)
    for k in range(1, bands):
        for index, blob in enumerate(blobs):
            amplitude = rng.normal(size=2) + 1j * rng.normal(size=2)
            share = 1.0 if index == (k - 1) % 4 else 0.05
            coeffs[k] += share * amplitude[:, None, None] * blob / (1 + 0.3 * k)
    freqs = np.arange(bands) * 0.4
    return spectral.make(coeffs, freqs, 30.0), centres


# ----------------------------------------------------------------------------------------------------------------------
# One band against the analytic damped oscillator


def test_one_band_impulse_matches_the_analytic_damped_oscillator():
    sv = one_band_volume()
    zeta, start, force = 0.05, 0.5, np.array([3.0, 1.0])
    fps = 120.0
    times = np.arange(0, 20 * fps) / fps
    response = modal.simulate(sv, [modal.Force(tuple(force), at=(4, 3), time=start)], times, zeta)
    d = modal.displacements(sv, response)[:, :, 3, 4].astype(np.float64)
    mode = sv.coeffs[1, :, 3, 4].astype(np.complex128)
    u = principal_direction(mode)
    u = u if force @ u > 0 else -u
    w = 2 * np.pi * 0.8
    wd = w * math.sqrt(1 - zeta ** 2)
    tau = np.clip(times - start, 0, None)
    # q = conj(S).F sin(wd t) e^{-zeta w t} / wd / P with P = a / w, a = |S^H u|^2: along u, amplitude (w / wd) F.u
    amplitude = (w / wd) * float(force @ u)
    expected = amplitude * np.exp(-zeta * w * tau) * np.sin(wd * tau)
    along = d @ u
    assert np.abs(along - expected).max() < 1e-5 * abs(amplitude)
    assert np.all(d[times <= start] == 0)

    # the same three numbers measured from the samples: frequency, decay rate, amplitude
    moving = along[times > start]
    t_moving = times[times > start] - start
    crossings = np.flatnonzero(np.diff(np.sign(moving)) != 0)
    exact = []
    for i in crossings:  # linear interpolation between samples
        t0, t1, v0, v1 = t_moving[i], t_moving[i + 1], moving[i], moving[i + 1]
        exact.append(t0 - v0 * (t1 - t0) / (v1 - v0))
    half_periods = np.diff(exact)
    measured_freq = 1 / (2 * half_periods.mean())
    assert measured_freq == pytest.approx(wd / (2 * np.pi), rel=1e-3)
    peaks = [i for i in range(1, moving.size - 1) if moving[i] > moving[i - 1] and moving[i] >= moving[i + 1]]
    peak_t, peak_v = t_moving[peaks[:6]], moving[peaks[:6]]
    rate = -np.polyfit(peak_t, np.log(peak_v), 1)[0]
    assert rate == pytest.approx(zeta * w, rel=1e-3)
    fitted_amplitude = np.exp(np.polyfit(peak_t, np.log(peak_v / np.sin(wd * peak_t)), 1)[1])
    assert fitted_amplitude == pytest.approx(amplitude, rel=1e-3)


def test_first_peak_is_the_force_in_pixels_as_damping_vanishes():
    """Along the poked pixel's main direction of motion, the first peak is |F| px (one band and several)."""
    sv, centres = local_mode_volume()
    for volume, at in ((one_band_volume(), (4, 3)), (sv, centres[0])):
        y, x = at[1], at[0]
        modes = volume.coeffs[volume.freqs_hz > 0, :, y, x].astype(np.complex128)
        _, vectors = np.linalg.eigh(np.einsum("ka,kb->ab", modes, modes.conj()).real)
        u = vectors[:, -1]
        size = 7.5
        times = np.linspace(0, 1.5, 6001)
        response = modal.simulate(volume, [modal.Force(tuple(size * u), at=at)], times, 1e-9)
        along = (response.q @ volume.coeffs[:, :, y, x].astype(np.complex128)).real @ u
        first = np.flatnonzero(np.diff(along) < 0)[0]
        assert along[first] == pytest.approx(size, rel=1e-4)


def test_a_push_held_leans_the_pixel_by_the_force():
    sv = one_band_volume()
    u = principal_direction(sv.coeffs[1, :, 3, 4].astype(np.complex128))
    times = np.arange(0, 600) / 30
    response = modal.simulate(sv, [modal.Force(tuple(2.0 * u), at=(4, 3), duration=100.0)], times, 0.5)
    lean = modal.displacements(sv, response)[-1, :, 3, 4].astype(np.float64) @ u
    assert lean == pytest.approx(2.0, rel=1e-5)


def test_integration_is_exact_whatever_the_output_frame_rate():
    """A gust with a curve whose knots fall between frames: 30 fps equals every 7th frame of 210 fps."""
    sv, centres = local_mode_volume(size=64, bands=5)
    gust = modal.Force((2.0, -1.0), at=(30, 30), time=0.13, duration=2.0, radius=6.0,
                       curve=((0.0, 0.0), (0.37, 1.0), (1.2, -0.5), (2.0, 0.0)))
    coarse = modal.simulate(sv, [gust], np.arange(0, 120) / 30, 0.05).q
    fine = modal.simulate(sv, [gust], np.arange(0, 840) / 210, 0.05).q[::7]
    assert np.abs(coarse - fine).max() < 1e-9 * np.abs(coarse).max()


# ----------------------------------------------------------------------------------------------------------------------
# Rest state, linearity, settling, zero motion, locality


def test_no_force_renders_the_still_bit_for_bit():
    sv = one_band_volume()
    rng = np.random.default_rng(0)
    image = rng.random((16, 20, 3), dtype=np.float32)
    plan = modal.modal_plan(sv, [], 20, 16, RenderSettings(fps=30.0), length_s=1.0)
    assert plan.basis.shape == (31, 4) and not plan.basis.any()
    renderer = FrameRenderer(image, plan.motion)
    for flow in renderer.flows(plan.times, basis=plan.basis):
        assert np.array_equal(renderer.frame(flow), image)


def test_two_impulses_give_the_sum_of_their_responses():
    sv, centres = local_mode_volume()
    times = np.arange(0, 240) / 30
    a = modal.Force((4.0, 1.0), at=centres[0], time=0.2)
    b = modal.Force((-1.0, 3.0), at=centres[3], time=1.1, radius=8.0)
    both = modal.displacements(sv, modal.simulate(sv, [a, b], times))
    apart = modal.displacements(sv, modal.simulate(sv, [a], times)) + modal.displacements(
        sv, modal.simulate(sv, [b], times))
    assert np.abs(both - apart).max() < 1e-5 * np.abs(both).max()


def test_the_response_settles_below_one_percent_when_the_damping_says():
    zeta, fps = 0.1, 60.0
    w = 2 * np.pi * 0.8
    settle = modal.settle_time_s(one_band_volume(), zeta)
    wd, sigma = w * math.sqrt(1 - zeta ** 2), zeta * w
    assert settle == pytest.approx(math.atan2(wd, sigma) / wd + math.log(100 / math.sqrt(1 - zeta ** 2)) / sigma)
    sv, centres = local_mode_volume(size=64, bands=5)
    settle = modal.settle_time_s(sv, zeta)  # the slowest mode, 0.4 Hz
    times = np.arange(0, int((settle + 2.0) * fps) + 1) / fps
    response = modal.simulate(sv, [modal.Force((5.0, 0.0), at=centres[0], time=0.5)], times, zeta)
    size = np.abs(response.q)  # every mode's modal coordinate
    after = times >= 0.5 + settle
    assert np.all(size[after].max(axis=0) < 0.01 * size.max(axis=0) + 1e-300)
    before = (times > 0.5 + settle - 1.0) & ~after
    assert size[before, 1].max() > 0.009 * size[:, 1].max()  # and not long before: the bound is tight
    d = modal.displacements(sv, response)
    total = np.hypot(d[:, 0], d[:, 1]).max(axis=(1, 2))
    assert total[after].max() < 0.01 * total.max()
    assert modal.default_length_s(sv, [modal.Force((1.0, 0.0), time=2.0, duration=1.0)], zeta) == pytest.approx(
        3.0 + settle)
    assert modal.default_length_s(sv, [], 0.001) == modal.MAX_LENGTH_S


def test_a_force_where_the_volume_is_zero_moves_nothing():
    sv, _ = local_mode_volume()
    times = np.arange(0, 90) / 30
    for force in (modal.Force((9.0, 9.0), at=(64, 64)), modal.Force((9.0, 9.0), at=(64, 64), duration=1.0)):
        q = modal.simulate(sv, [force], times).q
        assert not q.any()
    zero = spectral.make(np.zeros((3, 2, 8, 8), np.complex64), [0, 0.5, 1.0], 30.0)
    assert not modal.simulate(zero, [modal.Force((1.0, 0.0))], times).q.any()


def test_a_poke_moves_its_neighbourhood_more_than_pixels_50_px_away():
    sv, centres = local_mode_volume()
    x0, y0 = centres[0]
    times = np.arange(0, 150) / 30
    d = modal.displacements(sv, modal.simulate(sv, [modal.Force((6.0, 0.0), at=(x0, y0), radius=4.0)], times))
    size = np.hypot(d[:, 0], d[:, 1]).max(axis=0)
    yy, xx = np.mgrid[0:size.shape[0], 0:size.shape[1]]
    distance = np.hypot(xx - x0, yy - y0)
    near, far = size[distance <= 5].mean(), size[distance >= 50].max()
    assert near > 2.0 and near > 3 * far, (near, far)


def test_a_weak_pixel_is_not_amplified_to_the_full_force():
    """Poking the faint edge of a blob does not fling the blob: the response is capped by the mobility floor."""
    sv, centres = local_mode_volume()
    x0, y0 = centres[0]
    times = np.arange(0, 150) / 30
    d = modal.displacements(sv, modal.simulate(sv, [modal.Force((6.0, 0.0), at=(x0 + 25, y0))], times))
    assert np.hypot(d[:, 0], d[:, 1]).max() < 6.0


def test_strength_and_edits_scale_what_is_seen_not_the_units():
    sv = one_band_volume()
    force = modal.Force((3.0, 0.0), at=(4, 3), time=0.1)
    plain = modal.modal_plan(sv, [force], 10, 8, RenderSettings(), length_s=2.0)
    strong = modal.modal_plan(sv, [force], 10, 8, RenderSettings(strength=2.0), length_s=2.0)
    assert np.array_equal(plain.basis, strong.basis)
    assert np.allclose(strong.motion.coeffs, 2 * plain.motion.coeffs)
    assert plain.loop_frames is None and plain.frame_numbers.tolist() == list(range(61))
    assert plain.times[-1] == pytest.approx(2.0 * sv.fps)


def test_a_farm_chunk_renders_the_same_bits_as_the_whole_shot():
    sv, centres = local_mode_volume(size=64, bands=5)
    forces = [modal.Force((3.0, 1.0), at=centres[0], time=0.37),
              modal.Force((0.0, 2.0), at=(20, 40), time=0.5, duration=0.61, curve=((0.0, 1.0), (0.33, -0.2)))]
    whole = modal.modal_plan(sv, forces, 64, 64, RenderSettings(fps=24.0, frames=(0, 40)))
    chunk = modal.modal_plan(sv, forces, 64, 64, RenderSettings(fps=24.0, frames=(17, 29)))
    assert chunk.frame_numbers.tolist() == list(range(17, 29))
    assert np.array_equal(chunk.basis, whole.basis[17:29]) and np.array_equal(chunk.times, whole.times[17:29])
    assert np.abs(chunk.basis).max() > 0


# ----------------------------------------------------------------------------------------------------------------------
# Bad input: one clear line


@pytest.mark.parametrize("make, words", [
    (lambda: modal.simulate(one_band_volume(), [modal.Force((1.0, 0.0), at=(10, 3))], [0.0, 1.0]),
     ["outside the 10x8 image", "0 <= x <= 9"]),
    (lambda: modal.simulate(one_band_volume(), [modal.Force((1.0, 0.0), at=(3, -0.5))], [0.0, 1.0]),
     ["outside"]),
    (lambda: modal.make_force((float("nan"), 1.0), (1, 1)), ["'force'", "finite", "NaN"]),
    (lambda: modal.make_force((1.0, 1.0), (1, 1), time=float("inf")), ["'time'", "finite"]),
    (lambda: modal.simulate(one_band_volume(), [], [0.0], damping_ratio=-0.1), ["--damping-ratio", "-0.1"]),
    (lambda: modal.simulate(one_band_volume(), [], [0.0], damping_ratio=1.0), ["between 0 and 1"]),
    (lambda: modal.modal_plan(one_band_volume(), [modal.Force((1.0, 0.0), time=3.0)], 10, 8, length_s=2.0),
     ["starts at or after the last frame", "2 s", "--length"]),
    (lambda: modal.modal_plan(one_band_volume(), [], 10, 8, RenderSettings(loop_frames=30)),
     ["--loop-frames", "does not loop"]),
    (lambda: modal.modal_plan(one_band_volume(), [], 10, 8, RenderSettings(decay_s=1.0)), ["--decay"]),
    (lambda: modal.make_force((1.0, 1.0), curve=((0.0, 1.0), (0.0, 2.0))), ["increasing order"]),
    (lambda: modal.make_force((1.0, 1.0), curve=((0.0, 1.0),)), ["duration is 0"]),
    (lambda: modal.make_force((1.0, 1.0), radius=-2), ["'radius'", ">= 0"]),
    (lambda: modal.make_force((True, 1.0)), ["'force'", "finite number"]),
])
def test_bad_input_is_one_clear_line(make, words):
    with pytest.raises(InputError) as info:
        make()
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_curve_defaults_the_duration_to_its_span():
    force = modal.make_force((1.0, 0.0), curve=((0.0, 0.0), (0.5, 1.0), (1.5, 0.0)), time=2.0)
    assert force.duration == 1.5 and force.end == 3.5 and not force.is_impulse

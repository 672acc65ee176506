"""Runnable stand-in for the LightTrack example: synthetic tracking, OPE metrics, NCC trackers.

LightTrack (Yan et al., CVPR 2021, arXiv 2104.14545) searches for Siamese trackers cheap enough
for phones. Its FLOPs and EAO figures need GPUs and benchmark videos, so mlplan logs them as
"reported" results. What this module *can* run, on two CPU cores in seconds and with numpy only,
is the trade-off the paper is about: a template-matching tracker against a lighter variant that
does far fewer multiply-accumulates (MACs) per frame, scored with the standard one-pass
evaluation (OPE) on seeded synthetic sequences whose ground truth is known exactly.

Conventions (all fixed, so every run of the same seed gives the same accuracy figures):

* Frames are float32 grayscale, ``FRAME_H`` x ``FRAME_W``; boxes are ``(x, y, w, h)`` in pixels,
  ``(x, y)`` the top-left corner, pixel ``j`` covering ``[j, j + 1)``.
* Frame 0 initialises every tracker and is never scored: a tracker handed the true box would
  get it right for free. The constant-velocity baseline is also handed frame 1's true box, so
  for it frame 1 is free too; it is still scored there (a one-frame advantage, documented).
* Metrics pool all scored frames of all sequences of a seed. Sequences have equal length, so
  this equals the mean of per-sequence figures.
* Baselines and trackers are scored on the *same* sequences for a given seed, so differences
  between them are not differences between sequence sets. Zero-argument calls use seed 0.
* ``fps`` is wall-clock and machine-dependent; every other metric is deterministic.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
Frames = NDArray[np.float32]

FRAME_H = 96
FRAME_W = 128
N_SEQUENCES = 8
N_FRAMES = 80
THRESHOLDS: FloatArray = np.linspace(0.0, 1.0, 21)
PRECISION_PX = 20.0
SEQUENCE_SEED_OFFSET = 10_007  # keeps sequence seeds apart from any other use of small seeds

# ---------------------------------------------------------------------------------------------
# Synthetic sequences
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrackingSequence:
    """One synthetic video: ``frames`` (T, H, W) float32 and true ``boxes`` (T, 4) float64."""

    frames: Frames
    boxes: FloatArray


@dataclass
class _Mover:
    """A textured rectangle with smooth, wandering motion (the target or a distractor)."""

    texture: FloatArray
    cx: float
    cy: float
    heading: float
    turn_rate: float
    speed: float
    w0: float
    h0: float


def _gaussian_kernel(sigma: float) -> FloatArray:
    radius = max(1, int(np.ceil(3.0 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return np.asarray(k / k.sum(), dtype=np.float64)


def _smooth_noise(rng: np.random.Generator, h: int, w: int, sigma: float) -> FloatArray:
    """Zero-mean, unit-std band-limited noise: a cheap, seedable texture (no scipy needed)."""
    k = _gaussian_kernel(sigma)
    pad = k.size - 1
    raw = rng.standard_normal((h + pad, w + pad))
    rows = sliding_window_view(raw, k.size, axis=0) @ k  # (h, w + pad)
    both = sliding_window_view(rows, k.size, axis=1) @ k  # (h, w)
    return np.asarray((both - both.mean()) / both.std(), dtype=np.float64)


def _object_texture(rng: np.random.Generator) -> FloatArray:
    """Fine, high-contrast texture used for the target and for its look-alike distractors."""
    return _smooth_noise(rng, 24, 24, sigma=1.2)


def _background(rng: np.random.Generator) -> FloatArray:
    """Clutter at two scales, so the target is not trivially separable by intensity alone."""
    coarse = _smooth_noise(rng, FRAME_H, FRAME_W, sigma=6.0)
    fine = _smooth_noise(rng, FRAME_H, FRAME_W, sigma=1.2)
    return 0.5 + 0.12 * coarse + 0.10 * fine


def _paint(canvas: FloatArray, texture: FloatArray, box: FloatArray, amplitude: float) -> None:
    """Draw ``texture`` stretched over ``box`` with bilinear sampling (sub-pixel positions)."""
    x, y, w, h = (float(v) for v in box)
    j0, j1 = max(0, int(np.ceil(x - 0.5))), min(FRAME_W, int(np.ceil(x + w - 0.5)))
    i0, i1 = max(0, int(np.ceil(y - 0.5))), min(FRAME_H, int(np.ceil(y + h - 0.5)))
    if j1 <= j0 or i1 <= i0:
        return
    th, tw = texture.shape
    u = np.clip((np.arange(j0, j1) + 0.5 - x) / w * tw - 0.5, 0.0, tw - 1.0)
    v = np.clip((np.arange(i0, i1) + 0.5 - y) / h * th - 0.5, 0.0, th - 1.0)
    u0 = np.minimum(u.astype(np.int64), tw - 2)
    v0 = np.minimum(v.astype(np.int64), th - 2)
    fu, fv = (u - u0)[None, :], (v - v0)[:, None]
    vi, ui = v0[:, None], u0[None, :]
    t00, t01 = texture[vi, ui], texture[vi, ui + 1]
    t10, t11 = texture[vi + 1, ui], texture[vi + 1, ui + 1]
    top = t00 * (1 - fu) + t01 * fu
    bottom = t10 * (1 - fu) + t11 * fu
    canvas[i0:i1, j0:j1] = 0.5 + amplitude * (top * (1 - fv) + bottom * fv)


def _step(m: _Mover, rng: np.random.Generator, w: float, h: float) -> None:
    """Advance one frame: smoothly varying turn rate, reflection at the frame border."""
    m.turn_rate = float(np.clip(m.turn_rate + rng.normal(0.0, 0.04), -0.2, 0.2))
    m.heading += m.turn_rate
    vx, vy = m.speed * np.cos(m.heading), m.speed * np.sin(m.heading)
    if not w / 2 + 1 <= m.cx + vx <= FRAME_W - w / 2 - 1:
        vx = -vx
    if not h / 2 + 1 <= m.cy + vy <= FRAME_H - h / 2 - 1:
        vy = -vy
    m.heading = float(np.arctan2(vy, vx))
    m.cx = float(np.clip(m.cx + vx, w / 2 + 1, FRAME_W - w / 2 - 1))
    m.cy = float(np.clip(m.cy + vy, h / 2 + 1, FRAME_H - h / 2 - 1))


def _new_mover(rng: np.random.Generator, texture: FloatArray, speed: float) -> _Mover:
    w0, h0 = rng.uniform(16.0, 24.0), rng.uniform(16.0, 24.0)
    return _Mover(
        texture=texture,
        cx=float(rng.uniform(w0, FRAME_W - w0)),
        cy=float(rng.uniform(h0, FRAME_H - h0)),
        heading=float(rng.uniform(-np.pi, np.pi)),
        turn_rate=0.0,
        speed=speed,
        w0=float(w0),
        h0=float(h0),
    )


def _box(m: _Mover, scale: float) -> FloatArray:
    w, h = m.w0 * scale, m.h0 * scale
    return np.array([m.cx - w / 2, m.cy - h / 2, w, h], dtype=np.float64)


def make_sequence(rng: np.random.Generator, n_frames: int = N_FRAMES) -> TrackingSequence:
    """One video: a target over clutter, three distractors (one a look-alike of the target,
    one drawn *over* the target so it sometimes occludes it, which is what makes trackers
    fail), slow scale oscillation (+/-12 %), per-frame gain/offset flicker and pixel noise."""
    target_tex = _object_texture(rng)
    lookalike = 0.6 * target_tex + 0.8 * _object_texture(rng)
    distractor_tex = [lookalike / lookalike.std(), _object_texture(rng), _object_texture(rng)]
    target = _new_mover(rng, target_tex, speed=float(rng.uniform(1.5, 3.0)))
    distractors = [_new_mover(rng, t, speed=float(rng.uniform(0.5, 1.5))) for t in distractor_tex]
    occluder = distractors[2]
    background = _background(rng)
    phase, period = rng.uniform(0, 2 * np.pi), rng.uniform(40.0, 80.0)
    frames = np.empty((n_frames, FRAME_H, FRAME_W), dtype=np.float32)
    boxes = np.empty((n_frames, 4), dtype=np.float64)
    for t in range(n_frames):
        scale = 1.0 + 0.12 * np.sin(2 * np.pi * t / period + phase)
        canvas = background.copy()
        boxes[t] = _box(target, scale)
        for d in distractors[:2]:
            _paint(canvas, d.texture, _box(d, 1.0), amplitude=0.2)
        _paint(canvas, target.texture, boxes[t], amplitude=0.2)
        _paint(canvas, occluder.texture, _box(occluder, 1.0), amplitude=0.2)
        for m in [*distractors, target]:
            _step(m, rng, m.w0 * 1.12, m.h0 * 1.12)
        gain, offset = rng.uniform(0.85, 1.15), rng.normal(0.0, 0.03)
        noisy = gain * canvas + offset + rng.normal(0.0, 0.04, canvas.shape)
        frames[t] = noisy.astype(np.float32)
    return TrackingSequence(frames=frames, boxes=boxes)


@functools.lru_cache(maxsize=3)
def make_sequences(
    seed: int, n_sequences: int = N_SEQUENCES, n_frames: int = N_FRAMES
) -> tuple[TrackingSequence, ...]:
    """The evaluation set for ``seed``: same seed, same pixels (for a given numpy version).

    Cached (about 31 MB per seed by default) because every entry point of a seed scores the
    same sequences; the arrays are made read-only so no caller can alter another's input.
    """
    rng = np.random.default_rng(SEQUENCE_SEED_OFFSET + seed)
    seqs = tuple(make_sequence(rng, n_frames) for _ in range(n_sequences))
    for s in seqs:
        s.frames.flags.writeable = False
        s.boxes.flags.writeable = False
    return seqs


# ---------------------------------------------------------------------------------------------
# OPE metrics
# ---------------------------------------------------------------------------------------------


def iou(pred: FloatArray, true: FloatArray) -> FloatArray:
    """Row-wise intersection over union of ``(x, y, w, h)`` boxes, in [0, 1].

    Areas are taken from corner differences, exactly like the intersection, so identical boxes
    give exactly 1 despite float round-off in ``(x + w) - x``.
    """
    p, g = np.atleast_2d(pred), np.atleast_2d(true)
    p0, p1 = p[:, :2], p[:, :2] + p[:, 2:]
    g0, g1 = g[:, :2], g[:, :2] + g[:, 2:]
    side = np.clip(np.minimum(p1, g1) - np.maximum(p0, g0), 0.0, None)
    inter = side[:, 0] * side[:, 1]
    union = np.prod(p1 - p0, axis=1) + np.prod(g1 - g0, axis=1) - inter
    return np.asarray(np.clip(inter / union, 0.0, 1.0), dtype=np.float64)


def center_error(pred: FloatArray, true: FloatArray) -> FloatArray:
    """Row-wise Euclidean distance between box centres, in pixels."""
    p, g = np.atleast_2d(pred), np.atleast_2d(true)
    d = (p[:, :2] + p[:, 2:] / 2) - (g[:, :2] + g[:, 2:] / 2)
    return np.asarray(np.hypot(d[:, 0], d[:, 1]), dtype=np.float64)


def success_curve(ious: FloatArray) -> FloatArray:
    """Share of frames with IoU strictly above each of the 21 thresholds 0, 0.05, ..., 1.

    Strict ``>`` follows the OTB toolkit; hence the last point is always 0 and a perfect
    tracker's curve is twenty 1s and one 0.
    """
    return np.asarray((ious[None, :] > THRESHOLDS[:, None]).mean(axis=1), dtype=np.float64)


def success_auc(ious: FloatArray) -> float:
    """Area under the success curve, taken (as in OTB) as the mean of its 21 points."""
    return float(success_curve(ious).mean())


def precision_at(errors: FloatArray, px: float = PRECISION_PX) -> float:
    """Share of frames whose centre error is at most ``px`` pixels (OTB uses 20)."""
    return float((errors <= px).mean())


def score(preds: Sequence[FloatArray], seqs: Sequence[TrackingSequence]) -> dict[str, float]:
    """OPE metrics over all sequences, frame 0 (initialisation) excluded."""
    ious = np.concatenate([iou(p[1:], s.boxes[1:]) for p, s in zip(preds, seqs, strict=True)])
    errs = np.concatenate(
        [center_error(p[1:], s.boxes[1:]) for p, s in zip(preds, seqs, strict=True)]
    )
    return {
        "success_auc": success_auc(ious),
        "success_rate_0.5": float((ious > 0.5).mean()),
        "precision_20px": precision_at(errs),
        "mean_iou": float(ious.mean()),
        "mean_center_error_px": float(errs.mean()),
        "n_scored_frames": float(ious.size),
    }


# ---------------------------------------------------------------------------------------------
# Heuristic baselines
# ---------------------------------------------------------------------------------------------


def track_static(seq: TrackingSequence) -> FloatArray:
    """The initial box forever: the floor any tracker must beat."""
    return np.repeat(seq.boxes[:1], len(seq.boxes), axis=0)


def track_constant_velocity(seq: TrackingSequence) -> FloatArray:
    """Extrapolate the motion between frames 0 and 1, keeping the initial size.

    Needs a velocity, so unlike every other tracker here it is given the true box of frame 1
    as well as frame 0: one extra frame of ground truth.
    """
    t = np.arange(len(seq.boxes), dtype=np.float64)[:, None]
    velocity = seq.boxes[1, :2] - seq.boxes[0, :2]
    out = np.repeat(seq.boxes[:1], len(seq.boxes), axis=0)
    out[:, :2] = seq.boxes[0, :2] + t * velocity
    return out


# ---------------------------------------------------------------------------------------------
# NCC template-matching tracker
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NCCConfig:
    """``downscale``: integer pooling factor; ``search_radius``: in full-resolution pixels;
    ``update_rate``: template blend weight, applied only when the peak NCC is confident."""

    search_radius: int = 16
    downscale: int = 1
    update_rate: float = 0.05
    update_min_score: float = 0.6


FULL = NCCConfig()
LIGHT = NCCConfig(downscale=2)


def _template_shape(box: FloatArray, f: int) -> tuple[int, int]:
    return max(3, round(float(box[3]) / f)), max(3, round(float(box[2]) / f))


def _crop(frame: Frames, origin: tuple[int, int], shape: tuple[int, int], f: int) -> FloatArray:
    """Pooled crop of ``shape`` cells of ``f x f`` pixels whose top-left cell is ``origin``.

    Indices are clamped to the frame (edge replication) so search windows may overhang it.
    """
    (top, left), (h, w) = origin, shape
    rows = np.clip(np.arange(f * top, f * (top + h)), 0, FRAME_H - 1)
    cols = np.clip(np.arange(f * left, f * (left + w)), 0, FRAME_W - 1)
    full = frame[np.ix_(rows, cols)].astype(np.float64)
    if f == 1:
        return full
    return np.asarray(full.reshape(h, f, w, f).mean(axis=(1, 3)), dtype=np.float64)


def _window_sums(region: FloatArray, th: int, tw: int) -> tuple[FloatArray, FloatArray]:
    """Sum and sum of squares of every ``th x tw`` window, via integral images (O(pixels))."""

    def box_sum(a: FloatArray) -> FloatArray:
        ii = np.zeros((a.shape[0] + 1, a.shape[1] + 1))
        ii[1:, 1:] = a.cumsum(axis=0).cumsum(axis=1)
        return np.asarray(ii[th:, tw:] - ii[:-th, tw:] - ii[th:, :-tw] + ii[:-th, :-tw])

    return box_sum(region), box_sum(region * region)


def ncc_map(region: FloatArray, template: FloatArray) -> FloatArray:
    """Normalised cross-correlation of ``template`` at every offset inside ``region``.

    NCC is invariant to gain and offset, which is why it survives the per-frame flicker.
    """
    th, tw = template.shape
    n = th * tw
    t = template - template.mean()
    t = t / max(float(np.linalg.norm(t)), 1e-12)
    corr = np.einsum("ijkl,kl->ij", sliding_window_view(region, (th, tw)), t)
    s1, s2 = _window_sums(region, th, tw)
    energy = np.sqrt(np.clip(s2 - s1 * s1 / n, 0.0, None))
    return np.asarray(corr / np.maximum(energy, 1e-9), dtype=np.float64)


def _subpixel(scores: FloatArray, i: int, j: int) -> tuple[float, float]:
    """Parabolic refinement of the peak: worth most for the downscaled variant."""

    def vertex(lo: float, mid: float, hi: float) -> float:
        denom = lo - 2 * mid + hi
        if not np.isfinite(denom) or denom >= 0:  # masked neighbour or no proper maximum
            return 0.0
        return float(np.clip(0.5 * (lo - hi) / denom, -0.5, 0.5))

    hi, wj = scores.shape[0] - 1, scores.shape[1] - 1
    di = vertex(scores[i - 1, j], scores[i, j], scores[i + 1, j]) if 0 < i < hi else 0.0
    dj = vertex(scores[i, j - 1], scores[i, j], scores[i, j + 1]) if 0 < j < wj else 0.0
    return i + di, j + dj


def macs_per_frame(box: FloatArray, config: NCCConfig) -> int:
    """Analytic multiply-accumulates per tracked frame: the machine-independent cost.

    Counted: the cross-correlation (one MAC per template pixel per offset), squaring the search
    region for the window energies, and (if ``downscale > 1``) one MAC per input pixel for
    average pooling. Integral-image additions, the square roots and argmax are O(offsets) and
    not counted.
    """
    f = config.downscale
    th, tw = _template_shape(box, f)
    r = config.search_radius // f
    offsets = (2 * r + 1) ** 2
    region = (2 * r + th) * (2 * r + tw)
    pooling = region * f * f if f > 1 else 0
    return offsets * th * tw + region + pooling


def _mask_outside(
    scores: FloatArray, origin: tuple[int, int], shape: tuple[int, int], f: int
) -> None:
    """Forbid offsets whose window would leave the frame: edge-replicated pixels are not
    evidence, and (as here) targets never leave the image."""
    (top, left), (th, tw) = origin, shape
    rows = top + np.arange(scores.shape[0])
    cols = left + np.arange(scores.shape[1])
    scores[(rows < 0) | (f * (rows + th) > FRAME_H), :] = -np.inf
    scores[:, (cols < 0) | (f * (cols + tw) > FRAME_W)] = -np.inf


def track_ncc(seq: TrackingSequence, config: NCCConfig) -> tuple[FloatArray, float]:
    """Run the NCC tracker; returns predicted boxes and tracker-only wall-clock seconds.

    Each frame: crop (and pool) a window reaching ``search_radius`` pixels around the last
    position, take the NCC peak, refine it to sub-pixel, and blend the matched patch into the
    template when the match is confident. The box keeps its initial size (no scale search):
    cheap, and it caps IoU when the target grows or shrinks (+/-12 % in these sequences).
    """
    f, r = config.downscale, config.search_radius // config.downscale
    box0 = seq.boxes[0]
    th, tw = _template_shape(box0, f)
    out = np.repeat(seq.boxes[:1], len(seq.boxes), axis=0)
    start = time.perf_counter()
    template = _crop(seq.frames[0], (round(box0[1] / f), round(box0[0] / f)), (th, tw), f)
    cx, cy = float(box0[0] + box0[2] / 2), float(box0[1] + box0[3] / 2)
    for t in range(1, len(seq.frames)):
        top, left = round(cy / f - th / 2) - r, round(cx / f - tw / 2) - r
        region = _crop(seq.frames[t], (top, left), (th + 2 * r, tw + 2 * r), f)
        scores = ncc_map(region, template)
        _mask_outside(scores, (top, left), (th, tw), f)
        i, j = (int(k) for k in np.unravel_index(int(np.argmax(scores)), scores.shape))
        si, sj = _subpixel(scores, i, j)
        cy, cx = f * (top + si + th / 2), f * (left + sj + tw / 2)
        if config.update_rate > 0 and scores[i, j] >= config.update_min_score:
            patch = region[i : i + th, j : j + tw]
            template = (1 - config.update_rate) * template + config.update_rate * patch
        out[t, 0], out[t, 1] = cx - box0[2] / 2, cy - box0[3] / 2
    return out, time.perf_counter() - start


# ---------------------------------------------------------------------------------------------
# Public entry points: each returns metric-key -> float, keys used verbatim in MLflow
# ---------------------------------------------------------------------------------------------


def _baseline(tracker: Callable[[TrackingSequence], FloatArray], seed: int) -> dict[str, float]:
    """OPE metrics only: a heuristic does no matching, so it reports no MACs (its cost is
    nil; a 0 would only clutter every comparison of MACs with the trackers)."""
    seqs = make_sequences(seed)
    return score([tracker(s) for s in seqs], seqs)


def static_box(seed: int = 0) -> dict[str, float]:
    """Static-box baseline on the sequences of ``seed`` (seed 0 when called with no argument)."""
    return _baseline(track_static, seed)


def constant_velocity(seed: int = 0) -> dict[str, float]:
    """Constant-velocity baseline (given true boxes of frames 0 and 1) on ``seed``'s sequences."""
    return _baseline(track_constant_velocity, seed)


def _run_ncc(seed: int, config: NCCConfig) -> dict[str, float]:
    seqs = make_sequences(seed)
    runs = [track_ncc(s, config) for s in seqs]
    metrics = score([boxes for boxes, _ in runs], seqs)
    macs = [macs_per_frame(s.boxes[0], config) for s in seqs]
    metrics["macs_per_frame"] = float(np.mean(macs))
    metrics["fps"] = metrics["n_scored_frames"] / sum(seconds for _, seconds in runs)
    return metrics


def ncc_tracker(seed: int = 0) -> dict[str, float]:
    """Full-resolution NCC tracker, +/-16 px search, on ``seed``'s sequences."""
    return _run_ncc(seed, FULL)


def ncc_tracker_light(seed: int = 0) -> dict[str, float]:
    """Light variant: 2x2-pooled frames, same +/-16 px search reach, ~14x fewer MACs."""
    return _run_ncc(seed, LIGHT)


def light_tracker_accuracy(seed: int) -> dict[str, float]:
    """H1's entry point: :func:`ncc_tracker_light` on ``seed``'s sequences without its fps.

    Its wall clock is H2's, timed beside the full tracker by :func:`full_and_light`: in a
    process of its own it would meet other machine load than the full tracker it is paired
    with."""
    metrics = ncc_tracker_light(seed)
    del metrics["fps"]
    return metrics


def full_and_light(seed: int = 0) -> tuple[dict[str, float], dict[str, float]]:
    """Both NCC trackers on the same sequences of ``seed``, run one after the other.

    The light variant's metrics gain ``auc_drop_vs_full``: the full tracker's success AUC
    minus the light one's. A *paired* difference: the sequence set moves AUC far more than the
    two variants differ, so comparing each with the other's mean over seeds would drown the
    difference in sequence-to-sequence spread.
    """
    full = _run_ncc(seed, FULL)
    light = _run_ncc(seed, LIGHT)
    light["auc_drop_vs_full"] = full["success_auc"] - light["success_auc"]
    return full, light


TRACKERS: dict[str, Callable[[TrackingSequence], FloatArray]] = {
    "static_box": track_static,
    "constant_velocity": track_constant_velocity,
    "ncc_tracker": lambda s: track_ncc(s, FULL)[0],
    "ncc_tracker_light": lambda s: track_ncc(s, LIGHT)[0],
}


def success_curves(seed: int = 0) -> dict[str, list[float]]:
    """The 21-point success curve of every tracker on ``seed``'s sequences, for plotting."""
    seqs = make_sequences(seed)
    curves: dict[str, list[float]] = {}
    for name, tracker in TRACKERS.items():
        ious = np.concatenate([iou(tracker(s)[1:], s.boxes[1:]) for s in seqs])
        curves[name] = [float(v) for v in success_curve(ious)]
    return curves


def head_parameters(kind: str, h: int = 7, w: int = 7, c: int = 64, hidden: int = 500) -> int:
    """Trainable parameters between an ``h x w x c`` feature map and the head's output.

    ``"fc"``: a fully connected layer of ``hidden`` units, weights plus biases
    (7*7*64*500 + 500 = 1,568,500 by default). ``"gap"``: global average pooling, which has no
    parameters at all (Lin et al., Network in Network, ICLR 2014, section 3.2).
    """
    if kind == "fc":
        return h * w * c * hidden + hidden
    if kind == "gap":
        return 0
    raise ValueError(f"unknown head kind {kind!r}; expected 'fc' or 'gap'")


def fc_head() -> dict[str, float]:
    """Baseline head: a 500-unit fully connected layer on a 7x7x64 feature map (computed)."""
    return {"head_params": float(head_parameters("fc"))}


def gap_head() -> dict[str, float]:
    """Global average pooling on the same feature map: no trainable parameters (computed)."""
    return {"head_params": float(head_parameters("gap"))}


def gap_head_cell() -> dict[str, Any]:
    """H3's cell for `mlplan run`: the exact count, with what it was counted on."""
    return {
        "metrics": gap_head(),
        "params": {"feature_map": "7x7x64", "head": "global average pooling"},
        "note": "computed exactly: one average per feature map, no weights, no biases",
    }


@dataclass(frozen=True)
class SpeedPoint:
    """One tracker pair on the cost-vs-speed plot: how many times fewer (multiply-accumulate)
    operations the lighter one needs, and how many times faster it ran."""

    label: str
    cost_ratio: float
    speed_ratio: float
    reported: bool


def plot_cost_vs_speed(points: Sequence[SpeedPoint], path: str | Path) -> Path:
    """Speed-up against cost reduction, log-log, with the line where speed follows FLOPs.

    Points below the diagonal are the FLOPs-vs-latency gap. Measured points are filled,
    reported ones hollow, so the two are never mistaken for each other.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.4, 4.0), dpi=100)
    top = max(max(p.cost_ratio, p.speed_ratio) for p in points) * 1.6
    ax.plot(
        [1, top],
        [1, top],
        color="#9e9e9e",
        linestyle="--",
        linewidth=1,
        label="speed-up = cost reduction",
    )
    palette = ["#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00"]
    colours = {
        label: palette[i % len(palette)]
        for i, label in enumerate(dict.fromkeys(p.label for p in points))
    }
    for label, colour in colours.items():
        group = [p for p in points if p.label == label]
        reported = group[0].reported
        ax.plot(
            [p.cost_ratio for p in group],
            [p.speed_ratio for p in group],
            linestyle="none",
            marker="D" if reported else "o",
            mfc="none" if reported else colour,
            markersize=6,
            label=label,
            color=colour,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(0.8, top)
    ax.set_ylim(0.8, top)
    ax.set_xlabel("times fewer MACs / FLOPs")
    ax.set_ylabel("times faster (frames per second)")
    ax.set_title("Fewer FLOPs is not the same speed-up", fontsize=10)
    ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, format="png", metadata={"Software": None})
    plt.close(fig)
    return out


def plot_success_curves(curves: Mapping[str, Sequence[float]], path: str | Path) -> Path:
    """Write the OPE success plot (legend shows each AUC) as a byte-stable PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.0, 3.6), dpi=100)
    for name, curve in curves.items():
        ax.plot(THRESHOLDS, curve, label=f"{name} [{np.mean(curve):.3f}]")
    ax.set_xlabel("overlap threshold (IoU)")
    ax.set_ylabel("success rate")
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.02)
    ax.set_title("One-pass evaluation, synthetic sequences")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, format="png", metadata={"Software": None})
    plt.close(fig)
    return out


def _main() -> None:
    """Print the per-seed table used to set the example's success criteria."""
    entries: dict[str, Callable[[int], dict[str, float]]] = {
        "static_box": static_box,
        "constant_velocity": constant_velocity,
        "ncc_tracker": ncc_tracker,
        "ncc_tracker_light": ncc_tracker_light,
    }
    for seed in (0, 1, 2):
        for name, fn in entries.items():
            m = fn(seed)
            print(
                f"seed={seed} {name:18s} auc={m['success_auc']:.3f} "
                f"prec={m['precision_20px']:.3f} sr50={m['success_rate_0.5']:.3f} "
                f"cle={m['mean_center_error_px']:.1f} macs={m['macs_per_frame']:.0f} "
                f"fps={m.get('fps', float('nan')):.0f}"
            )


if __name__ == "__main__":
    _main()

"""Tests for the LightTrack example's computational core (examples/lighttrack/tracker_study.py).

Metric checks compare against numbers worked out by hand, not against the module's own code.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "lighttrack"))

if TYPE_CHECKING:  # mypy resolves modules from the repository root
    from examples.lighttrack import tracker_study as ts
else:
    import tracker_study as ts


def _boxes(*rows: tuple[float, float, float, float]) -> np.ndarray:
    return np.array(rows, dtype=np.float64)


def _hand_sequence(velocity: tuple[float, float], n_frames: int = 30) -> ts.TrackingSequence:
    """A textured 20x20 square moving at constant integer velocity over a flat background."""
    rng = np.random.default_rng(123)
    texture = rng.uniform(0.0, 1.0, (20, 20))
    frames = np.full((n_frames, ts.FRAME_H, ts.FRAME_W), 0.5, dtype=np.float32)
    boxes = np.empty((n_frames, 4))
    for t in range(n_frames):
        x, y = 20 + velocity[0] * t, 30 + velocity[1] * t
        frames[t, y : y + 20, x : x + 20] = texture
        boxes[t] = (x, y, 20, 20)
    return ts.TrackingSequence(frames=frames, boxes=boxes)


# --- metrics ---------------------------------------------------------------------------------


def test_iou_hand_computed() -> None:
    pred = _boxes((0, 0, 10, 10), (0, 0, 10, 10), (0, 0, 10, 10), (0, 0, 10, 10))
    true = _boxes((5, 5, 10, 10), (2, 2, 5, 5), (10, 0, 10, 10), (20, 20, 4, 4))
    # overlap 5x5=25 of union 175; 25 inside 100; touching edges; disjoint
    assert ts.iou(pred, true) == pytest.approx([25 / 175, 25 / 100, 0.0, 0.0])


def test_iou_identical_float_boxes_is_exactly_one() -> None:
    box = _boxes((0.1, 0.7, 0.2, 13.3))
    assert ts.iou(box, box)[0] == 1.0


def test_center_error_is_euclidean() -> None:
    assert ts.center_error(_boxes((0, 0, 10, 10)), _boxes((3, 4, 10, 10)))[0] == 5.0
    # same centre, different size
    assert ts.center_error(_boxes((0, 0, 10, 10)), _boxes((2, 2, 6, 6)))[0] == 0.0


def test_success_auc_of_known_ious() -> None:
    # thresholds k/20, strict ">": 0.0 beats none, 0.32 beats k=0..6 (7), 0.52 beats k=0..10
    # (11), 1.0 beats k=0..19 (20). AUC = (0 + 7 + 11 + 20) / (4 * 21).
    ious = np.array([0.0, 0.32, 0.52, 1.0])
    assert ts.success_auc(ious) == pytest.approx(38 / 84)
    curve = ts.success_curve(ious)
    assert curve.shape == (21,)
    assert curve[0] == 0.75
    assert curve[-1] == 0.0
    assert np.all(np.diff(curve) <= 0)


def test_precision_threshold_is_inclusive() -> None:
    assert ts.precision_at(np.array([0.0, 20.0, 20.5, 100.0])) == 0.5


def test_perfect_tracker_scores_twenty_of_twenty_one() -> None:
    seqs = ts.make_sequences(0, n_sequences=2, n_frames=12)
    m = ts.score([s.boxes for s in seqs], seqs)
    assert m["success_auc"] == pytest.approx(20 / 21)
    assert m["precision_20px"] == 1.0
    assert m["mean_iou"] == 1.0
    assert m["mean_center_error_px"] == 0.0
    assert m["n_scored_frames"] == 2 * 11


def test_frame_zero_is_not_scored() -> None:
    seqs = ts.make_sequences(0, n_sequences=1, n_frames=12)
    pred = seqs[0].boxes.copy()
    pred[0] += 500.0  # wildly wrong, but only on the initialisation frame
    assert ts.score([pred], seqs)["success_auc"] == pytest.approx(20 / 21)


# --- baselines and tracker on hand-built sequences -------------------------------------------


def test_static_box_is_perfect_on_stationary_object() -> None:
    seq = _hand_sequence((0, 0))
    m = ts.score([ts.track_static(seq)], [seq])
    assert m["success_auc"] == pytest.approx(20 / 21)
    assert m["precision_20px"] == 1.0


def test_constant_velocity_is_perfect_on_linear_motion() -> None:
    seq = _hand_sequence((2, 1))
    assert ts.score([ts.track_constant_velocity(seq)], [seq])["mean_iou"] == pytest.approx(1.0)
    assert ts.score([ts.track_static(seq)], [seq])["mean_iou"] < 0.2


@pytest.mark.parametrize("config", [ts.FULL, ts.LIGHT])
def test_ncc_tracks_clean_moving_square(config: ts.NCCConfig) -> None:
    seq = _hand_sequence((3, -1))
    boxes, seconds = ts.track_ncc(seq, config)
    m = ts.score([boxes], [seq])
    assert m["precision_20px"] == 1.0
    assert m["mean_center_error_px"] < 1.0
    assert seconds > 0


def test_ncc_map_matches_pearson_correlation() -> None:
    rng = np.random.default_rng(7)
    region = rng.standard_normal((12, 15))
    template = 3.0 * region[4:9, 6:12] + 2.0  # gain and offset must not matter
    scores = ts.ncc_map(region, template)
    assert scores.shape == (8, 10)
    assert scores[4, 6] == pytest.approx(1.0)
    for i, j in [(0, 0), (2, 7), (7, 9)]:
        window = region[i : i + 5, j : j + 6].ravel()
        expected = np.corrcoef(window, template.ravel())[0, 1]
        assert scores[i, j] == pytest.approx(expected)


# --- cost accounting and the GAP head --------------------------------------------------------


def test_macs_hand_counted() -> None:
    box = _boxes((10, 10, 20, 20))[0]
    # full: 33x33 offsets x 400 template pixels + 52x52 region squares
    assert ts.macs_per_frame(box, ts.FULL) == 33 * 33 * 400 + 52 * 52
    # light: 17x17 offsets x 100 pixels + 26x26 squares + 52x52 pixels pooled
    assert ts.macs_per_frame(box, ts.LIGHT) == 17 * 17 * 100 + 26 * 26 + 52 * 52


def test_head_parameters() -> None:
    assert ts.head_parameters("fc") == 1_568_500
    assert ts.head_parameters("fc", h=1, w=1, c=2, hidden=3) == 9
    assert ts.head_parameters("gap") == 0
    with pytest.raises(ValueError, match="unknown head kind"):
        ts.head_parameters("conv")


# --- the evaluation set and the entry points -------------------------------------------------


def test_sequences_are_well_formed_and_read_only() -> None:
    seqs = ts.make_sequences(0)
    assert len(seqs) == ts.N_SEQUENCES
    for s in seqs:
        assert s.frames.shape == (ts.N_FRAMES, ts.FRAME_H, ts.FRAME_W)
        assert s.frames.dtype == np.float32
        assert np.all(s.boxes[:, :2] >= 0)
        assert np.all(s.boxes[:, 0] + s.boxes[:, 2] <= ts.FRAME_W)
        assert np.all(s.boxes[:, 1] + s.boxes[:, 3] <= ts.FRAME_H)
        assert not s.frames.flags.writeable


def test_entry_points_return_plain_float_dicts() -> None:
    tracker = ts.ncc_tracker(0)
    for metrics in (ts.static_box(), ts.constant_velocity(), tracker):
        assert all(type(v) is float for v in metrics.values())
        assert all(k == k.lower() and " " not in k for k in metrics)
    assert {"success_auc", "precision_20px", "macs_per_frame", "fps"} <= set(tracker)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ncc_beats_baselines_and_light_is_cheaper(seed: int) -> None:
    static, velocity = ts.static_box(seed), ts.constant_velocity(seed)
    full, light = ts.ncc_tracker(seed), ts.ncc_tracker_light(seed)
    assert full["success_auc"] > max(static["success_auc"], velocity["success_auc"]) + 0.4
    assert light["success_auc"] > static["success_auc"] + 0.4
    assert full["macs_per_frame"] >= 10 * light["macs_per_frame"]
    assert light["success_auc"] >= full["success_auc"] - 0.15


def test_same_seed_same_metrics_except_fps() -> None:
    assert ts.static_box() == ts.static_box(0)
    assert ts.static_box(0) != ts.static_box(1)
    first = ts.ncc_tracker_light(0)
    ts.make_sequences.cache_clear()  # regenerate the pixels, do not reuse them
    second = ts.ncc_tracker_light(0)
    assert first.pop("fps") > 0
    second.pop("fps")
    assert first == second


def test_plot_is_byte_stable(tmp_path: Path) -> None:
    curves = ts.success_curves(0)
    assert set(curves) == set(ts.TRACKERS)
    a = ts.plot_success_curves(curves, tmp_path / "a.png")
    b = ts.plot_success_curves(curves, tmp_path / "b.png")
    assert a.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert a.read_bytes() == b.read_bytes()
    assert curves["ncc_tracker"][0] >= curves["static_box"][0]

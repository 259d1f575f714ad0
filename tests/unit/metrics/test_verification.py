"""FMR, FNMR, threshold calibration and DET curves mean what ISO/IEC 19795-1 and NIST say."""

from __future__ import annotations

import numpy as np
import pytest

from audit.metrics._verification import (
    allowed_false_matches,
    calibrate_threshold,
    det_curve,
    false_match_rate,
    false_non_match_rate,
    max_min_ratio,
)


def fmr_at(impostor: np.ndarray, t: float) -> float:
    return float(np.mean(impostor <= t))


@pytest.mark.parametrize(
    ("target", "n", "k"), [(1e-4, 30_000, 3), (1e-4, 29_999, 2), (0.1, 30, 3), (1e-3, 999, 0)]
)
def test_allowed_false_matches_uses_the_decimal_target(target, n, k):
    # 1e-4 * 30000 is 2.9999999999999996 in binary floating point; the rule must give 3.
    assert allowed_false_matches(target, n) == k


@pytest.mark.parametrize("target", [0.0, 1.0, -0.1, 1.5])
def test_target_outside_open_unit_interval_is_refused(target):
    with pytest.raises(ValueError, match="target FMR"):
        allowed_false_matches(target, 100)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("target", [1e-3, 0.01, 0.2])
def test_calibrated_threshold_is_the_largest_meeting_the_target(seed, target):
    rng = np.random.default_rng(seed)
    imp = np.round(rng.normal(1.0, 0.2, 5000), 3)  # rounding makes ties
    t = calibrate_threshold(imp, target)
    assert fmr_at(imp, t) <= target
    # the next float up lets in at least one more false match, breaking the target
    assert fmr_at(imp, np.nextafter(t, np.inf)) > target


def test_calibration_leaves_out_a_tie_at_the_boundary():
    imp = np.array([0.1, 0.5, 0.5, 0.5, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4])
    t = calibrate_threshold(imp, 0.2)  # two false matches allowed; a third would tie in
    assert 0.1 <= t < 0.5
    assert fmr_at(imp, t) == pytest.approx(0.1)


def test_calibration_needs_impostors():
    with pytest.raises(ValueError, match="no impostor"):
        calibrate_threshold([], 1e-4)


def test_rates_are_ratios_and_undefined_without_comparisons():
    assert false_match_rate(3, 30_000) == pytest.approx(1e-4)
    assert false_non_match_rate(1, 4) == 0.25
    assert np.isnan(false_match_rate(0, 0))
    assert np.isnan(false_non_match_rate(0, 0))


def test_max_min_ratio_is_undefined_when_a_group_never_false_matches():
    assert max_min_ratio([1e-4, 1e-3, np.nan]) == pytest.approx(10.0)
    assert np.isnan(max_min_ratio([0.0, 1e-3]))
    stacked = max_min_ratio(np.array([[1.0, 2.0], [0.0, 1.0]]))
    assert stacked[0] == 2.0 and np.isnan(stacked[1])


def test_det_curve_agrees_with_exact_rates_at_its_thresholds():
    rng = np.random.default_rng(0)
    imp = rng.normal(1.0, 0.1, 200_000)
    gen = rng.normal(0.5, 0.1, 500)
    edges = np.linspace(0.0, 2.0, 2049)
    hist = np.histogram(imp, edges)[0]
    curve = det_curve(gen, hist, edges, max_points=150)
    assert len(curve.thresholds) <= 150
    assert np.all(np.diff(curve.thresholds) > 0)
    assert np.all(np.diff(curve.fmr) >= 0) and np.all(np.diff(curve.fnmr) <= 0)
    for t, f, fn in zip(curve.thresholds, curve.fmr, curve.fnmr, strict=True):
        assert f == pytest.approx(np.mean(imp <= t), abs=1e-12)
        assert fn == pytest.approx(np.mean(gen > t), abs=1e-12)
    # the low-FMR region NIST reports on is sampled, not thinned away
    assert curve.fmr[curve.fmr > 0].min() < 1e-4
    assert curve.as_dict()["fmr"][-1] == 1.0

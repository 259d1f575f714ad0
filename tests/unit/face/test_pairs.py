"""Blocked all-pairs scoring equals brute force over every pair, in bounded memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from audit.face import _pairs
from audit.face._pairs import (
    exact_distances,
    score_all_pairs,
    score_listed_pairs,
    screening_slack,
)
from audit.metrics._verification import calibrate_threshold


def templates(seed=1, subjects=120, cells=3, dim=16, spread=0.6, scale=1.0):
    rng = np.random.default_rng(seed)
    subject_cell = rng.integers(0, cells, subjects)
    per = rng.integers(1, 6, subjects)  # includes subjects with a single image
    subject = np.repeat(np.arange(subjects), per)
    rng.shuffle(subject)  # input order must not matter
    X = scale * (
        rng.normal(size=(subjects, dim))[subject] + spread * rng.normal(size=(len(subject), dim))
    )
    return X, subject, subject_cell


def brute_force(X, subject, subject_cell, **mode):
    i, j = np.triu_indices(len(X), 1)
    d = np.linalg.norm(X[i] - X[j], axis=1)  # face_recognition.face_distance's formula
    return score_listed_pairs(subject[i], subject[j], d, subject_cell, **mode), d, i, j


def pair_table(sp):
    a, b = np.minimum(sp.a, sp.b), np.maximum(sp.a, sp.b)
    return sorted(zip(a.tolist(), b.tolist(), sp.count.tolist(), strict=True))


def assert_same(got, ref):
    assert got.threshold == pytest.approx(ref.threshold, abs=1e-12)
    assert got.allowed_false_matches == ref.allowed_false_matches
    np.testing.assert_array_equal(got.impostor_pairs, ref.impostor_pairs)
    np.testing.assert_array_equal(got.false_matches, ref.false_matches)
    np.testing.assert_array_equal(got.genuine_pairs, ref.genuine_pairs)
    np.testing.assert_array_equal(got.false_non_matches, ref.false_non_matches)
    assert pair_table(got.fm_by_subject) == pair_table(ref.fm_by_subject)
    np.testing.assert_allclose(
        np.sort(got.genuine_distances), np.sort(ref.genuine_distances), atol=1e-12
    )
    assert got.impostor_hist.sum() == ref.impostor_hist.sum() == got.n_impostor


MODES = [
    {"target_fmr": 1e-3},
    {"target_fmr": 0.01},
    {"target_fmr": 0.3},
    {"threshold": 4.0},
]


@pytest.mark.parametrize("mode", MODES, ids=lambda m: str(m))
@pytest.mark.parametrize("block", [16, 37, 4096])
def test_blocked_scoring_equals_brute_force(mode, block):
    X, subject, cell = templates()
    ref, d, i, j = brute_force(X, subject, cell, **mode)
    got = score_all_pairs(X, subject, cell, block=block, **mode)
    assert_same(got, ref)
    if "target_fmr" in mode:
        # and the threshold is the reference definition on every impostor distance
        imp = d[subject[i] != subject[j]]
        assert got.threshold == pytest.approx(
            calibrate_threshold(imp, mode["target_fmr"]), abs=1e-12
        )
        assert got.n_false_matches <= mode["target_fmr"] * got.n_impostor


@pytest.mark.parametrize("mode", MODES[:3], ids=lambda m: str(m))
def test_loose_targets_narrow_over_extra_passes_with_the_same_answer(monkeypatch, mode):
    X, subject, cell = templates(seed=2)
    ref, *_ = brute_force(X, subject, cell, **mode)
    monkeypatch.setattr(_pairs, "SELECTION_CAP", 40)  # force the bounded-memory path
    got = score_all_pairs(X, subject, cell, block=50, **mode)
    assert got.passes > 1
    assert_same(got, ref)


def test_large_norms_and_near_duplicates_stay_exact():
    # Norms ~300 make the float32 Gram formula lose ~1e-2 in squared distance; the exact
    # recomputation near the threshold must hide that completely.
    X, subject, cell = templates(seed=3, scale=100.0, spread=0.05)
    for mode in ({"target_fmr": 0.01}, {"threshold": float(np.median(np.abs(X)))}):
        ref, *_ = brute_force(X, subject, cell, **mode)
        assert_same(score_all_pairs(X, subject, cell, block=64, **mode), ref)


def test_screening_slack_bounds_the_float32_error():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 128)) * rng.uniform(0.1, 30, (400, 1))
    sq = np.einsum("ij,ij->i", X, X)
    A = (X.astype(np.float32) @ (-2 * X).astype(np.float32).T) + sq.astype(np.float32)[:, None]
    A += sq.astype(np.float32)[None, :]
    i, j = np.triu_indices(400, 1)
    exact2 = exact_distances(X, i, j) ** 2
    assert np.max(np.abs(A[i, j] - exact2)) <= screening_slack(128, float(sq.max()))


def test_identical_impostor_templates_give_a_threshold_below_zero():
    # Ten subjects whose templates are all the same vector: every impostor distance is 0.
    X = np.ones((20, 4))
    subject = np.repeat(np.arange(10), 2)
    got = score_all_pairs(X, subject, np.zeros(10, dtype=np.int64), target_fmr=0.01)
    assert got.threshold < 0.0
    assert got.n_false_matches == 0
    assert got.false_non_matches.sum() == 10  # genuine distance 0 > threshold


def test_progress_reports_every_block():
    X, subject, cell = templates()
    seen = []
    score_all_pairs(
        X, subject, cell, target_fmr=0.01, block=50, progress=lambda d, t: seen.append((d, t))
    )
    assert [d for d, _ in seen] == list(range(1, len(seen) + 1))
    assert seen[-1][0] == seen[-1][1]


def test_memory_stays_bounded_without_materialising_all_pairs():
    rng = np.random.default_rng(0)
    n = 4200  # 8.8M pairs: 70 MB as float64 distances
    X = rng.normal(size=(n, 32))
    subject = np.arange(n) // 3
    cell = np.arange(n // 3) % 4
    tracemalloc.start()
    score_all_pairs(X, subject, cell, target_fmr=1e-3, block=256)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20e6, f"peak {peak / 1e6:.0f} MB"

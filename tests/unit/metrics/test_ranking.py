"""Ranking, exposure and popularity metrics against hand computations and scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import ndcg_score

from audit.metrics import BootstrapSettings
from audit.metrics._ranking import (
    average_recommendation_popularity,
    catalogue_coverage,
    cell_sums,
    dcg,
    exposure_share,
    gains_at_k,
    gini,
    ideal_dcg,
    ideal_dcg_binary,
    item_exposure,
    long_tail_items,
    long_tail_share,
    position_weight,
    resampled_unit_sums,
    user_metrics,
)


def metrics_for(recs, judged, k, graded=False):
    """Per-user metrics from lists and {user: {item: gain}} through the vectorised path."""
    recs = np.asarray(recs, dtype=np.int64)
    ju = np.array([u for u, d in judged.items() for _ in d], dtype=np.int64)
    ji = np.array([i for d in judged.values() for i in d], dtype=np.int64)
    jg = np.array([g for d in judged.values() for g in d.values()], dtype=np.float64)
    if not graded:
        jg = (jg > 0).astype(np.float64)
    gains = gains_at_k(recs, ju, ji, jg)
    n_rel = np.bincount(ju[jg > 0], minlength=len(recs))
    idcg = ideal_dcg(ju[jg > 0], jg[jg > 0], len(recs), k) if graded else ideal_dcg_binary(n_rel, k)
    return user_metrics(gains, idcg, n_rel, k)


def loop_metrics(recs, judged, k, graded=False):
    """The textbook per-user loop: the oracle for the vectorised code."""
    out = {"ndcg": [], "recall": [], "precision": [], "hit_rate": []}
    for u, ranked in enumerate(recs):
        rel = {i: g for i, g in judged.get(u, {}).items() if g > 0}
        gains = [
            (rel.get(i, 0.0) if graded else float(i in rel)) if i >= 0 else 0.0 for i in ranked
        ]
        d = sum(g / math.log2(r + 2) for r, g in enumerate(gains))
        ideal = sorted(rel.values(), reverse=True)[:k] if graded else [1.0] * min(k, len(rel))
        idcg = sum(g / math.log2(r + 2) for r, g in enumerate(ideal))
        hits = sum(1 for g in gains if g > 0)
        out["ndcg"].append(d / idcg if idcg else math.nan)
        out["recall"].append(hits / len(rel) if rel else math.nan)
        out["precision"].append(hits / k)
        out["hit_rate"].append(float(hits > 0))
    return out


def test_position_weight_is_the_dcg_discount():
    assert position_weight(np.array([1, 2, 3, 7])).tolist() == pytest.approx(
        [1.0, 1 / math.log2(3), 0.5, 1 / 3]
    )


def test_hand_computed_user():
    # Relevant {10, 30}; the list shows 10, 20, 30: DCG = 1 + 1/log2(4) = 1.5,
    # IDCG = 1 + 1/log2(3), two of two relevant found, two of three slots relevant.
    m = metrics_for([[10, 20, 30]], {0: {10: 1, 30: 1}}, k=3)
    assert m["ndcg"][0] == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    assert m["recall"][0] == 1.0
    assert m["precision"][0] == pytest.approx(2 / 3)
    assert m["hit_rate"][0] == 1.0


def test_idcg_counts_only_min_k_relevant():
    # Five relevant items but k = 2: the ideal list is two hits, so a perfect top-2 scores 1.
    m = metrics_for([[1, 2]], {0: {i: 1 for i in range(1, 6)}}, k=2)
    assert m["ndcg"][0] == pytest.approx(1.0)
    assert m["recall"][0] == pytest.approx(2 / 5)
    assert ideal_dcg_binary(np.array([0, 1, 5]), 2).tolist() == pytest.approx(
        [0.0, 1.0, 1 + 1 / math.log2(3)]
    )


def test_empty_slots_are_misses():
    # Ranks 1 and 3 filled, rank 2 empty: the hit at rank 3 is discounted as rank 3.
    m = metrics_for([[5, -1, 7]], {0: {7: 1}}, k=3)
    assert m["ndcg"][0] == pytest.approx(0.5)
    assert m["precision"][0] == pytest.approx(1 / 3)


@pytest.mark.parametrize("graded", [False, True])
def test_ndcg_matches_sklearn(graded):
    rng = np.random.default_rng(3)
    n_users, n_items, k = 40, 30, 5
    recs = np.array([rng.choice(n_items, k, replace=False) for _ in range(n_users)])
    judged = {}
    for u in range(n_users):
        items = rng.choice(n_items, rng.integers(1, 9), replace=False)
        judged[u] = {int(i): float(rng.integers(1, 6)) if graded else 1.0 for i in items}
    ours = metrics_for(recs, judged, k, graded)["ndcg"]
    for u in range(n_users):
        y_true = np.zeros((1, n_items))
        for i, g in judged[u].items():
            y_true[0, i] = g
        # Recommended items score by rank, every other item below them (distinct scores).
        y_score = -np.arange(n_items, dtype=float)[None, :] - 100
        y_score[0, recs[u]] = np.arange(k, 0, -1)
        assert ours[u] == pytest.approx(ndcg_score(y_true, y_score, k=k), abs=1e-12)


@pytest.mark.parametrize("graded", [False, True])
def test_vectorised_equals_loop(graded):
    rng = np.random.default_rng(11)
    n_users, n_items, k = 300, 60, 10
    recs = np.array([rng.choice(n_items, k, replace=False) for _ in range(n_users)])
    recs[rng.random(recs.shape) < 0.1] = -1  # some empty slots
    judged = {
        u: {int(i): float(rng.integers(0, 6)) for i in rng.choice(n_items, 6, replace=False)}
        for u in range(n_users)
    }
    judged = {u: d for u, d in judged.items() if any(g > 0 for g in d.values())}
    ours = metrics_for(recs, judged, k, graded)
    ref = loop_metrics(recs, judged, k, graded)
    for name in ours:
        np.testing.assert_allclose(ours[name], ref[name], atol=1e-12, equal_nan=True)


def test_dcg_is_linear_gain():
    assert dcg(np.array([[3.0, 0.0, 2.0]]))[0] == pytest.approx(3 + 2 / 2)


def test_exposure_and_shares():
    recs = np.array([[0, 1], [0, 2], [2, -1]])
    e = item_exposure(recs, 4)
    w2 = 1 / math.log2(3)
    assert e.tolist() == pytest.approx([2.0, w2, 1 + w2, 0.0])
    group = np.array([0, 1, 1, 0])
    share = exposure_share(e, group, 2)
    assert share.tolist() == pytest.approx([2 / (3 + 2 * w2), (1 + 2 * w2) / (3 + 2 * w2)])
    # an item outside the catalogue (-1) is ignored
    assert exposure_share(e, np.array([0, 1, -1, 0]), 2).tolist() == pytest.approx(
        [2 / (2 + w2), w2 / (2 + w2)]
    )


def test_gini():
    assert gini(np.ones(5)) == pytest.approx(0.0)
    assert gini(np.array([0, 0, 0, 4.0])) == pytest.approx(3 / 4)  # (n - 1) / n
    x = np.array([1.0, 2.0, 7.0, 0.0])
    mean_abs_diff = np.abs(x[:, None] - x[None, :]).mean()
    assert gini(x) == pytest.approx(mean_abs_diff / (2 * x.mean()))
    assert math.isnan(gini(np.zeros(3)))


def test_coverage_long_tail_arp_aplt():
    recs = np.array([[0, 1], [0, 3], [-1, -1]])
    in_cat = np.array([True, True, True, True, False])
    assert catalogue_coverage(recs, in_cat) == pytest.approx(3 / 4)
    pop = np.array([50.0, 30.0, 10.0, 5.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    tail = long_tail_items(pop)  # 20% of 10 items = 2 head items
    assert (~tail).nonzero()[0].tolist() == [0, 1]
    arp = average_recommendation_popularity(recs, pop)
    assert arp[:2].tolist() == pytest.approx([40.0, 27.5])
    assert math.isnan(arp[2])
    aplt = long_tail_share(recs, tail)
    assert aplt[:2].tolist() == pytest.approx([0.0, 0.5])


def test_resampled_sums_exact_distribution():
    rng = np.random.default_rng(0)
    values = rng.integers(0, 3, (500, 2)).astype(float)
    cell = rng.integers(0, 3, 500)
    got = resampled_unit_sums(values, cell, 3, BootstrapSettings(4000), np.random.default_rng(1))
    assert got is not None and got.method == "exact"
    assert got.sums.shape == (4000, 3, 3)
    # Every resample draws exactly N users; sums are unbiased for the observed sums.
    assert np.all(got.sums[:, :, 0].sum(axis=1) == 500)
    point = cell_sums(values, cell, 3)
    np.testing.assert_allclose(got.sums.mean(axis=0), point, rtol=0.02)
    # Its spread matches resampling users directly.
    idx = np.random.default_rng(2).integers(0, 500, (4000, 500))
    direct = values[idx, 0].sum(axis=1)
    assert got.sums[:, :, 1].sum(axis=1).std() == pytest.approx(direct.std(), rel=0.08)


def test_resampled_sums_buckets_for_many_distinct_rows():
    rng = np.random.default_rng(0)
    values = rng.random((5000, 1))
    cell = rng.integers(0, 2, 5000)
    exact = resampled_unit_sums(values, cell, 2, BootstrapSettings(2000), np.random.default_rng(1))
    bucketed = resampled_unit_sums(
        values, cell, 2, BootstrapSettings(2000), np.random.default_rng(1), max_atoms=500
    )
    assert exact.method == "exact" and bucketed.method == "buckets"
    mean_e = exact.sums[:, :, 1] / exact.sums[:, :, 0]
    mean_b = bucketed.sums[:, :, 1] / bucketed.sums[:, :, 0]
    np.testing.assert_allclose(mean_b.std(axis=0), mean_e.std(axis=0), rtol=0.1)
    np.testing.assert_allclose(mean_b.mean(axis=0), mean_e.mean(axis=0), atol=2e-3)


def test_no_resamples_means_no_intervals():
    assert (
        resampled_unit_sums(np.ones((3, 1)), np.zeros(3, int), 1, BootstrapSettings(0), None)
        is None
    )

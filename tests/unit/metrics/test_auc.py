"""Bias AUCs equal scikit-learn's roc_auc_score on the subsets that define them."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from audit.metrics import BootstrapSettings
from audit.metrics._auc import bias_aucs, generalized_mean, weighted_auc
from audit.metrics._group_report import AttributeGroups, assess

LABELS = ("a", "b", "c", "d")


def everyone(g):
    """Evidence under which every group is published and sufficient."""
    return assess(
        AttributeGroups("g", LABELS), np.bincount(g, minlength=4), min_group_size=0, unit="rows"
    )


def data(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    g = rng.integers(0, 4, n)
    # group 2's acceptable posts score high: a BPSN problem; round to create ties
    s = np.clip(
        0.3 + 0.35 * y + np.where((g == 2) & (y == 0), 0.25, 0) + rng.normal(0, 0.15, n), 0, 1
    ).round(2)
    return y, s, g


def test_weighted_auc_equals_sklearn_with_ties_and_weights():
    y, s, _ = data()
    assert weighted_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    w = np.random.default_rng(1).integers(0, 3, len(y)).astype(float)
    assert weighted_auc(y, s, w) == pytest.approx(roc_auc_score(y, s, sample_weight=w), abs=1e-12)


def test_bias_aucs_equal_sklearn_on_defining_subsets():
    y, s, g = data()
    res = bias_aucs(y, s, g, everyone(g), BootstrapSettings(100, 0.95, 0), np.random.default_rng(0))
    assert res["overall_auc"]["value"] == pytest.approx(roc_auc_score(y, s), abs=1e-9)
    for k, rec in enumerate(res["groups"]):
        m = g == k
        bpsn = (~m & (y == 1)) | (m & (y == 0))
        bnsp = (~m & (y == 0)) | (m & (y == 1))
        assert rec["subgroup_auc"]["value"] == pytest.approx(roc_auc_score(y[m], s[m]), abs=1e-9)
        assert rec["bpsn_auc"]["value"] == pytest.approx(roc_auc_score(y[bpsn], s[bpsn]), abs=1e-9)
        assert rec["bnsp_auc"]["value"] == pytest.approx(roc_auc_score(y[bnsp], s[bnsp]), abs=1e-9)
        for name in ("subgroup_auc", "bpsn_auc", "bnsp_auc"):
            assert rec[name]["ci_low"] <= rec[name]["value"] <= rec[name]["ci_high"]
    worst = min(res["groups"], key=lambda r: r["bpsn_auc"]["value"])
    assert worst["group"] == "c"  # the planted false-positive bias
    sub = [r["subgroup_auc"]["value"] for r in res["groups"]]
    expected_mean = np.mean(np.power(sub, -5.0)) ** (-1 / 5)
    assert res["generalized_means"]["subgroup_auc"]["value"] == pytest.approx(expected_mean)
    final = 0.25 * res["overall_auc"]["value"] + 0.25 * sum(
        res["generalized_means"][k]["value"] for k in ("subgroup_auc", "bpsn_auc", "bnsp_auc")
    )
    assert res["final_score"]["value"] == pytest.approx(final)


def test_subgroup_without_positives_is_undefined():
    y, s, g = data()
    y = np.where(g == 1, 0, y)
    res = bias_aucs(y, s, g, everyone(g), BootstrapSettings(0), np.random.default_rng(0))
    b = res["groups"][1]
    assert b["subgroup_auc"]["value"] is None and b["bnsp_auc"]["value"] is None
    assert b["bpsn_auc"]["value"] is not None
    means = res["generalized_means"]
    assert means["subgroup_auc"]["value"] is not None  # others still count
    # ... and the undefined one is listed as left out, not silently dropped
    assert means["subgroup_auc"]["groups_included"] == ["a", "c", "d"]
    assert means["subgroup_auc"]["groups_excluded_undefined"] == ["b"]
    assert means["bpsn_auc"]["groups_included"] == ["a", "b", "c", "d"]
    assert "groups_excluded_undefined" not in means["bpsn_auc"]


def test_generalized_mean_weighs_the_worst():
    assert generalized_mean(np.array([0.9, 0.9])) == pytest.approx(0.9)
    assert generalized_mean(np.array([0.9, 0.5])) < np.mean([0.9, 0.5])

"""The metric engine agrees with fairlearn and aif360, and its verdicts are honest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn import metrics as flm
from sklearn import metrics as skm

from audit.metrics import RATES, SUMMARIES, BootstrapSettings, EngineSettings, analyse_groups
from tests.conftest import synthetic

FAIRLEARN = {
    "tpr": flm.true_positive_rate,
    "fpr": flm.false_positive_rate,
    "fnr": flm.false_negative_rate,
    "tnr": flm.true_negative_rate,
    "precision": lambda y, d: skm.precision_score(y, d, zero_division=np.nan),
    "selection_rate": flm.selection_rate,
    "accuracy": skm.accuracy_score,
}


def run(df: pd.DataFrame, slices, **kw):
    d = (df["score"] >= 0.5).astype(int).to_numpy()
    settings = EngineSettings(**{"bootstrap": BootstrapSettings(200, 0.95, 3), **kw})
    return d, analyse_groups(df["label"].to_numpy(), d, df[["group", "sex"]], slices, settings)


def by_key(report, attribute):
    return {
        (tuple(g["group"]) if isinstance(g["group"], list) else g["group"]): g
        for g in report.groups
        if g["attribute"] == attribute
    }


def test_rate_table_matches_fairlearn_names():
    assert set(RATES) == set(FAIRLEARN)


@pytest.mark.parametrize("cols", [("group",), ("group", "sex")])
def test_group_rates_equal_fairlearn_metricframe(cols):
    df = synthetic()
    d, rep = run(df, [cols])
    mf = flm.MetricFrame(
        metrics=FAIRLEARN, y_true=df["label"], y_pred=d, sensitive_features=df[list(cols)]
    )
    ours = by_key(rep, cols[0] if len(cols) == 1 else list(cols))
    assert len(ours) == len(mf.by_group)
    for key, row in mf.by_group.iterrows():
        for name in FAIRLEARN:
            assert ours[key]["metrics"][name]["value"] == pytest.approx(row[name], abs=1e-9)
    overall = mf.overall
    for name in FAIRLEARN:
        assert rep.overall["metrics"][name]["value"] == pytest.approx(overall[name], abs=1e-9)


def test_summaries_equal_fairlearn_functions():
    df = synthetic()
    d, rep = run(df, [("group",)])
    summary = {s["metric"]: s["value"] for s in rep.summary}
    for name, spec in SUMMARIES.items():
        fn = getattr(flm, spec.fairlearn, None)
        if name == "four_fifths_impact_ratio":  # on the favourable (negative) decision
            expected = fn(df["label"], 1 - d, sensitive_features=df["group"])
        elif fn is None:  # fpr/fnr differences: fairlearn via MetricFrame.difference()
            rate = FAIRLEARN[spec.rates[0]]
            expected = flm.MetricFrame(
                metrics=rate, y_true=df["label"], y_pred=d, sensitive_features=df["group"]
            ).difference()
        else:
            expected = fn(df["label"], d, sensitive_features=df["group"])
        assert summary[name] == pytest.approx(expected, abs=1e-9), name


def test_disparities_equal_aif360_sklearn_metrics():
    from aif360.sklearn import metrics as aif

    df = synthetic()
    d, rep = run(df, [("group",)], reference={"group": "a"})
    y = pd.Series(df["label"].to_numpy(), index=pd.Index(df["group"], name="group"))
    recs = {(r["group"], r["metric"]): r for r in rep.disparities}
    for g in ("b", "c"):
        sub = (df["group"].isin(["a", g])).to_numpy()
        ys, ds = y[sub], d[sub]
        spd = aif.statistical_parity_difference(ys, ds, prot_attr="group", priv_group="a")
        di = aif.disparate_impact_ratio(ys, ds, prot_attr="group", priv_group="a")
        eod = aif.equal_opportunity_difference(ys, ds, prot_attr="group", priv_group="a")
        assert recs[(g, "selection_rate")]["difference"]["value"] == pytest.approx(spd, abs=1e-9)
        assert recs[(g, "selection_rate")]["ratio"]["value"] == pytest.approx(di, abs=1e-9)
        assert recs[(g, "tpr")]["difference"]["value"] == pytest.approx(eod, abs=1e-9)


def test_intervals_contain_point_and_are_deterministic():
    df = synthetic()
    _, a = run(df, [("group",), ("group", "sex")])
    _, b = run(df, [("group",), ("group", "sex")])
    assert a.groups == b.groups and a.summary == b.summary
    for g in a.groups:
        for m in g["metrics"].values():
            if m["value"] is not None:
                assert m["ci_low"] <= m["value"] <= m["ci_high"]
    d = (df["score"] >= 0.5).astype(int).to_numpy()
    c = analyse_groups(
        df["label"].to_numpy(),
        d,
        df[["group", "sex"]],
        [("group",)],
        EngineSettings(bootstrap=BootstrapSettings(200, 0.95, 4)),
    )
    assert c.groups[0]["metrics"]["fpr"]["ci_low"] != a.groups[0]["metrics"]["fpr"]["ci_low"]


def test_intervals_agree_with_fairlearn_row_bootstrap():
    """Resampling counts is resampling rows: fairlearn's bootstrap gives the same band."""
    df = synthetic(2000)
    d = (df["score"] >= 0.5).astype(int).to_numpy()
    mf = flm.MetricFrame(
        metrics={"fpr": flm.false_positive_rate},
        y_true=df["label"],
        y_pred=d,
        sensitive_features=df["group"],
        n_boot=400,
        ci_quantiles=[0.025, 0.975],
        random_state=1,
    )
    lo, hi = mf.by_group_ci
    rep = analyse_groups(
        df["label"].to_numpy(),
        d,
        df[["group"]],
        [("group",)],
        EngineSettings(bootstrap=BootstrapSettings(2000, 0.95, 1)),
    )
    for g in rep.groups:
        ci = g["metrics"]["fpr"]
        width = ci["ci_high"] - ci["ci_low"]
        assert ci["ci_low"] == pytest.approx(lo["fpr"][g["group"]], abs=0.2 * width)
        assert ci["ci_high"] == pytest.approx(hi["fpr"][g["group"]], abs=0.2 * width)


def test_group_without_positives_is_insufficient_not_a_pass():
    df = synthetic()
    df.loc[df["group"] == "c", "label"] = 0
    _, rep = run(df, [("group",)])
    c = by_key(rep, "group")["c"]
    assert c["positives"] == 0
    assert c["metrics"]["tpr"]["value"] is None
    assert c["verdicts"] == {
        "evidence": "insufficient_evidence",
        "four_fifths": "insufficient_evidence",
    }
    assert all(
        r["verdict"] == "insufficient_evidence" for r in rep.disparities if r["group"] == "c"
    )
    eod = next(s for s in rep.summary if s["metric"] == "equalized_odds_difference")
    assert "c" in eod["groups_excluded_insufficient"] and "c" not in eod["groups_included"]


def test_small_groups_are_suppressed_and_listed():
    df = synthetic()
    df.loc[df.index[:5], "group"] = "tiny"
    _, rep = run(df, [("group",)])
    assert "tiny" not in by_key(rep, "group")
    assert {"attribute": "group", "group": "tiny", "reason": "fewer than 10 rows"} in (
        rep.suppressed_groups
    )
    assert all(r["group"] != "tiny" for r in rep.disparities)


@pytest.mark.parametrize("outcome", ["adverse", "favourable"])
def test_four_fifths_compares_favourable_outcome_rates(outcome):
    df = synthetic()
    _, rep = run(df, [("group",)], positive_outcome=outcome)
    groups = by_key(rep, "group")

    def favourable(g):
        sr = g["metrics"]["selection_rate"]["value"]
        return 1 - sr if outcome == "adverse" else sr

    top = max(map(favourable, groups.values()))
    verdicts = set()
    for g in groups.values():
        ratio = favourable(g) / top
        assert g["impact_ratio"]["value"] == pytest.approx(ratio)
        assert g["verdicts"]["four_fifths"] == ("pass" if ratio >= 0.8 else "fail")
        verdicts.add(g["verdicts"]["four_fifths"])
    # group b is flagged far more often: adverse impact on b when flags are adverse
    if outcome == "adverse":
        assert groups["b"]["verdicts"]["four_fifths"] == "fail"


def test_reference_choices():
    df = synthetic()
    _, largest = run(df, [("group",)])
    assert {r["reference"] for r in largest.disparities} == {"a"}
    _, best = run(df, [("group",)], reference="best")
    fpr_ref = {r["reference"] for r in best.disparities if r["metric"] == "fpr"}
    fprs = {g["group"]: g["metrics"]["fpr"]["value"] for g in best.groups}
    assert fpr_ref == {min(fprs, key=fprs.get)}
    from audit.exceptions import ConfigError

    with pytest.raises(ConfigError, match="does not occur"):
        run(df, [("group",)], reference={"group": "zzz"})

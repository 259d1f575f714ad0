"""The metric engine agrees with fairlearn and aif360, and its verdicts are honest."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from fairlearn import metrics as flm
from sklearn import metrics as skm

from audit.metrics import RATES, SUMMARIES, BootstrapSettings, EngineSettings, analyse_groups
from audit.metrics._rates import SHARES
from tests.conftest import synthetic

FAIRLEARN = {
    "tpr": flm.true_positive_rate,
    "fpr": flm.false_positive_rate,
    "fnr": flm.false_negative_rate,
    "tnr": flm.true_negative_rate,
    "precision": lambda y, d: skm.precision_score(y, d, zero_division=np.nan),
    # FDR, FOR and NPV have no function of their own in sklearn or fairlearn: they are one
    # minus precision, one minus NPV, and precision of the negative class.
    "fdr": lambda y, d: 1 - skm.precision_score(y, d, zero_division=np.nan),
    "for": lambda y, d: 1 - skm.precision_score(y, d, pos_label=0, zero_division=np.nan),
    "npv": lambda y, d: skm.precision_score(y, d, pos_label=0, zero_division=np.nan),
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


def test_fdr_for_npv_and_ppr_count_by_hand():
    """The Aequitas definitions (Saleiro et al. 2018), counted row by row with pandas."""
    df = synthetic()
    d, rep = run(df, [("group",)])
    frame = df.assign(d=d)
    flagged_total = int(frame["d"].sum())  # Aequitas' k: predicted positives over all rows
    for name, g in by_key(rep, "group").items():
        rows = frame[frame["group"] == name]
        tp = int(((rows.d == 1) & (rows.label == 1)).sum())
        fp = int(((rows.d == 1) & (rows.label == 0)).sum())
        fn = int(((rows.d == 0) & (rows.label == 1)).sum())
        tn = int(((rows.d == 0) & (rows.label == 0)).sum())
        m = g["metrics"]
        assert m["fdr"]["value"] == pytest.approx(fp / (tp + fp))
        assert m["for"]["value"] == pytest.approx(fn / (fn + tn))
        assert m["npv"]["value"] == pytest.approx(tn / (tn + fn))
        assert m["ppr"]["value"] == pytest.approx((tp + fp) / flagged_total)
        assert m["ppr"]["exact"] == str(Fraction(tp + fp, flagged_total))
        assert m["ppr"]["ci_low"] <= m["ppr"]["value"] <= m["ppr"]["ci_high"]
    shares = [g["metrics"]["ppr"]["value"] for g in rep.groups]
    assert sum(shares) == pytest.approx(1.0)  # every row is in some group of the slice


def test_new_rates_get_disparities_and_the_aequitas_band():
    df = synthetic()
    _, rep = run(df, [("group",)], reference={"group": "a"})
    groups = by_key(rep, "group")
    for metric in ("fdr", "for", "npv", *SHARES):
        recs = {r["group"]: r for r in rep.disparities if r["metric"] == metric}
        assert set(recs) == {"b", "c"}, metric
        for g, r in recs.items():
            ratio = groups[g]["metrics"][metric]["value"] / groups["a"]["metrics"][metric]["value"]
            assert r["ratio"]["value"] == pytest.approx(ratio)
            inside = 0.8 <= ratio <= 1.25
            assert r["verdict"] == ("within_band" if inside else "outside_band")


@pytest.mark.parametrize(
    ("favourable", "verdict", "exact"), [(48, "pass", "4/5"), (47, "fail", "47/60")]
)
def test_exactly_four_fifths_passes_decided_on_counts(favourable, verdict, exact):
    """29 CFR 1607.4(D) counts only ratios *below* 4/5: 48/80 against 60/80 is exactly 4/5
    (floats make it 0.7999999999999999), 47/80 is below."""
    assert (48 / 80) / (60 / 80) < 0.8  # the float trap the exact counts avoid
    rows = []
    for group, fav in (("ref", 60), ("g", favourable)):
        # adverse positives: the favourable outcome is a negative decision
        for i in range(80):
            rows.append((group, i % 2, int(i >= fav)))
    df = pd.DataFrame(rows, columns=["race", "label", "decision"])
    rep = analyse_groups(
        df["label"].to_numpy(),
        df["decision"].to_numpy(),
        df[["race"]],
        [("race",)],
        EngineSettings(bootstrap=BootstrapSettings(100, 0.95, 0)),
    )
    g = by_key(rep, "race")["g"]
    assert g["impact_ratio"]["exact"] == exact
    assert g["impact_ratio"]["value"] == float(Fraction(exact))
    assert g["verdicts"]["four_fifths"] == verdict
    summary = next(s for s in rep.summary if s["metric"] == "four_fifths_impact_ratio")
    assert summary["exact"] == exact


def test_exact_values_agree_with_the_floats():
    df = synthetic()
    _, rep = run(df, [("group",), ("group", "sex")])
    n = 0
    for rec in [*rep.groups, *rep.summary]:
        estimates = [rec] if "exact" in rec else [*rec.get("metrics", {}).values()]
        for e in estimates:
            if "exact" in e:
                assert float(Fraction(e["exact"])) == pytest.approx(e["value"], abs=1e-15)
                n += 1
    assert n > 100


@pytest.mark.parametrize(("outcome", "pick"), [("adverse", min), ("favourable", max)])
def test_best_reference_follows_what_a_positive_decision_means(outcome, pick):
    """With adverse positives the group flagged least is best off; with favourable ones the
    group selected most. Error rates keep their direction either way."""
    df = synthetic()
    _, rep = run(df, [("group",)], reference="best", positive_outcome=outcome)
    groups = by_key(rep, "group")
    sr = {k: g["metrics"]["selection_rate"]["value"] for k, g in groups.items()}
    ppr = {k: g["metrics"]["ppr"]["value"] for k, g in groups.items()}
    fpr = {k: g["metrics"]["fpr"]["value"] for k, g in groups.items()}
    refs = {r["metric"]: r["reference"] for r in rep.disparities}
    assert refs["selection_rate"] == pick(sr, key=sr.get)
    assert refs["ppr"] == pick(ppr, key=ppr.get)
    assert refs["fpr"] == min(fpr, key=fpr.get)
    assert sr["b"] == max(sr.values())  # b is flagged most: never "best" when flags harm
    if outcome == "adverse":
        assert refs["selection_rate"] != "b"


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

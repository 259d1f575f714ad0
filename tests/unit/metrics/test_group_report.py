"""The group-report builder: suppression, the evidence rule, the reference, records, summaries."""

from __future__ import annotations

import numpy as np
import pytest

from audit.exceptions import ConfigError
from audit.metrics._disparity import min_over_max, spread
from audit.metrics._group_report import (
    AttributeGroups,
    Compared,
    CrossGroup,
    EvidenceRule,
    GroupTable,
    ReportRules,
    Verdict,
    assess,
    cross_group,
    pick_reference,
    slice_records,
)

# Four groups of one attribute: "big" and "mid" are sufficient, "thin" is published with 3
# label negatives (insufficient), "tiny" has 4 rows (suppressed).
GROUPS = AttributeGroups("team", ("big", "mid", "thin", "tiny"))
ROWS = np.array([500.0, 300.0, 40.0, 4.0])
POS = np.array([200.0, 120.0, 37.0, 2.0])
NEG = ROWS - POS
RULES = (
    EvidenceRule("label positives", 30, "--min-positives"),
    EvidenceRule("label negatives", 30, "--min-negatives"),
)


def evidence(rows=ROWS, pos=POS, neg=NEG):
    return assess(
        GROUPS,
        rows,
        min_group_size=10,
        unit="rows",
        rules=tuple(zip(RULES, (pos, neg), strict=True)),
    )


def test_assess_suppresses_small_groups_and_names_the_rule_a_group_misses():
    ev = evidence()
    assert ev.shown.tolist() == [True, True, True, False]
    assert ev.sufficient.tolist() == [True, True, False, False]
    assert ev.shortfall[2] == "has 3 label negatives; the audit needs 30 (--min-negatives)"
    assert ev.shortfall[3] is None  # suppressed: no counts spelled out
    assert ev.suppression == "fewer than 10 rows"
    assert ev.labels(ev.insufficient) == ["thin"]


def test_largest_reference_is_the_largest_sufficient_group():
    # "thin" has the most rows here but too few negatives: never the reference.
    rows = np.array([500.0, 300.0, 900.0, 4.0])
    pos = np.array([200.0, 120.0, 897.0, 2.0])
    ev = evidence(rows, pos, rows - pos)
    assert pick_reference(ev, "largest", np.zeros(4), "higher") == 0


@pytest.mark.parametrize(
    ("better", "expected"), [("lower", "mid"), ("higher", "big"), ("neutral", "big")]
)
def test_best_reference_follows_the_metric_direction_among_sufficient_groups(better, expected):
    # "thin" and "tiny" have the best values either way; neither may be the reference.
    values = np.array([0.5, 0.2, 0.0, 0.99])
    values[2] = 0.0 if better == "lower" else 1.0
    g = pick_reference(evidence(), "best", values, better)
    assert GROUPS.groups[g] == expected


def test_a_named_sufficient_reference_is_used():
    assert pick_reference(evidence(), {"team": "mid"}, np.zeros(4), "higher") == 1
    # a mapping that does not name this slice's column falls back to the largest group
    assert pick_reference(evidence(), {"other": "x"}, np.zeros(4), "higher") == 0


def test_a_named_suppressed_reference_is_refused_without_its_counts():
    with pytest.raises(ConfigError, match="'tiny' for 'team' is suppressed") as err:
        pick_reference(evidence(), {"team": "tiny"}, np.zeros(4), "higher")
    msg = str(err.value)
    assert "name another group" in msg
    assert "4 rows" not in msg and " 2 " not in msg  # its size and counts stay unpublished


def test_a_named_insufficient_reference_is_refused_with_the_rule_it_misses():
    with pytest.raises(ConfigError) as err:
        pick_reference(evidence(), {"team": "thin"}, np.zeros(4), "higher")
    msg = str(err.value)
    assert "'thin' for 'team'" in msg
    assert "has 3 label negatives; the audit needs 30 (--min-negatives)" in msg


def test_a_named_reference_that_does_not_occur_is_refused():
    with pytest.raises(ConfigError, match="does not occur"):
        pick_reference(evidence(), {"team": "nobody"}, np.zeros(4), "higher")


TABLE = GroupTable(
    published=("rate",),
    beside=("score",),
    compared=(Compared("rate", "higher"),),
    summaries=(
        CrossGroup("rate_difference", ("rate",), spread),
        CrossGroup("rate_ratio", ("rate",), min_over_max),
    ),
    verdicts=(
        Verdict("vs_ref", "rate", "reference", on_reference="within_band"),
        Verdict("four_fifths", "score", "four_fifths"),
        Verdict("band", "score", "band"),
    ),
    tags={"side": "user"},
)


def records(values=None, resampled=None, reference="largest"):
    values = values or {
        "rate": np.array([0.5, 0.3, 0.45, 0.9]),
        "score": np.array([1.0, 0.6, 0.9, 0.1]),
    }
    return slice_records(
        TABLE,
        ReportRules(reference, (0.8, 1.25), 0.95),
        evidence(),
        values,
        resampled,
        {"n": ROWS, "positives": POS, "maybe": np.array([1.0, np.nan, 2.0, 3.0])},
    )


def test_records_have_the_document_shape_and_hand_computed_disparities():
    out = records()
    assert [g["group"] for g in out.groups] == ["big", "mid", "thin"]
    big = out.groups[0]
    assert list(big) == [
        "side", "attribute", "group", "n", "positives", "maybe", "metrics", "score", "verdicts"
    ]  # fmt: skip
    assert out.groups[1]["maybe"] is None and big["n"] == 500
    assert out.suppressed_groups == [
        {"attribute": "team", "group": "tiny", "side": "user", "reason": "fewer than 10 rows"}
    ]
    d = {r["group"]: r for r in out.disparities}
    assert set(d) == {"mid", "thin"} and {r["reference"] for r in d.values()} == {"big"}
    assert d["mid"]["ratio"]["value"] == pytest.approx(0.3 / 0.5)
    assert d["mid"]["difference"]["value"] == pytest.approx(0.3 - 0.5)
    assert d["mid"]["verdict"] == "outside_band"
    assert d["thin"]["verdict"] == "insufficient_evidence"
    v = {g["group"]: g["verdicts"] for g in out.groups}
    assert v["big"] == {
        "evidence": "sufficient", "vs_ref": "within_band", "four_fifths": "pass",
        "band": "within_band",
    }  # fmt: skip
    assert v["mid"] == {
        "evidence": "sufficient", "vs_ref": "outside_band", "four_fifths": "fail",
        "band": "outside_band",
    }  # fmt: skip
    assert set(v["thin"].values()) == {"insufficient_evidence"}


def test_summaries_use_sufficient_groups_only_and_list_the_rest():
    out = records()
    s = {r["metric"]: r for r in out.summary}
    assert s["rate_difference"]["value"] == pytest.approx(0.5 - 0.3)
    assert s["rate_ratio"]["value"] == pytest.approx(0.3 / 0.5)
    for r in out.summary:
        assert r["groups_included"] == ["big", "mid"]
        assert r["groups_excluded_insufficient"] == ["thin"]
        assert "tiny" not in str(r)


def test_intervals_come_from_the_resamples():
    rng = np.random.default_rng(0)
    rate = np.array([0.5, 0.3, 0.45, 0.9])
    boot = {"rate": rate + rng.normal(0, 0.02, (200, 4)), "score": np.ones((200, 4))}
    out = records(resampled=boot)
    d = next(r for r in out.disparities if r["group"] == "mid")
    ratios = boot["rate"][:, 1] / boot["rate"][:, 0]
    assert d["ratio"]["ci_low"] == pytest.approx(np.quantile(ratios, 0.025))
    assert d["ratio"]["ci_high"] == pytest.approx(np.quantile(ratios, 0.975))
    mid = out.groups[1]["metrics"]["rate"]
    assert mid["ci_low"] == pytest.approx(np.quantile(boot["rate"][:, 1], 0.025))


def test_no_reference_without_a_sufficient_group():
    ev = assess(GROUPS, ROWS, min_group_size=10, unit="rows", rules=((RULES[0], POS * 0),))
    out = slice_records(
        TABLE,
        ReportRules(),
        ev,
        {"rate": np.ones(4), "score": np.ones(4)},
        None,
        {"n": ROWS},
    )
    assert out.disparities == []
    assert {g["verdicts"]["vs_ref"] for g in out.groups} == {"insufficient_evidence"}
    assert all(s["value"] is None for s in out.summary)
    assert out.summary[0]["note"] == "fewer than 2 groups with sufficient evidence"


def test_an_undefined_value_is_listed_as_left_out_not_dropped():
    values = {"v": np.array([0.8, np.nan, 0.6, 0.1])}
    spec = CrossGroup("v_ratio", ("v",), min_over_max)
    got = cross_group(spec, evidence(), values).record(0.95)
    # "mid" is sufficient but its value is undefined: with one group left the ratio is not
    # computed (a ratio over one group would read as "no disparity")
    assert got["value"] is None
    assert got["groups_included"] == ["big"]
    assert got["groups_excluded_undefined"] == ["mid"]
    assert got["groups_excluded_insufficient"] == ["thin"]
    assert got["note"] == "fewer than 2 groups with sufficient evidence where it is defined"
    one = cross_group(CrossGroup("v_max", ("v",), np.nanmax, min_groups=1), evidence(), values)
    assert one.point == pytest.approx(0.8) and one.included == ["big"]


def test_exact_values_decide_band_verdicts_at_the_edges():
    """A ratio of exactly 4/5 or 5/4 is inside the Aequitas band [0.8, 1.25]; in floats
    0.6 / 0.75 is 0.7999999999999999 and would fall outside."""
    from fractions import Fraction

    groups = AttributeGroups("team", ("ref", "low", "high"))
    rows = np.array([400.0, 400.0, 400.0])
    ev = assess(groups, rows, min_group_size=10, unit="rows")
    exact = np.array([Fraction(3, 4), Fraction(3, 5), Fraction(15, 16)], dtype=object)
    floats = np.array([0.75, 0.6, 0.9375])
    assert 0.6 / 0.75 < 0.8  # the trap
    table = GroupTable(published=("rate",), compared=(Compared("rate", "higher"),))
    rules = ReportRules(reference={"team": "ref"})
    recs = slice_records(table, rules, ev, {"rate": floats}, None, {"n": rows})
    assert {d["group"]: d["verdict"] for d in recs.disparities} == {
        "low": "outside_band",
        "high": "within_band",
    }
    recs = slice_records(table, rules, ev, {"rate": floats}, None, {"n": rows}, {"rate": exact})
    by_group = {d["group"]: d for d in recs.disparities}
    assert by_group["low"]["ratio"] == {
        "value": 0.8,
        "ci_low": None,
        "ci_high": None,
        "exact": "4/5",
    }
    assert by_group["high"]["ratio"]["exact"] == "5/4"
    assert {g: d["verdict"] for g, d in by_group.items()} == {
        "low": "within_band",
        "high": "within_band",
    }
    assert recs.groups[1]["metrics"]["rate"]["exact"] == "3/5"


def test_best_for_a_neutral_metric_is_the_largest_group():
    ev = evidence()
    values = np.array([0.2, 0.9, 0.5, 0.1])
    assert pick_reference(ev, "best", values, "neutral") == 0
    assert pick_reference(ev, "best", values, "higher") == 1
    assert pick_reference(ev, "best", values, "lower") == 0

"""The gate on small hand-built result documents: every status, rule and renderer."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from audit.exceptions import ConfigError, DataError
from audit.gate import (
    ResultInput,
    evaluate,
    load_baseline,
    render_blessing,
    render_junit,
    render_lines,
    render_markdown,
    render_verdict,
)
from audit.policy import Policy
from audit.results import load_schema

# --- builders: minimal valid result documents ---------------------------------------------


def est(value: float | None, lo: float | None = None, hi: float | None = None) -> dict[str, Any]:
    """An estimate; the interval defaults to value ± 0.02."""
    if value is None:
        return {"value": None, "ci_low": None, "ci_high": None}
    return {
        "value": value,
        "ci_low": value - 0.02 if lo is None else lo,
        "ci_high": value + 0.02 if hi is None else hi,
    }


def group(
    attribute: str | list[str],
    name: str | list[str],
    *,
    n: int = 500,
    impact: float | dict[str, Any] = 1.0,
    evidence: str = "sufficient",
    **metrics: float | dict[str, Any],
) -> dict[str, Any]:
    """One entry of ``groups[]``; metrics given as numbers or estimates."""
    ir = impact if isinstance(impact, dict) else est(impact)
    return {
        "attribute": attribute,
        "group": name,
        "n": n,
        "positives": n // 2 if evidence == "sufficient" else 5,
        "negatives": n - n // 2 if evidence == "sufficient" else 7,
        "metrics": {k: v if isinstance(v, dict) else est(v) for k, v in metrics.items()},
        "impact_ratio": ir,
        "verdicts": {
            "evidence": evidence,
            "four_fifths": "insufficient_evidence"
            if evidence != "sufficient"
            else ("pass" if (ir["value"] or 0) >= 0.8 else "fail"),
        },
    }


def summary(
    attribute: str | list[str] | None, metric: str, value: float | None, **kw: Any
) -> dict[str, Any]:
    e = est(value, kw.pop("lo", None), kw.pop("hi", None))
    return {
        "attribute": attribute,
        "metric": metric,
        **e,
        "groups_included": kw.pop("included", ["a", "b"]),
        "groups_excluded_insufficient": kw.pop("excluded", []),
    }


def result(
    kind: str = "classification",
    *,
    groups: list[dict[str, Any]] = (),  # type: ignore[assignment]
    summary: list[dict[str, Any]] = (),  # type: ignore[assignment]
    disparities: list[dict[str, Any]] = (),  # type: ignore[assignment]
    suppressed: list[dict[str, Any]] = (),  # type: ignore[assignment]
    language: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A minimal result document that validates against the schema."""
    return {
        "schema_version": "1.0.0",
        "kind": kind,
        "settings": {
            "reference": "largest",
            "min_positives": 30,
            "min_negatives": 30,
            "min_group_size": 10,
            "ci": {"method": "percentile bootstrap", "resamples": 200, "level": 0.95, "seed": 0},
            "language": language,
        },
        "overall": {"n": 1000, "metrics": {}},
        "groups": list(groups),
        "suppressed_groups": list(suppressed),
        "disparities": list(disparities),
        "summary": list(summary),
        "provenance": {
            "inputs": [{"role": "data", "path": "d.csv", "sha256": "0" * 64}],
            "model": {"kind": "column"},
            "policy_sha256": None,
            "seed": 0,
            "packages": {},
            "generated_at": "2026-01-01T00:00:00Z",
        },
        **extra,
    }


def check(**kw: Any) -> dict[str, Any]:
    base = {
        "id": "c",
        "source": "test",
        "kinds": ["classification"],
        "metric": "impact_ratio",
        "aggregation": "per_group",
    }
    return {**base, **kw}


def policy(*checks: dict[str, Any], insufficient: str = "warn") -> Policy:
    return Policy.model_validate(
        {"id": "test", "version": "1", "insufficient": insufficient, "checks": list(checks)}
    )


def statuses(decision) -> list[tuple[str, str, str]]:
    return [(o.check_id, o.observation.where(), o.status) for o in decision.outcomes]


RACE = [
    group("race", "a", impact=1.0, fpr=0.10),
    group("race", "b", impact=0.9, fpr=0.12),
    group("race", "c", impact=0.6, fpr=0.30),
]


def test_builder_makes_schema_valid_documents():
    validator = Draft202012Validator(load_schema())
    validator.validate(result(groups=RACE, summary=[summary("race", "x", 0.1)]))


# --- statuses and verdicts ---------------------------------------------------------------


def test_pass_and_fail_per_group_blocks():
    d = evaluate(policy(check(id="four-fifths", min=0.8)), [result(groups=RACE)])
    assert statuses(d) == [
        ("four-fifths", "race=a", "PASS"),
        ("four-fifths", "race=b", "PASS"),
        ("four-fifths", "race=c", "FAIL"),
    ]
    assert d.verdict == "blocked" and d.exit_code == 1
    fail = d.outcomes[2]
    assert fail.value == 0.6 and fail.ci == (0.58, 0.62)
    assert fail.threshold == "min 0.8" and fail.policy == "test@1" and fail.severity == "block"
    assert fail.reason == "0.6 is below the minimum 0.8"


def test_everything_passing_passes():
    d = evaluate(policy(check(min=0.5)), [result(groups=RACE)])
    assert {o.status for o in d.outcomes} == {"PASS"}
    assert (d.verdict, d.exit_code) == ("passed", 0)


def test_warn_severity_warns_and_does_not_block():
    d = evaluate(policy(check(min=0.8, severity="warn")), [result(groups=RACE)])
    assert [o.status for o in d.outcomes] == ["PASS", "PASS", "WARN"]
    assert d.outcomes[2].effect == "warn"
    assert (d.verdict, d.exit_code) == ("passed", 0)
    assert render_verdict(d).startswith("PASSED test@1: nothing blocks — 0 failed, 1 warned")


SMALL = [*RACE, group("race", "tiny", impact=0.5, evidence="insufficient_evidence", n=40)]


@pytest.mark.parametrize(
    ("rule", "severity", "effect", "verdict"),
    [
        ("fail", "block", "block", "blocked"),
        ("fail", "warn", "warn", "passed"),  # a warn check never blocks
        ("warn", "block", "warn", "passed"),
        ("pass", "block", "none", "passed"),
    ],
)
def test_insufficient_counts_as_the_policy_says(rule, severity, effect, verdict):
    d = evaluate(
        policy(check(min=0.5, severity=severity), insufficient=rule), [result(groups=SMALL)]
    )
    tiny = d.outcomes[-1]
    assert (tiny.observation.where(), tiny.status, tiny.effect) == (
        "race=tiny",
        "INSUFFICIENT",
        effect,
    )
    assert "5 label positives and 7 negatives, the audit needs 30 and 30" in tiny.reason
    assert d.verdict == verdict


def test_a_check_overrides_the_policy_insufficient_rule():
    d = evaluate(
        policy(check(min=0.5, insufficient="fail"), insufficient="pass"), [result(groups=SMALL)]
    )
    assert d.outcomes[-1].effect == "block" and d.blocked


def test_min_group_size_and_suppressed_groups_are_insufficient():
    doc = result(
        groups=RACE,
        suppressed=[{"attribute": "race", "group": "d", "reason": "fewer than 10 rows"}],
    )
    d = evaluate(policy(check(min=0.5, min_group_size=1000)), [doc])
    assert [o.status for o in d.outcomes] == ["INSUFFICIENT"] * 4
    assert "n = 500 is below the check's min_group_size 1000" in d.outcomes[0].reason
    assert d.outcomes[3].observation.where() == "race=d"
    assert "suppressed it (fewer than 10 rows)" in d.outcomes[3].reason


@pytest.mark.parametrize(
    ("value", "lo", "hi", "point", "interval", "strict"),
    [
        (0.75, 0.70, 0.85, "FAIL", "PASS", "FAIL"),  # point below, interval straddles
        (0.82, 0.78, 0.90, "PASS", "PASS", "FAIL"),  # point above, interval straddles
        (0.70, 0.60, 0.75, "FAIL", "FAIL", "FAIL"),  # clearly below
        (0.90, 0.85, 0.95, "PASS", "PASS", "PASS"),  # clearly above
    ],
)
def test_decide_on_point_interval_and_whole_interval(value, lo, hi, point, interval, strict):
    doc = result(groups=[group("race", "a", impact=est(value, lo, hi))])
    got = [
        evaluate(policy(check(min=0.8, decide_on=mode)), [doc]).outcomes[0].status
        for mode in ("point", "interval", "interval_strict")
    ]
    assert got == [point, interval, strict]


def test_interval_decisions_need_an_interval():
    doc = result(groups=[group("race", "a", impact=est(0.9, None, None) | {"ci_low": None})])
    o = evaluate(policy(check(min=0.8, decide_on="interval")), [doc]).outcomes[0]
    assert o.status == "INSUFFICIENT" and "no confidence interval" in o.reason


def test_max_and_both_bounds():
    doc = result(groups=RACE)
    d = evaluate(policy(check(metric="fpr", max=0.2), check(id="band", min=0.8, max=0.95)), [doc])
    assert [o.status for o in d.outcomes] == ["PASS", "PASS", "FAIL", "FAIL", "PASS", "FAIL"]
    assert d.outcomes[2].reason == "0.3 is above the maximum 0.2"
    assert d.outcomes[3].reason == "1 is above the maximum 0.95"


def test_numbers_next_to_a_threshold_get_more_digits():
    doc = result(groups=[group("race", "a", impact=0.79996)])
    line = render_lines(evaluate(policy(check(min=0.8)), [doc]))[0]
    assert "0.79996" in line and line.startswith("FAIL")


# --- aggregations ----------------------------------------------------------------------------


def test_worst_group_reads_one_number_per_attribute():
    doc = result(
        groups=[*SMALL, group("sex", "f", impact=0.95), group("sex", "m", impact=1.0)],
    )
    d = evaluate(policy(check(aggregation="worst_group", min=0.8)), [doc])
    assert statuses(d) == [("c", "race=c (worst)", "FAIL"), ("c", "sex=f (worst)", "PASS")]
    assert "worst of 3 groups; 1 without sufficient evidence not considered" in d.outcomes[0].reason


def test_worst_group_with_no_sufficient_group_is_insufficient():
    doc = result(groups=[group("race", "x", impact=0.1, evidence="insufficient_evidence")])
    o = evaluate(policy(check(aggregation="worst_group", min=0.8)), [doc]).outcomes[0]
    assert o.status == "INSUFFICIENT" and "no race group has sufficient evidence" in o.reason


def disparity(group_name: str, ratio: float, diff: float, verdict: str = "within_band"):
    return {
        "attribute": "race",
        "group": group_name,
        "reference": "a",
        "metric": "fpr",
        "ratio": est(ratio),
        "difference": est(diff),
        "verdict": verdict,
    }


def test_ratio_and_difference_to_reference():
    doc = result(
        groups=RACE,
        disparities=[
            disparity("b", 1.2, 0.02),
            disparity("c", 3.0, 0.2, "outside_band"),
            disparity("d", 9.0, 0.5, "insufficient_evidence"),
        ],
    )
    d = evaluate(
        policy(
            check(id="ratio", metric="fpr", aggregation="ratio_to_reference", min=0.8, max=1.25),
            check(id="diff", metric="fpr", aggregation="difference_to_reference", max=0.1),
        ),
        [doc],
    )
    assert statuses(d) == [
        ("ratio", "race=b vs a", "PASS"),
        ("ratio", "race=c vs a", "FAIL"),
        ("ratio", "race=d vs a", "INSUFFICIENT"),
        ("diff", "race=b vs a", "PASS"),
        ("diff", "race=c vs a", "FAIL"),
        ("diff", "race=d vs a", "INSUFFICIENT"),
    ]


def test_summary_with_attribute_filter_and_intersections():
    doc = result(
        summary=[
            summary("race", "equalized_odds_difference", 0.3, excluded=["tiny"]),
            summary("sex", "equalized_odds_difference", 0.05),
            summary(["race", "sex"], "equalized_odds_difference", None, included=["a"]),
        ]
    )
    eod = {"metric": "equalized_odds_difference", "aggregation": "summary", "max": 0.1}
    d = evaluate(policy(check(**eod)), [doc])
    assert statuses(d) == [
        ("c", "race", "FAIL"),
        ("c", "sex", "PASS"),
        ("c", "race & sex", "INSUFFICIENT"),
    ]
    assert "left out: tiny" in d.outcomes[0].reason
    assert "fewer than two groups with sufficient evidence" in d.outcomes[2].reason
    d = evaluate(policy(check(**eod, attributes=["sex", ["race", "sex"]])), [doc])
    assert [o.observation.where() for o in d.outcomes] == ["sex", "race & sex"]


def test_an_unbounded_ratio_says_why_it_has_no_value():
    unbounded = summary("skin", "fmr_max_min_ratio", None)
    unbounded["note"] = "unbounded: group 'light' has no FMR errors while others do"
    ratio = {"metric": "fmr_max_min_ratio", "aggregation": "summary", "max": 2}
    d = evaluate(policy(check(**ratio, kinds=["face"])), [result(kind="face", summary=[unbounded])])
    assert statuses(d) == [("c", "skin", "INSUFFICIENT")]
    assert "unbounded: group 'light' has no FMR errors" in d.outcomes[0].reason


def moderation_doc(**kw: Any) -> dict[str, Any]:
    def aucs(sub: float, bpsn: float, bnsp: float) -> dict[str, Any]:
        return {"subgroup_auc": est(sub), "bpsn_auc": est(bpsn), "bnsp_auc": est(bnsp)}

    block = {
        "attribute": "group",
        "overall_auc": est(0.93),
        "groups": [
            {"group": "christian", "n": 130, **aucs(0.98, 0.97, 0.92)},
            {"group": "muslim", "n": 160, **aucs(0.95, 0.71, 0.99)},
            {"group": "rare", "n": 12, **aucs(0.5, 0.4, 0.6)},
        ],
        "generalized_means": aucs(0.96, 0.8, 0.93),
        "final_score": est(0.9),
        "power": -5,
        "weight": 0.25,
    }
    return result("moderation", moderation={"bias_aucs": [block]}, **kw)


def test_bias_aucs_per_group_and_per_attribute():
    p = policy(
        check(kinds=["moderation"], metric="bpsn_auc", aggregation="bias_auc", min=0.8,
              min_group_size=50),
        check(id="final", kinds=["moderation"], metric="final_score", aggregation="bias_auc",
              min=0.85),
        check(id="gm", kinds=["moderation"], metric="generalized_mean_bpsn_auc",
              aggregation="bias_auc", min=0.85),
    )  # fmt: skip
    d = evaluate(p, [moderation_doc()])
    assert statuses(d) == [
        ("c", "group=christian", "PASS"),
        ("c", "group=muslim", "FAIL"),
        ("c", "group=rare", "INSUFFICIENT"),
        ("final", "group", "PASS"),
        ("gm", "group", "FAIL"),
    ]


def test_a_bias_auc_group_without_sufficient_evidence_is_insufficient_not_failed():
    doc = moderation_doc()
    block = doc["moderation"]["bias_aucs"][0]
    block["groups"].append(
        {
            "group": "sikh", "n": 400, "positives": 397, "negatives": 3,
            "subgroup_auc": est(0.5), "bpsn_auc": est(0.05), "bnsp_auc": est(0.9),
            "verdicts": {"evidence": "insufficient_evidence"},
        }
    )  # fmt: skip
    block["generalized_means"]["bpsn_auc"].update(
        groups_included=["christian", "muslim", "rare"],
        groups_excluded_insufficient=["sikh"],
        groups_excluded_undefined=["jain"],
    )
    Draft202012Validator(load_schema()).validate(doc)
    p = policy(
        check(kinds=["moderation"], metric="bpsn_auc", aggregation="bias_auc", min=0.8),
        check(id="gm", kinds=["moderation"], metric="generalized_mean_bpsn_auc",
              aggregation="bias_auc", min=0.75),
        check(id="final", kinds=["moderation"], metric="final_score", aggregation="bias_auc",
              min=0.85),
    )  # fmt: skip
    d = evaluate(p, [doc])
    by = {(o.check_id, o.observation.where()): o for o in d.outcomes}
    sikh = by["c", "group=sikh"]
    assert sikh.status == "INSUFFICIENT"
    assert "3 negatives, the audit needs 30" in sikh.reason
    assert by["c", "group=muslim"].status == "FAIL"  # a sufficient group is still judged
    gm = by["gm", "group"]
    assert gm.status == "PASS"
    assert "over 3 groups; without sufficient evidence, left out: sikh" in gm.reason
    assert "undefined for them, left out: jain" in gm.reason
    assert "left out: sikh" in by["final", "group"].reason


def test_bias_aucs_skipped_by_the_audit_are_insufficient():
    doc = result("moderation", moderation={"bias_aucs_skipped": "bias AUCs need scores"})
    p = policy(check(kinds=["moderation"], metric="bpsn_auc", aggregation="bias_auc", min=0.8))
    o = evaluate(p, [doc]).outcomes[0]
    assert o.status == "INSUFFICIENT" and "(bias AUCs need scores)" in o.reason


def test_language_placeholder_reads_the_language_column():
    doc = result(
        "moderation",
        language="lang",
        groups=[group("lang", "de", accuracy=0.7), group("lang", "en", accuracy=0.9), *RACE],
    )
    p = policy(check(kinds=["moderation"], metric="accuracy", attributes=["@language"], min=0.8))
    assert statuses(evaluate(p, [doc])) == [("c", "lang=de", "FAIL"), ("c", "lang=en", "PASS")]
    doc["settings"]["language"] = None
    o = evaluate(p, [doc]).outcomes[0]
    assert o.status == "INSUFFICIENT"
    assert "the audit had no language column (run it with --language)" in o.reason


def test_a_metric_the_result_lacks_is_insufficient_and_lists_what_it_has():
    o = evaluate(policy(check(metric="acuracy", min=0.8)), [result(groups=RACE)]).outcomes[0]
    assert o.status == "INSUFFICIENT"
    assert "has no acuracy (per group); it has: fpr, impact_ratio" in o.reason


def test_custom_metrics_from_the_audit_are_read():
    doc = result(
        groups=RACE,
        custom_metrics=[{"attribute": "race", "group": "a", "metrics": {"f1": 0.4}}],
    )
    o = evaluate(policy(check(metric="f1", min=0.5)), [doc]).outcomes[0]
    assert (o.status, o.value, o.ci) == ("FAIL", 0.4, (None, None))


def test_a_new_audit_kind_plugs_in_without_gate_changes():
    face = result(
        "face",
        groups=[group("skin", "dark", fmr=0.004), group("skin", "light", fmr=0.001)],
        summary=[summary("skin", "fmr_max_min_ratio", 4.0)],
    )
    p = policy(
        check(id="ratio", kinds=["face"], metric="fmr_max_min_ratio", aggregation="summary",
              max=2.0),
        check(id="fmr", kinds=["face"], metric="fmr", aggregation="worst_group", max=0.002),
    )  # fmt: skip
    assert statuses(evaluate(p, [face])) == [
        ("ratio", "skin", "FAIL"),
        ("fmr", "skin=dark (worst)", "FAIL"),
    ]


def test_checks_for_absent_kinds_are_skipped_not_counted():
    p = policy(
        check(min=0.8),
        check(id="pii", kinds=["pii"], metric="high_severity_findings", aggregation="summary",
              max=0),
    )  # fmt: skip
    d = evaluate(p, [result(groups=RACE[:2])])
    assert [s.check_id for s in d.skipped] == ["pii"] and d.skipped[0].reason == "no pii result"
    assert d.counts()["total"] == 2 and not d.blocked
    assert "SKIPPED       pii  no pii result  test@1" in render_lines(d)


def test_a_policy_with_nothing_for_these_results_is_an_input_error():
    p = policy(check(kinds=["face"], max=1))
    with pytest.raises(ConfigError, match="has no check for classification results"):
        evaluate(p, [result(groups=RACE)])


def test_documents_that_are_not_results_are_refused(tmp_path):
    with pytest.raises(DataError, match="no schema_version"):
        evaluate(policy(check(min=0.8)), [{"kind": "classification"}])
    path = tmp_path / "b.json"
    path.write_text('{"hello": 1}')
    with pytest.raises(DataError, match="not a baseline"):
        load_baseline(path)


# --- regression against a baseline ----------------------------------------------------------


def eod_doc(value: float, kind: str = "classification") -> dict[str, Any]:
    return result(kind, summary=[summary("race", "equalized_odds_difference", value)])


def ir_doc(value: float) -> dict[str, Any]:
    return result(groups=[group("race", "a", impact=value)])


LOWER = check(
    metric="equalized_odds_difference",
    aggregation="summary",
    change={"direction": "lower_is_better", "max_worsening": 0.02},
)
LOWER_REL = {**LOWER, "change": {**LOWER["change"], "max_worsening": 0.1, "relative": True}}
HIGHER = check(change={"direction": "higher_is_better", "max_worsening": 0.05})
HIGHER_REL = {**HIGHER, "change": {**HIGHER["change"], "relative": True}}


@pytest.mark.parametrize(
    ("chk", "doc", "base", "status"),
    [
        (LOWER, eod_doc(0.11), eod_doc(0.10), "PASS"),  # worse by 0.01 <= 0.02
        (LOWER, eod_doc(0.13), eod_doc(0.10), "FAIL"),  # worse by 0.03
        (LOWER, eod_doc(0.02), eod_doc(0.10), "PASS"),  # improved
        (LOWER_REL, eod_doc(0.105), eod_doc(0.10), "PASS"),  # 5% worse <= 10%
        (LOWER_REL, eod_doc(0.12), eod_doc(0.10), "FAIL"),  # 20% worse
        (HIGHER, ir_doc(0.86), ir_doc(0.90), "PASS"),  # down 0.04 <= 0.05
        (HIGHER, ir_doc(0.80), ir_doc(0.90), "FAIL"),  # down 0.10
        (HIGHER, ir_doc(0.99), ir_doc(0.90), "PASS"),  # improved
        (HIGHER_REL, ir_doc(0.86), ir_doc(0.90), "PASS"),  # 4.4% worse
        (HIGHER_REL, ir_doc(0.84), ir_doc(0.90), "FAIL"),  # 6.7% worse
    ],
)
def test_change_thresholds_in_both_directions(chk, doc, base, status):
    o = evaluate(policy(chk), [doc], [base]).outcomes[0]
    assert o.status == status, o.reason
    assert o.baseline_value == pytest.approx(base["groups"][0]["impact_ratio"]["value"]
                                             if base["groups"] else 0.10)  # fmt: skip
    if status == "FAIL":
        assert "is worse than the baseline" in o.reason and "more than the" in o.reason


def test_relative_change_from_zero():
    p = policy(
        check(metric="high_severity_findings", aggregation="summary",
              change={"direction": "lower_is_better", "max_worsening": 0.5, "relative": True}),
    )  # fmt: skip
    zero = result(summary=[summary("all", "high_severity_findings", 0)])
    one = result(summary=[summary("all", "high_severity_findings", 1)])
    assert evaluate(p, [zero], [zero]).outcomes[0].status == "PASS"
    o = evaluate(p, [one], [zero]).outcomes[0]
    assert o.status == "FAIL" and "unbounded" in o.reason


def test_change_with_interval_judges_the_favourable_end():
    doc = result(summary=[summary("race", "equalized_odds_difference", 0.14, lo=0.11, hi=0.2)])
    point = policy(LOWER)
    interval = policy({**LOWER, "decide_on": "interval"})
    base = [eod_doc(0.10)]
    assert evaluate(point, [doc], base).outcomes[0].status == "FAIL"  # 0.14 vs 0.10
    assert evaluate(interval, [doc], base).outcomes[0].status == "PASS"  # 0.11 vs 0.10


def test_without_a_baseline_change_only_checks_are_skipped_and_decide_nothing():
    d = evaluate(policy(LOWER), [eod_doc(0.5)])
    assert d.outcomes == ()
    assert [(s.check_id, s.why, s.reason) for s in d.skipped] == [
        ("c", "baseline", "no baseline given to compare with (pass --baseline)")
    ]
    assert (d.verdict, d.exit_code) == ("no_decision", 3)
    both = policy({**LOWER, "max": 0.6})
    o = evaluate(both, [eod_doc(0.5)]).outcomes[0]
    assert o.status == "PASS" and "not compared: no baseline given" in o.reason
    # a baseline that lacks this number: compared with nothing, said so
    o = evaluate(both, [eod_doc(0.5)], [result(summary=[])]).outcomes[0]
    assert "the baseline has no usable value for this number" in o.reason


def test_worst_group_regression_compares_whichever_group_is_worst():
    chk = check(aggregation="worst_group", min=0.5,
                change={"direction": "higher_is_better", "max_worsening": 0.05})  # fmt: skip
    base = result(groups=[group("race", "a", impact=1.0), group("race", "b", impact=0.9)])
    now = result(groups=[group("race", "a", impact=0.8), group("race", "b", impact=1.0)])
    o = evaluate(policy(chk), [now], [base]).outcomes[0]
    assert (o.observation.group, o.baseline_value, o.status) == ("a", 0.9, "FAIL")


def test_several_results_of_one_kind_match_baselines_by_name():
    now = [ResultInput(eod_doc(0.10), "model-a"), ResultInput(eod_doc(0.30), "model-b")]
    base = [
        {**eod_doc(0.29)},
        {**eod_doc(0.10)},
    ]
    from audit.gate import Baseline

    baselines = [Baseline(base[0], "result", "model-b"), Baseline(base[1], "result", "model-a")]
    d = evaluate(policy(LOWER), now, baselines)
    assert [(o.result, o.baseline_value, o.status) for o in d.outcomes] == [
        ("model-a", 0.10, "PASS"),
        ("model-b", 0.29, "PASS"),
    ]


# --- renderers ---------------------------------------------------------------------------------


def mixed_decision():
    doc = result(groups=SMALL, summary=[summary("race", "equalized_odds_difference", 0.3)])
    p = policy(
        check(id="four-fifths", min=0.8, description="four-fifths rule", source="29 CFR 1607.4(D)"),
        check(id="eod", metric="equalized_odds_difference", aggregation="summary", max=0.1,
              severity="warn"),
        check(id="face", kinds=["face"], metric="fmr_max_min_ratio", aggregation="summary",
              max=2),
    )  # fmt: skip
    return evaluate(p, [ResultInput(doc, "model", "out/model.json", "ab" * 32)])


def test_text_lines_and_verdict():
    d = mixed_decision()
    lines = render_lines(d)
    assert (
        lines[0] == "PASS          four-fifths  impact_ratio race=a 1 [0.98, 1.02] min 0.8  test@1"
    )
    assert lines[2] == (
        "FAIL          four-fifths  impact_ratio race=c 0.6 [0.58, 0.62] min 0.8  test@1"
        " — 0.6 is below the minimum 0.8"
    )
    assert lines[3].startswith("INSUFFICIENT  four-fifths  impact_ratio race=tiny 0.5")
    assert lines[4].startswith("WARN          eod  equalized_odds_difference race 0.3")
    assert lines[5] == "SKIPPED       face  no face result  test@1"
    assert render_verdict(d) == (
        "BLOCKED by test@1: four-fifths — 1 failed, 1 warned, 1 insufficient (1 warn), "
        "2 passed, 1 check skipped (no matching result)"
    )


def test_junit_parses_with_counts_and_one_case_per_check():
    d = mixed_decision()
    root = ET.fromstring(render_junit(d))
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    for el in (root, suite):
        assert (el.get("tests"), el.get("failures"), el.get("skipped"), el.get("errors")) == (
            "6",
            "1",
            "2",
            "0",
        )
    cases = suite.findall("testcase")
    assert len(cases) == 6
    assert [c.get("classname") for c in cases[:2]] == ["test.four-fifths"] * 2
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["impact_ratio race=c"]
    failure = failed[0].find("failure")
    assert failure.get("message") == "0.6 is below the minimum 0.8"
    assert "source: 29 CFR 1607.4(D)" in failure.text
    skipped = [c.get("name") for c in cases if c.find("skipped") is not None]
    assert skipped == ["impact_ratio race=tiny", "face"]
    warn = next(c for c in cases if c.get("classname") == "test.eod")
    assert warn.find("system-out").text.startswith("WARN: 0.3 is above the maximum 0.1")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["verdict"] == "blocked" and props["result:model"] == "ab" * 32


def test_junit_counts_blocking_insufficient_as_failures():
    d = evaluate(policy(check(min=0.5), insufficient="fail"), [result(groups=SMALL)])
    root = ET.fromstring(render_junit(d))
    assert (root.get("failures"), root.get("skipped")) == ("1", "0")
    assert root.find(".//failure").get("type") == "INSUFFICIENT"


def test_markdown_has_the_verdict_and_a_table():
    md = render_markdown(mixed_decision())
    assert md.startswith("## ❌ Release gate: blocked (`test@1`)")
    assert "| Status | Check | Metric | Where | Value [CI] | Threshold | Why |" in md
    assert "| ❌ FAIL | `four-fifths` | impact_ratio | race=c | 0.6 [0.58, 0.62] | min 0.8 |" in md
    # failures first, passes folded away
    assert md.index("❌ FAIL") < md.index("⚠️ WARN") < md.index("<details>") < md.index("✅ PASS")
    assert "`out/model.json` (sha256 `abababababab`)" in md


def test_markdown_escapes_pipes():
    doc = result(groups=[group("race", "a|b", impact=0.5)])
    md = render_markdown(evaluate(policy(check(min=0.8)), [doc]))
    assert "race=a\\|b" in md


def test_blessing_records_decision_hashes_and_values():
    d = mixed_decision()
    doc = json.loads(render_blessing(d))
    assert doc["decision"] == "blocked" and doc["blessing_version"] == "1.1.0"
    assert doc["exit_code"] == 1
    assert doc["policy"] == {"id": "test", "version": "1", "path": None, "sha256": None}
    assert doc["results"] == [
        {"label": "model", "kind": "classification", "path": "out/model.json", "sha256": "ab" * 32}
    ]
    first = doc["observations"][0]
    assert first["check"] == "four-fifths" and first["value"] == 1.0 and first["group"] == "a"
    assert doc["generated_at"].endswith("Z")


def test_a_passed_blessing_is_a_baseline_and_a_blocked_one_is_refused(tmp_path):
    p = policy(LOWER | {"max": 0.5})
    blessed = evaluate(p, [eod_doc(0.10)])
    path = tmp_path / "blessing.json"
    path.write_text(render_blessing(blessed))
    baseline = load_baseline(path)
    assert baseline.type == "blessing"
    assert evaluate(p, [eod_doc(0.11)], [baseline]).outcomes[0].status == "PASS"
    o = evaluate(p, [eod_doc(0.20)], [baseline]).outcomes[0]
    assert o.status == "FAIL" and o.baseline_value == 0.10
    blocked = evaluate(p, [eod_doc(0.9)])
    path.write_text(render_blessing(blocked))
    with pytest.raises(DataError, match="records a 'blocked' decision"):
        load_baseline(path)


# --- issue 15: decisions, baselines, exactness ---------------------------------------------


def test_a_warn_only_policy_decides_on_judged_warnings_and_not_on_nothing():
    warn_only = policy(check(min=0.8, severity="warn"))
    judged = evaluate(warn_only, [result(groups=[group("race", "a", impact=0.5)])])
    assert (judged.verdict, judged.exit_code) == ("passed", 0)  # a warning, and a decision
    thin = result(groups=[group("race", "a", evidence="insufficient_evidence", n=20)])
    nothing = evaluate(warn_only, [thin])
    assert (nothing.verdict, nothing.exit_code) == ("no_decision", 3)
    assert render_verdict(nothing).startswith("NO DECISION under test@1: no blocking check")


def test_insufficient_that_blocks_is_blocked_not_no_decision():
    thin = result(groups=[group("race", "a", evidence="insufficient_evidence", n=20)])
    d = evaluate(policy(check(min=0.8), insufficient="fail"), [thin])
    assert (d.verdict, d.exit_code) == ("blocked", 1)


def test_an_accepted_no_decision_is_a_skipped_junit_case_and_a_usable_baseline(tmp_path):
    p = Policy.model_validate(
        {"id": "t", "version": "1", "on_no_decision": "pass", "checks": [check(min=0.8)]}
    )
    thin = result(groups=[group("race", "a", evidence="insufficient_evidence", n=20)])
    d = evaluate(p, [thin])
    assert (d.verdict, d.exit_code) == ("no_decision", 0)
    suite = ET.fromstring(render_junit(d)).find("testsuite")
    assert suite.get("errors") == "0"
    assert suite.find("testcase[@name='no decision']/skipped") is not None
    path = tmp_path / "b.json"
    path.write_text(render_blessing(d))
    assert load_baseline(path).type == "blessing"


def test_every_outcome_with_a_baseline_number_carries_it_and_the_change():
    four_fifths = check(id="ff", min=0.8)  # no change threshold of its own
    base = result(groups=[group("race", "a", impact=0.95), group("race", "b", impact=0.9)])
    now = result(groups=[group("race", "a", impact=0.95), group("race", "b", impact=0.85)])
    d = evaluate(policy(four_fifths), [now], [base])
    b = next(o for o in d.outcomes if o.group == "b")
    assert (b.status, b.baseline_value, b.change) == ("PASS", 0.9, pytest.approx(-0.05))
    assert render_lines(d)[1] == (
        "PASS          ff  impact_ratio race=b 0.85 [0.83, 0.87] (baseline 0.9, change -0.05) "
        "min 0.8  test@1"
    )
    md = render_markdown(d)
    assert "### Baseline vs candidate (2 numbers)" in md
    assert "| ✅ PASS | `ff` | impact_ratio | race=b | 0.9 | 0.85 [0.83, 0.87] | -0.05 |" in md
    rec = json.loads(render_blessing(d))["observations"][1]
    assert (rec["baseline_value"], rec["change"]) == (0.9, pytest.approx(-0.05))
    # relative thresholds show the relative change too
    rel = check(id="rel", change={"direction": "higher_is_better", "max_worsening": 0.1,
                                  "relative": True})  # fmt: skip
    line = render_lines(evaluate(policy(rel), [now], [base]))[1]
    assert "(baseline 0.9, change -0.05, -5.56%)" in line


def test_exact_values_reach_the_blessing_and_decide_the_next_change():
    chk = check(min=0.5, change={"direction": "higher_is_better", "max_worsening": 0.1})
    exact = {"value": 0.9, "ci_low": 0.85, "ci_high": 0.95, "exact": "9/10"}
    blessed = evaluate(policy(chk), [result(groups=[group("race", "a", impact=exact)])])
    doc = json.loads(render_blessing(blessed))
    assert doc["observations"][0]["exact"] == "9/10"
    # 0.9 - 0.8 is 0.09999999999999998 in floats; exactly 1/10 is within the 0.1 allowed
    now = {"value": 0.8, "ci_low": 0.75, "ci_high": 0.85, "exact": "4/5"}
    o = evaluate(policy(chk), [result(groups=[group("race", "a", impact=now)])], [doc])
    assert o.outcomes[0].status == "PASS", o.outcomes[0].reason
    below = {"value": 0.8, "ci_low": 0.75, "ci_high": 0.85, "exact": "7999999/10000000"}
    o = evaluate(policy(chk), [result(groups=[group("race", "a", impact=below)])], [doc])
    assert o.outcomes[0].status == "FAIL" and "more than the 0.1 allowed" in o.outcomes[0].reason


def test_a_1_0_blessing_without_exit_code_is_still_read(tmp_path):
    d = evaluate(policy(check(min=0.8)), [result(groups=[group("race", "a", impact=0.9)])])
    doc = json.loads(render_blessing(d))
    doc["blessing_version"] = "1.0.0"
    del doc["exit_code"]
    for rec in doc["observations"]:
        for k in ("exact", "change", "relative_change"):
            rec.pop(k)
    path = tmp_path / "old.json"
    path.write_text(json.dumps(doc))
    assert load_baseline(path).doc["decision"] == "passed"


def test_a_blessing_made_without_a_baseline_keeps_what_change_checks_will_compare():
    """The first release has no baseline, so its change-only checks are skipped; its blessing
    still records their numbers, and the next release is compared with them."""
    fpr_change = check(id="fpr-regression", metric="fpr",
                       change={"direction": "lower_is_better", "max_worsening": 0.05})  # fmt: skip
    p = policy(check(min=0.8), fpr_change)
    first = evaluate(p, [result(groups=[group("race", "a", impact=0.9, fpr=0.20)])])
    assert [s.check_id for s in first.skipped] == ["fpr-regression"]
    blessing = json.loads(render_blessing(first))
    assert [(r["check"], r["metric"], r["value"]) for r in blessing["recorded"]] == [
        ("fpr-regression", "fpr", 0.20)
    ]
    second = evaluate(p, [result(groups=[group("race", "a", impact=0.9, fpr=0.27)])], [blessing])
    o = next(o for o in second.outcomes if o.check_id == "fpr-regression")
    assert (o.status, o.baseline_value) == ("FAIL", 0.20)

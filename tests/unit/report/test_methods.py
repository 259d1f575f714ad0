"""The methods section takes every definition from where the metric is defined."""

from __future__ import annotations

import pytest

from audit.metrics import RATES, SUMMARIES
from audit.report import build_report
from audit.report._methods import auc_definitions, definition


@pytest.fixture(scope="module")
def methods(moderation_doc):
    return build_report([moderation_doc])["methods"]


def test_rates_and_summaries_are_quoted_from_their_tables(methods):
    by_name = {m["name"]: m for m in methods["metrics"]}
    for name, rate in RATES.items():
        assert by_name[name]["definition"] == rate.definition
        assert by_name[name]["title"] == rate.title
    for name, summary in SUMMARIES.items():
        assert by_name[name]["definition"] == summary.definition


def test_bias_aucs_come_from_the_auc_module_docstring(methods):
    defs = auc_definitions()
    assert defs["bpsn_auc"].startswith("BPSN AUC (background positive, subgroup negative)")
    assert "false positives" in defs["bpsn_auc"] and "**" not in defs["bpsn_auc"]
    assert "p = -5" in defs["generalized_mean"]
    assert "Borkan" in defs["source"]
    by_name = {m["name"]: m for m in methods["metrics"]}
    assert by_name["bnsp_auc"]["definition"] == defs["bnsp_auc"]
    assert methods["auc"]["source"] == defs["source"]


def test_other_audits_metrics_come_from_their_document():
    doc = {"metric_definitions": {"fmr": "FP matches / impostor pairs."}}
    assert definition("fmr", [doc]) == ("fmr", "FP matches / impostor pairs.")
    assert "no definition" in definition("mystery", [doc])[1]


def test_rules_name_thresholds_ci_and_suppression(methods, moderation_doc):
    (audit,) = methods["audits"]
    rules = {r["what"]: r["value"] for r in audit["rules"]}
    assert rules["decision rule"] == "score >= 0.5"
    assert "200 resamples, seed 1" in rules["confidence intervals"]
    assert "fewer than 10 rows are suppressed" in rules["minimum group size"]
    assert "30 label positives and 30 label negatives" in rules["minimum evidence"]
    assert {s["group"] for s in audit["suppressed"]} >= {"zzqtiny", "mt"}
    assert all(set(s) == {"attribute", "group", "reason"} for s in audit["suppressed"])

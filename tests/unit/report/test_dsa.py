"""The DSA export: section 1.6 indicators per language, suppressed languages without numbers."""

from __future__ import annotations

import copy
import csv
import io

import pytest

from audit.metrics import RATES
from audit.report import build_report, render_dsa_csv, render_dsa_text
from audit.report._dsa import DSA_COLUMNS, DSA_INDICATORS
from tests.unit.report import _docs


@pytest.fixture(scope="module")
def model(moderation_doc):
    return build_report([moderation_doc, _docs.pii_result(moderation_doc)])


@pytest.fixture(scope="module")
def rows(model):
    return list(csv.DictReader(io.StringIO(render_dsa_csv(model))))


def test_one_row_per_indicator_overall_and_per_language(rows, moderation_doc):
    langs = {g["group"] for g in moderation_doc["groups"] if g["attribute"] == "lang"}
    measured = [r for r in rows if r["indicator"]]
    assert {(r["language"], r["indicator"]) for r in measured} == {
        (lang, ind) for lang in ["all", *langs] for ind in DSA_INDICATORS
    }
    en = next(
        g for g in moderation_doc["groups"] if g["attribute"] == "lang" and g["group"] == "en"
    )
    row = next(r for r in measured if r["language"] == "en" and r["indicator"] == "fpr")
    assert float(row["value"]) == pytest.approx(en["metrics"]["fpr"]["value"])
    assert float(row["ci_low"]) == pytest.approx(en["metrics"]["fpr"]["ci_low"])
    assert int(row["items_evaluated"]) == en["n"]
    assert row["language_name"] == "English"
    assert row["legal_basis"] == "DSA Art. 15(1)(e) and Art. 42(2)(c)"
    assert row["indicator_definition"] == RATES["fpr"].definition


#: Section 1.6 indicators as the Commission's CSV template names them (Reg. (EU) 2024/2835,
#: Annex I; sources in docs/reports.md), and the qualitative field for the error rates.
ANNEX_1_6 = {
    "accuracy": "Accuracy of the automated means - Accuracy",
    "precision": "Accuracy of the automated means - Precision",
    "tpr": "Accuracy of the automated means - Recall",
}
QUALITATIVE_ERROR_FIELD = (
    "Qualitative description of indicators of accuracy and possible rate of error of "
    "automated means"
)


def test_accuracy_precision_recall_fill_section_1_6_by_the_annex_names(rows):
    filled = [r for r in rows if r["indicator"] in ANNEX_1_6]
    assert len(filled) == 3 * 4  # overall, de, en, fr
    for r in filled:
        scope = "Total number" if r["language"] == "all" else r["language"]
        assert r["template_section"] == "1.6"
        assert r["template_field"] == ANNEX_1_6[r["indicator"]]
        assert r["template_scope"] == scope
        assert r["mapping_status"] == (
            f"verified: Annex I 1.6 {ANNEX_1_6[r['indicator']]}, scope {scope}"
        )


def test_error_rates_go_to_the_qualitative_template_field(rows):
    errors = [r for r in rows if r["indicator"] in ("fpr", "fnr")]
    assert {r["language"] for r in errors} == {"all", "de", "en", "fr"}
    for r in errors:
        assert r["template_section"] == "qualitative"
        assert r["template_field"] == QUALITATIVE_ERROR_FIELD
        assert r["template_scope"] == ""
        assert r["mapping_status"].startswith("verified: Annex I qualitative template")
        assert r["value"] != ""


def test_a_language_outside_the_official_eu_ones_has_no_template_cell(moderation_doc):
    doc = copy.deepcopy(moderation_doc)
    for g in doc["groups"]:
        if g["attribute"] == "lang" and g["group"] == "fr":
            g["group"] = "tr"
    rows = list(csv.DictReader(io.StringIO(render_dsa_csv(build_report([doc])))))
    tr = [r for r in rows if r["language"] == "tr" and r["indicator"] in ANNEX_1_6]
    assert len(tr) == 3
    for r in tr:
        assert r["template_field"] == ANNEX_1_6[r["indicator"]]
        assert r["template_scope"] == ""
        assert r["mapping_status"].startswith("no template cell")
        assert r["value"] != ""  # the number is still reported, only not placed


def test_a_suppressed_language_is_listed_without_numbers(rows):
    (mt,) = [r for r in rows if r["language"] == _docs.TINY_LANGUAGE]
    assert mt["evidence"].startswith("suppressed")
    assert mt["template_scope"] == _docs.TINY_LANGUAGE
    assert mt["mapping_status"].startswith("suppressed")
    for col in ("indicator", "value", "ci_low", "ci_high", "items_evaluated", "items_violating"):
        assert mt[col] == ""


def test_only_moderation_audits_fill_section_1_6(rows):
    assert list(rows[0]) == list(DSA_COLUMNS)
    assert {r["audit"] for r in rows} == {"moderation-1"}


def test_the_qualitative_block_says_what_was_measured_and_what_is_left(model):
    text = render_dsa_text(model)
    assert "Art. 15(1)(e)" in text and "Art. 42(2)(c)" in text
    assert "Languages with their own indicators: de, en, fr" in text
    assert "suppressed for too few items: mt" in text
    assert RATES["fnr"].definition in text
    assert f'Qualitative template field: "{QUALITATIVE_ERROR_FIELD}"' in text
    for field in (
        "Qualitative description of the automated means",
        "Specification of the precise purposes to apply automated means",
        "Safeguards applied to the use of automated means",
        "Number of measures solely taken by automated means",
    ):
        assert field in text


def test_no_moderation_no_rows(moderation_doc):
    m = build_report([_docs.pii_result(moderation_doc)])
    assert m["dsa"]["rows"] == []
    assert "No moderation audit" in render_dsa_text(m)

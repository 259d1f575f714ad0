"""The DSA export: section 1.6 indicators per language, suppressed languages without numbers."""

from __future__ import annotations

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
    assert row["template_section"] == "1.6"
    assert row["mapping_status"].startswith("unverified")
    assert row["indicator_definition"] == RATES["fpr"].definition


def test_a_suppressed_language_is_listed_without_numbers(rows):
    (mt,) = [r for r in rows if r["language"] == _docs.TINY_LANGUAGE]
    assert mt["evidence"].startswith("suppressed")
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
    assert "Safeguards applied to the use of automated means" in text


def test_no_moderation_no_rows(moderation_doc):
    m = build_report([_docs.pii_result(moderation_doc)])
    assert m["dsa"]["rows"] == []
    assert "No moderation audit" in render_dsa_text(m)

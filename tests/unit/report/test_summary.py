"""The cover, the executive summary and what each kind of audit shows, on small documents."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from audit.exceptions import ConfigError
from audit.report import build_report, load_meta, render_html, render_markdown
from audit.report._render import fmt_cell, fmt_number, md_escape
from tests.conftest import ROOT
from tests.unit.report import _docs

META = ROOT / "reports" / "meta.example.yaml"


def _html(model) -> str:
    """The HTML without drawing the charts (each an empty placeholder): fast, same text."""
    from audit.report._render import _charts

    return render_html(model, svgs={c["id"]: "" for c in _charts(model)})


# --- the cover -----------------------------------------------------------------------------------


def test_the_example_meta_file_loads_and_fills_the_cover(moderation_doc):
    meta = load_meta(META)
    model = build_report([moderation_doc], meta=meta)
    rows = {r["label"]: r["value"] for r in model["meta"]["rows"]}
    assert model["meta"]["given"] and model["meta"]["signed"]
    assert rows["organisation"] == meta.organisation
    assert rows["period"] == f"{meta.period.start} to {meta.period.end}"
    assert model["title"] == meta.title  # --title would override it


def test_without_meta_the_cover_says_so_and_invents_nothing(moderation_doc):
    model = build_report([moderation_doc])
    assert model["meta"]["given"] is False
    assert {r["value"] for r in model["meta"]["rows"]} == {
        "not stated (no --meta file was given)",
        "not signed off",
    }
    assert "--meta" in _html(model)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("organisation: X\n", "missing required key 'system'"),
        (META.read_text().replace("auditor:", "auditr:"), "unknown key 'auditr'"),
        (META.read_text().replace('"demo-2026.1"', "2026.1"), "version"),
        (META.read_text().replace("end: 2026-06-30", "end: 2025-06-30"), "before start"),
    ],
)
def test_a_bad_meta_file_names_file_line_and_key(tmp_path, text, expected):
    path = tmp_path / "report.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_meta(path)
    msg = str(exc.value)
    assert str(path) in msg and expected in msg
    assert "line " in msg


def test_the_cli_exits_2_on_a_bad_meta_file(tmp_path, moderation_doc, capsys):
    from tests.functional.test_report_cli import report

    result = _docs.write(tmp_path, "moderation", moderation_doc)
    bad = tmp_path / "meta.yaml"
    bad.write_text("organisation: X\nsystem: Y\nversion: '1'\nperiod: {start: 2026-01-01}\n")
    code = report([str(result), "--out", str(tmp_path / "o"), "--meta", str(bad)])
    err = capsys.readouterr().err
    assert code == 2 and str(bad) in err.replace("\n", "") and "period.end" in err
    assert "Traceback" not in err


# --- the executive summary -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_audits(moderation_doc):
    """The same audit twice under two names: its gaps must be listed once."""
    again = copy.deepcopy(moderation_doc)
    return build_report(
        [
            {**moderation_doc, "provenance": moderation_doc["provenance"]},
            again,
            _docs.pii_result(moderation_doc),
            _docs.blessing(),
        ]
    )


def test_an_identical_audit_does_not_repeat_the_findings(two_audits):
    first, second = two_audits["executive"]["audits"][:2]
    assert first["lines"] and not second["lines"]
    assert "repeat those of moderation-1" in second["status"]
    assert all(line["also_in"] == ["moderation-2"] for line in first["lines"])
    assert len({f["text"] for f in two_audits["findings"]}) == len(two_audits["findings"])


def test_the_summary_leads_with_the_gate_and_names_the_blocking_checks(two_audits):
    (gate,) = two_audits["executive"]["gates"]
    assert gate["decision"] == "blocked" and gate["blocking"] == ["four-fifths"]


def test_a_pii_scan_speaks_of_severity_not_of_the_fairness_band(two_audits, moderation_doc):
    pii = _docs.pii_result(moderation_doc)["pii"]
    ex = next(a for a in two_audits["executive"]["audits"] if a["label"] == "pii-3")
    assert ex["status"].startswith(f"{pii['findings_total']} PII findings")
    assert f"{pii['severity']['HIGH']} HIGH" in ex["status"]
    assert ex["lines"][0]["text"] == "4 HIGH-severity findings: EMAIL_ADDRESS 3, PHONE_NUMBER 1."
    md = render_markdown(two_audits)
    assert "4 HIGH-severity findings" in md
    section = next(a for a in two_audits["audits"] if a["label"] == "pii-3")
    block = section["sections"][0]
    assert "band" not in json.dumps(block).lower()
    severity = block["tables"][0]["table"]
    total = severity["rows"][-1]["cells"]
    assert total == ["all types", 69, 4, 14, 51, 75, 87]


def test_what_could_not_be_judged_says_why(moderation_doc):
    face = _docs.face_result(moderation_doc)
    for g in face["groups"]:
        g["verdicts"] = dict.fromkeys(("evidence", "four_fifths"), "insufficient_evidence")
    for d in face["disparities"]:
        d["verdict"] = "insufficient_evidence"
    model = build_report([face])
    (ex,) = model["executive"]["audits"]
    assert ex["status"].startswith("Nothing could be judged")
    (nj,) = model["executive"]["not_judged"]
    assert "too little evidence" in nj["text"] and "a group needs at least" in nj["text"]


def test_no_dsa_section_without_a_moderation_audit(moderation_doc):
    model = build_report([_docs.pii_result(moderation_doc)])
    html = _html(model)
    assert "DSA transparency export" not in html
    assert "DSA section 1.6" not in render_markdown(model)


# --- formatting ----------------------------------------------------------------------------------


def test_counts_print_as_counts_whatever_the_column():
    assert fmt_number(375, "num") == "375"
    assert fmt_number(2088, "num") == "2,088"
    assert fmt_number({"value": 375.0, "fmt": "int"}, "num") == "375"
    assert fmt_number(0.5326, "num") == "0.533"
    ratio = {"value": 4.285, "ci_low": 4.0, "ci_high": 4.5}
    assert fmt_cell(ratio, "ratio") == "4.29× (4.00–4.50×)"
    assert fmt_number(0.000229, "share") == "0.023%" and fmt_number(0.14, "share") == "14.0%"


def test_group_names_are_data_escaped_everywhere(moderation_doc, tmp_path: Path):
    doc = copy.deepcopy(moderation_doc)
    evil = "<b>x</b>*_|"
    for key in ("groups", "disparities"):
        for x in doc[key]:
            if x["attribute"] == "group" and x["group"] == "muslim":
                x["group"] = evil
            if x.get("reference") == "muslim":
                x["reference"] = evil
    model = build_report([doc])
    html = _html(model)
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    md = render_markdown(model)
    assert "<b>" not in md and md_escape(evil) in md

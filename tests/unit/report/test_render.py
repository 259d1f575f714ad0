"""Every format, as a reader gets it: self-contained, complete, and private.

The privacy checks look for the one suppressed group whose name appears nowhere else
(``zzqtiny``, 6 rows against a minimum of 10) and for a raw e-mail address planted in a PII
result's samples: the group may only be named in the suppressed lists, with no number but the
minimum size; the address must not appear at all.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from audit.report import build_report, render_json
from tests.unit.report import _docs
from tests.unit.report.conftest import GENERATED_AT

NAME = _docs.TINY_GROUP
MIN_SIZE = "10"


def _text(path: Path) -> str:
    if path.suffix == ".pdf":
        if not shutil.which("pdftotext"):
            pytest.skip("pdftotext (poppler-utils) not installed")
        out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
        return out.stdout.decode("utf-8")
    return path.read_text(encoding="utf-8")


def _numbers_besides_min_size(text: str) -> set[str]:
    return set(re.findall(r"\d+(?:\.\d+)?", text)) - {MIN_SIZE}


# --- self-contained HTML -----------------------------------------------------------------------


def test_html_loads_nothing_from_anywhere(bundle):
    html = bundle["html"].read_text()
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//", html, flags=re.I)
    assert not re.search(r"url\(\s*[\"']?\s*(?:https?:)?//", html, flags=re.I)
    assert "<script" not in html.lower() and "<link" not in html.lower() and "@import" not in html
    assert "@font-face" not in html


def test_every_chart_has_its_svg_table_and_description(bundle):
    html = bundle["html"].read_text()
    figures = re.findall(r'<figure class="chart[ "].*?</figure>', html, flags=re.S)
    assert len(figures) >= 15
    for fig in figures:
        assert '<svg role="img" aria-label="' in fig
        assert '<div class="chart-table">' in fig and "<table>" in fig
        assert '<p class="alt">' in fig
    # Model cards show their audit's charts again, as images (ids stay unique in the page).
    cards = re.findall(r'<figure class="card-chart">.*?</figure>', html, flags=re.S)
    assert cards and all('<img alt="' in c and "data:image/svg+xml;base64," in c for c in cards)


def test_the_report_has_every_part(bundle):
    html = bundle["html"].read_text()
    for heading in (
        "Executive summary",
        "Release gate",
        "Annex A. Model cards",
        "DSA transparency export",
        "Annex B. Full tables and uncertain gaps",
        "Annex C. Methods",
        "Annex D. Provenance",
    ):
        assert f">{heading}</h2>" in html
    for kind in ("Moderation", "Face recognition", "PII", "Recommendation", "Speech"):
        assert f"{kind} audit:" in html
    for section in (
        "Model details",
        "Intended use",
        "Factors",
        "Metrics",
        "Evaluation data",
        "Training data",
        "Quantitative analyses",
        "Ethical considerations",
        "Caveats and recommendations",
    ):
        assert html.count(f"<h4>{section}</h4>") == 5
    assert "Posts mentioning muslim, against the reference group (posts mentioning none)" in html
    assert "Cross-group false-match rate" in html and "Detection error trade-off" in html
    assert "Exposure against relevance, by label" in html
    assert "PII findings by entity type and severity" in html
    assert "Threshold-free bias AUCs" in html
    assert "this version of the report does not show: speech" in html


def test_provenance_names_every_input_by_hash(bundle, result_files, moderation_doc):
    html = bundle["html"].read_text()
    md = bundle["md"].read_text()
    data_sha = moderation_doc["provenance"]["inputs"][0]["sha256"]
    assert data_sha in html and data_sha in md
    for path in result_files.values():
        assert str(path) in html


def test_markdown_summary_leads_with_the_gate_and_findings(bundle):
    md = bundle["md"].read_text()
    assert md.startswith("# Transparency report\n")
    assert "**Release gate default@1.0.0: BLOCKED**" in md
    assert md.index("## Executive summary") < md.index("## Moderation audit")
    assert "<details><summary>Model card: Moderation audit: moderation</summary>" in md
    assert "| group | n | false positive rate |" in md


def test_json_is_the_report_model_and_reproducible(bundle, result_files):
    model = json.loads(bundle["json"].read_text())
    assert model["report_version"] == "1.1.0" and model["generated_at"] == GENERATED_AT
    again = build_report(list(result_files.values()), generated_at=GENERATED_AT)
    assert render_json(again) == bundle["json"].read_text()


# --- privacy -------------------------------------------------------------------------------------


def _check_suppressed_lines(text: str) -> None:
    # Paragraphs, not lines: the PDF's text wraps a suppressed list over several lines.
    for para in re.split(r"\n\s*\n", text):
        if NAME in para:
            assert "uppressed" in para, para
            assert not _numbers_besides_min_size(para), para


def test_suppressed_group_is_only_named_in_suppressed_lists_html(bundle):
    html = bundle["html"].read_text()
    lists = re.findall(r'<div class="suppressed-list">.*?</div>', html, flags=re.S)
    assert any(NAME in block for block in lists)
    for block in lists:
        if NAME in block:
            assert not _numbers_besides_min_size(re.sub(r"<[^>]+>", " ", block))
    rest = re.sub(r'<div class="suppressed-list">.*?</div>', "", html, flags=re.S)
    assert NAME not in rest


@pytest.mark.parametrize("fmt", ["md", "dsa", "dsa-qualitative"])
def test_suppressed_group_has_no_numbers_text_formats(bundle, fmt):
    _check_suppressed_lines(bundle[fmt].read_text())


def test_suppressed_group_has_no_numbers_pdf(pdf):
    text = _text(pdf)
    assert NAME in text
    _check_suppressed_lines(text)


def _walk(node: Any) -> list[Any]:
    out = [node]
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    for c in children:
        out += _walk(c)
    return out


def _has_number(node: Any) -> bool:
    return any(isinstance(x, int | float) and not isinstance(x, bool) for x in _walk(node))


def test_suppressed_group_has_no_numbers_json(bundle):
    model = json.loads(bundle["json"].read_text())
    hits = 0
    for node in _walk(model):
        if isinstance(node, dict | list):
            children = list(node.values()) if isinstance(node, dict) else node
            named = [c for c in children if isinstance(c, str) and NAME in c]
            if named:
                hits += 1
                assert not any(_has_number(c) for c in children), node
                assert not any(_numbers_besides_min_size(c) for c in named), node
    assert hits >= 3


def test_raw_pii_never_reaches_any_output(bundle, pdf):
    for path in [*bundle.values(), pdf]:
        assert _docs.RAW_EMAIL not in _text(path), path.name
    html = bundle["html"].read_text()
    assert "j***@e***.org" in html
    assert "1 samples were not shown because they did not look masked" in html


# --- PDF ------------------------------------------------------------------------------------------


def test_pdf_has_numbered_pages_and_the_charts(pdf):
    text = _text(pdf)
    pages = int(re.search(r"Page 1 of (\d+)", text).group(1))
    assert pages >= 5
    assert f"Page {pages} of {pages}" in text
    assert "Ratio to the reference group" in text
    assert "ratio to the reference group" in text  # an axis label drawn inside a chart


def test_pdf_pages_convert_to_images(pdf, tmp_path):
    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm (poppler-utils) not installed")
    subprocess.run(
        ["pdftoppm", "-r", "30", "-png", "-f", "1", "-l", "2", str(pdf), str(tmp_path / "p")],
        check=True,
        capture_output=True,
    )
    pngs = sorted(tmp_path.glob("p-*.png"))
    assert len(pngs) == 2 and all(p.stat().st_size > 2000 for p in pngs)


def test_every_group_metric_reaches_the_appendix_in_tables_that_fit(bundle, moderation_doc):
    """Issue 15 added FDR, FOR, NPV and PPR: the appendix keeps seven metrics per table and
    continues the rest in a second table of the same groups."""
    import json

    report = json.loads(bundle["json"].read_text())
    audit = next(a for a in report["audits"] if a["kind"] == "moderation")
    for sl in audit["slices"]:
        tables = [sl["full_table"], *sl["full_table_more"]]
        labels = [c["label"] for t in tables for c in t["columns"]]
        for m in ("false discovery rate", "false omission rate", "negative predictive value",
                  "predicted positive ratio", "false positive rate"):  # fmt: skip
            assert m in labels, (sl["attribute"], m)
        assert all(len(t["rows"]) == len(sl["full_table"]["rows"]) for t in tables)
    html = bundle["html"].read_text()
    assert "(continued)" in html

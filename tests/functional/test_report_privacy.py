"""No raw PII in any report format: the PII detector runs over everything `report` writes."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from audit.cli import main
from tests.conftest import FIXTURES
from tests.unit.pii._support import corpus, pii_found_in_outputs, write_jsonl

#: Types found by NER. On report prose the small spaCy model tags words such as "Annex" or
#: "Art." as PERSON, so for these types the test checks that no planted value appears.
NER_TYPES = {"PERSON", "LOCATION", "NRP", "DATE_TIME", "ORGANIZATION"}


class _Visible(HTMLParser):
    """The text a reader of the HTML sees (no markup, styles or inline SVG geometry)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "script")
        self.parts += [v for k, v in attrs if k in ("alt", "title", "aria-label") and v]

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "script")

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(data.strip())


@pytest.fixture(scope="module")
def detector():
    from audit.pii import Detector, load_pii_config

    return Detector(load_pii_config(None))


def test_every_report_format_is_free_of_raw_pii(tmp_path, detector):
    posts = corpus(60, seed=11)
    rows = [{"id": f"p{i}", "text": p.text} for i, p in enumerate(posts)]
    src = write_jsonl(tmp_path / "posts.jsonl", rows)
    pii = ["pii", "--source", str(src), "--text-field", "text", "--id-field", "id"]
    assert main([*pii, "--out", str(tmp_path / "pii.json"), "--quiet"]) == 0
    mod = [
        "moderation", "--data", str(FIXTURES / "moderation_small.csv"), "--id", "id",
        "--label", "label", "--score", "score", "--groups", "group", "--resamples", "50",
    ]  # fmt: skip
    assert main([*mod, "--out", str(tmp_path / "mod.json"), "--quiet"]) == 0
    out = tmp_path / "report"
    results = [str(tmp_path / "pii.json"), str(tmp_path / "mod.json")]
    fmt = "html,pdf,md,json,dsa"
    assert main(["report", *results, "--out", str(out), "--format", fmt, "--quiet"]) == 0

    written = sorted(p for p in out.iterdir() if p.is_file())
    assert {p.suffix for p in written} >= {".html", ".pdf", ".md", ".json", ".csv"}
    readable = tmp_path / "readable"
    readable.mkdir()
    texts = []
    for p in written:
        if p.suffix == ".html":
            parser = _Visible()
            parser.feed(p.read_text(encoding="utf-8"))
            (readable / "report-html.txt").write_text("\n".join(parser.parts), encoding="utf-8")
            texts.append(readable / "report-html.txt")
        elif p.suffix == ".pdf":
            if not shutil.which("pdftotext"):
                pytest.skip("pdftotext (poppler-utils) not installed")
            subprocess.run(["pdftotext", str(p), str(readable / "report-pdf.txt")], check=True)
            texts.append(readable / "report-pdf.txt")
        else:
            texts.append(p)

    planted = {p.text[s.start : s.end] for p in posts for s in p.spans if s.end - s.start >= 5}
    raw_html = next(p for p in written if p.suffix == ".html").read_text(encoding="utf-8")
    for path in [*texts, next(p for p in written if p.suffix == ".html")]:
        body = raw_html if path.suffix == ".html" else path.read_text(encoding="utf-8")
        assert not [v for v in planted if v in body], f"{path.name} holds a raw value"
    hits = [h for h in pii_found_in_outputs(texts, detector) if h[1] not in NER_TYPES]
    assert hits == [], hits

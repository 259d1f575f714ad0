"""The demo bundle as a compliance officer gets it, checked as a person sees it.

``scripts/demo.sh`` (what ``make demo`` runs) is run once per session on the real sample data
(``make data``): the audits write their result documents, the gate decides, ``socialaudit
report`` writes the bundle. The tests then read the PDF as laid out (``pdftotext -bbox``,
``pdfinfo``), open the HTML in Chromium at two widths, and hold the report's numbers and
sentences against the result documents they came from.

Set ``SOCIALAUDIT_DEMO_BUNDLE`` to a folder the demo already wrote to check it without
re-running the audits (the tests then read that folder as it is).
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from audit.report._text import subject
from tests.conftest import ROOT

pytestmark = pytest.mark.sample

#: Page margins of report.css, left and right (mm): no word may lie outside them.
MARGIN_MM = 14
#: A word's box is about 1.16 times its font size; 7 pt boxes are ≈ 6 pt type.
MIN_WORD_HEIGHT_PT = 7.0
MAIN_BODY_MAX_PAGES = 30
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NEEDED = ("compas.csv", "redditbias.csv", "ml100k_ratings.csv", "faces/manifest.csv", "pii")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        pytest.skip(f"{name} (poppler-utils) not installed")
    return path


@pytest.fixture(scope="session")
def demo(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder ``scripts/demo.sh`` wrote: result documents, gate, ``report/``."""
    given = os.environ.get("SOCIALAUDIT_DEMO_BUNDLE")
    if given:
        return Path(given)
    missing = [n for n in NEEDED if not (samples / n).exists()]
    if missing:
        pytest.skip(f"sample data incomplete (run `make data`): {', '.join(missing)}")
    out = tmp_path_factory.mktemp("demo")
    run = subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo.sh"), str(samples), str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    return out


@pytest.fixture(scope="session")
def report(demo: Path) -> Path:
    return demo / "report"


@pytest.fixture(scope="session")
def model(report: Path) -> dict[str, Any]:
    return json.loads((report / "report.json").read_text())


@pytest.fixture(scope="session")
def pdf(report: Path) -> Path:
    return report / "report.pdf"


@pytest.fixture(scope="session")
def dests(pdf: Path) -> dict[str, int]:
    """Page of every named destination (each HTML id) in the PDF."""
    out = subprocess.run([_tool("pdfinfo"), "-dests", str(pdf)], capture_output=True, text=True)
    found = {}
    for line in out.stdout.splitlines():
        m = re.match(r"\s*(\d+)\s+\[.*\]\s+\"(.+)\"$", line)
        if m:
            found.setdefault(m.group(2), int(m.group(1)))
    assert found, out.stdout[:500]
    return found


@pytest.fixture(scope="session")
def words(pdf: Path, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Every word of the PDF with its page, the page's size and its box (points)."""
    target = tmp_path_factory.mktemp("bbox") / "bbox.html"
    subprocess.run([_tool("pdftotext"), "-bbox", str(pdf), str(target)], check=True)
    text = target.read_text(encoding="utf-8")
    out = []
    for n, page in enumerate(re.split(r"<page ", text)[1:], start=1):
        w, h = map(float, re.match(r'width="([\d.]+)" height="([\d.]+)"', page).groups())
        for m in re.finditer(
            r'<word xMin="([-\d.]+)" yMin="([-\d.]+)" xMax="([-\d.]+)" yMax="([-\d.]+)">'
            r"([^<]*)</word>",
            page,
        ):
            x0, y0, x1, y1 = map(float, m.groups()[:4])
            word = html_lib.unescape(m.group(5))
            out.append({"page": n, "w": w, "h": h, "box": (x0, y0, x1, y1), "word": word})
    assert out
    return out


def _docs(demo: Path) -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in demo.glob("*.json")}


# --- the bundle --------------------------------------------------------------------------------


def test_make_demo_writes_the_whole_bundle(report):
    names = {p.name for p in report.iterdir()}
    assert names >= {
        "report.html",
        "report.pdf",
        "report.md",
        "report.json",
        "dsa-section-1.6.csv",
        "dsa-qualitative.md",
    }


def test_the_pdf_is_tagged(pdf):
    info = subprocess.run([_tool("pdfinfo"), str(pdf)], capture_output=True, text=True).stdout
    assert re.search(r"^Tagged:\s+yes$", info, flags=re.M), info


def test_the_cover_names_who_and_what_from_the_meta_file(model):
    rows = {r["label"]: r["value"] for r in model["meta"]["rows"]}
    assert model["meta"]["given"] is True
    assert rows["organisation"].startswith("Example Social Platform Ltd")
    assert rows["period"] == "2026-01-01 to 2026-06-30"
    assert "A. Example" in rows["sign-off"]


# --- the PDF as laid out -----------------------------------------------------------------------


def test_no_word_lies_outside_the_page_or_its_margins(words):
    margin = MARGIN_MM * 72 / 25.4
    outside = [
        (w["page"], w["word"])
        for w in words
        if w["box"][0] < margin - 1
        or w["box"][2] > w["w"] - margin + 1
        or w["box"][1] < 0
        or w["box"][3] > w["h"]
    ]
    assert outside == [], outside[:20]


def test_every_word_is_big_enough_to_read(words):
    tiny = [
        (w["page"], w["word"], round(w["box"][3] - w["box"][1], 1))
        for w in words
        if w["box"][3] - w["box"][1] < MIN_WORD_HEIGHT_PT
    ]
    assert tiny == [], tiny[:20]


def test_the_executive_summary_is_on_pages_1_and_2(dests, words):
    assert dests["summary"] == 1
    assert dests["summary-end"] <= 2
    first = " ".join(w["word"] for w in words if w["page"] == 1)
    assert "Executive summary" in first and "BLOCKED" in first


def test_the_main_body_is_at_most_30_pages(dests):
    assert dests["annexes"] - 1 <= MAIN_BODY_MAX_PAGES, dests["annexes"]


def test_each_model_card_takes_one_or_two_pages(model, dests):
    starts = [dests[f"card-{a['id']}"] for a in model["audits"]]
    ends = [*starts[1:], dests["appendix"]]
    lengths = [b - a + (0 if b > a else 1) for a, b in zip(starts, ends, strict=True)]
    assert all(1 <= n <= 2 for n in lengths), dict(zip(starts, lengths, strict=True))


# --- numbers and sentences against the result documents ---------------------------------------


class _Tables(HTMLParser):
    """Cell texts of the table inside the element with a given id."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target, self.depth, self.rows = target, 0, []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if self.depth or dict(attrs).get("id") == self.target:
            self.depth += 1
        if self.depth and tag == "tr":
            self.rows.append([])
        if self.depth and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if self.depth and tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _table(html: str, id_: str) -> list[list[str]]:
    p = _Tables(id_)
    p.feed(html)
    assert p.rows, f"no table #{id_}"
    return p.rows


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def test_the_pii_section_counts_are_those_of_pii_json(demo, report):
    pii = json.loads((demo / "pii.json").read_text())["pii"]
    html = (report / "report.html").read_text()
    rows = _table(html, "pii-pii-severity")
    header, body = rows[0], rows[1:]
    assert header == [
        "entity type",
        "findings",
        "HIGH",
        "MEDIUM",
        "LOW",
        "occurrences",
        "records affected",
    ]
    by_type = {r[0]: r for r in body}
    assert set(by_type) == {*pii["by_type"], "all types"}
    for t, d in pii["by_type"].items():
        r = by_type[t]
        assert [_int(x) for x in r[1:]] == [
            d["findings"],
            d["severity"]["HIGH"],
            d["severity"]["MEDIUM"],
            d["severity"]["LOW"],
            d["occurrences"],
            d["records"],
        ], t
    total = [_int(x) for x in by_type["all types"][1:]]
    assert total == [
        pii["findings_total"],
        pii["severity"]["HIGH"],
        pii["severity"]["MEDIUM"],
        pii["severity"]["LOW"],
        pii["occurrences_total"],
        pii["records"]["with_pii"],
    ]
    # The summary says the same, in every format; the fairness band has no say here.
    high = f"{pii['severity']['HIGH']:,} HIGH-severity findings"
    assert high in html and high in (report / "report.md").read_text()
    section = html[html.index('<section class="audit" id="pii">') :]
    section = section[: section.index("</section>")]
    assert "band" not in section and "0 findings" not in section
    for d in pii["by_type"].values():
        for sample in d["masked_samples"]:
            assert html_lib.escape(sample) in section


def test_counts_print_as_whole_numbers(report, words):
    pdf_text = " ".join(w["word"] for w in words)
    for text in (pdf_text, (report / "report.md").read_text()):
        assert not re.search(r"\b\d{2,}\.000\b", text), re.search(r"\b\d{2,}\.000\b", text)


def test_every_finding_names_the_reference_of_its_disparity_record(demo, model):
    docs = _docs(demo)
    checked = 0
    for a in model["audits"]:
        doc = docs[a["label"]]
        lang = (doc.get("settings") or {}).get("language")
        records = {
            (_name(d["attribute"], " × "), _name(d["group"], " & "), d["metric"]): d
            for d in doc["disparities"]
        }
        for f in a["findings"]:
            if f["type"] != "disparity":
                continue
            d = records[(f["attribute"], f["group"], f["metric"])]
            ref = subject(a["kind"], d["attribute"], d["reference"], lang)
            assert f"the reference group ({ref})" in f["text"], f["text"]
            who = subject(a["kind"], d["attribute"], d["group"], lang)
            assert f["text"].lower().startswith(who.lower()), f["text"]
            checked += 1
    assert checked > 50


def test_every_line_shown_names_its_reference_and_is_in_the_html(model, report):
    html = html_lib.unescape((report / "report.html").read_text())
    for a in model["executive"]["audits"]:
        for line in a["all_lines"]:
            assert line["text"] in html
            if line["type"] == "disparity":
                assert f"the reference group ({line['reference_subject']})" in line["text"]


def test_propublicas_headline_leads_the_compas_summary(model):
    """Black defendants who did not reoffend were flagged about twice as often as white ones."""
    compas = next(a for a in model["executive"]["audits"] if a["label"] == "compas-classification")
    texts = [line["text"] for line in compas["lines"]]
    assert any(
        t.startswith(
            "Cases with race = Caucasian, against the reference group (cases with race = "
            "African-American): false positive rate 22.0% against 42.3% (1.9× lower)"
        )
        for t in texts
    ), texts


def test_identical_audits_do_not_repeat_findings(model):
    seen = {}
    for a in model["executive"]["audits"]:
        for line in a["lines"]:
            assert line["text"] not in seen, (a["label"], seen.get(line["text"]))
            seen[line["text"]] = a["label"]
    groups_file = next(a for a in model["audits"] if a["label"].endswith("groups-file"))
    assert groups_file["repeats"]["of"] == ["compas-classification"]


def test_uncertain_gaps_are_one_table_not_sentences(model, report):
    html = (report / "report.html").read_text()
    body = html[: html.index('id="annexes"')]
    assert not re.search(r'<li>\s*<span class="badge uncertain">', body)
    n = sum(len(a["findings_uncertain"]) for a in model["audits"])
    assert n > 0 and len(model["uncertain"]["rows"]) == n


def test_the_worst_served_user_group_is_a_finding(model):
    pop = next(a for a in model["audits"] if a["label"] == "movielens-popularity")
    f = next(
        f
        for f in pop["findings"]
        if f["group"] == "F & 18-24" and f["metric"] == "ndcg" and not f["repeat_of"]
    )
    assert f["strength"] == "strong" and "none at all" in f["text"]


def test_provider_exposure_is_shown_with_numbers(model):
    pop = next(a for a in model["audits"] if a["label"] == "movielens-popularity")
    block = next(b for b in pop["sections"] if b["title"] == "Exposure per provider group")
    for c in block["charts"]:
        cells = [x for r in c["table"]["rows"] for x in r["cells"][1:]]
        assert sum(x is not None for x in cells) > len(cells) / 2
    assert not any(sl["attribute"] in ("decade", "popularity_tier") for sl in pop["slices"])


def test_the_face_smoke_test_says_nothing_was_judged(report, model):
    face = next(a for a in model["executive"]["audits"] if a["label"] == "faces-smoke")
    assert face["status"].startswith("Nothing could be judged")
    html = (report / "report.html").read_text()
    section = html[html.index('id="faces-smoke"') :]
    section = section[: section.index("</section>")]
    assert "What was and was not judged" in section
    assert "No judged group lies outside the fairness band" not in section


# --- the HTML in a browser ---------------------------------------------------------------------


def _chromium() -> str:
    for name in (os.environ.get("SOCIALAUDIT_CHROMIUM", ""), "/usr/bin/chromium", "chromium"):
        if name and (path := shutil.which(name)):
            return path
    pytest.skip("Chromium not installed (Debian: apt-get install chromium)")


_OVERFLOW = """() => {
  const out = [];
  for (const t of document.querySelectorAll('table')) {
    const card = t.closest('figure, .card, .gate, .exec-audit, .table-wrap, section');
    const wrap = t.closest('.table-wrap');
    for (const box of [wrap, card]) {
      if (box && box.scrollWidth > box.clientWidth + 1) {
        out.push((t.querySelector('caption')?.textContent || t.rows[0]?.textContent || '')
          .trim().slice(0, 60) + ' in ' + (box.id || box.className) + ': '
          + box.scrollWidth + ' > ' + box.clientWidth);
        break;
      }
    }
  }
  if (document.documentElement.scrollWidth > window.innerWidth)
    out.push('page: ' + document.documentElement.scrollWidth + ' > ' + window.innerWidth);
  return out;
}"""


@pytest.mark.parametrize("width", [1024, 1400])
def test_no_table_is_wider_than_its_card_in_chromium(report, width):
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = _chromium()
    page_url = (report / "report.html").as_uri()
    errors: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_url)
        # Open every chart's data table: a closed <details> would hide an overflow.
        page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
        overflow = page.evaluate(_OVERFLOW)
        n_tables = page.locator("table").count()
        browser.close()
    assert errors == []
    assert requests == [page_url]
    assert n_tables > 50
    assert overflow == [], overflow[:10]


def _name(value: Any, sep: str) -> str:
    return sep.join(map(str, value)) if isinstance(value, list) else str(value)

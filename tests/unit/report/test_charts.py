"""Charts: inline SVG that loads nothing, labelled for screen readers, ids unique in a page."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from tests.unit.report import _docs


@pytest.fixture(scope="module")
def charts(bundle):
    """Chart specs from the bundle's report model, and the SVG the HTML shows for each."""
    model = json.loads(bundle["json"].read_text())
    html = bundle["html"].read_text()
    specs = {}
    for a in model["audits"]:
        for sl in a["slices"]:
            specs.update({c["id"]: c for c in sl["charts"]})
        specs.update({c["id"]: c for c in a["threshold_sweep"]})
        for b in a["sections"]:
            specs.update({c["id"]: c for c in b["charts"]})
    svgs = dict(
        re.findall(r'<figure class="chart[^"]*" id="([^"]+)">.*?(<svg .*?</svg>)', html, flags=re.S)
    )
    assert set(svgs) == set(specs)
    return specs, svgs


def test_every_kind_of_chart_is_drawn(charts):
    specs, _ = charts
    assert {s["type"] for s in specs.values()} == {"dots", "ratios", "lines", "heatmap", "bars"}


def test_svg_is_well_formed_labelled_and_self_contained(charts):
    specs, svgs = charts
    for cid, svg in svgs.items():
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg")
        assert root.get("role") == "img"
        assert root.get("aria-label") == specs[cid]["alt"]
        assert not re.search(r"(?:href|src)\s*=\s*[\"']\s*(?:https?:)?//", svg)
        assert "<script" not in svg and "<?xml" not in svg and "DOCTYPE" not in svg


def test_ids_are_unique_across_all_charts(charts):
    _, svgs = charts
    ids = [i for svg in svgs.values() for i in re.findall(r'\bid="([^"]+)"', svg)]
    assert len(ids) == len(set(ids))
    refs = {r for svg in svgs.values() for r in re.findall(r'href="#([^"]+)"', svg)}
    assert refs <= set(ids)


def test_every_chart_has_a_data_table_and_alt_text(charts):
    specs, _ = charts
    for spec in specs.values():
        assert spec["alt"] and len(spec["alt"]) > 40
        assert spec["table"]["columns"] and spec["table"]["rows"]


def test_suppressed_groups_are_not_drawn(charts):
    specs, svgs = charts
    for svg in svgs.values():
        assert _docs.TINY_GROUP not in svg
    heat = next(s for s in specs.values() if s["type"] == "heatmap")
    assert _docs.TINY_GROUP not in heat["data"]["rows"]
    assert len(heat["data"]["matrix"]) == 4 and all(len(r) == 4 for r in heat["data"]["matrix"])


def test_the_planted_disparity_is_outside_the_drawn_band(charts):
    specs, _ = charts
    ratios = next(
        s
        for s in specs.values()
        if s["type"] == "ratios" and s["title"] == "Ratio to the reference group (none), group"
    )
    fpr = next(p for p in ratios["data"]["panels"] if p["metric"] == "fpr")
    i = ratios["data"]["labels"].index("muslim")
    assert fpr["verdicts"][i] == "strong"
    assert fpr["values"][i]["ci_low"] > ratios["data"]["band"][1]


def test_charts_and_sentences_use_one_vocabulary(bundle):
    """A ratio drawn in a chart has the class its finding has in words ("24 of 24 outside the
    band" beside "uncertain" was the bug)."""
    model = json.loads(bundle["json"].read_text())
    for a in model["audits"]:
        by_key = {(f["attribute"], f["group"], f["metric"]): f for f in a["findings"]}
        for sl in a["slices"]:
            for c in sl["charts"]:
                if c["type"] != "ratios":
                    continue
                for p in c["data"]["panels"]:
                    for g, v in zip(c["data"]["labels"], p["verdicts"], strict=True):
                        f = by_key.get((sl["attribute"], g, p["metric"]))
                        if f is not None:
                            assert v == f["strength"], (a["label"], g, p["metric"])
                        else:
                            assert v in ("within", "insufficient", None)
                assert "outside the band" not in c["alt"]

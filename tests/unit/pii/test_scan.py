"""The PII audit end to end on local files: counts, bad input, outputs without raw PII."""

from __future__ import annotations

import csv
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from jsonschema import Draft202012Validator

from audit.exceptions import ConfigError, DataError
from audit.pii import DetectorPool, SampleSpec, merge_partials, pii_audit, scan_records
from audit.pii._sampling import keep_object
from audit.results import load_schema, write_result
from tests.unit.pii._support import (
    ROOT,
    corpus,
    output_texts,
    pii_found_in_outputs,
    planted_values,
    write_jsonl,
)

SCHEMA = Draft202012Validator(load_schema())


def _summary(doc, metric, attribute="all"):
    return next(
        s["value"] for s in doc["summary"] if s["metric"] == metric and s["attribute"] == attribute
    )


@pytest.fixture(scope="module")
def posts():
    return corpus(120, seed=3)


@pytest.fixture
def store(tmp_path, posts):
    """A folder like a platform's export: JSONL with nested fields, CSV, Parquet, and junk."""
    src = tmp_path / "store"
    rows = [
        {"id": f"j{i}", "post": {"body": p.text, "lang": "en"}} for i, p in enumerate(posts[:60])
    ]
    write_jsonl(src / "2024" / "posts.jsonl", rows)
    with open(src / "2024" / "posts.jsonl", "ab") as fh:
        fh.write(b"{this is not json\n")
        fh.write(b'{"id": "bin", "post": {"body": "caf\xff\xfe"}}\n')
        fh.write(b'{"id": "nobody", "post": {}}\n')
        fh.write(b'{"id": "null", "post": {"body": null}}\n')
        fh.write(b'{"id": "num", "post": {"body": 42}}\n')
        fh.write(b"[1, 2, 3]\n")
        fh.write(b'{"id": "long", "post": {"body": "' + b"a" * 200_000 + b'"}}\n')
        # A 50 MB post: skipped without being held in memory.
        fh.write(b'{"id": "huge", "post": {"body": "' + b"b" * 50_000_000 + b'"}}\n')
        fh.write(json.dumps(rows[0]).replace('"j0"', '"after"').encode() + b"\n")
    with open(src / "2024" / "posts.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "post.body"])
        for i, p in enumerate(posts[60:90]):
            w.writerow([f"c{i}", p.text])
    table = pa.table(
        {"id": [f"q{i}" for i in range(30)], "post": [{"body": p.text} for p in posts[90:]]}
    )
    (src / "2025").mkdir()
    pq.write_table(table, src / "2025" / "posts.parquet")
    (src / "2025" / "empty.jsonl").write_bytes(b"")
    (src / "2025" / "image.jsonl").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (src / "2025" / "notes.txt").write_text("not a post file")
    return src


def test_scan_counts_every_record_and_skips_bad_input(store, pii_config, tmp_path):
    findings = tmp_path / "findings.jsonl"
    doc = pii_audit(
        str(store),
        text_field="post.body",
        id_field="id",
        config=pii_config,
        findings_path=str(findings),
    )
    SCHEMA.validate(doc)
    pii = doc["pii"]
    assert pii["records"]["scanned"] == 60 + 1 + 30 + 30
    reasons = pii["skipped"]["by_reason"]
    assert reasons == {
        "binary_file": 1,
        "empty_file": 1,
        "malformed_json": 1,
        "no_text_field": 1,
        "not_an_object": 1,
        "null_text": 1,
        "record_too_large": 1,
        "text_not_string": 1,
        "text_too_long": 1,
        "undecodable": 1,
        "unsupported_file": 1,
    }
    listed = {s["reason"]: s for s in pii["skipped"]["listed"]}
    assert listed["record_too_large"]["object"].endswith("posts.jsonl")
    assert listed["record_too_large"]["id"] == "2024/posts.jsonl#68"
    assert listed["text_too_long"]["id"] == "long"
    # One findings line per scanned record, with or without findings; offsets, never text.
    lines = [json.loads(x) for x in findings.read_text().splitlines()]
    assert len(lines) == pii["records"]["scanned"]
    assert {x["id"] for x in lines} >= {"j0", "after", "c0", "q29"}
    assert all(
        set(f) == {"entity_type", "start", "end", "score"} for x in lines for f in x["findings"]
    )
    occurrences = sum(len(x["findings"]) for x in lines)
    assert occurrences == _summary(doc, "occurrences_total")
    assert sum(len(x["types"]) for x in lines) == _summary(doc, "findings_total")
    high = sum(t["severity"] == "HIGH" for x in lines for t in x["types"].values())
    assert high == _summary(doc, "high_severity_findings") > 0
    assert _summary(doc, "findings_total") == sum(pii["severity"].values())
    by_type = pii["by_type"]
    assert sum(t["occurrences"] for t in by_type.values()) == occurrences
    assert (
        _summary(doc, "credit_card_findings", "entity_type") == by_type["CREDIT_CARD"]["findings"]
    )
    assert doc["provenance"]["inputs"][0]["role"] == "pii_source"
    assert all(len(i["sha256"]) == 64 for i in doc["provenance"]["inputs"])


def test_outputs_contain_no_raw_pii(store, posts, pii_config, detector, tmp_path):
    out = tmp_path / "out"
    doc = pii_audit(
        str(store),
        text_field="post.body",
        id_field="id",
        config=pii_config,
        findings_path=str(out / "findings.jsonl"),
        redact_to=str(out / "redacted"),
    )
    write_result(doc, out / "pii.json")
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert {p.suffix for p in files} == {".json", ".jsonl", ".csv", ".parquet"}
    # No planted value appears verbatim in the result or the findings file ...
    planted = planted_values(posts)
    for p in (out / "pii.json", out / "findings.jsonl"):
        text = p.read_text(encoding="utf-8")
        assert not [v for v in planted if v in text], p.name
    # ... nor any value the detector found, in the redacted copies ...
    found = {
        p.text[f.start : f.end]
        for p, spans in zip(posts, detector.detect([p.text for p in posts]), strict=True)
        for f in spans
        if f.end - f.start >= 5
    }
    for p in (out / "redacted").rglob("*"):
        if p.is_file():
            text = " ".join(output_texts(p))
            assert not [v for v in found if v in text], p.name
    # ... and the detector finds nothing in any output at all.
    assert pii_found_in_outputs(files, detector) == []


def test_partials_add_up_to_the_whole(posts, pii_config, tmp_path):
    rows = [{"id": i, "text": p.text} for i, p in enumerate(posts)]
    path = write_jsonl(tmp_path / "all.jsonl", rows)
    whole = pii_audit(str(path), text_field="text", id_field="id", config=pii_config)
    with DetectorPool(pii_config, workers=1) as pool:
        parts = [
            scan_records(
                rows[i : i + 37],
                text_field="text",
                id_field="id",
                config=pii_config,
                object_name=f"batch-{i}",
                pool=pool,
            ).as_dict()
            for i in range(0, len(rows), 37)
        ]
    merged = merge_partials(
        json.loads(json.dumps(parts)),
        config=pii_config,
        source=str(path),
        text_field="text",
        id_field="id",
    )
    SCHEMA.validate(merged)
    pick = lambda d: {(s["attribute"], s["metric"]): s["value"] for s in d["summary"]}  # noqa: E731
    assert pick(merged) == pick(whole)
    strip = lambda bt: {k: {**v, "masked_samples": None} for k, v in bt.items()}  # noqa: E731
    assert strip(merged["pii"]["by_type"]) == strip(whole["pii"]["by_type"])


def test_sampling_is_recorded_and_applied(posts, pii_config, tmp_path):
    src = tmp_path / "many"
    for k in range(10):
        write_jsonl(
            src / f"part-{k}.jsonl", [{"text": p.text} for p in posts[k * 12 : k * 12 + 12]]
        )
    spec = SampleSpec(objects=0.5, records_per_object=4, random_start=True, seed=11)
    doc = pii_audit(str(src), text_field="text", config=pii_config, sample=spec)
    kept = sum(keep_object(f"part-{k}.jsonl", spec) for k in range(10))
    assert 0 < kept < 10
    assert doc["pii"]["records"]["scanned"] == 4 * kept
    assert doc["pii"]["objects"]["not_sampled"] == 10 - kept
    assert doc["pii"]["sampling"]["seed"] == 11 and doc["settings"]["ci"]["seed"] == 11
    rate = doc["overall"]["metrics"]["records_with_pii_rate"]
    assert rate["ci_low"] <= rate["value"] <= rate["ci_high"]
    again = pii_audit(str(src), text_field="text", config=pii_config, sample=spec)
    assert again["summary"] == doc["summary"]


@pytest.mark.parametrize("operator", ["mask", "hash"])
def test_redaction_operators(operator, pii_config, tmp_path):
    cfg = pii_config.model_copy(
        update={"redaction": pii_config.redaction.model_copy(update={"operator": operator})}
    )
    path = write_jsonl(tmp_path / "p.jsonl", [{"text": "write to jane.doe@example.com now"}])
    pii_audit(str(path), text_field="text", config=cfg, redact_to=str(tmp_path / "r"))
    text = json.loads((tmp_path / "r" / "p.jsonl").read_text())["text"]
    assert (
        "jane.doe@example.com" not in text
        and text.startswith("write to ")
        and text.endswith(" now")
    )
    if operator == "mask":
        assert "*" * 20 in text


def test_redacted_parquet_keeps_its_schema(posts, pii_config, tmp_path):
    table = pa.table({"id": list(range(20)), "text": [p.text for p in posts[:20]]})
    pq.write_table(table, tmp_path / "p.parquet")
    pii_audit(
        str(tmp_path / "p.parquet"),
        text_field="text",
        id_field="id",
        config=pii_config,
        redact_to=str(tmp_path / "r"),
    )
    out = pq.read_table(tmp_path / "r" / "p.parquet")
    assert out.schema == table.schema and out.num_rows == 20


def test_bad_sources(pii_config, tmp_path):
    with pytest.raises(DataError, match="no such file"):
        pii_audit(str(tmp_path / "nope"), text_field="t", config=pii_config)
    with pytest.raises(ConfigError, match="s3://bucket"):
        pii_audit("s3://", text_field="t", config=pii_config)
    with pytest.raises(ConfigError, match="local path"):
        pii_audit("ftp://x/y", text_field="t", config=pii_config)


def test_the_shipped_gate_blocks_high_severity_pii(pii_config, tmp_path):
    from audit.gate import evaluate
    from audit.policy import load_policy

    path = write_jsonl(tmp_path / "p.jsonl", [{"text": "my card 4111 1111 1111 1111 lol"}])
    doc = pii_audit(str(path), text_field="text", config=pii_config)
    decision = evaluate(load_policy(ROOT / "policies" / "default.yaml"), [doc])
    assert decision.verdict == "blocked"
    clean = write_jsonl(tmp_path / "q.jsonl", [{"text": "gym at 6am, send help"}])
    doc = pii_audit(str(clean), text_field="text", config=pii_config)
    assert evaluate(load_policy(ROOT / "policies" / "default.yaml"), [doc]).verdict == "passed"


def test_worker_processes_give_the_same_result(posts, pii_config, tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [{"text": p.text} for p in posts[:60]])
    one = pii_audit(str(path), text_field="text", config=pii_config, workers=1)
    two = pii_audit(str(path), text_field="text", config=pii_config, workers=2)
    assert one["summary"] == two["summary"] and one["pii"]["by_type"] == two["pii"]["by_type"]

"""``socialaudit pii`` and ``POST /scans`` give the same PII result on the same folder.

The folder holds what breaks readers: byte order marks, a 200 KB CSV field with rows after
it, a line over ``max_record_bytes``, malformed, non-object, blank, NUL, 200,000-deep and
5000-digit lines, a TSV, a Parquet file, an empty and a binary file, a header-only CSV and a
hidden folder. It is scanned by the CLI, over HTTP by the API's local mode (whole objects),
and by the scan steps with a small batch size (the JSON-lines file split into byte ranges).
"""

from __future__ import annotations

import csv
import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from audit import scans
from audit.api import create_app
from audit.records import BOM, SKIP_REASONS
from audit.results import load_schema
from audit.storage import Backend, CollectingQueue, LocalStore, Settings, Sources

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "parity-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SCHEMA = Draft202012Validator(load_schema())
#: Lower than the default (4 MB) so the line over it keeps the folder small.
MAX_RECORD_BYTES = 1_000_000


def _post(i: int) -> str:
    return f"post {i}: write to user{i}@example.org or call (415) 555-{1000 + i:04d} tonight"


def _folder(root: Path) -> tuple[Path, Counter[str]]:
    """The folder, and the skip reasons planted in it."""
    src = root / "posts"
    (src / "2024").mkdir(parents=True)
    (src / "2025").mkdir()
    planted: Counter[str] = Counter()

    lines: list[bytes] = []
    bad = {
        "malformed_json": [b'{"id": "m1", "text": "cut', b"{not json at all"],
        "not_an_object": [b'["a", "list"]'],
        "undecodable": [
            b'{"id": "nul", "text": "a\x00b"}',  # one NUL byte: this line, not the file
            b'{"id": "utf", "text": "caf\xff"}',
            b'{"id": "sur", "text": "\\ud800 alone"}',
        ],
        "too_deeply_nested": [b"[" * 200_000 + b"]" * 200_000],
        "number_too_long": [b'{"id": ' + b"7" * 5000 + b', "text": "x"}'],
        "record_too_large": [
            json.dumps({"id": "big", "text": "a" * (MAX_RECORD_BYTES + 10)}).encode()
        ],
        "no_text_field": [b'{"id": "none"}'],
    }
    rng = random.Random(4)
    pending = [(reason, line) for reason, group in bad.items() for line in group]
    rng.shuffle(pending)
    for i in range(60):
        lines.append(json.dumps({"id": f"j{i}", "text": _post(i)}).encode())
        if i % 5 == 2 and pending:
            reason, line = pending.pop()
            lines.append(line)
            planted[reason] += 1
        if i % 17 == 3:
            lines.append(b"")  # a blank line: no record, no skip
    (src / "2024" / "posts.jsonl").write_bytes(BOM + b"\n".join(lines) + b"\n")
    assert not pending

    with open(src / "2024" / "posts.csv", "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text", "note"])
        for i in range(100, 130):
            note = "n" * 200_000 if i == 105 else "short"  # above csv's 128 KiB field limit
            text = _post(i) if i != 110 else f"two\nlines, {_post(i)}"
            w.writerow([f"c{i}", text, note])
        w.writerow(["c-extra", _post(131), "note", "one field too many"])
        planted["malformed_csv"] += 1

    with open(src / "2025" / "posts.tsv", "w", encoding="utf-8") as fh:
        fh.write("id\ttext\n")
        for i in range(200, 215):
            fh.write(f"t{i}\t{_post(i)}\n")
    table = pa.table(
        {"id": [f"q{i}" for i in range(300, 320)], "text": [_post(i) for i in range(300, 320)]}
    )
    pq.write_table(table, src / "2025" / "posts.parquet")
    (src / "2025" / "empty.jsonl").write_bytes(b"")
    planted["empty_file"] += 1
    (src / "2025" / "image.jsonl").write_bytes(random.Random(9).randbytes(20_000))
    planted["binary_file"] += 1
    (src / "2025" / "header-only.csv").write_text("id,text\n", encoding="utf-8")
    (src / ".snapshot").mkdir()  # hidden: read by neither
    (src / ".snapshot" / "old.jsonl").write_text('{"id": "hidden", "text": "x@example.org"}\n')
    return src, planted


def _config(root: Path) -> Path:
    text = (ROOT / "policies" / "pii-default.yaml").read_text(encoding="utf-8")
    assert "max_record_bytes: 4000000" in text
    path = root / "pii-parity.yaml"
    path.write_text(
        text.replace("max_record_bytes: 4000000", f"max_record_bytes: {MAX_RECORD_BYTES}")
    )
    return path


def _cli(src: Path, config: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    from audit import cli

    argv = ["pii", "--source", str(src), "--text-field", "text", "--id-field", "id"]
    argv += ["--config", str(config), "--findings", str(out / "findings.jsonl")]
    code = cli.main([*argv, "--out", str(out / "pii.json"), "--quiet"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return dict(json.loads((out / "pii.json").read_text()))


def _body(src: Path, config: Path, findings: Path) -> dict[str, Any]:
    return {
        "kind": "pii",
        "source": str(src),
        "text_field": "text",
        "id_field": "id",
        "config": str(config),
        "findings": str(findings),
    }


def _api(tmp: Path, body: dict[str, Any]) -> dict[str, Any]:
    """Over HTTP: the FastAPI app in local mode, one worker process, whole objects."""
    settings = Settings(home=tmp / "home-api", workers=1)
    with TestClient(create_app(settings=settings, auth="token", token=TOKEN)) as client:
        r = client.post("/scans", json=body, headers=AUTH)
        assert r.status_code == 202, r.text
        scan_id = r.json()["id"]
        deadline = time.monotonic() + 300
        while (view := client.get(f"/scans/{scan_id}", headers=AUTH).json())["status"] not in (
            "succeeded",
            "failed",
        ):
            assert time.monotonic() < deadline, view
            time.sleep(0.2)
        assert view["status"] == "succeeded", view["error"]
        return dict(client.get(f"/scans/{scan_id}/report?format=json", headers=AUTH).json())


def _steps(tmp: Path, body: dict[str, Any], batch_bytes: int) -> dict[str, Any]:
    """The scan steps in this process, every message delivered in turn."""
    settings = Settings(home=tmp / "home-steps", workers=1, batch_bytes=batch_bytes)
    queue = CollectingQueue()
    backend = Backend(settings, LocalStore(settings.home), queue, Sources(allow_local=True))
    scan, _ = scans.submit_scan(backend, scans.parse_request(body))
    while queue.sent:
        name, message = queue.sent.pop(0)
        scans.handle(backend, name, message)
    done = backend.store.get_scan(scan.id)
    assert done is not None and done.status == "succeeded", done and done.error
    return dict(backend.store.get_json(str(done.result_key)))


def _facts(doc: dict[str, Any]) -> dict[str, Any]:
    """What a user compares: records, findings by type and severity, skips, objects read."""
    pii = doc["pii"]
    return {
        "records": pii["records"],
        "findings_total": pii["findings_total"],
        "occurrences_total": pii["occurrences_total"],
        "severity": pii["severity"],
        "by_type": pii["by_type"],
        "skipped_by_reason": pii["skipped"]["by_reason"],
        "skipped_total": pii["skipped"]["total"],
        "objects": {k: pii["objects"][k] for k in ("seen", "skipped", "not_sampled", "listed")},
        "summary": doc["summary"],
    }


def _findings(folder: Path) -> list[dict[str, Any]]:
    parts = sorted(folder.rglob("part-*.jsonl"))
    return [json.loads(line) for p in parts for line in p.read_text().splitlines()]


def test_the_cli_and_the_api_give_the_same_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, planted = _folder(tmp_path)
    config = _config(tmp_path)
    limit = csv.field_size_limit()

    cli = _cli(src, config, tmp_path / "cli", capsys)
    api = _api(tmp_path, _body(src, config, tmp_path / "api-findings"))
    split = _steps(tmp_path, _body(src, config, tmp_path / "split-findings"), 64 * 1024)
    assert csv.field_size_limit() == limit  # neither reader changed a process-wide setting
    for doc in (cli, api, split):
        SCHEMA.validate(doc)

    # The CLI read what was planted: every good record, every bad one under its reason.
    pii = cli["pii"]
    assert pii["skipped"]["by_reason"] == dict(sorted(planted.items()))
    assert set(planted) <= set(SKIP_REASONS)
    assert pii["records"]["scanned"] == 60 + 30 + 15 + 20  # the BOM'd first rows included
    assert pii["by_type"]["EMAIL_ADDRESS"]["records"] == pii["records"]["scanned"]
    assert pii["by_type"]["PHONE_NUMBER"]["records"] > 0
    listed = {o["name"]: o["records_read"] for o in pii["objects"]["listed"]}
    assert listed == {
        "2024/posts.csv": 31,
        "2024/posts.jsonl": 60 + sum(planted[r] for r in _JSONL_SKIPS),
        "2025/empty.jsonl": 0,
        "2025/header-only.csv": 0,
        "2025/image.jsonl": 0,
        "2025/posts.parquet": 20,
        "2025/posts.tsv": 15,
    }
    assert len((tmp_path / "cli" / "findings.jsonl").read_text().splitlines()) == 125

    # Whole objects over HTTP: the same result, line for line, hash for hash.
    assert _facts(api) == _facts(cli)
    assert api["pii"]["skipped"]["listed"] == cli["pii"]["skipped"]["listed"]
    assert api["provenance"]["inputs"] == cli["provenance"]["inputs"]
    cli_findings = [
        json.loads(line) for line in (tmp_path / "cli" / "findings.jsonl").read_text().splitlines()
    ]
    assert _findings(tmp_path / "api-findings") == cli_findings

    # Split into byte ranges: the same counts; records in a range are named by the range.
    assert split["fanout"]["batches"] > 10
    assert _facts(split) == _facts(cli)
    ranged = [s for s in split["pii"]["skipped"]["listed"] if "#bytes=" in s["object"]]
    assert ranged and all(s["object"].startswith("2024/posts.jsonl#bytes=") for s in ranged)
    by_id = lambda rows: sorted((r["id"], json.dumps(r["types"])) for r in rows)  # noqa: E731
    assert by_id(_findings(tmp_path / "split-findings")) == by_id(cli_findings)


#: The reasons planted in the JSON-lines file (its records, read but not scanned).
_JSONL_SKIPS = (
    "malformed_json",
    "not_an_object",
    "undecodable",
    "too_deeply_nested",
    "number_too_long",
    "record_too_large",
    "no_text_field",
)

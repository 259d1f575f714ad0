"""Scan orchestration in the core: requests, batching by bytes, reading, the four steps."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from audit import scans
from audit.exceptions import ConfigError
from audit.storage import (
    Backend,
    CollectingQueue,
    LocalStore,
    Settings,
    SourceObject,
    Sources,
    make_backend,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


# ------------------------------------------------------------------------------ requests


def test_requests_validate_at_the_boundary_naming_the_field() -> None:
    r = scans.parse_request({"kind": "pii", "source": "s3://b/posts/", "id_field": "id"})
    assert isinstance(r, scans.PiiScan) and r.text_field == "text"
    with pytest.raises(ConfigError, match=r"inventory\.source"):
        scans.parse_request({"kind": "inventory"})
    with pytest.raises(ConfigError, match="does not match any of the expected tags"):
        scans.parse_request({"kind": "face", "source": "x"})
    with pytest.raises(ConfigError, match="Extra inputs are not permitted"):
        scans.parse_request({"kind": "inventory", "source": "x", "sauce": 1})


def test_a_classification_request_is_the_audit_spec() -> None:
    body = {
        "kind": "moderation",
        "data": "posts.csv",
        "label": "label",
        "groups": ["group"],
        "score": "score",
    }
    r = scans.parse_request(body)
    assert isinstance(r, scans.AuditScan) and r.threshold == 0.5  # AuditSpec's default


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"out": "/etc/passwd"}, "out is not accepted"),
        ({"trust_pickle": True, "score": None, "model": "m.pkl"}, "trust_pickle"),
        ({"score": None, "model": "os:system"}, "module:function and pickles"),
    ],
)
def test_over_http_an_audit_cannot_run_code_or_write_files(
    extra: dict[str, Any], message: str
) -> None:
    body = {"kind": "classification", "data": "d.csv", "label": "y", "groups": ["g"]}
    body["score"] = "s"
    body.update(extra)
    with pytest.raises(ConfigError, match=message):
        scans.parse_request({k: v for k, v in body.items() if v is not None})


# ------------------------------------------------------------------------------ batching


def _write_lines(path: Path, n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    records = [{"id": i, "text": "é" * rng.randint(0, 300)} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return records


@pytest.mark.parametrize("batch_bytes", [1024, 1500, 4096, 10**6])
def test_byte_ranges_read_every_line_exactly_once(tmp_path: Path, batch_bytes: int) -> None:
    path = tmp_path / "posts.jsonl"
    records = _write_lines(path, 400, seed=batch_bytes)
    sources = Sources(allow_local=True)
    batches, skipped = scans.plan_units(sources.list(str(path)), batch_bytes)
    assert not skipped
    if path.stat().st_size > batch_bytes:
        assert len(batches) > 1 and all(len(b) == 1 for b in batches)
    seen: list[Any] = []
    for units in batches:
        stats = scans.ReadStats()
        seen.extend(r["id"] for r in scans.read_records(units, sources, stats))
    assert seen == [r["id"] for r in records]


def test_small_objects_are_grouped_up_to_the_byte_and_unit_limits() -> None:
    objects = [SourceObject(f"s3://b/{i:03d}.jsonl", 100, "jsonl") for i in range(25)]
    objects.append(SourceObject("s3://b/notes.txt", 5, None))
    batches, skipped = scans.plan_units(objects, batch_bytes=1000, max_units=4)
    assert [len(b) for b in batches] == [4, 4, 4, 4, 4, 4, 1]
    assert skipped == [
        {
            "object": "s3://b/notes.txt",
            "reason": "unknown format .txt: use .jsonl, .csv, .tsv or .parquet",
        }
    ]
    batches, _ = scans.plan_units(objects, batch_bytes=350)
    assert [len(b) for b in batches][:2] == [3, 3]


def test_unreadable_lines_are_counted_never_quoted(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    lines = [
        b'{"text": "ok"}',
        b'{"text": "call 415-555-0100"',  # truncated JSON with a phone number
        b"[1, 2]",
        b'{"text": "\xff\xfe"}',
        b"",
        b'{"text": "last, no newline"}',
    ]
    data = b"\n".join(lines)
    path.write_bytes(data)
    starts = [data.index(line) for line in lines[1:4]]
    stats = scans.ReadStats()
    units = [scans.Unit(uri=str(path), format="jsonl", size=path.stat().st_size)]
    got = list(scans.read_records(units, Sources(allow_local=True), stats))
    assert [r["text"] for r in got] == ["ok", "last, no newline"]
    assert stats.unreadable == 3
    assert [p["where"] for p in stats.problems] == [f"byte {b}" for b in starts]
    assert "415" not in json.dumps(stats.problems)


def test_csv_tsv_and_parquet(tmp_path: Path) -> None:
    import pandas as pd

    pd.DataFrame({"id": [1, 2], "text": ["a", "b"]}).to_parquet(tmp_path / "p.parquet")
    (tmp_path / "c.csv").write_text('id,text\n3,"c, with comma"\n')
    (tmp_path / "t.tsv").write_text("id\ttext\n4\td\n")
    sources = Sources(allow_local=True)
    (units,), _ = scans.plan_units(sources.list(str(tmp_path)), 10**6)
    got = list(scans.read_records(units, sources, scans.ReadStats()))
    assert sorted(str(r["text"]) for r in got) == ["a", "b", "c, with comma", "d"]


# ------------------------------------------------------------------------------ the steps


class Pump:
    """A backend whose queue is pumped by hand, in this process: the steps, deterministic."""

    def __init__(self, tmp_path: Path, **settings: Any) -> None:
        s = Settings(home=tmp_path / "home", workers=1, **settings)
        self.queue = CollectingQueue()
        self.backend = Backend(s, LocalStore(s.home), self.queue, Sources(allow_local=True))
        self.attempts: dict[str, int] = {}

    def run(self, limit: int = 1000) -> None:
        for _ in range(limit):
            if not self.queue.sent:
                return
            name, body = self.queue.sent.pop(0)
            key = json.dumps(body, sort_keys=True)
            self.attempts[key] = attempt = self.attempts.get(key, 0) + 1
            try:
                scans.handle(self.backend, name, body, attempt=attempt)
            except Exception:
                if attempt < self.backend.settings.max_attempts:
                    self.queue.sent.append((name, body))  # redelivered


def _posts(folder: Path, n: int = 500) -> Path:
    folder.mkdir()
    _write_lines(folder / "a.jsonl", n, seed=1)
    (folder / "b.csv").write_text("id,text\n1,hello\n2,\n", encoding="utf-8")
    return folder


def test_an_inventory_scan_runs_every_step_and_counts_exactly(tmp_path: Path) -> None:
    pump = Pump(tmp_path, batch_bytes=8192)
    request = scans.parse_request({"kind": "inventory", "source": str(_posts(tmp_path / "src"))})
    scan, created = scans.submit_scan(pump.backend, request, idempotency_key="k")
    assert created and scan.status == "queued"
    pump.run()
    done = pump.backend.store.get_scan(scan.id)
    assert done is not None and done.status == "succeeded", done
    assert done.batches_total is not None and done.batches_total > 5
    assert done.records_done == 502
    counts = {i["metric"]: i["value"] for i in (done.summary or {})["items"]}
    assert counts["records"] == 502 and counts["objects"] == 2
    assert counts["records_with_text"] == 502  # the empty CSV cell is a field, empty
    again, created = scans.submit_scan(pump.backend, request, idempotency_key="k")
    assert not created and again.id == scan.id and not pump.queue.sent


def test_every_step_may_run_twice(tmp_path: Path) -> None:
    pump = Pump(tmp_path, batch_bytes=8192)
    request = scans.parse_request({"kind": "inventory", "source": str(_posts(tmp_path / "src"))})
    scan, _ = scans.submit_scan(pump.backend, request)
    original_send = pump.queue.send

    def send_twice(queue: Any, bodies: Any) -> None:  # at-least-once, at its worst
        original_send(queue, bodies)
        original_send(queue, bodies)

    pump.queue.send = send_twice  # type: ignore[method-assign]
    scans.dispatch(pump.backend, scan.id)  # and the dispatch message twice too
    pump.run()
    done = pump.backend.store.get_scan(scan.id)
    assert done is not None and done.status == "succeeded"
    assert done.records_done == 502 and done.batches_done == done.batches_total


def test_bad_input_fails_the_batch_and_the_scan_says_which(tmp_path: Path) -> None:
    pump = Pump(tmp_path)
    src = _posts(tmp_path / "src")
    request = scans.parse_request({"kind": "inventory", "source": str(src)})
    scan, _ = scans.submit_scan(pump.backend, request)
    pump.run(limit=1)  # the dispatch: planned
    (src / "a.jsonl").unlink()  # gone between planning and reading
    pump.run()
    done = pump.backend.store.get_scan(scan.id)
    assert done is not None and done.status == "failed"
    assert done.error is not None and "a.jsonl: file not found" in done.error
    assert done.error.startswith("1 of 1 batches failed; batch 1")


def test_a_transient_error_is_retried_then_gives_up_and_fails_the_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pump = Pump(tmp_path, max_attempts=3)
    request = scans.parse_request({"kind": "inventory", "source": str(_posts(tmp_path / "src"))})
    scan, _ = scans.submit_scan(pump.backend, request)
    calls = []

    def flaky(*args: Any) -> Any:
        calls.append(1)
        raise TimeoutError("S3 read timed out")

    monkeypatch.setattr(scans.JOBS["inventory"], "run", flaky)
    pump.run()
    done = pump.backend.store.get_scan(scan.id)
    assert len(calls) == 3
    assert done is not None and done.status == "failed"
    assert "gave up after 3 attempts: TimeoutError: S3 read timed out" in (done.error or "")


def test_a_failing_aggregation_is_retried_then_fails_the_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pump = Pump(tmp_path, max_attempts=3)
    request = scans.parse_request({"kind": "inventory", "source": str(_posts(tmp_path / "src"))})
    scan, _ = scans.submit_scan(pump.backend, request)
    calls = []

    def broken(*args: Any) -> Any:
        calls.append(1)
        raise MemoryError("partials too large")

    monkeypatch.setattr(scans.JOBS["inventory"], "merge", broken)
    pump.run()
    done = pump.backend.store.get_scan(scan.id)
    assert len(calls) == 3  # the lease was given back each time: no wait for it to expire
    assert done is not None and done.status == "failed"
    assert "aggregation gave up after 3 attempts: MemoryError" in (done.error or "")


def test_a_missing_source_fails_at_submit(tmp_path: Path) -> None:
    pump = Pump(tmp_path)
    with pytest.raises(Exception, match="not found on the server"):
        scans.submit_scan(
            pump.backend, scans.parse_request({"kind": "inventory", "source": "/no/such/dir"})
        )


def test_an_empty_source_fails_the_scan_with_what_to_do(tmp_path: Path) -> None:
    pump = Pump(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    scan, _ = scans.submit_scan(
        pump.backend, scans.parse_request({"kind": "inventory", "source": str(tmp_path / "empty")})
    )
    pump.run()
    done = pump.backend.store.get_scan(scan.id)
    assert done is not None and done.status == "failed"
    assert "no .jsonl, .csv, .tsv or .parquet objects here" in (done.error or "")


def test_a_moderation_audit_runs_as_one_batch_with_its_policy(tmp_path: Path) -> None:
    pump = Pump(tmp_path)
    request = scans.parse_request(
        {
            "kind": "moderation",
            "data": str(FIXTURES / "moderation_small.csv"),
            "id": "id",
            "label": "label",
            "score": "score",
            "groups": ["group"],
            "resamples": 0,
        }
    )
    scan, _ = scans.submit_scan(pump.backend, request)
    pump.run()
    done = pump.backend.store.get_scan(scan.id)
    assert done is not None and done.status == "succeeded", done.error
    assert done.batches_total == 1 and done.records_done == 600
    doc = pump.backend.store.get_json(str(done.result_key))
    assert doc["kind"] == "moderation" and doc["overall"]["n"] == 600


def test_local_worker_processes_run_a_scan(tmp_path: Path) -> None:
    backend = make_backend(Settings(home=tmp_path / "home", workers=2, batch_bytes=8192))
    try:
        request = scans.parse_request({"kind": "inventory", "source": str(_posts(tmp_path / "s"))})
        scan, _ = scans.submit_scan(backend, request)
        assert backend.queue.join(timeout=60)  # type: ignore[attr-defined]
        done = backend.store.get_scan(scan.id)
        assert done is not None and done.status == "succeeded"
        assert done.records_done == 502
    finally:
        backend.close()


def test_a_restarted_local_server_finishes_what_the_last_one_left(tmp_path: Path) -> None:
    pump = Pump(tmp_path, batch_bytes=8192)
    request = scans.parse_request({"kind": "inventory", "source": str(_posts(tmp_path / "src"))})
    scan, _ = scans.submit_scan(pump.backend, request)
    pump.run(limit=4)  # dispatched, three batches done ... then the server stopped
    pump.queue.sent.clear()  # the in-memory queue is gone
    stuck = pump.backend.store.get_scan(scan.id)
    assert stuck is not None and stuck.status == "running" and stuck.batches_done == 3
    assert scans.resume(pump.backend) == 1
    pump.run()
    done = pump.backend.store.get_scan(scan.id)
    assert done is not None and done.status == "succeeded" and done.records_done == 502


def test_a_batch_message_stays_far_below_the_sqs_limit() -> None:
    long_key = "posts/" + "k" * 1000
    objects = [SourceObject(f"s3://b/{long_key}{i:04d}.jsonl", 10, "jsonl") for i in range(600)]
    batches, _ = scans.plan_units(objects, batch_bytes=10**9)
    assert len(batches) > 1
    for units in batches:
        body = scans.BatchMessage(scan_id="x" * 32, batch_id=1, units=units).model_dump_json()
        assert len(body.encode()) <= scans.MAX_MESSAGE_BYTES + 2048


def _pii_ready() -> bool:
    try:
        import audit.pii as pii
    except ImportError:
        return False
    return all(hasattr(pii, n) for n in ("load_pii_config", "scan_records", "merge_partials"))


@pytest.mark.slow
@pytest.mark.skipif(not _pii_ready(), reason="audit.pii not available")
def test_a_local_worker_process_killed_mid_scan_loses_and_doubles_nothing(
    tmp_path: Path,
) -> None:
    import os
    import signal
    import time

    folder = tmp_path / "posts"
    folder.mkdir()
    n = 6000
    with (folder / "posts.jsonl").open("w") as f:
        for i in range(n):
            f.write(
                json.dumps({"id": i, "text": f"post {i} by Maria, mail m{i}@example.com"}) + "\n"
            )
    backend = make_backend(Settings(home=tmp_path / "home", workers=2, batch_bytes=16 * 1024))
    try:
        request = scans.parse_request({"kind": "pii", "source": str(folder), "id_field": "id"})
        scan, _ = scans.submit_scan(backend, request)
        deadline = time.monotonic() + 60
        while (s := backend.store.get_scan(scan.id)) is not None and s.batches_done < 2:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        pool = backend.queue._pool  # type: ignore[attr-defined]
        os.kill(next(iter(pool._processes)), signal.SIGKILL)  # a worker dies mid-scan
        assert backend.queue.join(timeout=120)  # type: ignore[attr-defined]
        done = backend.store.get_scan(scan.id)
        assert done is not None and done.status == "succeeded", done
        assert done.batches_done == done.batches_total and done.records_done == n
        counts = {i["metric"]: i["value"] for i in (done.summary or {})["items"]}
        assert counts["records_scanned"] == n
    finally:
        backend.close()

"""Scan orchestration in the core: requests, batching by bytes, reading, the four steps."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from audit import scans
from audit.exceptions import ConfigError, DataError
from audit.kinds import KINDS, REGISTRY, file_fields
from audit.kinds.moderation import ModerationSpec
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
        scans.parse_request({"kind": "speech", "source": "x"})  # no such kind
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
    assert isinstance(r, scans.REQUESTS["moderation"]) and r.threshold == 0.5  # the spec's
    spec = r.to_spec()
    assert isinstance(spec, ModerationSpec) and spec.model_dump() == {
        **ModerationSpec(**body).model_dump(),
        "name": None,
    }


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


LISTS = {
    "kind": "recommendation",
    "recommendations": "recs.csv",
    "truth": "truth.csv",
    "users": "users.csv",
    "user_groups": ["gender", "age_group"],
}
#: Change LISTS to a trained model.
TRAINED = {"recommendations": None, "truth": None, "interactions": "log.csv"}
FACES = {"kind": "face", "manifest": "faces.csv", "groups": ["race"], "embeddings": "emb.npy"}


def _parse(body: dict[str, Any], **change: Any) -> Any:
    merged = {**body, **change}
    return scans.parse_request({k: v for k, v in merged.items() if v is not None})


@pytest.mark.parametrize("kind", KINDS)
def test_a_request_takes_the_specs_fields_and_defaults_less_what_http_refuses(kind: str) -> None:
    # The scan runs the spec built from the request: same names, and a field left out means
    # what the flag left out means.
    entry = REGISTRY[kind]
    request = scans.REQUESTS[kind]
    refused = {"out", *entry.http.refused}
    assert set(request.model_fields) == set(entry.spec.model_fields) - refused | {"policy"}
    for name, field in request.model_fields.items():
        if name != "policy":
            spec_field = entry.spec.model_fields[name]
            assert field.is_required() == spec_field.is_required(), name
            if not field.is_required():
                assert field.get_default(call_default_factory=True) == spec_field.get_default(
                    call_default_factory=True
                ), name
    assert set(request.refused) == refused


def test_good_recommendation_and_face_bodies_parse() -> None:
    r = _parse(LISTS, reference={"gender": "F"}, k=5, relevance_threshold=4)
    assert isinstance(r, scans.REQUESTS["recommendation"])
    assert (r.k, r.reference, r.min_users, r.user_col) == (5, {"gender": "F"}, 30, "user_id")
    r = _parse(LISTS, **TRAINED, model="itemknn")
    assert r.model == "itemknn" and r.holdout == 1
    f = _parse(FACES, target_fmr=1e-3, resamples=100)
    assert isinstance(f, scans.REQUESTS["face"]) and (f.target_fmr, f.block_size) == (1e-3, 512)
    f = _parse(FACES, embeddings=None, detector="hog", downscale=0.5, workers=1)
    assert f.embeddings is None and f.detector == "hog"  # the built-in model
    f = _parse(FACES, embeddings=None, pairs="p.csv", pair_columns=["a", "b", "s"])
    assert f.pair_columns == ["a", "b", "s"]
    assert set(scans.KINDS) == set(scans.JOBS)


@pytest.mark.parametrize(
    ("body", "typo", "field"),
    [
        (LISTS, "user_group", r"recommendation\.user_group: Extra inputs are not permitted"),
        (LISTS, "quiet", r"recommendation\.quiet: Extra inputs are not permitted"),
        (FACES, "group", r"face\.group: Extra inputs are not permitted"),
    ],
)
def test_an_unknown_key_is_refused_by_name(body: dict[str, Any], typo: str, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        _parse(body, **{typo: "x"})


@pytest.mark.parametrize(
    ("body", "change", "message"),
    [
        (LISTS, {"k": 0}, r"recommendation\.k: Input should be greater than or equal to 1"),
        (LISTS, {"user_groups": []}, r"recommendation\.user_groups: List should have at least"),
        (LISTS, {"truth": None}, "recommendations and truth go together"),
        (
            LISTS,
            {"model": "popularity", "interactions": "log.csv"},
            "give either recommendations and truth, or model and interactions",
        ),
        (FACES, {"downscale": 0.5}, "downscale only apply to the built-in model"),
        (FACES, {"pairs": "p.csv"}, "give either embeddings or pairs, not both"),
        (FACES, {"target_fmr": 1e-3, "tolerance": 0.6}, "target_fmr or tolerance, not both"),
        (FACES, {"score_type": "distance"}, "score_type and pair_columns go with pairs"),
        (FACES, {"target_fmr": 2}, r"face\.target_fmr: Input should be less than 1"),
    ],
)
def test_settings_that_do_not_fit_are_refused_naming_the_fields(
    body: dict[str, Any], change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _parse(body, **change)


@pytest.mark.parametrize(
    ("body", "change", "message"),
    [
        (LISTS, {"out": "/etc/passwd"}, "out is not accepted over HTTP"),
        (
            LISTS,
            {**TRAINED, "model": "os:system"},
            "model must be one of popularity, itemknn, puresvd over HTTP",
        ),
        (
            LISTS,
            {**TRAINED, "model": "pkg.recs:Model"},
            r"package\.module:name would run code on the server",
        ),
        (FACES, {"out": "r.json"}, "out is not accepted over HTTP"),
        (FACES, {"cache_dir": "/tmp/faces"}, "cache_dir is not accepted over HTTP"),
        (FACES, {"no_cache": False}, "no_cache is not accepted over HTTP"),
    ],
)
def test_over_http_recommendation_and_face_cannot_run_code_or_write_files(
    body: dict[str, Any], change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _parse(body, **change)


def test_the_recommenders_allowed_over_http_are_the_built_in_ones() -> None:
    from audit.recommenders import BUILTIN_RECOMMENDERS

    assert set(scans.HTTP_RECOMMENDERS) == set(BUILTIN_RECOMMENDERS)


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


def test_inventory_reaches_the_text_by_the_path_the_pii_scan_uses(tmp_path: Path) -> None:
    # A nested field, a list index and a CSV column whose name holds the dots.
    (tmp_path / "a.jsonl").write_text(
        '{"post": {"text": "abc"}}\n{"post": [{"text": "no"}]}\n{"post": {}}\n'
    )
    (tmp_path / "b.csv").write_text('post.text,id\n"de",1\n')
    sources = Sources(allow_local=True)
    request = scans.parse_request(
        {"kind": "inventory", "source": str(tmp_path), "text_field": "post.text"}
    )
    job = scans.JOBS["inventory"]
    (units,), _ = job.plan(request, sources, 10**6)
    partial, records = job.run(request, units, sources)
    assert records == 4
    assert partial["with_text"] == 2 and partial["text_chars"] == 5


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


# ------------------------------------------------------------------------------ pii outputs


def _pii(**fields: Any) -> Any:
    return scans.parse_request({"kind": "pii", "source": "s3://posts/p/", **fields})


def test_a_pii_sample_is_the_clis_sample_as_an_object_or_as_its_text() -> None:
    from audit.pii import parse_sample

    text = "objects=0.5,records=20,random_start=true,seed=7"
    as_object = _pii(sample={"objects": 0.5, "records": 20, "random_start": True, "seed": 7})
    assert as_object.sample == _pii(sample=text).sample == parse_sample(text)
    # The scan record keeps the request as JSON; read back, it is the same request.
    assert scans.parse_request(as_object.model_dump(mode="json")) == as_object


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"sample": {"objects": 0}}, r"pii\.sample\.objects: Input should be greater than 0"),
        ({"sample": {"records": 5, "rows": 3}}, r"pii\.sample\.rows: Extra inputs"),
        ({"sample": {"records": 0}}, r"pii\.sample\.records: Input should be greater"),
        ({"sample": "objects=half"}, r"pii\.sample: bad value in 'objects=half'"),
        ({"findings": "s3://out/f.jsonl"}, r"pii\.findings: a folder or s3:// prefix, not a"),
        (
            {"findings": "s3://out/o", "redact_to": "s3://out/o/redacted"},
            "findings and redact_to name the same place",
        ),
    ],
)
def test_bad_pii_sample_or_outputs_are_refused_naming_the_field(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _pii(**fields)


def _aws_backend(tmp_path: Path) -> Backend:
    settings = Settings(
        backend="aws",
        bucket="results",
        table="scans",
        dispatch_queue_url="d",
        work_queue_url="w",
        aggregate_queue_url="a",
    )
    return Backend(
        settings,
        LocalStore(tmp_path / "home"),
        CollectingQueue(),
        Sources(allow_local=False, settings=settings),
    )


@pytest.mark.parametrize(
    ("field", "dest", "message"),
    [
        ("findings", "s3://elsewhere/f/", r"findings 's3://elsewhere/f/': on AWS .* under "),
        ("redact_to", "s3://results/scans/", r"redact_to .*s3://results/outputs/ only"),
        ("redact_to", "/srv/redacted", "redact_to '/srv/redacted': the aws backend writes s3"),
        ("findings", "gs://b/f/", "findings 'gs://b/f/': give an s3:// URI"),
    ],
)
def test_on_aws_outputs_go_under_the_results_buckets_outputs_prefix(
    tmp_path: Path, field: str, dest: str, message: str
) -> None:
    backend = _aws_backend(tmp_path)
    with pytest.raises(ConfigError, match=message):
        scans.submit_scan(backend, _pii(**{field: dest}))
    assert not backend.queue.sent  # type: ignore[attr-defined]
    scan, created = scans.submit_scan(
        backend, _pii(findings="s3://results/outputs/f/", redact_to="s3://results/outputs/r/")
    )
    assert created and scan.request["findings"] == "s3://results/outputs/f/"


_S3_AUDIT = {
    "kind": "classification",
    "data": "s3://data/set.csv",
    "label": "y",
    "score": "s",
    "groups": ["g"],
}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"groups_file": "/etc/passwd"}, "groups_file '/etc/passwd': the aws backend reads s3"),
        ({"model": "/srv/m.skops", "score": None}, "model '/srv/m.skops': the aws backend"),
        ({"policy": "/etc/passwd"}, "policy '/etc/passwd': on AWS, name a file that ships"),
        ({"policy": "policies/../../x.yaml"}, "policy .*: on AWS, name a file that ships"),
    ],
)
def test_on_aws_every_input_is_an_s3_uri_and_a_policy_ships_with_the_app(
    tmp_path: Path, extra: dict[str, Any], message: str
) -> None:
    backend = _aws_backend(tmp_path)
    body = {k: v for k, v in {**_S3_AUDIT, **extra}.items() if v is not None}
    with pytest.raises(ConfigError, match=message):
        scans.submit_scan(backend, scans.parse_request(body))
    assert not backend.queue.sent  # type: ignore[attr-defined]
    ok = {**_S3_AUDIT, "groups_file": "s3://data/g.csv", "policy": "policies/default.yaml"}
    _, created = scans.submit_scan(backend, scans.parse_request(ok))
    assert created


#: String fields that name no file (columns, names, choices; a recommender by name). A new
#: string field must be put here or be marked as a file on its spec (audit.kinds.File).
_NOT_FILES = {
    "decision", "groups", "id", "label", "language", "name", "positive_label", "reference",
    "score", "text", "creator_group", "item_col", "model", "popularity_col", "rank_col",
    "rating_col", "time_col", "user_col", "user_groups", "image", "pair_columns", "subject",
    "id_field", "text_field", "ad_col",
}  # fmt: skip


@pytest.mark.parametrize("kind", scans.KINDS)
def test_every_string_field_is_a_file_or_known_not_to_be(kind: str) -> None:
    # A file field not marked as one would skip the s3://-only check on AWS.
    model = scans.REQUESTS[kind]
    strings = {n for n, f in model.model_fields.items() if "str" in str(f.annotation)}
    files = {n for role in ("input", "output", "config") for n in file_fields(model, role)}
    assert strings - files - _NOT_FILES - {"kind"} == set()


def test_local_outputs_are_absolute_folders_outside_the_source_and_the_data_folder(
    tmp_path: Path,
) -> None:
    pump = Pump(tmp_path)
    pump.backend.sources = Sources(allow_local=True, settings=pump.backend.settings)
    src = _posts(tmp_path / "src")
    (tmp_path / "a-file").write_text("x")
    bad = {
        "out/findings": "give an absolute path",
        str(src / "redacted"): "inside the source",
        str(tmp_path / "home" / "x"): "inside the server's data folder",
        str(tmp_path / "a-file"): "a file is there; give a folder",
    }
    for dest, message in bad.items():
        for field in ("findings", "redact_to"):
            request = scans.parse_request({"kind": "pii", "source": str(src), field: dest})
            with pytest.raises(ConfigError, match=f"{field} '{re.escape(dest)}': {message}"):
                scans.submit_scan(pump.backend, request)
    with pytest.raises(ConfigError, match="inside the source s3://posts/p"):
        scans.submit_scan(pump.backend, _pii(findings="s3://posts/p/findings/"))
    ok = {"kind": "pii", "source": str(src), "findings": str(tmp_path / "f")}
    assert scans.submit_scan(pump.backend, scans.parse_request(ok))[1]


def test_a_sampled_plan_keeps_the_objects_the_cli_keeps_and_never_splits_them(
    tmp_path: Path,
) -> None:
    from audit.pii._sampling import keep_object

    src = tmp_path / "posts"
    for i in range(20):
        (src / f"day-{i:02d}").mkdir(parents=True)
        _write_lines(src / f"day-{i:02d}" / "posts.jsonl", 40, seed=i)
    sources = Sources(allow_local=True)
    job = scans.JOBS["pii"]
    sample = {"objects": 0.5, "records": 5, "seed": 3}
    request = scans.parse_request({"kind": "pii", "source": str(src), "sample": sample})
    batches, _ = job.plan(request, sources, 1024)
    units = [u for b in batches for u in b]
    assert all(u.start == 0 and u.end is None for u in units)  # whole objects, never ranges
    names = [f"day-{i:02d}/posts.jsonl" for i in range(20)]  # as `socialaudit pii` names them
    kept = [n for n in names if keep_object(n, request.sample)]
    assert 0 < len(kept) < 20
    assert [Path(u.uri).relative_to(src).as_posix() for u in units] == kept
    assert [u.not_sampled for u in units] == [20 - len(kept)] + [0] * (len(kept) - 1)
    assert job.plan(request, sources, 1024) == (batches, [])  # a redelivered dispatch: same

    request = scans.parse_request({"kind": "pii", "source": str(src), "sample": {"objects": 0.5}})
    batches, _ = job.plan(request, sources, 1024)
    assert any(u.end is not None for b in batches for u in b)  # no records sample: ranges ok
    request = scans.parse_request(
        {"kind": "pii", "source": str(src), "sample": {"objects": 1e-9, "seed": 1}}
    )
    with pytest.raises(DataError, match="keeps none of the 20 objects here: raise objects"):
        job.plan(request, sources, 1024)


def test_a_byte_range_is_redacted_to_an_object_of_its_own() -> None:
    whole = scans.Unit(uri="s3://posts/p/2026/a.jsonl", format="jsonl", size=100)
    part = whole.model_copy(update={"start": 40, "end": 80})
    assert scans._redacted_name("s3://posts/p/", whole) == "p/2026/a.jsonl"
    assert scans._redacted_name("s3://posts/p/", part) == "p/2026/a.bytes-40-79.jsonl"


@pytest.mark.skipif(not _pii_ready(), reason="audit.pii not available")
def test_a_sampled_pii_scan_writes_findings_and_redacted_copies_once_per_batch(
    tmp_path: Path,
) -> None:
    import audit.pii as pii
    from tests.unit.pii._support import output_texts

    src = tmp_path / "posts"
    emails = []
    for k in range(6):
        rows = []
        for i in range(30):
            email = f"someone{k}x{i}@example.com"
            emails.append(email)
            text = f"post {i}: write to {email}" if i % 3 == 0 else f"post {i}, nothing"
            rows.append({"id": f"{k}-{i}", "text": text})
        path = src / ("old" if k % 2 else "new") / f"part-{k}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    pump = Pump(tmp_path, batch_bytes=2048)
    text = "objects=0.7,records=8,random_start=true,seed=5"
    body = {
        "kind": "pii",
        "source": str(src),
        "id_field": "id",
        "sample": text,
        "findings": str(tmp_path / "findings"),
        "redact_to": str(tmp_path / "redacted"),
    }
    scan, _ = scans.submit_scan(pump.backend, scans.parse_request(body))
    pump.run(limit=1)  # dispatched
    # A first delivery of batch 1 wrote its outputs and died before it was counted.
    (_, first), *_ = [m for m in pump.queue.sent if m[0] == "work"]
    with scans._running(scans.BatchRef(scan.id, 1)):
        scans.JOBS["pii"].run(
            scans.parse_request(body), [scans.Unit(**u) for u in first["units"]], Sources(True)
        )
    pump.run()
    done = pump.backend.store.get_scan(scan.id)
    assert done is not None and done.status == "succeeded", done.error
    doc = pump.backend.store.get_json(str(done.result_key))

    # The sampling, recorded as the CLI records it, and the records the CLI scans.
    sample = pii.parse_sample(text)
    direct = pii.pii_audit(
        str(src), text_field="text", id_field="id", config=pii.load_pii_config(None), sample=sample
    )
    assert doc["pii"]["sampling"] == direct["pii"]["sampling"] == sample.describe()
    assert doc["settings"]["sample"] == direct["settings"]["sample"]
    assert doc["settings"]["ci"]["seed"] == 5
    assert doc["summary"] == direct["summary"]
    assert doc["pii"]["objects"]["not_sampled"] == direct["pii"]["objects"]["not_sampled"] > 0
    scanned = doc["pii"]["records"]["scanned"]
    assert scanned == 8 * (6 - doc["pii"]["objects"]["not_sampled"])

    # One findings line per scanned record, in one part per batch: the redone batch 1
    # overwrote its part.
    folder = tmp_path / "findings" / scan.id
    assert doc["pii"]["findings_file"] == f"{folder}/"
    parts = sorted(folder.iterdir())
    assert [p.name for p in parts] == [
        f"part-{b:08d}.jsonl" for b in range(1, (done.batches_total or 0) + 1)
    ]
    assert doc["pii"]["findings_parts"] == len(parts)
    lines = [json.loads(line) for p in parts for line in p.read_text().splitlines()]
    assert len(lines) == scanned == len({line["id"] for line in lines})
    assert sum(bool(line["findings"]) for line in lines) == doc["pii"]["records"]["with_pii"]

    # Redacted copies: one per sampled object, the addresses replaced.
    redacted = sorted((tmp_path / "redacted" / scan.id).rglob("*.jsonl"))
    assert (
        doc["pii"]["redacted_objects"] == len(redacted) == 6 - doc["pii"]["objects"]["not_sampled"]
    )
    assert {p.relative_to(tmp_path / "redacted" / scan.id).parent.name for p in redacted} <= {
        "old",
        "new",
    }
    copies = [json.loads(line) for p in redacted for line in p.read_text().splitlines()]
    assert len(copies) == scanned
    assert sum("<EMAIL_ADDRESS>" in c["text"] for c in copies) > 0
    texts = [t for p in [*parts, *redacted] for t in output_texts(p)]
    texts += list(json.dumps(doc).split('"'))
    assert not [e for e in emails if any(e in t for t in texts)]


@pytest.mark.parametrize(
    "body",
    [
        _S3_AUDIT,
        {"kind": "face", "manifest": "m.csv", "groups": ["g"], "embeddings": "e.npy"},
    ],
)
def test_a_request_cannot_ask_for_unbounded_bootstrap_work(body: dict[str, Any]) -> None:
    scans.parse_request({**body, "resamples": scans.MAX_RESAMPLES})
    with pytest.raises(ConfigError, match=r"resamples: Input should be less than or equal"):
        scans.parse_request({**body, "resamples": scans.MAX_RESAMPLES + 1})

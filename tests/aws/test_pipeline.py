"""Scans end to end over moto_server: API → dispatcher → SQS → workers → aggregator.

The Lambda handlers run as Lambda would run them (recorded events, SQS events built from real
ReceiveMessage output, partial-batch failures honoured); workers run in their own processes.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from audit import scans
from audit.storage import make_backend
from tests.aws.conftest import AwsEnv, event
from tests.aws.esm import FakeContext, poll_once

N_POSTS = 1200

_WORDS = "the a great day at lunch with friends new post check this out wow love it".split()  # noqa: SIM905
_PII = [
    "mail me at jane.doe{n}@example.com",
    "call +1 415 555 {n:04d} tonight",
    "my card 4111 1111 1111 1111",
    "I am John Smith from Leeds",
]


def make_posts(n: int, seed: int = 3) -> list[dict[str, Any]]:
    """Posts like a platform stores them; about a third carry PII, a few lack text."""
    rng = random.Random(seed)
    posts = []
    for i in range(n):
        words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 40)))
        if rng.random() < 0.33:
            words += " " + rng.choice(_PII).format(n=i)
        post: dict[str, Any] = {"id": f"p{i}", "user": {"id": rng.randint(1, 99)}, "text": words}
        if i % 97 == 0:
            del post["text"]
        posts.append(post)
    return posts


def jsonl(posts: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(p) + "\n" for p in posts).encode()


def upload(aws: AwsEnv, posts: list[dict[str, Any]], mirror: Path | None = None) -> str:
    """Three JSON-lines objects (one big enough to be split into byte ranges) and a CSV.

    With ``mirror``, the same files are also written under that local folder.
    """
    a, b, c = len(posts) // 2, len(posts) * 3 // 4, len(posts) * 7 // 8
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=["id", "text"], extrasaction="ignore")
    w.writeheader()
    for p in posts[c:]:
        w.writerow({"id": p["id"], "text": p.get("text", "")})
    files = {
        "posts/2026/11/part-0.jsonl": jsonl(posts[:a]),
        "posts/2026/11/part-1.jsonl": jsonl(posts[a:b]),
        "posts/2026/12/part-2.jsonl": jsonl(posts[b:c]),
        "posts/2026/12/part-3.csv": out.getvalue().encode(),
        "posts/README.txt": b"not data",
    }
    for key, data in files.items():
        aws.put_posts(key, data)
        if mirror is not None and key.endswith((".jsonl", ".csv")):
            (mirror / key).parent.mkdir(parents=True, exist_ok=True)
            (mirror / key).write_bytes(data)
    return f"s3://{aws.data_bucket}/posts/"


def api_call(name: str, *, body: Any = None, path: str | None = None, **headers: str) -> Any:
    """Invoke the API function with a recorded event; returns (status, JSON body, headers)."""
    from lambdas.api import handler

    ev = event(name)
    if body is not None:
        ev["body"] = json.dumps(body)
        ev["headers"]["content-length"] = str(len(ev["body"]))
    if path is not None:
        ev["rawPath"] = ev["requestContext"]["http"]["path"] = path
    ev["headers"].update({k.replace("_", "-").lower(): v for k, v in headers.items()})
    out = handler(ev, FakeContext())
    return out["statusCode"], json.loads(out["body"]), out.get("headers", {})


def s3_keys(aws: AwsEnv, prefix: str) -> list[str]:
    """Every key under ``prefix`` in the results bucket, sorted."""
    pages = (
        aws.clients["s3"]
        .get_paginator("list_objects_v2")
        .paginate(Bucket=aws.settings.bucket, Prefix=prefix)
    )
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def s3_text(aws: AwsEnv, key: str) -> str:
    body = aws.clients["s3"].get_object(Bucket=aws.settings.bucket, Key=key)["Body"]
    return str(body.read().decode("utf-8"))


def pii_ready() -> bool:
    try:
        import audit.pii as pii
    except ImportError:
        return False
    return all(hasattr(pii, n) for n in ("load_pii_config", "scan_records", "merge_partials"))


KINDS = [
    "inventory",
    pytest.param(
        "pii",
        marks=pytest.mark.skipif(not pii_ready(), reason="audit.pii not available yet"),
    ),
]


def expected_inventory(posts: list[dict[str, Any]]) -> dict[str, int]:
    texts = [p["text"] for p in posts if "text" in p]
    csv_tail = posts[len(posts) * 7 // 8 :]
    # In the CSV a post without text has an empty text cell: it has the field.
    with_text = len(texts) + sum(1 for p in csv_tail if "text" not in p)
    return {
        "objects": 4,
        "records": len(posts),
        "records_with_text": with_text,
        "records_unreadable": 0,
        "text_chars": sum(map(len, texts)),
        "longest_text": max(map(len, texts)),
    }


@pytest.mark.parametrize("kind", KINDS)
def test_scan_through_api_dispatcher_queue_workers_aggregator(
    aws: AwsEnv, kind: str, tmp_path: Path
) -> None:
    posts = make_posts(N_POSTS)
    source = upload(aws, posts, mirror=tmp_path)
    body = {"kind": kind, "source": source, "text_field": "text"}
    if kind == "pii":
        body["id_field"] = "id"
    status, created, headers = api_call("api_create_scan.json", body=body)
    assert status == 202, created
    scan_id = created["id"]
    assert headers["location"] == f"/scans/{scan_id}"

    warm = {"SOCIALAUDIT_TEST_WARM": kind}
    aws.start_worker(**warm)
    aws.start_worker(**warm)
    final = aws.drive(scan_id, timeout_s=75)
    assert final.status == "succeeded", final.error

    status, view, _ = api_call("api_get_scan.json", path=f"/scans/{scan_id}")
    assert status == 200
    progress = view["progress"]
    assert progress["batches_total"] > 4  # really fanned out: the big object was split
    assert progress["batches_done"] == progress["batches_total"]
    assert progress["batches_failed"] == 0
    assert progress["records_done"] == N_POSTS

    status, doc, _ = api_call("api_get_report.json", path=f"/scans/{scan_id}/report")
    assert status == 200
    assert doc["fanout"]["batches"] == progress["batches_total"]
    assert doc["fanout"]["skipped_objects"][0]["object"].endswith("README.txt")

    # The partials in S3 reconcile with the total: every record counted once.
    store = make_backend(aws.settings, clients=aws.clients).store
    partials = [
        store.get_json(scans.partial_key(scan_id, b))
        for b in range(1, progress["batches_total"] + 1)
    ]
    assert sum(p["read"]["records"] for p in partials) == N_POSTS

    if kind == "inventory":
        got = {s["metric"]: s["value"] for s in doc["summary"]}
        for metric, value in expected_inventory(posts).items():
            assert got[metric] == value, metric
    else:
        import audit.pii as pii

        # The fan-out must find exactly what one process finds in the same files.
        config = pii.load_pii_config(None)
        direct = pii.pii_audit(
            str(tmp_path / "posts"), text_field="text", id_field="id", config=config, workers=1
        )
        assert doc["summary"] == direct["summary"]
        assert doc["pii"]["records"]["scanned"] == direct["pii"]["records"]["scanned"]
    assert aws.queue_depth(aws.dlq_url) == 0


@pytest.mark.parametrize("kind", KINDS)
def test_worker_killed_mid_batch_loses_and_doubles_nothing(
    aws: AwsEnv, tmp_path: Path, kind: str
) -> None:
    posts = make_posts(N_POSTS, seed=11)
    source = upload(aws, posts)
    backend = make_backend(aws.settings, clients=aws.clients)
    body = {"kind": kind, "source": source}
    if kind == "pii":
        body["id_field"] = "id"
        # The killed worker wrote its findings part before it died; the redelivery rewrites it.
        body["findings"] = f"s3://{aws.settings.bucket}/outputs/findings/"
    scan, _ = scans.submit_scan(backend, scans.parse_request(body))
    marks = tmp_path / "marks"
    marks.mkdir()
    # Worker A holds each batch for 3 s after computing it, before storing or counting it.
    victim = aws.start_worker(
        SOCIALAUDIT_TEST_SLOW_S="3",
        SOCIALAUDIT_TEST_MARK_DIR=str(marks),
        SOCIALAUDIT_TEST_WARM=kind,
    )
    from lambdas import dispatcher

    assert poll_once(aws.sqs, str(aws.settings.dispatch_queue_url), dispatcher.handler) == 1
    deadline = time.monotonic() + 20
    while not list(marks.glob(f"inside-{victim.pid}-*")):
        assert time.monotonic() < deadline, "the worker never started a batch"
        time.sleep(0.02)
    os.kill(victim.pid, signal.SIGKILL)  # mid-batch: computed, not stored, not counted
    victim.wait()
    (received,) = [p.name for p in marks.glob(f"recv-*-{victim.pid}")]
    killed_batch = int(received.split("-")[1])
    assert not backend.store.batch_finished(scan.id, killed_batch)

    aws.start_worker(SOCIALAUDIT_TEST_MARK_DIR=str(marks), SOCIALAUDIT_TEST_WARM=kind)
    final = aws.drive(scan.id, timeout_s=60)

    assert final.status == "succeeded", final.error
    # Redelivered: the killed batch came back (receive count 2) to the other worker.
    redelivered = [p.name for p in marks.glob(f"recv-{killed_batch}-*")]
    assert any(name.split("-")[2] == "2" for name in redelivered), redelivered
    # 0 lost, 0 double-counted.
    assert final.batches_done == final.batches_total
    assert final.records_done == N_POSTS
    got = {s["metric"]: s["value"] for s in (final.summary or {})["items"]}
    if kind == "inventory":
        assert got["records"] == N_POSTS
    else:  # posts without text are counted as skipped, not scanned
        assert got["records_scanned"] + got["records_skipped"] == N_POSTS
        lines = [
            json.loads(line)
            for key in s3_keys(aws, f"outputs/findings/{scan.id}/")
            for line in s3_text(aws, key).splitlines()
        ]
        assert len(lines) == got["records_scanned"] == len({line["id"] for line in lines})
    assert aws.queue_depth(aws.dlq_url) == 0


def test_a_batch_delivered_again_after_it_counted_changes_nothing(aws: AwsEnv) -> None:
    source = upload(aws, make_posts(300, seed=5))
    backend = make_backend(aws.settings, clients=aws.clients)
    scan, _ = scans.submit_scan(
        backend, scans.parse_request({"kind": "inventory", "source": source})
    )
    final = aws.drive(scan.id, in_process_work=True)
    assert final.status == "succeeded"
    plan = backend.store.get_json(scans.plan_key(scan.id))
    message = scans.BatchMessage(
        scan_id=scan.id, batch_id=1, units=[scans.Unit(**u) for u in plan["batches"][0]]
    )
    from lambdas import worker

    ev = event("sqs_work.json")
    ev["Records"] = ev["Records"][:1]
    ev["Records"][0]["body"] = message.model_dump_json()
    ev["Records"][0]["attributes"]["ApproximateReceiveCount"] = "2"
    assert worker.handler(ev, FakeContext()) == {"batchItemFailures": []}
    again = backend.store.get_scan(scan.id)
    assert again is not None
    assert (again.batches_done, again.records_done) == (final.batches_done, final.records_done)


def test_a_poison_batch_is_dead_lettered_and_the_scan_fails_naming_it(
    aws: AwsEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = upload(aws, make_posts(200, seed=9))
    backend = make_backend(aws.settings, clients=aws.clients)
    scan, _ = scans.submit_scan(
        backend, scans.parse_request({"kind": "inventory", "source": source})
    )

    def explode(*args: Any) -> Any:
        raise RuntimeError("worker ran out of memory")

    monkeypatch.setattr(scans.JOBS["inventory"], "run", explode)
    # The batch fails at once every time: no need to wait for a visibility timeout.
    aws.sqs.set_queue_attributes(
        QueueUrl=aws.settings.work_queue_url, Attributes={"VisibilityTimeout": "0"}
    )
    final = aws.drive(scan.id, in_process_work=True, timeout_s=40)
    assert final.status == "failed"
    assert "gave up after 3 attempts: RuntimeError: worker ran out of memory" in (final.error or "")
    deadline = time.monotonic() + 10
    while aws.queue_depth(aws.dlq_url) == 0 and time.monotonic() < deadline:
        time.sleep(0.2)  # SQS moves a message to the DLQ on the receive after the last one
        aws.sqs.receive_message(QueueUrl=aws.settings.work_queue_url, WaitTimeSeconds=0)
    assert aws.queue_depth(aws.dlq_url) >= 1


def test_bad_input_fails_the_scan_with_the_reason(aws: AwsEnv) -> None:
    status, created, _ = api_call(
        "api_create_scan.json",
        body={"kind": "inventory", "source": f"s3://{aws.data_bucket}/no/such/prefix/"},
        idempotency_key="bad-input-1",
    )
    assert status == 202
    final = aws.drive(created["id"])
    assert final.status == "failed"
    assert "no .jsonl, .csv, .tsv or .parquet objects here" in (final.error or "")


def test_fifty_concurrent_posts_with_one_key_make_one_scan(aws: AwsEnv) -> None:
    source = upload(aws, make_posts(100))
    body = {"kind": "inventory", "source": source}

    def post(_: int) -> tuple[int, str]:
        import asyncio

        asyncio.set_event_loop(asyncio.new_event_loop())  # one Lambda environment per thread
        status, view, _h = api_call("api_create_scan.json", body=body, idempotency_key="k-50")
        return status, view.get("id", json.dumps(view))

    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(post, range(50)))
    assert {status for status, _ in results} == {202}
    assert len({scan_id for _, scan_id in results}) == 1
    items = aws.clients["dynamodb"].scan(TableName=aws.settings.table)["Items"]
    assert sum(1 for i in items if i["pk"]["S"].startswith("SCAN#")) == 1
    assert aws.queue_depth(str(aws.settings.dispatch_queue_url)) == 1  # one dispatch


def test_a_repeated_dispatch_message_does_not_fan_out_twice(aws: AwsEnv) -> None:
    source = upload(aws, make_posts(300))
    backend = make_backend(aws.settings, clients=aws.clients)
    scan, _ = scans.submit_scan(
        backend, scans.parse_request({"kind": "inventory", "source": source})
    )
    from lambdas import dispatcher

    ev = event("sqs_dispatch.json")
    ev["Records"][0]["body"] = json.dumps({"type": "dispatch", "scan_id": scan.id})
    assert dispatcher.handler(ev, FakeContext()) == {"batchItemFailures": []}
    work_url = str(aws.settings.work_queue_url)
    first = aws.queue_depth(work_url)
    assert first == backend.store.get_scan(scan.id).batches_total  # type: ignore[union-attr]
    ev["Records"][0]["messageId"] = "a-duplicate-delivery"
    assert dispatcher.handler(ev, FakeContext()) == {"batchItemFailures": []}
    assert aws.queue_depth(work_url) == first


def test_scheduled_tick_starts_one_scan_even_if_invoked_twice(
    aws: AwsEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = upload(aws, make_posts(50))
    monkeypatch.setenv(
        "SOCIALAUDIT_SCHEDULED_SCAN", json.dumps({"kind": "inventory", "source": source})
    )
    import lambdas.scheduled as scheduled

    monkeypatch.setattr(scheduled, "_BACKEND", None)
    first = scheduled.handler(event("eventbridge_schedule.json"), FakeContext())
    second = scheduled.handler(event("eventbridge_schedule.json"), FakeContext())
    assert first["created"] and not second["created"]
    assert first["scan_id"] == second["scan_id"]
    assert aws.drive(first["scan_id"], in_process_work=True).status == "succeeded"


def test_lambda_api_refuses_a_request_without_authorizer_context(aws: AwsEnv) -> None:
    status, body, _ = api_call("api_create_scan_no_auth.json")
    assert status == 401
    status, body, _ = api_call("api_health.json")
    assert (status, body["status"]) == (200, "ok")


def test_recorded_events_drive_each_handler(aws: AwsEnv) -> None:
    """Every SQS consumer, called with the recorded event shapes in tests/events/."""
    from lambdas import aggregator, dispatcher, worker

    source = upload(aws, make_posts(200, seed=21))
    backend = make_backend(aws.settings, clients=aws.clients)
    scan, _ = scans.submit_scan(
        backend, scans.parse_request({"kind": "inventory", "source": source})
    )

    ev = event("sqs_dispatch.json")
    ev["Records"][0]["body"] = json.dumps({"type": "dispatch", "scan_id": scan.id})
    assert dispatcher.handler(ev, FakeContext()) == {"batchItemFailures": []}

    plan = backend.store.get_json(scans.plan_key(scan.id))
    template = event("sqs_work.json")["Records"][0]
    records = []
    for i, units in enumerate(plan["batches"], 1):
        body = {"type": "batch", "scan_id": scan.id, "batch_id": i, "units": units}
        records.append({**template, "messageId": f"m-{i}", "body": json.dumps(body)})
    records.append({**template, "messageId": "poison", "body": "{not json"})
    out = worker.handler({"Records": records}, FakeContext())
    assert out == {"batchItemFailures": [{"itemIdentifier": "poison"}]}  # only the bad one

    ev = event("sqs_aggregate.json")
    ev["Records"][0]["body"] = json.dumps({"type": "aggregate", "scan_id": scan.id})
    assert aggregator.handler(ev, FakeContext()) == {"batchItemFailures": []}
    done = backend.store.get_scan(scan.id)
    assert done is not None and done.status == "succeeded" and done.records_done == 200


@pytest.mark.skipif(not pii_ready(), reason="audit.pii not available yet")
def test_a_sampled_pii_scan_with_findings_and_redacted_copies_on_s3(
    aws: AwsEnv, tmp_path: Path
) -> None:
    import audit.pii as pii
    from tests.unit.pii._support import output_texts, pii_found_in_outputs

    posts = make_posts(N_POSTS, seed=13)
    source = upload(aws, posts)
    results = aws.settings.bucket
    text = "objects=0.6,records=50,random_start=true,seed=5"  # keeps part-0, part-2, part-3.csv
    body = {
        "kind": "pii",
        "source": source,
        "id_field": "id",
        "sample": {"objects": 0.6, "records": 50, "random_start": True, "seed": 5},
        "findings": f"s3://{results}/outputs/findings/",
        "redact_to": f"s3://{results}/outputs/redacted/",
    }
    elsewhere = {**body, "findings": f"s3://{aws.data_bucket}/findings/"}
    status, refused, _ = api_call("api_create_scan.json", body=elsewhere)
    assert status == 422 and refused["detail"].startswith("findings 's3://posts-")
    assert f"under s3://{results}/outputs/ only" in refused["detail"]
    status, created, _ = api_call("api_create_scan.json", body=body)
    assert status == 202, created
    scan_id = created["id"]
    pool = scans.JOBS["pii"]._pool(scans.parse_request(body))  # type: ignore[attr-defined]
    final = aws.drive(scan_id, in_process_work=True, timeout_s=90)
    assert final.status == "succeeded", final.error
    store = make_backend(aws.settings, clients=aws.clients).store
    doc = store.get_json(scans.result_key(scan_id))
    plan = store.get_json(scans.plan_key(scan_id))
    assert all(u["end"] is None for b in plan["batches"] for u in b)  # objects read whole

    # The sampling as the CLI records it, and the records the CLI scans from the same bucket.
    direct = pii.pii_audit(
        source,
        text_field="text",
        id_field="id",
        config=pii.load_pii_config(None),
        sample=pii.parse_sample(text),
        s3_client=aws.clients["s3"],
    )
    assert doc["pii"]["sampling"] == direct["pii"]["sampling"]
    assert doc["settings"]["sample"] == direct["settings"]["sample"]
    assert doc["pii"]["sampling"]["records_per_object"] == 50
    assert doc["pii"]["objects"]["not_sampled"] == direct["pii"]["objects"]["not_sampled"] == 1

    def counts(d: dict[str, Any]) -> list[dict[str, Any]]:
        # README.txt: the CLI skips it as a PII object, the fan-out as a planned object.
        return [s for s in d["summary"] if s["metric"] != "objects_skipped"]

    assert counts(doc) == counts(direct)
    records = doc["pii"]["records"]
    assert records["scanned"] + records["skipped"] == 3 * 50

    # Where the outputs went, recorded in the result; one findings line per scanned record.
    assert doc["pii"]["findings_file"] == f"s3://{results}/outputs/findings/{scan_id}/"
    assert doc["pii"]["redacted_to"] == f"s3://{results}/outputs/redacted/{scan_id}/"
    parts = s3_keys(aws, f"outputs/findings/{scan_id}/")
    assert [k.rsplit("/", 1)[1] for k in parts] == [
        f"part-{b:08d}.jsonl" for b in range(1, (final.batches_total or 0) + 1)
    ]
    assert doc["pii"]["findings_parts"] == len(parts)
    lines = [json.loads(line) for k in parts for line in s3_text(aws, k).splitlines()]
    assert len(lines) == records["scanned"] == len({line["id"] for line in lines})
    assert sum(bool(line["findings"]) for line in lines) == records["with_pii"] > 0

    # A redacted copy per sampled object, in its format, the PII replaced.
    copies = s3_keys(aws, f"outputs/redacted/{scan_id}/")
    assert [k.split(f"{scan_id}/", 1)[1] for k in copies] == [
        "posts/2026/11/part-0.jsonl",
        "posts/2026/12/part-2.jsonl",
        "posts/2026/12/part-3.csv",
    ]
    assert doc["pii"]["redacted_objects"] == 3
    local = []
    for key in parts + copies:
        path = tmp_path / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(s3_text(aws, key), encoding="utf-8")
        local.append(path)
    texts = [t for p in local for t in output_texts(p)]
    assert any("<EMAIL_ADDRESS>" in t for t in texts)
    assert not [t for t in texts if "@example.com" in t or "4111 1111" in t]
    assert pii_found_in_outputs(local, pool) == []

"""The storage and queue interface: one contract, run against each implementation.

:class:`StoreContract` is what any :class:`~audit.storage.ScanStore` must do; it runs here on
the local store (SQLite + folder) and in ``tests/aws/test_store.py`` on the AWS store
(DynamoDB + S3 over moto_server).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from audit.exceptions import ConfigError, DataError
from audit.storage import (
    IdempotencyConflictError,
    LocalQueue,
    LocalStore,
    ScanActiveError,
    ScanFilter,
    ScanRecord,
    ScanStore,
    Settings,
    Sources,
    make_backend,
)


def new_scan(scan_id: str, request: dict[str, Any] | None = None) -> ScanRecord:
    return ScanRecord(
        id=scan_id,
        kind="inventory",
        status="queued",
        request=request or {"kind": "inventory", "source": "posts/"},
        created_at="2026-11-22T08:00:00.000000Z",
        updated_at="2026-11-22T08:00:00.000000Z",
    )


class StoreContract:
    """Behaviour every scan store must have; subclasses provide the ``store`` fixture."""

    def test_create_and_read_back(self, store: ScanStore) -> None:
        scan, created = store.create_scan(new_scan("a" * 32))
        assert created
        got = store.get_scan("a" * 32)
        assert got is not None
        assert (got.status, got.kind, got.request) == ("queued", "inventory", scan.request)
        assert got.batches_total is None
        assert store.get_scan("b" * 32) is None

    def test_an_idempotency_key_returns_the_first_scan(self, store: ScanStore) -> None:
        first, created = store.create_scan(new_scan("1" * 32), "key-1")
        again, created_again = store.create_scan(new_scan("2" * 32), "key-1")
        assert created and not created_again
        assert again.id == first.id
        assert store.get_scan("2" * 32) is None
        other, created_other = store.create_scan(new_scan("3" * 32), "key-2")
        assert created_other and other.id == "3" * 32

    def test_a_key_reused_with_another_body_is_refused(self, store: ScanStore) -> None:
        store.create_scan(new_scan("1" * 32, {"kind": "inventory", "source": "a/"}), "k")
        with pytest.raises(IdempotencyConflictError, match="different request body"):
            store.create_scan(new_scan("2" * 32, {"kind": "inventory", "source": "b/"}), "k")

    def test_concurrent_creates_with_one_key_make_one_scan(self, store: ScanStore) -> None:
        ids: list[str] = []

        def create(i: int) -> None:
            scan, _ = store.create_scan(new_scan(f"{i:032x}"), "same-key")
            ids.append(scan.id)

        threads = [threading.Thread(target=create, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(ids) == 12 and len(set(ids)) == 1

    def test_start_then_count_each_batch_once(self, store: ScanStore) -> None:
        sid = "c" * 32
        store.create_scan(new_scan(sid))
        started = store.start_scan(sid, 3)
        assert started is not None and started.status == "running"
        assert store.start_scan(sid, 3) is not None  # a repeated dispatch: same plan
        assert store.start_scan(sid, 4) is None  # but not a different one
        counted, scan = store.finish_batch(sid, 1, records=10)
        assert counted and scan.batches_done == 1 and scan.records_done == 10
        counted, scan = store.finish_batch(sid, 1, records=10)  # redelivered
        assert not counted and scan.batches_done == 1 and scan.records_done == 10
        assert store.batch_finished(sid, 1) and not store.batch_finished(sid, 2)
        counted, scan = store.finish_batch(sid, 2, records=0, error="bad file x.csv")
        assert counted and scan.batches_failed == 1 and not scan.all_batches_finished
        _, scan = store.finish_batch(sid, 3, records=5)
        assert scan.all_batches_finished and scan.records_done == 15
        assert store.batch_errors(sid) == {2: "bad file x.csv"}

    def test_concurrent_finishes_count_exactly(self, store: ScanStore) -> None:
        sid = "d" * 32
        store.create_scan(new_scan(sid))
        store.start_scan(sid, 8)

        def finish(b: int) -> None:
            for _ in range(2):  # each batch delivered twice
                store.finish_batch(sid, b, records=b)

        threads = [threading.Thread(target=finish, args=(b,)) for b in range(1, 9)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        scan = store.get_scan(sid)
        assert scan is not None
        assert (scan.batches_done, scan.records_done) == (8, sum(range(1, 9)))

    def test_one_aggregator_holds_the_lease(self, store: ScanStore) -> None:
        sid = "e" * 32
        store.create_scan(new_scan(sid))
        store.start_scan(sid, 1)
        assert store.claim_aggregation(sid, 60) is None  # not all batches finished
        store.finish_batch(sid, 1, records=1)
        assert store.claim_aggregation(sid, 60) is not None
        assert store.claim_aggregation(sid, 60) is None  # held
        sid2 = "f" * 32
        store.create_scan(new_scan(sid2))
        store.start_scan(sid2, 1)
        store.finish_batch(sid2, 1, records=1)
        assert store.claim_aggregation(sid2, 0.2) is not None
        time.sleep(0.3)
        assert store.claim_aggregation(sid2, 60) is not None  # the first holder's lease ran out
        store.release_aggregation(sid2)  # a failed aggregator gives it back
        assert store.claim_aggregation(sid2, 60) is not None

    def test_complete_once(self, store: ScanStore) -> None:
        sid = "9" * 32
        store.create_scan(new_scan(sid))
        assert store.complete_scan(
            sid, status="succeeded", summary={"items": [1]}, result_key="scans/x/result.json"
        )
        assert not store.complete_scan(sid, status="failed", error="late")
        scan = store.get_scan(sid)
        assert scan is not None
        assert (scan.status, scan.summary, scan.error) == ("succeeded", {"items": [1]}, None)
        assert scan.result_key == "scans/x/result.json"
        sid2 = "8" * 32
        store.create_scan(new_scan(sid2))
        assert store.complete_scan(sid2, status="failed", error="no objects under s3://b/p/")
        assert store.get_scan(sid2).error == "no objects under s3://b/p/"  # type: ignore[union-attr]

    def test_blobs(self, store: ScanStore) -> None:
        store.put_json("scans/x/partials/00000001.json", {"n": 1, "s": "é"})
        assert store.get_json("scans/x/partials/00000001.json") == {"n": 1, "s": "é"}
        store.put_blob("scans/x/plan.json", b"{}")
        assert store.get_blob("scans/x/plan.json") == b"{}"
        with pytest.raises(KeyError):
            store.get_blob("scans/x/none.json")

    # -- listing, cancelling, deleting (issue 16) -------------------------------------------

    def _made(self, store: ScanStore, n: int) -> list[str]:
        """``n`` scans a second apart, alternately inventory and pii, named ``audit-<i>``."""
        ids = []
        for i in range(n):
            kind = "inventory" if i % 2 == 0 else "pii"
            at = f"2026-11-22T08:00:{i:02d}.000000Z"
            record = ScanRecord(
                f"{i:032x}", kind, "queued", {"kind": kind, "name": f"Audit-{i}"}, at, at
            )
            store.create_scan(record)
            ids.append(record.id)
        return ids

    def test_scans_are_listed_newest_first_a_page_at_a_time(self, store: ScanStore) -> None:
        ids = self._made(store, 7)
        seen, cursor, pages = [], None, 0
        while True:
            page = store.list_scans(limit=3, cursor=cursor)
            seen += [s.id for s in page.scans]
            pages += 1
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == ids[::-1] and pages == 3
        with pytest.raises(ValueError, match="cursor"):
            store.list_scans(cursor="not-a-cursor")
        with pytest.raises(ValueError, match="limit"):
            store.list_scans(limit=0)

    def test_scans_are_filtered_by_kind_status_and_name(self, store: ScanStore) -> None:
        ids = self._made(store, 6)
        store.complete_scan(ids[3], status="succeeded")
        pii = store.list_scans(ScanFilter(kind="pii"), limit=2)
        assert [s.id for s in pii.scans] == [ids[5], ids[3]] and pii.next_cursor
        rest = store.list_scans(ScanFilter(kind="pii"), limit=2, cursor=pii.next_cursor)
        assert [s.id for s in rest.scans] == [ids[1]] and rest.next_cursor is None
        done = store.list_scans(ScanFilter(status="succeeded"))
        assert [s.id for s in done.scans] == [ids[3]]
        named = store.list_scans(ScanFilter(name="audit-4"))  # any case
        assert [s.id for s in named.scans] == [ids[4]]
        assert store.list_scans(ScanFilter(kind="pii", status="failed")).scans == []

    def test_cancel_stops_a_scan_and_nothing_finishes_it_after(self, store: ScanStore) -> None:
        sid = "c" * 32
        store.create_scan(new_scan(sid))
        store.start_scan(sid, 2)
        cancelled = store.cancel_scan(sid)
        assert cancelled is not None and cancelled.status == "cancelled"
        store.finish_batch(sid, 1, records=5)
        store.finish_batch(sid, 2, records=5)
        assert store.claim_aggregation(sid, 60) is None  # no aggregator takes it
        assert not store.complete_scan(sid, status="succeeded")
        assert store.get_scan(sid).status == "cancelled"  # type: ignore[union-attr]
        assert store.cancel_scan("d" * 32) is None
        done = "e" * 32
        store.create_scan(new_scan(done))
        store.complete_scan(done, status="succeeded")
        assert store.cancel_scan(done).status == "succeeded"  # type: ignore[union-attr]

    def test_delete_removes_a_finished_scan_and_refuses_an_active_one(
        self, store: ScanStore
    ) -> None:
        sid = "f" * 32
        store.create_scan(new_scan(sid), "key-f")
        store.start_scan(sid, 1)
        with pytest.raises(ScanActiveError, match="cancel it first"):
            store.delete_scan(sid)
        store.finish_batch(sid, 1, records=3)
        store.complete_scan(sid, status="succeeded", result_key=f"scans/{sid}/result.json")
        store.put_json(f"scans/{sid}/result.json", {"n": 1})
        store.put_json(f"scans/{sid}/partials/00000001.json", {"n": 1})
        store.put_json("scans/other/result.json", {"n": 2})
        assert store.delete_blobs(f"scans/{sid}/") == 2
        assert store.delete_scan(sid)
        assert store.get_scan(sid) is None and not store.delete_scan(sid)
        assert store.list_scans().scans == []
        with pytest.raises(KeyError):
            store.get_blob(f"scans/{sid}/result.json")
        assert store.get_json("scans/other/result.json") == {"n": 2}
        assert store.delete_blobs(f"scans/{sid}/") == 0
        # the Idempotency-Key went with it: the same key makes a new scan
        again, created = store.create_scan(new_scan("0f" * 16), "key-f")
        assert created and again.id == "0f" * 16


class TestLocalStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> ScanStore:
        return LocalStore(tmp_path / "home")

    def test_a_blob_key_cannot_leave_the_folder(self, store: LocalStore) -> None:
        with pytest.raises(ValueError, match="leaves the data folder"):
            store.put_blob("../../etc/x", b"")


def test_settings_from_env_and_overrides(tmp_path: Path) -> None:
    env = {"SOCIALAUDIT_HOME": str(tmp_path), "SOCIALAUDIT_WORKERS": "3", "AWS_REGION": "eu-west-1"}
    s = Settings.from_env(env)
    assert (s.backend, s.home, s.workers, s.region) == ("local", tmp_path, 3, "eu-west-1")
    assert Settings.from_env(env, workers=5).workers == 5  # the argument wins


def test_settings_name_the_variable_that_is_wrong() -> None:
    with pytest.raises(ConfigError, match="SOCIALAUDIT_WORKERS"):
        Settings.from_env({"SOCIALAUDIT_WORKERS": "none"})
    with pytest.raises(ConfigError, match="SOCIALAUDIT_BUCKET, SOCIALAUDIT_TABLE"):
        Settings.from_env({"SOCIALAUDIT_BACKEND": "aws"})


def test_sources_list_a_folder_and_refuse_what_this_backend_cannot_read(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"text": "x"}\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.csv").write_text("text\nx\n")
    (tmp_path / ".hidden").write_text("")
    objs = Sources(allow_local=True).list(str(tmp_path))
    assert [(Path(o.uri).name, o.format) for o in objs] == [("a.jsonl", "jsonl"), ("b.csv", "csv")]
    with pytest.raises(ConfigError, match="s3:// URIs only"):
        Sources(allow_local=False).check(str(tmp_path))
    with pytest.raises(ConfigError, match="local path or an s3:// URI"):
        Sources(allow_local=True).check("gs://bucket/x")
    with pytest.raises(DataError, match="source not found"):
        Sources(allow_local=True).list(str(tmp_path / "missing"))
    with Sources(allow_local=True).open(str(tmp_path / "a.jsonl"), 2) as f:
        assert f.read() == b'text": "x"}\n'


def _echo_backend(tmp_path: Path, workers: int = 2) -> Any:
    return make_backend(Settings(home=tmp_path / "home", workers=workers, max_attempts=2))


def test_local_queue_dead_letters_a_message_after_max_attempts(tmp_path: Path) -> None:
    backend = _echo_backend(tmp_path, workers=1)
    queue = backend.queue
    assert isinstance(queue, LocalQueue)
    try:
        # Not a valid message: every delivery fails, like a poison message on SQS.
        queue.send("work", [{"type": "batch", "scan_id": "x"}])
        assert queue.join(timeout=30)
        ((name, body, why),) = queue.dead_letters
        assert (name, body["scan_id"]) == ("work", "x")
        assert "ValidationError" in why
    finally:
        backend.close()


def test_sqs_batches_respect_ten_messages_and_256_kib() -> None:
    from audit.storage import SQS_MAX_BYTES, SqsQueue

    class FakeSqs:
        def __init__(self) -> None:
            self.calls: list[list[dict[str, str]]] = []

        def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> Any:
            self.calls.append(Entries)
            return {"Successful": [{"Id": e["Id"]} for e in Entries]}

    sqs = FakeSqs()
    q = SqsQueue({"work": "url", "dispatch": "d", "aggregate": "a"}, sqs=sqs)
    q.send(
        "work", [{"pad": "x" * 90_000, "i": i} for i in range(7)] + [{"i": i} for i in range(25)]
    )
    assert sum(len(c) for c in sqs.calls) == 32
    for call in sqs.calls:
        assert len(call) <= 10
        assert sum(len(e["MessageBody"].encode()) for e in call) <= SQS_MAX_BYTES

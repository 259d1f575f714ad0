"""Where scans live: one storage and queue interface, two implementations.

A scan needs three things from its surroundings, and this module is the only place that knows
how each is provided:

* a **scan table** — one record per scan with atomic counters and conditional writes, so that a
  batch delivered twice is counted once and only one aggregator merges the partial results;
* a **blob store** — the plan, one partial result per batch, the final result;
* a **queue** — three logical queues, ``dispatch``, ``work`` and ``aggregate``, delivered at
  least once;

plus read access to the **sources** being scanned (local files or ``s3://`` prefixes).

============  =====================================  ======================================
backend       local (the default)                    aws
============  =====================================  ======================================
scan table    SQLite in ``$SOCIALAUDIT_HOME``        DynamoDB (transactions, ADD counters)
blob store    files under ``$SOCIALAUDIT_HOME``      S3
queue         in-process queue, N worker processes   SQS (Lambda event source mappings)
sources       local paths and ``s3://``              ``s3://`` only
============  =====================================  ======================================

The backend is chosen by :class:`Settings` (``SOCIALAUDIT_BACKEND=local|aws``); with
``SOCIALAUDIT_AWS_ENDPOINT_URL`` the AWS backend talks to an endpoint such as moto_server, so the
real boto3 protocol runs end to end without an AWS account. Explicit arguments beat the
environment.

Examples
--------
>>> settings = Settings(backend="local", home="/tmp/socialaudit-doc")
>>> store = LocalStore(settings.home)
>>> store.get_scan("no-such-scan") is None
True
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import queue as _queue
import random
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from audit.exceptions import AuditError, ConfigError, DataError

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

__all__ = [
    "ENV_AGGREGATE_QUEUE",
    "ENV_BACKEND",
    "ENV_BATCH_BYTES",
    "ENV_BUCKET",
    "ENV_DISPATCH_QUEUE",
    "ENV_ENDPOINT",
    "ENV_HOME",
    "ENV_MAX_ATTEMPTS",
    "ENV_TABLE",
    "ENV_WORKERS",
    "ENV_WORK_QUEUE",
    "OUTPUTS_PREFIX",
    "QUEUES",
    "AwsStore",
    "Backend",
    "CollectingQueue",
    "IdempotencyConflictError",
    "LocalQueue",
    "LocalStore",
    "Queue",
    "ScanRecord",
    "ScanStore",
    "Settings",
    "SourceObject",
    "Sources",
    "SqsQueue",
    "aws_clients",
    "make_backend",
]

ENV_BACKEND = "SOCIALAUDIT_BACKEND"
ENV_HOME = "SOCIALAUDIT_HOME"
ENV_WORKERS = "SOCIALAUDIT_WORKERS"
ENV_ENDPOINT = "SOCIALAUDIT_AWS_ENDPOINT_URL"
ENV_BUCKET = "SOCIALAUDIT_BUCKET"
ENV_TABLE = "SOCIALAUDIT_TABLE"
ENV_DISPATCH_QUEUE = "SOCIALAUDIT_DISPATCH_QUEUE_URL"
ENV_WORK_QUEUE = "SOCIALAUDIT_WORK_QUEUE_URL"
ENV_AGGREGATE_QUEUE = "SOCIALAUDIT_AGGREGATE_QUEUE_URL"
ENV_MAX_ATTEMPTS = "SOCIALAUDIT_MAX_ATTEMPTS"
ENV_BATCH_BYTES = "SOCIALAUDIT_BATCH_BYTES"

QueueName = Literal["dispatch", "work", "aggregate"]
QUEUES: tuple[QueueName, ...] = ("dispatch", "work", "aggregate")

ScanStatus = Literal["queued", "running", "succeeded", "failed"]

#: SQS's limit on one message, and on one SendMessageBatch call.
SQS_MAX_BYTES = 256 * 1024

#: How long an ``Idempotency-Key`` keeps returning the same scan (IETF draft: at least 24 h).
IDEMPOTENCY_TTL_S = 24 * 3600

#: Where, in the results bucket, the aws backend writes what a scan writes besides its result
#: (PII findings parts, redacted copies): the worker's IAM policy covers that bucket.
OUTPUTS_PREFIX = "outputs/"

#: Record formats a source object may hold, by file suffix.
FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
}


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class IdempotencyConflictError(AuditError):
    """An ``Idempotency-Key`` was reused with a different request body."""


# --------------------------------------------------------------------------------------------
# settings


class Settings(BaseModel):
    """Which backend to use and where its parts are; see :meth:`from_env`.

    Parameters
    ----------
    backend
        ``local`` (folder + SQLite + worker processes) or ``aws`` (S3 + DynamoDB + SQS).
    home
        Local data folder (``SOCIALAUDIT_HOME``; default ``~/.socialaudit``).
    workers
        Local worker processes (``SOCIALAUDIT_WORKERS``; default: the CPU count).
    endpoint_url
        Endpoint for S3, DynamoDB and SQS, e.g. a moto_server (``SOCIALAUDIT_AWS_ENDPOINT_URL``).
    region
        AWS region (``AWS_REGION``, else ``AWS_DEFAULT_REGION``, else ``us-east-1``).
    bucket, table, dispatch_queue_url, work_queue_url, aggregate_queue_url
        The AWS resources ``template.yaml`` creates; required with ``backend="aws"``.
    max_attempts
        Deliveries of one message before it is given up (SQS ``maxReceiveCount``).
    batch_bytes
        Target input bytes per batch: the dispatcher batches by bytes, not by message count.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: Literal["local", "aws"] = "local"
    home: Path = Field(default_factory=lambda: Path.home() / ".socialaudit")
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, le=256)
    endpoint_url: str | None = None
    region: str = "us-east-1"
    bucket: str | None = None
    table: str | None = None
    dispatch_queue_url: str | None = None
    work_queue_url: str | None = None
    aggregate_queue_url: str | None = None
    max_attempts: int = Field(default=3, ge=1, le=100)
    batch_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)

    @model_validator(mode="after")
    def _aws_complete(self) -> Settings:
        if self.backend == "aws":
            missing = [
                env
                for env, value in (
                    (ENV_BUCKET, self.bucket),
                    (ENV_TABLE, self.table),
                    (ENV_DISPATCH_QUEUE, self.dispatch_queue_url),
                    (ENV_WORK_QUEUE, self.work_queue_url),
                    (ENV_AGGREGATE_QUEUE, self.aggregate_queue_url),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"the aws backend needs {', '.join(missing)}")
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``SOCIALAUDIT_*`` variables; keyword arguments win over them.

        Raises
        ------
        ConfigError
            A variable holds a value that cannot be used (named in the message).
        """
        env = os.environ if env is None else env
        names = {
            "backend": ENV_BACKEND,
            "home": ENV_HOME,
            "workers": ENV_WORKERS,
            "endpoint_url": ENV_ENDPOINT,
            "bucket": ENV_BUCKET,
            "table": ENV_TABLE,
            "dispatch_queue_url": ENV_DISPATCH_QUEUE,
            "work_queue_url": ENV_WORK_QUEUE,
            "aggregate_queue_url": ENV_AGGREGATE_QUEUE,
            "max_attempts": ENV_MAX_ATTEMPTS,
            "batch_bytes": ENV_BATCH_BYTES,
        }
        values: dict[str, Any] = {k: env[v] for k, v in names.items() if env.get(v)}
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        if region:
            values["region"] = region
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**values)
        except ValidationError as exc:
            lines = []
            for err in exc.errors():
                key = str(err["loc"][0]) if err["loc"] else ""
                where = names.get(key, key)
                msg = err["msg"].removeprefix("Value error, ")
                lines.append(f"{where}: {msg}" if where else msg)
            raise ConfigError("settings: " + "; ".join(lines)) from None


# --------------------------------------------------------------------------------------------
# the scan record and the store interface


@dataclass(frozen=True)
class ScanRecord:
    """One scan as the scan table holds it.

    ``batches_total`` is ``None`` until the dispatcher has planned the batches;
    ``batches_finished`` counts batches done or failed, each exactly once.
    """

    id: str
    kind: str
    status: ScanStatus
    request: dict[str, Any]
    created_at: str
    updated_at: str
    batches_total: int | None = None
    batches_done: int = 0
    batches_failed: int = 0
    records_done: int = 0
    summary: dict[str, Any] | None = None
    error: str | None = None
    result_key: str | None = None

    @property
    def batches_finished(self) -> int:
        return self.batches_done + self.batches_failed

    @property
    def all_batches_finished(self) -> bool:
        return self.batches_total is not None and self.batches_finished >= self.batches_total


def request_hash(request: Mapping[str, Any]) -> str:
    """SHA-256 of a request's canonical JSON: same body, same hash."""
    text = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ScanStore(ABC):
    """The scan table and the blob store, as one object.

    Every method that changes a scan is atomic and safe to call again with the same arguments:
    the queue delivers at least once, so each step of a scan may run twice.
    """

    # -- scans ------------------------------------------------------------------------------

    @abstractmethod
    def create_scan(
        self, record: ScanRecord, idempotency_key: str | None = None
    ) -> tuple[ScanRecord, bool]:
        """Store a new scan, or return the scan already created under ``idempotency_key``.

        Returns
        -------
        (ScanRecord, bool)
            The scan, and whether this call created it.

        Raises
        ------
        IdempotencyConflictError
            The key was used before with a different request.
        """

    @abstractmethod
    def get_scan(self, scan_id: str) -> ScanRecord | None:
        """The scan, read consistently, or ``None``."""

    @abstractmethod
    def start_scan(self, scan_id: str, batches_total: int) -> ScanRecord | None:
        """Record the planned batch count: ``queued`` → ``running``.

        Also succeeds when the scan already runs with the same count (a repeated dispatch).
        Returns the scan after the change, or ``None`` when it is in no state to start.
        """

    @abstractmethod
    def finish_batch(
        self, scan_id: str, batch_id: int, *, records: int, error: str | None = None
    ) -> tuple[bool, ScanRecord]:
        """Count one batch as done (``error is None``) or failed, exactly once.

        Returns
        -------
        (bool, ScanRecord)
            Whether this call counted it (``False``: counted before), and the scan after it.
        """

    @abstractmethod
    def batch_finished(self, scan_id: str, batch_id: int) -> bool:
        """Whether the batch has been counted already (a redelivered message can be skipped)."""

    @abstractmethod
    def batch_errors(self, scan_id: str) -> dict[int, str]:
        """Failed batches of a scan and why."""

    @abstractmethod
    def claim_aggregation(self, scan_id: str, lease_s: float) -> ScanRecord | None:
        """Take the right to aggregate: all batches finished, no live lease held by another.

        Returns the scan when claimed, else ``None``.
        """

    @abstractmethod
    def release_aggregation(self, scan_id: str) -> None:
        """Give the lease back (the aggregator failed): the next delivery may aggregate at once."""

    @abstractmethod
    def complete_scan(
        self,
        scan_id: str,
        *,
        status: Literal["succeeded", "failed"],
        summary: dict[str, Any] | None = None,
        error: str | None = None,
        result_key: str | None = None,
    ) -> bool:
        """Move a queued or running scan to its final status; ``False`` if it already had one."""

    # -- blobs ------------------------------------------------------------------------------

    @abstractmethod
    def put_blob(self, key: str, data: bytes) -> None:
        """Store bytes under ``key`` (overwriting: every blob is a pure function of its key)."""

    @abstractmethod
    def get_blob(self, key: str) -> bytes:
        """The bytes stored under ``key``; :class:`KeyError` when there are none."""

    def put_json(self, key: str, doc: Any) -> None:
        """Store a JSON document."""
        self.put_blob(key, json.dumps(doc, sort_keys=True, allow_nan=False).encode("utf-8"))

    def get_json(self, key: str) -> Any:
        """Read a JSON document stored by :meth:`put_json`."""
        return json.loads(self.get_blob(key))


# --------------------------------------------------------------------------------------------
# local: SQLite + folder

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scans (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    request TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    batches_total INTEGER,
    batches_done INTEGER NOT NULL DEFAULT 0,
    batches_failed INTEGER NOT NULL DEFAULT 0,
    records_done INTEGER NOT NULL DEFAULT 0,
    lease_until REAL NOT NULL DEFAULT 0,
    summary TEXT,
    error TEXT,
    result_key TEXT
);
CREATE TABLE IF NOT EXISTS batches (
    scan_id TEXT NOT NULL,
    batch_id INTEGER NOT NULL,
    records INTEGER NOT NULL,
    error TEXT,
    PRIMARY KEY (scan_id, batch_id)
);
CREATE TABLE IF NOT EXISTS idempotency (
    key_hash TEXT PRIMARY KEY,
    scan_id TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    expires_at REAL NOT NULL
);
"""

_COLUMNS = (
    "id, kind, status, request, created_at, updated_at, batches_total, batches_done, "
    "batches_failed, records_done, summary, error, result_key"
)


class LocalStore(ScanStore):
    """Scans in SQLite (``scans.sqlite3``) and blobs as files, under one folder.

    Safe across processes: every change runs in a ``BEGIN IMMEDIATE`` transaction, which SQLite
    serialises with a file lock, and blobs are written to a temporary name and renamed.

    Parameters
    ----------
    home
        The data folder (created if missing).
    """

    def __init__(self, home: str | Path) -> None:
        self.home = Path(home)
        self.blobs = self.home / "blobs"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.db = self.home / "scans.sqlite3"
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.db, timeout=60, isolation_level=None)
        con.execute("PRAGMA busy_timeout=60000")
        return con

    def _write(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                out = fn(con)
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
            return out
        finally:
            con.close()

    @staticmethod
    def _record(row: Sequence[Any]) -> ScanRecord:
        return ScanRecord(
            id=row[0],
            kind=row[1],
            status=row[2],
            request=json.loads(row[3]),
            created_at=row[4],
            updated_at=row[5],
            batches_total=row[6],
            batches_done=row[7],
            batches_failed=row[8],
            records_done=row[9],
            summary=json.loads(row[10]) if row[10] else None,
            error=row[11],
            result_key=row[12],
        )

    def _get(self, con: sqlite3.Connection, scan_id: str) -> ScanRecord | None:
        row = con.execute(f"SELECT {_COLUMNS} FROM scans WHERE id = ?", (scan_id,)).fetchone()
        return self._record(row) if row else None

    def create_scan(
        self, record: ScanRecord, idempotency_key: str | None = None
    ) -> tuple[ScanRecord, bool]:
        rhash = request_hash(record.request)

        def tx(con: sqlite3.Connection) -> tuple[ScanRecord, bool]:
            now = time.time()
            if idempotency_key is not None:
                khash = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()
                row = con.execute(
                    "SELECT scan_id, request_hash FROM idempotency "
                    "WHERE key_hash = ? AND expires_at > ?",
                    (khash, now),
                ).fetchone()
                if row is not None:
                    if row[1] != rhash:
                        raise IdempotencyConflictError(_REUSED_KEY)
                    existing = self._get(con, row[0])
                    if existing is not None:
                        return existing, False
                con.execute(
                    "INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?)",
                    (khash, record.id, rhash, now + IDEMPOTENCY_TTL_S),
                )
            con.execute(
                "INSERT INTO scans (id, kind, status, request, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.kind,
                    record.status,
                    json.dumps(record.request, sort_keys=True),
                    record.created_at,
                    record.updated_at,
                ),
            )
            return record, True

        return cast(tuple[ScanRecord, bool], self._write(tx))

    def get_scan(self, scan_id: str) -> ScanRecord | None:
        con = self._connect()
        try:
            return self._get(con, scan_id)
        finally:
            con.close()

    def unfinished(self) -> list[str]:
        """Ids of scans still queued or running (the local queue lives in memory: after a
        restart their messages are gone, and :func:`audit.scans.resume` sends them again)."""
        con = self._connect()
        try:
            rows = con.execute(
                "SELECT id FROM scans WHERE status IN ('queued', 'running') ORDER BY created_at"
            ).fetchall()
            return [str(r[0]) for r in rows]
        finally:
            con.close()

    def start_scan(self, scan_id: str, batches_total: int) -> ScanRecord | None:
        def tx(con: sqlite3.Connection) -> ScanRecord | None:
            cur = con.execute(
                "UPDATE scans SET status = 'running', batches_total = ?, updated_at = ? "
                "WHERE id = ? AND (status = 'queued' "
                "OR (status = 'running' AND batches_total = ?))",
                (batches_total, _now_iso(), scan_id, batches_total),
            )
            return self._get(con, scan_id) if cur.rowcount else None

        return cast(ScanRecord | None, self._write(tx))

    def finish_batch(
        self, scan_id: str, batch_id: int, *, records: int, error: str | None = None
    ) -> tuple[bool, ScanRecord]:
        def tx(con: sqlite3.Connection) -> tuple[bool, ScanRecord]:
            cur = con.execute(
                "INSERT OR IGNORE INTO batches VALUES (?, ?, ?, ?)",
                (scan_id, batch_id, records, error),
            )
            counted = cur.rowcount == 1
            if counted:
                column = "batches_done" if error is None else "batches_failed"
                con.execute(
                    f"UPDATE scans SET {column} = {column} + 1, records_done = records_done + ?, "
                    "updated_at = ? WHERE id = ?",
                    (records, _now_iso(), scan_id),
                )
            scan = self._get(con, scan_id)
            if scan is None:
                raise KeyError(scan_id)
            return counted, scan

        return cast(tuple[bool, ScanRecord], self._write(tx))

    def batch_finished(self, scan_id: str, batch_id: int) -> bool:
        con = self._connect()
        try:
            row = con.execute(
                "SELECT 1 FROM batches WHERE scan_id = ? AND batch_id = ?", (scan_id, batch_id)
            ).fetchone()
            return row is not None
        finally:
            con.close()

    def batch_errors(self, scan_id: str) -> dict[int, str]:
        con = self._connect()
        try:
            rows = con.execute(
                "SELECT batch_id, error FROM batches WHERE scan_id = ? AND error IS NOT NULL "
                "ORDER BY batch_id",
                (scan_id,),
            ).fetchall()
            return {int(b): str(e) for b, e in rows}
        finally:
            con.close()

    def claim_aggregation(self, scan_id: str, lease_s: float) -> ScanRecord | None:
        def tx(con: sqlite3.Connection) -> ScanRecord | None:
            now = time.time()
            cur = con.execute(
                "UPDATE scans SET lease_until = ? WHERE id = ? AND status = 'running' "
                "AND batches_total IS NOT NULL "
                "AND batches_done + batches_failed >= batches_total AND lease_until < ?",
                (now + lease_s, scan_id, now),
            )
            return self._get(con, scan_id) if cur.rowcount else None

        return cast(ScanRecord | None, self._write(tx))

    def release_aggregation(self, scan_id: str) -> None:
        self._write(
            lambda con: con.execute(
                "UPDATE scans SET lease_until = 0 WHERE id = ? AND status = 'running'", (scan_id,)
            )
        )

    def complete_scan(
        self,
        scan_id: str,
        *,
        status: Literal["succeeded", "failed"],
        summary: dict[str, Any] | None = None,
        error: str | None = None,
        result_key: str | None = None,
    ) -> bool:
        def tx(con: sqlite3.Connection) -> bool:
            cur = con.execute(
                "UPDATE scans SET status = ?, summary = ?, error = ?, result_key = ?, "
                "updated_at = ?, lease_until = 0 "
                "WHERE id = ? AND status IN ('queued', 'running')",
                (
                    status,
                    json.dumps(summary, sort_keys=True) if summary is not None else None,
                    error,
                    result_key,
                    _now_iso(),
                    scan_id,
                ),
            )
            return cur.rowcount == 1

        return cast(bool, self._write(tx))

    def _path(self, key: str) -> Path:
        path = (self.blobs / key).resolve()
        if not path.is_relative_to(self.blobs.resolve()):
            raise ValueError(f"blob key leaves the data folder: {key!r}")
        return path

    def put_blob(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)

    def get_blob(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None


_REUSED_KEY = (
    "Idempotency-Key was already used with a different request body: "
    "send the same body to get the same scan, or use a new key for a new scan"
)

# --------------------------------------------------------------------------------------------
# AWS: DynamoDB + S3


def aws_clients(settings: Settings) -> dict[str, Any]:
    """boto3 clients for S3, DynamoDB and SQS, pointed at ``settings.endpoint_url`` if set."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": 5},
        s3={"addressing_style": "path"} if settings.endpoint_url else None,
    )
    kw: dict[str, Any] = {"region_name": settings.region, "config": config}
    if settings.endpoint_url:
        kw["endpoint_url"] = settings.endpoint_url
    return {name: boto3.client(name, **kw) for name in ("s3", "dynamodb", "sqs")}  # type: ignore[call-overload]


def _scan_key(scan_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"SCAN#{scan_id}"}, "sk": {"S": "META"}}


def _error_code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _cancel_reasons(exc: Exception) -> list[str]:
    reasons = getattr(exc, "response", {}).get("CancellationReasons") or []
    return [str(r.get("Code", "")) for r in reasons]


class AwsStore(ScanStore):
    """Scans in one DynamoDB table (``pk``/``sk`` strings) and blobs in one S3 bucket.

    Items: ``SCAN#<id>/META`` (the scan, with ADD counters), ``SCAN#<id>/BATCH#<n>`` (one per
    counted batch), ``IDEMPOTENCY#<sha256(key)>/META`` (``Idempotency-Key`` → scan). A batch is
    counted by one transaction that puts its item only if absent *and* adds to the counters, so
    a redelivered batch can never be counted twice.

    Parameters
    ----------
    bucket, table
        Names of the bucket and table ``template.yaml`` creates.
    s3, dynamodb
        boto3 clients (injected, so tests and moto_server can supply their own).
    """

    def __init__(self, bucket: str, table: str, *, s3: Any, dynamodb: Any) -> None:
        self.bucket = bucket
        self.table = table
        self.s3 = s3
        self.ddb = dynamodb

    @staticmethod
    def _record(item: Mapping[str, Any]) -> ScanRecord:
        def s(name: str) -> str | None:
            v = item.get(name)
            return v["S"] if v and "S" in v else None

        def n(name: str) -> int | None:
            v = item.get(name)
            return int(v["N"]) if v and "N" in v else None

        summary = s("summary")
        return ScanRecord(
            id=str(s("scan_id")),
            kind=str(s("kind")),
            status=cast(ScanStatus, s("status")),
            request=json.loads(s("request") or "{}"),
            created_at=str(s("created_at")),
            updated_at=str(s("updated_at")),
            batches_total=n("batches_total"),
            batches_done=n("batches_done") or 0,
            batches_failed=n("batches_failed") or 0,
            records_done=n("records_done") or 0,
            summary=json.loads(summary) if summary else None,
            error=s("error"),
            result_key=s("result_key"),
        )

    def _transact(self, items: list[dict[str, Any]]) -> list[str] | None:
        """Run a transaction; ``None`` on success, else the cancellation reason codes.

        A ``TransactionConflict`` (another transaction touched the same item, e.g. a batch
        counter) is retried with jittered back-off; only condition failures are returned.
        """
        for attempt in range(12):
            try:
                self.ddb.transact_write_items(TransactItems=items)
                return None
            except Exception as exc:
                if _error_code(exc) != "TransactionCanceledException":
                    raise
                reasons = _cancel_reasons(exc)
                if "ConditionalCheckFailed" in reasons:
                    return reasons
                if attempt == 11:
                    raise
                time.sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))
        raise AssertionError("unreachable")

    def create_scan(
        self, record: ScanRecord, idempotency_key: str | None = None
    ) -> tuple[ScanRecord, bool]:
        rhash = request_hash(record.request)
        scan_item = {
            **_scan_key(record.id),
            "scan_id": {"S": record.id},
            "kind": {"S": record.kind},
            "status": {"S": record.status},
            "request": {"S": json.dumps(record.request, sort_keys=True)},
            "created_at": {"S": record.created_at},
            "updated_at": {"S": record.updated_at},
            "batches_done": {"N": "0"},
            "batches_failed": {"N": "0"},
            "batches_finished": {"N": "0"},
            "records_done": {"N": "0"},
            "lease_until": {"N": "0"},
        }
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": scan_item,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        key: dict[str, Any] | None = None
        if idempotency_key is not None:
            khash = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()
            key = {"pk": {"S": f"IDEMPOTENCY#{khash}"}, "sk": {"S": "META"}}
        for _ in range(20):
            now = int(time.time())
            if key is not None:
                items[1:] = [
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": {
                                **key,
                                "scan_id": {"S": record.id},
                                "request_hash": {"S": rhash},
                                "expiration": {"N": str(now + IDEMPOTENCY_TTL_S)},
                            },
                            # DynamoDB deletes expired items lazily: an expired one is absent.
                            "ConditionExpression": "attribute_not_exists(pk) OR expiration < :now",
                            "ExpressionAttributeValues": {":now": {"N": str(now)}},
                        }
                    }
                ]
            if self._transact(items) is None:
                return record, True
            if key is None:
                raise RuntimeError(f"scan id collision: {record.id}")
            got = self.ddb.get_item(TableName=self.table, Key=key, ConsistentRead=True)
            item = got.get("Item")
            if item is None or int(item["expiration"]["N"]) < now:
                continue  # the holder expired or vanished between our write and our read
            if item["request_hash"]["S"] != rhash:
                raise IdempotencyConflictError(_REUSED_KEY)
            existing = self.get_scan(item["scan_id"]["S"])
            if existing is not None:
                return existing, False
        raise RuntimeError("could not create the scan: the Idempotency-Key item kept changing")

    def get_scan(self, scan_id: str) -> ScanRecord | None:
        got = self.ddb.get_item(TableName=self.table, Key=_scan_key(scan_id), ConsistentRead=True)
        item = got.get("Item")
        return self._record(item) if item else None

    def _update(self, scan_id: str, **kw: Any) -> ScanRecord | None:
        try:
            out = self.ddb.update_item(
                TableName=self.table, Key=_scan_key(scan_id), ReturnValues="ALL_NEW", **kw
            )
        except Exception as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise
        return self._record(out["Attributes"])

    def start_scan(self, scan_id: str, batches_total: int) -> ScanRecord | None:
        return self._update(
            scan_id,
            UpdateExpression="SET #s = :running, batches_total = :n, updated_at = :t",
            ConditionExpression="#s = :queued OR (#s = :running AND batches_total = :n)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":running": {"S": "running"},
                ":queued": {"S": "queued"},
                ":n": {"N": str(batches_total)},
                ":t": {"S": _now_iso()},
            },
        )

    def finish_batch(
        self, scan_id: str, batch_id: int, *, records: int, error: str | None = None
    ) -> tuple[bool, ScanRecord]:
        marker: dict[str, Any] = {
            "pk": {"S": f"SCAN#{scan_id}"},
            "sk": {"S": f"BATCH#{batch_id:08d}"},
            "records": {"N": str(records)},
        }
        if error is not None:
            marker["error"] = {"S": error[:2000]}
        column = "batches_done" if error is None else "batches_failed"
        reasons = self._transact(
            [
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": marker,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _scan_key(scan_id),
                        "UpdateExpression": f"ADD {column} :one, batches_finished :one, "
                        "records_done :r SET updated_at = :t",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": {
                            ":one": {"N": "1"},
                            ":r": {"N": str(records)},
                            ":t": {"S": _now_iso()},
                        },
                    }
                },
            ]
        )
        scan = self.get_scan(scan_id)
        if scan is None:
            raise KeyError(scan_id)
        return reasons is None, scan

    def batch_finished(self, scan_id: str, batch_id: int) -> bool:
        got = self.ddb.get_item(
            TableName=self.table,
            Key={"pk": {"S": f"SCAN#{scan_id}"}, "sk": {"S": f"BATCH#{batch_id:08d}"}},
            ConsistentRead=True,
            ProjectionExpression="pk",
        )
        return "Item" in got

    def batch_errors(self, scan_id: str) -> dict[int, str]:
        out: dict[int, str] = {}
        kw: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :b)",
            "FilterExpression": "attribute_exists(#e)",
            "ExpressionAttributeNames": {"#e": "error"},
            "ExpressionAttributeValues": {":pk": {"S": f"SCAN#{scan_id}"}, ":b": {"S": "BATCH#"}},
            "ConsistentRead": True,
        }
        while True:
            page = self.ddb.query(**kw)
            for item in page.get("Items", []):
                out[int(item["sk"]["S"].removeprefix("BATCH#"))] = item["error"]["S"]
            if "LastEvaluatedKey" not in page:
                return out
            kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def claim_aggregation(self, scan_id: str, lease_s: float) -> ScanRecord | None:
        now = time.time()
        return self._update(
            scan_id,
            UpdateExpression="SET lease_until = :until",
            ConditionExpression="#s = :running AND batches_finished >= batches_total "
            "AND lease_until < :now",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":running": {"S": "running"},
                ":until": {"N": repr(now + lease_s)},
                ":now": {"N": repr(now)},
            },
        )

    def release_aggregation(self, scan_id: str) -> None:
        self._update(
            scan_id,
            UpdateExpression="SET lease_until = :zero",
            ConditionExpression="#s = :running",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":zero": {"N": "0"}, ":running": {"S": "running"}},
        )

    def complete_scan(
        self,
        scan_id: str,
        *,
        status: Literal["succeeded", "failed"],
        summary: dict[str, Any] | None = None,
        error: str | None = None,
        result_key: str | None = None,
    ) -> bool:
        sets = ["#s = :status", "updated_at = :t", "lease_until = :zero"]
        names = {"#s": "status"}
        values: dict[str, Any] = {
            ":status": {"S": status},
            ":t": {"S": _now_iso()},
            ":zero": {"N": "0"},
            ":queued": {"S": "queued"},
            ":running": {"S": "running"},
        }
        for name, value in (
            ("summary", json.dumps(summary, sort_keys=True) if summary is not None else None),
            ("error", error),
            ("result_key", result_key),
        ):
            if value is not None:
                sets.append(f"#{name} = :{name}")  # ERROR is a DynamoDB reserved word
                values[f":{name}"] = {"S": value}
                names[f"#{name}"] = name
        done = self._update(
            scan_id,
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression="#s IN (:queued, :running)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
        return done is not None

    def put_blob(self, key: str, data: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)

    def get_blob(self, key: str) -> bytes:
        try:
            return cast(bytes, self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except Exception as exc:
            if _error_code(exc) in ("NoSuchKey", "404"):
                raise KeyError(key) from None
            raise


# --------------------------------------------------------------------------------------------
# queues


class Queue(ABC):
    """At-least-once delivery of JSON message bodies to the ``dispatch``, ``work`` and
    ``aggregate`` queues."""

    @abstractmethod
    def send(self, queue: QueueName, bodies: Sequence[dict[str, Any]]) -> None:
        """Enqueue ``bodies`` on ``queue``."""


class SqsQueue(Queue):
    """The three queues as SQS queues (``send_message_batch``, ten at a time).

    Parameters
    ----------
    urls
        Queue URL per logical queue.
    sqs
        A boto3 SQS client.
    """

    def __init__(self, urls: Mapping[QueueName, str], *, sqs: Any) -> None:
        self.urls = dict(urls)
        self.sqs = sqs

    def send(self, queue: QueueName, bodies: Sequence[dict[str, Any]]) -> None:
        url = self.urls[queue]
        texts = [json.dumps(body, sort_keys=True) for body in bodies]
        # SendMessageBatch takes at most 10 messages and 256 KiB in all.
        groups: list[list[str]] = []
        size = 0
        for text in texts:
            n = len(text.encode("utf-8"))
            if n > SQS_MAX_BYTES:
                raise ValueError(f"a {queue} message of {n} bytes is over SQS's {SQS_MAX_BYTES}")
            if not groups or len(groups[-1]) == 10 or size + n > SQS_MAX_BYTES:
                groups.append([])
                size = 0
            groups[-1].append(text)
            size += n
        for group in groups:
            pending = {str(j): text for j, text in enumerate(group)}
            for attempt in range(6):
                out = self.sqs.send_message_batch(
                    QueueUrl=url,
                    Entries=[{"Id": k, "MessageBody": v} for k, v in pending.items()],
                )
                failed = out.get("Failed") or []
                pending = {f["Id"]: pending[f["Id"]] for f in failed}
                if not pending:
                    break
                if attempt == 5 or any(f.get("SenderFault") for f in failed):
                    raise RuntimeError(
                        f"SQS refused {len(pending)} message(s) to {queue}: {failed}"
                    )
                time.sleep(0.1 * 2**attempt)


class CollectingQueue(Queue):
    """Collects what is sent, for a caller to deliver (a local worker process hands its
    follow-up messages back to the parent this way)."""

    def __init__(self) -> None:
        self.sent: list[tuple[QueueName, dict[str, Any]]] = []

    def send(self, queue: QueueName, bodies: Sequence[dict[str, Any]]) -> None:
        self.sent.extend((queue, dict(b)) for b in bodies)


# The child side of LocalQueue: one backend per worker process, built once.
_CHILD_BACKEND: Backend | None = None

#: Thread-pool variables of the numeric libraries (OpenBLAS, MKL, OpenMP, numexpr).
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def _child_init(threads: int) -> None:
    # N processes each starting a BLAS thread per core oversubscribe the CPU: measured here, two
    # PII workers on two cores ran no faster than one. The cores are shared out instead; a
    # variable the user set wins.
    for var in _THREAD_VARS:
        os.environ.setdefault(var, str(threads))


def _child_run(settings_json: str, queue: QueueName, body: dict[str, Any], attempt: int) -> Any:
    global _CHILD_BACKEND
    from audit import scans

    if _CHILD_BACKEND is None or _CHILD_BACKEND.settings.model_dump_json() != settings_json:
        settings = Settings.model_validate_json(settings_json)
        _CHILD_BACKEND = Backend(
            settings=settings,
            store=LocalStore(settings.home),
            queue=CollectingQueue(),
            sources=Sources(allow_local=True, settings=settings),
        )
    collector = cast(CollectingQueue, _CHILD_BACKEND.queue)
    collector.sent.clear()
    scans.handle(_CHILD_BACKEND, queue, body, attempt=attempt)
    return list(collector.sent)


@dataclass
class _Delivery:
    queue: QueueName
    body: dict[str, Any]
    attempt: int = 1


class LocalQueue(Queue):
    """An in-process queue served by N worker processes: SQS semantics on a laptop.

    A message whose handler raises is delivered again, up to ``settings.max_attempts`` times
    (as SQS redelivers up to ``maxReceiveCount``); a worker process that dies takes down the
    pool, which is rebuilt and the messages in flight delivered again. Messages a handler sends
    are returned to this process and enqueued here.

    Parameters
    ----------
    settings
        Local settings; ``settings.workers`` processes are started on first use.
    on_give_up
        Called with a message delivered ``max_attempts`` times without success (the local
        dead-letter queue); by default it is kept in :attr:`dead_letters`.
    """

    def __init__(
        self,
        settings: Settings,
        on_give_up: Callable[[_Delivery, BaseException], None] | None = None,
    ) -> None:
        self.settings = settings
        self._settings_json = settings.model_dump_json()
        self.dead_letters: list[tuple[QueueName, dict[str, Any], str]] = []
        self._on_give_up = on_give_up
        self._inbox: _queue.SimpleQueue[_Delivery | None] = _queue.SimpleQueue()
        self._pool: ProcessPoolExecutor | None = None
        self._in_flight = 0
        self._lock = threading.Condition()
        self._feeder: threading.Thread | None = None
        self._closed = False

    def _new_pool(self) -> ProcessPoolExecutor:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn, not fork: the parent is a threaded web server.
        ctx = multiprocessing.get_context("spawn")
        threads = max(1, (os.cpu_count() or 1) // self.settings.workers)
        return ProcessPoolExecutor(
            max_workers=self.settings.workers,
            mp_context=ctx,
            initializer=_child_init,
            initargs=(threads,),
        )

    def send(self, queue: QueueName, bodies: Sequence[dict[str, Any]]) -> None:
        if self._closed:
            raise RuntimeError("the local queue is closed")
        with self._lock:
            if self._feeder is None:
                self._pool = self._new_pool()
                self._feeder = threading.Thread(
                    target=self._feed, name="socialaudit-local-queue", daemon=True
                )
                self._feeder.start()
            self._in_flight += len(bodies)
        for body in bodies:
            self._inbox.put(_Delivery(queue, dict(body)))

    def _feed(self) -> None:
        from concurrent.futures.process import BrokenProcessPool

        while (d := self._inbox.get()) is not None:
            while True:
                pool = self._pool
                assert pool is not None
                try:
                    fut = pool.submit(_child_run, self._settings_json, d.queue, d.body, d.attempt)
                    break
                except BrokenProcessPool:
                    self._rebuild(pool)
            fut.add_done_callback(functools.partial(self._done, d=d))

    def _rebuild(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:
                # A broken pool has already failed every future it held; nothing to cancel.
                broken.shutdown(wait=False)
                self._pool = self._new_pool()

    def _done(self, fut: Future[Any], *, d: _Delivery) -> None:
        from concurrent.futures.process import BrokenProcessPool

        # Runs on the pool's management thread; whatever happens, the message is accounted
        # for, or join() would wait for ever.
        try:
            exc: BaseException | None
            if fut.cancelled():
                exc = BrokenProcessPool("cancelled with its worker pool")
            else:
                exc = fut.exception()
            if exc is None:
                follow = fut.result()
                with self._lock:
                    self._in_flight += len(follow)
                for queue, body in follow:
                    self._inbox.put(_Delivery(queue, body))
            elif d.attempt < self.settings.max_attempts:
                # A worker process that died (killed, out of memory) breaks its pool: every
                # message in flight there comes back, counted as a delivery as SQS would count
                # it, and the feeder builds a new pool on its next submit. (Not here: this runs
                # under the broken pool's lock, and shutting it down from here deadlocks.)
                with self._lock:
                    self._in_flight += 1
                # Like an SQS visibility timeout: a failed message comes back after a pause.
                delay = min(0.25 * 2 ** (d.attempt - 1), 10.0)
                again = replace(d, attempt=d.attempt + 1)
                timer = threading.Timer(delay, self._inbox.put, (again,))
                timer.daemon = True
                timer.start()
            elif self._on_give_up is not None:
                self._on_give_up(d, exc)
            else:
                self.dead_letters.append((d.queue, d.body, f"{type(exc).__name__}: {exc}"))
        finally:
            with self._lock:
                self._in_flight -= 1
                self._lock.notify_all()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until no message is queued or being handled; ``False`` on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._in_flight:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def close(self) -> None:
        """Stop the feeder and the worker processes (messages in flight are dropped)."""
        self._closed = True
        if self._feeder is not None:
            self._inbox.put(None)
            self._feeder.join(timeout=5)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------------------------------
# sources


@dataclass(frozen=True)
class SourceObject:
    """One object (file) of a source: where it is, how big it is, what it holds."""

    uri: str
    size: int
    format: str | None


def _format_of(name: str) -> str | None:
    return FORMATS.get(Path(name).suffix.lower())


def _split_s3(uri: str) -> tuple[str, str]:
    rest = uri.removeprefix("s3://")
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise ConfigError(f"not an s3:// URI with a bucket: {uri!r}")
    return bucket, key


@dataclass
class Sources:
    """Access to the data a scan reads — local paths (local mode) and ``s3://`` URIs — and the
    rules for where it may write outputs of its own (PII findings, redacted copies).

    Parameters
    ----------
    allow_local
        Whether local paths may be read and written (``False`` on AWS: a Lambda has no user
        files).
    settings
        For the S3 client's region and endpoint.
    s3
        A boto3 S3 client; built from ``settings`` on first use when not given.
    """

    allow_local: bool
    settings: Settings = field(default_factory=lambda: Settings())
    s3: Any = None

    def _client(self) -> Any:
        if self.s3 is None:
            self.s3 = aws_clients(self.settings)["s3"]
        return self.s3

    def s3_client(self) -> Any:
        """The boto3 S3 client sources are read with, for writers to use too."""
        return self._client()

    def check_destination(self, uri: str, field: str, *, source: str) -> None:
        """Refuse a place this backend must not write a scan's outputs to.

        On the aws backend outputs go under ``s3://<results bucket>/outputs/`` only — the one
        place the worker's IAM policy lets it write. Locally, an ``s3://`` URI or an absolute
        folder outside ``$SOCIALAUDIT_HOME``. Never inside ``source``: the next scan of it
        would read the outputs as posts.

        Raises
        ------
        ConfigError
            Naming ``field``, the URI and what to give instead.
        """
        where = f"{field} {uri!r}"
        if uri.startswith("s3://"):
            bucket, key = _split_s3(uri)
            if self.settings.backend == "aws" and (
                bucket != self.settings.bucket or not key.startswith(OUTPUTS_PREFIX)
            ):
                raise ConfigError(
                    f"{where}: on AWS a scan writes under s3://{self.settings.bucket}/"
                    f"{OUTPUTS_PREFIX} only (the results bucket, which the workers may write); "
                    f"give e.g. s3://{self.settings.bucket}/{OUTPUTS_PREFIX}{field}/"
                )
            if source.startswith("s3://"):
                src_bucket, src_prefix = _split_s3(source)
                if bucket == src_bucket and key.startswith(src_prefix):
                    raise ConfigError(
                        f"{where}: inside the source {source}; a later scan would read the "
                        "outputs as posts: give a prefix outside it"
                    )
            return
        if "://" in uri:
            raise ConfigError(f"{where}: give an s3:// URI or, in local mode, a local folder")
        if not self.allow_local:
            raise ConfigError(f"{where}: the aws backend writes s3:// URIs only, not local paths")
        path = Path(uri)
        if not path.is_absolute():
            raise ConfigError(
                f"{where}: give an absolute path (the server's working folder is not yours)"
            )
        if path.is_file():
            raise ConfigError(f"{where}: a file is there; give a folder")
        resolved = path.resolve()
        home = Path(self.settings.home).resolve()
        if resolved == home or home in resolved.parents:
            raise ConfigError(f"{where}: inside the server's data folder {home}: give another")
        if "://" not in source and Path(source).is_dir():
            src = Path(source).resolve()
            if resolved == src or src in resolved.parents:
                raise ConfigError(
                    f"{where}: inside the source {source}; a later scan would read the "
                    "outputs as posts: give a folder outside it"
                )

    def check(self, uri: str, field: str = "source") -> None:
        """Refuse an input this backend cannot read, naming the field and what to give."""
        if uri.startswith("s3://"):
            _split_s3(uri)
            return
        if "://" in uri:
            raise ConfigError(f"{field} {uri!r}: give a local path or an s3:// URI")
        if not self.allow_local:
            raise ConfigError(
                f"{field} {uri!r}: the aws backend reads s3:// URIs only, not local paths"
            )

    def list(self, uri: str) -> list[SourceObject]:
        """Every object of a source (a file, a folder, an S3 key or prefix), sorted by URI."""
        self.check(uri)
        if uri.startswith("s3://"):
            bucket, prefix = _split_s3(uri)
            out = []
            pages = (
                self._client()
                .get_paginator("list_objects_v2")
                .paginate(Bucket=bucket, Prefix=prefix)
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    key = obj["Key"]
                    if key.endswith("/"):
                        continue
                    out.append(SourceObject(f"s3://{bucket}/{key}", obj["Size"], _format_of(key)))
            return sorted(out, key=lambda o: o.uri)
        path = Path(uri)
        if path.is_file():
            return [SourceObject(str(path), path.stat().st_size, _format_of(path.name))]
        if path.is_dir():
            files = [p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")]
            return sorted(
                (SourceObject(str(p), p.stat().st_size, _format_of(p.name)) for p in files),
                key=lambda o: o.uri,
            )
        raise DataError("source not found: give an existing file or folder", file=uri)

    def open(self, uri: str, start: int = 0) -> BinaryIO:
        """A binary stream of the object from byte ``start`` (an S3 ranged GET)."""
        self.check(uri)
        if uri.startswith("s3://"):
            bucket, key = _split_s3(uri)
            kw: dict[str, Any] = {"Bucket": bucket, "Key": key}
            if start:
                kw["Range"] = f"bytes={start}-"
            try:
                body = self._client().get_object(**kw)["Body"]
            except Exception as exc:
                if _error_code(exc) in ("NoSuchKey", "404", "NoSuchBucket"):
                    raise DataError("object not found", file=uri) from None
                raise
            return cast(BinaryIO, _StreamingReader(body))
        try:
            f = open(uri, "rb")  # noqa: SIM115 - returned to the caller, who closes it
        except FileNotFoundError:
            raise DataError("file not found", file=uri) from None
        f.seek(start)
        return f


class _StreamingReader(io.RawIOBase):
    """A botocore StreamingBody as a file object (``read``, ``readinto``, ``close``)."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self._body.read(len(b))
        b[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()


def iter_chunks(stream: BinaryIO, size: int = 1 << 20) -> Iterator[bytes]:
    """Read a stream in chunks until it ends."""
    while chunk := stream.read(size):
        yield chunk


# --------------------------------------------------------------------------------------------
# the backend


@dataclass
class Backend:
    """A store, a queue and the sources, chosen together by :func:`make_backend`."""

    settings: Settings
    store: ScanStore
    queue: Queue
    sources: Sources

    def close(self) -> None:
        """Stop local worker processes, if any."""
        if isinstance(self.queue, LocalQueue):
            self.queue.close()


def make_backend(
    settings: Settings | None = None, *, clients: Mapping[str, Any] | None = None
) -> Backend:
    """The backend ``settings`` names (default: :meth:`Settings.from_env`).

    Parameters
    ----------
    settings
        Which backend, and where its parts are.
    clients
        boto3 clients ``s3``, ``dynamodb``, ``sqs`` to use instead of building them.
    """
    settings = settings or Settings.from_env()
    if settings.backend == "local":
        return Backend(
            settings=settings,
            store=LocalStore(settings.home),
            queue=LocalQueue(settings),
            sources=Sources(allow_local=True, settings=settings),
        )
    c = dict(clients) if clients is not None else aws_clients(settings)
    assert settings.bucket and settings.table
    urls: dict[QueueName, str] = {
        "dispatch": str(settings.dispatch_queue_url),
        "work": str(settings.work_queue_url),
        "aggregate": str(settings.aggregate_queue_url),
    }
    return Backend(
        settings=settings,
        store=AwsStore(settings.bucket, settings.table, s3=c["s3"], dynamodb=c["dynamodb"]),
        queue=SqsQueue(urls, sqs=c["sqs"]),
        sources=Sources(allow_local=False, settings=settings, s3=c["s3"]),
    )

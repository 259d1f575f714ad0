"""The local store: scans in SQLite and blobs as files, under ``$SOCIALAUDIT_HOME``."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, cast

from audit.storage._store import (
    _ACTIVE_MESSAGE,
    _REUSED_KEY,
    ACTIVE_STATUSES,
    IDEMPOTENCY_TTL_S,
    IdempotencyConflictError,
    ScanActiveError,
    ScanFilter,
    ScanPage,
    ScanRecord,
    ScanStore,
    _now_iso,
    decode_cursor,
    encode_cursor,
    page_limit,
    request_hash,
)

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
CREATE INDEX IF NOT EXISTS scans_newest ON scans (created_at, id);
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

    # -- listing, cancelling, deleting (issue 16) -------------------------------------------

    def list_scans(
        self, where: ScanFilter | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> ScanPage:
        where = where or ScanFilter()
        limit = page_limit(limit)
        conds, args = [], []
        if where.kind is not None:
            conds.append("kind = ?")
            args.append(where.kind)
        if where.status is not None:
            conds.append("status = ?")
            args.append(where.status)
        if cursor:
            created_at, scan_id = decode_cursor(cursor)
            conds.append("(created_at < ? OR (created_at = ? AND id < ?))")
            args += [created_at, created_at, scan_id]
        sql = f"SELECT {_COLUMNS} FROM scans"
        if conds:
            sql += " WHERE " + " AND ".join(conds)
        sql += " ORDER BY created_at DESC, id DESC"
        con = self._connect()
        try:
            kept: list[ScanRecord] = []
            for row in con.execute(sql, args):  # the name filter is ScanFilter's own
                scan = self._record(row)
                if where.keeps(scan):
                    kept.append(scan)
                    if len(kept) > limit:
                        break
        finally:
            con.close()
        more = len(kept) > limit
        return ScanPage(kept[:limit], encode_cursor(kept[limit - 1]) if more else None)

    def cancel_scan(self, scan_id: str) -> ScanRecord | None:
        def tx(con: sqlite3.Connection) -> ScanRecord | None:
            con.execute(
                "UPDATE scans SET status = 'cancelled', updated_at = ?, lease_until = 0 "
                "WHERE id = ? AND status IN ('queued', 'running')",
                (_now_iso(), scan_id),
            )
            return self._get(con, scan_id)

        return cast(ScanRecord | None, self._write(tx))

    def delete_scan(self, scan_id: str) -> bool:
        def tx(con: sqlite3.Connection) -> bool:
            scan = self._get(con, scan_id)
            if scan is None:
                return False
            if scan.status in ACTIVE_STATUSES:
                raise ScanActiveError(_ACTIVE_MESSAGE.format(scan_id, scan.status, scan_id))
            con.execute("DELETE FROM batches WHERE scan_id = ?", (scan_id,))
            con.execute("DELETE FROM idempotency WHERE scan_id = ?", (scan_id,))
            con.execute("DELETE FROM scans WHERE id = ?", (scan_id,))
            return True

        return cast(bool, self._write(tx))

    def delete_blobs(self, prefix: str) -> int:
        if not prefix.endswith("/"):
            raise ValueError(f"a blob prefix ends in '/': {prefix!r}")
        folder = self._path(prefix.rstrip("/"))
        if not folder.is_dir():
            return 0
        n = sum(1 for p in folder.rglob("*") if p.is_file())
        shutil.rmtree(folder, ignore_errors=True)
        return n

"""The scan record, and the :class:`ScanStore` interface every store implements."""

from __future__ import annotations

import base64
import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from audit.exceptions import AuditError

ScanStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]

#: Statuses of a scan still in flight: it can be cancelled, not deleted.
ACTIVE_STATUSES: tuple[ScanStatus, ...] = ("queued", "running")
#: Statuses :meth:`ScanStore.list_scans` filters on.
SCAN_STATUSES: tuple[ScanStatus, ...] = ("queued", "running", "succeeded", "failed", "cancelled")
#: Most scans one :meth:`ScanStore.list_scans` page holds.
MAX_PAGE = 200

#: How long an ``Idempotency-Key`` keeps returning the same scan (IETF draft: at least 24 h).
IDEMPOTENCY_TTL_S = 24 * 3600

_REUSED_KEY = (
    "Idempotency-Key was already used with a different request body: "
    "send the same body to get the same scan, or use a new key for a new scan"
)


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class IdempotencyConflictError(AuditError):
    """An ``Idempotency-Key`` was reused with a different request body."""


class ScanActiveError(AuditError):
    """A queued or running scan cannot be deleted: cancel it first."""


@dataclass(frozen=True)
class ScanPage:
    """One page of :meth:`ScanStore.list_scans`: newest first, and where the next starts."""

    scans: list[ScanRecord]
    next_cursor: str | None


@dataclass(frozen=True)
class ScanFilter:
    """What :meth:`ScanStore.list_scans` keeps: every given criterion must hold.

    ``name`` matches a case-insensitive substring of the scan's ``name``.
    """

    kind: str | None = None
    status: ScanStatus | None = None
    name: str | None = None

    def keeps(self, scan: ScanRecord) -> bool:
        """Whether ``scan`` passes (the one definition; stores that filter in the database
        must agree with it)."""
        if self.kind is not None and scan.kind != self.kind:
            return False
        if self.status is not None and scan.status != self.status:
            return False
        if self.name:
            return self.name.casefold() in (scan.name or "").casefold()
        return True


_ACTIVE_MESSAGE = "scan {} is {}: cancel it first (POST /scans/{}/cancel), then delete it"


def page_limit(limit: int) -> int:
    """``limit`` checked: 1 to :data:`MAX_PAGE`."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit: between 1 and {MAX_PAGE}, got {limit}")
    return limit


def encode_cursor(scan: ScanRecord) -> str:
    """An opaque cursor after ``scan`` in newest-first order (``created_at``, then ``id``)."""
    raw = json.dumps([scan.created_at, scan.id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    """``(created_at, id)`` of a cursor from :func:`encode_cursor`.

    Raises
    ------
    ValueError
        Not a cursor this store gave out.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, scan_id = json.loads(raw)
    except Exception:
        raise ValueError("cursor: not a cursor a page of GET /scans gave") from None
    if not isinstance(created_at, str) or not isinstance(scan_id, str):
        raise ValueError("cursor: not a cursor a page of GET /scans gave")
    return created_at, scan_id


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
    def name(self) -> str | None:
        """The scan's name, as its request gave it."""
        value = self.request.get("name")
        return value if isinstance(value, str) else None

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

    # -- listing, cancelling, deleting (issue 16: the console and GET /scans) -----------------

    @abstractmethod
    def list_scans(
        self, where: ScanFilter | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> ScanPage:
        """Scans newest first (``created_at``, then ``id``), ``limit`` at a time.

        Parameters
        ----------
        where
            What to keep (default: every scan).
        limit
            Most scans on the page (1 to :data:`MAX_PAGE`).
        cursor
            ``next_cursor`` of the page before (default: the first page).

        Raises
        ------
        ValueError
            A cursor this store did not give out.
        """

    @abstractmethod
    def cancel_scan(self, scan_id: str) -> ScanRecord | None:
        """Move a queued or running scan to ``cancelled``; ``None`` if it has no such scan.

        Returns the scan after the call (unchanged when it had finished already). Workers drop
        the batches of a scan that is not running, and no aggregator can claim it.
        """

    @abstractmethod
    def delete_scan(self, scan_id: str) -> bool:
        """Delete a finished scan's record, batch markers and ``Idempotency-Key`` entry.

        Its blobs are deleted by :meth:`delete_blobs` (the scan layer knows their keys:
        :func:`audit.scans.delete_scan` does both). Returns ``False`` when there is no such scan.

        Raises
        ------
        ScanActiveError
            The scan is queued or running (cancel it first).
        """

    @abstractmethod
    def delete_blobs(self, prefix: str) -> int:
        """Delete every blob whose key starts with ``prefix`` (ending in ``/``); returns how
        many. Deleting what is not there is no error."""

"""Cancelling and deleting scans (``POST /scans/{id}/cancel``, ``DELETE /scans/{id}``).

A cancelled scan stops where it is: the dispatcher plans nothing for it, workers drop its
batches still queued (:func:`audit.scans.run_batch` runs only batches of a running scan), no
aggregator can claim it, and a batch already running finishes but changes nothing. A scan is
deleted only once it has stopped (succeeded, failed or cancelled): deleting a running one is
refused (cancel it first), so no worker writes a partial after its scan is gone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audit.storage import ScanRecord

if TYPE_CHECKING:
    from audit.storage import Backend

__all__ = ["cancel_scan", "delete_scan", "scan_prefix"]


def scan_prefix(scan_id: str) -> str:
    """The blob prefix of everything stored for a scan: plan, partials, result, reports."""
    return f"scans/{scan_id}/"


def cancel_scan(backend: Backend, scan_id: str) -> ScanRecord | None:
    """Cancel a queued or running scan; the scan after the call, ``None`` if there is none.

    Cancelling a scan that has finished changes nothing (the record says how it ended).
    """
    return backend.store.cancel_scan(scan_id)


def delete_scan(backend: Backend, scan_id: str) -> bool:
    """Delete a finished scan and everything stored for it; ``False`` if there is none.

    The blobs go first and the record last, so a delete cut short can be sent again.

    Raises
    ------
    audit.storage.ScanActiveError
        The scan is queued or running: cancel it first.
    """
    from audit.storage import ACTIVE_STATUSES, ScanActiveError

    scan = backend.store.get_scan(scan_id)
    if scan is None:
        return False
    if scan.status in ACTIVE_STATUSES:
        raise ScanActiveError(
            f"scan {scan_id} is {scan.status}: cancel it first "
            f"(POST /scans/{scan_id}/cancel), then delete it"
        )
    backend.store.delete_blobs(scan_prefix(scan_id))
    return backend.store.delete_scan(scan_id)

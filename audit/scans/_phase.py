"""Where a scan is in its life, as the API and the console show it: one phase, from the record.

============== =================================================================== ==========
phase          when                                                                fraction
============== =================================================================== ==========
``queued``     stored; the dispatcher has not yet planned its batches              ``None``
``running``    ``k`` of ``n`` batches finished                                     k / (n+1)
``aggregating`` every batch finished: merging, applying the policy, rendering      n / (n+1)
``rendering``  succeeded, a report still being rendered (a report state other than n / (n+1)
               ``ok`` or ``unavailable: …``)
``done``       succeeded, every report rendered or known to be unavailable          1.0
``failed``     failed (``error`` says why)                                         as it was
``cancelled``  cancelled before it finished                                        as it was
============== =================================================================== ==========

The aggregation counts as one step after the batches, so the fraction reaches 1.0 only when
the scan is done — never while its result is merged or its reports rendered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from audit.storage import ScanRecord

__all__ = ["PHASES", "Phase", "ScanPhase", "scan_phase"]

Phase = Literal["queued", "running", "aggregating", "rendering", "done", "failed", "cancelled"]

#: Phases in the order a scan goes through them (``failed``/``cancelled`` end it early).
PHASES: tuple[Phase, ...] = ("queued", "running", "aggregating", "rendering", "done")

_LABELS: dict[Phase, str] = {
    "queued": "queued: waiting for the dispatcher to plan its batches",
    "running": "running: {k} of {n} batches finished",
    "aggregating": "aggregating: merging {n} batch results, applying the policy, rendering reports",
    "rendering": "rendering reports",
    "done": "done",
    "failed": "failed",
    "cancelled": "cancelled",
}


@dataclass(frozen=True)
class ScanPhase:
    """A scan's phase, a one-line label for people, and the fraction of its steps done."""

    phase: Phase
    label: str
    fraction: float | None


def _rendering(scan: ScanRecord) -> bool:
    reports = (scan.summary or {}).get("reports") or {}
    return any(
        isinstance(v, str) and v != "ok" and not v.startswith("unavailable")
        for v in reports.values()
    )


def scan_phase(scan: ScanRecord) -> ScanPhase:
    """The phase of ``scan`` (see the module docstring)."""
    n = scan.batches_total
    k = scan.batches_finished
    steps = None if n is None else n + 1
    so_far = None if steps is None else round(min(k, n or 0) / steps, 4)
    phase: Phase
    if scan.status == "queued":
        phase, fraction = "queued", None
    elif scan.status == "running":
        phase = "aggregating" if scan.all_batches_finished else "running"
        fraction = so_far
    elif scan.status == "succeeded":
        phase = "rendering" if _rendering(scan) else "done"
        fraction = 1.0 if phase == "done" else so_far
    else:
        phase, fraction = scan.status, so_far
    return ScanPhase(phase, _LABELS[phase].format(k=k, n=n), fraction)

"""What each kind of scan does at each step: the :class:`BatchJob` protocol and one job per kind,
in :data:`JOBS`.

An audit kind that runs as one batch (``scan="batch"`` in its registry entry) needs no code here:
:class:`WholeAuditJob` runs its run function. A fan-out kind has a job of its own: ``pii``
(:mod:`audit.scans._pii_job`); ``inventory`` is the scan-only kind the fan-out is tested with.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from audit.kinds import REGISTRY, AuditKind, Registry
from audit.records import get_path
from audit.scans._messages import Unit
from audit.scans._pii_job import PiiJob
from audit.scans._records import (
    ReadStats,
    _plan_source,
    _read_block,
    _sum_reads,
    read_records,
)
from audit.scans._requests import AuditRequest, InventoryScan
from audit.storage import Sources


class BatchJob(Protocol):
    """What one kind of scan does at each step of the fan-out."""

    def prepare(self, request: Any) -> None:
        """Heavy validation the API cannot afford (loading a PII config); raise AuditError."""

    def plan(
        self, request: Any, sources: Sources, batch_bytes: int
    ) -> tuple[list[list[Unit]], list[dict[str, str]]]:
        """Batches to run and objects skipped."""

    def run(self, request: Any, units: list[Unit], sources: Sources) -> tuple[dict[str, Any], int]:
        """One batch → (JSON-able partial result, records processed)."""

    def merge(self, request: Any, partials: list[dict[str, Any]]) -> dict[str, Any]:
        """Partial results, in batch order → the result document."""


class InventoryJob:
    """The ``inventory`` kind: what is there, before paying for a PII scan."""

    def prepare(self, request: InventoryScan) -> None:
        return None

    def plan(
        self, request: InventoryScan, sources: Sources, batch_bytes: int
    ) -> tuple[list[list[Unit]], list[dict[str, str]]]:
        return _plan_source(request, sources, batch_bytes)

    def run(
        self, request: InventoryScan, units: list[Unit], sources: Sources
    ) -> tuple[dict[str, Any], int]:
        stats = ReadStats()
        with_text = chars = longest = 0
        for record in read_records(units, sources, stats):
            text = get_path(record, request.text_field)
            if isinstance(text, str):
                with_text += 1
                chars += len(text)
                longest = max(longest, len(text))
        partial = {
            "read": _read_block(stats),
            "with_text": with_text,
            "text_chars": chars,
            "longest_text": longest,
        }
        return partial, stats.records

    def merge(self, request: InventoryScan, partials: list[dict[str, Any]]) -> dict[str, Any]:
        read = _sum_reads(partials)
        with_text = sum(p["with_text"] for p in partials)
        counts = {
            "objects": read["objects"],
            "bytes": read["bytes"],
            "records": read["records"],
            "records_with_text": with_text,
            "records_without_text": read["records"] - with_text,
            "records_unreadable": read["unreadable"],
            "text_chars": sum(p["text_chars"] for p in partials),
            "longest_text": max((p["longest_text"] for p in partials), default=0),
        }
        return {
            "kind": "inventory",
            "settings": {"source": request.source, "text_field": request.text_field},
            "summary": [{"metric": k, "value": v} for k, v in counts.items()],
            "problems": read["problems"],
        }


class WholeAuditJob:
    """One batch that runs a whole audit with its kind's run function; its document is the
    result. Records processed: what the kind counts (:meth:`audit.kinds.AuditKind.records`)."""

    def __init__(self, kind: AuditKind[Any]) -> None:
        self.kind = kind

    def prepare(self, request: AuditRequest) -> None:
        return None

    def plan(
        self, request: AuditRequest, sources: Sources, batch_bytes: int
    ) -> tuple[list[list[Unit]], list[dict[str, str]]]:
        return [[]], []

    def run(
        self, request: AuditRequest, units: list[Unit], sources: Sources
    ) -> tuple[dict[str, Any], int]:
        doc = _as_written(self.kind.run(request.to_spec(), None))
        return doc, self.kind.records(doc)

    def merge(self, request: AuditRequest, partials: list[dict[str, Any]]) -> dict[str, Any]:
        return partials[0]


def _as_written(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The document as ``--out`` writes it (plain JSON: no NaN, no numpy types)."""
    from audit.results import dumps

    return dict(json.loads(dumps(doc)))


#: The jobs of the kinds that fan out, by kind.
FANOUT_JOBS: dict[str, BatchJob] = {"inventory": InventoryJob(), "pii": PiiJob()}


def make_jobs(registry: Registry = REGISTRY) -> dict[str, BatchJob]:
    """Scan kind → its job: the fan-out ones, and a whole-audit batch for the other kinds."""
    jobs = {"inventory": FANOUT_JOBS["inventory"]}
    for name, kind in registry.items():
        if kind.scan == "fanout":
            if name not in FANOUT_JOBS:
                raise ValueError(f"audit kind {name!r} fans out but has no job in FANOUT_JOBS")
            jobs[name] = FANOUT_JOBS[name]
        else:
            jobs[name] = WholeAuditJob(kind)
    return jobs


JOBS: dict[str, BatchJob] = make_jobs()

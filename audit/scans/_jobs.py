"""What each kind of scan does at each step: the :class:`BatchJob` protocol and one job per kind,
in :data:`JOBS` (``pii`` is in :mod:`audit.scans._pii_job`)."""

from __future__ import annotations

import json
from typing import Any, Protocol

from audit.records import get_path
from audit.runner import AuditSpec
from audit.scans._messages import Unit
from audit.scans._pii_job import PiiJob
from audit.scans._records import (
    ReadStats,
    _plan_source,
    _read_block,
    _sum_reads,
    read_records,
)
from audit.scans._requests import AuditScan, FaceScan, InventoryScan, RecommendationScan
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


class _WholeAuditJob:
    """One batch that runs a whole audit; its document is the result."""

    def prepare(self, request: Any) -> None:
        return None

    def plan(
        self, request: Any, sources: Sources, batch_bytes: int
    ) -> tuple[list[list[Unit]], list[dict[str, str]]]:
        return [[]], []

    def merge(self, request: Any, partials: list[dict[str, Any]]) -> dict[str, Any]:
        return partials[0]


def _as_written(doc: dict[str, Any]) -> dict[str, Any]:
    """The document as ``--out`` writes it (plain JSON: no NaN, no numpy types)."""
    from audit.results import dumps

    return dict(json.loads(dumps(doc)))


#: Request fields that are not settings of the audit itself.
_SCAN_ONLY = {"kind", "name", "policy"}


class AuditJob(_WholeAuditJob):
    """``classification`` and ``moderation``: one batch running the whole audit."""

    def run(
        self, request: AuditScan, units: list[Unit], sources: Sources
    ) -> tuple[dict[str, Any], int]:
        from audit.runner import run_audit

        spec = AuditSpec(**request.model_dump(exclude={"policy"}))
        doc = _as_written(run_audit(spec))
        return doc, int(doc.get("overall", {}).get("n", 0))


class RecommendationJob(_WholeAuditJob):
    """``recommendation``: :func:`audit.runner.run_recommendation`; records = users evaluated."""

    def run(
        self, request: RecommendationScan, units: list[Unit], sources: Sources
    ) -> tuple[dict[str, Any], int]:
        from audit.runner import run_recommendation

        doc = _as_written(run_recommendation(**request.model_dump(exclude=_SCAN_ONLY)))
        return doc, int(doc.get("overall", {}).get("n", 0))


class FaceJob(_WholeAuditJob):
    """``face``: :func:`audit.runner.run_face`, with no embedding cache; records = pairs
    compared (genuine and impostor)."""

    def run(
        self, request: FaceScan, units: list[Unit], sources: Sources
    ) -> tuple[dict[str, Any], int]:
        from audit.runner import run_face

        doc = _as_written(run_face(**request.model_dump(exclude=_SCAN_ONLY), cache_dir=None))
        overall = doc.get("overall", {})
        return doc, int(overall.get("positives", 0)) + int(overall.get("negatives", 0))


JOBS: dict[str, BatchJob] = {
    "inventory": InventoryJob(),
    "pii": PiiJob(),
    "classification": AuditJob(),
    "moderation": AuditJob(),
    "recommendation": RecommendationJob(),
    "face": FaceJob(),
}

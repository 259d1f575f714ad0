"""Reading a batch's units through :class:`audit.records.ObjectReader` (the reader the CLI uses),
planning a source's batches by bytes, and the ``read`` block a batch's partial reports."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audit.exceptions import DataError
from audit.records import DEFAULT_MAX_RECORD_BYTES, ObjectReader, Record
from audit.scans._messages import _UNIT_OVERHEAD, MAX_MESSAGE_BYTES, MAX_UNITS_PER_BATCH, Unit
from audit.scans._requests import _SourceScan
from audit.storage import SourceObject, Sources

#: Problems listed per batch and per result (all are counted).
MAX_PROBLEMS = 20


@dataclass
class ReadStats:
    """What reading a batch's units found, besides the records themselves."""

    objects: int = 0
    bytes: int = 0
    records: int = 0
    unreadable: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)

    def problem(self, uri: str, index: int, where: str, code: str, reason: str) -> None:
        # Never the record itself: it may hold the very PII being looked for.
        self.unreadable += index != 0
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append({"object": uri, "where": where, "code": code, "reason": reason})

    def tap(self, unit: Unit, records: Iterable[Record]) -> Iterator[Record]:
        """``records`` unchanged, each counted: readable, or a problem."""
        for r in records:
            if r.data is not None:
                self.records += 1
            else:
                if r.index == 0:
                    where = "file"
                elif unit.format == "jsonl" and r.offset is not None:
                    where = f"byte {r.offset}"
                else:
                    where = f"row {r.index}"
                self.problem(unit.uri, r.index, where, str(r.reason), str(r.detail or r.reason))
            yield r


def open_unit(
    unit: Unit, sources: Sources, *, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
) -> ObjectReader:
    """The reader of one unit: a whole object, or a byte range of a JSON-lines object."""
    return ObjectReader(
        lambda at: sources.open(unit.uri, at),
        unit.format,
        max_record_bytes=max_record_bytes,
        start=unit.start,
        end=unit.end if unit.format == "jsonl" else None,
    )


def read_records(
    units: Iterable[Unit],
    sources: Sources,
    stats: ReadStats,
    *,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
) -> Iterator[dict[str, Any]]:
    """Stream the records of ``units``; unreadable lines are counted in ``stats``, not raised.

    Memory does not grow with the object: lines and rows are read through a bounded buffer,
    and a record longer than ``max_record_bytes`` is skipped without being held.
    """
    for unit in units:
        stats.objects += unit.start == 0  # an object split into ranges counts once
        with open_unit(unit, sources, max_record_bytes=max_record_bytes) as reader:
            for record in stats.tap(unit, reader):
                if record.data is not None:
                    yield record.data
            reader.finish()
        stats.bytes += reader.bytes_read


def plan_units(
    objects: Iterable[SourceObject],
    batch_bytes: int,
    max_units: int = MAX_UNITS_PER_BATCH,
    *,
    split: bool = True,
) -> tuple[list[list[Unit]], list[dict[str, str]]]:
    """Cut a source's objects into batches of about ``batch_bytes`` input bytes.

    A JSON-lines object larger than ``batch_bytes`` becomes byte ranges, one batch each (with
    ``split=False``, when each object must be read whole, it is one batch of its own);
    smaller objects are grouped until the next would pass ``batch_bytes``. Objects in no known
    format are returned as skipped, with the reason.

    Returns
    -------
    (batches, skipped)
    """
    batches: list[list[Unit]] = []
    skipped: list[dict[str, str]] = []
    current: list[Unit] = []
    size = text = 0
    for obj in objects:
        if obj.format is None:
            suffix = Path(obj.uri).suffix or "(none)"
            skipped.append(
                {
                    "object": obj.uri,
                    "reason": f"unknown format {suffix}: use .jsonl, .csv, .tsv or .parquet",
                }
            )
            continue
        fmt: Any = obj.format
        if split and fmt == "jsonl" and obj.size > batch_bytes:
            for start in range(0, obj.size, batch_bytes):
                end = min(start + batch_bytes, obj.size)
                batches.append([Unit(uri=obj.uri, format=fmt, start=start, end=end, size=obj.size)])
            continue
        unit_text = len(obj.uri.encode("utf-8")) + _UNIT_OVERHEAD
        if current and (
            size + obj.size > batch_bytes
            or len(current) >= max_units
            or text + unit_text > MAX_MESSAGE_BYTES
        ):
            batches.append(current)
            current, size, text = [], 0, 0
        current.append(Unit(uri=obj.uri, format=fmt, size=obj.size))
        size += obj.size
        text += unit_text
    if current:
        batches.append(current)
    return batches, skipped


def _plan_source(
    request: _SourceScan, sources: Sources, batch_bytes: int
) -> tuple[list[list[Unit]], list[dict[str, str]]]:
    batches, skipped = plan_units(sources.list(request.source), batch_bytes)
    if not batches:
        raise DataError(
            "no .jsonl, .csv, .tsv or .parquet objects here: check the path or prefix",
            file=request.source,
        )
    return batches, skipped


def _sum_reads(partials: list[dict[str, Any]]) -> dict[str, Any]:
    problems: list[dict[str, Any]] = []
    total = {"objects": 0, "bytes": 0, "records": 0, "unreadable": 0}
    for p in partials:
        read = p.get("read", {})
        for k in total:
            total[k] += int(read.get(k, 0))
        problems.extend(read.get("problems", [])[: max(0, MAX_PROBLEMS * 5 - len(problems))])
    return {**total, "problems": problems}


def _read_block(stats: ReadStats) -> dict[str, Any]:
    return {
        "objects": stats.objects,
        "bytes": stats.bytes,
        "records": stats.records,
        "unreadable": stats.unreadable,
        "problems": stats.problems,
    }

"""Reading records unit by unit (JSON lines by byte range, CSV/TSV, Parquet), planning a source's
batches by bytes, and the ``read`` block a batch's partial reports."""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audit.exceptions import DataError
from audit.scans._messages import _UNIT_OVERHEAD, MAX_MESSAGE_BYTES, MAX_UNITS_PER_BATCH, Unit
from audit.scans._requests import _SourceScan
from audit.storage import SourceObject, Sources, iter_chunks

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
    #: The Arrow schema of each Parquet object read, by URI (redacted copies keep it).
    schemas: dict[str, Any] = field(default_factory=dict)
    #: Every problem as ``(object, index, reason code, detail)``: index 0 is the whole object,
    #: else the line or row within the unit. Codes are :mod:`audit.pii`'s skip reasons.
    skips: list[tuple[str, int, str, str]] = field(default_factory=list)

    def problem(self, uri: str, index: int, where: str, code: str, reason: str) -> None:
        # Never the record itself: it may hold the very PII being looked for.
        self.unreadable += index != 0
        self.skips.append((uri, index, code, f"{where}: {reason}"))
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append({"object": uri, "where": where, "reason": reason})


def _lines(chunks: Iterable[bytes], offset: int) -> Iterator[tuple[int, bytes]]:
    """``(offset of the line's first byte, line without its newline)`` for a byte stream."""
    buf = b""
    pos = offset
    for chunk in chunks:
        buf += chunk
        start = 0
        while (nl := buf.find(b"\n", start)) >= 0:
            yield pos, buf[start:nl]
            pos += nl + 1 - start
            start = nl + 1
        buf = buf[start:]
    if buf:
        yield pos, buf


def _read_jsonl(unit: Unit, sources: Sources, stats: ReadStats) -> Iterator[dict[str, Any]]:
    # Hadoop's rule for splits: start one byte early and drop the first (partial) line, so a
    # line that begins exactly at `start` is ours and a line begun before it is the previous
    # range's.
    begin = max(unit.start - 1, 0)
    stream = sources.open(unit.uri, begin)
    index = 0
    try:
        first = unit.start > 0
        for pos, raw in _lines(iter_chunks(stream), begin):
            if first:
                first = False
                continue
            if unit.end is not None and pos >= unit.end:
                break
            stats.bytes += len(raw) + 1
            index += 1
            line = raw.strip()
            if not line:
                continue
            where = f"byte {pos}"
            try:
                record = json.loads(line)
            except UnicodeDecodeError:
                stats.problem(unit.uri, index, where, "undecodable", "not UTF-8 text")
                continue
            except json.JSONDecodeError as exc:
                stats.problem(
                    unit.uri, index, where, "malformed_json", f"malformed JSON ({exc.msg})"
                )
                continue
            if not isinstance(record, dict):
                stats.problem(unit.uri, index, where, "not_an_object", "a JSON line, not an object")
                continue
            stats.records += 1
            yield record
    finally:
        stream.close()


def _read_csv(unit: Unit, sources: Sources, stats: ReadStats) -> Iterator[dict[str, Any]]:
    stream = sources.open(unit.uri)
    text = codecs.getreader("utf-8")(stream, "strict")
    reader = csv.DictReader(text, delimiter="\t" if unit.format == "tsv" else ",")
    stats.bytes += unit.size
    try:
        for record in reader:
            stats.records += 1
            yield record
    except UnicodeDecodeError:
        row = reader.line_num + 1
        stats.problem(unit.uri, row, f"row {row}", "undecodable", "not UTF-8 text; rest skipped")
    except csv.Error as exc:
        row = reader.line_num
        stats.problem(unit.uri, row, f"row {row}", "malformed_csv", f"{exc}; rest skipped")
    finally:
        stream.close()


def _read_parquet(unit: Unit, sources: Sources, stats: ReadStats) -> Iterator[dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    stream = sources.open(unit.uri)
    try:
        data = stream.read()
    finally:
        stream.close()
    stats.bytes += len(data)
    try:
        pf = pq.ParquetFile(io.BytesIO(data))
        stats.schemas[unit.uri] = pf.schema_arrow
        for batch in pf.iter_batches(batch_size=2048):
            for record in batch.to_pylist():
                stats.records += 1
                yield record
    except (pa.ArrowException, OSError) as exc:
        stats.problem(
            unit.uri, 0, "file", "unreadable_parquet", f"not a readable Parquet file ({exc})"
        )


_READERS = {"jsonl": _read_jsonl, "csv": _read_csv, "tsv": _read_csv, "parquet": _read_parquet}


def read_records(
    units: Iterable[Unit], sources: Sources, stats: ReadStats
) -> Iterator[dict[str, Any]]:
    """Stream the records of ``units``; unreadable lines are counted in ``stats``, not raised.

    Memory does not grow with the object: JSON lines and CSV are read in 1 MiB chunks.
    """
    for unit in units:
        stats.objects += unit.start == 0  # an object split into ranges counts once
        if unit.size == 0 and unit.start == 0:
            stats.problem(unit.uri, 0, "file", "empty_file", "the file is empty")
            continue
        yield from _READERS[unit.format](unit, sources, stats)


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


def _field(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


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

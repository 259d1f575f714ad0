"""Parquet: rows in record batches, from a seekable file (an S3 body is spooled to one)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from audit.records._record import Record


def open_parquet(file: Any) -> tuple[Any, Record | None]:
    """``(ParquetFile, None)``, or ``(None, the skip)`` when it is not readable Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(file), None
    except (pa.ArrowException, OSError) as exc:
        skip = Record(0, reason="unreadable_parquet", detail=f"not Parquet ({type(exc).__name__})")
        return None, skip


def parquet_records(pf: Any) -> Iterator[Record]:
    """Every row as a dict; an error mid-file skips the rest of the object."""
    import pyarrow as pa

    index = 0
    try:
        for batch in pf.iter_batches(batch_size=1024):
            for row in batch.to_pylist():
                index += 1
                yield Record(index, data=row)
    except (pa.ArrowException, OSError) as exc:
        yield Record(
            index + 1,
            reason="unreadable_parquet",
            detail=f"{type(exc).__name__} from this row on; the rest of the file is not read",
        )

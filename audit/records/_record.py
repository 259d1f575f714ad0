"""What the reader hands out: a record, or the reason one could not be read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from audit.records._skips import SkipReason


@dataclass(slots=True)
class Record:
    """A record of an object, or why it was skipped.

    Attributes
    ----------
    index
        1-based: the line of a JSON-lines object (blank lines count, as an editor counts
        them; in a byte range, the line within the range), the data row of a CSV or TSV
        object (the header and blank lines do not count), the row of a Parquet object.
        0 when the whole object is skipped.
    data
        The record, or ``None`` when it was skipped.
    reason, detail
        Why it was skipped (a code of :data:`~audit.records.SKIP_REASONS`) and a detail that
        names what is wrong, never the record's text.
    offset
        Byte offset of the record's first byte in its object (``None`` for Parquet).
    """

    index: int
    data: dict[str, Any] | None = None
    reason: SkipReason | None = None
    detail: str | None = None
    offset: int | None = None

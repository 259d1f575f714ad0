"""One streaming reader of stored records, for the CLI and the fan-out alike.

Bytes stream in — a local file, an S3 object, a byte range of one — and records or skip
reasons come out: JSON Lines, CSV, TSV and Parquet, a UTF-8 byte order mark read past, a
record longer than ``max_record_bytes`` skipped without being held in memory (no
``csv.field_size_limit``, which is process-wide), every bad line skipped and counted, never
raised. :func:`get_path` and :func:`set_path` reach nested fields by dotted path.

Examples
--------
>>> import io
>>> from audit.records import ObjectReader
>>> data = b'id,text\\n1,"two\\nlines"\\n2,a,b\\n'
>>> with ObjectReader(lambda at: io.BytesIO(data[at:]), "csv") as reader:
...     [(r.index, r.data or r.reason) for r in reader]
[(1, {'id': '1', 'text': 'two\\nlines'}), (2, 'malformed_csv')]
"""

from __future__ import annotations

from audit.records._lines import BOM, Readable
from audit.records._paths import MISSING, get_path, is_missing, set_path
from audit.records._reader import Format, ObjectReader, Opener
from audit.records._record import Record
from audit.records._skips import (
    DEFAULT_MAX_RECORD_BYTES,
    HEAD_BYTES,
    MAX_DEPTH,
    SKIP_REASONS,
    SkipReason,
)

__all__ = [
    "BOM",
    "DEFAULT_MAX_RECORD_BYTES",
    "HEAD_BYTES",
    "MAX_DEPTH",
    "MISSING",
    "SKIP_REASONS",
    "Format",
    "ObjectReader",
    "Opener",
    "Readable",
    "Record",
    "SkipReason",
    "get_path",
    "is_missing",
    "set_path",
]

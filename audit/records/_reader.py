"""The one reader of stored records: an object's bytes in, records or skip reasons out."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Generator, Iterator
from types import TracebackType
from typing import Any, Literal

from audit.records._csv import csv_records
from audit.records._jsonl import jsonl_records
from audit.records._lines import BOM, DRAIN_BYTES, Lines, Readable, Tally, looks_binary, read_head
from audit.records._parquet import open_parquet, parquet_records
from audit.records._record import Record
from audit.records._skips import DEFAULT_MAX_RECORD_BYTES

Format = Literal["jsonl", "csv", "tsv", "parquet"]
#: Opens the object at a byte offset: ``open_at(0)`` for the whole object.
Opener = Callable[[int], Readable]

_DELIMITERS = {"csv": ",", "tsv": "\t"}


def _close(stream: Any) -> None:
    close = getattr(stream, "close", None)
    if close is not None:
        close()


class ObjectReader:
    """Stream the records of one object — or of one byte range of a JSON-lines object.

    Bad input never raises: every record that cannot be read is a :class:`Record` with a
    ``reason`` (:data:`~audit.records.SKIP_REASONS`) and the rest is read on; an object that
    cannot be read at all is one such record with index 0. Memory is bounded by
    ``max_record_bytes``: a longer record is skipped without being held.

    Parameters
    ----------
    open_at
        Opens the object at a byte offset (a file seeked there, an S3 ranged GET).
    fmt
        ``jsonl``, ``csv``, ``tsv`` or ``parquet``.
    max_record_bytes
        The longest line (JSONL) or row (CSV, TSV) read, in bytes.
    start, end
        JSON lines only: read the lines that *begin* in ``[start, end)``. By Hadoop's rule
        the range is opened one byte early and its first (partial) line dropped, so ranges
        that tile an object read each of its lines exactly once. Their indices count from
        the range's first line.

    Examples
    --------
    >>> import io
    >>> data = b'\\xef\\xbb\\xbf{"text": "hi"}\\n[1]\\n'
    >>> with ObjectReader(lambda at: io.BytesIO(data[at:]), "jsonl") as reader:
    ...     [(r.index, r.data or r.reason) for r in reader]
    [(1, {'text': 'hi'}), (2, 'not_an_object')]
    >>> reader.bytes_read == len(data)
    True
    """

    def __init__(
        self,
        open_at: Opener,
        fmt: Format,
        *,
        max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
        start: int = 0,
        end: int | None = None,
    ) -> None:
        if fmt not in ("jsonl", "csv", "tsv", "parquet"):
            raise ValueError(f"no reader for format {fmt!r}")
        if (start or end is not None) and fmt != "jsonl":
            raise ValueError("only JSON lines are read by byte range")
        self.fmt = fmt
        self.start = start
        self.end = end
        self.max_record_bytes = max_record_bytes
        #: The Arrow schema of a Parquet object, once it is open.
        self.schema: Any = None
        self.sha256: str | None = None
        self._open_at = open_at
        self._tally = Tally()
        self._stream: Any = None
        self._spool: Any = None
        self._lines: Lines | None = None
        self._setup_done = False
        self._skip: Record | None = None  # why the object (or range) has no records
        self._parquet: Any = None
        self._records: Generator[Record, None, None] = self._read()

    # -- what was read --

    @property
    def bytes_read(self) -> int:
        """Bytes of the object read so far: for a byte range, the bytes of its own lines."""
        return self._tally.bytes

    def __iter__(self) -> Iterator[Record]:
        return self._records

    def __enter__(self) -> ObjectReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- reading --

    def _setup(self) -> None:
        """Open the object, look at its first bytes, skip a range's partial first line."""
        self._setup_done = True
        if self.fmt == "parquet":
            self._setup_parquet()
            return
        begin = max(self.start - 1, 0)
        self._stream = self._open_at(begin)
        lines = self._lines = Lines(self._stream, offset=begin, tally=self._tally)
        if self.start == 0:
            head = lines.head.removeprefix(BOM)
            if not head:
                self._skip = Record(0, reason="empty_file", detail="the file is empty")
            elif looks_binary(head):
                self._skip = Record(
                    0,
                    reason="binary_file",
                    detail=f"NUL bytes: not {self.fmt} text in the utf-8 encoding "
                    "(save it as utf-8)",
                )
            return
        # A later range: the first range reports a binary object, once; this one reads none.
        first = self._open_at(0)
        try:
            binary = looks_binary(read_head(first).removeprefix(BOM))
        finally:
            _close(first)
        lines.skip(count=False)  # the end of a line begun before ``start``: not ours
        if binary:
            self._skip = Record(0, reason="binary_file")

    def _setup_parquet(self) -> None:
        stream: Any = self._open_at(0)
        self._stream = stream
        seekable = getattr(stream, "seekable", None)
        if seekable is not None and seekable():
            file = stream
            while data := stream.read(DRAIN_BYTES):
                self._tally.add(data)
            stream.seek(0)
        else:  # Parquet needs random access: spool to a temporary file
            file = self._spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
            while data := stream.read(DRAIN_BYTES):
                self._tally.add(data)
                file.write(data)
            file.seek(0)
        if not self._tally.bytes:
            self._skip = Record(0, reason="empty_file", detail="the file is empty")
            return
        self._parquet, self._skip = open_parquet(file)
        if self._parquet is not None:
            self.schema = self._parquet.schema_arrow

    def _read(self) -> Generator[Record, None, None]:
        self._setup()
        if self._skip is not None:
            if self.start == 0:
                yield self._skip
            return
        if self.fmt == "parquet":
            yield from parquet_records(self._parquet)
            return
        assert self._lines is not None
        if self.fmt == "jsonl":
            yield from jsonl_records(self._lines, self.end, self.max_record_bytes)
        else:
            yield from csv_records(self._lines, _DELIMITERS[self.fmt], self.max_record_bytes)

    def finish(self) -> None:
        """Stop reading records; read past the rest of the object (of the range) so its hash
        and size are complete — a sampled object is still hashed in full — and close it."""
        self._records.close()
        if not self._setup_done:
            self._setup()
        lines = self._lines
        if lines is not None:
            while (self.end is None or lines.offset < self.end) and lines.skip():
                pass
        self.sha256 = self._tally.hexdigest()
        self.close()

    def close(self) -> None:
        """Close the object without reading on (``finish`` for a complete hash)."""
        self._records.close()
        for f in (self._spool, self._stream):
            if f is not None:
                _close(f)
        self._spool = self._stream = None

"""CSV and TSV without :mod:`csv`: records that span lines, any field size, no global state.

Python's :mod:`csv` caps every field at ``csv.field_size_limit()`` (128 KiB) and the only way
to raise it is process-wide. This reader splits records itself, bounded by the record limit
(``max_record_bytes``), and reads fields as :mod:`csv`'s default dialect does (``"`` quotes,
``""`` an escaped quote, newlines inside quotes, text after a closing quote kept, a quote
inside an unquoted field kept).

Rules, beyond :mod:`csv`:

* the header is the first non-blank row; a blank row is no record;
* a row with more or fewer fields than the header is skipped (``malformed_csv``): its fields
  cannot be matched to columns with any confidence, and a text cut at a stray delimiter
  would be scanned in part;
* a quote never closed runs to the end of the object; that last record is skipped
  (``malformed_csv``, or ``record_too_large`` once it passes the limit) — :mod:`csv` keeps it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from audit.records._lines import BOM, DRAIN_BYTES, Lines
from audit.records._record import Record
from audit.records._skips import SkipReason

_QUOTE = ord('"')
# States of the field scanner.
_START, _UNQUOTED, _QUOTED, _QUOTE_IN_QUOTED = 0, 1, 2, 3


class _Dialect:
    def __init__(self, delimiter: bytes) -> None:
        d = re.escape(delimiter)
        self.delimiter = delimiter
        self.special = re.compile(b'["' + d + b"]")
        # A well-formed row, each field after a delimiter: quoted ("" an escaped quote) or
        # plain without quotes. Most rows are; they are read by these two C-speed regexes.
        field = b'(?:"([^"]*(?:""[^"]*)*)"|([^"' + d + b"]*))"
        self._row = re.compile(b"(?:" + d + field + b")+")
        self._field = re.compile(d + field)
        self._checked = b""

    def _simple(self, row: bytes) -> list[bytes] | None:
        line = self.delimiter + row
        if line != self._checked and self._row.fullmatch(line) is None:
            return None
        return [q.replace(b'""', b'"') if q else u for q, u in self._field.findall(line)]

    def advance(self, data: bytes, state: int) -> int:
        """The scanner's state after ``data`` (only quoting matters for where a row ends)."""
        if state == _START and data.endswith(b"\n"):
            line = self.delimiter + data.rstrip(b"\r\n")
            if self._row.fullmatch(line):
                self._checked = line  # :meth:`fields` need not match it again
                return _UNQUOTED  # a whole row on one line: it ends here
        if b'"' not in data:
            if state == _QUOTED or not data:
                return state
            last = data.rfind(self.delimiter)
            if last < 0:
                return _UNQUOTED  # plain bytes: a field begun, or text after a closing quote
            return _START if last == len(data) - 1 else _UNQUOTED
        pos = 0
        for m in self.special.finditer(data):
            i = m.start()
            if i > pos and state in (_START, _QUOTE_IN_QUOTED):
                state = _UNQUOTED
            if data[i] == _QUOTE:
                if state == _START:
                    state = _QUOTED
                elif state == _QUOTED:
                    state = _QUOTE_IN_QUOTED
                elif state == _QUOTE_IN_QUOTED:
                    state = _QUOTED  # "" inside quotes: one quote
            elif state != _QUOTED:
                state = _START
            pos = i + 1
        if pos < len(data) and state in (_START, _QUOTE_IN_QUOTED):
            state = _UNQUOTED
        return state

    def fields(self, row: bytes) -> list[bytes]:
        """The fields of one whole row (without its line end)."""
        if b'"' not in row:
            return row.split(self.delimiter)
        simple = self._simple(row)
        if simple is not None:
            return simple
        out: list[bytes] = []
        cur = bytearray()
        state = _START
        pos = 0
        for m in self.special.finditer(row):
            i = m.start()
            if i > pos:
                cur += row[pos:i]
                if state in (_START, _QUOTE_IN_QUOTED):
                    state = _UNQUOTED
            if row[i] == _QUOTE:
                if state == _START:
                    state = _QUOTED
                elif state == _QUOTED:
                    state = _QUOTE_IN_QUOTED
                else:  # an escaped quote, or a quote inside an unquoted field
                    cur.append(_QUOTE)
                    if state == _QUOTE_IN_QUOTED:
                        state = _QUOTED
            elif state == _QUOTED:
                cur += self.delimiter
            else:
                out.append(bytes(cur))
                cur = bytearray()
                state = _START
            pos = i + 1
        cur += row[pos:]
        out.append(bytes(cur))
        return out


def _rows(lines: Lines, dialect: _Dialect, limit: int) -> Iterator[tuple[int, bytes | None, bool]]:
    """``(offset, row or None when longer than limit, quote left open)`` for each row."""
    while True:
        offset = lines.offset
        kept: list[bytes] = []
        size = 0
        state = _START
        too_large = False
        while True:
            piece = lines.read(DRAIN_BYTES if too_large else max(limit + 1 - size, 1))
            if not piece:  # the end of the object
                if size:
                    yield offset, None if too_large else b"".join(kept), state == _QUOTED
                return
            if offset == 0 and not size and piece.startswith(BOM):
                piece = piece[len(BOM) :]
            state = dialect.advance(piece, state)
            size += len(piece)
            if piece.endswith(b"\n") and state != _QUOTED:
                end = 2 if piece.endswith(b"\r\n") else 1
                if not too_large and size - end <= limit:
                    kept.append(piece)
                    yield offset, b"".join(kept)[:-end], False
                else:
                    yield offset, None, False
                break
            if not too_large and size > limit:
                too_large, kept = True, []  # drop what was kept: read on, keep nothing
            elif not too_large:
                kept.append(piece)


def _parse(
    dialect: _Dialect, row: bytes | None, open_quote: bool, max_bytes: int
) -> list[str] | tuple[SkipReason, str]:
    """A row's fields as text, or ``(reason, detail)`` when it cannot be read."""
    if row is None:
        return "record_too_large", f"row longer than {max_bytes} bytes (max_record_bytes)"
    if open_quote:
        return "malformed_csv", "a quote opened in this row is never closed"
    nul = row.find(b"\x00")
    if nul >= 0:
        return "undecodable", f"a NUL byte at byte {nul} of the row: binary, not text"
    fields = dialect.fields(row)
    try:
        return [f.decode("utf-8") for f in fields]
    except UnicodeDecodeError:
        bad = next(k for k, f in enumerate(fields, start=1) if not _is_utf8(f))
        return "undecodable", f"not UTF-8: field {bad}"


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def csv_records(lines: Lines, delimiter: str, max_bytes: int) -> Iterator[Record]:
    """The data rows of a CSV (``","``) or TSV (``"\\t"``) object, as dicts by header."""
    dialect = _Dialect(delimiter.encode("ascii"))
    rows = (r for r in _rows(lines, dialect, max_bytes) if r[1] != b"")  # no blank rows
    first = next(rows, None)
    if first is None:
        yield Record(0, reason="empty_file", detail="no header row")
        return
    header = _parse(dialect, first[1], first[2], max_bytes)
    if isinstance(header, tuple):
        reason, detail = header
        if reason == "record_too_large":
            reason = "malformed_csv"  # the object, not a record, is skipped
        yield Record(0, reason=reason, detail=f"header: {detail}", offset=first[0])
        return
    for index, (offset, row, open_quote) in enumerate(rows, start=1):
        fields = _parse(dialect, row, open_quote, max_bytes)
        if isinstance(fields, list) and len(fields) != len(header):
            fields = ("malformed_csv", f"{len(fields)} fields; the header has {len(header)}")
        if isinstance(fields, tuple):
            yield Record(index, reason=fields[0], detail=fields[1], offset=offset)
        else:
            yield Record(index, data=dict(zip(header, fields, strict=True)), offset=offset)

"""JSON lines: every bad line is one skipped, counted record and the rest is read on."""

from __future__ import annotations

import io
import json
import tracemalloc
from typing import Any

import pytest

from audit.records import BOM, MAX_DEPTH, ObjectReader
from tests.unit.records._support import read, reasons

OK = {"text": "mail me at jane@example.com"}
OK_LINE = json.dumps(OK).encode()


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"{not json", "malformed_json"),
        (b'{"text": "cut', "malformed_json"),
        (b"[1, 2]", "not_an_object"),
        (b'"a string"', "not_an_object"),
        (b'{"text": "caf\xff\xfe"}', "undecodable"),  # not UTF-8
        (b'{"text": "a\x00b"}', "undecodable"),  # a NUL byte: this line, not the file
        (b'{"text": "\\ud800 alone"}', "undecodable"),  # a lone surrogate escape
        (b'{"id": ' + b"9" * 5000 + b', "text": "x"}', "number_too_long"),
        (b"[" * 200_000 + b"]" * 200_000, "too_deeply_nested"),  # RecursionError in json
        (b'{"a": ' * 200_000 + b"1" + b"}" * 200_000, "too_deeply_nested"),
        (b'{"a": ' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1), "too_deeply_nested"),
    ],
)
def test_a_bad_line_is_skipped_with_its_reason_and_the_next_is_read(
    line: bytes, reason: str
) -> None:
    data = OK_LINE + b"\n" + line + b"\n" + OK_LINE + b"\n"
    assert reasons(read(data)) == [(1, OK), (2, reason), (3, OK)]


def test_what_is_fine_is_read() -> None:
    lines = [
        b'{"text": "\\ud83d\\ude00 a pair is one emoji"}',
        b'{"a": ' * MAX_DEPTH + b"1" + b"}" * MAX_DEPTH,  # exactly the limit
        b'{"id": ' + b"9" * 4000 + b"}",
        b'{"text": "tab\\there", "n": 1.5e300}',
    ]
    records = read(b"\n".join(lines))
    assert all(r.data is not None for r in records) and len(records) == 4
    assert records[0].data == {"text": "\U0001f600 a pair is one emoji"}


def test_blank_lines_are_no_records_but_count_as_lines() -> None:
    data = b"\n" + OK_LINE + b"\r\n   \n\n" + OK_LINE  # CRLF, spaces, no final newline
    assert reasons(read(data)) == [(2, OK), (5, OK)]


def test_a_bom_is_read_past_at_the_start_only() -> None:
    data = BOM + OK_LINE + b"\n" + BOM + OK_LINE + b"\n"
    assert reasons(read(data)) == [(1, OK), (2, "malformed_json")]


def test_a_line_over_the_limit_is_skipped_and_the_rest_read() -> None:
    big = json.dumps({"text": "x" * 300}).encode()
    data = OK_LINE + b"\n" + big + b"\n" + OK_LINE
    got = read(data, max_record_bytes=len(OK_LINE))
    assert reasons(got) == [(1, OK), (2, "record_too_large"), (3, OK)]
    assert got[1].offset == len(OK_LINE) + 1
    # A line of exactly the limit is read (the newline does not count).
    exact = read(data, max_record_bytes=len(big))
    assert reasons(exact) == [(1, OK), (2, json.loads(big)), (3, OK)]


class _HugeLine(io.RawIOBase):
    """A JSONL object with a 50 MB line, made as it is read: never in memory at once."""

    def __init__(self, size: int) -> None:
        self._parts = [OK_LINE + b'\n{"text": "', size, b'"}\n' + OK_LINE + b"\n"]

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while self._parts:
            part = self._parts[0]
            if isinstance(part, int):
                n = min(len(b), part)
                b[:n] = b"y" * n
                self._parts[0] = part - n
                if not part - n:
                    self._parts.pop(0)
                return n
            if part:
                n = min(len(b), len(part))
                b[:n] = part[:n]
                self._parts[0] = part[n:]
                return n
            self._parts.pop(0)
        return 0


def test_a_huge_line_is_skipped_without_being_held_in_memory() -> None:
    size = 50_000_000
    tracemalloc.start()
    try:
        with ObjectReader(lambda at: _HugeLine(size), "jsonl") as reader:
            got = reasons(reader)
            reader.finish()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got == [(1, OK), (2, "record_too_large"), (3, OK)]
    assert reader.bytes_read > size
    assert peak < 12_000_000  # the 4 MB limit and the 1 MiB pieces, not 50 MB

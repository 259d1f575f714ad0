"""CSV and TSV: csv's reading of fields, any field size, rows over the limit skipped, no global
state."""

from __future__ import annotations

import csv
import io
import random

import pytest

from audit.records import BOM, ObjectReader
from tests.unit.records._support import opener, reasons
from tests.unit.records._support import read as _read


def read(data: bytes, fmt: str = "csv", **kw: object) -> list:
    return _read(data, fmt, **kw)


def test_fields_are_read_as_the_csv_module_reads_them() -> None:
    # Random rows of quotes, delimiters, newlines and text; the csv module is the reference
    # except where this reader skips what csv keeps (a quote never closed, at the end).
    rng = random.Random(12)
    alphabet = ["a", "é", " ", ",", '"', '"', "\n", "\r\n", "\t"]
    compared = 0
    for _ in range(3000):
        width = rng.randint(1, 4)
        text = ",".join(f"c{i}" for i in range(width)) + "\n"
        text += "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        with ObjectReader(opener(text.encode()), "csv") as r:
            got = list(r)
        expected = []
        rows = list(csv.reader(io.StringIO(text, newline="")))
        for k, row in enumerate([r for r in rows[1:] if r], start=1):
            same = len(row) == len(rows[0])
            expected.append((k, dict(zip(rows[0], row, strict=True)) if same else "bad"))
        if got and got[-1].detail == "a quote opened in this row is never closed":
            assert expected[-1][0] == got[-1].index  # csv keeps that last row as it is
            got, expected = got[:-1], expected[:-1]
        assert [(i, "bad" if isinstance(v, str) else v) for i, v in reasons(got)] == expected
        compared += 1
    assert compared == 3000


def test_a_row_may_span_lines_and_a_200_kb_field_hides_nothing() -> None:
    limit = csv.field_size_limit()
    long = "y" * 200_000  # above csv's 128 KiB field limit
    data = f'id,text\n1,"two\nlines"\n2,"{long}"\n3,after\n4,"a ""quote"""\n'.encode()
    got = reasons(read(data))
    assert got == [
        (1, {"id": "1", "text": "two\nlines"}),
        (2, {"id": "2", "text": long}),
        (3, {"id": "3", "text": "after"}),
        (4, {"id": "4", "text": 'a "quote"'}),
    ]
    assert csv.field_size_limit() == limit  # nothing process-wide was changed


def test_a_row_over_the_limit_is_skipped_and_the_next_read() -> None:
    long = "z" * 5000
    data = f'id,text\n1,"{long}\n{long}"\n2,next\n3,{long}\n4,last'.encode()
    got = read(data, max_record_bytes=1000)
    assert reasons(got) == [
        (1, "record_too_large"),
        (2, {"id": "2", "text": "next"}),
        (3, "record_too_large"),
        (4, {"id": "4", "text": "last"}),
    ]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (b"1,a,extra", "malformed_csv"),  # more fields than the header
        (b"1", "malformed_csv"),  # fewer
        (b"1,caf\xff", "undecodable"),
        (b"1,a\x00b", "undecodable"),  # a NUL byte: this row, not the file
        (b'1,"\xed\xa0\x80"', "undecodable"),  # an encoded lone surrogate is not UTF-8
    ],
)
def test_a_bad_row_is_skipped_with_its_reason(row: bytes, reason: str) -> None:
    data = b"id,text\n0,before\n" + row + b"\r\n2,after\r\n"
    assert reasons(read(data)) == [
        (1, {"id": "0", "text": "before"}),
        (2, reason),
        (3, {"id": "2", "text": "after"}),
    ]


def test_a_quote_never_closed_skips_the_last_row_only() -> None:
    data = b'id,text\n1,ok\n2,"open\n3,swallowed\n'
    assert reasons(read(data)) == [(1, {"id": "1", "text": "ok"}), (2, "malformed_csv")]


def test_blank_rows_and_the_header_do_not_count_and_a_bom_is_no_part_of_the_header() -> None:
    data = BOM + b"\n\ntext,id\n\nhello,1\n\n\nworld,2"
    got = read(data)
    assert reasons(got) == [(1, {"text": "hello", "id": "1"}), (2, {"text": "world", "id": "2"})]
    tsv = BOM + b'text\tid\n"a\tb"\t1\n'
    assert reasons(read(tsv, "tsv")) == [(1, {"text": "a\tb", "id": "1"})]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'id,"text\nno end', "malformed_csv"),
        (b"id,te\xffxt\n1,2\n", "undecodable"),
        (b"id," + b"h" * 2000 + b"\n1,2\n", "malformed_csv"),
    ],
)
def test_a_bad_header_skips_the_object(data: bytes, reason: str) -> None:
    assert reasons(read(data, max_record_bytes=1000)) == [(0, reason)]

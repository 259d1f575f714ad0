"""The reader as a whole: objects skipped whole, byte ranges, Parquet, hashes and sizes."""

from __future__ import annotations

import hashlib
import io
import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audit.records import BOM, ObjectReader, Record
from tests.unit.records._support import opener, read, reasons


def _jsonl(rng: random.Random, n: int) -> bytes:
    """Posts with the bad lines a real export has, at random places."""
    bad = [b"{broken", b"[1]", b"", b"   ", b'{"t": "\x00"}', b'{"t": "\xff"}', b"x" * 900]
    out = []
    for i in range(n):
        if rng.random() < 0.2:
            out.append(rng.choice(bad))
        else:
            out.append(json.dumps({"id": i, "text": "é" * rng.randint(0, 200)}).encode())
    return BOM + b"\n".join(out) + (b"\n" if rng.random() < 0.5 else b"")


def _ranges(data: bytes, size: int) -> list[tuple[int, int]]:
    return [(s, min(s + size, len(data))) for s in range(0, len(data), size)]


def _key(r: Record) -> object:
    return r.data if r.data is not None else (r.reason, r.offset)


@pytest.mark.parametrize("seed", range(12))
def test_byte_ranges_read_every_record_of_the_whole_exactly_once(seed: int) -> None:
    rng = random.Random(seed)
    data = _jsonl(rng, rng.randint(1, 120))
    size = rng.choice([1, 2, 3, 50, 333, 1000, 4096])
    with ObjectReader(opener(data, step=rng.choice([None, 3])), "jsonl", max_record_bytes=800) as r:
        whole = list(r)
        r.finish()
    assert r.sha256 == hashlib.sha256(data).hexdigest() and r.bytes_read == len(data)
    parts: list[Record] = []
    hashes = []
    for start, end in _ranges(data, size):
        with ObjectReader(opener(data), "jsonl", max_record_bytes=800, start=start, end=end) as r:
            parts.extend(r)
            r.finish()
        hashes.append((r.bytes_read, r.sha256))
    assert [_key(r) for r in parts] == [_key(r) for r in whole]
    # The ranges' own bytes tile the object: every byte read once, by one range.
    assert sum(n for n, _ in hashes) == len(data)


def test_a_range_numbers_its_lines_from_its_first_line() -> None:
    data = b'{"a": 1}\n{"a": 2}\n[3]\n{"a": 4}\n'
    with ObjectReader(opener(data), "jsonl", start=10, end=len(data)) as r:
        got = [(x.index, x.offset, x.data or x.reason) for x in r]
    assert got == [(1, 18, "not_an_object"), (2, 22, {"a": 4})]  # line 2 began before byte 10


def test_a_binary_object_is_skipped_once_however_it_is_split() -> None:
    data = random.Random(5).randbytes(20_000)
    whole = read(data)
    assert reasons(whole) == [(0, "binary_file")]
    later = read(data, start=10_000, end=20_000)
    assert later == []


@pytest.mark.parametrize(
    ("data", "fmt", "reason"),
    [
        (b"", "jsonl", "empty_file"),
        (BOM, "csv", "empty_file"),
        (b"", "parquet", "empty_file"),
        (b"\n\n", "csv", "empty_file"),  # no header row
        (b"PAR1 not really", "parquet", "unreadable_parquet"),
        ("id,text\n1,hé\n".encode("utf-16"), "csv", "binary_file"),
    ],
)
def test_an_unreadable_object_is_one_skip_with_index_0(data: bytes, fmt, reason: str) -> None:
    assert reasons(read(data, fmt)) == [(0, reason)]


def _parquet_bytes() -> tuple[bytes, pa.Table]:
    table = pa.table({"id": [1, 2, 3], "post": [{"text": "a"}, {"text": "b"}, {"text": "c"}]})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue(), table


@pytest.mark.parametrize("step", [None, 100])  # a seekable file; an S3 body, spooled
def test_parquet_rows_schema_and_hash(step: int | None) -> None:
    data, table = _parquet_bytes()
    with ObjectReader(opener(data, step), "parquet") as r:
        got = reasons(r)
        r.finish()
    assert got == [(1, {"id": 1, "post": {"text": "a"}}), (2, {"id": 2, "post": {"text": "b"}}),
                   (3, {"id": 3, "post": {"text": "c"}})]  # fmt: skip
    assert r.schema == table.schema and r.sha256 == hashlib.sha256(data).hexdigest()


def test_finish_hashes_the_whole_object_after_the_records_stop() -> None:
    data = b"".join(json.dumps({"i": i}).encode() + b"\n" for i in range(1000))
    with ObjectReader(opener(data, step=64), "jsonl") as r:
        first = [next(iter(r)) for _ in range(3)]  # a sample of three records
        r.finish()
    assert [x.data for x in first] == [{"i": 0}, {"i": 1}, {"i": 2}]
    assert r.sha256 == hashlib.sha256(data).hexdigest() and r.bytes_read == len(data)
    never = ObjectReader(opener(data), "jsonl", start=100, end=200)
    never.finish()  # a range never read: its own lines are still hashed
    assert never.bytes_read == data.index(b"\n", 199) + 1 - data.index(b"\n", 99) - 1


def test_only_json_lines_are_read_by_range() -> None:
    with pytest.raises(ValueError, match="byte range"):
        ObjectReader(opener(b""), "csv", start=10, end=20)
    with pytest.raises(ValueError, match="no reader"):
        ObjectReader(opener(b""), "xml")  # type: ignore[arg-type]

"""The look at an object's first bytes (text or binary) and the bounded, hashed line reader."""

from __future__ import annotations

import hashlib
import io
import random

import pytest

from audit.records import BOM, HEAD_BYTES
from audit.records._lines import Lines, Tally, looks_binary
from tests.unit.records._support import Trickle

GOOD = b'{"text": "a post"}\n'


@pytest.mark.parametrize(
    ("head", "binary"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", True),  # an image's signature
        ("{'text': 'hi'}\n".encode("utf-16"), True),  # UTF-16: NULs on every line
        (random.Random(1).randbytes(HEAD_BYTES), True),  # compressed data: random bytes
        (GOOD * 3 + b'{"text": "\x00"}\n' + GOOD, False),  # one bad line of five
        (GOOD + b"\xff\xfe\n" + b'{"\x00"}\n' + GOOD * 2, False),  # two bad lines of five
        (GOOD + b"\x00\n" + b"\xff\n", True),  # two of three: more than half
        (GOOD * 400, False),  # no NUL byte at all
    ],
)
def test_an_object_is_binary_when_most_lines_of_its_head_are(head: bytes, binary: bool) -> None:
    assert looks_binary(head[:HEAD_BYTES]) is binary


def test_a_head_cut_inside_a_character_is_still_text() -> None:
    line = ("é" * 5000).encode("utf-8")  # 10,000 bytes, one line
    head = (b"\x00\nok\n" + line)[:HEAD_BYTES]
    assert head[-1:] == b"\xc3"  # the cut falls inside a character
    assert not looks_binary(head)  # the NUL line is one of three: the cut one is not bad
    assert looks_binary(head[:-1] + b"\xff")  # a byte that is no UTF-8 anywhere is


def test_lines_count_and_hash_every_byte_however_the_stream_hands_them_out() -> None:
    data = BOM + b"first\nsecond line\n" + b"x" * 5000 + b"\nlast"
    tally = Tally()
    lines = Lines(Trickle(data, step=5), offset=0, tally=tally)
    assert lines.head == data[:HEAD_BYTES] and lines.offset == 0
    assert lines.read(100) == BOM + b"first\n"
    assert lines.read(4) == b"seco"  # a line longer than the limit comes in pieces
    lines.drain()
    assert lines.read(10) == b"xxxxxxxxxx"
    lines.drain()
    assert lines.read(100) == b"last" and lines.read(100) == b""
    assert tally.bytes == len(data) and tally.hexdigest() == hashlib.sha256(data).hexdigest()


def test_a_skipped_line_is_not_counted() -> None:
    tally = Tally()
    lines = Lines(io.BytesIO(b"tail of a line\nours\n"), offset=41, tally=tally)
    assert lines.skip(count=False) and lines.offset == 41 + 15
    assert lines.read(100) == b"ours\n" and tally.bytes == 5

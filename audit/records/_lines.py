"""Bytes in: lines of a stream through a bounded buffer, counted and hashed as they are read,
and the look at an object's first bytes that decides whether it is text."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from typing import Any, Protocol

from audit.records._skips import HEAD_BYTES

#: The UTF-8 byte order mark some tools (Excel, PowerShell) write at the start of a file.
BOM = b"\xef\xbb\xbf"
#: Pieces a line too long to keep is read (and hashed) in.
DRAIN_BYTES = 1 << 20


class Readable(Protocol):
    """Anything with ``read(n)``: a file, an S3 body, a socket file."""

    def read(self, n: int = ..., /) -> bytes: ...


class Tally:
    """The bytes of an object that were read: how many and their SHA-256."""

    def __init__(self) -> None:
        self.bytes = 0
        self._hash = hashlib.sha256()

    def add(self, data: bytes) -> None:
        self.bytes += len(data)
        self._hash.update(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class _Raw(io.RawIOBase):
    """``head`` and then the rest of a stream, for :class:`io.BufferedReader`."""

    def __init__(self, head: bytes, read: Callable[[int], bytes]) -> None:
        self._head = memoryview(head)
        self._read = read

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._read(len(b))
        b[: len(data)] = data
        return len(data)


def read_head(stream: Readable, n: int = HEAD_BYTES) -> bytes:
    """The first ``n`` bytes of ``stream`` (fewer at its end), however it returns them."""
    parts: list[bytes] = []
    size = 0
    while size < n:
        data = stream.read(n - size)
        if not data:
            break
        parts.append(data)
        size += len(data)
    return b"".join(parts)


class Lines:
    """The lines of a byte stream, read from byte ``offset`` of its object.

    Every byte handed out is added to ``tally`` (unless asked not to), so an object's hash
    and size are those of exactly the bytes its records were read from. Memory is bounded
    by the largest ``limit`` asked for: a longer line is handed out in pieces.

    The first :data:`~audit.records._skips.HEAD_BYTES` are read at once (:attr:`head`).
    """

    def __init__(self, stream: Readable, *, offset: int, tally: Tally) -> None:
        head = read_head(stream)
        self.offset = offset
        self._tally = tally
        self._buf = io.BufferedReader(_Raw(head, stream.read), buffer_size=1 << 16)
        #: The first bytes from ``offset`` on, as they are (a byte order mark included).
        self.head = head

    def read(self, limit: int, *, count: bool = True) -> bytes:
        """The rest of the current line up to and with its ``b"\\n"``, or its next ``limit``
        bytes if it is longer; ``b""`` at the end of the stream."""
        piece = self._buf.readline(limit)
        self.offset += len(piece)
        if count:
            self._tally.add(piece)
        return piece

    def drain(self, feed: Callable[[bytes], None] | None = None, *, count: bool = True) -> None:
        """Read past the rest of the current line without keeping it (``feed`` sees it)."""
        while piece := self.read(DRAIN_BYTES, count=count):
            if feed is not None:
                feed(piece)
            if piece.endswith(b"\n"):
                return

    def skip(self, *, count: bool = True) -> bool:
        """Read past one whole line; whether there was one."""
        piece = self.read(DRAIN_BYTES, count=count)
        if piece and not piece.endswith(b"\n"):
            self.drain(count=count)
        return bool(piece)


def _text_line(segment: bytes, cut: bool) -> bool:
    if b"\x00" in segment:
        return False
    try:
        segment.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The head may end inside a character: that is not a reason to call it binary.
        return cut and exc.reason == "unexpected end of data"
    return True


def looks_binary(head: bytes) -> bool:
    """Whether an object whose first bytes are ``head`` is binary, not text.

    It is when ``head`` holds a NUL byte and more than half of its lines hold one or are not
    UTF-8: an image, an archive, a UTF-16 file. A text file with a few bad lines is text;
    those lines are skipped one by one.
    """
    if b"\x00" not in head:
        return False
    segments = head.split(b"\n")
    if segments[-1] == b"":
        segments.pop()
    cut = len(head) >= HEAD_BYTES and not head.endswith(b"\n")
    bad = sum(not _text_line(s, cut and i == len(segments) - 1) for i, s in enumerate(segments))
    return 2 * bad > len(segments)

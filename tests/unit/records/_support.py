"""Reading bytes held in memory, as a file or an S3 body would hand them out."""

from __future__ import annotations

import io
from typing import Any

from audit.records import ObjectReader, Record


class Trickle(io.RawIOBase):
    """A stream that returns at most ``step`` bytes per read, like a network body."""

    def __init__(self, data: bytes, step: int = 7) -> None:
        self._data = memoryview(data)
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = min(len(b), self._step, len(self._data))
        b[:n] = self._data[:n]
        self._data = self._data[n:]
        return n


def opener(data: bytes, step: int | None = None) -> Any:
    def open_at(offset: int) -> Any:
        return io.BytesIO(data[offset:]) if step is None else Trickle(data[offset:], step)

    return open_at


def read(data: bytes, fmt: Any = "jsonl", **kw: Any) -> list[Record]:
    with ObjectReader(opener(data), fmt, **kw) as reader:
        return list(reader)


def reasons(records: list[Record]) -> list[tuple[int, Any]]:
    """``(index, data or reason)`` per record."""
    return [(r.index, r.data if r.data is not None else r.reason) for r in records]

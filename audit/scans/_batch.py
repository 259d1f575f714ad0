"""The batch :func:`~audit.scans.run_batch` is running in this context (:func:`current_batch`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class BatchRef:
    """Which batch of which scan is running: what a job names its per-batch outputs after."""

    scan_id: str
    batch_id: int


_BATCH: ContextVar[BatchRef | None] = ContextVar("socialaudit_batch", default=None)


def current_batch() -> BatchRef | None:
    """The batch :func:`run_batch` is running in this context, if any.

    A job that writes outputs of its own (a PII scan's findings parts and redacted copies)
    names them after it, so a batch delivered again overwrites what an earlier delivery wrote;
    :meth:`BatchJob.run` keeps its ``(request, units, sources)`` signature.
    """
    return _BATCH.get()


@contextmanager
def _running(batch: BatchRef) -> Iterator[None]:
    token = _BATCH.set(batch)
    try:
        yield
    finally:
        _BATCH.reset(token)

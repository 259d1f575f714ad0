"""The local queue: SQS semantics on a laptop, served by N spawned worker processes.

:func:`_child_run` is what each worker process runs; a spawned process unpickles it by its
qualified name (``audit.storage._local_queue._child_run``), importing this package first.
"""

from __future__ import annotations

import functools
import os
import queue as _queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from audit.storage._local_store import LocalStore
from audit.storage._queues import CollectingQueue, Queue, QueueName
from audit.storage._settings import Settings
from audit.storage._sources import Sources

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    from audit.storage._backend import Backend

# The child side of LocalQueue: one backend per worker process, built once.
_CHILD_BACKEND: Backend | None = None

#: Thread-pool variables of the numeric libraries (OpenBLAS, MKL, OpenMP, numexpr).
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def _child_init(threads: int) -> None:
    # N processes each starting a BLAS thread per core oversubscribe the CPU: measured here, two
    # PII workers on two cores ran no faster than one. The cores are shared out instead; a
    # variable the user set wins.
    for var in _THREAD_VARS:
        os.environ.setdefault(var, str(threads))


def _child_run(settings_json: str, queue: QueueName, body: dict[str, Any], attempt: int) -> Any:
    global _CHILD_BACKEND
    from audit import scans

    # Here, not at the top: _backend imports this module (Backend.close knows LocalQueue).
    from audit.storage._backend import Backend

    if _CHILD_BACKEND is None or _CHILD_BACKEND.settings.model_dump_json() != settings_json:
        settings = Settings.model_validate_json(settings_json)
        _CHILD_BACKEND = Backend(
            settings=settings,
            store=LocalStore(settings.home),
            queue=CollectingQueue(),
            sources=Sources(allow_local=True, settings=settings),
        )
    collector = cast(CollectingQueue, _CHILD_BACKEND.queue)
    collector.sent.clear()
    scans.handle(_CHILD_BACKEND, queue, body, attempt=attempt)
    return list(collector.sent)


@dataclass
class _Delivery:
    queue: QueueName
    body: dict[str, Any]
    attempt: int = 1


class LocalQueue(Queue):
    """An in-process queue served by N worker processes: SQS semantics on a laptop.

    A message whose handler raises is delivered again, up to ``settings.max_attempts`` times
    (as SQS redelivers up to ``maxReceiveCount``); a worker process that dies takes down the
    pool, which is rebuilt and the messages in flight delivered again. Messages a handler sends
    are returned to this process and enqueued here.

    Parameters
    ----------
    settings
        Local settings; ``settings.workers`` processes are started on first use.
    on_give_up
        Called with a message delivered ``max_attempts`` times without success (the local
        dead-letter queue); by default it is kept in :attr:`dead_letters`.
    """

    def __init__(
        self,
        settings: Settings,
        on_give_up: Callable[[_Delivery, BaseException], None] | None = None,
    ) -> None:
        self.settings = settings
        self._settings_json = settings.model_dump_json()
        self.dead_letters: list[tuple[QueueName, dict[str, Any], str]] = []
        self._on_give_up = on_give_up
        self._inbox: _queue.SimpleQueue[_Delivery | None] = _queue.SimpleQueue()
        self._pool: ProcessPoolExecutor | None = None
        self._in_flight = 0
        self._lock = threading.Condition()
        self._feeder: threading.Thread | None = None
        self._closed = False

    def _new_pool(self) -> ProcessPoolExecutor:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn, not fork: the parent is a threaded web server.
        ctx = multiprocessing.get_context("spawn")
        threads = max(1, (os.cpu_count() or 1) // self.settings.workers)
        return ProcessPoolExecutor(
            max_workers=self.settings.workers,
            mp_context=ctx,
            initializer=_child_init,
            initargs=(threads,),
        )

    def send(self, queue: QueueName, bodies: Sequence[dict[str, Any]]) -> None:
        if self._closed:
            raise RuntimeError("the local queue is closed")
        with self._lock:
            if self._feeder is None:
                self._pool = self._new_pool()
                self._feeder = threading.Thread(
                    target=self._feed, name="socialaudit-local-queue", daemon=True
                )
                self._feeder.start()
            self._in_flight += len(bodies)
        for body in bodies:
            self._inbox.put(_Delivery(queue, dict(body)))

    def _feed(self) -> None:
        from concurrent.futures.process import BrokenProcessPool

        while (d := self._inbox.get()) is not None:
            while True:
                pool = self._pool
                assert pool is not None
                try:
                    fut = pool.submit(_child_run, self._settings_json, d.queue, d.body, d.attempt)
                    break
                except BrokenProcessPool:
                    self._rebuild(pool)
            fut.add_done_callback(functools.partial(self._done, d=d))

    def _rebuild(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:
                # A broken pool has already failed every future it held; nothing to cancel.
                broken.shutdown(wait=False)
                self._pool = self._new_pool()

    def _done(self, fut: Future[Any], *, d: _Delivery) -> None:
        from concurrent.futures.process import BrokenProcessPool

        # Runs on the pool's management thread; whatever happens, the message is accounted
        # for, or join() would wait for ever.
        try:
            exc: BaseException | None
            if fut.cancelled():
                exc = BrokenProcessPool("cancelled with its worker pool")
            else:
                exc = fut.exception()
            if exc is None:
                follow = fut.result()
                with self._lock:
                    self._in_flight += len(follow)
                for queue, body in follow:
                    self._inbox.put(_Delivery(queue, body))
            elif d.attempt < self.settings.max_attempts:
                # A worker process that died (killed, out of memory) breaks its pool: every
                # message in flight there comes back, counted as a delivery as SQS would count
                # it, and the feeder builds a new pool on its next submit. (Not here: this runs
                # under the broken pool's lock, and shutting it down from here deadlocks.)
                with self._lock:
                    self._in_flight += 1
                # Like an SQS visibility timeout: a failed message comes back after a pause.
                delay = min(0.25 * 2 ** (d.attempt - 1), 10.0)
                again = replace(d, attempt=d.attempt + 1)
                timer = threading.Timer(delay, self._inbox.put, (again,))
                timer.daemon = True
                timer.start()
            elif self._on_give_up is not None:
                self._on_give_up(d, exc)
            else:
                self.dead_letters.append((d.queue, d.body, f"{type(exc).__name__}: {exc}"))
        finally:
            with self._lock:
                self._in_flight -= 1
                self._lock.notify_all()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until no message is queued or being handled; ``False`` on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._in_flight:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def close(self) -> None:
        """Stop the feeder and the worker processes (messages in flight are dropped)."""
        self._closed = True
        if self._feeder is not None:
            self._inbox.put(None)
            self._feeder.join(timeout=5)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

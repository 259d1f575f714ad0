"""moto_server with one request at a time: DynamoDB's atomic conditional writes, restored.

DynamoDB applies a conditional write or a transaction atomically. moto_server serves requests
on threads and checks conditions without a lock, so two concurrent conditional puts can both
succeed — measured here: 50 concurrent ``POST /scans`` with one Idempotency-Key made 3 scans
against the stock server, which real DynamoDB would not allow. Serialising requests gives the
fake the atomicity the real service has; races in *our* code (a read then an unconditional
write, say) still show, because our requests still interleave between one call and the next.

Run as ``python -m tests.aws.moto_serial -H 127.0.0.1 -p PORT`` (moto_server's own options).
Never use long polling (``WaitTimeSeconds`` > 0) against it: one waiting call blocks all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import moto.server as moto_server

_run_simple = moto_server.run_simple


def _serial_run_simple(host: str, port: int, app: Callable[..., Any], **kw: Any) -> None:
    lock = threading.Lock()

    def serial(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with lock:
            return list(app(environ, start_response))

    _run_simple(host, port, serial, **kw)


if __name__ == "__main__":
    moto_server.run_simple = _serial_run_simple  # type: ignore[assignment]
    moto_server.main()

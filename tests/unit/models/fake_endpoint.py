"""A real HTTP server on 127.0.0.1 standing in for the platform's scoring endpoint."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: (status, body) the fake endpoint answers for one decoded JSON request.
Answer = tuple[int, bytes | str | dict[str, Any]]
Handler = Callable[[dict[str, Any]], Answer]


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that timed out and hung up is part of the test, not an error
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeEndpoint:
    """A real HTTP server on 127.0.0.1 whose answers come from a Python function."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        endpoint = self

        class _Request(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with endpoint._lock:
                    endpoint.requests.append(payload)
                    endpoint.in_flight += 1
                    endpoint.max_in_flight = max(endpoint.max_in_flight, endpoint.in_flight)
                try:
                    status, body = endpoint.handler(payload)
                finally:
                    with endpoint._lock:
                        endpoint.in_flight -= 1
                raw = (
                    json.dumps(body).encode()
                    if isinstance(body, dict)
                    else body.encode()
                    if isinstance(body, str)
                    else body
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

        self.server = _QuietServer(("127.0.0.1", 0), _Request)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/score"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()

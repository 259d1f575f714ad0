"""``socialaudit serve``: the HTTP API on this machine, with uvicorn and the local backend.

The same app as on Lambda, with the local filesystem instead of S3, SQLite instead of DynamoDB
and an in-process queue with N worker processes instead of SQS (:mod:`audit.storage`). The
data folder is ``--home``, else ``SOCIALAUDIT_HOME``, else ``~/.socialaudit``. Every route but
``/health`` needs ``Authorization: Bearer $SOCIALAUDIT_API_TOKEN``; without the variable the
server refuses to start rather than serve an API that would turn everyone away.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from audit.exceptions import ConfigError

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["register", "serve"]


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
) -> dict[str, Callable[[argparse.Namespace, Console], int]]:
    """Add ``serve`` to the ``socialaudit`` sub-commands; returns its handler by name."""
    p = sub.add_parser(
        "serve",
        help="run the HTTP API locally (uvicorn; local folder, SQLite, worker processes)",
        description="Run the socialaudit HTTP API on this machine: POST /scans, "
        "GET /scans/{id}, GET /scans/{id}/report, GET /health. Same app as on AWS Lambda; "
        "here scans are stored in SOCIALAUDIT_HOME and run by local worker processes. "
        "Needs SOCIALAUDIT_API_TOKEN (clients send it as a bearer token).",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes that run scan batches (default: SOCIALAUDIT_WORKERS, else "
        "the CPU count)",
    )
    p.add_argument(
        "--home", metavar="DIR", help="data folder (default: SOCIALAUDIT_HOME or ~/.socialaudit)"
    )
    p.add_argument(
        "--log-level",
        default="info",
        choices=("critical", "error", "warning", "info", "debug"),
        help="uvicorn log level",
    )
    return {"serve": serve}


def serve(args: argparse.Namespace, console: Console) -> int:
    """Run the API until interrupted; exit code 0."""
    from audit.api import ENV_API_TOKEN, create_app
    from audit.storage import ENV_BACKEND, Settings

    if not os.environ.get(ENV_API_TOKEN):
        raise ConfigError(
            f"{ENV_API_TOKEN} is not set: set it to a long random string and give clients "
            f"'Authorization: Bearer <it>' (e.g. export {ENV_API_TOKEN}=$(openssl rand -hex 32))"
        )
    if args.workers is not None and args.workers < 1:
        raise ConfigError("--workers must be 1 or more")
    if os.environ.get(ENV_BACKEND, "local") != "local":
        console.print(f"[yellow]{ENV_BACKEND}={os.environ[ENV_BACKEND]}: serving over AWS[/]")
    settings = Settings.from_env(home=args.home, workers=args.workers)
    app = create_app(settings=settings, auth="token")

    import uvicorn

    where = settings.home if settings.backend == "local" else settings.bucket
    console.print(
        f"socialaudit API on http://{args.host}:{args.port} — backend {settings.backend} "
        f"({where}), {settings.workers} worker process(es); docs at /docs"
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0

"""A :class:`Backend` — store, queue and sources chosen together — and :func:`make_backend`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from audit.storage._aws_clients import aws_clients
from audit.storage._aws_store import AwsStore
from audit.storage._local_queue import LocalQueue
from audit.storage._local_store import LocalStore
from audit.storage._queues import Queue, QueueName, SqsQueue
from audit.storage._settings import Settings
from audit.storage._sources import Sources
from audit.storage._store import ScanStore


@dataclass
class Backend:
    """A store, a queue and the sources, chosen together by :func:`make_backend`."""

    settings: Settings
    store: ScanStore
    queue: Queue
    sources: Sources

    def close(self) -> None:
        """Stop local worker processes, if any."""
        if isinstance(self.queue, LocalQueue):
            self.queue.close()


def make_backend(
    settings: Settings | None = None, *, clients: Mapping[str, Any] | None = None
) -> Backend:
    """The backend ``settings`` names (default: :meth:`Settings.from_env`).

    Parameters
    ----------
    settings
        Which backend, and where its parts are.
    clients
        boto3 clients ``s3``, ``dynamodb``, ``sqs`` to use instead of building them.
    """
    settings = settings or Settings.from_env()
    if settings.backend == "local":
        return Backend(
            settings=settings,
            store=LocalStore(settings.home),
            queue=LocalQueue(settings),
            sources=Sources(allow_local=True, settings=settings),
        )
    c = dict(clients) if clients is not None else aws_clients(settings)
    assert settings.bucket and settings.table
    urls: dict[QueueName, str] = {
        "dispatch": str(settings.dispatch_queue_url),
        "work": str(settings.work_queue_url),
        "aggregate": str(settings.aggregate_queue_url),
    }
    return Backend(
        settings=settings,
        store=AwsStore(settings.bucket, settings.table, s3=c["s3"], dynamodb=c["dynamodb"]),
        queue=SqsQueue(urls, sqs=c["sqs"]),
        sources=Sources(allow_local=False, settings=settings, s3=c["s3"]),
    )

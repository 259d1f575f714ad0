"""Where scans live: one storage and queue interface, two implementations.

A scan needs three things from its surroundings, and this module is the only place that knows
how each is provided:

* a **scan table** — one record per scan with atomic counters and conditional writes, so that a
  batch delivered twice is counted once and only one aggregator merges the partial results;
* a **blob store** — the plan, one partial result per batch, the final result;
* a **queue** — three logical queues, ``dispatch``, ``work`` and ``aggregate``, delivered at
  least once;

plus read access to the **sources** being scanned (local files or ``s3://`` prefixes).

============  =====================================  ======================================
backend       local (the default)                    aws
============  =====================================  ======================================
scan table    SQLite in ``$SOCIALAUDIT_HOME``        DynamoDB (transactions, ADD counters)
blob store    files under ``$SOCIALAUDIT_HOME``      S3
queue         in-process queue, N worker processes   SQS (Lambda event source mappings)
sources       local paths and ``s3://``              ``s3://`` only
============  =====================================  ======================================

The backend is chosen by :class:`Settings` (``SOCIALAUDIT_BACKEND=local|aws``); with
``SOCIALAUDIT_AWS_ENDPOINT_URL`` the AWS backend talks to an endpoint such as moto_server, so the
real boto3 protocol runs end to end without an AWS account. Explicit arguments beat the
environment.

Examples
--------
>>> settings = Settings(backend="local", home="/tmp/socialaudit-doc")
>>> store = LocalStore(settings.home)
>>> store.get_scan("no-such-scan") is None
True
"""

from __future__ import annotations

from audit.storage._aws_clients import aws_clients
from audit.storage._aws_store import AwsStore
from audit.storage._backend import Backend, make_backend
from audit.storage._local_queue import LocalQueue
from audit.storage._local_store import LocalStore
from audit.storage._queues import QUEUES, CollectingQueue, Queue, SqsQueue
from audit.storage._settings import (
    ENV_AGGREGATE_QUEUE,
    ENV_BACKEND,
    ENV_BATCH_BYTES,
    ENV_BUCKET,
    ENV_DISPATCH_QUEUE,
    ENV_ENDPOINT,
    ENV_HOME,
    ENV_MAX_ATTEMPTS,
    ENV_TABLE,
    ENV_WORK_QUEUE,
    ENV_WORKERS,
    Settings,
)
from audit.storage._sources import OUTPUTS_PREFIX, SourceObject, Sources
from audit.storage._store import IdempotencyConflictError, ScanRecord, ScanStore

# isort: split
# Issue 16 (listing, cancelling, deleting scans: GET /scans and the console).
from audit.storage._store import (
    ACTIVE_STATUSES,
    MAX_PAGE,
    SCAN_STATUSES,
    ScanActiveError,
    ScanFilter,
    ScanPage,
)

# isort: split
# Not in __all__, but reached as ``audit.storage.<name>`` by the scans, the Lambda handlers and
# tests: every other public name this module held before it became a package, and ``_now_iso``.
from audit.storage._queues import SQS_MAX_BYTES as SQS_MAX_BYTES
from audit.storage._queues import QueueName as QueueName
from audit.storage._sources import iter_chunks as iter_chunks
from audit.storage._store import IDEMPOTENCY_TTL_S as IDEMPOTENCY_TTL_S
from audit.storage._store import ScanStatus as ScanStatus
from audit.storage._store import _now_iso as _now_iso
from audit.storage._store import request_hash as request_hash

__all__ = [
    "ACTIVE_STATUSES",
    "ENV_AGGREGATE_QUEUE",
    "ENV_BACKEND",
    "ENV_BATCH_BYTES",
    "ENV_BUCKET",
    "ENV_DISPATCH_QUEUE",
    "ENV_ENDPOINT",
    "ENV_HOME",
    "ENV_MAX_ATTEMPTS",
    "ENV_TABLE",
    "ENV_WORKERS",
    "ENV_WORK_QUEUE",
    "MAX_PAGE",
    "OUTPUTS_PREFIX",
    "QUEUES",
    "SCAN_STATUSES",
    "AwsStore",
    "Backend",
    "CollectingQueue",
    "IdempotencyConflictError",
    "LocalQueue",
    "LocalStore",
    "Queue",
    "ScanActiveError",
    "ScanFilter",
    "ScanPage",
    "ScanRecord",
    "ScanStore",
    "Settings",
    "SourceObject",
    "Sources",
    "SqsQueue",
    "aws_clients",
    "make_backend",
]

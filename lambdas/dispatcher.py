"""The dispatcher: a scan's ``dispatch`` message → list the source, batch it by bytes, enqueue.

Listing a large bucket and enqueuing thousands of batches is the expensive step a duplicate
SQS delivery would repeat, so each dispatch runs under Powertools' idempotency: a second
delivery of the same message while the first runs is refused (and delivered again later); one
after it finished returns the stored outcome. The scan's own conditional writes keep a rerun
after a crash correct.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from audit.storage import ENV_TABLE, AwsStore
from lambdas._sqs import backend, sqs_handler

_CONFIG = IdempotencyConfig(event_key_jmespath="scan_id", expires_after_seconds=24 * 3600)
_ONCE: Callable[..., Any] | None = None


def _dispatch_once() -> Callable[..., Any]:
    global _ONCE
    if _ONCE is None:
        store = backend().store
        assert isinstance(store, AwsStore)
        persistence = DynamoDBPersistenceLayer(
            table_name=os.environ[ENV_TABLE],
            key_attr="pk",
            sort_key_attr="sk",
            static_pk_value="IDEMPOTENCY#dispatcher",
            boto3_client=store.ddb,
        )

        @idempotent_function(
            data_keyword_argument="message", persistence_store=persistence, config=_CONFIG
        )
        def once(message: dict[str, Any], attempt: int) -> dict[str, Any]:
            from audit import scans

            scans.handle(backend(), "dispatch", message, attempt=attempt)
            return {"scan_id": message["scan_id"]}

        _ONCE = once
    return _ONCE


def _deliver(record: SQSRecord, body: str, attempt: int) -> None:
    _dispatch_once()(message=json.loads(body), attempt=attempt)


_handler = sqs_handler("dispatch", _deliver)


def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Lambda entry point (SQS event source on the dispatch queue)."""
    _CONFIG.register_lambda_context(context)  # in-progress records expire with the invocation
    return _handler(event, context)


def reset() -> None:
    """Forget the idempotency wrapper (tests change the table between cases)."""
    global _ONCE
    _ONCE = None

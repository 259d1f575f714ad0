"""What the three SQS consumers share: the logger, the backend and the batch handler.

Each consumer is Powertools' ``BatchProcessor``: a record whose handler raises is reported in
``batchItemFailures`` and only that message is delivered again (after the visibility timeout);
after ``maxReceiveCount`` deliveries SQS moves it to the dead-letter queue. The event source
mappings in ``template.yaml`` enable ``ReportBatchItemFailures``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from audit.storage import Backend, QueueName, Settings, make_backend

logger = Logger(service="socialaudit")

_BACKEND: Backend | None = None


def backend() -> Backend:
    """The AWS backend, built once per execution environment from the function's environment."""
    global _BACKEND
    if _BACKEND is None:
        _BACKEND = make_backend(Settings.from_env())
    return _BACKEND


def reset() -> None:
    """Forget the cached backend (tests change the environment between cases)."""
    global _BACKEND
    _BACKEND = None


RecordHandler = Callable[[SQSRecord, str, int], None]


def sqs_handler(
    queue: QueueName, deliver: RecordHandler | None = None
) -> Callable[[dict[str, Any], LambdaContext], PartialItemFailureResponse]:
    """A Lambda handler for one of the queues.

    Parameters
    ----------
    queue
        Which queue the function consumes (checked against each message's type).
    deliver
        ``(record, body, attempt)`` → handle one message; default :func:`audit.scans.handle`.
    """
    processor = BatchProcessor(event_type=EventType.SQS)

    def default(record: SQSRecord, body: str, attempt: int) -> None:
        from audit import scans

        scans.handle(backend(), queue, body, attempt=attempt)

    run = deliver or default

    def record_handler(record: SQSRecord) -> None:
        attempt = int(record.attributes.approximate_receive_count or 1)
        logger.append_keys(message_id=record.message_id, attempt=attempt)
        try:
            run(record, record.body, attempt)
        except Exception:
            logger.exception("message failed; it will be delivered again or dead-lettered")
            raise

    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    return handler

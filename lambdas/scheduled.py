"""The scheduled audit: an EventBridge schedule → one scan of ``SOCIALAUDIT_SCHEDULED_SCAN``.

The scan request is the same JSON body ``POST /scans`` takes. The Idempotency-Key is the rule
and the scheduled time, so a retried invocation of one tick starts one scan, not two.

A zip function like the API (handler ``scheduled.handler``), so it imports nothing from its
siblings: the SQS consumers live in the worker image.
"""

from __future__ import annotations

import json
import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from audit.scans import parse_request, submit_scan
from audit.storage import Backend, Settings, make_backend

ENV_SCHEDULED_SCAN = "SOCIALAUDIT_SCHEDULED_SCAN"

logger = Logger(service="socialaudit")
_BACKEND: Backend | None = None


def backend() -> Backend:
    """The AWS backend, built once per execution environment."""
    global _BACKEND
    if _BACKEND is None:
        _BACKEND = make_backend(Settings.from_env())
    return _BACKEND


@logger.inject_lambda_context(clear_state=True)
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point (EventBridge ``Schedule`` event)."""
    request = parse_request(json.loads(os.environ[ENV_SCHEDULED_SCAN]))
    rule = event.resources[0] if event.resources else "schedule"
    scan, created = submit_scan(backend(), request, idempotency_key=f"{rule}@{event.time}")
    logger.info("scheduled scan", extra={"scan_id": scan.id, "created": created})
    return {"scan_id": scan.id, "created": created}

"""What Lambda does between SQS and our handlers, played over moto_server's real SQS protocol.

An event source mapping receives up to ``batch_size`` messages, invokes the function with an
SQS event, deletes the messages it did not report in ``batchItemFailures`` and leaves the rest
to reappear after the visibility timeout; SQS counts receives and dead-letters a message after
``maxReceiveCount``. :func:`poll_once` does exactly that. Run as a module it is one worker
"execution environment" in its own process, which a test can kill mid-batch::

    python -m tests.aws.esm work     # settings from SOCIALAUDIT_* in the environment

Test-only knobs: ``SOCIALAUDIT_TEST_WARM=pii`` loads the PII detector before polling (as an
init phase would), ``SOCIALAUDIT_TEST_SLOW_S`` holds each batch after computing it and
``SOCIALAUDIT_TEST_MARK_DIR`` receives a file per message received and per batch computed.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

Handler = Callable[[dict[str, Any], Any], Any]


class FakeContext:
    """The parts of a Lambda context Powertools reads."""

    function_name = "socialaudit-test"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:socialaudit-test"

    def __init__(self, remaining_ms: int = 30_000) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """An SQS event as Lambda builds it from ``ReceiveMessage`` output."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(m["Body"].encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def poll_once(
    sqs: Any,
    url: str,
    handler: Handler,
    *,
    batch_size: int = 1,
    wait_s: int = 0,
    on_receive: Callable[[dict[str, Any]], None] | None = None,
) -> int:
    """Receive one batch, invoke ``handler``, delete what succeeded; messages received."""
    got = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=batch_size,
        WaitTimeSeconds=wait_s,
        AttributeNames=["All"],
    )
    messages = got.get("Messages", [])
    if not messages:
        return 0
    if on_receive is not None:
        for m in messages:
            on_receive(m)
    arn = "arn:aws:sqs:us-east-1:123456789012:" + url.rsplit("/", 1)[-1]
    try:
        out = handler(sqs_event(messages, arn), FakeContext())
        failed = {f["itemIdentifier"] for f in out.get("batchItemFailures", [])}
    except Exception:  # the whole invocation failed: every message comes back
        failed = {m["MessageId"] for m in messages}
    done = [m for m in messages if m["MessageId"] not in failed]
    if done:
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
            ],
        )
    return len(messages)


def _main(queue: str) -> None:
    from audit import scans
    from audit.storage import Settings, aws_clients

    settings = Settings.from_env()
    sqs = aws_clients(settings)["sqs"]
    url = {
        "dispatch": settings.dispatch_queue_url,
        "work": settings.work_queue_url,
        "aggregate": settings.aggregate_queue_url,
    }[queue]
    if os.environ.get("SOCIALAUDIT_TEST_WARM") == "pii":
        # What a real worker image does in its init phase: load the detector before the first
        # message, so a 2 s test visibility timeout is not spent loading spaCy.
        scans.JOBS["pii"]._pool(scans.PiiScan(kind="pii", source="s3://warm/up"))  # type: ignore[attr-defined]
    marks = os.environ.get("SOCIALAUDIT_TEST_MARK_DIR")
    slow = float(os.environ.get("SOCIALAUDIT_TEST_SLOW_S", "0"))
    if slow:
        # Test-only: make each batch take a while, so the test can kill this process in it.
        for job in scans.JOBS.values():
            original = job.run

            def run(request: Any, units: Any, sources: Any, _original: Any = original) -> Any:
                out = _original(request, units, sources)
                if marks:
                    Path(marks, f"inside-{os.getpid()}-{time.time_ns()}").touch()
                time.sleep(slow)
                return out

            job.run = run  # type: ignore[method-assign]

    import importlib

    module = {"dispatch": "dispatcher", "work": "worker", "aggregate": "aggregator"}[queue]
    handler = importlib.import_module(f"lambdas.{module}").handler

    def mark(m: dict[str, Any]) -> None:
        if marks:
            body = json.loads(m["Body"])
            count = m["Attributes"]["ApproximateReceiveCount"]
            name = f"recv-{body.get('batch_id', 0)}-{count}-{os.getpid()}"
            Path(marks, name).touch()

    while True:
        if not poll_once(sqs, str(url), handler, on_receive=mark):
            time.sleep(0.05)


if __name__ == "__main__":
    _main(sys.argv[1])

"""The :class:`Queue` interface, SQS queues, and the collecting queue a worker process uses."""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, Literal

QueueName = Literal["dispatch", "work", "aggregate"]
QUEUES: tuple[QueueName, ...] = ("dispatch", "work", "aggregate")

#: SQS's limit on one message, and on one SendMessageBatch call.
SQS_MAX_BYTES = 256 * 1024


class Queue(ABC):
    """At-least-once delivery of JSON message bodies to the ``dispatch``, ``work`` and
    ``aggregate`` queues."""

    @abstractmethod
    def send(self, queue: QueueName, bodies: Sequence[dict[str, Any]]) -> None:
        """Enqueue ``bodies`` on ``queue``."""


class SqsQueue(Queue):
    """The three queues as SQS queues (``send_message_batch``, ten at a time).

    Parameters
    ----------
    urls
        Queue URL per logical queue.
    sqs
        A boto3 SQS client.
    """

    def __init__(self, urls: Mapping[QueueName, str], *, sqs: Any) -> None:
        self.urls = dict(urls)
        self.sqs = sqs

    def send(self, queue: QueueName, bodies: Sequence[dict[str, Any]]) -> None:
        url = self.urls[queue]
        texts = [json.dumps(body, sort_keys=True) for body in bodies]
        # SendMessageBatch takes at most 10 messages and 256 KiB in all.
        groups: list[list[str]] = []
        size = 0
        for text in texts:
            n = len(text.encode("utf-8"))
            if n > SQS_MAX_BYTES:
                raise ValueError(f"a {queue} message of {n} bytes is over SQS's {SQS_MAX_BYTES}")
            if not groups or len(groups[-1]) == 10 or size + n > SQS_MAX_BYTES:
                groups.append([])
                size = 0
            groups[-1].append(text)
            size += n
        for group in groups:
            pending = {str(j): text for j, text in enumerate(group)}
            for attempt in range(6):
                out = self.sqs.send_message_batch(
                    QueueUrl=url,
                    Entries=[{"Id": k, "MessageBody": v} for k, v in pending.items()],
                )
                failed = out.get("Failed") or []
                pending = {f["Id"]: pending[f["Id"]] for f in failed}
                if not pending:
                    break
                if attempt == 5 or any(f.get("SenderFault") for f in failed):
                    raise RuntimeError(
                        f"SQS refused {len(pending)} message(s) to {queue}: {failed}"
                    )
                time.sleep(0.1 * 2**attempt)


class CollectingQueue(Queue):
    """Collects what is sent, for a caller to deliver (a local worker process hands its
    follow-up messages back to the parent this way)."""

    def __init__(self) -> None:
        self.sent: list[tuple[QueueName, dict[str, Any]]] = []

    def send(self, queue: QueueName, bodies: Sequence[dict[str, Any]]) -> None:
        self.sent.extend((queue, dict(b)) for b in bodies)

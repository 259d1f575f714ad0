"""The worker: a batch of ``work`` messages → run each batch, store its partial, count it once.

Bad input fails the batch (it is counted, the scan ends ``failed`` naming it); any other error
fails only that message, which SQS delivers again and, after ``maxReceiveCount`` deliveries,
moves to the dead-letter queue — on that last delivery the batch is counted as failed first,
so the scan ends instead of waiting. Exactly-once counting is the scan table's conditional
transaction (:meth:`audit.storage.AwsStore.finish_batch`), not this handler's.
"""

from __future__ import annotations

from lambdas._sqs import sqs_handler

handler = sqs_handler("work")

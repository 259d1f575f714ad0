"""The aggregator: an ``aggregate`` message → take the lease, merge the partials, finish the scan.

Sent by the worker that saw the scan's last batch counted. A second aggregator finds the lease
held and its message is delivered again later, by which time the scan has its final status.
"""

from __future__ import annotations

from lambdas._sqs import sqs_handler

handler = sqs_handler("aggregate")

"""Scans: one audit run as a fan-out of batches over a queue, with no HTTP or Lambda code.

A scan goes through four steps, each a plain function over a :class:`~audit.storage.Backend`
and each safe to run twice (queues deliver at least once):

1. :func:`submit_scan` — validate the request at the boundary, store the scan (``queued``;
   an ``Idempotency-Key`` returns the scan already created under it), enqueue ``dispatch``.
2. :func:`dispatch` — list the source, cut it into batches **by bytes** (large JSON-lines files
   are split at byte ranges; small files are grouped), store the plan, record the batch count
   (``running``) and enqueue one ``work`` message per batch.
3. :func:`run_batch` — read the batch's records, run the kind's batch function, store the
   partial result under the batch's own key, then count the batch in one atomic step that
   succeeds only once per batch. The worker that sees the last batch counted enqueues
   ``aggregate``.
4. :func:`aggregate` — take the aggregation lease, merge the partials, apply the policy,
   store the result and its transparency report (HTML, PDF), ``succeeded`` (or ``failed``,
   naming the failed batches).

What a kind does is a :class:`BatchJob`: ``prepare`` (heavy validation, run by the dispatcher),
``plan``, ``run`` (one batch → a partial) and ``merge`` (partials → a result document).

============== ==================================================== ========================
kind           batch                                                merge
============== ==================================================== ========================
inventory      counts records, bytes, text lengths, bad lines       sums
pii            ``audit.pii.scan_raw_records`` per object or range   ``merge_partials``
any other      one batch: the kind's run function (:mod:`audit.kinds`) the one result
============== ==================================================== ========================

The request of an audit kind is its spec (:mod:`audit.kinds`) less what HTTP refuses, plus
``policy`` (:data:`REQUESTS`); :data:`KINDS` lists the scan kinds.

Examples
--------
>>> from audit.storage import Settings, make_backend
>>> backend = make_backend(Settings(home="/tmp/sa-doc", workers=1))  # doctest: +SKIP
>>> scan, created = submit_scan(
...     backend, parse_request({"kind": "inventory", "source": "posts/"})
... )  # doctest: +SKIP
"""

from __future__ import annotations

from audit.scans._batch import BatchRef, current_batch
from audit.scans._jobs import BatchJob
from audit.scans._messages import (
    AggregateMessage,
    BatchMessage,
    DispatchMessage,
    Unit,
    parse_message,
)
from audit.scans._records import plan_units, read_records
from audit.scans._requests import (
    KINDS,
    REQUESTS,
    AuditRequest,
    InventoryScan,
    PiiScan,
    ScanBase,
    ScanRequest,
    parse_request,
)
from audit.scans._steps import aggregate, dispatch, handle, resume, run_batch, submit_scan

# isort: split
# Issue 16: a scan's phase, cancelling and deleting (GET /scans, the console).
from audit.scans._manage import cancel_scan, delete_scan, scan_prefix
from audit.scans._phase import PHASES, Phase, ScanPhase, scan_phase

# isort: split
# Not in __all__, but reached as ``audit.scans.<name>`` by the API, the Lambda handlers,
# benchmarks and tests: every other public name this module held before it became a package,
# and the private ones tests use.
from audit.scans._batch import _running as _running
from audit.scans._jobs import JOBS as JOBS
from audit.scans._jobs import InventoryJob as InventoryJob
from audit.scans._jobs import WholeAuditJob as WholeAuditJob
from audit.scans._jobs import make_jobs as make_jobs
from audit.scans._messages import MAX_MESSAGE_BYTES as MAX_MESSAGE_BYTES
from audit.scans._messages import MAX_UNITS_PER_BATCH as MAX_UNITS_PER_BATCH
from audit.scans._messages import Message as Message
from audit.scans._pii_job import PiiJob as PiiJob
from audit.scans._pii_outputs import _redacted_name as _redacted_name
from audit.scans._records import MAX_PROBLEMS as MAX_PROBLEMS
from audit.scans._records import ReadStats as ReadStats
from audit.scans._reports import REPORT_FILES as REPORT_FILES
from audit.scans._reports import REPORT_FORMATS as REPORT_FORMATS
from audit.scans._reports import render_reports as render_reports
from audit.scans._reports import report_key as report_key
from audit.scans._requests import HTTP_RECOMMENDERS as HTTP_RECOMMENDERS
from audit.scans._requests import MAX_RESAMPLES as MAX_RESAMPLES
from audit.scans._requests import input_files as input_files
from audit.scans._requests import output_places as output_places
from audit.scans._requests import request_model as request_model
from audit.scans._requests import request_models as request_models
from audit.scans._requests import request_union as request_union
from audit.scans._requests import server_files as server_files
from audit.scans._steps import AGGREGATION_LEASE_S as AGGREGATION_LEASE_S
from audit.scans._steps import STALE_QUEUED_S as STALE_QUEUED_S
from audit.scans._steps import AggregationBusyError as AggregationBusyError
from audit.scans._steps import partial_key as partial_key
from audit.scans._steps import plan_key as plan_key
from audit.scans._steps import result_key as result_key

__all__ = [
    "KINDS",
    "PHASES",
    "REQUESTS",
    "AggregateMessage",
    "AuditRequest",
    "BatchJob",
    "BatchMessage",
    "BatchRef",
    "DispatchMessage",
    "InventoryScan",
    "Phase",
    "PiiScan",
    "ScanBase",
    "ScanPhase",
    "ScanRequest",
    "Unit",
    "aggregate",
    "cancel_scan",
    "current_batch",
    "delete_scan",
    "dispatch",
    "handle",
    "parse_message",
    "parse_request",
    "plan_units",
    "read_records",
    "resume",
    "run_batch",
    "scan_phase",
    "scan_prefix",
    "submit_scan",
]

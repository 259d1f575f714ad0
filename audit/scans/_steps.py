"""The four steps of a scan (submit, dispatch, run a batch, aggregate), the queue consumers' entry
point :func:`handle`, and the keys a scan's plan, partials and result are stored under."""

from __future__ import annotations

import json
import logging
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit.exceptions import AuditError, ConfigError, DataError
from audit.scans._batch import BatchRef, _running
from audit.scans._jobs import JOBS
from audit.scans._messages import (
    AggregateMessage,
    BatchMessage,
    DispatchMessage,
    Unit,
    parse_message,
)
from audit.scans._reports import render_reports
from audit.scans._requests import (
    ScanBase,
    input_files,
    output_places,
    parse_request,
    server_files,
)
from audit.storage import LocalStore, QueueName, ScanRecord

if TYPE_CHECKING:
    from audit.storage import Backend

log = logging.getLogger("audit.scans")


#: How long one aggregator may hold the right to merge before another may take it over.
AGGREGATION_LEASE_S = 900.0
#: A scan still ``queued`` this long after creation is dispatched again when its
#: Idempotency-Key is replayed (the first dispatch message may have been lost).
STALE_QUEUED_S = 60.0


def _now() -> str:
    from audit.storage import _now_iso

    return _now_iso()


def _check_server_file(name: str, value: str) -> None:
    # A policy or PII config is a file on the server (policies/ ships with the app). On AWS the
    # caller may only name one of those: any other path would let them probe the server.
    p = Path(value)
    if p.is_absolute() or ".." in p.parts or "://" in value:
        raise ConfigError(
            f"{name} {value!r}: on AWS, name a file that ships with the app, relative to it "
            "(e.g. policies/default.yaml)"
        )


def plan_key(scan_id: str) -> str:
    return f"scans/{scan_id}/plan.json"


def partial_key(scan_id: str, batch_id: int) -> str:
    return f"scans/{scan_id}/partials/{batch_id:08d}.json"


def result_key(scan_id: str) -> str:
    return f"scans/{scan_id}/result.json"


def submit_scan(
    backend: Backend,
    request: ScanBase,
    *,
    idempotency_key: str | None = None,
) -> tuple[ScanRecord, bool]:
    """Store a new scan and enqueue its dispatch; or return the scan the key already made.

    Returns
    -------
    (ScanRecord, bool)
        The scan and whether this call created it.

    Raises
    ------
    ConfigError
        An input cannot be read by this backend (on AWS every input must be an ``s3://`` URI
        and a ``policy`` or PII ``config`` a file shipped with the app), or a PII scan's
        ``findings`` / ``redact_to`` is a place it must not write.
    IdempotencyConflictError
        ``idempotency_key`` was used with a different request.
    """
    inputs = input_files(request)
    for name, value in inputs:
        backend.sources.check(value, name)  # on AWS: s3:// URIs only, for every input
        if "://" not in value and not Path(value).exists():  # found now, not after a queue
            raise DataError(
                f"not found on the server ({name}): give an existing file or folder", file=value
            )
    for name, path in server_files(request):
        if not backend.sources.allow_local:
            _check_server_file(name, path)
        elif not Path(path).is_file():
            raise DataError(f"not found on the server ({name}): give a YAML file", file=path)
    for name, dest in output_places(request):
        for _, source in inputs:  # never inside what the scan reads
            backend.sources.check_destination(dest, name, source=source)
    now = _now()
    record = ScanRecord(
        id=uuid.uuid4().hex,
        kind=request.kind,
        status="queued",
        request=request.model_dump(mode="json"),
        created_at=now,
        updated_at=now,
    )
    scan, created = backend.store.create_scan(record, idempotency_key)
    if created or (scan.status == "queued" and _age_s(scan.created_at) > STALE_QUEUED_S):
        backend.queue.send("dispatch", [DispatchMessage(scan_id=scan.id).model_dump()])
    return scan, created


def resume(backend: Backend) -> int:
    """Dispatch again every unfinished scan of a local store; returns how many.

    The local queue lives in memory, so a scan in flight when ``socialaudit serve`` stopped has
    lost its messages. Dispatching it again is safe: a running scan re-sends only its batches
    not yet counted, and one whose batches are all counted is aggregated.
    """
    store = backend.store
    if not isinstance(store, LocalStore):
        return 0  # SQS keeps its messages
    ids = store.unfinished()
    for scan_id in ids:
        store.release_aggregation(scan_id)
    if ids:
        backend.queue.send("dispatch", [DispatchMessage(scan_id=i).model_dump() for i in ids])
    return len(ids)


def _age_s(iso: str) -> float:
    from datetime import datetime

    return time.time() - datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _request_of(scan: ScanRecord) -> Any:
    return parse_request(scan.request)


def dispatch(backend: Backend, scan_id: str) -> None:
    """Plan a queued scan's batches, record their count and enqueue them.

    A second call for a running scan (the first dispatcher died while enqueuing) reuses the
    stored plan and enqueues the batches not yet finished. A request the dispatcher finds
    unusable (no such prefix, a bad PII config) fails the scan with the message.
    """
    store = backend.store
    scan = store.get_scan(scan_id)
    if scan is None or scan.status not in ("queued", "running"):
        log.info("dispatch: nothing to do for scan %s", scan_id)
        return
    if scan.status == "running":
        plan = store.get_json(plan_key(scan_id))
        batches = [[Unit(**u) for u in b] for b in plan["batches"]]
    else:
        request = _request_of(scan)
        job = JOBS[scan.kind]
        try:
            job.prepare(request)
            batches, skipped = job.plan(request, backend.sources, backend.settings.batch_bytes)
        except AuditError as exc:
            store.complete_scan(scan_id, status="failed", error=str(exc))
            return
        store.put_json(
            plan_key(scan_id),
            {"batches": [[u.model_dump() for u in b] for b in batches], "skipped": skipped},
        )
        if store.start_scan(scan_id, len(batches)) is None:
            return
    bodies = [
        BatchMessage(scan_id=scan_id, batch_id=i, units=units).model_dump()
        for i, units in enumerate(batches, 1)
        if scan.status == "queued" or not store.batch_finished(scan_id, i)
    ]
    backend.queue.send("work", bodies)
    log.info("dispatch: scan %s, %d batches enqueued", scan_id, len(bodies))
    if not bodies:  # a repeated dispatch of a scan whose batches have all finished
        _maybe_aggregate(backend, store.get_scan(scan_id))


def _maybe_aggregate(backend: Backend, scan: ScanRecord | None) -> None:
    if scan is not None and scan.status == "running" and scan.all_batches_finished:
        backend.queue.send("aggregate", [AggregateMessage(scan_id=scan.id).model_dump()])


def run_batch(backend: Backend, msg: BatchMessage, *, final_attempt: bool = False) -> bool:
    """Run one batch and count it, exactly once.

    The partial result is stored under the batch's own key *before* the batch is counted, so a
    worker that dies anywhere leaves either nothing counted (the redelivered message redoes the
    batch and overwrites the same key) or the batch counted (the redelivery finds it counted and
    does nothing). Bad input (:class:`AuditError`) fails the batch at once; another error is
    raised for the queue to redeliver, and on the last delivery the batch is also counted as
    failed so the scan ends instead of waiting for ever.

    Returns
    -------
    bool
        Whether this call counted the batch.
    """
    store = backend.store
    if store.batch_finished(msg.scan_id, msg.batch_id):
        _maybe_aggregate(backend, store.get_scan(msg.scan_id))
        return False
    scan = store.get_scan(msg.scan_id)
    if scan is None or scan.status != "running":
        log.info("batch %s/%d: scan is not running, dropped", msg.scan_id, msg.batch_id)
        return False
    request = _request_of(scan)
    try:
        with _running(BatchRef(msg.scan_id, msg.batch_id)):
            partial, records = JOBS[scan.kind].run(request, msg.units, backend.sources)
    except AuditError as exc:
        counted, scan = store.finish_batch(msg.scan_id, msg.batch_id, records=0, error=str(exc))
        _maybe_aggregate(backend, scan)
        return counted
    except Exception as exc:
        if final_attempt:
            error = f"gave up after {backend.settings.max_attempts} attempts: "
            error += f"{type(exc).__name__}: {exc}"
            _, scan = store.finish_batch(msg.scan_id, msg.batch_id, records=0, error=error)
            _maybe_aggregate(backend, scan)
        raise
    store.put_json(partial_key(msg.scan_id, msg.batch_id), partial)
    counted, scan = store.finish_batch(msg.scan_id, msg.batch_id, records=records)
    _maybe_aggregate(backend, scan)
    return counted


class AggregationBusyError(RuntimeError):
    """Another aggregator holds the lease; the message should be delivered again later."""


def _apply_policy(policy: str, doc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Gate the result: the verdict for the scan's summary, and the blessing for its report."""
    from audit.gate import evaluate, render_blessing, render_verdict
    from audit.policy import load_policy

    decision = evaluate(load_policy(policy), [doc])
    verdict = {
        "policy": decision.policy.ref,
        "verdict": decision.verdict,
        "line": render_verdict(decision),
        "counts": decision.counts(),
    }
    return verdict, json.loads(render_blessing(decision))


def aggregate(backend: Backend, scan_id: str, *, final_attempt: bool = False) -> bool:
    """Merge a finished scan's partials into its result, once.

    An unexpected error gives the lease back (the next delivery retries at once) and is
    raised for the queue to redeliver; on the last delivery it fails the scan instead, so the
    scan ends rather than waiting for ever.

    Returns
    -------
    bool
        Whether this call completed the scan.

    Raises
    ------
    AggregationBusyError
        Another aggregator holds a live lease (redeliver later: if it died, the lease expires).
    """
    store = backend.store
    scan = store.claim_aggregation(scan_id, AGGREGATION_LEASE_S)
    if scan is None:
        now = store.get_scan(scan_id)
        if now is not None and now.status == "running" and now.all_batches_finished:
            raise AggregationBusyError(f"scan {scan_id} is being aggregated by another worker")
        return False
    try:
        return _merge(backend, scan)
    except Exception as exc:
        store.release_aggregation(scan_id)
        if final_attempt:
            error = f"aggregation gave up after {backend.settings.max_attempts} attempts: "
            store.complete_scan(
                scan_id, status="failed", error=error + f"{type(exc).__name__}: {exc}"
            )
        raise


def _merge(backend: Backend, scan: ScanRecord) -> bool:
    store, scan_id = backend.store, scan.id
    total = scan.batches_total or 0
    errors = store.batch_errors(scan_id)
    if errors:
        first = min(errors)
        return store.complete_scan(
            scan_id,
            status="failed",
            error=f"{len(errors)} of {total} batches failed; batch {first}: {errors[first]}",
        )
    request = _request_of(scan)
    try:
        partials = [store.get_json(partial_key(scan_id, b)) for b in range(1, total + 1)]
        doc = JOBS[scan.kind].merge(request, partials)
        plan = store.get_json(plan_key(scan_id))
        if plan.get("skipped"):
            doc.setdefault("fanout", {})["skipped_objects"] = plan["skipped"]
        doc.setdefault("fanout", {}).update({"scan_id": scan_id, "batches": total})
        gate, blessing = _apply_policy(request.policy, doc) if request.policy else (None, None)
    except AuditError as exc:
        return store.complete_scan(scan_id, status="failed", error=str(exc))
    store.put_json(result_key(scan_id), doc)
    reports = render_reports(backend, scan_id, [doc, blessing] if blessing else [doc])
    summary = {"items": doc.get("summary", []), "gate": gate, "reports": reports}
    return store.complete_scan(
        scan_id, status="succeeded", summary=summary, result_key=result_key(scan_id)
    )


def handle(backend: Backend, queue: QueueName, body: Any, *, attempt: int = 1) -> None:
    """Deliver one queue message to its step (what every queue consumer calls).

    Parameters
    ----------
    backend
        Where the scan lives.
    queue
        The queue it came from (checked against the message type).
    body
        The message body, a dict or its JSON text.
    attempt
        1 for the first delivery (SQS ``ApproximateReceiveCount``).
    """
    msg = parse_message(body)
    expected = {"dispatch": "dispatch", "work": "batch", "aggregate": "aggregate"}[queue]
    if msg.type != expected:
        raise ValueError(f"a {msg.type!r} message on the {queue!r} queue")
    if isinstance(msg, DispatchMessage):
        dispatch(backend, msg.scan_id)
    elif isinstance(msg, BatchMessage):
        run_batch(backend, msg, final_attempt=attempt >= backend.settings.max_attempts)
    else:
        aggregate(backend, msg.scan_id, final_attempt=attempt >= backend.settings.max_attempts)

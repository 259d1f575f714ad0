"""The PII audit: stream records, detect, count like Macie, write findings and redacted copies.

A **finding** is one entity type in one record, with its number of occurrences (detected
spans), its highest score and a severity from the count (thresholds in the PII config), as
Macie grades sensitive-data findings by type and count. An **occurrence** is one span.

One batch of records gives a :class:`PartialScan`: plain counts that add up. The CLI scans a
whole source into one partial; a serverless worker scans each of its objects (or byte ranges)
with :func:`scan_raw_records` and an aggregator adds the partials with :func:`merge_partials` —
the same reader (:mod:`audit.records`) and the same scanner, so the counts reconcile exactly.
Neither holds text: masked samples only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from audit.pii._config import PiiConfig
from audit.pii._engine import DetectorPool, Finding
from audit.pii._mask import mask_value
from audit.pii._sampling import SampleSpec
from audit.pii._sources import ObjectInfo, RawRecord, iter_source
from audit.records import get_path, is_missing

__all__ = ["PartialScan", "merge_partials", "pii_audit", "scan_raw_records", "scan_records"]

SEVERITIES = ("LOW", "MEDIUM", "HIGH")
#: Per-object entries listed in the provenance inputs (all objects enter the manifest hash).
MAX_LISTED_OBJECTS = 100


@dataclass
class TypeTotals:
    """Counts of one entity type."""

    occurrences: int = 0
    findings: int = 0
    records: int = 0
    max_score: float = 0.0
    severity: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SEVERITIES, 0))
    samples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "occurrences": self.occurrences,
            "findings": self.findings,
            "records": self.records,
            "max_score": self.max_score,
            "severity": dict(self.severity),
            "masked_samples": list(self.samples),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TypeTotals:
        return cls(
            occurrences=int(d["occurrences"]),
            findings=int(d["findings"]),
            records=int(d["records"]),
            max_score=float(d["max_score"]),
            severity={s: int(d["severity"].get(s, 0)) for s in SEVERITIES},
            samples=list(d.get("masked_samples", [])),
        )


@dataclass
class PartialScan:
    """Counts from scanning some records; partials add up with :meth:`merge`.

    Serialise with :meth:`as_dict` (JSON-safe, no raw text) and read back with
    :meth:`from_dict`, e.g. between a Lambda worker and the aggregator.
    """

    records_scanned: int = 0
    records_with_pii: int = 0
    records_skipped: int = 0
    occurrences: int = 0
    findings: int = 0
    severity: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SEVERITIES, 0))
    by_type: dict[str, TypeTotals] = field(default_factory=dict)
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)
    objects_skipped: int = 0
    objects_not_sampled: int = 0

    # -- accumulation --

    def add_skip(
        self,
        obj: str,
        index: int,
        reason: str,
        detail: str | None,
        *,
        record_id: str | None = None,
        max_listed: int = 1000,
    ) -> None:
        """Count (and list, up to ``max_listed``) a record or object that was not scanned."""
        if index == 0:
            self.objects_skipped += 1
        else:
            self.records_skipped += 1
        self.skipped_by_reason[reason] = self.skipped_by_reason.get(reason, 0) + 1
        if len(self.skipped) < max_listed:
            entry: dict[str, Any] = {"object": obj, "record": index or None, "reason": reason}
            if detail:
                entry["detail"] = detail
            if record_id is not None:
                entry["id"] = record_id
            self.skipped.append(entry)

    def add_record(
        self, text: str, findings: Sequence[Finding], config: PiiConfig
    ) -> dict[str, dict[str, Any]]:
        """Count one scanned record; returns its per-type summary for the findings file."""
        self.records_scanned += 1
        if not findings:
            return {}
        self.records_with_pii += 1
        self.occurrences += len(findings)
        types: dict[str, dict[str, Any]] = {}
        for f in findings:
            t = types.setdefault(f.entity_type, {"count": 0, "max_score": 0.0})
            t["count"] += 1
            t["max_score"] = max(t["max_score"], round(f.score, 4))
            tot = self.by_type.setdefault(f.entity_type, TypeTotals())
            tot.occurrences += 1
            tot.max_score = max(tot.max_score, round(f.score, 4))
            if len(tot.samples) < config.samples_per_type:
                masked = mask_value(f.entity_type, text[f.start : f.end])
                if masked not in tot.samples:
                    tot.samples.append(masked)
        for etype, t in types.items():
            sev = config.severity_for(etype, t["count"])
            t["severity"] = sev
            tot = self.by_type[etype]
            tot.findings += 1
            tot.records += 1
            tot.severity[sev] += 1
            self.findings += 1
            self.severity[sev] += 1
        return types

    def merge(
        self, other: PartialScan, *, samples_per_type: int = 5, max_listed: int = 1000
    ) -> PartialScan:
        """Add ``other``'s counts to these (in place); returns ``self``."""
        self.records_scanned += other.records_scanned
        self.records_with_pii += other.records_with_pii
        self.records_skipped += other.records_skipped
        self.occurrences += other.occurrences
        self.findings += other.findings
        for s in SEVERITIES:
            self.severity[s] += other.severity.get(s, 0)
        for etype, o in other.by_type.items():
            t = self.by_type.setdefault(etype, TypeTotals())
            t.occurrences += o.occurrences
            t.findings += o.findings
            t.records += o.records
            t.max_score = max(t.max_score, o.max_score)
            for s in SEVERITIES:
                t.severity[s] += o.severity.get(s, 0)
            for sample in o.samples:
                if len(t.samples) < samples_per_type and sample not in t.samples:
                    t.samples.append(sample)
        for reason, n in other.skipped_by_reason.items():
            self.skipped_by_reason[reason] = self.skipped_by_reason.get(reason, 0) + n
        self.skipped.extend(other.skipped[: max(0, max_listed - len(self.skipped))])
        self.objects.extend(other.objects)
        self.objects_skipped += other.objects_skipped
        self.objects_not_sampled += other.objects_not_sampled
        return self

    # -- (de)serialisation --

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form (for a serverless worker's output)."""
        return {
            "records_scanned": self.records_scanned,
            "records_with_pii": self.records_with_pii,
            "records_skipped": self.records_skipped,
            "occurrences": self.occurrences,
            "findings": self.findings,
            "severity": dict(self.severity),
            "by_type": {k: v.as_dict() for k, v in sorted(self.by_type.items())},
            "skipped_by_reason": dict(sorted(self.skipped_by_reason.items())),
            "skipped": list(self.skipped),
            "objects": list(self.objects),
            "objects_skipped": self.objects_skipped,
            "objects_not_sampled": self.objects_not_sampled,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PartialScan:
        """Read back :meth:`as_dict`."""
        return cls(
            records_scanned=int(d["records_scanned"]),
            records_with_pii=int(d["records_with_pii"]),
            records_skipped=int(d["records_skipped"]),
            occurrences=int(d["occurrences"]),
            findings=int(d["findings"]),
            severity={s: int(d["severity"].get(s, 0)) for s in SEVERITIES},
            by_type={k: TypeTotals.from_dict(v) for k, v in d.get("by_type", {}).items()},
            skipped_by_reason={k: int(v) for k, v in d.get("skipped_by_reason", {}).items()},
            skipped=list(d.get("skipped", [])),
            objects=list(d.get("objects", [])),
            objects_skipped=int(d.get("objects_skipped", 0)),
            objects_not_sampled=int(d.get("objects_not_sampled", 0)),
        )


# --- the scanner --------------------------------------------------------------------------


@dataclass
class _Pending:
    obj: ObjectInfo
    index: int
    record_id: str
    text: str
    data: dict[str, Any]


class _Scanner:
    """Buffers records into batches, detects, counts, writes findings and redacted copies."""

    def __init__(
        self,
        config: PiiConfig,
        pool: DetectorPool,
        text_field: str,
        id_field: str | None,
        findings: Any = None,
        redactor: Any = None,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> None:
        self.config = config
        self.pool = pool
        self.text_field = text_field
        self.id_field = id_field
        self.findings = findings
        self.redactor = redactor
        self.progress = progress
        self.partial = PartialScan()
        self._buffer: list[_Pending] = []
        self._done_objects: list[str] = []
        self._seen = 0

    def _id(self, obj: ObjectInfo, index: int, data: dict[str, Any] | None) -> str:
        if self.id_field and data is not None:
            value = get_path(data, self.id_field)
            if not is_missing(value) and value is not None:
                return str(value)
        return f"{obj.name}#{index}"

    def feed(self, rec: RawRecord) -> None:
        cfg = self.config
        if rec.reason == "not_sampled":
            self.partial.objects_not_sampled += 1
            return
        self._seen += 1
        if rec.data is None:
            rid = self._id(rec.obj, rec.index, None) if rec.index > 0 else None
            self.partial.add_skip(
                rec.obj.name,
                rec.index,
                rec.reason or "unreadable",
                rec.detail,
                record_id=rid,
                max_listed=cfg.max_skipped_listed,
            )
            return
        rid = self._id(rec.obj, rec.index, rec.data)
        value = get_path(rec.data, self.text_field)
        reason = detail = None
        if is_missing(value):
            reason, detail = "no_text_field", f"no field {self.text_field!r}"
        elif value is None:
            reason, detail = "null_text", f"field {self.text_field!r} is null"
        elif not isinstance(value, str):
            reason = "text_not_string"
            detail = f"field {self.text_field!r} is a {type(value).__name__}"
        elif len(value) > cfg.max_text_chars:
            reason = "text_too_long"
            detail = f"{len(value)} characters; the limit (max_text_chars) is {cfg.max_text_chars}"
        if reason is not None:
            self.partial.add_skip(
                rec.obj.name,
                rec.index,
                reason,
                detail,
                record_id=rid,
                max_listed=cfg.max_skipped_listed,
            )
            return
        self._buffer.append(_Pending(rec.obj, rec.index, rid, value, rec.data))
        if len(self._buffer) >= cfg.batch_size:
            self.flush()

    def object_done(self, name: str) -> None:
        """The source moved past object ``name``: close its redacted copy after the batch."""
        self._done_objects.append(name)
        if not self._buffer:
            self._close_done()

    def _close_done(self) -> None:
        if self.redactor is not None:
            for name in self._done_objects:
                self.redactor.finish(name)
        self._done_objects = []

    def flush(self) -> None:
        batch, self._buffer = self._buffer, []
        if batch:
            results = self.pool.detect([p.text for p in batch])
            for p, spans in zip(batch, results, strict=True):
                types = self.partial.add_record(p.text, spans, self.config)
                if self.findings is not None:
                    self.findings.write(
                        {
                            "id": p.record_id,
                            "object": p.obj.name,
                            "record": p.index,
                            "findings": [
                                {
                                    "entity_type": f.entity_type,
                                    "start": f.start,
                                    "end": f.end,
                                    "score": round(f.score, 4),
                                }
                                for f in spans
                            ],
                            "types": types,
                        }
                    )
                if self.redactor is not None:
                    redacted = self.redactor.redact_text(p.text, spans)
                    self.redactor.write(p.obj, p.data, self.text_field, redacted)
        self._close_done()
        if self.progress is not None:
            self.progress(self._seen, None)


def scan_records(
    records: Iterable[dict[str, Any]],
    *,
    text_field: str,
    id_field: str | None = None,
    config: PiiConfig,
    object_name: str = "batch",
    pool: DetectorPool | None = None,
    findings: Any = None,
    redactor: Any = None,
) -> PartialScan:
    """Scan one batch of already-parsed records (e.g. a serverless worker's share).

    Parameters
    ----------
    records
        Dicts with the text (and id) at ``text_field`` (``id_field``), dotted paths allowed.
    text_field, id_field
        Where the text and the record id are.
    config
        The PII configuration.
    object_name
        Name under which these records are counted and listed (e.g. the S3 key).
    pool
        A started :class:`DetectorPool` to reuse (one per worker process); by default an
        in-process detector is created (and its spaCy model loaded) for this call.
    findings
        Anything with ``write(dict)`` to receive one findings line per record.
    redactor
        A :class:`~audit.pii._output.Redactor` (or anything with its ``redact_text`` and
        ``write``) to receive a redacted copy of each scanned record; closing the copy is the
        caller's.

    Returns
    -------
    PartialScan
        Counts to merge with :func:`merge_partials`.
    """
    obj = ObjectInfo(object_name, "records", hash_of="canonical JSON of the records")
    h = hashlib.sha256()
    own = pool is None
    pool = pool or DetectorPool(config, workers=1)
    if own:
        pool.__enter__()
    try:
        scanner = _Scanner(config, pool, text_field, id_field, findings=findings, redactor=redactor)
        for i, data in enumerate(records, start=1):
            line = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
            h.update(line.encode("utf-8") + b"\n")
            obj.bytes_read += len(line) + 1
            obj.records_read += 1
            if isinstance(data, dict):
                scanner.feed(RawRecord(obj, i, data=data))
            else:
                scanner.feed(RawRecord(obj, i, reason="not_an_object", detail=type(data).__name__))
        scanner.flush()
    finally:
        if own:
            pool.__exit__(None, None, None)
    obj.sha256 = h.hexdigest()
    scanner.partial.objects.append(obj.as_dict())
    return scanner.partial


def _feed(scanner: _Scanner, records: Iterable[RawRecord], *, close_objects: bool) -> None:
    """Feed every record; with ``close_objects``, tell the scanner when an object is done
    (its redacted copy is closed after the batch that holds its last record)."""
    current: ObjectInfo | None = None
    for rec in records:
        if close_objects and rec.reason != "not_sampled" and rec.obj is not current:
            if current is not None:
                scanner.object_done(current.name)
            current = rec.obj
        scanner.feed(rec)
    if current is not None:
        scanner.object_done(current.name)
    scanner.flush()


def scan_raw_records(
    records: Iterable[RawRecord],
    *,
    objects: Sequence[ObjectInfo],
    text_field: str,
    id_field: str | None = None,
    config: PiiConfig,
    pool: DetectorPool | None = None,
    findings: Any = None,
    redactor: Any = None,
) -> PartialScan:
    """Scan records as :func:`~audit.pii._sources.object_records` reads them — each with its
    object, its index and, if it could not be read, its skip reason — as :func:`pii_audit`
    does; a serverless worker calls this per object or byte range.

    Parameters
    ----------
    records
        :class:`RawRecord` objects, in the order read.
    objects
        The objects they come from, listed in the partial (with their hashes, once read)
        whether or not they held a record.
    text_field, id_field, config, pool, findings, redactor
        As :func:`scan_records`.

    Returns
    -------
    PartialScan
        Counts to merge with :func:`merge_partials`.
    """
    own = pool is None
    pool = pool or DetectorPool(config, workers=1)
    if own:
        pool.__enter__()
    try:
        scanner = _Scanner(config, pool, text_field, id_field, findings=findings, redactor=redactor)
        _feed(scanner, records, close_objects=False)
    finally:
        if own:
            pool.__exit__(None, None, None)
    scanner.partial.objects.extend(o.as_dict() for o in objects)
    return scanner.partial


def pii_audit(
    source: str,
    *,
    text_field: str,
    id_field: str | None = None,
    config: PiiConfig,
    sample: SampleSpec | None = None,
    findings_path: str | None = None,
    redact_to: str | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    s3_client: Any = None,
    dynamodb_client: Any = None,
    workers: int | None = None,
) -> dict[str, Any]:
    """Scan stored posts for PII and return the result document (``kind: "pii"``).

    Parameters
    ----------
    source
        A local file or folder (JSONL, CSV, TSV, Parquet), ``s3://bucket/prefix`` or
        ``dynamodb://table``.
    text_field, id_field
        Field of the post text and of the record id (dotted paths for nested fields).
    config
        The PII configuration (:func:`load_pii_config`).
    sample
        Share of objects, records per object, random start, seed; ``None`` scans everything.
    findings_path
        Local path or ``s3://`` key for the per-record findings file (JSON Lines, offsets
        only).
    redact_to
        Local folder or ``s3://bucket/prefix`` for redacted copies of the scanned records.
    progress
        Called with (records read, total or ``None``) after each batch.
    s3_client, dynamodb_client
        boto3 clients to use (default: new ones; ``AWS_ENDPOINT_URL`` is honoured).
    workers
        Detection processes (default: the config's ``workers``).

    Returns
    -------
    dict
        The result document; write it with :func:`audit.results.write_result`.

    Examples
    --------
    >>> cfg = load_pii_config(None)  # doctest: +SKIP
    >>> doc = pii_audit("posts.jsonl", text_field="text", config=cfg)  # doctest: +SKIP
    >>> doc["pii"]["severity"]["HIGH"]  # doctest: +SKIP
    0
    """
    from audit.pii._output import FindingsWriter, Redactor
    from audit.pii._sources import parse_source

    parse_source(source)  # fail on a bad source before loading any model
    objects: list[ObjectInfo] = []
    findings = FindingsWriter(findings_path, s3_client) if findings_path else None
    redactor = None
    try:
        redactor = Redactor(config, redact_to, s3_client) if redact_to else None
        with DetectorPool(config, workers) as pool:
            scanner = _Scanner(
                config, pool, text_field, id_field, findings, redactor, progress=progress
            )
            records = iter_source(
                source,
                config=config,
                sample=sample,
                s3_client=s3_client,
                dynamodb_client=dynamodb_client,
                objects=objects,
            )
            _feed(scanner, records, close_objects=True)
            model = pool.detector.model_info() if pool.workers <= 1 else _model_info(config)
    finally:
        if findings is not None:
            findings.close()
        if redactor is not None:
            redactor.close()
    partial = scanner.partial
    partial.objects.extend(obj.as_dict() for obj in objects)
    return merge_partials(
        [partial],
        config=config,
        source=source,
        text_field=text_field,
        id_field=id_field,
        sample=sample,
        model=model,
        findings_path=findings_path,
        redact_to=redact_to,
    )


def _model_info(config: PiiConfig) -> dict[str, str]:
    from importlib import metadata

    info = {"kind": "pii_detector", "ner_model": config.ner.model}
    dist = config.ner.model.replace("_", "-")
    with contextlib.suppress(metadata.PackageNotFoundError):
        info["ner_model_version"] = metadata.version(dist)
    return info


# --- the result document --------------------------------------------------------------------


def wilson_interval(k: int, n: int, level: float = 0.95) -> tuple[float | None, float | None]:
    """Wilson score interval of a proportion k/n (Wilson 1927; Brown, Cai & DasGupta 2001).

    Used for the share of records holding PII, which a sampled scan estimates.
    """
    if n == 0:
        return None, None
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + level / 2)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _estimate(k: int, n: int, level: float) -> dict[str, float | None]:
    lo, hi = wilson_interval(k, n, level)
    return {"value": k / n if n else None, "ci_low": lo, "ci_high": hi}


#: Per entity type (``groups[]``, attribute ``entity_type``): the share of scanned records
#: with at least one finding of the type, with a Wilson interval.
RECORD_METRICS = ("record_rate",)
#: Counts over the whole scan (``summary[]``, attribute ``all``), in this order.
SUMMARY_METRICS = (
    "records_scanned",
    "records_with_pii",
    "records_skipped",
    "objects_skipped",
    "findings_total",
    "occurrences_total",
    "high_severity_findings",
    "medium_severity_findings",
    "low_severity_findings",
)
#: Counts per entity type (``summary[]``, attribute ``entity_type``): ``<type>_<metric>``.
ENTITY_SUMMARY_METRICS = ("findings", "occurrences", "high_severity_findings")


def _summary(attribute: str, metric: str, value: float | int, groups: list[str]) -> dict[str, Any]:
    return {
        "attribute": attribute,
        "metric": metric,
        "value": value,
        "ci_low": None,
        "ci_high": None,
        "groups_included": groups,
    }


def merge_partials(
    partials: Sequence[PartialScan | dict[str, Any]],
    *,
    config: PiiConfig,
    source: str,
    text_field: str,
    id_field: str | None = None,
    sample: SampleSpec | None = None,
    model: dict[str, str] | None = None,
    findings_path: str | None = None,
    redact_to: str | None = None,
    level: float = 0.95,
) -> dict[str, Any]:
    """Add up partial scans (in the order given) into one result document.

    Parameters
    ----------
    partials
        :class:`PartialScan` objects or their :meth:`~PartialScan.as_dict` forms.
    config, source, text_field, id_field, sample
        What was scanned and how (written into the result's settings).
    model
        Detector description for the provenance (default: the config's NER model).
    findings_path, redact_to
        Where the findings file and redacted copies went, if anywhere.
    level
        Confidence level of the Wilson intervals.

    Returns
    -------
    dict
        A result document that validates against ``result-1.0.0.json``.
    """
    from audit.results import SCHEMA_VERSION, provenance

    total = PartialScan()
    for p in partials:
        part = p if isinstance(p, PartialScan) else PartialScan.from_dict(p)
        total.merge(
            part, samples_per_type=config.samples_per_type, max_listed=config.max_skipped_listed
        )
    seed = sample.seed if sample is not None else 0
    n = total.records_scanned
    types = sorted(total.by_type)
    groups = []
    for etype in types:
        t = total.by_type[etype]
        groups.append(
            {
                "attribute": "entity_type",
                "group": etype,
                "n": n,
                "positives": t.records,
                "negatives": n - t.records,
                "metrics": {RECORD_METRICS[0]: _estimate(t.records, n, level)},
                "verdicts": {},
            }
        )
    counts = (
        n,
        total.records_with_pii,
        total.records_skipped,
        total.objects_skipped,
        total.findings,
        total.occurrences,
        total.severity["HIGH"],
        total.severity["MEDIUM"],
        total.severity["LOW"],
    )
    summary = [
        _summary("all", metric, value, types)
        for metric, value in zip(SUMMARY_METRICS, counts, strict=True)
    ]
    for etype in types:
        t = total.by_type[etype]
        per_type = (t.findings, t.occurrences, t.severity["HIGH"])
        summary += [
            _summary("entity_type", f"{etype.lower()}_{metric}", value, [etype])
            for metric, value in zip(ENTITY_SUMMARY_METRICS, per_type, strict=True)
        ]
    objects = sorted(total.objects, key=lambda o: o["name"])
    manifest = "".join(f"{o['name']}\t{o['sha256']}\n" for o in objects)
    inputs = [
        {
            "role": "pii_source",
            "path": source,
            "sha256": hashlib.sha256(manifest.encode("utf-8")).hexdigest(),
            "hash_of": "manifest: one line 'object<TAB>sha256' per object read, sorted",
        }
    ]
    for o in objects[:MAX_LISTED_OBJECTS]:
        if o.get("sha256"):
            entry = {"role": "pii_object", "path": o["name"], "sha256": o["sha256"]}
            entry["hash_of"] = o.get("hash_of", "bytes read")
            if o.get("etag"):
                entry["etag"] = o["etag"]
            inputs.append(entry)
    model = model or _model_info(config)
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": "pii",
        "settings": {
            "reference": "largest",
            "min_positives": 0,
            "min_negatives": 0,
            "min_group_size": 0,
            "ci": {"method": "wilson", "resamples": 0, "level": level, "seed": seed},
            "source": source,
            "text_field": text_field,
            "id_field": id_field,
            "entities": list(config.entities),
            "score_threshold": config.score_threshold,
            "thresholds": dict(config.thresholds),
            "config": config.path,
            "sample": sample.describe() if sample is not None else None,
        },
        "overall": {
            "n": n,
            "metrics": {"records_with_pii_rate": _estimate(total.records_with_pii, n, level)},
        },
        "groups": groups,
        "suppressed_groups": [],
        "disparities": [],
        "summary": summary,
        "pii": {
            "records": {
                "scanned": n,
                "with_pii": total.records_with_pii,
                "skipped": total.records_skipped,
            },
            "objects": {
                "seen": len(objects),
                "skipped": total.objects_skipped,
                "not_sampled": total.objects_not_sampled,
                "listed": [
                    {k: o[k] for k in ("name", "records_read", "bytes_read")} for o in objects
                ][:MAX_LISTED_OBJECTS],
            },
            "findings_total": total.findings,
            "occurrences_total": total.occurrences,
            "severity": dict(total.severity),
            "by_type": {k: total.by_type[k].as_dict() for k in types},
            "skipped": {
                "by_reason": dict(sorted(total.skipped_by_reason.items())),
                "listed": total.skipped,
                "total": total.records_skipped + total.objects_skipped,
            },
            "sampling": sample.describe() if sample is not None else None,
            "severity_rule": "per finding (entity type in one record) by occurrence count; "
            "thresholds in the PII config",
            "findings_file": findings_path,
            "redacted_to": redact_to,
            "config": {"path": config.path, "sha256": config.sha256},
        },
        "provenance": provenance(
            inputs=inputs,
            model=model,
            seed=seed,
            policy_sha256=config.sha256,
            extra_packages=(
                "presidio-analyzer",
                "presidio-anonymizer",
                "spacy",
                "phonenumbers",
                config.ner.model.replace("_", "-"),
            ),
        ),
    }
    return doc

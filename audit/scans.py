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
pii            ``audit.pii.scan_records`` per object or range       ``merge_partials``
classification one batch: :func:`audit.runner.run_audit`             the one result
moderation     one batch: :func:`audit.runner.run_audit`             the one result
recommendation one batch: :func:`audit.runner.run_recommendation`    the one result
face           one batch: :func:`audit.runner.run_face`              the one result
============== ==================================================== ========================

Examples
--------
>>> from audit.storage import Settings, make_backend
>>> backend = make_backend(Settings(home="/tmp/sa-doc", workers=1))  # doctest: +SKIP
>>> scan, created = submit_scan(
...     backend, parse_request({"kind": "inventory", "source": "posts/"})
... )  # doctest: +SKIP
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import json
import logging
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from audit.exceptions import AuditError, ConfigError, DataError
from audit.pii._sampling import SampleSpec, keep_object, parse_sample, sample_records
from audit.runner import (
    AuditSpec,
    check_face_inputs,
    check_recommendation_inputs,
    format_validation_error,
)
from audit.storage import (
    LocalStore,
    QueueName,
    ScanRecord,
    SourceObject,
    Sources,
    iter_chunks,
)

if TYPE_CHECKING:
    from audit.storage import Backend

__all__ = [
    "KINDS",
    "AggregateMessage",
    "AuditScan",
    "BatchJob",
    "BatchMessage",
    "BatchRef",
    "DispatchMessage",
    "FaceScan",
    "InventoryScan",
    "PiiScan",
    "RecommendationScan",
    "ScanRequest",
    "Unit",
    "aggregate",
    "current_batch",
    "dispatch",
    "handle",
    "parse_message",
    "parse_request",
    "plan_units",
    "read_records",
    "resume",
    "run_batch",
    "submit_scan",
]

log = logging.getLogger("audit.scans")

#: Longest a source URI, a field name or a file path may be in a request.
_MAX_URI = 2048
_MAX_NAME = 256
#: Most units (objects or byte ranges) in one batch message, and most bytes their URIs may
#: take: keeps a message far below SQS's 256 KiB even for many tiny objects with long keys.
MAX_UNITS_PER_BATCH = 500
MAX_MESSAGE_BYTES = 96 * 1024
_UNIT_OVERHEAD = 96  # JSON of one unit besides its URI
#: Problems listed per batch and per result (all are counted).
MAX_PROBLEMS = 20
#: How long one aggregator may hold the right to merge before another may take it over.
AGGREGATION_LEASE_S = 900.0
#: A scan still ``queued`` this long after creation is dispatched again when its
#: Idempotency-Key is replayed (the first dispatch message may have been lost).
STALE_QUEUED_S = 60.0


# --------------------------------------------------------------------------------------------
# requests: validated once, at the boundary


class _SourceScan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=_MAX_NAME)
    source: str = Field(
        min_length=1,
        max_length=_MAX_URI,
        description="s3://bucket/prefix/ (or a local file or folder in local mode)",
    )
    text_field: str = Field(
        "text", min_length=1, max_length=_MAX_NAME, description="record field (dotted path)"
    )
    policy: str | None = Field(
        default=None, max_length=_MAX_URI, description="policy file to apply"
    )


class InventoryScan(_SourceScan):
    """Count what a source holds — records, bytes, text lengths, unreadable lines.

    A cheap dry run before a PII scan, and the kind the fan-out is tested with.
    """

    kind: Literal["inventory"]


class PiiScan(_SourceScan):
    """Scan stored posts for personal data (``socialaudit pii``).

    ``sample``, ``findings`` and ``redact_to`` are the CLI's ``--sample``, ``--findings`` and
    ``--redact-to``. The fan-out writes outputs per batch, under a folder named after the scan:
    ``<findings>/<scan id>/part-<batch, 8 digits>.jsonl`` and ``<redact_to>/<scan id>/<object>``
    (see :class:`PiiJob`). Where they may go is checked at submit
    (:meth:`audit.storage.Sources.check_destination`).
    """

    kind: Literal["pii"]
    id_field: str | None = Field(default=None, max_length=_MAX_NAME)
    config: str | None = Field(
        None, max_length=_MAX_URI, description="PII config YAML on the server (default built in)"
    )
    sample: SampleSpec | None = Field(
        None,
        description="{objects: share, records: N per object, random_start, seed}, or the "
        "CLI's text objects=0.1,records=100,random_start=true,seed=7 (default: scan all)",
    )
    findings: str | None = Field(
        None,
        min_length=1,
        max_length=_MAX_URI,
        description="folder or s3:// prefix for the per-record findings (offsets, types, "
        "scores; never text): one part per batch, <findings>/<scan id>/part-NNNNNNNN.jsonl",
    )
    redact_to: str | None = Field(
        None,
        min_length=1,
        max_length=_MAX_URI,
        description="folder or s3:// prefix for redacted copies of the scanned records: "
        "<redact_to>/<scan id>/<object>",
    )

    @field_validator("sample", mode="before")
    @classmethod
    def _sample_text(cls, value: Any) -> Any:
        # The CLI's text form, parsed by the CLI's own parser: one definition of the syntax.
        if isinstance(value, str):
            try:
                return parse_sample(value)
            except ConfigError as exc:
                raise ValueError(str(exc).removeprefix("--sample: ")) from None
        return value

    @field_validator("findings")
    @classmethod
    def _findings_is_a_folder(cls, value: str | None) -> str | None:
        if value is not None and value.rstrip("/").endswith(".jsonl"):
            raise ValueError(
                "a folder or s3:// prefix, not a .jsonl file: each batch writes its own part, "
                "<findings>/<scan id>/part-NNNNNNNN.jsonl"
            )
        return value

    @model_validator(mode="after")
    def _outputs_apart(self) -> PiiScan:
        if self.findings and self.redact_to:
            a, b = (_norm_dest(d) for d in (self.findings, self.redact_to))
            if a == b or a.startswith(b + "/") or b.startswith(a + "/"):
                raise ValueError(
                    "findings and redact_to name the same place (or one is inside the other): "
                    "give two places apart"
                )
        return self


def _norm_dest(dest: str) -> str:
    return dest.rstrip("/") if dest.startswith("s3://") else os.path.normpath(dest)


#: Most bootstrap resamples a request may ask the server for (the CLI has no limit).
MAX_RESAMPLES = 10_000


class AuditScan(AuditSpec):
    """A classification or moderation audit: the fields of ``socialaudit classification``.

    Over HTTP three things the CLI allows are refused, because they would let a caller run
    code or write files on the server: pickled models, ``module:function`` models and ``out``.
    """

    policy: str | None = Field(default=None, max_length=_MAX_URI)
    resamples: int = Field(
        1000, ge=0, le=MAX_RESAMPLES, description="bootstrap resamples (0 disables intervals)"
    )

    @model_validator(mode="after")
    def _safe_over_http(self) -> AuditScan:
        if self.out:
            raise ValueError("out is not accepted: the result is stored with the scan")
        if self.trust_pickle or self.trust_types:
            raise ValueError("trust_pickle and trust_types are not accepted over HTTP")
        model = self.model or ""
        if model and not model.startswith(("http://", "https://")) and not model.endswith(".skops"):
            raise ValueError(
                "model must be an http(s):// endpoint or a .skops file over HTTP "
                "(module:function and pickles would run code on the server)"
            )
        return self


#: Most columns a list field (``groups``, ``user_groups``, ...) may name.
_MAX_COLUMNS = 32
#: Most encoding processes and largest scoring block a face scan may ask the server for.
_MAX_FACE_WORKERS = 32
_MAX_FACE_BLOCK = 4096
#: What ``socialaudit recommendation --model`` has built in (``BUILTIN_RECOMMENDERS`` in
#: :mod:`audit.recommenders`, which loads SciPy; a test keeps the two equal).
HTTP_RECOMMENDERS = ("popularity", "itemknn", "puresvd")

_Column = Annotated[str, Field(min_length=1, max_length=_MAX_NAME)]
_File = Annotated[str, Field(min_length=1, max_length=_MAX_URI)]


def _refuse(data: Any, reasons: dict[str, str]) -> Any:
    """Refuse, naming it and saying why, a CLI flag that must not be honoured over HTTP."""
    if isinstance(data, dict):
        for key, why in reasons.items():
            if key in data:
                raise ValueError(f"{key} is not accepted over HTTP: {why}")
    return data


def _checked(check: Any, request: BaseModel) -> None:
    # The rule is shared with the CLI (audit.runner); here it names the body's fields.
    try:
        check(dict(request), name=str)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None


class _StatsScan(BaseModel):
    """Fields every one-batch audit request has besides its own (the CLI's statistics flags)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=_MAX_NAME)
    policy: str | None = Field(
        default=None, max_length=_MAX_URI, description="policy file to apply"
    )
    reference: Literal["largest", "best"] | dict[_Column, _Column] = Field(
        "largest", description="reference group: largest, best, or {attribute: group}"
    )
    resamples: int = Field(
        1000, ge=0, le=MAX_RESAMPLES, description="bootstrap resamples (0 disables intervals)"
    )
    ci_level: float = Field(0.95, gt=0.0, lt=1.0, description="interval level")
    seed: int = 0
    min_group_size: int = Field(10, ge=1, description="smaller groups are suppressed")


class RecommendationScan(_StatsScan):
    """A recommendation audit: the flags of ``socialaudit recommendation``, with underscores.

    Give the platform's ranked lists (``recommendations`` + ``truth``) or a built-in
    recommender and an interaction log (``model`` + ``interactions``); the audit is
    :func:`audit.runner.run_recommendation`, as in the CLI.

    Over HTTP two things the CLI allows are refused, because they would let a caller run code
    or write files on the server: a ``package.module:name`` recommender (``model`` must be one
    of :data:`HTTP_RECOMMENDERS`; audit any other model through its pre-computed
    ``recommendations``) and ``out`` (the result is stored with the scan).
    """

    kind: Literal["recommendation"]
    recommendations: _File | None = Field(None, description="ranked lists: user, item, rank")
    truth: _File | None = Field(None, description="held-out judgments: user, item[, rating]")
    model: str | None = Field(
        None,
        max_length=_MAX_NAME,
        description="built-in recommender: " + ", ".join(HTTP_RECOMMENDERS),
    )
    interactions: _File | None = Field(
        None, description="full interaction log (user, item, timestamp[, rating]) for model"
    )
    holdout: int = Field(1, ge=1, description="with model: each user's last N held out")
    batch_size: int = Field(1024, ge=1, description="users per recommend call")
    users: _File = Field(description="user ids and attributes")
    user_groups: list[_Column] = Field(
        min_length=1, max_length=_MAX_COLUMNS, description="user attribute columns"
    )
    items: _File | None = Field(None, description="item ids and provider attributes")
    creator_group: list[_Column] = Field(
        default_factory=list, max_length=_MAX_COLUMNS, description="provider group columns"
    )
    popularity_col: _Column | None = Field(
        None, description="with recommendations: items column of interaction counts"
    )
    user_col: _Column = "user_id"
    item_col: _Column = "item_id"
    rank_col: _Column = "rank"
    rating_col: _Column = "rating"
    time_col: _Column = "timestamp"
    k: int = Field(10, ge=1, description="list length")
    relevance_threshold: float | None = Field(
        None, allow_inf_nan=False, description="held-out items rated >= this are relevant"
    )
    graded: bool = Field(False, description="graded NDCG: gain = rating")
    min_users: int = Field(30, ge=0, description="fewer users -> insufficient_evidence")
    min_positives: int = Field(
        30, ge=0, description="fewer relevant judgments -> insufficient_evidence"
    )

    @model_validator(mode="before")
    @classmethod
    def _writes_nothing(cls, data: Any) -> Any:
        return _refuse(data, {"out": "the result is stored with the scan"})

    @model_validator(mode="after")
    def _safe_over_http(self) -> RecommendationScan:
        if self.model is not None and self.model not in HTTP_RECOMMENDERS:
            raise ValueError(
                f"model must be one of {', '.join(HTTP_RECOMMENDERS)} over HTTP "
                "(package.module:name would run code on the server); to audit another "
                "model, give its ranked lists as recommendations and truth"
            )
        _checked(check_recommendation_inputs, self)
        return self


class FaceScan(_StatsScan):
    """A face-recognition audit: the flags of ``socialaudit face``, with underscores.

    Templates come from the platform's pre-computed ``embeddings`` (``.npy``, read without
    pickles, or Parquet), its scores for listed ``pairs``, or else the built-in
    face_recognition model, which detects and encodes every image (slow; one batch). The audit
    is :func:`audit.runner.run_face`, as in the CLI.

    Over HTTP ``out``, ``cache_dir`` and ``no_cache`` are refused, because they would write
    files on the server: the result is stored with the scan, and the server keeps no embedding
    cache (it would hold biometric templates on its disk, at a place the caller chose).
    """

    kind: Literal["face"]
    manifest: _File = Field(description="one row per image: .csv, .tsv, .parquet or .jsonl")
    subject: _Column = Field("subject_id", description="subject id column")
    image: _Column = Field("path", description="image path column")
    images_root: _File | None = Field(
        None, description="folder relative image paths start from (default: the manifest's)"
    )
    groups: list[_Column] = Field(
        min_length=1, max_length=_MAX_COLUMNS, description="demographic columns of the subject"
    )
    embeddings: _File | None = Field(
        None, description="the platform's templates: .npy (row i = manifest row i) or .parquet"
    )
    pairs: _File | None = Field(
        None, description="the platform's scores for listed pairs: image_a, image_b, score"
    )
    score_type: Literal["similarity", "distance"] | None = Field(
        None, description="with pairs: is a higher score more alike (similarity, the default)"
    )
    pair_columns: list[_Column] | None = Field(
        None, max_length=3, description="with pairs: the two image columns and the score column"
    )
    detector: Literal["hog", "cnn"] | None = Field(None, description="built-in: hog or cnn")
    upsample: int | None = Field(None, ge=0, description="built-in: upsample before detection")
    downscale: float | None = Field(
        None, gt=0.0, le=1.0, description="built-in: shrink images by this before detection"
    )
    jitters: int | None = Field(None, ge=1, description="built-in: re-samplings per encoding")
    multiple_faces: Literal["skip", "largest"] | None = Field(
        None, description="built-in: an image with several faces is skipped or uses its largest"
    )
    workers: int | None = Field(
        None, ge=1, le=_MAX_FACE_WORKERS, description="built-in: encoding processes"
    )
    target_fmr: float | None = Field(
        None, gt=0.0, lt=1.0, description="calibrate one threshold to this FMR (default 1e-4)"
    )
    tolerance: float | None = Field(
        None, allow_inf_nan=False, description="fixed threshold instead of target_fmr"
    )
    min_genuine_pairs: int = Field(30, ge=0, description="fewer -> insufficient_evidence")
    min_impostor_pairs: int | None = Field(
        None, ge=0, description="fewer -> insufficient_evidence (default: 3 / operating FMR)"
    )
    block_size: int = Field(
        512, ge=1, le=_MAX_FACE_BLOCK, description="templates per scoring block"
    )

    @model_validator(mode="before")
    @classmethod
    def _writes_nothing(cls, data: Any) -> Any:
        no_cache = "the server keeps no embedding cache"
        return _refuse(
            data,
            {
                "out": "the result is stored with the scan",
                "cache_dir": no_cache,
                "no_cache": no_cache,
            },
        )

    @model_validator(mode="after")
    def _consistent(self) -> FaceScan:
        _checked(check_face_inputs, self)
        return self


_AnyScan = InventoryScan | PiiScan | AuditScan | RecommendationScan | FaceScan
ScanRequest = Annotated[_AnyScan, Field(discriminator="kind")]


@functools.cache
def _request_adapter() -> TypeAdapter[_AnyScan]:
    # Built on first use, not at import: the API's cold start does not need it.
    return TypeAdapter(ScanRequest)


#: Kinds a scan can be.
KINDS = ("inventory", "pii", "classification", "moderation", "recommendation", "face")


def parse_request(body: Any) -> _AnyScan:
    """Validate a scan request (a dict as sent to ``POST /scans``).

    Raises
    ------
    ConfigError
        One line per problem, naming the field.
    """
    try:
        return _request_adapter().validate_python(body)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, "request")) from None


# --------------------------------------------------------------------------------------------
# messages


class Unit(BaseModel):
    """A piece of a source one batch reads: a whole object, or ``[start, end)`` bytes of a
    JSON-lines object (a line belongs to the range its first byte falls in)."""

    model_config = ConfigDict(extra="forbid")

    uri: str
    format: Literal["jsonl", "csv", "tsv", "parquet"]
    start: int = Field(default=0, ge=0)
    end: int | None = Field(default=None, ge=0)
    size: int = Field(default=0, ge=0)
    #: Objects of the source a sampled plan left out: set on the plan's first unit only, so
    #: the count enters the result once (``pii.objects.not_sampled``).
    not_sampled: int = Field(default=0, ge=0)


class DispatchMessage(BaseModel):
    """Plan the scan's batches and enqueue them."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["dispatch"] = "dispatch"
    scan_id: str = Field(min_length=1, max_length=64)


class BatchMessage(BaseModel):
    """Run one batch of a scan."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["batch"] = "batch"
    scan_id: str = Field(min_length=1, max_length=64)
    batch_id: int = Field(ge=1)
    units: list[Unit] = Field(default_factory=list, max_length=MAX_UNITS_PER_BATCH)


class AggregateMessage(BaseModel):
    """Merge the partial results of a scan whose batches have all finished."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["aggregate"] = "aggregate"
    scan_id: str = Field(min_length=1, max_length=64)


Message = Annotated[DispatchMessage | BatchMessage | AggregateMessage, Field(discriminator="type")]


@functools.cache
def _message_adapter() -> TypeAdapter[DispatchMessage | BatchMessage | AggregateMessage]:
    return TypeAdapter(Message)


def parse_message(body: Any) -> DispatchMessage | BatchMessage | AggregateMessage:
    """Validate a queue message body (a dict or its JSON text)."""
    if isinstance(body, str | bytes):
        return _message_adapter().validate_json(body)
    return _message_adapter().validate_python(body)


# --------------------------------------------------------------------------------------------
# reading records


@dataclass
class ReadStats:
    """What reading a batch's units found, besides the records themselves."""

    objects: int = 0
    bytes: int = 0
    records: int = 0
    unreadable: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    #: The Arrow schema of each Parquet object read, by URI (redacted copies keep it).
    schemas: dict[str, Any] = field(default_factory=dict)
    #: Every problem as ``(object, index, reason code, detail)``: index 0 is the whole object,
    #: else the line or row within the unit. Codes are :mod:`audit.pii`'s skip reasons.
    skips: list[tuple[str, int, str, str]] = field(default_factory=list)

    def problem(self, uri: str, index: int, where: str, code: str, reason: str) -> None:
        # Never the record itself: it may hold the very PII being looked for.
        self.unreadable += index != 0
        self.skips.append((uri, index, code, f"{where}: {reason}"))
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append({"object": uri, "where": where, "reason": reason})


def _lines(chunks: Iterable[bytes], offset: int) -> Iterator[tuple[int, bytes]]:
    """``(offset of the line's first byte, line without its newline)`` for a byte stream."""
    buf = b""
    pos = offset
    for chunk in chunks:
        buf += chunk
        start = 0
        while (nl := buf.find(b"\n", start)) >= 0:
            yield pos, buf[start:nl]
            pos += nl + 1 - start
            start = nl + 1
        buf = buf[start:]
    if buf:
        yield pos, buf


def _read_jsonl(unit: Unit, sources: Sources, stats: ReadStats) -> Iterator[dict[str, Any]]:
    # Hadoop's rule for splits: start one byte early and drop the first (partial) line, so a
    # line that begins exactly at `start` is ours and a line begun before it is the previous
    # range's.
    begin = max(unit.start - 1, 0)
    stream = sources.open(unit.uri, begin)
    index = 0
    try:
        first = unit.start > 0
        for pos, raw in _lines(iter_chunks(stream), begin):
            if first:
                first = False
                continue
            if unit.end is not None and pos >= unit.end:
                break
            stats.bytes += len(raw) + 1
            index += 1
            line = raw.strip()
            if not line:
                continue
            where = f"byte {pos}"
            try:
                record = json.loads(line)
            except UnicodeDecodeError:
                stats.problem(unit.uri, index, where, "undecodable", "not UTF-8 text")
                continue
            except json.JSONDecodeError as exc:
                stats.problem(
                    unit.uri, index, where, "malformed_json", f"malformed JSON ({exc.msg})"
                )
                continue
            if not isinstance(record, dict):
                stats.problem(unit.uri, index, where, "not_an_object", "a JSON line, not an object")
                continue
            stats.records += 1
            yield record
    finally:
        stream.close()


def _read_csv(unit: Unit, sources: Sources, stats: ReadStats) -> Iterator[dict[str, Any]]:
    stream = sources.open(unit.uri)
    text = codecs.getreader("utf-8")(stream, "strict")
    reader = csv.DictReader(text, delimiter="\t" if unit.format == "tsv" else ",")
    stats.bytes += unit.size
    try:
        for record in reader:
            stats.records += 1
            yield record
    except UnicodeDecodeError:
        row = reader.line_num + 1
        stats.problem(unit.uri, row, f"row {row}", "undecodable", "not UTF-8 text; rest skipped")
    except csv.Error as exc:
        row = reader.line_num
        stats.problem(unit.uri, row, f"row {row}", "malformed_csv", f"{exc}; rest skipped")
    finally:
        stream.close()


def _read_parquet(unit: Unit, sources: Sources, stats: ReadStats) -> Iterator[dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    stream = sources.open(unit.uri)
    try:
        data = stream.read()
    finally:
        stream.close()
    stats.bytes += len(data)
    try:
        pf = pq.ParquetFile(io.BytesIO(data))
        stats.schemas[unit.uri] = pf.schema_arrow
        for batch in pf.iter_batches(batch_size=2048):
            for record in batch.to_pylist():
                stats.records += 1
                yield record
    except (pa.ArrowException, OSError) as exc:
        stats.problem(
            unit.uri, 0, "file", "unreadable_parquet", f"not a readable Parquet file ({exc})"
        )


_READERS = {"jsonl": _read_jsonl, "csv": _read_csv, "tsv": _read_csv, "parquet": _read_parquet}


def read_records(
    units: Iterable[Unit], sources: Sources, stats: ReadStats
) -> Iterator[dict[str, Any]]:
    """Stream the records of ``units``; unreadable lines are counted in ``stats``, not raised.

    Memory does not grow with the object: JSON lines and CSV are read in 1 MiB chunks.
    """
    for unit in units:
        stats.objects += unit.start == 0  # an object split into ranges counts once
        if unit.size == 0 and unit.start == 0:
            stats.problem(unit.uri, 0, "file", "empty_file", "the file is empty")
            continue
        yield from _READERS[unit.format](unit, sources, stats)


def plan_units(
    objects: Iterable[SourceObject],
    batch_bytes: int,
    max_units: int = MAX_UNITS_PER_BATCH,
    *,
    split: bool = True,
) -> tuple[list[list[Unit]], list[dict[str, str]]]:
    """Cut a source's objects into batches of about ``batch_bytes`` input bytes.

    A JSON-lines object larger than ``batch_bytes`` becomes byte ranges, one batch each (with
    ``split=False``, when each object must be read whole, it is one batch of its own);
    smaller objects are grouped until the next would pass ``batch_bytes``. Objects in no known
    format are returned as skipped, with the reason.

    Returns
    -------
    (batches, skipped)
    """
    batches: list[list[Unit]] = []
    skipped: list[dict[str, str]] = []
    current: list[Unit] = []
    size = text = 0
    for obj in objects:
        if obj.format is None:
            suffix = Path(obj.uri).suffix or "(none)"
            skipped.append(
                {
                    "object": obj.uri,
                    "reason": f"unknown format {suffix}: use .jsonl, .csv, .tsv or .parquet",
                }
            )
            continue
        fmt: Any = obj.format
        if split and fmt == "jsonl" and obj.size > batch_bytes:
            for start in range(0, obj.size, batch_bytes):
                end = min(start + batch_bytes, obj.size)
                batches.append([Unit(uri=obj.uri, format=fmt, start=start, end=end, size=obj.size)])
            continue
        unit_text = len(obj.uri.encode("utf-8")) + _UNIT_OVERHEAD
        if current and (
            size + obj.size > batch_bytes
            or len(current) >= max_units
            or text + unit_text > MAX_MESSAGE_BYTES
        ):
            batches.append(current)
            current, size, text = [], 0, 0
        current.append(Unit(uri=obj.uri, format=fmt, size=obj.size))
        size += obj.size
        text += unit_text
    if current:
        batches.append(current)
    return batches, skipped


def _field(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


# --------------------------------------------------------------------------------------------
# batch jobs


@dataclass(frozen=True)
class BatchRef:
    """Which batch of which scan is running: what a job names its per-batch outputs after."""

    scan_id: str
    batch_id: int


_BATCH: ContextVar[BatchRef | None] = ContextVar("socialaudit_batch", default=None)


def current_batch() -> BatchRef | None:
    """The batch :func:`run_batch` is running in this context, if any.

    A job that writes outputs of its own (a PII scan's findings parts and redacted copies)
    names them after it, so a batch delivered again overwrites what an earlier delivery wrote;
    :meth:`BatchJob.run` keeps its ``(request, units, sources)`` signature.
    """
    return _BATCH.get()


@contextmanager
def _running(batch: BatchRef) -> Iterator[None]:
    token = _BATCH.set(batch)
    try:
        yield
    finally:
        _BATCH.reset(token)


class BatchJob(Protocol):
    """What one kind of scan does at each step of the fan-out."""

    def prepare(self, request: Any) -> None:
        """Heavy validation the API cannot afford (loading a PII config); raise AuditError."""

    def plan(
        self, request: Any, sources: Sources, batch_bytes: int
    ) -> tuple[list[list[Unit]], list[dict[str, str]]]:
        """Batches to run and objects skipped."""

    def run(self, request: Any, units: list[Unit], sources: Sources) -> tuple[dict[str, Any], int]:
        """One batch → (JSON-able partial result, records processed)."""

    def merge(self, request: Any, partials: list[dict[str, Any]]) -> dict[str, Any]:
        """Partial results, in batch order → the result document."""


def _plan_source(
    request: _SourceScan, sources: Sources, batch_bytes: int
) -> tuple[list[list[Unit]], list[dict[str, str]]]:
    batches, skipped = plan_units(sources.list(request.source), batch_bytes)
    if not batches:
        raise DataError(
            "no .jsonl, .csv, .tsv or .parquet objects here: check the path or prefix",
            file=request.source,
        )
    return batches, skipped


def _sum_reads(partials: list[dict[str, Any]]) -> dict[str, Any]:
    problems: list[dict[str, Any]] = []
    total = {"objects": 0, "bytes": 0, "records": 0, "unreadable": 0}
    for p in partials:
        read = p.get("read", {})
        for k in total:
            total[k] += int(read.get(k, 0))
        problems.extend(read.get("problems", [])[: max(0, MAX_PROBLEMS * 5 - len(problems))])
    return {**total, "problems": problems}


def _read_block(stats: ReadStats) -> dict[str, Any]:
    return {
        "objects": stats.objects,
        "bytes": stats.bytes,
        "records": stats.records,
        "unreadable": stats.unreadable,
        "problems": stats.problems,
    }


class InventoryJob:
    """The ``inventory`` kind: what is there, before paying for a PII scan."""

    def prepare(self, request: InventoryScan) -> None:
        return None

    def plan(
        self, request: InventoryScan, sources: Sources, batch_bytes: int
    ) -> tuple[list[list[Unit]], list[dict[str, str]]]:
        return _plan_source(request, sources, batch_bytes)

    def run(
        self, request: InventoryScan, units: list[Unit], sources: Sources
    ) -> tuple[dict[str, Any], int]:
        stats = ReadStats()
        with_text = chars = longest = 0
        for record in read_records(units, sources, stats):
            text = _field(record, request.text_field)
            if isinstance(text, str):
                with_text += 1
                chars += len(text)
                longest = max(longest, len(text))
        partial = {
            "read": _read_block(stats),
            "with_text": with_text,
            "text_chars": chars,
            "longest_text": longest,
        }
        return partial, stats.records

    def merge(self, request: InventoryScan, partials: list[dict[str, Any]]) -> dict[str, Any]:
        read = _sum_reads(partials)
        with_text = sum(p["with_text"] for p in partials)
        counts = {
            "objects": read["objects"],
            "bytes": read["bytes"],
            "records": read["records"],
            "records_with_text": with_text,
            "records_without_text": read["records"] - with_text,
            "records_unreadable": read["unreadable"],
            "text_chars": sum(p["text_chars"] for p in partials),
            "longest_text": max((p["longest_text"] for p in partials), default=0),
        }
        return {
            "kind": "inventory",
            "settings": {"source": request.source, "text_field": request.text_field},
            "summary": [{"metric": k, "value": v} for k, v in counts.items()],
            "problems": read["problems"],
        }


def _is_range(unit: Unit) -> bool:
    return unit.end is not None and (unit.start > 0 or unit.end < unit.size)


def _object_name(source: str, uri: str) -> str:
    """An object's name as ``socialaudit pii`` names it: the S3 key, or the path below the
    source folder (the file name for a one-file source).

    Sampling hashes this name and redacted copies are written under it, so a fan-out samples
    the objects and records a one-process scan of the same source samples.
    """
    if uri.startswith("s3://"):
        return uri[5:].partition("/")[2]
    src = Path(source)
    if src.is_dir():
        return Path(uri).relative_to(src).as_posix()
    return Path(uri).name


def _redacted_name(source: str, unit: Unit) -> str:
    """Where below ``<redact_to>/<scan id>/`` a unit's redacted copy goes.

    The object's name; a byte range of a split JSON-lines object gets
    ``<stem>.bytes-<first>-<last><suffix>`` (``part-0.bytes-0-4194303.jsonl``): the ranges,
    concatenated in order of their first byte, are the whole redacted object.
    """
    name = _object_name(source, unit.uri)
    if _is_range(unit):
        p = PurePosixPath(name)
        last = (unit.end or unit.size) - 1
        name = str(p.with_name(f"{p.stem}.bytes-{unit.start}-{last}{p.suffix}"))
    return name


def _dest_join(dest: str, *parts: str) -> str:
    if dest.startswith("s3://"):
        return "/".join([dest.rstrip("/"), *parts])
    return str(Path(dest, *parts))


def _sample_unit(
    records: Iterator[dict[str, Any]], stats: ReadStats, name: str, spec: SampleSpec
) -> Iterator[dict[str, Any]]:
    """One object's records as ``--sample records=N`` takes them.

    As in the CLI every record counts toward the window, readable or not; problems met
    outside the window are dropped from ``stats.skips`` (they were read, not scanned).
    """
    start = len(stats.skips)

    def items() -> Iterator[tuple[bool, Any]]:
        seen = start
        for record in records:
            while seen < len(stats.skips):  # problems read before this record come first
                yield False, stats.skips[seen]
                seen += 1
            yield True, record
        while seen < len(stats.skips):
            yield False, stats.skips[seen]
            seen += 1

    kept: list[tuple[str, int, str, str]] = []
    try:
        for is_record, item in sample_records(items(), name, spec):
            if is_record:
                yield item
            else:
                kept.append(item)
    finally:
        close = getattr(records, "close", None)
        if close is not None:
            close()  # stop reading the object: the window is full
    stats.skips[start:] = kept


class _UnitRedactor:
    """The batch's :class:`~audit.pii._output.Redactor`, writing one unit's records as one
    object in the unit's format (what ``scan_records`` calls ``redactor``)."""

    def __init__(self, redactor: Any, name: str, unit: Unit, stats: ReadStats) -> None:
        from audit.pii._sources import ObjectInfo

        self._redactor = redactor
        self.obj = ObjectInfo(name, unit.format)
        self._uri = unit.uri
        self._stats = stats
        self.wrote = False

    def redact_text(self, text: str, findings: list[Any]) -> str:
        return str(self._redactor.redact_text(text, findings))

    def write(self, obj: Any, record: dict[str, Any], text_field: str, redacted: str) -> None:
        if self.obj.schema is None:  # a Parquet copy keeps the schema it was read with
            self.obj.schema = self._stats.schemas.get(self._uri)
        self._redactor.write(self.obj, record, text_field, redacted)
        self.wrote = True


class _BatchOutputs:
    """What one batch of a PII scan writes besides its partial, through :mod:`audit.pii`'s
    writers and the S3 client sources are read with.

    ``<findings>/<scan id>/part-<batch, 8 digits>.jsonl`` (one line per scanned record) and
    ``<redact_to>/<scan id>/<object>`` per unit (:func:`_redacted_name`). The same batch
    writes the same names, so a batch delivered again overwrites, never adds.
    """

    def __init__(self, request: PiiScan, config: Any, sources: Sources, batch: BatchRef) -> None:
        from audit.pii._output import FindingsWriter, Redactor

        def s3(dest: str) -> Any:
            return sources.s3_client() if dest.startswith("s3://") else None

        self.findings: Any = None
        self.redactor: Any = None
        self.where: dict[str, Any] = {}
        self._unit: _UnitRedactor | None = None
        if request.redact_to:  # first: a bad redaction config fails before a file is opened
            root = _dest_join(request.redact_to, batch.scan_id)
            self.redactor = Redactor(config, root, s3(request.redact_to))
            self.where.update(redacted_to=root + ("/" if root.startswith("s3://") else os.sep))
            self.where["redacted"] = []
        if request.findings:
            folder = _dest_join(request.findings, batch.scan_id)
            part = _dest_join(folder, f"part-{batch.batch_id:08d}.jsonl")
            self.findings = FindingsWriter(part, s3(request.findings))
            self.where.update(
                findings=folder + ("/" if folder.startswith("s3://") else os.sep),
                findings_part=part,
            )

    @classmethod
    def open(cls, request: PiiScan, config: Any, sources: Sources) -> _BatchOutputs | None:
        if not (request.findings or request.redact_to):
            return None
        batch = current_batch()
        if batch is None:
            raise RuntimeError("findings and redact_to are written per batch: use run_batch")
        return cls(request, config, sources, batch)

    def redactor_for(self, source: str, unit: Unit, stats: ReadStats) -> _UnitRedactor | None:
        if self.redactor is None:
            return None
        self._unit = _UnitRedactor(self.redactor, _redacted_name(source, unit), unit, stats)
        return self._unit

    def unit_done(self) -> None:
        unit, self._unit = self._unit, None
        if unit is not None:
            self.redactor.finish(unit.obj.name)  # closes and uploads the copy
            if unit.wrote:
                self.where["redacted"].append(_dest_join(self.where["redacted_to"], unit.obj.name))

    def close(self) -> dict[str, Any]:
        """Close (and upload) what is open; returns where everything went."""
        if self.findings is not None:
            self.findings.close()
        if self.redactor is not None:
            self.redactor.close()
        return self.where

    def abandon(self) -> None:
        # The batch failed and will be done again (or fail the scan): what was written is
        # left to be overwritten; an error here must not hide the batch's own.
        with suppress(Exception):
            self.close()


class PiiJob:
    """The ``pii`` kind over :mod:`audit.pii`: ``scan_records`` per unit, ``merge_partials``.

    Each unit is scanned under its own object name (the URI, with the byte range when the
    object was split), so the result lists objects as a one-process scan does; lines this module
    could not read are added as the same skip reasons :mod:`audit.pii` uses.

    ``sample``: ``plan`` keeps the objects the CLI keeps (a seeded hash of the name, the same
    name as :func:`_object_name`) and, with ``records``, does not split an object into byte
    ranges; ``run`` takes each object's records as the CLI does. ``findings`` and ``redact_to``
    are written per batch by :class:`_BatchOutputs`.
    """

    _configs: dict[str | None, Any] = {}  # noqa: RUF012 - one loaded config per process
    _pools: dict[str | None, Any] = {}  # noqa: RUF012 - one detector per worker process

    @staticmethod
    def _pii() -> Any:
        try:
            import audit.pii as pii
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ConfigError(f"PII scanning is not installed here ({exc})") from None
        return pii

    def _config(self, request: PiiScan) -> Any:
        if request.config not in self._configs:
            self._configs[request.config] = self._pii().load_pii_config(request.config)
        return self._configs[request.config]

    def _pool(self, request: PiiScan) -> Any:
        # Loading the spaCy model costs seconds: once per process (a Lambda execution
        # environment, a local worker), not once per batch.
        if request.config not in self._pools:
            pool = self._pii().DetectorPool(self._config(request), workers=1)
            pool.__enter__()
            self._pools[request.config] = pool
        return self._pools[request.config]

    def prepare(self, request: PiiScan) -> None:
        self._config(request)

    def plan(
        self, request: PiiScan, sources: Sources, batch_bytes: int
    ) -> tuple[list[list[Unit]], list[dict[str, str]]]:
        spec = request.sample
        if spec is None:
            return _plan_source(request, sources, batch_bytes)
        objects = sources.list(request.source)
        kept = [o for o in objects if keep_object(_object_name(request.source, o.uri), spec)]
        # Records sampled per object need the whole object in one unit: no byte ranges.
        batches, skipped = plan_units(kept, batch_bytes, split=spec.records_per_object is None)
        if not batches:
            if kept or not objects:
                return _plan_source(request, sources, batch_bytes)  # says what is missing
            raise DataError(
                f"the sample (objects={spec.objects}, seed={spec.seed}) keeps none of the "
                f"{len(objects)} objects here: raise objects or change the seed",
                file=request.source,
            )
        first = batches[0][0]
        batches[0][0] = first.model_copy(update={"not_sampled": len(objects) - len(kept)})
        return batches, skipped

    def run(
        self, request: PiiScan, units: list[Unit], sources: Sources
    ) -> tuple[dict[str, Any], int]:
        pii = self._pii()
        config = self._config(request)
        spec = request.sample
        total = pii.PartialScan()
        stats = ReadStats()
        outputs = _BatchOutputs.open(request, config, sources)
        try:
            for unit in units:
                name = unit.uri
                if _is_range(unit):
                    name += f"#bytes={unit.start}-{(unit.end or unit.size) - 1}"
                total.objects_not_sampled += unit.not_sampled
                before = len(stats.skips)
                records = read_records([unit], sources, stats)
                if spec is not None and spec.records_per_object is not None:
                    records = _sample_unit(
                        records, stats, _object_name(request.source, unit.uri), spec
                    )
                part = pii.scan_records(
                    records,
                    text_field=request.text_field,
                    id_field=request.id_field,
                    config=config,
                    object_name=name,
                    pool=self._pool(request),
                    findings=outputs.findings if outputs is not None else None,
                    redactor=(
                        outputs.redactor_for(request.source, unit, stats)
                        if outputs is not None
                        else None
                    ),
                )
                if outputs is not None:
                    outputs.unit_done()
                for _uri, index, code, detail in stats.skips[before:]:
                    part.add_skip(name, index, code, detail, max_listed=config.max_skipped_listed)
                total.merge(
                    part,
                    samples_per_type=config.samples_per_type,
                    max_listed=config.max_skipped_listed,
                )
        except BaseException:
            if outputs is not None:
                outputs.abandon()
            raise
        partial = {"read": _read_block(stats), "pii": total.as_dict()}
        if outputs is not None:
            partial["outputs"] = outputs.close()
        return partial, stats.records

    def merge(self, request: PiiScan, partials: list[dict[str, Any]]) -> dict[str, Any]:
        outputs = [p.get("outputs") or {} for p in partials]
        first = outputs[0] if outputs else {}
        doc = dict(
            self._pii().merge_partials(
                [p["pii"] for p in partials],
                config=self._config(request),
                source=request.source,
                text_field=request.text_field,
                id_field=request.id_field,
                sample=request.sample,
                findings_path=first.get("findings"),
                redact_to=first.get("redacted_to"),
            )
        )
        if request.findings:
            # A folder of parts, part-00000001.jsonl ... one per batch, in batch order.
            doc["pii"]["findings_parts"] = sum(1 for o in outputs if o.get("findings_part"))
        if request.redact_to:
            doc["pii"]["redacted_objects"] = sum(len(o.get("redacted", [])) for o in outputs)
        read = _sum_reads(partials)
        doc["fanout"] = {
            "records_read": read["records"],
            "records_unreadable": read["unreadable"],
            "problems": read["problems"],
        }
        return doc


class _WholeAuditJob:
    """One batch that runs a whole audit; its document is the result."""

    def prepare(self, request: Any) -> None:
        return None

    def plan(
        self, request: Any, sources: Sources, batch_bytes: int
    ) -> tuple[list[list[Unit]], list[dict[str, str]]]:
        return [[]], []

    def merge(self, request: Any, partials: list[dict[str, Any]]) -> dict[str, Any]:
        return partials[0]


def _as_written(doc: dict[str, Any]) -> dict[str, Any]:
    """The document as ``--out`` writes it (plain JSON: no NaN, no numpy types)."""
    from audit.results import dumps

    return dict(json.loads(dumps(doc)))


#: Request fields that are not settings of the audit itself.
_SCAN_ONLY = {"kind", "name", "policy"}


class AuditJob(_WholeAuditJob):
    """``classification`` and ``moderation``: one batch running the whole audit."""

    def run(
        self, request: AuditScan, units: list[Unit], sources: Sources
    ) -> tuple[dict[str, Any], int]:
        from audit.runner import run_audit

        spec = AuditSpec(**request.model_dump(exclude={"policy"}))
        doc = _as_written(run_audit(spec))
        return doc, int(doc.get("overall", {}).get("n", 0))


class RecommendationJob(_WholeAuditJob):
    """``recommendation``: :func:`audit.runner.run_recommendation`; records = users evaluated."""

    def run(
        self, request: RecommendationScan, units: list[Unit], sources: Sources
    ) -> tuple[dict[str, Any], int]:
        from audit.runner import run_recommendation

        doc = _as_written(run_recommendation(**request.model_dump(exclude=_SCAN_ONLY)))
        return doc, int(doc.get("overall", {}).get("n", 0))


class FaceJob(_WholeAuditJob):
    """``face``: :func:`audit.runner.run_face`, with no embedding cache; records = pairs
    compared (genuine and impostor)."""

    def run(
        self, request: FaceScan, units: list[Unit], sources: Sources
    ) -> tuple[dict[str, Any], int]:
        from audit.runner import run_face

        doc = _as_written(run_face(**request.model_dump(exclude=_SCAN_ONLY), cache_dir=None))
        overall = doc.get("overall", {})
        return doc, int(overall.get("positives", 0)) + int(overall.get("negatives", 0))


JOBS: dict[str, BatchJob] = {
    "inventory": InventoryJob(),
    "pii": PiiJob(),
    "classification": AuditJob(),
    "moderation": AuditJob(),
    "recommendation": RecommendationJob(),
    "face": FaceJob(),
}


# --------------------------------------------------------------------------------------------
# the four steps


def _now() -> str:
    from audit.storage import _now_iso

    return _now_iso()


def _source_of(request: _AnyScan) -> str:
    """The input a scan is about: checked at submit (exists here, or is allowed on AWS)."""
    if isinstance(request, AuditScan):
        return request.data
    if isinstance(request, RecommendationScan):
        return request.recommendations or request.interactions or request.users
    if isinstance(request, FaceScan):
        return request.manifest
    return request.source


#: Per request type, every field that names a file or folder the scan reads.
_INPUT_FIELDS: dict[str, tuple[str, ...]] = {
    "AuditScan": ("data", "groups_file", "model", "templates", "identities"),
    "RecommendationScan": ("recommendations", "truth", "interactions", "users", "items"),
    "FaceScan": ("manifest", "images_root", "embeddings", "pairs"),
    "PiiScan": ("source",),
    "InventoryScan": ("source",),
}


def input_files(request: _AnyScan) -> list[tuple[str, str]]:
    """``(field, path or URI)`` of every input a request names (HTTP(S) models excluded)."""
    out = []
    for name in _INPUT_FIELDS[type(request).__name__]:
        value = getattr(request, name, None)
        if value and not str(value).startswith(("http://", "https://")):
            out.append((name, str(value)))
    return out


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
    request: _AnyScan,
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
    source = _source_of(request)
    for name, value in input_files(request):
        backend.sources.check(value, name)  # on AWS: s3:// URIs only, for every input
    if "://" not in source and not Path(source).exists():
        raise DataError("not found on the server: give an existing file or folder", file=source)
    if not backend.sources.allow_local:
        for name in ("policy", "config"):
            if value := getattr(request, name, None):
                _check_server_file(name, value)
    if isinstance(request, PiiScan):
        for name, dest in (("findings", request.findings), ("redact_to", request.redact_to)):
            if dest:
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


#: Report formats the aggregator renders next to the result, for ``GET /scans/{id}/report``.
REPORT_FORMATS = ("html", "pdf")


def report_key(scan_id: str, fmt: str) -> str:
    return f"scans/{scan_id}/report.{fmt}"


def render_reports(backend: Backend, scan_id: str, items: list[dict[str, Any]]) -> dict[str, str]:
    """Render a finished scan's transparency report (HTML, PDF) and store it with the result.

    Done by the aggregator, which has the report libraries (the API function has not: it
    serves the stored bytes). A format that cannot be rendered here does not fail the scan.

    Parameters
    ----------
    items
        The result document, then the gate's blessing when a policy was applied.

    Returns
    -------
    dict
        Per format, ``"ok"`` or ``"unavailable: <reason>"`` (shown to API clients).
    """
    try:
        from audit.report import build_report, chart_svgs, render_html, render_pdf
    except ImportError as exc:  # pragma: no cover - depends on the install
        return dict.fromkeys(REPORT_FORMATS, f"unavailable: report libraries missing ({exc})")
    if "schema_version" not in items[0]:  # an inventory: counts, not an audit
        return dict.fromkeys(
            REPORT_FORMATS, f"unavailable: {items[0].get('kind')} scans have no report"
        )
    status: dict[str, str] = {}
    try:
        model = build_report(items, title=f"socialaudit {items[0].get('kind')} scan {scan_id}")
        svgs = chart_svgs(model)
        backend.store.put_blob(report_key(scan_id, "html"), render_html(model, svgs=svgs).encode())
        status["html"] = "ok"
    except Exception as exc:  # the report must not lose the result stored above
        log.warning("scan %s: HTML report not rendered: %s", scan_id, type(exc).__name__)
        return dict.fromkeys(REPORT_FORMATS, f"unavailable: {type(exc).__name__}: {exc}")
    try:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            pdf = render_pdf(render_html(model, svgs=svgs, embed="img"), Path(tmp) / "r.pdf")
            backend.store.put_blob(report_key(scan_id, "pdf"), pdf.read_bytes())
        status["pdf"] = "ok"
    except Exception as exc:
        log.warning("scan %s: PDF report not rendered: %s", scan_id, type(exc).__name__)
        status["pdf"] = f"unavailable: {type(exc).__name__}: {exc}"
    return status


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

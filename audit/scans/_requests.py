"""Scan requests: one pydantic model per kind, validated once, at the boundary (``POST /scans``).

What the CLI allows but HTTP must not (running code or writing files on the server) is refused
here, and the inputs a request names are listed for the checks at submit.
"""

from __future__ import annotations

import functools
import os
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from audit.exceptions import ConfigError
from audit.pii._sampling import SampleSpec, parse_sample
from audit.runner import (
    AuditSpec,
    check_face_inputs,
    check_recommendation_inputs,
    format_validation_error,
)

#: Longest a source URI, a field name or a file path may be in a request.
_MAX_URI = 2048
_MAX_NAME = 256


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

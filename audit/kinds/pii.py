"""The ``pii`` kind: personal data in stored posts, found with Presidio and an offline spaCy
model (:func:`audit.pii.pii_audit`).

Run as a scan it fans out: the scan layer cuts the source into batches by bytes
(:class:`audit.scans.PiiJob`), where ``findings`` and ``redact_to`` are folders each batch writes
a part under.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from pydantic import BeforeValidator, Field

from audit.exceptions import ConfigError
from audit.kinds._entry import AuditKind, HttpRules, PolicyMetrics, ReportProfile
from audit.kinds._spec import Cli, File, KindSpec, Progress, stage
from audit.pii._sampling import SampleSpec, parse_sample

if TYPE_CHECKING:
    from audit.pii import PiiConfig
    from audit.results import ResultDocument

__all__ = ["KIND", "PiiSpec", "load_config", "parse_workers"]


def _sample_text(value: Any) -> Any:
    # The CLI's text form, parsed by the one parser of that syntax.
    if isinstance(value, str):
        try:
            return parse_sample(value)
        except ConfigError as exc:
            raise ValueError(str(exc).removeprefix("--sample: ")) from None
    return value


def parse_workers(value: Any) -> Any:
    """``auto`` or a number of processes (at least 1), from text or a number."""
    if value is None or value == "auto":
        return value
    try:
        n = int(value) if isinstance(value, int | str) and not isinstance(value, bool) else None
    except ValueError:
        n = None
    if n is None:
        raise ValueError(f"a number of processes or 'auto', got {value!r}")
    if n < 1:
        raise ValueError(f"at least 1, got {n}")
    return n


class PiiSpec(KindSpec):
    """A PII scan of stored posts (``socialaudit pii``)."""

    kind: Literal["pii"] = "pii"
    source: Annotated[str, File("input"), Cli(metavar="PATH|s3://B/P|dynamodb://T")] = Field(
        min_length=1,
        description="JSONL/CSV/TSV/Parquet file or folder, S3 prefix or DynamoDB table",
    )
    text_field: Annotated[str, Cli(metavar="F", required=True)] = Field(
        "text", min_length=1, description="text field (dotted path ok)"
    )
    id_field: Annotated[str | None, Cli(metavar="F")] = Field(
        None, description="record id field (default object#record)"
    )
    sample: Annotated[SampleSpec | None, BeforeValidator(_sample_text), Cli(metavar="SPEC")] = (
        Field(
            None,
            description="objects=SHARE,records=N,random_start=true|false,seed=S, or "
            "{objects, records, random_start, seed} in YAML or JSON (default: scan all)",
        )
    )
    findings: Annotated[str | None, File("output"), Cli(metavar="FILE.jsonl")] = Field(
        None,
        min_length=1,
        description="per-record findings (offsets, types, scores; never text); local or s3://",
    )
    redact_to: Annotated[str | None, File("output"), Cli(metavar="DEST")] = Field(
        None,
        min_length=1,
        description="folder or s3://bucket/prefix for redacted copies of the scanned records",
    )
    config: Annotated[str | None, File("config"), Cli(metavar="FILE")] = Field(
        None, description="PII detection config (YAML; default policies/pii-default.yaml)"
    )
    workers: Annotated[
        int | Literal["auto"] | None, BeforeValidator(parse_workers), Cli(metavar="N|auto")
    ] = Field(
        None,
        description="detection processes (default: the config's workers; auto = one per CPU)",
    )


def load_config(config: str | None, workers: int | str | None = None) -> PiiConfig:
    """The PII config file ``config`` (``None``: the built-in one), with ``workers`` if given."""
    from audit.pii import load_pii_config

    cfg = load_pii_config(config)
    if workers is not None:
        path, sha = cfg.path, cfg.sha256
        cfg = cfg.model_copy(update={"workers": workers})
        cfg._path, cfg._sha256 = path, sha
    return cfg


def run(spec: PiiSpec, progress: Progress | None = None) -> ResultDocument:
    """Run the PII scan ``spec`` describes, in this process (and its detection workers)."""
    from audit.pii import pii_audit

    doc = pii_audit(
        spec.source,
        text_field=spec.text_field,
        id_field=spec.id_field,
        config=load_config(spec.config, spec.workers),
        sample=spec.sample,
        findings_path=spec.findings,
        redact_to=spec.redact_to,
        progress=stage(progress, "scanning records"),
    )
    return cast("ResultDocument", doc)


@functools.cache
def policy_metrics() -> PolicyMetrics:
    """A scan's counts (:data:`audit.pii._scan.SUMMARY_METRICS`, and per entity type
    :data:`~audit.pii._scan.ENTITY_SUMMARY_METRICS`), and a detector evaluation's
    (``socialaudit pii-eval``, also ``kind: pii``): PERSON recall by group as the engine's
    group table publishes it (:data:`audit.metrics._engine.TABLE`), and span scores per
    entity type."""
    from audit.metrics._engine import TABLE
    from audit.pii._eval import MATCH_MODES, SPAN_METRICS
    from audit.pii._scan import ENTITY_SUMMARY_METRICS, RECORD_METRICS, SUMMARY_METRICS

    engine = PolicyMetrics.of_tables(TABLE)  # pii-eval's recall by group: the engine's table
    return PolicyMetrics(
        group=frozenset({*RECORD_METRICS, *engine.group}),
        disparity=engine.disparity,
        summary=frozenset(
            {*SUMMARY_METRICS, *engine.summary}
            | {f"{{entity}}_{m}" for m in ENTITY_SUMMARY_METRICS}
            | {f"{{entity}}_{m}_{mode}" for m in SPAN_METRICS for mode in MATCH_MODES}
        ),
    )


def _norm_dest(dest: str) -> str:
    return dest.rstrip("/") if dest.startswith("s3://") else os.path.normpath(dest)


def _findings_folder(findings: str | None) -> str | None:
    """Over HTTP each batch writes its own part of the findings: a folder."""
    if findings is not None and findings.rstrip("/").endswith(".jsonl"):
        raise ValueError(
            "a folder or s3:// prefix, not a .jsonl file: each batch writes its own part, "
            "<findings>/<scan id>/part-NNNNNNNN.jsonl"
        )
    return findings


def _outputs_apart(request: Any) -> None:
    """Over HTTP the two outputs are folders, apart."""
    if request.findings and request.redact_to:
        a, b = (_norm_dest(d) for d in (request.findings, request.redact_to))
        if a == b or a.startswith(b + "/") or b.startswith(a + "/"):
            raise ValueError(
                "findings and redact_to name the same place (or one is inside the other): "
                "give two places apart"
            )


KIND: AuditKind[PiiSpec] = AuditKind(
    name="pii",
    summary="scan stored posts for personal data (files, S3, DynamoDB)",
    description="Scan stored posts for PII with Presidio and an offline spaCy model: "
    "findings by type and severity with masked samples, a per-record findings file, "
    "optional redacted copies. Raw values never appear in any output.",
    spec=PiiSpec,
    run=run,
    http=HttpRules(
        refused={"workers": "the server runs its own detection processes"},
        described={
            "findings": "folder or s3:// prefix for the per-record findings (offsets, types, "
            "scores; never text): one part per batch, <findings>/<scan id>/part-NNNNNNNN.jsonl",
            "redact_to": "folder or s3:// prefix for redacted copies of the scanned records: "
            "<redact_to>/<scan id>/<object>",
            "source": "s3://bucket/prefix/ (or a local file or folder in local mode)",
            "config": "PII config YAML on the server (default built in)",
        },
        field_checks={"findings": _findings_folder},
        check=_outputs_apart,
    ),
    policy_metrics=policy_metrics,
    report=ReportProfile("PII", ("tpr",)),
    scan="fanout",
)

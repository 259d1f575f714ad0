"""The ``classification`` kind: per-group error rates of any binary classifier.

The spec's fields are ``socialaudit classification``'s flags, ``audit.yaml``'s keys and a scan
request's fields; :func:`run` builds the engine's options from it and runs
:func:`audit.classification.classification_audit`. ``moderation`` extends the same spec
(:mod:`audit.kinds.moderation`).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self, cast

from pydantic import BeforeValidator, Field, ValidationInfo, model_validator

from audit.kinds._entry import AuditKind, HttpRules, PolicyMetrics, ReportProfile
from audit.kinds._spec import (
    STATISTICS,
    CiLevel,
    Cli,
    File,
    KindSpec,
    Progress,
    Reference,
    Resamples,
    Seed,
    ci_level,
    namer,
    reference,
    resamples,
    seed,
    stage,
)

if TYPE_CHECKING:
    from audit.classification import ClassificationOptions
    from audit.data import LabelledSet
    from audit.models import ScoreModel
    from audit.results import ResultDocument

__all__ = ["KIND", "ClassificationSpec", "ClassifierSpec"]

_TEST_SET = "test set"
_MODEL = "the model (one of)"


def _metric_items(value: Any) -> Any:
    """``["f1=sklearn.metrics:f1_score", ...]`` (the CLI's repeated ``--metric``) → a dict."""
    if not isinstance(value, list):
        return value
    out = {}
    for item in value:
        name, sep, spec = str(item).partition("=")
        if not sep or ":" not in spec:
            raise ValueError(f"must be NAME=module:function, got {item!r}")
        out[name] = spec
    return out


_Column = Annotated[str | None, Cli(metavar="COL", group=_TEST_SET)]
_ModelColumn = Annotated[str | None, Cli(metavar="COL", group=_MODEL, one_of="model")]
_Count = Annotated[int, Cli(metavar="N", group=STATISTICS)]


class ClassifierSpec(KindSpec):
    """The settings of a classifier audit, shared by ``classification`` and ``moderation``."""

    data: Annotated[str, File("input"), Cli(metavar="FILE", group=_TEST_SET)] = Field(
        description="labelled test set: .csv, .tsv, .parquet or .jsonl (local or s3://)"
    )
    label: Annotated[str, Cli(metavar="COL", group=_TEST_SET)] = Field(
        description="ground-truth column (0/1)"
    )
    positive_label: Annotated[str | None, Cli(metavar="VALUE", group=_TEST_SET)] = Field(
        None, description="label value meaning positive, when labels are not 0/1"
    )
    groups: Annotated[list[str], Cli(metavar="COL[,COL...]", group=_TEST_SET, csv=True)] = Field(
        min_length=1, description="sensitive-attribute columns; several give intersections too"
    )
    groups_file: Annotated[str | None, File("input"), Cli(metavar="FILE", group=_TEST_SET)] = Field(
        None, description="separate file holding the id and groups columns, joined on id"
    )
    id: _Column = Field(None, description="unique row id column")
    language: _Column = Field(None, description="language column (per-language rates)")
    text: _Column = Field(None, description="text column passed to a text model")
    score: Annotated[
        str | None, Cli(metavar="COL", group=_MODEL, one_of="model", required=True)
    ] = Field(None, description="column of scores in [0, 1]")
    decision: _ModelColumn = Field(None, description="column of 0/1 decisions")
    model: Annotated[
        str | None, File("input"), Cli(metavar="SPEC", group=_MODEL, one_of="model")
    ] = Field(
        None,
        description="package.module:function, model.skops, model.pkl (needs trust_pickle) or "
        "http(s)://endpoint",
    )
    threshold: Annotated[float, Cli(metavar="X", group=_MODEL)] = Field(
        0.5, ge=0.0, le=1.0, description="positive when score >= X"
    )
    trust_pickle: Annotated[bool, Cli(group=_MODEL)] = Field(
        False, description="allow loading a pickle/joblib model (this runs code from the file)"
    )
    trust_types: Annotated[
        list[str], Cli(flag="--trust-type", repeat=True, metavar="NAME", group=_MODEL)
    ] = Field(
        default_factory=list,
        description="types a .skops file may load although skops does not trust them",
    )
    batch_size: Annotated[int, Cli(metavar="N", group=_MODEL)] = Field(
        1024, gt=0, description="rows per call of the model"
    )
    reference: Reference = reference("most rows")
    resamples: Resamples = resamples("rows")
    ci_level: CiLevel = ci_level()
    seed: Seed = seed()
    positive_outcome: Annotated[Literal["adverse", "favourable"], Cli(group=STATISTICS)] = Field(
        "adverse",
        description="is a positive decision bad for the person (flagged, removed, high risk: "
        "adverse) or good (shown, approved: favourable)? The four-fifths rule compares "
        "favourable-outcome rates",
    )
    min_positives: _Count = Field(
        30, ge=0, description="fewer label positives in a group -> insufficient_evidence"
    )
    min_negatives: _Count = Field(
        30, ge=0, description="fewer label negatives in a group -> insufficient_evidence"
    )
    min_group_size: _Count = Field(
        10, ge=1, description="groups with fewer rows are suppressed from the output"
    )
    metrics: Annotated[
        dict[str, str],
        BeforeValidator(_metric_items),
        Cli(flag="--metric", repeat=True, metavar="NAME=MODULE:FUNC", group=STATISTICS),
    ] = Field(
        default_factory=dict,
        description="extra per-group metrics f(y_true, y_pred) by name, e.g. "
        "f1=sklearn.metrics:f1_score (computed with fairlearn)",
    )
    explain: Annotated[
        bool, Cli(group=STATISTICS, help="skip AIF360's inequality indices and sentences")
    ] = Field(True, description="add AIF360's inequality indices and plain-language sentences")

    @model_validator(mode="after")
    def _one_model(self, info: ValidationInfo) -> Self:
        name = namer(info)
        if sum(bool(getattr(self, k)) for k in ("score", "decision", "model")) != 1:
            raise ValueError(
                f"give exactly one of {name('score')}, {name('decision')} or {name('model')}"
            )
        return self


class ClassificationSpec(ClassifierSpec):
    """A classification audit (``socialaudit classification``)."""

    kind: Literal["classification"] = "classification"

    @model_validator(mode="after")
    def _text_needs_a_model(self, info: ValidationInfo) -> Self:
        if self.text and not self.model:
            name = namer(info)
            raise ValueError(
                f"{name('text')} is only used by a model: give {name('model')} as well"
            )
        return self


def prepare(spec: ClassifierSpec) -> tuple[LabelledSet, ScoreModel | None, ClassificationOptions]:
    """Load the test set and the model ``spec`` names, and the engine's options."""
    from audit.classification import ClassificationOptions
    from audit.data import load_labelled_set
    from audit.metrics import BootstrapSettings, EngineSettings

    data = load_labelled_set(
        spec.data,
        label=spec.label,
        groups=spec.groups,
        score=spec.score,
        decision=spec.decision,
        id_column=spec.id,
        groups_file=spec.groups_file,
        language=spec.language,
        text=spec.text,
        positive_label=spec.positive_label,
    )
    options = ClassificationOptions(
        threshold=spec.threshold,
        engine=EngineSettings(
            reference=spec.reference,
            positive_outcome=spec.positive_outcome,
            min_positives=spec.min_positives,
            min_negatives=spec.min_negatives,
            min_group_size=spec.min_group_size,
            bootstrap=BootstrapSettings(spec.resamples, spec.ci_level, spec.seed),
        ),
        custom_metrics=spec.metrics,
        explain=spec.explain,
        batch_size=spec.batch_size,
    )
    model = None
    if spec.model:
        from audit.models import load_model

        model = load_model(
            spec.model,
            text_column=spec.text,
            trust_pickle=spec.trust_pickle,
            trusted_types=tuple(spec.trust_types),
        )
    return data, model, options


def run(spec: ClassificationSpec, progress: Progress | None = None) -> ResultDocument:
    """Run the classification audit ``spec`` describes."""
    from audit.classification import classification_audit

    data, model, options = prepare(spec)
    doc = classification_audit(data, model, options, progress=stage(progress, "scoring"))
    return cast("ResultDocument", doc)


@functools.cache
def policy_metrics() -> PolicyMetrics:
    """What the engine's group table publishes (:data:`audit.metrics._engine.TABLE`: the
    confusion rates of :data:`audit.metrics.RATES` per group and as disparities, the impact
    ratio, the summaries of :data:`audit.metrics.SUMMARIES`), and the ``--metric`` ones."""
    from audit.metrics._engine import TABLE

    return PolicyMetrics.of_tables(TABLE, custom_group_metrics=True)


def check_http_model(request: Any) -> None:
    """Over HTTP a model is an endpoint or a ``.skops`` file: anything else runs code."""
    model = request.model or ""
    if model and not model.startswith(("http://", "https://")) and not model.endswith(".skops"):
        raise ValueError(
            "model must be an http(s):// endpoint or a .skops file over HTTP "
            "(module:function and pickles would run code on the server)"
        )


HTTP = HttpRules(
    refused={
        "trust_pickle": "loading a pickle runs code from the file on the server",
        "trust_types": "a .skops type skops does not trust may run code on the server",
        "metrics": "a module:function metric would run code on the server",
    },
    check=check_http_model,
)

KIND: AuditKind[ClassificationSpec] = AuditKind(
    name="classification",
    summary="per-group error rates of any binary classifier",
    description="Audit a binary classifier: per-group and intersectional error rates with "
    "intervals, disparities and verdicts.",
    spec=ClassificationSpec,
    run=run,
    http=HTTP,
    policy_metrics=policy_metrics,
    report=ReportProfile("Classification", ("fpr", "fnr", "selection_rate")),
)

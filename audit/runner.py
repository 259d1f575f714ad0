"""One audit, described as data: the spec the CLI flags and ``audit.yaml`` files both fill in.

Keeping the spec in one pydantic model means a flag and a config key cannot drift apart, and
every value is validated once, with the field named in the error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from audit.exceptions import ConfigError

__all__ = ["AUDIT_KINDS", "AuditSpec", "format_validation_error", "run_audit"]

AUDIT_KINDS = ("classification", "moderation")


class AuditSpec(BaseModel):
    """Everything one classification or moderation audit needs (see ``socialaudit KIND -h``)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["classification", "moderation"]
    name: str | None = None
    data: str
    label: str
    positive_label: str | None = None
    groups: list[str] = Field(min_length=1)
    groups_file: str | None = None
    id: str | None = None
    language: str | None = None
    text: str | None = None
    score: str | None = None
    decision: str | None = None
    model: str | None = None
    threshold: float = Field(0.5, ge=0.0, le=1.0)
    trust_pickle: bool = False
    trust_types: list[str] = Field(default_factory=list)
    batch_size: int = Field(1024, gt=0)
    reference: Literal["largest", "best"] | dict[str, str] = "largest"
    positive_outcome: Literal["adverse", "favourable"] = "adverse"
    resamples: int = Field(1000, ge=0)
    ci_level: float = Field(0.95, gt=0.0, lt=1.0)
    seed: int = 0
    min_positives: int = Field(30, ge=0)
    min_negatives: int = Field(30, ge=0)
    min_group_size: int = Field(10, ge=1)
    metrics: dict[str, str] = Field(default_factory=dict)
    explain: bool = True
    templates: str | None = None
    identities: str | None = None
    out: str | None = None

    @model_validator(mode="after")
    def _one_model(self) -> AuditSpec:
        given = [k for k in ("score", "decision", "model") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of score, decision or model")
        if bool(self.templates) != bool(self.identities):
            raise ValueError("templates and identities go together")
        if self.templates and self.kind != "moderation":
            raise ValueError("templates are a moderation option")
        return self

    def resolved(self, base: Path) -> AuditSpec:
        """The spec with relative file paths taken relative to ``base`` (a config's folder)."""
        paths = {}
        for key in ("data", "groups_file", "templates", "identities", "out"):
            value = getattr(self, key)
            if value and not Path(value).is_absolute() and "://" not in value:
                paths[key] = str(base / value)
        model_file = (self.model or "").endswith((".skops", ".pkl", ".pickle", ".joblib"))
        if model_file and not Path(self.model or "").is_absolute():
            paths["model"] = str(base / (self.model or ""))
        return self.model_copy(update=paths)


def format_validation_error(exc: ValidationError, where: str) -> str:
    """One line per problem, naming the field: ``where: audits.0.threshold: ...``."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {loc}: {msg}" if loc else f"{where}: {msg}")
    return "\n".join(lines)


def run_audit(
    spec: AuditSpec, progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """Load the data and the model named by ``spec``, run the audit, return the result."""
    from audit.classification import ClassificationOptions, classification_audit
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
    if spec.kind == "moderation":
        from audit.moderation import load_identity_templates, moderation_audit

        suite = None
        if spec.templates and spec.identities:
            suite = load_identity_templates(spec.templates, spec.identities)
        return moderation_audit(data, model, options, templates=suite, progress=progress)
    if spec.text and model is None:
        raise ConfigError("text is only used by a model: give model as well")
    return classification_audit(data, model, options, progress=progress)

"""The ``moderation`` kind: the classification audit plus bias AUCs, per-language rates and
identity-swap template tests (:func:`audit.moderation.moderation_audit`)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Annotated, Literal, Self, cast

from pydantic import Field, ValidationInfo, model_validator

from audit.kinds._entry import AuditKind, PolicyMetrics, ReportProfile
from audit.kinds._spec import Cli, File, Progress, namer, stage
from audit.kinds.classification import HTTP, ClassifierSpec, prepare
from audit.kinds.classification import policy_metrics as classification_metrics

if TYPE_CHECKING:
    from audit.results import ResultDocument

__all__ = ["KIND", "ModerationSpec"]

_SWAPS = "identity-swap tests"


class ModerationSpec(ClassifierSpec):
    """A moderation audit (``socialaudit moderation``): a classifier audit's settings plus the
    identity-swap template files."""

    kind: Literal["moderation"] = "moderation"
    templates: Annotated[str | None, File("input"), Cli(metavar="FILE", group=_SWAPS)] = Field(
        None, description="file with a 'template' column containing {identity}"
    )
    identities: Annotated[str | None, File("input"), Cli(metavar="FILE", group=_SWAPS)] = Field(
        None, description="file with 'term' and 'axis' columns"
    )

    @model_validator(mode="after")
    def _templates_and_identities(self, info: ValidationInfo) -> Self:
        if bool(self.templates) != bool(self.identities):
            name = namer(info)
            raise ValueError(f"{name('templates')} and {name('identities')} go together")
        return self


def run(spec: ModerationSpec, progress: Progress | None = None) -> ResultDocument:
    """Run the moderation audit ``spec`` describes."""
    from audit.moderation import load_identity_templates, moderation_audit

    data, model, options = prepare(spec)
    suite = None
    if spec.templates and spec.identities:
        suite = load_identity_templates(spec.templates, spec.identities)
    doc = moderation_audit(
        data, model, options, templates=suite, progress=stage(progress, "scoring")
    )
    return cast("ResultDocument", doc)


@functools.cache
def policy_metrics() -> PolicyMetrics:
    """The classification metrics, and the bias AUCs the gate reads from
    ``moderation.bias_aucs`` (:data:`audit.policy.BIAS_AUC_GROUP_METRICS` per group,
    :data:`audit.policy.BIAS_AUC_BLOCK_METRICS` per attribute)."""
    from dataclasses import replace

    from audit.policy import BIAS_AUC_BLOCK_METRICS, BIAS_AUC_GROUP_METRICS

    return replace(
        classification_metrics(),
        bias_auc=frozenset({*BIAS_AUC_GROUP_METRICS, *BIAS_AUC_BLOCK_METRICS}),
    )


KIND: AuditKind[ModerationSpec] = AuditKind(
    name="moderation",
    summary="classification audit plus bias AUCs, per-language rates and identity-swap tests",
    description="Audit a moderation model: everything the classification audit reports, plus "
    "subgroup/BPSN/BNSP AUCs, per-language rates and identity-swap template tests.",
    spec=ModerationSpec,
    run=run,
    http=HTTP,
    policy_metrics=policy_metrics,
    report=ReportProfile("Moderation", ("fpr", "fnr", "selection_rate")),
)

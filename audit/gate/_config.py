"""``audit.yaml``: several audits and the policy that gates them, in one file for one CI step.

Example::

    policy: ../policies/default.yaml      # paths are relative to this file
    baseline: baseline/blessing.json      # optional; one path or a list
    out: out/ci                           # result documents go here (default: out)
    junit: out/ci/gate.xml                # optional artefacts
    markdown: out/ci/gate.md
    blessing: out/ci/blessing.json
    audits:
      - name: compas                      # file name of the result (default: the kind)
        kind: classification              # then any flag of `socialaudit classification`,
        data: data/compas.csv             # spelled with underscores
        label: two_year_recid
        score: score
        groups: [race, sex]
      - kind: ads                         # any kind of audit.kinds.KINDS
        impressions: data/impressions.csv
        audience: data/audience.csv
        groups: [gender]

``audits:`` is derived from the registry (:func:`audit_config_model`): each item is the spec
of its ``kind`` (:mod:`audit.kinds`), so a new kind is accepted here without a change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from audit.exceptions import ConfigError
from audit.gate._inputs import ResultInput, load_result_input
from audit.kinds import REGISTRY, KindSpec, Registry
from audit.policy import load_yaml_model

__all__ = [
    "AuditConfig",
    "AuditPlan",
    "audit_config_model",
    "load_audit_config",
    "run_planned_audits",
]


class AuditConfig(BaseModel):
    """The ``audit.yaml`` file read by ``socialaudit audit --config``.

    ``audits`` holds specs of the registry's kinds (:func:`audit_config_model` builds the model
    that tells them apart by ``kind``).
    """

    model_config = ConfigDict(extra="forbid")

    policy: str = Field(min_length=1)
    baseline: list[str] = Field(default_factory=list)
    out: str = "out"
    junit: str | None = None
    markdown: str | None = None
    blessing: str | None = None
    audits: list[KindSpec] = Field(min_length=1)

    @field_validator("baseline", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else ([] if v is None else v)

    @model_validator(mode="after")
    def _distinct_names(self) -> AuditConfig:
        seen: set[str] = set()
        for spec in self.audits:
            label = spec.name or spec.kind
            if Path(label).name != label or label in (".", ".."):
                raise ValueError(f"audit name {label!r} must be a plain file name")
            if label in seen:
                raise ValueError(
                    f"two audits would both be called {label!r}; give each a distinct name"
                )
            seen.add(label)
        return self


_MODELS: dict[tuple[type[KindSpec], ...], type[AuditConfig]] = {}


def audit_config_model(registry: Registry = REGISTRY) -> type[AuditConfig]:
    """:class:`AuditConfig` whose ``audits`` are specs of ``registry``'s kinds, by ``kind``.

    Built once per registry (on first use: the gate alone does not need it).
    """
    specs = tuple(entry.spec for entry in registry.values())
    if specs not in _MODELS:
        item = Annotated[Union[specs], Field(discriminator="kind")]  # type: ignore[valid-type]  # noqa: UP007
        _MODELS[specs] = create_model(
            "AuditConfig",
            __base__=AuditConfig,
            __module__=__name__,
            audits=(list[item], Field(min_length=1)),  # type: ignore[valid-type]
        )
    return _MODELS[specs]


@dataclass(frozen=True)
class AuditPlan:
    """A loaded config with every path resolved against the config file's folder."""

    config: Path
    policy: Path
    baselines: tuple[Path, ...]
    junit: Path | None
    markdown: Path | None
    blessing: Path | None
    audits: tuple[tuple[str, KindSpec, Path], ...]


def _at(base: Path, value: str | None) -> Path | None:
    if value is None:
        return None
    p = Path(value)
    return p if p.is_absolute() else base / p


def load_audit_config(path: str | Path, registry: Registry = REGISTRY) -> AuditPlan:
    """Read and validate an ``audit.yaml``; raises ConfigError naming the line and key."""
    cfg, _ = load_yaml_model(path, audit_config_model(registry), "audit config")
    base = Path(path).parent
    out = _at(base, cfg.out)
    assert out is not None
    audits = []
    for spec in cfg.audits:
        label = spec.name or spec.kind
        spec = spec.resolved(base)
        audits.append((label, spec, Path(spec.out) if spec.out else out / f"{label}.json"))
    policy = _at(base, cfg.policy)
    assert policy is not None
    return AuditPlan(
        config=Path(path),
        policy=policy,
        baselines=tuple(p for b in cfg.baseline if (p := _at(base, b)) is not None),
        junit=_at(base, cfg.junit),
        markdown=_at(base, cfg.markdown),
        blessing=_at(base, cfg.blessing),
        audits=tuple(audits),
    )


def _outputs_apart(label: str, spec: KindSpec, out: Path) -> None:
    """An audit's other outputs (PII findings, ...) must not overwrite its result."""
    for name in spec.outputs_at(out):
        raise ConfigError(
            f"audit {label!r}: {name} and the result name the same file: {getattr(spec, name)}"
        )


def run_planned_audits(
    plan: AuditPlan,
    policy_sha256: str | None,
    on_start: Callable[[str, KindSpec], None] | None = None,
    on_done: Callable[[str, Path], None] | None = None,
    registry: Registry = REGISTRY,
) -> list[ResultInput]:
    """Run each audit with its kind's run function and write its result as soon as it finishes.

    A later audit that fails (bad data, unreachable model) raises, but the results already
    written stay on disk. Each result records the SHA-256 of the policy it was gated under.
    """
    from audit.results import write_result

    for label, spec, out in plan.audits:
        _outputs_apart(label, spec, out)
    done = []
    for label, spec, out in plan.audits:
        if on_start:
            on_start(label, spec)
        doc = registry[spec.kind].run(spec, None)
        doc["provenance"]["policy_sha256"] = policy_sha256
        written = write_result(doc, out)
        # Gate what is on disk, byte for byte the file whose hash the blessing records.
        done.append(load_result_input(written, label))
        if on_done:
            on_done(label, written)
    return done

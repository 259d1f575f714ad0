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
        kind: classification              # then any key of `socialaudit classification`,
        data: data/compas.csv             # spelled with underscores
        label: two_year_recid
        score: score
        groups: [race, sex]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from audit.gate._inputs import ResultInput, load_result_input
from audit.policy import load_yaml_model
from audit.runner import AuditSpec

__all__ = ["AuditConfig", "AuditPlan", "load_audit_config", "run_planned_audits"]


class AuditConfig(BaseModel):
    """The ``audit.yaml`` file read by ``socialaudit audit --config``."""

    model_config = ConfigDict(extra="forbid")

    policy: str = Field(min_length=1)
    baseline: list[str] = Field(default_factory=list)
    out: str = "out"
    junit: str | None = None
    markdown: str | None = None
    blessing: str | None = None
    audits: list[AuditSpec] = Field(min_length=1)

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


@dataclass(frozen=True)
class AuditPlan:
    """A loaded config with every path resolved against the config file's folder."""

    config: Path
    policy: Path
    baselines: tuple[Path, ...]
    junit: Path | None
    markdown: Path | None
    blessing: Path | None
    audits: tuple[tuple[str, AuditSpec, Path], ...]


def _at(base: Path, value: str | None) -> Path | None:
    if value is None:
        return None
    p = Path(value)
    return p if p.is_absolute() else base / p


def load_audit_config(path: str | Path) -> AuditPlan:
    """Read and validate an ``audit.yaml``; raises ConfigError naming the line and key."""
    cfg, _ = load_yaml_model(path, AuditConfig, "audit config")
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


def run_planned_audits(
    plan: AuditPlan,
    policy_sha256: str | None,
    on_start: Callable[[str, AuditSpec], None] | None = None,
    on_done: Callable[[str, Path], None] | None = None,
) -> list[ResultInput]:
    """Run each audit and write its result as soon as it finishes.

    A later audit that fails (bad data, unreachable model) raises, but the results already
    written stay on disk. Each result records the SHA-256 of the policy it was gated under.
    """
    from audit.results import write_result
    from audit.runner import run_audit

    done = []
    for label, spec, out in plan.audits:
        if on_start:
            on_start(label, spec)
        doc = run_audit(spec)
        doc["provenance"]["policy_sha256"] = policy_sha256
        written = write_result(doc, out)
        # Gate what is on disk, byte for byte the file whose hash the blessing records.
        done.append(load_result_input(written, label))
        if on_done:
            on_done(label, written)
    return done

"""The audit kinds, one registry: each kind declares once its spec, its run function, what
HTTP may not do, the metrics its results carry and how reports present it.

Everything that lists kinds derives from :data:`REGISTRY`: the ``socialaudit`` commands
(:mod:`audit.cli.kinds`), ``audit.yaml`` (:mod:`audit.gate._config`), the scan requests of
``POST /scans`` (:mod:`audit.scans._requests`), the kinds a policy check may name
(:mod:`audit.policy`) and the report's titles and headline metrics. :data:`KINDS` is the one
list of kind names.

Adding a kind: write its engine (its own package or module), then a module here declaring its
:class:`AuditKind` (see :mod:`audit.kinds.ads` for a small one) and one entry in
:data:`REGISTRY`.

Importing this package imports pydantic and no audit engine: the run functions import theirs
when called, so ``socialaudit --help`` and the API's cold start stay fast.

Examples
--------
>>> from audit.kinds import REGISTRY, load_spec
>>> spec = load_spec({"kind": "ads", "impressions": "imp.csv", "audience": "aud.csv",
...                   "groups": ["gender"]})
>>> spec.min_users, REGISTRY["ads"].report.title
(30, 'Ad delivery')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from audit.exceptions import ConfigError
from audit.kinds import ads, classification, face, moderation, pii, recommendation
from audit.kinds._entry import (
    MAX_RESAMPLES,
    Aggregation,
    AuditKind,
    HttpRules,
    PolicyMetrics,
    ReportProfile,
    RunFunction,
)
from audit.kinds._spec import Cli, File, KindSpec, Progress, cli_of, file_fields, file_of
from audit.kinds._wording import as_fields

if TYPE_CHECKING:
    from audit.results import ResultDocument

__all__ = [
    "KINDS",
    "MAX_RESAMPLES",
    "REGISTRY",
    "Aggregation",
    "AuditKind",
    "Cli",
    "File",
    "HttpRules",
    "KindSpec",
    "PolicyMetrics",
    "Progress",
    "Registry",
    "ReportProfile",
    "RunFunction",
    "as_fields",
    "cli_of",
    "file_fields",
    "file_of",
    "format_validation_error",
    "headline_metrics",
    "load_spec",
    "make_registry",
    "report_titles",
    "run",
]

#: Kind name → entry, in the order commands and documentation list them.
Registry = Mapping[str, AuditKind[Any]]


def make_registry(entries: Iterable[AuditKind[Any]]) -> Registry:
    """A registry of ``entries``, checked: unique names, each spec's ``kind`` its name."""
    out: dict[str, AuditKind[Any]] = {}
    for entry in entries:
        if entry.name in out:
            raise ValueError(f"two audit kinds are called {entry.name!r}")
        declared = entry.spec.model_fields["kind"].default
        if declared != entry.name:
            raise ValueError(
                f"{entry.spec.__name__}.kind defaults to {declared!r}, not {entry.name!r}"
            )
        out[entry.name] = entry
    return MappingProxyType(out)


REGISTRY: Registry = make_registry(
    (
        classification.KIND,
        moderation.KIND,
        recommendation.KIND,
        ads.KIND,
        face.KIND,
        pii.KIND,
    )
)

#: The audit kinds, by name: the one list of them.
KINDS: tuple[str, ...] = tuple(REGISTRY)


def format_validation_error(exc: ValidationError, where: str) -> str:
    """One line per problem, naming the field: ``where: audits.0.threshold: ...``."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {loc}: {msg}" if loc else f"{where}: {msg}")
    return "\n".join(lines)


def load_spec(values: Mapping[str, Any], registry: Registry = REGISTRY) -> KindSpec:
    """Validate the settings of one audit (a dict with ``kind``) into its kind's spec.

    Raises
    ------
    ConfigError
        An unknown kind, or one line per problem naming the field.
    """
    kind = values.get("kind")
    if kind not in registry:
        raise ConfigError(f"unknown audit kind {kind!r}: one of {', '.join(registry)}")
    try:
        return registry[str(kind)].spec.model_validate(dict(values))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(kind))) from None


def run(spec: KindSpec, progress: Progress | None = None) -> ResultDocument:
    """Run the audit ``spec`` describes with its kind's run function."""
    return REGISTRY[spec.kind].run(spec, progress)


def report_titles(registry: Registry = REGISTRY) -> dict[str, str]:
    """Kind → its title in reports."""
    return {name: entry.report.title for name, entry in registry.items()}


def headline_metrics(registry: Registry = REGISTRY) -> dict[str, tuple[str, ...]]:
    """Kind → its headline metrics in reports (kinds without a preference are left out)."""
    return {name: e.report.headline for name, e in registry.items() if e.report.headline}

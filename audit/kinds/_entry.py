"""The registry entry: everything the boundaries need to know about one audit kind."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from audit.kinds._spec import KindSpec, Progress

if TYPE_CHECKING:
    from audit.results import ResultDocument

__all__ = [
    "MAX_RESAMPLES",
    "Aggregation",
    "AuditKind",
    "HttpRules",
    "PolicyMetrics",
    "ReportProfile",
    "RunFunction",
]

S = TypeVar("S", bound=KindSpec)

#: ``(spec, progress) -> result document``.
RunFunction = Callable[[S, Progress | None], "ResultDocument"]

#: Most bootstrap resamples a scan request may ask the server for (the CLI has no limit).
MAX_RESAMPLES = 10_000

#: Where a policy check reads its metric (:mod:`audit.policy`).
Aggregation = Literal[
    "per_group",
    "worst_group",
    "ratio_to_reference",
    "difference_to_reference",
    "summary",
    "bias_auc",
]


@dataclass(frozen=True)
class HttpRules:
    """What a scan request of the kind may not do that the CLI may (``POST /scans``).

    The request model is the spec less the refused fields, with the limits added; the scan
    layer builds it (:mod:`audit.scans`). Fields that name files are marked on the spec
    (:class:`~audit.kinds.File`) and checked when a scan is submitted.

    Attributes
    ----------
    refused
        Field → why a request may not give it (running code or writing files on the server).
        ``out`` is refused for every kind: a scan stores its result itself.
    fixed
        Values refused fields take in the spec a scan runs, when not the spec's default.
    limits
        Field → extra constraints over HTTP (``{"workers": {"le": 32}}``); ``resamples`` is
        capped at ``max_resamples``.
    max_resamples
        Most bootstrap resamples a request may ask for.
    described
        Field → its description over HTTP, where it means something else there.
    field_checks
        Field → an extra check of its value over HTTP (returns the value or raises
        ``ValueError``; the message is given under the field's name).
    check
        An extra rule over the whole request (raise ``ValueError`` naming the fields).
    """

    refused: Mapping[str, str] = field(default_factory=dict)
    fixed: Mapping[str, Any] = field(default_factory=dict)
    limits: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    max_resamples: int = MAX_RESAMPLES
    described: Mapping[str, str] = field(default_factory=dict)
    field_checks: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    check: Callable[[Any], None] | None = None


_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


@dataclass(frozen=True)
class PolicyMetrics:
    """The metric names a kind's result documents can carry, by where a check reads them.

    A name may hold a ``{placeholder}`` standing for a value known only at run time
    (``{entity}_findings``: one per PII entity type).

    Attributes
    ----------
    group
        ``groups[].metrics`` (and ``impact_ratio``): ``per_group`` and ``worst_group``.
    disparity
        ``disparities[].metric``: ``ratio_to_reference`` and ``difference_to_reference``.
    summary
        ``summary[].metric``.
    bias_auc
        ``moderation.bias_aucs``.
    custom_group_metrics
        Whether per-group metrics named by the user at run time (``--metric``) can appear too.
    """

    group: frozenset[str]
    disparity: frozenset[str] = frozenset()
    summary: frozenset[str] = frozenset()
    bias_auc: frozenset[str] = frozenset()
    custom_group_metrics: bool = False

    @classmethod
    def of_tables(
        cls,
        *tables: Any,
        summary: tuple[str, ...] = (),
        bias_auc: frozenset[str] = frozenset(),
        custom_group_metrics: bool = False,
    ) -> PolicyMetrics:
        """The names the engine's group tables (:class:`audit.metrics.GroupTable`) publish.

        Parameters
        ----------
        tables
            The kind's group tables: their ``published`` and ``beside`` metrics go per group,
            their ``compared`` ones are the disparities, their ``summaries`` the summaries.
        summary
            Summaries the engine adds beside those of its tables (catalogue-level measures).
        bias_auc, custom_group_metrics
            As the attributes.
        """
        return cls(
            group=frozenset(m for t in tables for m in (*t.published, *t.beside)),
            disparity=frozenset(c.metric for t in tables for c in t.compared),
            summary=frozenset({*(s.name for t in tables for s in t.summaries), *summary}),
            bias_auc=bias_auc,
            custom_group_metrics=custom_group_metrics,
        )

    def names(self, aggregation: Aggregation) -> frozenset[str]:
        """The names a check with ``aggregation`` may read."""
        return {
            "per_group": self.group,
            "worst_group": self.group,
            "ratio_to_reference": self.disparity,
            "difference_to_reference": self.disparity,
            "summary": self.summary,
            "bias_auc": self.bias_auc,
        }[aggregation]

    def accepts(self, aggregation: Aggregation, metric: str) -> bool:
        """Whether ``metric`` can appear where a check with ``aggregation`` reads."""
        if aggregation in ("per_group", "worst_group") and self.custom_group_metrics:
            return True
        for name in self.names(aggregation):
            pattern = "[a-z0-9_]+".join(map(re.escape, _PLACEHOLDER.split(name)))
            if re.fullmatch(pattern, metric):
                return True
        return False


@dataclass(frozen=True)
class ReportProfile:
    """How a transparency report presents the kind.

    Attributes
    ----------
    title
        Noun phrase for section titles ("Face recognition" → "Face recognition audit: …").
    headline
        The metrics its findings and first charts are about, in order (others stay in the
        tables); empty for no preference.
    """

    title: str
    headline: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuditKind(Generic[S]):
    """One audit kind, declared once; the CLI, ``audit.yaml``, HTTP scans, the gate and the
    report derive from it.

    Attributes
    ----------
    name
        The kind (``kind`` in result documents, the CLI command, ``kind:`` in ``audit.yaml`` and
        scan requests).
    summary
        One line: the command's entry in ``socialaudit --help``.
    description
        What the audit does: the command's help and the scan request's description.
    spec
        The settings, a pydantic model (``extra="forbid"``, every field described).
    run
        ``(spec, progress) -> result document``; imports its engine when called.
    http
        What a scan request may not do.
    policy_metrics
        The metric names its results can carry (computed on first call from the engine's own
        metric tables, which it imports).
    report
        Title and headline metrics in reports.
    scan
        ``batch``: a scan runs the whole audit in one batch; ``fanout``: the scan layer has a
        job that cuts the input into batches (``pii``).
    scan_records
        What a one-batch scan counts as records processed (default ``overall.n``).
    """

    name: str
    summary: str
    description: str
    spec: type[S]
    run: RunFunction[S]
    http: HttpRules
    policy_metrics: Callable[[], PolicyMetrics]
    report: ReportProfile
    scan: Literal["batch", "fanout"] = "batch"
    scan_records: Callable[[Mapping[str, Any]], int] | None = None

    def records(self, doc: Mapping[str, Any]) -> int:
        """Records a one-batch scan of this kind processed, read from its result."""
        if self.scan_records is not None:
            return self.scan_records(doc)
        return int((doc.get("overall") or {}).get("n", 0))

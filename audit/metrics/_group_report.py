"""Group reports: the one place where a slice's per-group numbers become result records.

Every audit kind measures something different per group — confusion rates, false-match rates,
NDCG, exposure, delivery rates — but what happens next is the same for all of them, and is
written here once:

* **suppression** (privacy): a group with fewer units than ``min_group_size`` (rows, subjects,
  users, catalogue items, eligible users) is not published; it is listed in
  ``suppressed_groups``, is never a reference and appears in no disparity, so no ratio to or
  from it can reveal its rates;
* **the evidence rule**: a published group with fewer than a minimum count of what its verdict
  rests on (label positives and negatives, genuine and impostor pairs, evaluated users, ...) gets
  ``verdicts.evidence: insufficient_evidence`` — never a number that reads as a pass — is never
  a reference, and is left out of every cross-group summary, which lists it as left out;
* **the reference group** (``largest``, ``best`` per metric direction, or named) and each
  group's difference and ratio to it, with percentile-bootstrap intervals and the fairness-band
  verdict (Saleiro et al. 2018, "Aequitas: A Bias and Fairness Audit Toolkit");
* **cross-group summaries** over the sufficient groups where the summary is defined, each
  listing the groups it includes and the ones it leaves out;
* **exact point values** where a kind can give them (ratios of integer counts): the point value
  of each such metric, disparity and summary is evaluated in :class:`fractions.Fraction`
  arithmetic by the same functions, written beside its float as ``exact: "p/q"``, and every
  verdict at a threshold (four-fifths, band) is decided on it — never on a rounded float.

A kind describes what it reports once, as a :class:`GroupTable`, and hands over per slice the
unit counts and evidence counts (:func:`assess`), the point values of its metrics per group and
optionally their bootstrap resamples; :func:`slice_records` returns the ``groups``,
``suppressed_groups``, ``disparities`` and ``summary`` records in the result document's shape.
Each metric's formula stays in its own module (:mod:`audit.metrics._rates`, ``_ranking``,
``_verification``, ``_auc``, ``_disparity``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from audit.exceptions import ConfigError
from audit.metrics._bootstrap import Interval, estimate, percentile_interval
from audit.metrics._disparity import four_fifths_verdict, ratio_band_verdict
from audit.metrics._groups import GroupKey

__all__ = [
    "AttributeGroups",
    "Compared",
    "CrossGroup",
    "CrossGroupValue",
    "Direction",
    "Evidence",
    "EvidenceRule",
    "Exact",
    "GroupRecords",
    "GroupTable",
    "Grouping",
    "Reference",
    "ReportRules",
    "Verdict",
    "as_fractions",
    "assess",
    "cross_group",
    "group_label",
    "pick_reference",
    "slice_records",
]

Array = NDArray[np.float64]
Label = str | list[str]

#: The reference group of disparities: the group with the most units, the group with the best
#: value of each metric, or ``{attribute: group}`` naming it.
Reference = Literal["largest", "best"] | Mapping[str, str]

#: Which way a metric is better for the people measured; ``best`` picks the reference by it
#: (``neutral``: neither, so ``best`` falls back to the largest group for that metric).
Direction = Literal["higher", "lower", "neutral"]

#: Exact point values of some metrics per group, shape ``(groups,)``, as object arrays of
#: :class:`fractions.Fraction` (NaN where undefined): the same metric functions evaluated on
#: integer counts.
Exact = Mapping[str, NDArray[np.object_]]


def as_fractions(counts: ArrayLike) -> NDArray[np.object_] | None:
    """Counts as an object array of :class:`fractions.Fraction`, to evaluate a kind's metric
    functions exactly; None when any count is not a whole number (nothing exact to say)."""
    c = np.asarray(counts, dtype=np.float64)
    if not np.isfinite(c).all() or (c != np.rint(c)).any():
        return None
    out = np.empty(c.shape, dtype=object)
    out.flat[:] = [Fraction(int(v)) for v in c.ravel()]
    return out


def _exact(x: Any) -> Fraction | None:
    """A value of exact arithmetic as a Fraction (None for NaN or anything inexact)."""
    if isinstance(x, np.ndarray) and x.ndim == 0:
        x = x.item()
    if isinstance(x, int) and not isinstance(x, bool):
        return Fraction(x)
    return x if isinstance(x, Fraction) else None


def _with_exact(est: dict[str, Any], exact: Fraction | None) -> dict[str, Any]:
    """An estimate record whose point value is the exact one (written as ``"p/q"``)."""
    if exact is None or est.get("value") is None:
        return est
    return {**est, "value": float(exact), "exact": str(exact)}


def group_label(group: GroupKey) -> Label:
    """A group key as written in JSON: a string, or a list for intersections."""
    return list(group) if isinstance(group, tuple) else group


class Grouping(Protocol):
    """The groups of one slice (:class:`audit.metrics.Slice` is one)."""

    @property
    def columns(self) -> tuple[str, ...]: ...

    @property
    def groups(self) -> tuple[GroupKey, ...]: ...

    @property
    def attribute(self) -> str | list[str]: ...

    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class AttributeGroups:
    """The groups of a single attribute, by label: a :class:`Grouping` without a partition
    (provider groups of items, identity subgroups of the bias AUCs)."""

    column: str
    groups: tuple[GroupKey, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    @property
    def attribute(self) -> str:
        return self.column

    @property
    def name(self) -> str:
        return self.column


# --------------------------------------------------------------------------- evidence


@dataclass(frozen=True)
class EvidenceRule:
    """A count a group needs at least ``minimum`` of before it gets a verdict.

    Attributes
    ----------
    what
        What is counted, as a reader says it: ``label positives``, ``impostor pairs``.
    minimum
        The smallest count that is enough.
    option
        The setting that sets it, named in messages: ``--min-positives``.
    """

    what: str
    minimum: int
    option: str


@dataclass(frozen=True)
class Evidence:
    """Which groups of one slice are published, and which have enough evidence for a verdict.

    Made by :func:`assess`. ``shown[g]`` is false for a suppressed group; ``sufficient[g]``
    implies ``shown[g]``; ``shortfall[g]`` says which rule a published group misses.
    """

    grouping: Grouping
    units: Array
    shown: NDArray[np.bool_]
    sufficient: NDArray[np.bool_]
    shortfall: tuple[str | None, ...]
    suppression: str

    def label(self, g: int | np.integer) -> Label:
        return group_label(self.grouping.groups[int(g)])

    def labels(self, mask: NDArray[np.bool_]) -> list[Label]:
        return [self.label(g) for g in np.flatnonzero(mask)]

    @property
    def insufficient(self) -> NDArray[np.bool_]:
        """Published groups without enough evidence."""
        return self.shown & ~self.sufficient


def assess(
    grouping: Grouping,
    units: ArrayLike,
    *,
    min_group_size: int,
    unit: str,
    rules: Sequence[tuple[EvidenceRule, ArrayLike]] = (),
) -> Evidence:
    """Suppression and the evidence rule for one slice: written once for every audit kind.

    Parameters
    ----------
    grouping
        The slice's groups.
    units
        Per group, what ``min_group_size`` counts (rows, subjects, users, catalogue items,
        eligible users); "largest" picks the reference by it.
    min_group_size
        Groups with fewer units are suppressed: no numbers are published for them.
    unit
        What a unit is, for the suppression reason: ``rows``, ``subjects``.
    rules
        Each evidence rule with its per-group counts; a published group needs every minimum.
    """
    n = np.asarray(units, dtype=np.float64)
    shown = n >= min_group_size
    sufficient = shown.copy()
    shortfall: list[str | None] = [None] * len(n)
    for rule, counts in rules:
        c = np.asarray(counts, dtype=np.float64)
        short = c < rule.minimum
        for g in np.flatnonzero(shown & short):
            if shortfall[g] is None:
                shortfall[g] = (
                    f"has {int(c[g])} {rule.what}; the audit needs {rule.minimum} ({rule.option})"
                )
        sufficient &= ~short
    return Evidence(
        grouping=grouping,
        units=n,
        shown=shown,
        sufficient=sufficient,
        shortfall=tuple(shortfall),
        suppression=f"fewer than {min_group_size} {unit}",
    )


# --------------------------------------------------------------------------- the reference


def _named_reference(evidence: Evidence, reference: Reference) -> int | None:
    """The group ``reference`` names for this slice; None when it names none (use largest)."""
    if not isinstance(reference, Mapping):
        return None
    grouping = evidence.grouping
    wanted = tuple(reference[c] for c in grouping.columns if c in reference)
    if len(wanted) != len(grouping.columns):
        return None
    key: GroupKey = wanted[0] if len(wanted) == 1 else wanted
    if key not in grouping.groups:
        raise ConfigError(
            f"reference group {key!r} for {grouping.name!r} does not occur in the data; "
            f"groups are: {', '.join(map(str, grouping.groups))}"
        )
    g = grouping.groups.index(key)
    if not evidence.shown[g]:
        # Its counts stay unpublished: ratios to a suppressed group would reveal its rates.
        raise ConfigError(
            f"reference group {key!r} for {grouping.name!r} is suppressed "
            f"({evidence.suppression}), so it cannot be the reference; name another group "
            "with --reference"
        )
    if not evidence.sufficient[g]:
        raise ConfigError(
            f"reference group {key!r} for {grouping.name!r} has too little evidence to be the "
            f"reference: it {evidence.shortfall[g]}; name another group with --reference, or "
            "lower that minimum"
        )
    return g


def pick_reference(
    evidence: Evidence, reference: Reference, values: Array, better: Direction
) -> int | None:
    """Index of the reference group for one metric; None when no group can be one.

    Only a group with sufficient evidence is ever a reference. ``largest`` is the group with
    the most units; ``best`` the group with the best value of the metric (lowest when lower is
    better, highest when higher is; for a ``neutral`` metric, which has no better side, the
    largest group); a named group must be published and sufficient, or this raises.

    Raises
    ------
    ConfigError
        The named group does not occur, is suppressed, or lacks evidence (the rule it misses
        is named).
    """
    named = _named_reference(evidence, reference)
    if named is not None:
        return named
    eligible = evidence.sufficient
    if not eligible.any():
        return None
    if reference == "best" and better != "neutral":
        v = np.where(eligible, values, np.nan)
        if np.isnan(v).all():
            return None
        return int(np.nanargmin(v)) if better == "lower" else int(np.nanargmax(v))
    return int(np.argmax(np.where(eligible, evidence.units, -1)))


# --------------------------------------------------------------------------- what a kind reports


@dataclass(frozen=True)
class Compared:
    """A metric each group is compared on with the reference group (difference and ratio).

    ``better`` is the metric's direction for the people measured; ``reference: best`` follows
    it. It is the one input to change for a kind whose favourable outcome is configurable.
    """

    metric: str
    better: Direction


@dataclass(frozen=True)
class CrossGroup:
    """A summary across the groups of one slice.

    Attributes
    ----------
    name
        Key in ``summary[].metric`` (or wherever the kind writes it).
    inputs
        The per-group values it reads.
    compute
        Function of those values, each shaped ``(..., groups)``, returning one value per
        leading index (so every resample goes through the same code).
    min_groups
        Groups it needs; with fewer it is undefined and says why.
    explain
        Optional note on a defined value: given the inputs over the included groups and their
        labels, a sentence or None (the face audit's "unbounded" ratio).
    exact
        Whether ``compute`` also works on object arrays of :class:`fractions.Fraction` (it uses
        only comparisons and arithmetic): then, when every input is exact for every included
        group, the point value is computed exactly too.
    """

    name: str
    inputs: tuple[str, ...]
    compute: Callable[..., Any]
    min_groups: int = 2
    explain: Callable[[Sequence[Array], Sequence[Label]], str | None] | None = None
    exact: bool = False


VerdictRule = Literal["four_fifths", "band", "reference"]


@dataclass(frozen=True)
class Verdict:
    """A per-group verdict written in ``groups[].verdicts`` beside ``evidence``.

    ``four_fifths`` judges the metric against 0.8 (29 CFR 1607.4(D)); ``band`` a ratio against
    the fairness band; ``reference`` repeats the verdict of the group's disparity on that
    compared metric, ``on_reference`` for the reference group itself and
    ``insufficient_evidence`` when there is no reference.
    """

    key: str
    metric: str
    rule: VerdictRule
    on_reference: str = "reference"


@dataclass(frozen=True)
class GroupTable:
    """What one audit kind reports per group: the same for every slice.

    Attributes
    ----------
    published
        Metrics written in ``groups[].metrics``.
    beside
        Estimates written beside ``metrics`` in the group record (``impact_ratio``).
    compared
        Metrics compared with the reference group: the ``disparities``.
    summaries
        Cross-group summaries: the ``summary`` records.
    verdicts
        Per-group verdicts after ``evidence``.
    tags
        Constant fields of every group and suppressed record (``side: user``).
    """

    published: tuple[str, ...]
    beside: tuple[str, ...] = ()
    compared: tuple[Compared, ...] = ()
    summaries: tuple[CrossGroup, ...] = ()
    verdicts: tuple[Verdict, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReportRules:
    """The run's settings the records depend on: reference, fairness band, interval level."""

    reference: Reference = "largest"
    band: tuple[float, float] = (0.8, 1.25)
    level: float = 0.95


@dataclass
class GroupRecords:
    """The ``groups``, ``suppressed_groups``, ``disparities`` and ``summary`` records."""

    groups: list[dict[str, Any]] = field(default_factory=list)
    suppressed_groups: list[dict[str, Any]] = field(default_factory=list)
    disparities: list[dict[str, Any]] = field(default_factory=list)
    summary: list[dict[str, Any]] = field(default_factory=list)

    def extend(self, other: GroupRecords) -> None:
        self.groups += other.groups
        self.suppressed_groups += other.suppressed_groups
        self.disparities += other.disparities
        self.summary += other.summary

    def as_dict(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "groups": self.groups,
            "suppressed_groups": self.suppressed_groups,
            "disparities": self.disparities,
            "summary": self.summary,
        }


# --------------------------------------------------------------------------- summaries


@dataclass(frozen=True)
class CrossGroupValue:
    """A cross-group summary's value, resamples and the groups it includes and leaves out."""

    point: float
    resampled: Array | None
    included: list[Label]
    excluded_insufficient: list[Label]
    excluded_undefined: list[Label]
    note: str | None
    exact: Fraction | None = None

    def record(self, level: float) -> dict[str, Any]:
        """``{value, ci_low, ci_high, groups_included, groups_excluded_insufficient, ...}``;
        ``exact``, ``groups_excluded_undefined`` and ``note`` only when there is something to
        say."""
        out: dict[str, Any] = {
            **_with_exact(estimate(self.point, self.resampled, level), self.exact),
            "groups_included": self.included,
            "groups_excluded_insufficient": self.excluded_insufficient,
        }
        if self.excluded_undefined:
            out["groups_excluded_undefined"] = self.excluded_undefined
        if self.note:
            out["note"] = self.note
        return out


def _quiet(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` without numpy's all-NaN warnings (a resample where no group is defined)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args)


def cross_group(
    spec: CrossGroup,
    evidence: Evidence,
    values: Mapping[str, Array],
    resampled: Mapping[str, Array] | None = None,
    exact: Exact | None = None,
) -> CrossGroupValue:
    """A summary over the groups with sufficient evidence where it is defined.

    Groups without sufficient evidence are left out and listed
    (``groups_excluded_insufficient``); so are sufficient groups for which every input is
    undefined (``groups_excluded_undefined``: e.g. an AUC over a group with no positives),
    rather than silently dropped. Suppressed groups are neither included nor listed here
    (they are listed in ``suppressed_groups``).
    """
    defined = np.zeros(len(evidence.units), dtype=bool)
    for name in spec.inputs:
        defined |= ~np.isnan(np.asarray(values[name], dtype=np.float64))
    mask = evidence.sufficient & defined
    included = evidence.labels(mask)
    excluded = evidence.labels(evidence.insufficient)
    undefined = evidence.labels(evidence.sufficient & ~defined)
    if int(mask.sum()) < spec.min_groups:
        need = spec.min_groups
        what = "no group" if need == 1 else f"fewer than {need} groups"
        where = " where it is defined" if int(evidence.sufficient.sum()) >= need else ""
        return CrossGroupValue(
            np.nan, None, included, excluded, undefined, f"{what} with sufficient evidence{where}"
        )
    args = [np.asarray(values[name], dtype=np.float64)[mask] for name in spec.inputs]
    point = float(_quiet(spec.compute, *args))
    boot = None
    if resampled is not None and all(name in resampled for name in spec.inputs):
        boot = _quiet(spec.compute, *(resampled[name][:, mask] for name in spec.inputs))
    note = spec.explain(args, included) if spec.explain is not None else None
    return CrossGroupValue(
        point, boot, included, excluded, undefined, note, _exact_summary(spec, mask, exact)
    )


def _exact_summary(spec: CrossGroup, mask: NDArray[np.bool_], exact: Exact | None) -> Any:
    """The summary in exact arithmetic, when every input of every included group is exact."""
    if not spec.exact or exact is None or not all(name in exact for name in spec.inputs):
        return None
    args = [np.asarray(exact[name], dtype=object)[mask] for name in spec.inputs]
    if any(_exact(x) is None for a in args for x in a):
        return None
    return _exact(_quiet(spec.compute, *args))


# --------------------------------------------------------------------------- one slice


def _ratio(a: Any, b: Any) -> Any:
    with np.errstate(all="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


def _count(x: Any) -> int | None:
    return None if x is None or np.isnan(x) else int(x)


def slice_records(
    table: GroupTable,
    rules: ReportRules,
    evidence: Evidence,
    values: Mapping[str, Array],
    resampled: Mapping[str, Array] | None,
    counts: Mapping[str, ArrayLike],
    exact: Exact | None = None,
) -> GroupRecords:
    """The result records of one slice.

    Parameters
    ----------
    table
        What the kind reports.
    rules
        Reference, band and interval level.
    evidence
        Suppression and the evidence rule, from :func:`assess`.
    values
        Point value of each metric per group, shape ``(groups,)``: every metric the table
        publishes, compares or summarises.
    resampled
        Bootstrap values of the same metrics, shape ``(resamples, groups)``; a metric absent
        here (or ``None`` for all) gets no interval.
    counts
        Count columns of the group records, in order after ``group`` (``n``, ``positives``,
        ...); written as integers, NaN as null.
    exact
        Exact point values of the metrics that have them (:data:`Exact`); their group,
        disparity and summary records carry ``exact`` and verdicts are decided on it.

    Returns
    -------
    GroupRecords
        Suppressed groups are listed with their reason and appear nowhere else.
    """
    grouping, level = evidence.grouping, rules.level
    shown, sufficient = evidence.shown, evidence.sufficient
    boot = resampled or {}
    exact = exact or {}

    def exact_at(metric: str, g: int) -> Fraction | None:
        return _exact(exact[metric][g]) if metric in exact else None

    intervals: dict[str, list[Interval]] = {}
    for m in (*table.published, *table.beside):
        iv = percentile_interval(values[m], boot.get(m), level)
        assert isinstance(iv, list)
        intervals[m] = iv

    def group_estimate(metric: str, g: int) -> dict[str, Any]:
        return _with_exact(intervals[metric][g].as_dict(), exact_at(metric, g))

    out = GroupRecords()
    refs = {
        c.metric: pick_reference(evidence, rules.reference, values[c.metric], c.better)
        for c in table.compared
    }
    compared_verdict: dict[tuple[str, int], str] = {}
    for c in table.compared:
        ref = refs[c.metric]
        if ref is None:
            continue
        v, b = np.asarray(values[c.metric], dtype=np.float64), boot.get(c.metric)
        for g in map(int, np.flatnonzero(shown)):
            if g == ref:
                continue
            with np.errstate(all="ignore"):
                diff = v[g] - v[ref]
                ratio = _ratio(v[g], v[ref])
                b_diff = None if b is None else b[:, g] - b[:, ref]
                b_ratio = None if b is None else _ratio(b[:, g], b[:, ref])
            e_g, e_ref = exact_at(c.metric, g), exact_at(c.metric, ref)
            e_diff = e_ratio = None
            if e_g is not None and e_ref is not None:
                e_diff = e_g - e_ref
                e_ratio = e_g / e_ref if e_ref > 0 else None
            r = _with_exact(estimate(ratio, b_ratio, level), e_ratio)
            verdict = ratio_band_verdict(
                e_ratio if e_ratio is not None and r["value"] is not None else r["value"],
                rules.band,
                bool(sufficient[g]),
            )
            compared_verdict[c.metric, g] = verdict
            out.disparities.append(
                {
                    "attribute": grouping.attribute,
                    "group": evidence.label(g),
                    "reference": evidence.label(ref),
                    "metric": c.metric,
                    "difference": _with_exact(estimate(diff, b_diff, level), e_diff),
                    "ratio": r,
                    "verdict": verdict,
                }
            )

    columns = {k: np.asarray(v, dtype=np.float64) for k, v in counts.items()}
    for g in range(len(grouping.groups)):
        if not shown[g]:
            out.suppressed_groups.append(
                {
                    "attribute": grouping.attribute,
                    "group": evidence.label(g),
                    **table.tags,
                    "reason": evidence.suppression,
                }
            )
            continue
        ok = bool(sufficient[g])
        verdicts = {"evidence": "sufficient" if ok else "insufficient_evidence"}
        for rule in table.verdicts:
            if rule.rule == "reference":
                ref = refs[rule.metric]
                verdicts[rule.key] = (
                    "insufficient_evidence"
                    if ref is None
                    else rule.on_reference
                    if g == ref
                    else compared_verdict[rule.metric, g]
                )
                continue
            value: float | Fraction | None = intervals[rule.metric][g].value
            if value is not None and exact_at(rule.metric, g) is not None:
                value = exact_at(rule.metric, g)
            verdicts[rule.key] = (
                four_fifths_verdict(value, ok)
                if rule.rule == "four_fifths"
                else ratio_band_verdict(value, rules.band, ok)
            )
        out.groups.append(
            {
                **table.tags,
                "attribute": grouping.attribute,
                "group": evidence.label(g),
                **{k: _count(c[g]) for k, c in columns.items()},
                "metrics": {m: group_estimate(m, g) for m in table.published},
                **{m: group_estimate(m, g) for m in table.beside},
                "verdicts": verdicts,
            }
        )

    for spec in table.summaries:
        out.summary.append(
            {
                "attribute": grouping.attribute,
                "metric": spec.name,
                **cross_group(spec, evidence, values, resampled, exact).record(level),
            }
        )
    return out

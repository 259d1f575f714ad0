"""Applying a policy to result documents: observations → check outcomes → one decision.

An *observation* is one number a check reads from a result document — one group's metric, one
group-to-reference ratio, one summary — with its interval, its group size and, when the audit
had too little data to trust it, why. Every check turns each of its observations into one
:class:`CheckOutcome`. Nothing here knows about audit kinds beyond where their numbers live in
the result document, so a new audit that fills ``groups[].metrics`` or ``summary[]`` needs no
change here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any, Literal, NamedTuple

from audit.exceptions import ConfigError
from audit.gate._inputs import Baseline, ResultInput, as_baseline, as_result
from audit.gate._multiplicity import Adjusted, adjust
from audit.metrics._disparity import as_decimal
from audit.policy import BIAS_AUC_GROUP_METRICS, LANGUAGE, Check, Policy

__all__ = [
    "EXIT_BLOCKED",
    "EXIT_INPUT_ERROR",
    "EXIT_NO_DECISION",
    "EXIT_PASSED",
    "CheckOutcome",
    "GateDecision",
    "Observation",
    "SkippedCheck",
    "Verdict",
    "evaluate",
    "observe",
]

Status = Literal["PASS", "FAIL", "WARN", "INSUFFICIENT"]
Effect = Literal["none", "warn", "block"]
Verdict = Literal["blocked", "passed", "no_decision"]
Name = str | tuple[str, ...] | None

#: Exit codes of a gate run: nothing blocks; a blocking check failed; bad input (raised as
#: :class:`~audit.exceptions.AuditError`, not returned); nothing blocks but no blocking check
#: could be judged either.
EXIT_PASSED, EXIT_BLOCKED, EXIT_INPUT_ERROR, EXIT_NO_DECISION = 0, 1, 2, 3


def _name(x: Any) -> Name:
    """Attributes and groups are a string, or a list for an intersection; make them hashable."""
    if x is None:
        return None
    if isinstance(x, list | tuple):
        return str(x[0]) if len(x) == 1 else tuple(str(v) for v in x)
    return str(x)


def _num(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    return float(x) if math.isfinite(x) else None


def _fraction(x: Any) -> Fraction | None:
    """An ``exact`` value as written by the audits (``"p/q"``), or None."""
    if not isinstance(x, str):
        return None
    try:
        return Fraction(x)
    except (ValueError, ZeroDivisionError):
        return None


class Est(NamedTuple):
    value: float | None
    ci_low: float | None
    ci_high: float | None
    exact: Fraction | None = None


def _estimate(x: Any) -> Est | None:
    """An estimate object (``value``, ``ci_low``, ``ci_high``, ``exact``) or a bare number;
    None if absent."""
    if isinstance(x, dict) and "value" in x:
        v = _num(x.get("value"))
        return Est(v, _num(x.get("ci_low")), _num(x.get("ci_high")), _fraction(x.get("exact")))
    if _num(x) is not None:
        return Est(_num(x), None, None)
    return None


def show_name(x: Name) -> str:
    return " & ".join(x) if isinstance(x, tuple) else str(x)


@dataclass(frozen=True)
class Observation:
    """One number a check reads from one result document."""

    result: str
    kind: str
    metric: str
    aggregation: str
    attribute: Name
    group: Name
    reference: Name = None
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    #: Why the number cannot be judged (too few rows, suppressed, undefined, absent), or None.
    insufficient: str | None = None
    #: Context worth a reader's attention (e.g. "worst of 4 groups").
    note: str | None = None
    #: The point value as an exact ratio of counts, when the audit wrote one (decides points).
    exact: Fraction | None = None
    #: Two-sided level of the interval (the result's ``settings.ci.level``).
    level: float | None = None

    def key(self) -> tuple[Any, ...]:
        """What a baseline observation must share to be "the same number" in a later run."""
        group = None if self.aggregation == "worst_group" else self.group
        return (self.kind, self.metric, self.aggregation, self.attribute, group, self.reference)

    def where(self) -> str:
        """``race=Caucasian``, ``race=Caucasian,sex=Male``, ``race=Other vs Caucasian``."""
        if self.attribute is None:
            return "(overall)" if self.insufficient is None else "(none)"
        if self.group is None:
            return show_name(self.attribute)
        attrs = self.attribute if isinstance(self.attribute, tuple) else (self.attribute,)
        groups = self.group if isinstance(self.group, tuple) else (self.group,)
        text = ",".join(f"{a}={g}" for a, g in zip(attrs, groups, strict=False))
        if self.reference is not None:
            text += f" vs {show_name(self.reference)}"
        if self.aggregation == "worst_group":
            text += " (worst)"
        return text


@dataclass(frozen=True)
class CheckOutcome:
    """The verdict of one check on one observation.

    ``status`` is what happened (PASS, FAIL, WARN = failed a ``warn``-severity check,
    INSUFFICIENT = could not be judged); ``effect`` is what it does to the release: ``block``,
    ``warn`` or ``none``. With a baseline that has the same number, ``baseline_value`` is its
    value there and ``change`` the candidate's value minus it (``relative_change`` as a
    fraction of it, for checks whose change threshold is relative).
    """

    check_id: str
    status: Status
    effect: Effect
    severity: str
    policy: str
    observation: Observation
    threshold: str
    reason: str
    description: str = ""
    source: str = ""
    baseline_value: float | None = None
    change: float | None = None
    relative_change: float | None = None
    #: How a multiplicity-controlled check judged this observation within its family.
    adjusted: Adjusted | None = None

    @property
    def metric(self) -> str:
        return self.observation.metric

    @property
    def attribute(self) -> Name:
        return self.observation.attribute

    @property
    def group(self) -> Name:
        return self.observation.group

    @property
    def value(self) -> float | None:
        return self.observation.value

    @property
    def ci(self) -> tuple[float | None, float | None]:
        return self.observation.ci_low, self.observation.ci_high

    @property
    def result(self) -> str:
        return self.observation.result

    @property
    def judged(self) -> bool:
        """Whether the check could decide on this number (PASS, FAIL or WARN)."""
        return self.status != "INSUFFICIENT"

    def as_dict(self) -> dict[str, Any]:
        o = asdict(self.observation)
        for k in ("attribute", "group", "reference"):
            if isinstance(o[k], tuple):
                o[k] = list(o[k])
        o["exact"] = None if o["exact"] is None else str(o["exact"])
        return {
            "check": self.check_id,
            "status": self.status,
            "effect": self.effect,
            "severity": self.severity,
            "policy": self.policy,
            "threshold": self.threshold,
            "reason": self.reason,
            "baseline_value": self.baseline_value,
            "change": self.change,
            "relative_change": self.relative_change,
            **o,
        }


@dataclass(frozen=True)
class SkippedCheck:
    """A check that was not applied (listed, not counted): none of its audit kinds was among
    the results (``why == "kind"``), or it has only a change threshold and no baseline was
    given (``why == "baseline"``)."""

    check_id: str
    kinds: tuple[str, ...]
    policy: str
    reason: str
    why: Literal["kind", "baseline"] = "kind"
    severity: str = "block"
    #: For a check skipped for want of a baseline: the numbers it would have compared, which
    #: the blessing keeps so that the next run, given this one as its baseline, has them.
    observations: tuple[Observation, ...] = ()


@dataclass(frozen=True)
class GateDecision:
    """Every outcome of one gate run, and the verdict they add up to.

    ``blocked`` when any outcome blocks. Otherwise ``passed`` when the release was actually
    judged: some outcome of a blocking check passed (or, when no blocking check applies to
    these results, some outcome was judged at all) — and ``no_decision`` when nothing was:
    every outcome that counts is INSUFFICIENT and the rest skipped. A gate never reports
    "passed" on nothing; the policy's ``on_no_decision`` sets that verdict's exit code.
    """

    policy: Policy
    outcomes: tuple[CheckOutcome, ...]
    skipped: tuple[SkippedCheck, ...]
    results: tuple[ResultInput, ...]
    baselines: tuple[Baseline, ...]
    generated_at: str

    @property
    def blocked(self) -> bool:
        return any(o.effect == "block" for o in self.outcomes)

    @property
    def decided(self) -> bool:
        """Whether any check that counts could be judged (see the class docstring)."""
        blocking = [o for o in self.outcomes if o.severity == "block"]
        blocking_applies = bool(blocking) or any(
            s.why == "baseline" and s.severity == "block" for s in self.skipped
        )
        counted = blocking if blocking_applies else self.outcomes
        return any(o.judged for o in counted)

    @property
    def verdict(self) -> Verdict:
        if self.blocked:
            return "blocked"
        return "passed" if self.decided else "no_decision"

    @property
    def exit_code(self) -> int:
        """0 passed, 1 blocked, 3 no decision (or as the policy's ``on_no_decision`` says);
        2 is for input errors, raised rather than returned."""
        verdict = self.verdict
        if verdict == "no_decision":
            return {"no_decision": EXIT_NO_DECISION, "pass": EXIT_PASSED, "block": EXIT_BLOCKED}[
                self.policy.on_no_decision
            ]
        return EXIT_BLOCKED if verdict == "blocked" else EXIT_PASSED

    def counts(self) -> dict[str, int]:
        c = {"total": len(self.outcomes), "skipped": len(self.skipped)}
        for status in ("PASS", "FAIL", "WARN", "INSUFFICIENT"):
            c[status.lower()] = sum(o.status == status for o in self.outcomes)
        for effect in ("block", "warn"):
            c[f"effect_{effect}"] = sum(o.effect == effect for o in self.outcomes)
        c["compared"] = sum(o.baseline_value is not None for o in self.outcomes)
        return c


# --- reading observations -------------------------------------------------------------------


def _filters(check: Check, doc: dict[str, Any]) -> list[Name] | None:
    if check.attributes is None:
        return None
    language = (doc.get("settings") or {}).get("language")
    out = []
    for a in check.attributes:
        if a == LANGUAGE:
            if language:
                out.append(_name(language))
        else:
            out.append(_name(a))
    return out


def _matches(filters: list[Name] | None, attribute: Any) -> bool:
    return filters is None or _name(attribute) in filters


def _group_metric(doc: dict[str, Any], g: dict[str, Any], metric: str) -> Est | None:
    est = _estimate((g.get("metrics") or {}).get(metric))
    if est is None and metric not in ("metrics", "verdicts", "n"):
        est = _estimate(g.get(metric))  # impact_ratio lives beside metrics
    if est is None:  # a user metric from --metric NAME=module:func (point value only)
        key = (_name(g.get("attribute")), _name(g.get("group")))
        for c in doc.get("custom_metrics") or []:
            if (_name(c.get("attribute")), _name(c.get("group"))) == key:
                est = _estimate((c.get("metrics") or {}).get(metric))
                break
    return est


def _group_reason(
    doc: dict[str, Any], g: dict[str, Any], check: Check, undefined: bool
) -> str | None:
    n = g.get("n")
    if (g.get("verdicts") or {}).get("evidence") == "insufficient_evidence":
        s = doc.get("settings") or {}
        if g.get("positives") is not None and s.get("min_positives") is not None:
            return (
                f"insufficient evidence: {g.get('positives')} label positives and "
                f"{g.get('negatives')} negatives, the audit needs {s.get('min_positives')} "
                f"and {s.get('min_negatives')}"
            )
        return "insufficient evidence (the audit's minimum-count rule)"
    if check.min_group_size and isinstance(n, int) and n < check.min_group_size:
        return f"n = {n} is below the check's min_group_size {check.min_group_size}"
    if undefined:
        return "undefined for this group (a rate with an empty denominator)"
    return None


def _size_reason(check: Check, n: Any) -> str | None:
    if check.min_group_size and isinstance(n, int) and n < check.min_group_size:
        return f"n = {n} is below the check's min_group_size {check.min_group_size}"
    return None


def _level(doc: dict[str, Any]) -> float:
    ci = (doc.get("settings") or {}).get("ci") or {}
    level = _num(ci.get("level")) if isinstance(ci, dict) else None
    return level if level is not None and 0 < level < 1 else 0.95


def _base(check: Check, doc: dict[str, Any], label: str, **kw: Any) -> Observation:
    return Observation(
        result=label,
        kind=str(doc.get("kind")),
        metric=check.metric,
        aggregation=check.aggregation,
        level=_level(doc),
        **kw,
    )


def _per_group(
    check: Check, doc: dict[str, Any], label: str, filters: list[Name] | None, suppressed: bool
) -> list[Observation]:
    out = []
    for g in doc.get("groups") or []:
        if not _matches(filters, g.get("attribute")):
            continue
        est = _group_metric(doc, g, check.metric)
        if est is None:
            continue
        v, lo, hi, exact = est
        out.append(
            _base(
                check,
                doc,
                label,
                attribute=_name(g.get("attribute")),
                group=_name(g.get("group")),
                value=v,
                ci_low=lo,
                ci_high=hi,
                exact=exact,
                n=g.get("n"),
                insufficient=_group_reason(doc, g, check, v is None),
            )
        )
    if out and suppressed:
        # A group too small to measure is a group the gate could not check: say so.
        for s in doc.get("suppressed_groups") or []:
            if _matches(filters, s.get("attribute")):
                out.append(
                    _base(
                        check,
                        doc,
                        label,
                        attribute=_name(s.get("attribute")),
                        group=_name(s.get("group")),
                        insufficient=f"not measured: the audit suppressed it ({s.get('reason')})",
                    )
                )
    return out


def _badness(check: Check, v: float) -> float:
    """How far past the thresholds ``v`` lies (larger = worse); picks the worst group."""
    parts = []
    if check.min is not None:
        parts.append(check.min - v)
    if check.max is not None:
        parts.append(v - check.max)
    if parts:
        return max(parts)
    assert check.change is not None
    return -v if check.change.direction == "higher_is_better" else v


def _worst_group(
    check: Check, doc: dict[str, Any], label: str, filters: list[Name] | None
) -> list[Observation]:
    by_attr: dict[Name, list[Observation]] = {}
    for o in _per_group(check, doc, label, filters, suppressed=False):
        by_attr.setdefault(o.attribute, []).append(o)
    out = []
    for attr, obs in by_attr.items():
        ok = [o for o in obs if o.insufficient is None]
        hidden = sum(_name(s.get("attribute")) == attr for s in doc.get("suppressed_groups") or [])
        left = len(obs) - len(ok) + hidden
        if not ok:
            out.append(
                _base(
                    check,
                    doc,
                    label,
                    attribute=attr,
                    group=None,
                    insufficient=f"no {show_name(attr)} group has sufficient evidence",
                )
            )
            continue
        worst = max(ok, key=lambda o: _badness(check, o.value))  # type: ignore[arg-type]
        note = f"worst of {len(ok)} groups"
        if left:
            note += f"; {left} without sufficient evidence not considered"
        out.append(replace(worst, note=note))
    return out


def _disparities(
    check: Check, doc: dict[str, Any], label: str, filters: list[Name] | None
) -> list[Observation]:
    field = "ratio" if check.aggregation == "ratio_to_reference" else "difference"
    sizes = {
        (_name(g.get("attribute")), _name(g.get("group"))): g.get("n")
        for g in doc.get("groups") or []
    }
    out = []
    for d in doc.get("disparities") or []:
        if d.get("metric") != check.metric or not _matches(filters, d.get("attribute")):
            continue
        est = _estimate(d.get(field))
        if est is None:
            continue
        attr, group, ref = _name(d.get("attribute")), _name(d.get("group")), d.get("reference")
        n = sizes.get((attr, group))
        reason = None
        if d.get("verdict") == "insufficient_evidence":
            reason = (
                f"insufficient evidence for {show_name(group)} or the reference "
                f"{show_name(_name(ref))}"
            )
        else:
            reason = _size_reason(check, n) or (None if est[0] is not None else "undefined")
        out.append(
            _base(
                check,
                doc,
                label,
                attribute=attr,
                group=group,
                reference=_name(ref),
                value=est[0],
                ci_low=est[1],
                ci_high=est[2],
                exact=est.exact,
                n=n,
                insufficient=reason,
            )
        )
    return out


def _summary(
    check: Check, doc: dict[str, Any], label: str, filters: list[Name] | None
) -> list[Observation]:
    out = []
    for s in doc.get("summary") or []:
        if s.get("metric") != check.metric or not _matches(filters, s.get("attribute")):
            continue
        v, lo, hi = _num(s.get("value")), _num(s.get("ci_low")), _num(s.get("ci_high"))
        exact = _fraction(s.get("exact")) if v is not None else None
        included = s.get("groups_included") or []
        note = _left_out_note(s)
        reason = None
        if v is None:
            reason = (
                "undefined: fewer than two groups with sufficient evidence"
                if "groups_included" in s and len(included) < 2
                else s.get("note") or "undefined"  # e.g. "unbounded: group 'x' has no errors"
            )
        out.append(
            _base(
                check,
                doc,
                label,
                attribute=_name(s.get("attribute")),
                group=None,
                value=v,
                ci_low=lo,
                ci_high=hi,
                exact=exact,
                insufficient=reason,
                note=note,
            )
        )
    return out


def _left_out_note(s: dict[str, Any]) -> str | None:
    """ "over 3 groups; without sufficient evidence, left out: x" for a cross-group number."""
    parts = []
    for key, why in (
        ("groups_excluded_insufficient", "without sufficient evidence"),
        ("groups_excluded_undefined", "undefined for them"),
    ):
        names = ", ".join(show_name(_name(x)) for x in s.get(key) or [])
        if names:
            parts.append(f"{why}, left out: {names}")
    if not parts:
        return None
    return f"over {len(s.get('groups_included') or [])} groups; " + "; ".join(parts)


def _union(lists: Any) -> list[Name]:
    """Group names of several lists, each once, in first-seen order."""
    return list(dict.fromkeys(_name(x) for xs in lists for x in xs or []))


def _bias_auc(
    check: Check, doc: dict[str, Any], label: str, filters: list[Name] | None
) -> list[Observation]:
    blocks = (doc.get("moderation") or {}).get("bias_aucs")
    out: list[Observation] = []
    for b in blocks if isinstance(blocks, list) else []:
        attr = _name(b.get("attribute"))
        if not _matches(filters, attr):
            continue
        if check.metric in BIAS_AUC_GROUP_METRICS:
            for g in b.get("groups") or []:
                est = _estimate(g.get(check.metric))
                if est is None:
                    continue
                # The audit's minimum-count rule first, as for every other per-group number.
                reason = _group_reason(doc, g, check, undefined=False) or (
                    None if est[0] is not None else "undefined (no positive or no negative posts)"
                )
                out.append(
                    _base(
                        check,
                        doc,
                        label,
                        attribute=attr,
                        group=_name(g.get("group")),
                        value=est[0],
                        ci_low=est[1],
                        ci_high=est[2],
                        exact=est.exact,
                        n=g.get("n"),
                        insufficient=reason,
                    )
                )
            continue
        prefix = "generalized_mean_"
        means = b.get("generalized_means") or {}
        raw = (
            means.get(check.metric.removeprefix(prefix))
            if check.metric.startswith(prefix)
            else b.get(check.metric)
        )
        est = _estimate(raw)
        if est is None:
            continue
        # Which groups the number rests on: a mean lists them; the final score rests on the
        # three means, so on every group any of them includes, less what each leaves out.
        over = raw if isinstance(raw, dict) and "groups_included" in raw else None
        if check.metric == "final_score":
            parts = {
                k: m for k, m in means.items() if isinstance(m, dict) and "groups_included" in m
            }
            if parts:
                over = {
                    "groups_included": _union(m.get("groups_included") for m in parts.values()),
                    "groups_excluded_insufficient": _union(
                        m.get("groups_excluded_insufficient") for m in parts.values()
                    ),
                    "groups_excluded_undefined": [
                        f"{show_name(_name(x))} ({k})"
                        for k, m in parts.items()
                        for x in m.get("groups_excluded_undefined") or []
                    ],
                }
        undefined = "undefined"
        if over is not None and not over.get("groups_included"):
            undefined = "undefined: no group with sufficient evidence"
        out.append(
            _base(
                check,
                doc,
                label,
                attribute=attr,
                group=None,
                value=est[0],
                ci_low=est[1],
                ci_high=est[2],
                exact=est.exact,
                insufficient=None if est[0] is not None else undefined,
                note=None if over is None else _left_out_note(over),
            )
        )
    return out


def _available(check: Check, doc: dict[str, Any]) -> list[str]:
    if check.aggregation in ("per_group", "worst_group"):
        names = {m for g in doc.get("groups") or [] for m in (g.get("metrics") or {})}
        if any("impact_ratio" in g for g in doc.get("groups") or []):
            names.add("impact_ratio")
        names |= {m for c in doc.get("custom_metrics") or [] for m in (c.get("metrics") or {})}
        return sorted(names)
    if check.aggregation in ("ratio_to_reference", "difference_to_reference"):
        return sorted({str(d.get("metric")) for d in doc.get("disparities") or []})
    if check.aggregation == "summary":
        return sorted({str(s.get("metric")) for s in doc.get("summary") or []})
    return []


def _nothing_found(
    check: Check, doc: dict[str, Any], label: str, filters: list[Name] | None
) -> Observation:
    reason = f"{label} has no {check.metric} ({check.aggregation.replace('_', ' ')})"
    if check.attributes is not None:
        if LANGUAGE in check.attributes and not (doc.get("settings") or {}).get("language"):
            reason += "; the audit had no language column (run it with --language)"
        else:
            shown = ", ".join(show_name(f) for f in filters or [] if f is not None)
            reason += f" for {shown or 'the attributes the check names'}"
    skipped = (doc.get("moderation") or {}).get("bias_aucs_skipped")
    if check.aggregation == "bias_auc" and skipped:
        reason += f" ({skipped})"
    available = _available(check, doc)
    if available:
        reason += f"; it has: {', '.join(available)}"
    return _base(check, doc, label, attribute=None, group=None, insufficient=reason)


def observe(check: Check, doc: dict[str, Any], label: str = "result") -> list[Observation]:
    """Every number ``check`` reads from the result document ``doc`` (at least one).

    When the document holds nothing the check can read, the single observation returned is
    marked insufficient and says what is missing, so a typo in a metric name or an audit run
    without the needed column shows up instead of passing silently.
    """
    filters = _filters(check, doc)
    agg = check.aggregation
    if agg == "per_group":
        obs = _per_group(check, doc, label, filters, suppressed=True)
    elif agg == "worst_group":
        obs = _worst_group(check, doc, label, filters)
    elif agg in ("ratio_to_reference", "difference_to_reference"):
        obs = _disparities(check, doc, label, filters)
    elif agg == "summary":
        obs = _summary(check, doc, label, filters)
    else:
        obs = _bias_auc(check, doc, label, filters)
    return obs or [_nothing_found(check, doc, label, filters)]


# --- judging ----------------------------------------------------------------------------------


def fmt(v: float | None, near: Sequence[float | None] = ()) -> str:
    """A number as printed: 3 significant digits, more when that would look like a threshold."""
    if v is None:
        return "n/a"
    if v == int(v) and abs(v) < 1e12:
        return str(int(v))
    text = f"{v:.3g}"
    if any(t is not None and float(text) == t and v != t for t in near):
        text = f"{v:.6g}"
    return text


def _pct(x: float, near: float | None = None) -> str:
    """``5%``, ``15.9%``: 3 significant digits, more when that would read as ``near``."""
    text = f"{x * 100:.3g}%"
    if near is not None and x != near and text == f"{near * 100:.3g}%":
        text = f"{x * 100:.6g}%"
    return text


def threshold_text(check: Check) -> str:
    """``min 0.8``, ``max 0.1``, ``min 0.8 max 1.25``, ``worsening <= 0.02 vs baseline``..."""
    parts = []
    if check.min is not None:
        parts.append(f"min {fmt(check.min)}")
    if check.max is not None:
        parts.append(f"max {fmt(check.max)}")
    text = " ".join(parts)
    if check.change is not None:
        c = check.change
        limit = _pct(c.max_worsening) if c.relative else fmt(c.max_worsening)
        change = f"worsening <= {limit} vs baseline"
        text = f"{text}; {change}" if text else change
    adjusted = "" if check.multiplicity == "none" else f", {check.multiplicity}"
    if check.decide_on == "interval":
        text += f" (interval{adjusted})"
    elif check.decide_on == "interval_strict":
        text += f" (whole interval{adjusted})"
    return text


def _interval(lo: float | None, hi: float | None, near: Sequence[float | None]) -> str:
    return f"[{fmt(lo, near)}, {fmt(hi, near)}]"


def _point_verdict(check: Check, o: Observation) -> tuple[bool, str]:
    """Point decision; on the exact ratio of counts when the audit wrote one, so a value of
    exactly the threshold (4/5 against ``min: 0.8``) is within it, as the bounds are inclusive.
    The exact value is named when it decides differently from the float, or the float prints
    as the threshold."""
    lo_t, hi_t = check.min, check.max
    near = (lo_t, hi_t)
    v = o.value
    assert v is not None

    def past(x: float | Fraction, t: float | None, below: bool) -> bool:
        if t is None:
            return False
        bound: float | Fraction = as_decimal(t) if isinstance(x, Fraction) else t
        return x < bound if below else x > bound

    x: float | Fraction = v if o.exact is None else o.exact
    shown = fmt(v, near)
    telling = o.exact is not None and (
        shown in {fmt(t) for t in near if t is not None}
        or past(v, lo_t, True) != past(x, lo_t, True)
        or past(v, hi_t, False) != past(x, hi_t, False)
    )
    if telling:
        shown += f" (exactly {o.exact})"
    if past(x, lo_t, True):
        return False, f"{shown} is below the minimum {fmt(lo_t)}"
    if past(x, hi_t, False):
        return False, f"{shown} is above the maximum {fmt(hi_t)}"
    return True, f"{shown} is within {threshold_text(check)}"


def _adjusted_verdict(check: Check, o: Observation, a: Adjusted) -> tuple[bool, str]:
    """The decision of a multiplicity-controlled family (:mod:`audit.gate._multiplicity`)."""
    lo_t, hi_t = check.min, check.max
    near = (lo_t, hi_t)
    iv = _interval(a.ci_low, a.ci_high, near)
    detail = (
        f"({a.method}: p {a.p:.2g} at {a.alpha:.2g}, {a.rank} of {a.m}; "
        f"unadjusted {_interval(o.ci_low, o.ci_high, near)})"
    )
    adjusted = f"{a.method}-adjusted interval {iv}"
    if check.decide_on == "interval":  # rejected: a clear violation for the family
        if a.reject:
            side = (
                f"below the minimum {fmt(lo_t)}"
                if lo_t is not None and a.ci_high < lo_t
                else f"above the maximum {fmt(hi_t)}"
            )
            return False, f"the whole {adjusted} is {side} {detail}"
        if a.stopped:
            return True, (
                f"not a clear violation for the family: {a.method}'s step-down stopped at a "
                f"smaller p-value {detail}"
            )
        return True, f"the {adjusted} reaches the allowed range {detail}"
    if a.reject:  # interval_strict, rejected: compliance shown for the family
        return True, f"the whole {adjusted} lies within the allowed range {detail}"
    if a.stopped:
        return False, (
            f"compliance not shown for the family: {a.method}'s step-down stopped at a smaller "
            f"p-value {detail}"
        )
    if lo_t is not None and a.ci_low < lo_t:
        return False, f"the {adjusted} reaches below the minimum {fmt(lo_t)} {detail}"
    return False, f"the {adjusted} reaches above the maximum {fmt(hi_t)} {detail}"


def _threshold_verdict(
    check: Check, o: Observation, adjusted: Adjusted | None = None
) -> tuple[bool, str]:
    if check.decide_on == "point":
        return _point_verdict(check, o)
    if adjusted is not None:
        return _adjusted_verdict(check, o, adjusted)
    lo_t, hi_t = check.min, check.max
    near = (lo_t, hi_t)
    lo, hi = o.ci_low, o.ci_high
    assert lo is not None and hi is not None
    iv = _interval(lo, hi, near)
    if check.decide_on == "interval":  # fail only on a clear violation
        if lo_t is not None and hi < lo_t:
            return False, f"the whole interval {iv} is below the minimum {fmt(lo_t)}"
        if hi_t is not None and lo > hi_t:
            return False, f"the whole interval {iv} is above the maximum {fmt(hi_t)}"
        return True, f"the interval {iv} reaches the allowed range"
    # interval_strict: pass only on clear compliance
    if lo_t is not None and lo < lo_t:
        return False, f"the interval {iv} reaches below the minimum {fmt(lo_t)}"
    if hi_t is not None and hi > hi_t:
        return False, f"the interval {iv} reaches above the maximum {fmt(hi_t)}"
    return True, f"the whole interval {iv} lies within the allowed range"


def _change_verdict(check: Check, o: Observation, base: Observation) -> tuple[bool, str]:
    c = check.change
    assert c is not None and base.value is not None and o.value is not None
    higher = c.direction == "higher_is_better"
    current: float | Fraction = o.value
    b: float | Fraction = base.value
    shown_current = o.value
    exact = check.decide_on == "point" and o.exact is not None and base.exact is not None
    if check.decide_on != "point" and o.ci_low is not None and o.ci_high is not None:
        # interval: judge the favourable end (regressions beyond noise only);
        # interval_strict: the unfavourable end (must be no worse even at its worst)
        favourable = check.decide_on == "interval"
        current = shown_current = o.ci_high if higher == favourable else o.ci_low
    elif exact:
        assert o.exact is not None and base.exact is not None
        current, b = o.exact, base.exact
    delta: float | Fraction = (b - current) if higher else (current - b)  # > 0: worse
    limit_value: float | Fraction = as_decimal(c.max_worsening) if exact else c.max_worsening
    if c.relative:
        size = b if b > 0 else -b
        worsening: float | Fraction = (0.0 if delta <= 0 else math.inf) if b == 0 else delta / size
        shown = (
            _pct(float(worsening), c.max_worsening)
            if math.isfinite(worsening)
            else "an unbounded share (from 0)"
        )
        limit = _pct(c.max_worsening)
    else:
        worsening = delta
        shown, limit = fmt(float(worsening), (c.max_worsening,)), fmt(c.max_worsening)
    if worsening <= 0:
        word = "improved on" if delta < 0 else "equals"
        return True, f"{fmt(shown_current)} {word} the baseline {fmt(base.value)}"
    # floats: a worsening equal to the limit must not fail on rounding
    ok = worsening <= (limit_value if exact else c.max_worsening * (1 + 1e-9) + 1e-12)
    verb = "within" if ok else "more than"
    return ok, (
        f"{fmt(shown_current)} is worse than the baseline {fmt(base.value)} by {shown}, "
        f"{verb} the {limit} allowed"
    )


_COUNTS_AS = {"fail": "a failure", "warn": "a warning", "pass": "nothing"}


class _BaselineIndex:
    """The baseline's observations, found by :meth:`Observation.key`: every number any check
    of the policy reads, so each line can show its baseline value."""

    def __init__(self, policy: Policy, baselines: Sequence[Baseline]) -> None:
        self.given = bool(baselines)
        self._by_key: dict[tuple[Any, ...], dict[str, Observation]] = {}
        for b in baselines:
            if b.type == "blessing":
                for rec in [*b.doc["observations"], *(b.doc.get("recorded") or [])]:
                    o = _from_record(rec)
                    if o is not None:
                        self._add(o)
                continue
            for check in policy.checks:
                if b.doc.get("kind") in check.kinds:
                    for o in observe(check, b.doc, b.label):
                        if o.insufficient is None and o.value is not None:
                            self._add(o)

    def _add(self, o: Observation) -> None:
        self._by_key.setdefault(o.key(), {}).setdefault(o.result, o)

    def lookup(self, o: Observation) -> Observation | None:
        found = self._by_key.get(o.key(), {})
        if len(found) == 1:
            return next(iter(found.values()))
        return found.get(o.result)  # several results of this kind: match by name


def _from_record(rec: Any) -> Observation | None:
    if not isinstance(rec, dict) or rec.get("insufficient") or _num(rec.get("value")) is None:
        return None
    try:
        return Observation(
            result=str(rec.get("result")),
            kind=str(rec["kind"]),
            metric=str(rec["metric"]),
            aggregation=str(rec["aggregation"]),
            attribute=_name(rec.get("attribute")),
            group=_name(rec.get("group")),
            reference=_name(rec.get("reference")),
            value=_num(rec.get("value")),
            ci_low=_num(rec.get("ci_low")),
            ci_high=_num(rec.get("ci_high")),
            exact=_fraction(rec.get("exact")),
        )
    except KeyError:
        return None


def _changes(
    check: Check, o: Observation, base: Observation | None
) -> tuple[float | None, float | None]:
    """Candidate minus baseline, and that as a fraction of the baseline for relative checks."""
    if base is None or base.value is None or o.value is None:
        return None, None
    if o.exact is not None and base.exact is not None:
        change = float(o.exact - base.exact)
    else:
        change = o.value - base.value
    relative = None
    if check.change is not None and check.change.relative and base.value != 0:
        relative = change / abs(base.value)
    return change, relative


def _judge(
    policy: Policy,
    check: Check,
    o: Observation,
    index: _BaselineIndex,
    adjusted: Adjusted | None = None,
) -> CheckOutcome:
    base = index.lookup(o) if index.given and o.value is not None else None
    change, relative = _changes(check, o, base)

    def outcome(status: Status, effect: Effect, reason: str) -> CheckOutcome:
        if o.note and status != "INSUFFICIENT":
            reason = f"{reason} ({o.note})"
        return CheckOutcome(
            check_id=check.id,
            status=status,
            effect=effect,
            severity=check.severity,
            policy=policy.ref,
            observation=o,
            threshold=threshold_text(check),
            reason=reason,
            description=check.description,
            source=check.source,
            baseline_value=None if base is None else base.value,
            change=change,
            relative_change=relative,
            adjusted=adjusted,
        )

    def insufficient(why: str) -> CheckOutcome:
        rule = check.insufficient or policy.insufficient
        effect: Effect = {
            "fail": "block" if check.severity == "block" else "warn",
            "warn": "warn",
            "pass": "none",
        }[rule]  # type: ignore[assignment]
        return outcome("INSUFFICIENT", effect, f"{why}; counts as {_COUNTS_AS[rule]}")

    if o.insufficient or o.value is None:
        return insufficient(o.insufficient or "undefined")
    if check.decide_on != "point" and (o.ci_low is None or o.ci_high is None):
        return insufficient(
            f"no confidence interval, and decide_on: {check.decide_on} needs one "
            "(was the audit run with --resamples 0?)"
        )
    failed: list[str] = []
    passed: list[str] = []
    if check.min is not None or check.max is not None:
        ok, text = _threshold_verdict(check, o, adjusted)
        (passed if ok else failed).append(text)
    if check.change is not None:
        if base is None:
            why = (
                "no baseline given"
                if not index.given
                else "the baseline has no usable value for this number"
            )
            if check.min is None and check.max is None:
                return insufficient(f"{why} to compare with")
            passed.append(f"not compared: {why}")
        else:
            ok, text = _change_verdict(check, o, base)
            (passed if ok else failed).append(text)
    if failed:
        if check.severity == "block":
            return outcome("FAIL", "block", "; ".join(failed))
        return outcome("WARN", "warn", "; ".join(failed))
    return outcome("PASS", "none", "; ".join(passed))


def _family(check: Check, observations: Sequence[Observation]) -> list[Adjusted | None]:
    """Each observation's multiplicity-controlled decision (None: not part of the family)."""
    if check.multiplicity == "none":
        return [None] * len(observations)
    members = [
        i
        for i, o in enumerate(observations)
        if not o.insufficient
        and o.value is not None
        and o.ci_low is not None
        and o.ci_high is not None
    ]
    decided = adjust(
        check,
        [
            (
                float(observations[i].value),  # type: ignore[arg-type]
                float(observations[i].ci_low),  # type: ignore[arg-type]
                float(observations[i].ci_high),  # type: ignore[arg-type]
                observations[i].level or 0.95,
            )
            for i in members
        ],
    )
    out: list[Adjusted | None] = [None] * len(observations)
    for i, a in zip(members, decided, strict=True):
        out[i] = a
    return out


def evaluate(
    policy: Policy,
    results: Sequence[dict[str, Any] | ResultInput],
    baselines: Sequence[dict[str, Any] | Baseline] | None = None,
) -> GateDecision:
    """Apply ``policy`` to result documents, comparing with ``baselines`` where checks ask.

    Parameters
    ----------
    policy
        A loaded policy (:func:`audit.policy.load_policy`).
    results
        Result documents, as dicts or as :class:`ResultInput` (which carry a file name and
        hash into the blessing).
    baselines
        Result documents or blessings of the release to compare with. Checks with a
        ``change`` threshold judge the change; every outcome whose number the baseline has
        records the baseline value and the change.

    Returns
    -------
    GateDecision
        One outcome per (check, observation); checks whose kinds match no result, and checks
        with only a change threshold when no baseline is given, are listed as skipped and do
        not count.

    Raises
    ------
    ConfigError
        No check of the policy applies to any of the results: nothing would be gated.
    """
    inputs = tuple(as_result(r, i) for i, r in enumerate(results))
    if not inputs:
        raise ConfigError("no result documents to gate")
    base = tuple(as_baseline(b, f"baseline-{i + 1}") for i, b in enumerate(baselines or ()))
    index = _BaselineIndex(policy, base)
    outcomes: list[CheckOutcome] = []
    skipped: list[SkippedCheck] = []
    for check in policy.checks:
        matching = [r for r in inputs if r.kind in check.kinds]
        if not matching:
            reason = f"no {' or '.join(check.kinds)} result"
            skipped.append(
                SkippedCheck(
                    check.id, tuple(check.kinds), policy.ref, reason, "kind", check.severity
                )
            )
            continue
        if check.min is None and check.max is None and not base:
            reason = "no baseline given to compare with (pass --baseline)"
            seen = tuple(
                o
                for r in matching
                for o in observe(check, r.doc, r.label)
                if o.insufficient is None and o.value is not None
            )
            skipped.append(
                SkippedCheck(
                    check.id,
                    tuple(check.kinds),
                    policy.ref,
                    reason,
                    "baseline",
                    check.severity,
                    seen,
                )
            )
            continue
        observations = [o for r in matching for o in observe(check, r.doc, r.label)]
        for o, adjusted in zip(observations, _family(check, observations), strict=True):
            outcomes.append(_judge(policy, check, o, index, adjusted))
    if not outcomes and all(s.why == "kind" for s in skipped):
        kinds = ", ".join(sorted({r.kind for r in inputs}))
        raise ConfigError(
            f"policy {policy.ref} has no check for {kinds} results, so nothing would be gated; "
            "use a policy whose checks name these kinds"
        )
    return GateDecision(
        policy=policy,
        outcomes=tuple(outcomes),
        skipped=tuple(skipped),
        results=inputs,
        baselines=base,
        generated_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )

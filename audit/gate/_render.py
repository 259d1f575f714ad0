"""Presenting a :class:`GateDecision`: text lines, JUnit XML, Markdown, blessing JSON.

Pure functions from a decision to a string; they compute nothing the decision does not hold.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import asdict
from typing import Any

from audit.gate._evaluate import CheckOutcome, GateDecision, Observation, fmt
from audit.gate._inputs import BLESSING_VERSION

__all__ = [
    "comparison",
    "render_blessing",
    "render_junit",
    "render_lines",
    "render_markdown",
    "render_verdict",
]

_ORDER = {"FAIL": 0, "INSUFFICIENT": 1, "WARN": 2, "PASS": 3}


def _value(o: CheckOutcome) -> str:
    obs = o.observation
    if obs.value is None:
        return "n/a"
    near = [float(w) for w in o.threshold.replace(";", " ").split() if _is_number(w)]
    text = fmt(obs.value, near)
    if obs.ci_low is not None and obs.ci_high is not None:
        text += f" [{fmt(obs.ci_low, near)}, {fmt(obs.ci_high, near)}]"
    return text


def _signed(x: float) -> str:
    return ("+" if x > 0 else "") + fmt(x)


def _pct_change(x: float) -> str:
    return ("+" if x > 0 else "") + f"{x * 100:.3g}%"


def comparison(o: CheckOutcome) -> str:
    """``baseline 0.944, change -0.076`` (``, -8.1%`` for a relative change threshold); empty
    when the baseline has no such number."""
    if o.baseline_value is None or o.change is None:
        return ""
    text = f"baseline {fmt(o.baseline_value)}, change {_signed(o.change)}"
    if o.relative_change is not None:
        text += f", {_pct_change(o.relative_change)}"
    return text


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _multi(decision: GateDecision) -> bool:
    return len(decision.results) > 1


def render_line(o: CheckOutcome, with_result: bool = False) -> str:
    """``FAIL          four-fifths  impact_ratio race=Other 0.61 [0.55, 0.67] min 0.8  default@1``
    followed, unless it passed, by `` — why``. With a baseline, the candidate's value is
    followed by ``(baseline 0.944, change -0.076)``."""
    head = f"{o.status:<12}  {o.check_id}  {o.metric} {o.observation.where()} {_value(o)}"
    compared = comparison(o)
    if compared:
        head += f" ({compared})"
    text = f"{head} {o.threshold}  {o.policy}"
    if with_result:
        text += f"  in {o.result}"
    if o.status != "PASS":
        text += f" — {o.reason}"
    return text


def render_lines(decision: GateDecision) -> list[str]:
    """One line per outcome in policy order, then one per skipped check."""
    multi = _multi(decision)
    lines = [render_line(o, multi) for o in decision.outcomes]
    for s in decision.skipped:
        lines.append(f"{'SKIPPED':<12}  {s.check_id}  {s.reason}  {s.policy}")
    return lines


def _blocking_checks(decision: GateDecision) -> list[str]:
    return list(dict.fromkeys(o.check_id for o in decision.outcomes if o.effect == "block"))


_NO_DECISION_EXIT = {
    3: "exit 3",
    0: "exit 0: the policy accepts it (on_no_decision: pass)",
    1: "exit 1: the policy blocks on it (on_no_decision: block)",
}


def render_verdict(decision: GateDecision) -> str:
    """The one-line verdict, e.g. ``BLOCKED by default@1.1.0: 6 failed (four-fifths, ...)``;
    ``PASSED ...: nothing blocks``; ``NO DECISION under ...: no blocking check could be
    judged``."""
    c = decision.counts()
    ref = decision.policy.ref
    parts = [f"{c['fail']} failed", f"{c['warn']} warned"]
    insufficient = [o for o in decision.outcomes if o.status == "INSUFFICIENT"]
    if insufficient:
        effects: Counter[str] = Counter(o.effect for o in insufficient)
        how = ", ".join(
            f"{n} {word}"
            for effect, word in (("block", "block"), ("warn", "warn"), ("none", "ignored"))
            if (n := effects[effect])
        )
        parts.append(f"{len(insufficient)} insufficient ({how})")
    parts.append(f"{c['pass']} passed")
    if decision.skipped:
        why = {
            text: n
            for key, text in (("kind", "no matching result"), ("baseline", "no baseline"))
            if (n := sum(s.why == key for s in decision.skipped))
        }
        noun = "check" if c["skipped"] == 1 else "checks"
        if len(why) == 1:
            parts.append(f"{c['skipped']} {noun} skipped ({next(iter(why))})")
        else:
            detail = ", ".join(f"{n} {text}" for text, n in why.items())
            parts.append(f"{c['skipped']} {noun} skipped ({detail})")
    if c["compared"]:
        parts.append(f"{c['compared']} compared with the baseline")
    tail = ", ".join(parts)
    if decision.verdict == "blocked":
        return f"BLOCKED by {ref}: {', '.join(_blocking_checks(decision))} — {tail}"
    if decision.verdict == "no_decision":
        how = _NO_DECISION_EXIT.get(decision.exit_code, f"exit {decision.exit_code}")
        return f"NO DECISION under {ref}: no blocking check could be judged — {tail}; {how}"
    return f"PASSED {ref}: nothing blocks — {tail}"


def render_junit(decision: GateDecision) -> str:
    """JUnit XML: one testsuite for the policy, one testcase per outcome.

    FAIL, and INSUFFICIENT that blocks, become ``<failure>``; INSUFFICIENT that does not block
    and skipped checks become ``<skipped>`` (they could not be judged); WARN is a passing
    testcase whose ``<system-out>`` says why it warned — JUnit has no warning state, and a
    warning must not turn a CI test report red. A NO DECISION verdict adds one testcase,
    ``verdict``, with an ``<error>`` (or ``<skipped>`` when the policy accepts it), so a report
    of nothing but skipped cases does not look green.
    """
    multi = _multi(decision)
    failures = sum(o.effect == "block" for o in decision.outcomes)
    skipped = sum(
        o.status == "INSUFFICIENT" and o.effect != "block" for o in decision.outcomes
    ) + len(decision.skipped)
    tests = len(decision.outcomes) + len(decision.skipped)
    no_decision = decision.verdict == "no_decision"
    errors = 0
    if no_decision:
        tests += 1
        if decision.exit_code == 0:
            skipped += 1
        else:
            errors = 1
    counts = {
        "tests": str(tests),
        "failures": str(failures),
        "errors": str(errors),
        "skipped": str(skipped),
        "time": "0",
    }
    root = ET.Element("testsuites", {"name": "socialaudit gate", **counts})
    suite = ET.SubElement(
        root,
        "testsuite",
        # the Ant JUnit schema's timestamp has no zone designator; the time is UTC
        {"name": decision.policy.ref, "timestamp": decision.generated_at.rstrip("Z"), **counts},
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("policy", decision.policy.ref),
        ("policy_sha256", decision.policy.sha256 or ""),
        ("verdict", decision.verdict),
        ("exit_code", str(decision.exit_code)),
        *((f"result:{r.label}", r.sha256 or "") for r in decision.results),
        *((f"baseline:{b.label}", b.sha256 or "") for b in decision.baselines),
    ):
        ET.SubElement(props, "property", {"name": name, "value": value})
    for o in decision.outcomes:
        name = f"{o.metric} {o.observation.where()}"
        if multi:
            name += f" in {o.result}"
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": f"{decision.policy.id}.{o.check_id}", "name": name, "time": "0"},
        )
        detail = (
            f"{render_line(o, multi)}\n{o.description}\nsource: {o.source}".rstrip()
            if o.description
            else f"{render_line(o, multi)}\nsource: {o.source}"
        )
        if o.effect == "block":
            el = ET.SubElement(case, "failure", {"message": o.reason, "type": o.status})
            el.text = detail
        elif o.status == "INSUFFICIENT":
            ET.SubElement(case, "skipped", {"message": o.reason})
            ET.SubElement(case, "system-out").text = detail
        else:
            ET.SubElement(case, "system-out").text = (
                f"WARN: {o.reason}\n{detail}" if o.status == "WARN" else detail
            )
    for s in decision.skipped:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": f"{decision.policy.id}.{s.check_id}", "name": s.check_id, "time": "0"},
        )
        ET.SubElement(case, "skipped", {"message": s.reason})
    if no_decision:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": f"{decision.policy.id}.verdict", "name": "no decision", "time": "0"},
        )
        verdict = render_verdict(decision)
        tag = "skipped" if decision.exit_code == 0 else "error"
        attrs = {"message": "no blocking check could be judged"}
        if tag == "error":
            attrs["type"] = "NO_DECISION"
        ET.SubElement(case, tag, attrs).text = verdict
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


_ICON = {"FAIL": "❌ FAIL", "WARN": "⚠️ WARN", "INSUFFICIENT": "❔ INSUFFICIENT", "PASS": "✅ PASS"}


def _table(rows: list[CheckOutcome], multi: bool) -> list[str]:
    head = ["Status", "Check", "Metric", "Where", "Value [CI]", "Threshold", "Why"]
    if multi:
        head.insert(4, "Result")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for o in rows:
        status = _ICON[o.status] + (
            " (blocks)" if o.status == "INSUFFICIENT" and o.effect == "block" else ""
        )
        cells = [status, f"`{o.check_id}`", o.metric, o.observation.where(), _value(o)]
        if multi:
            cells.insert(4, o.result)
        cells += [o.threshold, "" if o.status == "PASS" else o.reason]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


def _comparison_table(rows: list[CheckOutcome], multi: bool) -> list[str]:
    head = ["Status", "Check", "Metric", "Where", "Baseline", "Candidate", "Change"]
    if multi:
        head.insert(4, "Result")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for o in rows:
        assert o.baseline_value is not None and o.change is not None
        change = _signed(o.change)
        if o.relative_change is not None:
            change += f" ({_pct_change(o.relative_change)})"
        cells = [
            _ICON[o.status],
            f"`{o.check_id}`",
            o.metric,
            o.observation.where(),
            fmt(o.baseline_value),
            _value(o),
            change,
        ]
        if multi:
            cells.insert(4, o.result)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


_TITLE = {
    "blocked": "❌ Release gate: blocked",
    "passed": "✅ Release gate: passed",
    "no_decision": "❔ Release gate: no decision",
}


def render_markdown(decision: GateDecision) -> str:
    """A job summary / PR comment: verdict, the outcomes that need attention, a
    baseline-vs-candidate table when a baseline was given, the rest folded."""
    multi = _multi(decision)
    title = _TITLE[decision.verdict]
    out = [f"## {title} (`{decision.policy.ref}`)", "", render_verdict(decision), ""]
    rows = sorted(decision.outcomes, key=lambda o: _ORDER[o.status])
    attention = [o for o in rows if o.status != "PASS"]
    passed = [o for o in rows if o.status == "PASS"]
    if attention:
        out += [*_table(attention, multi), ""]
    compared = [o for o in rows if o.baseline_value is not None and o.change is not None]
    if compared:
        out += [
            f"### Baseline vs candidate ({len(compared)} numbers)",
            "",
            *_comparison_table(compared, multi),
            "",
        ]
    if passed:
        out += [f"<details><summary>{len(passed)} passed</summary>", ""]
        out += [*_table(passed, multi), "", "</details>", ""]
    if decision.skipped:
        out.append(
            "Skipped (no matching result): "
            + ", ".join(f"`{s.check_id}` ({s.reason})" for s in decision.skipped)
        )
        out.append("")
    sha = decision.policy.sha256
    out.append(
        f"Policy `{decision.policy.ref}`"
        + (f" (sha256 `{sha[:12]}`)" if sha else "")
        + " on "
        + ", ".join(
            f"`{r.path or r.label}`" + (f" (sha256 `{r.sha256[:12]}`)" if r.sha256 else "")
            for r in decision.results
        )
        + "."
    )
    if decision.baselines:
        out.append(
            "Compared with baseline "
            + ", ".join(f"`{b.path or b.label}` ({b.type})" for b in decision.baselines)
            + "."
        )
    return "\n".join(out) + "\n"


def render_blessing(decision: GateDecision) -> str:
    """The blessing: the decision, what it was made on (hashes) and every value checked.

    A later run can pass it as ``--baseline``; only a blessing that let the release through
    (``passed``, or ``no_decision`` with exit code 0) is accepted there.
    """
    from audit import __version__

    p = decision.policy
    doc = {
        "blessing_version": BLESSING_VERSION,
        "decision": decision.verdict,
        "exit_code": decision.exit_code,
        "generated_at": decision.generated_at,
        "socialaudit_version": __version__,
        "policy": {"id": p.id, "version": p.version, "path": p.path, "sha256": p.sha256},
        "results": [
            {"label": r.label, "kind": r.kind, "path": r.path, "sha256": r.sha256}
            for r in decision.results
        ],
        "baselines": [
            {"label": b.label, "type": b.type, "path": b.path, "sha256": b.sha256}
            for b in decision.baselines
        ],
        "counts": decision.counts(),
        "observations": [_record(o) for o in decision.outcomes],
        # numbers of checks not judged for want of a baseline: the next run's baseline values
        "recorded": [_recorded(s.check_id, o) for s in decision.skipped for o in s.observations],
        "skipped": [
            {"check": s.check_id, "kinds": list(s.kinds), "reason": s.reason}
            for s in decision.skipped
        ],
    }
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


_RECORDED = (
    "check", "result", "kind", "metric", "aggregation", "attribute", "group", "reference",
    "value", "ci_low", "ci_high", "exact", "n",
)  # fmt: skip


def _recorded(check_id: str, o: Observation) -> dict[str, Any]:
    rec = asdict(o)
    for k in ("attribute", "group", "reference"):
        if isinstance(rec[k], tuple):
            rec[k] = list(rec[k])
    rec["exact"] = None if o.exact is None else str(o.exact)
    rec["check"] = check_id
    return {k: rec[k] for k in _RECORDED}


def _record(o: CheckOutcome) -> dict[str, Any]:
    rec = o.as_dict()
    rec["insufficient"] = rec["insufficient"] is not None
    rec.pop("description", None)
    return {
        k: rec[k]
        for k in (
            "check",
            "status",
            "effect",
            "severity",
            "threshold",
            "reason",
            "result",
            "kind",
            "metric",
            "aggregation",
            "attribute",
            "group",
            "reference",
            "value",
            "ci_low",
            "ci_high",
            "exact",
            "n",
            "insufficient",
            "baseline_value",
            "change",
            "relative_change",
        )
    }

"""The release gate: apply a policy (:mod:`audit.policy`) to result documents.

``evaluate`` turns a policy and result documents (and optionally a baseline) into a
:class:`GateDecision`: one :class:`CheckOutcome` per check and number checked, and a verdict —
``blocked`` when any blocking check fails, ``passed`` when nothing blocks and some blocking
check was judged, ``no_decision`` when none could be (exit codes 1, 0, 3; 2 is bad input).
The ``render_*`` functions present a decision for a terminal, a CI test report (JUnit), a job
summary (Markdown) or a later run (the blessing, usable as a baseline).
``load_audit_config`` and ``run_planned_audits`` back ``socialaudit audit --config``.

Examples
--------
>>> from audit.gate import evaluate, load_result_input, render_verdict
>>> from audit.policy import load_policy
>>> decision = evaluate(
...     load_policy("policies/default.yaml"), [load_result_input("out/compas.json")]
... )  # doctest: +SKIP
>>> decision.verdict, decision.exit_code  # doctest: +SKIP
('blocked', 1)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from audit.gate._evaluate import (
    EXIT_BLOCKED,
    EXIT_INPUT_ERROR,
    EXIT_NO_DECISION,
    EXIT_PASSED,
    CheckOutcome,
    GateDecision,
    Observation,
    SkippedCheck,
    evaluate,
    observe,
)
from audit.gate._inputs import (
    BLESSING_VERSION,
    Baseline,
    ResultInput,
    load_baseline,
    load_result_input,
)
from audit.gate._render import (
    render_blessing,
    render_junit,
    render_line,
    render_lines,
    render_markdown,
    render_verdict,
)

if TYPE_CHECKING:
    from audit.gate._config import AuditConfig, AuditPlan, load_audit_config, run_planned_audits

__all__ = [
    "BLESSING_VERSION",
    "EXIT_BLOCKED",
    "EXIT_INPUT_ERROR",
    "EXIT_NO_DECISION",
    "EXIT_PASSED",
    "AuditConfig",
    "AuditPlan",
    "Baseline",
    "CheckOutcome",
    "GateDecision",
    "Observation",
    "ResultInput",
    "SkippedCheck",
    "evaluate",
    "load_audit_config",
    "load_baseline",
    "load_result_input",
    "observe",
    "render_blessing",
    "render_junit",
    "render_line",
    "render_lines",
    "render_markdown",
    "render_verdict",
    "run_planned_audits",
]

_LAZY = {"AuditConfig", "AuditPlan", "load_audit_config", "run_planned_audits"}


def __getattr__(name: str) -> Any:
    # The audit.yaml runner builds its model from the kinds' specs; the gate alone does not
    # need it.
    if name in _LAZY:
        from audit.gate import _config

        return getattr(_config, name)
    raise AttributeError(f"module 'audit.gate' has no attribute {name!r}")

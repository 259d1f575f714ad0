"""``socialaudit gate`` and ``socialaudit audit --config``: the release gate on the command line.

Thin: parse, call :mod:`audit.gate`, print one line per check and a verdict, write the CI
artefacts. Exit codes: 0 nothing blocks; 1 a blocking check failed (or, when the policy says
so, could not be judged); 2 bad input — raised as :class:`~audit.exceptions.AuditError` and
printed by :func:`audit.cli.main`; 3 no decision: nothing blocks, but no blocking check could
be judged either (the policy's ``on_no_decision`` may turn that into 0 or 1).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from audit.gate import Baseline, ResultInput
    from audit.policy import Policy

__all__ = ["register"]

_STYLE = {
    "PASS": "green",
    "FAIL": "bold red",
    "WARN": "yellow",
    "INSUFFICIENT": "magenta",
    "SKIPPED": "dim",
}


def _artefact_flags(p: argparse.ArgumentParser, where: str) -> None:
    out = p.add_argument_group("CI artefacts (written whatever the verdict)")
    out.add_argument("--junit", metavar="FILE", help=f"JUnit XML, one test case per check{where}")
    out.add_argument("--markdown", metavar="FILE", help=f"Markdown for a job summary{where}")
    out.add_argument(
        "--blessing",
        metavar="FILE",
        help=f"decision + input hashes + values, usable later as --baseline{where}",
    )
    p.add_argument(
        "--baseline",
        action="append",
        default=None,
        metavar="FILE",
        help="result document or passed blessing of the last release, for change thresholds "
        f"(repeat for several){where}",
    )
    p.add_argument(
        "--quiet", action="store_true", help="print only non-passing lines and the verdict"
    )


def register(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
) -> dict[str, Callable[[argparse.Namespace, Console], int]]:
    """Add the ``gate`` and ``audit`` subcommands; return their handlers by name."""
    g = sub.add_parser(
        "gate",
        help="check result documents against a release policy (exit 1 if it blocks)",
        description="Check result documents against a release policy: one line per check "
        "(PASS / FAIL / WARN / INSUFFICIENT, with the baseline value and the change when "
        "--baseline has the number), then the verdict. Exit 0 when nothing blocks, 1 when a "
        "blocking check fails, 2 on bad input, 3 when no blocking check could be judged "
        "(NO DECISION; a policy with on_no_decision: pass makes that 0).",
    )
    g.add_argument("--policy", required=True, metavar="FILE", help="policy YAML (policies/*.yaml)")
    g.add_argument("results", nargs="+", metavar="RESULT.json", help="result documents to gate")
    _artefact_flags(g, "")
    a = sub.add_parser(
        "audit",
        help="run the audits listed in a config file, then gate them (the one CI command)",
        description="Run every audit in an audit.yaml (each result is written as soon as it "
        "finishes), then gate them all under the config's policy. Paths in the file are "
        "relative to it. Exit codes as for `socialaudit gate`.",
    )
    a.add_argument("--config", required=True, metavar="FILE", help="audit.yaml (see docs/gate.md)")
    _artefact_flags(a, " (overrides the config)")
    return {"gate": _gate, "audit": _audit}


def _load_policy_and_baselines(
    policy_path: str | Path, baseline_paths: list[str] | list[Path]
) -> tuple[Policy, list[Baseline]]:
    from audit.gate import load_baseline
    from audit.policy import load_policy

    return load_policy(policy_path), [load_baseline(b) for b in baseline_paths]


def _labelled(paths: list[str]) -> list[ResultInput]:
    from audit.gate import load_result_input

    stems = [Path(p).stem for p in paths]
    # Two results with the same file name (main/compas.json, pr/compas.json) keep their paths.
    return [
        load_result_input(p, stem if stems.count(stem) == 1 else p)
        for p, stem in zip(paths, stems, strict=True)
    ]


def _gate(args: argparse.Namespace, console: Console) -> int:
    policy, baselines = _load_policy_and_baselines(args.policy, args.baseline or [])
    results = _labelled(args.results)
    return _decide(policy, results, baselines, args, console)


def _audit(args: argparse.Namespace, console: Console) -> int:
    from audit.gate import load_audit_config, run_planned_audits

    plan = load_audit_config(args.config)
    # Load the policy and baselines before spending minutes on audits: a bad policy fails now.
    policy, baselines = _load_policy_and_baselines(
        plan.policy, args.baseline if args.baseline is not None else list(plan.baselines)
    )
    for name in ("junit", "markdown", "blessing"):
        if getattr(args, name) is None and getattr(plan, name) is not None:
            setattr(args, name, str(getattr(plan, name)))

    def start(label: str, spec: object) -> None:
        if not args.quiet:
            console.print(f"running {label} ({getattr(spec, 'kind', '')}) …", highlight=False)

    def done(label: str, path: Path) -> None:
        console.print(f"result written to {path}", highlight=False, markup=False)

    results = run_planned_audits(plan, policy.sha256, start, done)
    return _decide(policy, results, baselines, args, console)


def _decide(
    policy: Policy,
    results: list[ResultInput],
    baselines: list[Baseline],
    args: argparse.Namespace,
    console: Console,
) -> int:
    from rich.text import Text

    from audit.gate import (
        evaluate,
        render_blessing,
        render_junit,
        render_lines,
        render_markdown,
        render_verdict,
    )

    decision = evaluate(policy, results, baselines)
    for line in render_lines(decision):
        status = line.split(" ", 1)[0]
        if args.quiet and status == "PASS":
            continue
        text = Text(line)
        text.stylize(_STYLE.get(status, ""), 0, len(status))
        console.print(text, soft_wrap=True, highlight=False)
    # Artefacts are written whatever the verdict: a blocked run is when CI needs them most.
    for name, render in (
        ("junit", render_junit),
        ("markdown", render_markdown),
        ("blessing", render_blessing),
    ):
        target = getattr(args, name, None)
        if target:
            written = _write(target, render(decision))
            console.print(f"{name} written to {written}", highlight=False, markup=False)
    # The verdict comes last, where a CI log is read from.
    style = {"blocked": "bold red", "passed": "bold green"}.get(decision.verdict, "bold magenta")
    console.print(Text(render_verdict(decision), style=style), soft_wrap=True, highlight=False)
    return decision.exit_code


def _write(path: str, text: str) -> Path:
    from audit.exceptions import ConfigError

    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None
    return p

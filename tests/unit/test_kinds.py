"""The audit-kind registry: every kind declares everything once, and every list of kinds (CLI
commands, audit.yaml, scan requests, scan jobs, policy kinds, report titles) comes from it."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import pytest
from pydantic import Field, TypeAdapter
from rich.console import Console

from audit import policy, scans
from audit.cli import kinds as cli_kinds
from audit.exceptions import ConfigError
from audit.kinds import (
    KINDS,
    REGISTRY,
    AuditKind,
    Cli,
    File,
    HttpRules,
    KindSpec,
    PolicyMetrics,
    ReportProfile,
    make_registry,
)
from audit.policy import AGGREGATIONS, load_policy
from tests.conftest import ROOT
from tests.unit.test_gate import est, result

# ------------------------------------------------------------------------------ the entries


@pytest.mark.parametrize("name", KINDS)
def test_every_kind_declares_spec_run_http_rules_metrics_and_report(name: str) -> None:
    entry = REGISTRY[name]
    assert entry.name == name and entry.summary and entry.description
    spec = entry.spec
    assert issubclass(spec, KindSpec) and spec.model_config.get("extra") == "forbid"
    assert spec.model_fields["kind"].default == name
    undescribed = [
        f for f, info in spec.model_fields.items() if f != "kind" and not info.description
    ]
    assert undescribed == []  # the CLI help, the OpenAPI description, the audit.yaml docs
    assert callable(entry.run)
    http = entry.http
    assert set(http.refused) | set(http.fixed) | set(http.limits) <= set(spec.model_fields)
    assert set(http.fixed) <= set(http.refused)  # a fixed value is one a caller may not give
    metrics = entry.policy_metrics()
    assert isinstance(metrics, PolicyMetrics) and metrics.group
    assert all(isinstance(metrics.names(a), frozenset) for a in AGGREGATIONS)  # type: ignore[arg-type]
    assert entry.report.title
    assert entry.scan in ("batch", "fanout")


def test_there_is_one_list_of_kinds_and_everything_derives_from_it() -> None:
    from audit.cli import _parser
    from audit.gate._config import audit_config_model
    from audit.report._findings import HEADLINE_METRICS
    from audit.report._model import _KIND_TITLES

    kinds = set(REGISTRY)
    assert set(KINDS) == kinds and len(KINDS) == len(kinds) == 6
    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) - {"gate", "audit", "report", "pii-eval", "serve"} == kinds
    assert set(scans.KINDS) == set(scans.REQUESTS) == set(scans.JOBS) == kinds | {"inventory"}
    audits = audit_config_model().model_fields["audits"].annotation
    members = TypeAdapter(audits).json_schema()["items"]["oneOf"]
    assert len(members) == len(kinds)
    assert set(policy.KINDS) == kinds
    assert set(_KIND_TITLES) == kinds
    assert set(HEADLINE_METRICS) <= kinds
    assert set(cli_kinds.PRINTERS) <= kinds


def test_a_policy_check_names_kinds_of_the_registry() -> None:
    body = {"id": "p", "version": "1", "checks": [{
        "id": "c", "source": "s", "kinds": ["ads"], "metric": "impact_ratio",
        "aggregation": "per_group", "min": 0.8,
    }]}  # fmt: skip
    assert policy.Policy.model_validate(body).checks[0].kinds == ["ads"]
    body["checks"][0]["kinds"] = ["speech"]  # type: ignore[index]
    with pytest.raises(ValueError, match="unknown audit kind 'speech': one of classification"):
        policy.Policy.model_validate(body)


#: The release-gate policies shipped (pii-*.yaml are PII detection configs).
POLICIES = sorted(p for p in (ROOT / "policies").glob("*.yaml") if not p.name.startswith("pii-"))


@pytest.mark.parametrize("path", POLICIES, ids=[p.name for p in POLICIES])
def test_the_shipped_policies_read_metrics_their_kinds_carry(path: Path) -> None:
    for check in load_policy(path).checks:
        for kind in check.kinds:
            metrics = REGISTRY[kind].policy_metrics()
            assert metrics.accepts(check.aggregation, check.metric), (check.id, kind)


def test_policy_metrics_come_from_the_engines_tables() -> None:
    from audit.metrics import RATES, SUMMARIES

    moderation = REGISTRY["moderation"].policy_metrics()
    assert set(RATES) <= moderation.group and set(SUMMARIES) == moderation.summary
    assert {"bpsn_auc", "final_score"} <= moderation.bias_auc
    assert not REGISTRY["classification"].policy_metrics().bias_auc
    pii = REGISTRY["pii"].policy_metrics()
    assert pii.accepts("summary", "email_address_high_severity_findings")  # per entity type
    assert pii.accepts("summary", "person_recall_overlap")  # pii-eval's span scores
    assert not pii.accepts("summary", "email_address_findingz")
    face = REGISTRY["face"].policy_metrics()
    assert face.accepts("summary", "fmr_max_min_ratio") and not face.accepts("summary", "fpr")
    assert REGISTRY["classification"].policy_metrics().accepts("per_group", "my_f1")  # --metric


def test_the_report_profile_is_the_registrys() -> None:
    from audit.report._findings import HEADLINE_METRICS
    from audit.report._model import _KIND_TITLES

    assert _KIND_TITLES["face"] == REGISTRY["face"].report.title == "Face recognition"
    assert HEADLINE_METRICS["ads"] == REGISTRY["ads"].report.headline
    assert HEADLINE_METRICS["pii"] == REGISTRY["pii"].report.headline


def test_importing_the_registry_loads_no_engine() -> None:
    import subprocess
    import sys

    code = (
        "import sys, audit.kinds, audit.cli.kinds\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'pandas', 'sklearn',"
        " 'fairlearn', 'aif360', 'presidio_analyzer', 'spacy', 'jsonschema', 'rich'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------------------ flags


def _parse(kind: str, *argv: str) -> Any:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    cli_kinds.register(sub)
    return cli_kinds.spec_from_args(REGISTRY[kind], parser.parse_args([kind, *argv]))


def test_the_flags_keep_their_spelling_and_the_spec_its_defaults() -> None:
    spec = _parse(
        "classification", "--data", "d.csv", "--label", "y", "--groups", "a, b", "--id", "uid",
        "--score", "s", "--trust-type", "t1", "--trust-type", "t2", "--metric", "f1=m:f",
        "--no-explain", "--reference", "a=x,b=y",
    )  # fmt: skip
    assert (spec.groups, spec.id, spec.trust_types) == (["a", "b"], "uid", ["t1", "t2"])
    assert (spec.metrics, spec.explain, spec.reference) == (
        {"f1": "m:f"},
        False,
        {"a": "x", "b": "y"},
    )
    assert (spec.threshold, spec.resamples, spec.min_group_size) == (0.5, 1000, 10)
    rec = _parse("recommendation", "--users", "u", "--user-groups", "g", "--recommender",
                 "itemknn", "--interactions", "log.csv", "--k", "5")  # fmt: skip
    assert (rec.model, rec.k, rec.holdout) == ("itemknn", 5, 1)
    face = _parse("face", "--manifest", "m", "--groups", "g", "--no-cache", "--pair-columns",
                  "a,b,s", "--pairs", "p.csv")  # fmt: skip
    assert (face.no_cache, face.pair_columns, face.cache_dir) == (True, ["a", "b", "s"], None)
    pii = _parse("pii", "--source", "posts/", "--text-field", "body", "--workers", "auto")
    assert (pii.text_field, pii.workers, pii.sample) == ("body", "auto", None)


@pytest.mark.parametrize(
    ("kind", "argv", "message"),
    [
        ("face", ["--manifest", "m", "--groups", "g", "--embeddings", "e", "--jitters", "2"],
         "--jitters only apply to the built-in model, not with --embeddings/--pairs"),
        ("recommendation", ["--users", "u", "--user-groups", "g", "--truth", "t"],
         "--recommendations and --truth go together"),
        ("classification", ["--data", "d", "--label", "y", "--groups", "g", "--score", "s",
                            "--metric", "f1"], "--metric: must be NAME=module:function"),
        ("pii", ["--source", "p", "--text-field", "t", "--sample", "colour=red"], "--sample: "),
    ],
)  # fmt: skip
def test_a_bad_combination_names_the_flags(kind: str, argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _parse(kind, *argv)


# ------------------------------------------------------------------------------ a new kind


class SpeechSpec(KindSpec):
    """A made-up kind: word error rates of a speech recogniser per speaker group."""

    kind: Literal["speech"] = "speech"
    data: Annotated[str, File("input"), Cli(metavar="FILE")] = Field(
        description="one row per utterance: speaker attributes and error (0/1)"
    )
    groups: Annotated[list[str], Cli(metavar="COL[,COL...]", csv=True)] = Field(
        min_length=1, description="speaker attribute columns"
    )
    min_group_size: Annotated[int, Cli(metavar="N")] = Field(
        10, ge=1, description="groups with fewer utterances are suppressed"
    )


def _speech(spec: SpeechSpec, progress: Any = None) -> Any:
    df = pd.read_csv(spec.data)
    groups = []
    for attr in spec.groups:
        for value, rows in df.groupby(attr):
            n, errors = len(rows), int(rows["error"].sum())
            groups.append({
                "attribute": attr, "group": str(value), "n": n, "positives": errors,
                "negatives": n - errors, "metrics": {"error_rate": est(errors / n)},
                "verdicts": {"evidence": "sufficient"},
            })  # fmt: skip
    return result("speech", groups=groups, overall={"n": len(df), "metrics": {}})


SPEECH: AuditKind[SpeechSpec] = AuditKind(
    name="speech",
    summary="word errors per speaker group",
    description="Audit a speech recogniser: error rates per speaker group.",
    spec=SpeechSpec,
    run=_speech,
    http=HttpRules(),
    policy_metrics=lambda: PolicyMetrics(group=frozenset({"error_rate"})),
    report=ReportProfile("Speech recognition", ("error_rate",)),
)
WITH_SPEECH = make_registry([*REGISTRY.values(), SPEECH])


@pytest.fixture
def utterances(tmp_path: Path) -> Path:
    rows = [
        {"accent": a, "error": int(i % (3 if a == "x" else 5) == 0)}
        for a in "xy"
        for i in range(40)
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "utterances.csv", index=False)
    return tmp_path / "utterances.csv"


def test_a_new_kind_is_a_command_with_its_flags(utterances: Path, tmp_path: Path) -> None:
    parser = argparse.ArgumentParser(prog="socialaudit")
    handlers = cli_kinds.register(parser.add_subparsers(dest="command"), WITH_SPEECH)
    out = tmp_path / "speech.json"
    args = parser.parse_args(
        ["speech", "--data", str(utterances), "--groups", "accent", "--out", str(out)]
    )
    text = io.StringIO()
    assert handlers["speech"](args, Console(file=text, width=120)) == 0
    doc = json.loads(out.read_text())
    rates = {g["group"]: g["metrics"]["error_rate"]["value"] for g in doc["groups"]}
    assert rates == {"x": pytest.approx(14 / 40), "y": pytest.approx(8 / 40)}
    assert "speech audit" in text.getvalue() and "error rate" in text.getvalue()  # generic print
    with pytest.raises(SystemExit):
        parser.parse_args(
            ["speech", "--data", "d.csv", "--groups", "accent", "--min-group-size", "0"]
        )


def test_a_new_kind_is_accepted_in_audit_yaml(utterances: Path, tmp_path: Path) -> None:
    from audit.gate import load_audit_config, run_planned_audits

    (tmp_path / "audit.yaml").write_text(
        f"policy: {ROOT / 'policies' / 'default.yaml'}\n"
        "audits:\n  - kind: speech\n    data: utterances.csv\n    groups: [accent]\n"
    )
    plan = load_audit_config(tmp_path / "audit.yaml", WITH_SPEECH)
    ((label, spec, out),) = plan.audits
    assert isinstance(spec, SpeechSpec) and spec.data == str(utterances)  # relative to the file
    (written,) = run_planned_audits(plan, None, registry=WITH_SPEECH)
    assert label == "speech" and written.kind == "speech" and out.is_file()
    with pytest.raises(ConfigError, match=r"line 3: audits\[0\]: unknown kind 'speech': one of"):
        load_audit_config(tmp_path / "audit.yaml")  # the shipped registry has no such kind


def test_a_new_kind_is_a_scan_request_and_runs_as_one_batch(utterances: Path) -> None:
    models = scans.request_models(WITH_SPEECH)
    adapter: TypeAdapter[Any] = TypeAdapter(scans.request_union(models))
    body = {"kind": "speech", "data": str(utterances), "groups": ["accent"]}
    request = adapter.validate_python(body)
    assert isinstance(request, models["speech"]) and request.to_spec() == SpeechSpec(**body)
    assert scans.input_files(request) == [("data", str(utterances))]
    with pytest.raises(ValueError, match="out is not accepted over HTTP"):
        adapter.validate_python({**body, "out": "/etc/passwd"})
    job = scans.make_jobs(WITH_SPEECH)["speech"]
    doc, records = job.run(request, [], None)  # type: ignore[arg-type]
    assert doc["kind"] == "speech" and records == 80

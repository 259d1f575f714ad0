"""`socialaudit gate` and `socialaudit audit --config` as a CI job runs them: exit codes,
lines, artefacts, and clear errors for bad policies and inputs."""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

import audit.cli as cli
from tests.conftest import FIXTURES, ROOT
from tests.unit.test_gate import est, group, result, summary

DEFAULT = str(ROOT / "policies" / "default.yaml")
BAD = FIXTURES / "policies"


def run(argv, capsys):
    code = cli.main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def write(path, doc):
    path.write_text(json.dumps(doc))
    return path


def policy_file(tmp_path, body, insufficient="warn"):
    p = tmp_path / "policy.yaml"
    p.write_text(f'id: ci\nversion: "2"\ninsufficient: {insufficient}\nchecks:\n{body}')
    return p


FOUR_FIFTHS = """\
  - id: four-fifths
    source: 29 CFR 1607.4(D)
    kinds: [classification]
    metric: impact_ratio
    aggregation: per_group
    min: 0.8
    severity: {severity}
"""
EOD_CHANGE = """\
  - id: eod-regression
    source: convention
    kinds: [classification]
    metric: equalized_odds_difference
    aggregation: summary
    change: {{direction: lower_is_better, max_worsening: {limit}, relative: {relative}}}
"""
IR_CHANGE = """\
  - id: ir-regression
    source: convention
    kinds: [classification]
    metric: impact_ratio
    aggregation: per_group
    change: {{direction: higher_is_better, max_worsening: {limit}, relative: {relative}}}
"""


def fair(tmp_path, name="fair.json"):
    doc = result(groups=[group("race", "a", impact=1.0), group("race", "b", impact=0.9)])
    return write(tmp_path / name, doc)


def biased(tmp_path, name="biased.json"):
    doc = result(groups=[group("race", "a", impact=1.0), group("race", "b", impact=0.6)])
    return write(tmp_path / name, doc)


def small(tmp_path):
    doc = result(
        groups=[
            group("race", "a", impact=1.0),
            group("race", "b", impact=0.3, evidence="insufficient_evidence", n=20),
        ]
    )
    return write(tmp_path / "small.json", doc)


def test_pass_exits_0(tmp_path, capsys):
    pol = policy_file(tmp_path, FOUR_FIFTHS.format(severity="block"))
    code, out, err = run(["gate", "--policy", pol, fair(tmp_path)], capsys)
    assert (code, err) == (0, "")
    assert "PASS          four-fifths  impact_ratio race=b 0.9 [0.88, 0.92] min 0.8  ci@2" in out
    assert out.strip().splitlines()[-1].startswith("PASSED ci@2: nothing blocks")


def test_fail_exits_1_and_names_the_check(tmp_path, capsys):
    pol = policy_file(tmp_path, FOUR_FIFTHS.format(severity="block"))
    code, out, _ = run(["gate", "--policy", pol, biased(tmp_path)], capsys)
    assert code == 1
    assert (
        "FAIL          four-fifths  impact_ratio race=b 0.6 [0.58, 0.62] min 0.8  ci@2"
        " — 0.6 is below the minimum 0.8"
    ) in out
    assert out.strip().splitlines()[-1].startswith("BLOCKED by ci@2: four-fifths — 1 failed")


def test_warn_exits_0(tmp_path, capsys):
    pol = policy_file(tmp_path, FOUR_FIFTHS.format(severity="warn"))
    code, out, _ = run(["gate", "--policy", pol, biased(tmp_path)], capsys)
    assert code == 0
    assert "WARN          four-fifths  impact_ratio race=b" in out
    assert "PASSED ci@2: nothing blocks — 0 failed, 1 warned" in out


@pytest.mark.parametrize(("rule", "code"), [("fail", 1), ("warn", 0), ("pass", 0)])
def test_insufficient_exit_code_follows_the_policy(tmp_path, capsys, rule, code):
    pol = policy_file(tmp_path, FOUR_FIFTHS.format(severity="block"), insufficient=rule)
    got, out, _ = run(["gate", "--policy", pol, small(tmp_path)], capsys)
    assert got == code
    assert "INSUFFICIENT  four-fifths  impact_ratio race=b 0.3" in out
    assert "the audit needs 30 and 30" in out


@pytest.mark.parametrize(
    ("template", "now", "then", "limit", "relative", "code"),
    [
        (EOD_CHANGE, 0.12, 0.10, 0.03, "false", 0),  # +0.02 within 0.03
        (EOD_CHANGE, 0.15, 0.10, 0.03, "false", 1),  # +0.05
        (EOD_CHANGE, 0.11, 0.10, 0.2, "true", 0),  # +10% within 20%
        (EOD_CHANGE, 0.13, 0.10, 0.2, "true", 1),  # +30%
        (EOD_CHANGE, 0.05, 0.10, 0.0, "false", 0),  # improved, no tolerance
        (IR_CHANGE, 0.88, 0.90, 0.05, "false", 0),  # -0.02 within 0.05
        (IR_CHANGE, 0.80, 0.90, 0.05, "false", 1),  # -0.10
        (IR_CHANGE, 0.87, 0.90, 0.05, "true", 0),  # -3.3% within 5%
        (IR_CHANGE, 0.81, 0.90, 0.05, "true", 1),  # -10%
    ],
)
def test_regression_against_a_baseline_result(
    tmp_path, capsys, template, now, then, limit, relative, code
):
    pol = policy_file(tmp_path, template.format(limit=limit, relative=relative))

    def doc(v):
        if template is EOD_CHANGE:
            return result(summary=[summary("race", "equalized_odds_difference", v)])
        return result(groups=[group("race", "b", impact=v)])

    cur, base = write(tmp_path / "pr.json", doc(now)), write(tmp_path / "main.json", doc(then))
    got, out, _ = run(["gate", "--policy", pol, cur, "--baseline", base], capsys)
    assert got == code, out
    if code:
        assert "is worse than the baseline" in out
    # without the baseline the change-only check cannot be judged: no decision, not a pass
    got, out, _ = run(["gate", "--policy", pol, cur], capsys)
    assert got == 3, out
    assert "no baseline given to compare with (pass --baseline)" in out
    assert (
        out.strip()
        .splitlines()[-1]
        .startswith("NO DECISION under ci@2: no blocking check could be judged")
    )


def test_artefacts_and_blessing_roundtrip(tmp_path, capsys):
    pol = policy_file(
        tmp_path,
        FOUR_FIFTHS.format(severity="block") + IR_CHANGE.format(limit=0.05, relative="false"),
    )
    art = tmp_path / "artefacts"
    code, out, _ = run(
        [
            "gate", "--policy", pol, fair(tmp_path),
            "--junit", art / "gate.xml", "--markdown", art / "gate.md",
            "--blessing", art / "blessing.json",
        ],
        capsys,
    )  # fmt: skip
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[-4:-1] == [
        f"junit written to {art / 'gate.xml'}",
        f"markdown written to {art / 'gate.md'}",
        f"blessing written to {art / 'blessing.json'}",
    ]
    suite = ET.parse(art / "gate.xml").getroot().find("testsuite")
    # two groups under four-fifths; the change-only check is skipped (no baseline yet)
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "0", "1")
    md = (art / "gate.md").read_text()
    assert "## ✅ Release gate: passed (`ci@2`)" in md and "| Status | Check |" in md
    blessing = json.loads((art / "blessing.json").read_text())
    assert blessing["decision"] == "passed"
    assert (
        blessing["policy"]["sha256"] == __import__("hashlib").sha256(pol.read_bytes()).hexdigest()
    )
    assert len(blessing["results"][0]["sha256"]) == 64

    # the next release is compared with the blessed one
    blessed = art / "blessing.json"
    code, out, _ = run(["gate", "--policy", pol, biased(tmp_path), "--baseline", blessed], capsys)
    assert code == 1
    assert "0.6 is worse than the baseline 0.9 by 0.3, more than the 0.05 allowed" in out

    # a blocked blessing is no baseline
    run(["gate", "--policy", pol, biased(tmp_path), "--blessing", art / "blocked.json"], capsys)
    blocked = art / "blocked.json"
    code, _, err = run(["gate", "--policy", pol, fair(tmp_path), "--baseline", blocked], capsys)
    assert code == 2 and "a baseline must be a release that passed the gate" in err


def test_quiet_prints_only_what_did_not_pass(tmp_path, capsys):
    pol = policy_file(tmp_path, FOUR_FIFTHS.format(severity="block"))
    _, out, _ = run(["gate", "--policy", pol, biased(tmp_path), "--quiet"], capsys)
    assert "PASS " not in out and "FAIL " in out and "BLOCKED" in out


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("unknown_key.yaml", ["line 11", "checks[0].severty", "unknown key 'severty'"]),
        ("wrong_type.yaml", ["line 10", "checks[0].max", "line 17", "checks[1].severity"]),
        ("not_yaml.yaml", ["line 7", "not valid YAML"]),
        ("duplicate_key.yaml", ["line 11", "duplicate key 'max'"]),
        ("missing.yaml", ["policy file not found"]),
    ],
)
def test_bad_policies_exit_2_naming_key_and_line(tmp_path, capsys, name, expected):
    code, out, err = run(["gate", "--policy", BAD / name, fair(tmp_path)], capsys)
    assert code == 2 and out == ""
    assert err.startswith("socialaudit: error: ") and "Traceback" not in err
    flat = " ".join(err.split())  # rich may wrap long messages
    for part in expected:
        assert part in flat, (part, err)


def test_bad_results_exit_2(tmp_path, capsys):
    code, _, err = run(["gate", "--policy", DEFAULT, tmp_path / "nope.json"], capsys)
    assert code == 2 and "result file not found" in err
    (tmp_path / "x.json").write_text("{not json")
    code, _, err = run(["gate", "--policy", DEFAULT, tmp_path / "x.json"], capsys)
    assert code == 2 and "not a JSON result" in err
    face = write(tmp_path / "f.json", result("ads"))
    pol = policy_file(tmp_path, FOUR_FIFTHS.format(severity="block"))
    code, _, err = run(["gate", "--policy", pol, face], capsys)
    assert code == 2 and "has no check for ads results" in err


# --- socialaudit audit --config ----------------------------------------------------------


def config(tmp_path, *, extra="", second=""):
    text = f"""\
policy: {DEFAULT}
out: results
junit: results/gate.xml
markdown: results/gate.md
audits:
  - name: moderation-small
    kind: moderation
    data: {FIXTURES / "moderation_small.csv"}
    id: id
    label: label
    score: score
    groups: [group]
    language: lang
    resamples: 50
    explain: false
{second}{extra}"""
    p = tmp_path / "audit.yaml"
    p.write_text(text)
    return p


def test_audit_config_runs_audits_then_gates(tmp_path, capsys):
    code, out, err = run(["audit", "--config", config(tmp_path)], capsys)
    assert code == 1, err  # the fixture's planted disparity against Muslim posts
    written = tmp_path / "results" / "moderation-small.json"
    assert f"result written to {written}" in out
    assert "FAIL          four-fifths  impact_ratio group=muslim" in out
    assert "FAIL          bpsn-auc-floor  bpsn_auc group=muslim" in out
    assert "SKIPPED       face-fmr-differential  no face result" in out
    assert out.strip().splitlines()[-1].startswith("BLOCKED by default@1.1.0")
    doc = json.loads(written.read_text())
    assert (
        doc["provenance"]["policy_sha256"] == hashlib.sha256(Path(DEFAULT).read_bytes()).hexdigest()
    )
    assert ET.parse(tmp_path / "results" / "gate.xml").getroot().tag == "testsuites"


def test_audit_config_keeps_finished_results_when_a_later_audit_fails(tmp_path, capsys):
    second = """\
  - name: broken
    kind: classification
    data: nowhere.csv
    label: label
    score: score
    groups: [group]
"""
    code, _, err = run(["audit", "--config", config(tmp_path, second=second)], capsys)
    assert code == 2 and "nowhere.csv" in err
    assert (tmp_path / "results" / "moderation-small.json").is_file()


def test_bad_audit_config_exits_2_before_running_anything(tmp_path, capsys):
    cfg = config(tmp_path, extra="colour: red\n")
    code, out, err = run(["audit", "--config", cfg], capsys)
    assert code == 2 and out == ""
    assert "line 16: colour: unknown key 'colour'" in " ".join(err.split())
    good = cfg.read_text().replace("colour: red\n", "")
    cfg.write_text(good.replace("resamples: 50", "resamples: many"))
    code, _, err = run(["audit", "--config", cfg], capsys)
    assert code == 2 and "line 14: audits[0].resamples" in " ".join(err.split())
    cfg.write_text(good.replace(DEFAULT, str(BAD / "unknown_key.yaml")))
    code, out, err = run(["audit", "--config", cfg], capsys)
    assert code == 2 and "severty" in err
    assert not (tmp_path / "results").exists()  # the policy failed before any audit ran


def _six_kinds(folder: Path) -> Path:
    """Small inputs of every audit kind in ``folder/data`` and an audit.yaml naming them by
    paths relative to it: the moderation fixture (classification and moderation), lists and
    users (recommendation), impressions and an audience with a planted skew (ads), synthetic
    face templates (face: embeddings, not dlib) and a few posts with e-mail addresses (pii)."""
    import numpy as np

    from audit.face import GroupSpec, synthetic_face_set
    from tests.functional.test_api import _recsys_files
    from tests.unit.pii._support import write_jsonl
    from tests.unit.test_ads import _audience, _impressions

    data = folder / "data"
    recsys = {k: Path(v).name for k, v in _recsys_files(data).items()}
    audience = _audience(400)
    audience.to_csv(data / "audience.csv", index=False)
    _impressions(audience).to_csv(data / "impressions.csv", index=False)
    manifest, templates = synthetic_face_set(
        {"a": GroupSpec(subjects=40), "b": GroupSpec(subjects=40, impostor_distance=0.8)}, seed=3
    )
    manifest.frame.to_csv(data / "faces.csv", index=False)
    np.save(data / "emb.npy", templates.embeddings)
    posts = [{"id": i, "text": f"post {i}: write to user{i}@example.com"} for i in range(6)]
    write_jsonl(data / "posts" / "day-1.jsonl", posts)
    moderation = FIXTURES / "moderation_small.csv"
    text = f"""\
policy: {DEFAULT}
out: results
audits:
  - name: risk
    kind: classification
    data: {moderation}
    label: label
    score: score
    groups: [group]
    resamples: 20
    explain: false
  - kind: moderation
    data: {moderation}
    label: label
    score: score
    groups: [group]
    resamples: 20
    explain: false
  - kind: recommendation
    recommendations: data/{recsys["recs"]}
    truth: data/{recsys["truth"]}
    users: data/{recsys["users"]}
    items: data/{recsys["items"]}
    user_groups: [gender]
    creator_group: [studio]
    k: 5
    resamples: 20
  - kind: ads
    impressions: data/impressions.csv
    audience: data/audience.csv
    groups: [gender]
    reference: gender=M
    resamples: 20
  - kind: face
    manifest: data/faces.csv
    embeddings: data/emb.npy
    groups: [group]
    target_fmr: 0.001
    resamples: 20
  - kind: pii
    source: data/posts
    id_field: id
    sample: records=4
"""
    p = folder / "audit.yaml"
    p.write_text(text)
    return p


def test_audit_config_runs_every_kind_of_audit(tmp_path, monkeypatch, capsys):
    pytest.importorskip("presidio_analyzer")
    from audit.kinds import KINDS, REGISTRY

    cfg = _six_kinds(tmp_path / "ci")
    monkeypatch.chdir(tmp_path)  # relative paths are the file's, not the working folder's
    code, out, err = run(["audit", "--config", cfg], capsys)
    assert code == 1, err  # the moderation fixture's planted disparity blocks
    results = tmp_path / "ci" / "results"
    names = {"risk": "classification", **{k: k for k in KINDS if k != "classification"}}
    for name, kind in names.items():
        assert f"running {name} ({kind})" in out
        doc = json.loads((results / f"{name}.json").read_text())
        assert doc["kind"] == kind
        # Every metric the result carries is one its kind declares to the gate.
        metrics = REGISTRY[kind].policy_metrics()
        found = {
            "per_group": {m for g in doc["groups"] for m in g["metrics"]},
            "ratio_to_reference": {d["metric"] for d in doc["disparities"]},
            "summary": {s["metric"] for s in doc["summary"]},
        }
        assert found["per_group"] and found["summary"], kind
        for aggregation, names_in_doc in found.items():
            unknown = {m for m in names_in_doc if not metrics.accepts(aggregation, m)}  # type: ignore[arg-type]
            assert not unknown, (kind, aggregation, unknown)
    ads = json.loads((results / "ads.json").read_text())
    women = next(g for g in ads["groups"] if g["group"] == "F")
    assert women["verdicts"]["four_fifths"] == "fail"  # the housing ad's skew, pooled
    pii = json.loads((results / "pii.json").read_text())
    assert pii["pii"]["records"]["scanned"] == 4 and "example.com" not in json.dumps(pii)
    assert out.strip().splitlines()[-1].startswith("BLOCKED by default@1.1.0")


def test_an_audit_config_error_in_a_new_kind_names_the_line_and_key(tmp_path, capsys):
    cfg = _six_kinds(tmp_path)
    text = cfg.read_text()
    cfg.write_text(
        text.replace("groups: [gender]\n    reference", "groupz: [gender]\n    reference")
    )
    code, out, err = run(["audit", "--config", cfg], capsys)
    flat = " ".join(err.split())
    assert code == 2 and out == ""
    line = cfg.read_text().splitlines().index("    groupz: [gender]") + 1
    assert f"line {line}: audits[3].groupz: unknown key 'groupz' (did you mean 'groups'?)" in flat
    assert "audits[3].groups: missing required key 'groups'" in flat
    cfg.write_text(cfg.read_text().replace("kind: pii", "kind: speech"))
    code, _, err = run(["audit", "--config", cfg], capsys)
    assert code == 2 and "unknown kind 'speech': one of 'classification'" in " ".join(err.split())


# --- real data ---------------------------------------------------------------------------


@pytest.mark.sample
def test_default_policy_blocks_compas(samples, tmp_path, capsys):
    out_json = tmp_path / "compas.json"
    code, _, err = run(
        [
            "classification", "--data", samples / "compas.csv", "--id", "id",
            "--label", "two_year_recid", "--score", "score", "--groups", "race,sex",
            "--resamples", "200", "--no-explain", "--out", out_json, "--quiet",
        ],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    code, out, _ = run(["gate", "--policy", DEFAULT, out_json], capsys)
    assert code == 1
    lines = out.strip().splitlines()
    # African-American defendants are flagged high-risk far more often: adverse impact
    assert any(
        line.startswith("FAIL          four-fifths  impact_ratio race=African-American")
        for line in lines
    )
    assert any(
        line.startswith("FAIL          equalized-odds  equalized_odds_difference race ")
        for line in lines
    )
    assert lines[-1].startswith("BLOCKED by default@1.1.0: four-fifths, equalized-odds")


def test_documented_config_and_ci_examples_are_valid():
    from audit.gate import load_audit_config

    plan = load_audit_config(ROOT / "docs" / "ci" / "audit.yaml")
    assert [name for name, _, _ in plan.audits] == ["risk-model", "toxicity"]
    for name in ("github-actions.yml", "gitlab-ci.yml"):
        text = (ROOT / "docs" / "ci" / name).read_text()
        yaml.safe_load(text)
        assert "socialaudit audit --config audit.yaml" in text and "--baseline" in text


# --- issue 15: never "PASSED" on nothing, exact rules, regressions that show ---------------

TYPO = """\
  - id: accuracy-floor
    source: convention
    kinds: [classification]
    metric: acuracy
    aggregation: per_group
    min: 0.6
"""


def test_a_misspelt_metric_exits_2_naming_line_key_and_the_fix(tmp_path, capsys):
    pol = policy_file(tmp_path, FOUR_FIFTHS.format(severity="block") + TYPO)
    code, out, err = run(["gate", "--policy", pol, fair(tmp_path)], capsys)
    assert code == 2 and out == ""
    flat = " ".join(err.split())
    assert (
        f"{pol}, line 15: checks[1].metric: unknown metric 'acuracy' for classification "
        "(per group) (did you mean 'accuracy'?); known: accuracy, fdr, fnr, for, fpr, "
        "impact_ratio, npv, ppr, precision, selection_rate, tnr, tpr"
    ) in flat
    # a summary metric read per group: the aggregation is named
    pol.write_text(pol.read_text().replace("metric: acuracy", "metric: fpr_difference"))
    code, _, err = run(["gate", "--policy", pol, fair(tmp_path)], capsys)
    assert code == 2 and "(it is read with aggregation: summary)" in " ".join(err.split())


def test_a_metric_of_your_own_is_declared_in_custom_metrics(tmp_path, capsys):
    body = FOUR_FIFTHS.format(severity="block") + TYPO.replace("acuracy", "f1")
    pol = policy_file(tmp_path, body)
    code, _, err = run(["gate", "--policy", pol, fair(tmp_path)], capsys)
    assert code == 2 and "a metric of your own from --metric? list it in custom_metrics" in (
        " ".join(err.split())
    )
    pol.write_text(pol.read_text().replace("checks:\n", "custom_metrics: [f1]\nchecks:\n"))
    doc = result(
        groups=[group("race", "a"), group("race", "b")],
        custom_metrics=[{"attribute": "race", "group": "b", "metrics": {"f1": 0.7}}],
    )
    code, out, _ = run(["gate", "--policy", pol, write(tmp_path / "f1.json", doc)], capsys)
    assert code == 0, out
    assert "PASS          accuracy-floor  f1 race=b 0.7 min 0.6  ci@2" in out
    # a kind that computes no --metric ones cannot read it
    pol.write_text(
        pol.read_text().replace(
            "kinds: [classification]\n    metric: f1", "kinds: [face]\n    metric: f1"
        )
    )
    code, _, err = run(["gate", "--policy", pol, fair(tmp_path)], capsys)
    assert code == 2 and "custom metric 'f1' for face" in " ".join(err.split())


def _unjudgeable(tmp_path):
    doc = result(
        groups=[
            group("race", "a", impact=1.0, evidence="insufficient_evidence", n=20),
            group("race", "b", impact=0.3, evidence="insufficient_evidence", n=20),
        ]
    )
    return write(tmp_path / "thin.json", doc)


def test_nothing_judged_is_no_decision_exit_3(tmp_path, capsys):
    pol = policy_file(tmp_path, FOUR_FIFTHS.format(severity="block"))
    art = tmp_path / "art"
    code, out, _ = run(
        ["gate", "--policy", pol, _unjudgeable(tmp_path), "--junit", art / "j.xml",
         "--markdown", art / "g.md", "--blessing", art / "b.json"],
        capsys,
    )  # fmt: skip
    assert code == 3
    assert out.strip().splitlines()[-1] == (
        "NO DECISION under ci@2: no blocking check could be judged — 0 failed, 0 warned, "
        "2 insufficient (2 warn), 0 passed; exit 3"
    )
    assert "PASSED" not in out
    suite = ET.parse(art / "j.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("errors"), suite.get("skipped")) == ("3", "1", "2")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert (props["verdict"], props["exit_code"]) == ("no_decision", "3")
    error = suite.find("testcase[@name='no decision']/error")
    assert error is not None and error.get("type") == "NO_DECISION"
    assert (art / "g.md").read_text().startswith("## ❔ Release gate: no decision (`ci@2`)")
    blessing = json.loads((art / "b.json").read_text())
    assert (blessing["decision"], blessing["exit_code"]) == ("no_decision", 3)
    # a release that decided nothing is no baseline for the next one
    code, _, err = run(
        ["gate", "--policy", pol, fair(tmp_path), "--baseline", art / "b.json"], capsys
    )
    assert code == 2 and "records a 'no_decision' decision" in err


@pytest.mark.parametrize(
    ("rule", "code", "tail"),
    [
        ("pass", 0, "exit 0: the policy accepts it (on_no_decision: pass)"),
        ("block", 1, "exit 1: the policy blocks on it (on_no_decision: block)"),
    ],
)
def test_a_policy_opts_in_to_accepting_no_decision(tmp_path, capsys, rule, code, tail):
    pol = policy_file(tmp_path, FOUR_FIFTHS.format(severity="block"))
    pol.write_text(pol.read_text().replace("checks:\n", f"on_no_decision: {rule}\nchecks:\n"))
    got, out, _ = run(["gate", "--policy", pol, _unjudgeable(tmp_path)], capsys)
    assert got == code
    last = out.strip().splitlines()[-1]
    assert last.startswith("NO DECISION under ci@2: no blocking check could be judged")
    assert last.endswith(tail)


def test_warnings_alone_do_not_make_a_decision_when_a_blocking_check_applies(tmp_path, capsys):
    body = FOUR_FIFTHS.format(severity="block") + FOUR_FIFTHS.replace(
        "id: four-fifths", "id: soft"
    ).format(severity="warn").replace("per_group", "worst_group")
    pol = policy_file(tmp_path, body)
    doc = result(
        groups=[
            group("race", "a", impact=1.0, evidence="insufficient_evidence", n=20),
            group("race", "b", impact=0.9),
        ]
    )
    # the blocking check judges b: a decision
    code, out, _ = run(["gate", "--policy", pol, write(tmp_path / "d.json", doc)], capsys)
    assert code == 0 and "PASSED ci@2" in out


def _classification_csv(path, favourable_g):
    """80 rows per group; a positive decision is adverse, so the favourable outcome is 0."""
    rows = ["id,label,decision,race"]
    for name, fav in (("ref", 60), ("g", favourable_g)):
        for i in range(80):
            rows.append(f"{name}{i},{i % 2},{int(i >= fav)},{name}")
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    ("favourable", "code", "line"),
    [
        (48, 0, "PASS          four-fifths  impact_ratio race=g 0.8 ["),
        (47, 1, "FAIL          four-fifths  impact_ratio race=g 0.783 ["),
    ],
)
def test_exactly_four_fifths_passes_audit_and_gate(tmp_path, capsys, favourable, code, line):
    """29 CFR 1607.4(D) counts only ratios below 4/5: 48/80 against 60/80 is exactly 4/5 (in
    floats 0.7999999999999999), decided from the counts in the result and in the gate."""
    out_json = tmp_path / "r.json"
    got, _, err = run(
        ["classification", "--data", _classification_csv(tmp_path / "d.csv", favourable),
         "--id", "id", "--label", "label", "--decision", "decision", "--groups", "race",
         "--resamples", "100", "--no-explain", "--quiet", "--out", out_json],
        capsys,
    )  # fmt: skip
    assert got == 0, err
    doc = json.loads(out_json.read_text())
    g = next(x for x in doc["groups"] if x["group"] == "g")
    assert g["verdicts"]["four_fifths"] == ("pass" if code == 0 else "fail")
    assert g["impact_ratio"]["exact"] == ("4/5" if code == 0 else "47/60")
    pol = policy_file(tmp_path, FOUR_FIFTHS.format(severity="block"))
    got, out, _ = run(["gate", "--policy", pol, out_json], capsys)
    assert got == code
    assert any(x.startswith(line) for x in out.splitlines()), out
    if code:
        assert "0.783 is below the minimum 0.8" in out


def test_the_gate_decides_on_the_exact_value_not_the_rounded_float(tmp_path, capsys):
    pol = policy_file(tmp_path, FOUR_FIFTHS.format(severity="block"))
    below = {"value": 0.8, "ci_low": 0.7, "ci_high": 0.9, "exact": "3999999/5000000"}
    at = {"value": 0.7999999999999999, "ci_low": 0.7, "ci_high": 0.9, "exact": "4/5"}
    for ir, code, text in ((at, 0, "PASS "), (below, 1, "(exactly 3999999/5000000) is below")):
        doc = result(groups=[group("race", "a"), group("race", "b", impact=ir)])
        got, out, _ = run(["gate", "--policy", pol, write(tmp_path / "x.json", doc)], capsys)
        assert got == code and text in out, out


def test_default_policy_catches_a_regression_and_shows_baseline_and_change(tmp_path, capsys):
    """The issue's case in miniature: one group's favourable rate drops by 8 %, its impact
    ratio 0.944 → 0.868, still above 0.8 — caught only against the baseline."""

    def doc(ir, fpr):
        return result(
            groups=[
                group("race", "a", impact=1.0, fpr=0.25, fnr=0.4),
                group("race", "b", impact=ir, fpr=fpr, fnr=0.4),
            ],
            summary=[summary("race", "equalized_odds_difference", 0.05, lo=0.02, hi=0.08)],
        )

    base, cand = (
        write(tmp_path / "main.json", doc(0.944, 0.267)),
        write(tmp_path / "pr.json", doc(0.868, 0.327)),
    )
    code, out, _ = run(["gate", "--policy", DEFAULT, cand], capsys)
    assert code == 0  # every absolute threshold holds: without a baseline it ships
    assert "SKIPPED       impact-ratio-regression  no baseline given to compare with" in out
    md = tmp_path / "gate.md"
    code, out, _ = run(
        ["gate", "--policy", DEFAULT, cand, "--baseline", base, "--markdown", md], capsys
    )
    assert code == 1
    lines = out.splitlines()
    assert (
        "PASS          four-fifths  impact_ratio race=b 0.868 [0.848, 0.888] "
        "(baseline 0.944, change -0.076) min 0.8  default@1.1.0"
    ) in lines
    assert (
        "FAIL          impact-ratio-regression  impact_ratio race=b 0.868 [0.848, 0.888] "
        "(baseline 0.944, change -0.076) worsening <= 0.05 vs baseline  default@1.1.0 — 0.868 "
        "is worse than the baseline 0.944 by 0.076, more than the 0.05 allowed"
    ) in lines
    assert any(
        x.startswith("FAIL          fpr-regression  fpr race=b 0.327 [0.307, 0.347] "
                     "(baseline 0.267, change +0.06)")
        for x in lines
    )  # fmt: skip
    assert lines[-1].startswith("BLOCKED by default@1.1.0: impact-ratio-regression, fpr-regression")
    assert "compared with the baseline" in lines[-1]
    text = md.read_text()
    assert "### Baseline vs candidate" in text
    assert (
        "| ❌ FAIL | `impact-ratio-regression` | impact_ratio | race=b | 0.944 "
        "| 0.868 [0.848, 0.888] | -0.076 |"
    ) in text


def test_holm_controls_many_group_interval_decisions(tmp_path, capsys):
    """Twenty groups whose intervals each just miss 0.8 from below would block one by one;
    decided as a family (Holm) only the clear violation blocks."""
    check_yaml = """\
  - id: floor
    source: convention
    kinds: [classification]
    metric: impact_ratio
    aggregation: per_group
    min: 0.8
    decide_on: interval
    multiplicity: {m}
"""
    groups = [group("race", f"g{i:02d}", impact=est(0.76, 0.72, 0.795)) for i in range(19)]
    groups.append(group("race", "worst", impact=est(0.5, 0.45, 0.55)))
    path = write(tmp_path / "many.json", result(groups=groups))
    pol = policy_file(tmp_path, check_yaml.format(m="none"))
    code, out, _ = run(["gate", "--policy", pol, path], capsys)
    assert code == 1 and out.count("FAIL          floor") == 20
    pol = policy_file(tmp_path, check_yaml.format(m="holm"))
    code, out, _ = run(["gate", "--policy", pol, path], capsys)
    assert code == 1 and out.count("FAIL          floor") == 1
    worst = next(x for x in out.splitlines() if x.startswith("FAIL"))
    assert worst.startswith(
        "FAIL          floor  impact_ratio race=worst 0.5 [0.45, 0.55] min 0.8 (interval, holm)"
    )
    assert "the whole holm-adjusted interval [" in worst and "1 of 20" in worst
    assert (
        "PASS          floor  impact_ratio race=g00 0.76 [0.72, 0.795] min 0.8 (interval, holm)"
        in out
    )


def test_reference_best_follows_what_a_positive_decision_means(tmp_path, capsys):
    from tests.conftest import synthetic

    data = tmp_path / "d.csv"
    synthetic().to_csv(data, index=False)
    pol = policy_file(
        tmp_path,
        """\
  - id: parity
    source: Aequitas (Saleiro et al. 2018)
    kinds: [classification]
    metric: selection_rate
    aggregation: ratio_to_reference
    min: 0.8
    max: 1.25
    severity: warn
""",
    )
    refs = {}
    for outcome in ("adverse", "favourable"):
        out_json = tmp_path / f"{outcome}.json"
        got, _, err = run(
            ["classification", "--data", data, "--id", "id", "--label", "label", "--score",
             "score", "--groups", "group", "--reference", "best", "--positive-outcome", outcome,
             "--resamples", "50", "--no-explain", "--quiet", "--out", out_json],
            capsys,
        )  # fmt: skip
        assert got == 0, err
        doc = json.loads(out_json.read_text())
        sr = {g["group"]: g["metrics"]["selection_rate"]["value"] for g in doc["groups"]}
        refs[outcome] = next(
            d["reference"] for d in doc["disparities"] if d["metric"] == "selection_rate"
        )
        code, out, _ = run(["gate", "--policy", pol, out_json], capsys)
        assert code == 0
        assert f"selection_rate group=b vs {refs[outcome]}" in out or refs[outcome] == "b"
    # group b is flagged most: the best-off group when a flag is adverse is the least flagged
    assert refs["adverse"] == min(sr, key=sr.get) and refs["favourable"] == max(sr, key=sr.get)
    assert refs["adverse"] != "b" and refs["favourable"] == "b"


def test_fdr_for_npv_and_ppr_reach_the_result_and_the_gate(tmp_path, capsys):
    from tests.conftest import synthetic

    data = tmp_path / "d.csv"
    synthetic().to_csv(data, index=False)
    out_json = tmp_path / "r.json"
    got, _, err = run(
        ["classification", "--data", data, "--id", "id", "--label", "label", "--score", "score",
         "--groups", "group", "--resamples", "50", "--no-explain", "--quiet", "--out", out_json],
        capsys,
    )  # fmt: skip
    assert got == 0, err
    doc = json.loads(out_json.read_text())
    assert {"fdr", "for", "npv", "ppr"} <= set(doc["groups"][0]["metrics"])
    assert {"fdr", "for", "npv", "ppr"} <= {d["metric"] for d in doc["disparities"]}
    assert "Aequitas ppr" in doc["metric_definitions"]["ppr"]
    pol = policy_file(
        tmp_path,
        """\
  - id: false-discoveries
    source: convention
    kinds: [classification]
    metric: fdr
    aggregation: per_group
    max: 0.9
  - id: statistical-parity
    source: Aequitas ppr_disparity (Saleiro et al. 2018)
    kinds: [classification]
    metric: ppr
    aggregation: ratio_to_reference
    min: 0.8
    max: 1.25
    severity: warn
""",
    )
    code, out, _ = run(["gate", "--policy", pol, out_json], capsys)
    assert code == 0
    assert any(
        x.startswith("PASS          false-discoveries  fdr group=b ") for x in out.splitlines()
    )
    # PPR grows with group size: group c (10 % of rows) has a fraction of a's share
    assert any(
        x.startswith("WARN          statistical-parity  ppr group=c vs a ")
        for x in out.splitlines()
    )


@pytest.mark.parametrize("policy", ["default.yaml", "strict.yaml"])
def test_an_unchanged_model_never_regresses_against_itself(policy, tmp_path, capsys):
    # A release gated against its own result as the baseline has changed nothing: every change
    # rule of a shipped policy must pass (strict.yaml's once compared the unfavourable end of
    # each interval with the baseline's value and failed an unchanged model).
    res = tmp_path / "res.json"
    audit = [
        "classification", "--data", FIXTURES / "moderation_small.csv", "--label", "label",
        "--score", "score", "--groups", "group", "--resamples", "200", "--no-explain",
    ]  # fmt: skip
    assert run([*audit, "--out", res, "--quiet"], capsys)[0] == 0
    pol = ROOT / "policies" / policy
    _, out, err = run(["gate", "--policy", pol, res, "--baseline", res], capsys)
    assert err == ""
    compared = [line for line in out.splitlines() if "(baseline " in line]
    assert compared, out  # the change rules did see the baseline
    regressions = [line for line in compared if line.startswith("FAIL") and "worse than" in line]
    assert regressions == [], "\n".join(regressions)

"""Policy files: the shipped ones load; bad ones fail loudly, naming the file, line and key."""

from __future__ import annotations

import hashlib

import pytest
import yaml

from audit.exceptions import ConfigError
from audit.policy import KINDS, Policy, load_policy
from tests.conftest import FIXTURES, ROOT

BAD = FIXTURES / "policies"
# Gate policies are the files with checks (policies/ also holds other configuration, e.g. PII).
SHIPPED = sorted(
    p
    for p in (ROOT / "policies").glob("*.yaml")
    if "checks" in (yaml.safe_load(p.read_text()) or {})
)


def test_the_three_policies_are_shipped():
    assert {p.stem for p in SHIPPED} >= {"default", "dsa-moderation", "strict"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_policies_load_and_cite_their_sources(path):
    policy = load_policy(path)
    assert policy.ref == f"{path.stem}@{policy.version}"
    assert policy.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    for check in policy.checks:
        assert check.source.strip(), check.id
        assert set(check.kinds) <= set(KINDS)
    # every check is commented in the file, not only given a source string
    text = path.read_text()
    assert text.count("\n  # ") + text.count("\n# ") >= 3


def test_default_policy_has_the_checks_the_issue_names():
    checks = {c.id: c for c in load_policy(ROOT / "policies" / "default.yaml").checks}
    ff = checks["four-fifths"]
    assert (ff.metric, ff.aggregation, ff.min) == ("impact_ratio", "per_group", 0.8)
    assert "1607.4(D)" in ff.source
    eo = checks["equalized-odds"]
    assert (eo.metric, eo.aggregation, eo.max) == ("equalized_odds_difference", "summary", 0.1)
    assert {c.metric for c in checks.values() if c.aggregation == "bias_auc"} == {
        "bpsn_auc",
        "bnsp_auc",
    }
    assert any(c.kinds == ["face"] and "fmr" in c.metric for c in checks.values())
    pii = next(c for c in checks.values() if c.kinds == ["pii"])
    assert (pii.metric, pii.max) == ("high_severity_findings", 0)


def test_default_policy_has_change_rules_on_the_main_metrics():
    """Issue 15: regressions against the baseline on impact ratio, equalized odds, FPR/FNR per
    group, bias AUCs, the face FMR ratio and high-severity PII; each blocks."""
    policy = load_policy(ROOT / "policies" / "default.yaml")
    assert policy.version == "1.1.0" and policy.on_no_decision == "no_decision"
    changes = {(c.metric, c.aggregation): c.change for c in policy.checks if c.change is not None}
    assert set(changes) == {
        ("impact_ratio", "per_group"),
        ("fpr", "per_group"),
        ("fnr", "per_group"),
        ("equalized_odds_difference", "summary"),
        ("bpsn_auc", "bias_auc"),
        ("bnsp_auc", "bias_auc"),
        ("fmr_max_min_ratio", "summary"),
        ("high_severity_findings", "summary"),
    }
    assert changes["impact_ratio", "per_group"].direction == "higher_is_better"
    assert changes["fpr", "per_group"].direction == "lower_is_better"
    for c in policy.checks:
        if c.change is not None:
            assert c.severity == "block" and c.decide_on == "point", c.id
            assert "convention" in c.source or c.max == 0, c.id


def test_on_no_decision_and_custom_metrics_are_validated(tmp_path):
    p = tmp_path / "p.yaml"
    body = (
        'id: p\nversion: "1"\non_no_decision: {rule}\ncustom_metrics: [f1]\nchecks:\n'
        "  - id: c\n    source: s\n    kinds: [classification]\n    metric: f1\n"
        "    aggregation: per_group\n    min: 0.5\n"
    )
    for rule in ("no_decision", "pass", "block"):
        p.write_text(body.format(rule=rule))
        assert load_policy(p).on_no_decision == rule
    p.write_text(body.format(rule="ignore"))
    with pytest.raises(ConfigError, match="line 3: on_no_decision: Input should be"):
        load_policy(p)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "unknown_key.yaml",
            ["line 11", "checks[0].severty", "unknown key 'severty'", "did you mean 'severity'"],
        ),
        ("wrong_type.yaml", ["line 10", "checks[0].max", "valid number", "'ten percent'"]),
        ("wrong_type.yaml", ["line 17", "checks[1].severity", "'block' or 'warn'", "'blocker'"]),
        ("not_yaml.yaml", ["line 7", "not valid YAML"]),
        ("duplicate_key.yaml", ["line 11", "duplicate key 'max'", "first given on line 10"]),
        ("no_threshold.yaml", ["line 5", "checks[0]", "give a threshold"]),
        ("not_a_mapping.yaml", ["must be a YAML mapping"]),
    ],
)
def test_bad_policies_name_line_and_key(name, expected):
    with pytest.raises(ConfigError) as err:
        load_policy(BAD / name)
    message = str(err.value)
    assert str(BAD / name) in message
    for part in expected:
        assert part in message, (part, message)


def test_missing_empty_and_binary_files(tmp_path):
    with pytest.raises(ConfigError, match=r"policy file not found: .*nope\.yaml"):
        load_policy(tmp_path / "nope.yaml")
    (tmp_path / "empty.yaml").write_text("# nothing\n")
    with pytest.raises(ConfigError, match="empty"):
        load_policy(tmp_path / "empty.yaml")
    (tmp_path / "bin.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_policy(tmp_path / "bin.yaml")


def write(tmp_path, text):
    p = tmp_path / "p.yaml"
    p.write_text(text)
    return p


CHECK = """
  - id: c
    source: test
    kinds: [classification]
    metric: impact_ratio
    aggregation: per_group
"""


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ("    min: 0.9\n    max: 0.8\n", r"line 4: checks\[0\]: min \(0.9\) is above max \(0.8\)"),
        ("    min: 0.8\n    change: {direction: up, max_worsening: 1}\n", r"change.direction"),
        ("    min: 0.8\n    change: {direction: lower_is_better, max_worsening: -1}\n", "greater"),
        ("    min: 0.8\n    attributes: ['@lang']\n", "unknown attribute placeholder '@lang'"),
        ("    min: 0.8\n    attributes: [[race]]\n", "intersection lists two or more"),
        ("    min: 0.8\n    decide_on: ci\n", r"checks\[0\].decide_on"),
        ("    min: 0.8\n    insufficient: maybe\n", r"checks\[0\].insufficient"),
    ],
)
def test_inconsistent_checks_are_rejected(tmp_path, extra, match):
    p = write(tmp_path, f'id: p\nversion: "1"\nchecks:{CHECK}{extra}')
    with pytest.raises(ConfigError, match=match):
        load_policy(p)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_policies_name_only_metrics_their_audits_produce(path):
    from audit.policy import unknown_metrics

    assert unknown_metrics(load_policy(path)) == []


def test_every_kind_and_aggregation_is_checked(tmp_path):
    from audit.policy import unknown_metrics

    def problems(kind, aggregation, metric):
        return unknown_metrics(
            Policy.model_validate(
                {
                    "id": "p",
                    "version": "1",
                    "checks": [
                        {
                            "id": "c",
                            "source": "s",
                            "kinds": [kind],
                            "metric": metric,
                            "aggregation": aggregation,
                            "max": 1,
                        }
                    ],
                }
            )
        )

    assert problems("face", "summary", "fmr_max_min_ratio") == []
    assert problems("recommendation", "per_group", "ndcg") == []
    assert problems("pii", "summary", "email_address_high_severity_findings") == []
    assert problems("ads", "ratio_to_reference", "delivery_rate") == []
    assert problems("classification", "ratio_to_reference", "ppr") == []  # Aequitas' PPR
    [(loc, msg)] = problems("face", "summary", "fmr_max_min_ration")
    assert loc == ("checks", 0, "metric")
    assert "unknown metric 'fmr_max_min_ration' for face (summary)" in msg
    assert "did you mean 'fmr_max_min_ratio'" in msg and "known: fmr_max, fmr_max_min_ratio" in msg
    [(_, msg)] = problems("classification", "summary", "fpr")
    assert "(it is read with aggregation: per_group or worst_group or ratio_to_reference" in msg
    # a check over two kinds must name a metric both produce
    both = Policy.model_validate(
        {
            "id": "p",
            "version": "1",
            "checks": [
                {
                    "id": "c",
                    "source": "s",
                    "kinds": ["classification", "ads"],
                    "metric": "fpr",
                    "aggregation": "per_group",
                    "max": 1,
                }
            ],
        }
    )
    [(_, msg)] = unknown_metrics(both)
    assert "unknown metric 'fpr' for ads (per group)" in msg


def test_bias_auc_metric_names_are_checked_at_load(tmp_path):
    text = f'id: p\nversion: "1"\nchecks:{CHECK}    min: 0.8\n'.replace(
        "aggregation: per_group", "aggregation: bias_auc"
    ).replace("metric: impact_ratio", "metric: bpsn")
    with pytest.raises(ConfigError, match="bias_auc reads one of subgroup_auc, bpsn_auc"):
        load_policy(write(tmp_path, text))


def test_version_float_is_refused_int_is_text(tmp_path):
    body = f"checks:{CHECK}    min: 0.8\n"
    with pytest.raises(ConfigError, match=r"line 2: version: write the version in quotes"):
        load_policy(write(tmp_path, f"id: p\nversion: 1.10\n{body}"))
    assert load_policy(write(tmp_path, f"id: p\nversion: 2\n{body}")).ref == "p@2"


def test_duplicate_check_ids_and_empty_checks(tmp_path):
    body = f"checks:{CHECK}    min: 0.8\n{CHECK}    min: 0.8\n"
    with pytest.raises(ConfigError, match="two checks have the id 'c'"):
        load_policy(write(tmp_path, f'id: p\nversion: "1"\n{body}'))
    with pytest.raises(ConfigError, match=r"line 3: checks: List should have at least 1 item"):
        load_policy(write(tmp_path, 'id: p\nversion: "1"\nchecks: []\n'))


def test_missing_required_key_is_named(tmp_path):
    text = f'id: p\nversion: "1"\nchecks:{CHECK}    min: 0.8\n'.replace("    source: test\n", "")
    with pytest.raises(ConfigError, match=r"line 4: checks\[0\].source: missing required key"):
        load_policy(write(tmp_path, text))


def test_a_policy_built_in_code_has_no_hash():
    p = Policy.model_validate(
        {
            "id": "p",
            "version": "1",
            "checks": [
                {
                    "id": "c",
                    "source": "s",
                    "kinds": ["face"],
                    "metric": "fmr",
                    "aggregation": "worst_group",
                    "max": 0.01,
                }
            ],
        }
    )
    assert p.sha256 is None and p.insufficient == "warn"

"""The PII config: the shipped default loads; a bad file fails loudly, naming line and key."""

from __future__ import annotations

import pytest

from audit.exceptions import ConfigError
from audit.pii import PiiConfig, default_config_path, load_pii_config


def _write(tmp_path, text):
    p = tmp_path / "pii.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_default_config_loads_and_is_hashed():
    cfg = load_pii_config(None)
    assert isinstance(cfg, PiiConfig)
    assert cfg.path == str(default_config_path())
    assert len(cfg.sha256) == 64
    assert "STREET_ADDRESS" in cfg.entities
    assert cfg.severity_for("CREDIT_CARD", 1) == "HIGH"
    assert cfg.severity_for("PERSON", 1) == "LOW"
    assert cfg.severity_for("PERSON", 5) == "MEDIUM"
    assert cfg.threshold_for("PHONE_NUMBER") == cfg.score_threshold


def test_env_var_names_the_default(tmp_path, monkeypatch):
    p = _write(tmp_path, "version: 1\nentities: [EMAIL_ADDRESS]\n")
    monkeypatch.setenv("SOCIALAUDIT_PII_CONFIG", str(p))
    assert load_pii_config(None).entities == ["EMAIL_ADDRESS"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\nentities: [EMAIL_ADDRESS]\nscore_treshold: 0.5\n", "line 3"),
        (
            "version: 1\nentities: [EMAIL_ADDRESS]\nscore_treshold: 0.5\n",
            "did you mean 'score_threshold'",
        ),
        ("version: 1\nentities: [EMAIL_ADDRESS]\nscore_threshold: 2\n", "line 3: score_threshold"),
        ("version: 1\nentities: [PASSPORT]\n", "no recognizer produces PASSPORT"),
        ("version: 1\nentities: [EMAIL_ADDRESS\n", "not valid YAML"),
        ("version: 2\nentities: [EMAIL_ADDRESS]\n", "line 1: version"),
        ("version: 1\nentities: [EMAIL_ADDRESS]\nversion: 1\n", "duplicate key 'version'"),
        (
            "version: 1\nentities: [X_ID]\nrecognizers:\n  - name: x\n    entity_type: X_ID\n"
            "    patterns:\n      - {name: p, regex: '(unclosed', score: 0.5}\n",
            "line 7",
        ),
        (
            "version: 1\nentities: [EMAIL_ADDRESS]\n"
            "severity:\n  EMAIL_ADDRESS: {medium: 5, high: 2}\n",
            "high (2) must be at least medium (5)",
        ),
    ],
)
def test_bad_config_names_line_and_key(tmp_path, text, expected):
    with pytest.raises(ConfigError) as err:
        load_pii_config(_write(tmp_path, text))
    assert expected in str(err.value)
    assert "pii.yaml" in str(err.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_pii_config(tmp_path / "nope.yaml")


def test_custom_recognizer_and_deny_list_provide_types(tmp_path):
    cfg = load_pii_config(
        _write(
            tmp_path,
            "version: 1\nentities: [EMPLOYEE_ID, CODENAME]\n"
            "recognizers:\n  - name: emp\n    entity_type: EMPLOYEE_ID\n    patterns:\n"
            "      - {name: emp, regex: 'EMP-\\d{6}', score: 0.9}\n"
            "deny_lists:\n  - {entity_type: CODENAME, terms: [bluebird]}\n",
        )
    )
    assert cfg.entities == ["EMPLOYEE_ID", "CODENAME"]

"""Fixtures of the PII tests: one configuration and one spaCy-backed detector per session."""

from __future__ import annotations

import pytest

from tests.unit.pii._support import raw_dir


@pytest.fixture(scope="session")
def pii_config():
    from audit.pii import load_pii_config

    return load_pii_config(None)


@pytest.fixture(scope="session")
def detector(pii_config):
    from audit.pii import Detector

    return Detector(pii_config)


@pytest.fixture(scope="session")
def pii_raw_dir():
    return raw_dir()

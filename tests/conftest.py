"""Shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SAMPLES = Path(os.environ.get("SOCIALAUDIT_SAMPLES", ROOT / ".cache" / "samples"))


@pytest.fixture(scope="session")
def samples() -> Path:
    """Folder of real sample data fetched by `make data`; skips the test when absent."""
    if not (SAMPLES / "compas.csv").is_file():
        pytest.skip("sample data not fetched (run `make data`)")
    return SAMPLES


def synthetic(n: int = 4000, seed: int = 7) -> pd.DataFrame:
    """A labelled set with a built-in disparity: group 'b' gets more false positives."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c"], n, p=[0.55, 0.35, 0.10])
    sex = rng.choice(["f", "m"], n)
    y = rng.binomial(1, np.where(group == "c", 0.5, 0.35))
    base = 0.25 + 0.45 * y + np.where(group == "b", 0.12, 0.0)
    score = np.clip(base + rng.normal(0, 0.18, n), 0, 1)
    return pd.DataFrame(
        {"id": np.arange(n), "label": y, "score": score, "group": group, "sex": sex}
    )


@pytest.fixture
def synthetic_frame() -> pd.DataFrame:
    return synthetic()

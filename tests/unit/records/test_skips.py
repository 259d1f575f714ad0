"""One skip-reason vocabulary: every code has a meaning, and the docs list every code."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

from audit.records import SKIP_REASONS, SkipReason

ROOT = Path(__file__).resolve().parents[3]


def test_every_code_has_a_meaning_and_is_documented() -> None:
    assert set(SKIP_REASONS) == set(get_args(SkipReason))
    assert all(SKIP_REASONS.values())
    docs = (ROOT / "docs" / "pii.md").read_text(encoding="utf-8")
    assert [code for code in SKIP_REASONS if f"`{code}`" not in docs] == []

"""A toy text moderation model that over-flags one identity term (for CLI tests)."""

from __future__ import annotations


def biased(texts: list[str]) -> list[float]:
    """0.9 for texts mentioning 'muslim' or containing an insult, else 0.2."""
    out = []
    for t in texts:
        low = t.lower()
        out.append(0.9 if ("muslim" in low or "menteur" in low or "liars" in low) else 0.2)
    return out

"""Words for numbers: group names, who a group is, and one plain-language sentence per finding.

In the spirit of AIF360's ``MetricTextExplainer``, but written for the public: a finding says who
is affected, what happens to them, how much more often than the reference group, and how sure
the audit is (from the bootstrap interval of the ratio).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "EU_LANGUAGES",
    "GAP_LABELS",
    "GAP_MEANING",
    "GapClass",
    "Strength",
    "Vocabulary",
    "attr_name",
    "gap_class",
    "group_name",
    "how_often",
    "short_name",
    "strength",
    "subject",
    "vocabulary",
]

Strength = Literal["strong", "likely", "uncertain", "info"]

#: How a group-to-reference ratio is judged: the one vocabulary of charts, tables and sentences.
GapClass = Literal["strong", "likely", "uncertain", "within", "insufficient"]

#: Short labels (legends, table cells, badges).
GAP_LABELS: dict[str, str] = {
    "strong": "strong",
    "likely": "likely",
    "uncertain": "uncertain",
    "within": "within the band",
    "insufficient": "insufficient evidence",
}

#: What each label means, said once in every legend and key.
GAP_MEANING: dict[str, str] = {
    "strong": "the whole interval lies outside the fairness band",
    "likely": "outside the band; the interval excludes parity but reaches into the band",
    "uncertain": "the estimate lies outside the band but its interval includes parity",
    "within": "the estimate lies inside the fairness band",
    "insufficient": "too few cases for a verdict",
}

#: The 24 official languages of the EU (ISO 639-1), named in reports and DSA rows; Art. 42(2)(c)
#: DSA asks very large platforms for accuracy indicators per official language.
EU_LANGUAGES: dict[str, str] = {
    "bg": "Bulgarian",
    "cs": "Czech",
    "da": "Danish",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "et": "Estonian",
    "fi": "Finnish",
    "fr": "French",
    "ga": "Irish",
    "hr": "Croatian",
    "hu": "Hungarian",
    "it": "Italian",
    "lt": "Lithuanian",
    "lv": "Latvian",
    "mt": "Maltese",
    "nl": "Dutch",
    "pl": "Polish",
    "pt": "Portuguese",
    "ro": "Romanian",
    "sk": "Slovak",
    "sl": "Slovenian",
    "sv": "Swedish",
}

#: Attribute names that, in a moderation audit, say which identity a post mentions.
_MENTION_ATTRIBUTES = frozenset(
    {
        "group",
        "identity",
        "identity_group",
        "identity_term",
        "mention",
        "mentions",
        "target",
        "subgroup",
        "targeted_group",
    }
)


#: Short metric names for chart labels.
_SHORT = {
    "fpr": "FPR",
    "fnr": "FNR",
    "tpr": "TPR",
    "tnr": "TNR",
    "selection_rate": "selection rate",
    "fmr": "FMR",
    "fnmr": "FNMR",
    "ndcg": "NDCG",
}


def short_name(metric: str) -> str:
    """``FPR`` for ``fpr``; other metric keys with spaces for underscores."""
    return _SHORT.get(metric, metric.replace("_", " "))


def group_name(value: Any) -> str:
    """``"muslim"`` or ``"muslim & f"`` for an intersection."""
    return " & ".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)


def attr_name(value: Any) -> str:
    """``"group"`` or ``"group × gender"`` for an intersection."""
    return " × ".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)


@dataclass(frozen=True)
class Vocabulary:
    """How an audit kind talks about its items and decisions."""

    noun: str
    flagged: str
    positive: str
    negative: str
    favourable: str


_VOCAB: dict[str, Vocabulary] = {
    "moderation": Vocabulary(
        "posts", "flagged", "that break the rules", "that break no rule", "left up"
    ),
    "classification": Vocabulary(
        "cases", "flagged", "with a positive label", "with a negative label", "not flagged"
    ),
    "ads": Vocabulary("users", "shown the ad", "who qualify", "who do not qualify", "shown the ad"),
    "face": Vocabulary("image pairs", "matched", "that are genuine", "that are impostors", "—"),
    "recommendation": Vocabulary("users", "served", "relevant", "not relevant", "served"),
    # A PII detector evaluation: its groups are the planted names it should find.
    "pii": Vocabulary("planted names", "found", "", "", "—"),
}
_GENERIC = Vocabulary("items", "flagged", "with a positive label", "with a negative label", "—")


def vocabulary(kind: str, positive_outcome: str | None = None) -> Vocabulary:
    """The words of ``kind``; a favourable positive decision is "selected", not "flagged"."""
    v = _VOCAB.get(kind, _GENERIC)
    if positive_outcome == "favourable" and kind in ("classification", "moderation"):
        return Vocabulary(v.noun, "selected", v.positive, v.negative, "selected")
    return v


def subject(
    kind: str,
    attribute: Any,
    group: Any,
    language: str | None = None,
    describe: Mapping[str, str] | None = None,
) -> str:
    """Who a group is, in words: "posts mentioning muslim", "posts in French".

    Parameters
    ----------
    kind
        The audit kind (chooses the noun: posts, cases, users, ...).
    attribute, group
        The slice and the group, as in the result document.
    language
        The document's language column, if any: its groups read "posts in <language>".
    describe
        Overrides per attribute name: a template with ``{group}``, e.g.
        ``{"target": "comments about {group}"}`` (``--describe`` on the command line).
    """
    v = vocabulary(kind)
    key = attr_name(attribute)
    if describe and key in describe:
        return describe[key].format(group=group_name(group))
    if isinstance(attribute, list | tuple):
        parts = " and ".join(f"{a} = {g}" for a, g in zip(attribute, group, strict=False))
        return f"{v.noun} with {parts}"
    if language is not None and attribute == language:
        return f"{v.noun} in {EU_LANGUAGES.get(str(group).lower(), repr(str(group)))}"
    if kind == "moderation" and str(attribute).lower() in _MENTION_ATTRIBUTES:
        return f"{v.noun} mentioning {group}"
    return f"{v.noun} with {attribute} = {group}"


def how_often(ratio: float) -> str:
    """``"3.2× as often as"``, ``"2.3× less often than"``; the reference is what follows."""
    if ratio >= 1:
        return f"{ratio:.1f}× as often as"
    return f"{1 / ratio:.1f}× less often than"


def gap_class(verdict: Any, ratio: Mapping[str, Any] | None, band: tuple[float, float]) -> GapClass:
    """The class of one disparity record: its band verdict, refined by its interval.

    ``within`` and ``insufficient`` are the document's verdicts (``within_band``,
    ``insufficient_evidence``); an ``outside_band`` estimate is ``strong``, ``likely`` or
    ``uncertain`` by :func:`strength`. Anything else (no verdict) counts as insufficient.
    """
    if verdict == "within_band":
        return "within"
    if verdict == "outside_band":
        st = strength(ratio or {}, band)[0]
        return "uncertain" if st == "info" else st
    return "insufficient"


def strength(ratio: Mapping[str, Any], band: tuple[float, float]) -> tuple[Strength, str]:
    """How sure a disparity outside the band is, judged from the interval of its ratio.

    ``strong``: the whole interval lies outside the fairness band; ``likely``: the interval
    excludes parity (1) but reaches into the band; ``uncertain``: it includes parity. Returns the
    strength and a sentence for the last two (empty for ``strong``).
    """
    lo, hi = ratio.get("ci_low"), ratio.get("ci_high")
    if lo is None or hi is None:
        return "uncertain", "No interval could be computed, so how sure this is is unknown."
    if hi < band[0] or lo > band[1]:
        return "strong", ""
    if hi < 1 or lo > 1:
        return "likely", (
            f"The interval reaches into the fairness band [{band[0]:g}, {band[1]:g}], "
            "so the gap may be smaller than it looks."
        )
    return "uncertain", "The interval includes parity, so this gap may be chance."


def log_size(ratio: float | None) -> float:
    """Size of a ratio on a symmetric scale (2× and 0.5× are equally large)."""
    if ratio is None or ratio <= 0 or not math.isfinite(ratio):
        return 0.0
    return abs(math.log(ratio))

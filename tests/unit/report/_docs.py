"""Result documents for the report tests: one real moderation audit and kinds built on it.

The moderation result is a real run of the audit on ``tests/fixtures/moderation_small.csv``
plus a few rows for a group and a language too small to report (suppressed), with names no
other text in the report contains, so a test can find every place they are mentioned. The
face, PII and recommendation documents reuse its core sections and add the section each of
those audits writes, in the shape those audits write (docs/reports.md lists it).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pandas as pd

from tests.conftest import FIXTURES

#: A gender value and a language with fewer rows than the minimum group size (10).
TINY_GROUP = "zzqtiny"
TINY_LANGUAGE = "mt"
TINY_ROWS = {TINY_GROUP: 6, TINY_LANGUAGE: 5}
#: Raw PII planted in a PII result's unmasked "sample": it must never reach a report.
RAW_EMAIL = "jane.roe@example.org"


def moderation_csv(folder: Path) -> Path:
    """The small moderation set plus rows for a tiny gender and a tiny language."""
    df = pd.read_csv(FIXTURES / "moderation_small.csv")
    extra = []
    for i in range(TINY_ROWS[TINY_GROUP]):
        row = df.iloc[i].to_dict()
        extra.append({**row, "id": f"tiny-g-{i}", "gender": TINY_GROUP})
    for i in range(TINY_ROWS[TINY_LANGUAGE]):
        row = df.iloc[10 + i].to_dict()
        extra.append({**row, "id": f"tiny-l-{i}", "lang": TINY_LANGUAGE})
    out = folder / "moderation_tiny.csv"
    pd.concat([df, pd.DataFrame(extra)], ignore_index=True).to_csv(out, index=False)
    return out


def moderation_result(folder: Path) -> dict[str, Any]:
    """A real moderation audit (200 resamples) with suppressed groups and languages."""
    from audit.kinds import run
    from audit.kinds.moderation import ModerationSpec

    spec = ModerationSpec(
        kind="moderation",
        data=str(moderation_csv(folder)),
        id="id",
        label="label",
        score="score",
        groups=["group", "gender"],
        language="lang",
        resamples=200,
        seed=1,
        explain=False,
    )
    return dict(run(spec))


def _with_kind(doc: dict[str, Any], kind: str, keep: str | None = "group") -> dict[str, Any]:
    """A copy of ``doc`` as another kind, keeping only the groups of attribute ``keep``."""
    d = copy.deepcopy(doc)
    d["kind"] = kind
    for key in ("moderation", "threshold_sweep", "explanations"):
        d.pop(key, None)
    for key in ("groups", "disparities", "summary"):
        d[key] = [x for x in d[key] if keep is not None and x["attribute"] == keep]
    d["settings"]["slices"] = [[keep]] if keep else []
    d["settings"]["language"] = None
    d["suppressed_groups"] = [s for s in d["suppressed_groups"] if s["attribute"] == keep]
    return d


def face_result(doc: dict[str, Any]) -> dict[str, Any]:
    """A face-verification result in the face audit's shape: FMR matrix (log10) per slice, DET
    curves per group, the threshold and the counts."""
    d = _with_kind(doc, "face")
    groups = ["christian", "jewish", "muslim", "none"]
    d["settings"].update(
        {
            "positives": "genuine pairs: two images of the same subject",
            "negatives": "impostor pairs: images of two different subjects",
            "attributes": ["group"],
        }
    )
    d["face"] = {
        "threshold": {
            "value": 0.42,
            "score": "distance",
            "rule": "match when distance <= 0.42",
            "mode": "target_fmr",
            "target_fmr": 1e-4,
            "allowed_false_matches": 3,
            "achieved_fmr": 9.1e-5,
            "impostor_pairs": 33000,
            "false_matches": 3,
        },
        "counts": {"images": 800, "subjects": 200, "genuine_pairs": 1200, "impostor_pairs": 33000},
        "fmr_matrix": [
            {
                "attribute": "group",
                "groups": [*groups, TINY_GROUP],
                "log10_fmr": [[-4.1 + 0.3 * i - 0.1 * j for j in range(5)] for i in range(5)],
            }
        ],
        "det": [
            {
                "attribute": None if g == "all" else "group",
                "group": g,
                "fmr": [1e-5, 1e-4, 1e-3, 1e-2],
                "fnmr": [0.2 + k / 20, 0.1, 0.05, 0.01],
            }
            for k, g in enumerate(["all", *groups, TINY_GROUP])
        ],
        "bad_images_total": 0,
        "detection_failures_total": 2,
        "intervals_note": None,
    }
    d["suppressed_groups"] = [
        *d["suppressed_groups"],
        {"attribute": "group", "group": TINY_GROUP, "reason": "fewer than 10 rows"},
    ]
    return d


def pii_result(doc: dict[str, Any]) -> dict[str, Any]:
    """A PII scan result in the PII audit's shape: counts by type and severity, masked samples
    (and one that is not masked), the scope of the scan."""
    d = _with_kind(doc, "pii", keep=None)

    def typ(findings: int, sev: dict[str, int], samples: list[str]) -> dict[str, Any]:
        return {
            "findings": findings,
            "occurrences": findings + 2,
            "records": findings,
            "max_score": 0.95,
            "severity": {"LOW": 0, "MEDIUM": 0, "HIGH": 0, **sev},
            "masked_samples": samples,
        }

    d["pii"] = {
        "records": {"scanned": 1200, "with_pii": 87, "skipped": 0},
        "objects": {
            "seen": 1,
            "skipped": 0,
            "not_sampled": 0,
            "listed": [{"name": "posts.jsonl", "records_read": 1200, "bytes_read": 250000}],
        },
        "findings_total": 69,
        "occurrences_total": 75,
        "severity": {"HIGH": 4, "MEDIUM": 14, "LOW": 51},
        "by_type": {
            "EMAIL_ADDRESS": typ(
                15, {"HIGH": 3, "MEDIUM": 10, "LOW": 2}, ["j***@e***.org", RAW_EMAIL]
            ),
            "PERSON": typ(40, {"LOW": 40}, ["J*** D***"]),
            "PHONE_NUMBER": typ(14, {"HIGH": 1, "MEDIUM": 4, "LOW": 9}, ["+44 **** ***789"]),
        },
        "severity_rule": "per finding (entity type in one record) by occurrence count",
        "findings_file": "out/pii/findings.jsonl",
    }
    return d


def recommendation_result(doc: dict[str, Any]) -> dict[str, Any]:
    """A recommendation result in the recommendation audit's shape: provider-side groups with
    exposure shares, and the catalogue measures in the summary."""
    d = _with_kind(doc, "recommendation", keep=None)

    def provider(group: str, share: float, rel: float, cat: float, ratio: dict[str, Any]) -> dict:
        return {
            "side": "provider",
            "attribute": "label",
            "group": group,
            "n": 120,
            "positives": 60,
            "negatives": 0,
            "metrics": {
                "exposure_share": {"value": share, "ci_low": share - 0.02, "ci_high": share + 0.02},
                "catalogue_share": {"value": cat, "ci_low": None, "ci_high": None},
                "relevance_share": {"value": rel, "ci_low": rel - 0.03, "ci_high": rel + 0.03},
                "exposure_to_relevance_ratio": ratio,
                "exposure_to_catalogue_ratio": {
                    "value": share / cat,
                    "ci_low": None,
                    "ci_high": None,
                },
            },
            "verdicts": {"evidence": "sufficient", "exposure_vs_relevance": "outside_band"},
        }

    d["groups"] = [
        provider("major label", 0.62, 0.45, 0.3, {"value": 1.38, "ci_low": 1.3, "ci_high": 1.45}),
        provider("independent", 0.38, 0.55, 0.7, {"value": 0.69, "ci_low": 0.6, "ci_high": 0.75}),
    ]
    d["settings"]["provider_attributes"] = ["label"]
    d["settings"]["k"] = 10
    d["summary"] = [
        {
            "attribute": "catalogue",
            "metric": "gini_exposure",
            "groups_included": [],
            "value": 0.71,
            "ci_low": None,
            "ci_high": None,
        },
        {
            "attribute": "catalogue",
            "metric": "coverage",
            "groups_included": [],
            "value": 0.34,
            "ci_low": None,
            "ci_high": None,
        },
    ]
    d["provider"] = {"attributes": ["label"], "catalogue_items": 240, "items_recommended": 90}
    return d


def unknown_result(doc: dict[str, Any]) -> dict[str, Any]:
    """A kind this report does not know, with a section it cannot read."""
    d = _with_kind(doc, "speech", keep="gender")
    d["speech"] = {"word_error_rate": 0.12, "notes": ["not read by the report"]}
    return d


def lean(doc: dict[str, Any]) -> dict[str, Any]:
    """Only the ``gender`` slice (it has the suppressed group): a short PDF, same privacy case."""
    d = copy.deepcopy(doc)
    keep = ("gender",)
    d.pop("moderation", None)
    for key in ("groups", "disparities", "summary", "suppressed_groups"):
        d[key] = [x for x in d[key] if x["attribute"] in keep]
    d["settings"]["slices"] = [[a] for a in keep]
    d["settings"]["language"] = None
    d.pop("threshold_sweep", None)
    return d


def blessing(doc_label: str = "moderation") -> dict[str, Any]:
    """A gate decision in the shape ``socialaudit gate --blessing`` writes."""
    obs = {
        "aggregation": "per_group",
        "attribute": "group",
        "baseline_value": None,
        "check": "four-fifths",
        "ci_high": 0.57,
        "ci_low": 0.36,
        "effect": "block",
        "group": "muslim",
        "insufficient": False,
        "kind": "moderation",
        "metric": "impact_ratio",
        "n": 160,
        "reason": "0.455 is below the minimum 0.8",
        "reference": None,
        "result": doc_label,
        "severity": "block",
        "status": "FAIL",
        "threshold": "min 0.8",
        "value": 0.455,
    }
    passing = {
        **obs,
        "group": "christian",
        "status": "PASS",
        "effect": "none",
        "value": 0.9,
        "reason": "0.9 is within min 0.8",
    }
    tiny = {
        **obs,
        "attribute": "gender",
        "group": TINY_GROUP,
        "status": "INSUFFICIENT",
        "value": 0.5,
        "reason": "insufficient evidence",
    }
    return {
        "blessing_version": "1.0.0",
        "decision": "blocked",
        "generated_at": "2026-01-01T00:00:00Z",
        "policy": {
            "id": "default",
            "version": "1.0.0",
            "path": "policies/default.yaml",
            "sha256": "0" * 64,
        },
        "results": [
            {"label": doc_label, "kind": "moderation", "path": "r.json", "sha256": "1" * 64}
        ],
        "baselines": [],
        "counts": {"fail": 1, "pass": 1, "insufficient": 1, "warn": 0, "total": 3},
        "observations": [obs, passing, tiny],
        "skipped": [{"check": "face-fmr-ratio", "kinds": ["face"], "reason": "no face result"}],
    }


def write(folder: Path, name: str, doc: dict[str, Any]) -> Path:
    """Write a document as the CLI would; returns its path."""
    p = folder / f"{name}.json"
    p.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return p

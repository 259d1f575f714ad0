"""Accuracy of the detector itself: span precision, recall and F1, and PERSON recall by group.

Scoring follows the usual span-level conventions (e.g. SemEval-2013 task 9, presidio-evaluator):

* **exact** — a predicted span counts when its type, start and end all equal a gold span's;
* **overlap** — a gold span is recalled when a predicted span of the same type overlaps it by
  at least one character, and a predicted span is correct when it overlaps a gold span of its
  type.

precision = correct predictions / predictions; recall = recalled gold spans / gold spans;
F1 = 2PR / (P + R). A type with no predictions has precision ``None`` (undefined), not 0.

PERSON recall by the name set and gender of the planted identity is computed with the shared
metric engine (:func:`audit.metrics.analyse_groups`, ``tpr``): every planted name is a positive,
"found" (overlap) is the decision, so ``tpr`` is recall, with bootstrap intervals, the
group-to-reference ratios and verdicts every other audit uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.pii._corpus import LabelledPost
from audit.pii._engine import Finding

__all__ = [
    "MATCH_MODES",
    "SPAN_METRICS",
    "SpanScores",
    "person_recall_frame",
    "pii_eval",
    "score_spans",
]

#: Span scores per entity type, each by match mode: summary ``<type>_<metric>_<mode>``.
SPAN_METRICS = ("precision", "recall", "f1")
MATCH_MODES = ("exact", "overlap")


@dataclass
class SpanScores:
    """Counts and scores of one entity type."""

    entity_type: str
    gold: int = 0
    predicted: int = 0
    exact: int = 0
    gold_overlapped: int = 0
    predicted_overlapping: int = 0

    @staticmethod
    def _ratio(a: int, b: int) -> float | None:
        return a / b if b else None

    @staticmethod
    def _f1(p: float | None, r: float | None) -> float | None:
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, Any]:
        pe = self._ratio(self.exact, self.predicted)
        re_ = self._ratio(self.exact, self.gold)
        po = self._ratio(self.predicted_overlapping, self.predicted)
        ro = self._ratio(self.gold_overlapped, self.gold)
        fe: float | None
        fo: float | None
        if self.gold and not self.predicted:
            pe = po = None
            fe = fo = 0.0
        else:
            fe, fo = self._f1(pe, re_), self._f1(po, ro)
        return {
            "gold": self.gold,
            "predicted": self.predicted,
            "exact": {"precision": pe, "recall": re_, "f1": fe, "matched": self.exact},
            "overlap": {
                "precision": po,
                "recall": ro,
                "f1": fo,
                "gold_found": self.gold_overlapped,
                "predicted_correct": self.predicted_overlapping,
            },
        }


def _overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    return a_start < b_end and b_start < a_end


def score_spans(
    posts: Sequence[LabelledPost],
    predictions: Sequence[Sequence[Finding]],
    entities: Sequence[str],
) -> dict[str, SpanScores]:
    """Per-type span counts of ``predictions`` against the gold spans of ``posts``.

    Predictions of types outside ``entities`` are ignored.
    """
    scores = {e: SpanScores(e) for e in entities}
    for post, preds in zip(posts, predictions, strict=True):
        for e, sc in scores.items():
            gold = [(s.start, s.end) for s in post.spans if s.entity_type == e]
            pred = [(f.start, f.end) for f in preds if f.entity_type == e]
            sc.gold += len(gold)
            sc.predicted += len(pred)
            sc.exact += len(set(gold) & set(pred))
            sc.gold_overlapped += sum(any(_overlaps(*g, *p) for p in pred) for g in gold)
            sc.predicted_overlapping += sum(any(_overlaps(*p, *g) for g in gold) for p in pred)
    return scores


def person_recall_frame(
    posts: Sequence[LabelledPost], predictions: Sequence[Sequence[Finding]]
) -> Any:
    """One row per planted name: ``name_set``, ``gender``, ``found`` (overlap), ``exact``."""
    import pandas as pd

    rows = []
    for post, preds in zip(posts, predictions, strict=True):
        pred = [(f.start, f.end) for f in preds if f.entity_type == "PERSON"]
        for s in post.spans:
            if s.entity_type != "PERSON" or s.name_set is None:
                continue
            rows.append(
                {
                    "name_set": s.name_set,
                    "gender": s.gender or "unknown",
                    "found": int(any(_overlaps(s.start, s.end, *p) for p in pred)),
                    "exact": int((s.start, s.end) in pred),
                }
            )
    return pd.DataFrame(rows, columns=["name_set", "gender", "found", "exact"])


# --- the pii-eval audit ---------------------------------------------------------------------


def _default_raw_dir() -> Path:
    import os

    env = os.environ.get("SOCIALAUDIT_SAMPLES")
    base = Path(env) if env else Path(__file__).resolve().parents[2] / ".cache" / "samples"
    return base / "pii"


def _naive_predictions(
    texts: Sequence[str], entities: Sequence[str], model: str
) -> tuple[list[list[Finding]], float]:
    """Presidio's stock engine, one ``analyze`` call per post (the baseline); and its seconds."""
    import time

    from audit.pii._engine import build_presidio_default_analyzer

    analyzer = build_presidio_default_analyzer(model)
    supported = set(analyzer.get_supported_entities(language="en"))
    ents = [e for e in entities if e in supported]
    analyzer.analyze("warm up Jane Doe 555-0100", language="en", entities=ents)
    t0 = time.perf_counter()
    out = [
        [
            Finding(r.entity_type, r.start, r.end, r.score)
            for r in analyzer.analyze(text, language="en", entities=ents)
        ]
        for text in texts
    ]
    return out, time.perf_counter() - t0


def _scores_table(scores: dict[str, SpanScores]) -> dict[str, Any]:
    return {e: s.as_dict() for e, s in scores.items()}


def pii_eval(
    *,
    config: Any,
    corpus: str | Path | None = None,
    raw_dir: str | Path | None = None,
    n: int = 3000,
    seed: int = 0,
    compare_defaults: bool = False,
    workers: int | None = None,
    resamples: int = 1000,
    min_group_size: int = 10,
    min_positives: int = 20,
) -> dict[str, Any]:
    """Measure the detector on a labelled corpus; returns a result document (``kind: "pii"``).

    Parameters
    ----------
    config
        The PII configuration under test.
    corpus
        A labelled JSONL corpus (:func:`~audit.pii._corpus.write_corpus` format); by default
        one of ``n`` posts is generated from presidio-evaluator's raw data with ``seed``.
    raw_dir
        Folder with the raw data (default ``.cache/samples/pii``, see
        ``scripts/fetch_pii_corpus.py``).
    compare_defaults
        Also run Presidio's stock analyzer per post (slow) and report its scores and speed.
    workers
        Detection processes for our detector (default: the config's).
    resamples, min_group_size, min_positives
        Bootstrap resamples and evidence rules of the PERSON-recall breakdown.

    Returns
    -------
    dict
        The result document: ``groups`` / ``disparities`` hold PERSON recall (``tpr``) by
        name set and by gender; ``summary`` holds span P/R/F1 per entity type; the
        ``pii_eval`` section has every count, both matching modes and the throughput.
    """
    import hashlib
    import time
    import warnings

    import numpy as np

    from audit.metrics import BootstrapSettings, EngineSettings, analyse_groups
    from audit.pii._corpus import EVAL_ENTITIES, generate_corpus, load_raw_data, read_corpus
    from audit.pii._engine import DetectorPool
    from audit.results import SCHEMA_VERSION, provenance

    if corpus is not None:
        posts = list(read_corpus(corpus))
        corpus_desc: dict[str, Any] = {"file": str(corpus)}
        from audit.data import file_sha256

        inputs = [{"role": "pii_corpus", "path": str(corpus), "sha256": file_sha256(corpus)}]
    else:
        raw_path = Path(raw_dir) if raw_dir is not None else _default_raw_dir()
        raw = load_raw_data(raw_path)
        posts = generate_corpus(n, raw, seed=seed)
        corpus_desc = {
            "generator": "audit.pii generate_corpus (presidio-evaluator 0.3.2 raw data + Faker)",
            "raw_data": str(raw_path),
            "n": n,
            "seed": seed,
        }
        inputs = []
        for name in ("templates.txt", "FakeNameGenerator.com_3000.csv"):
            from audit.data import file_sha256

            inputs.append(
                {
                    "role": "pii_raw_data",
                    "path": str(raw_path / name),
                    "sha256": file_sha256(raw_path / name),
                }
            )
    entities = [e for e in EVAL_ENTITIES if e in config.entities]
    texts = [p.text for p in posts]
    text_hash = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()

    with DetectorPool(config, workers) as pool:
        pool.detect(["Warm up: Jane Doe, jane@example.com, 555-0100."])
        if pool.workers <= 1:
            pool.detector._cache.clear()
        t0 = time.perf_counter()
        preds = pool.detect(texts)
        ours_seconds = time.perf_counter() - t0
        model = pool.detector.model_info() if pool.workers <= 1 else {"kind": "pii_detector"}
    ours = score_spans(posts, preds, entities)
    throughput: dict[str, Any] = {
        "posts": len(texts),
        "distinct_posts": len(set(texts)),
        "ours_posts_per_second": len(texts) / ours_seconds if ours_seconds else None,
        "ours_workers": pool.workers,
    }
    default_table = None
    default_person: dict[str, Any] | None = None
    if compare_defaults:
        naive, naive_seconds = _naive_predictions(texts, entities, config.ner.model)
        default_table = _scores_table(score_spans(posts, naive, entities))
        nframe = person_recall_frame(posts, naive)
        if len(nframe):
            default_person = {
                "by_name_set": nframe.groupby("name_set")["found"].mean().round(4).to_dict(),
                "by_gender": nframe.groupby("gender")["found"].mean().round(4).to_dict(),
            }
        throughput["presidio_default_posts_per_second"] = len(texts) / naive_seconds
        throughput["speedup"] = naive_seconds / ours_seconds if ours_seconds else None

    frame = person_recall_frame(posts, preds)
    settings = EngineSettings(
        reference="largest",
        min_positives=min_positives,
        min_negatives=0,
        min_group_size=min_group_size,
        positive_outcome="favourable",
        bootstrap=BootstrapSettings(resamples=resamples, seed=seed),
    )
    if len(frame):
        y = np.ones(len(frame), dtype=np.int64)
        with warnings.catch_warnings():
            # Every row is a positive, so the negative-side rates (FPR, ...) are undefined
            # (null in the result) and numpy warns about all-NaN slices.
            warnings.simplefilter("ignore", RuntimeWarning)
            report = analyse_groups(
                y,
                frame["found"].to_numpy(dtype=np.int64),
                frame[["name_set", "gender"]].astype(str),
                [("name_set",), ("gender",)],
                settings,
            ).as_dict()
    else:
        report = {
            "overall": {"n": 0, "metrics": {}},
            "groups": [],
            "suppressed_groups": [],
            "disparities": [],
            "summary": [],
        }
    summary = list(report["summary"])
    for e in entities:
        d = ours[e].as_dict()
        for mode in MATCH_MODES:
            for metric in SPAN_METRICS:
                summary.append(
                    {
                        "attribute": "entity_type",
                        "metric": f"{e.lower()}_{metric}_{mode}",
                        "value": d[mode][metric],
                        "ci_low": None,
                        "ci_high": None,
                        "groups_included": [e],
                    }
                )
    person_exact = None
    if len(frame):
        person_exact = {
            "by_name_set": frame.groupby("name_set")["exact"].mean().round(4).to_dict(),
            "by_gender": frame.groupby("gender")["exact"].mean().round(4).to_dict(),
        }
    doc = {
        "schema_version": SCHEMA_VERSION,
        "kind": "pii",
        "settings": {
            **settings.describe(),
            "mode": "evaluation",
            "entities": entities,
            "score_threshold": config.score_threshold,
            "config": config.path,
            "corpus": corpus_desc,
            "person_recall": "a planted name counts as found when a PERSON span overlaps it",
        },
        **report,
        "summary": summary,
        "pii_eval": {
            "corpus": {**corpus_desc, "posts": len(posts), "texts_sha256": text_hash},
            "matching": {
                "exact": "same type, start and end",
                "overlap": "same type, at least one character in common",
            },
            "ours": _scores_table(ours),
            "presidio_default": default_table,
            "person_recall_exact": person_exact,
            "presidio_default_person_recall": default_person,
            "throughput": throughput,
        },
        "provenance": provenance(
            inputs=inputs,
            model=model,
            seed=seed,
            policy_sha256=config.sha256,
            extra_packages=("presidio-analyzer", "spacy", "faker", "phonenumbers"),
        ),
    }
    return doc

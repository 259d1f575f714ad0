"""Helpers shared by the PII tests (unit, functional, aws): fixture data and the leak check."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
#: Stand-ins for presidio-evaluator's raw data (see data/README.md).
FIXTURE_RAW = Path(__file__).parent / "data"
#: The real raw data, when `scripts/fetch_pii_corpus.py` has run.
REAL_RAW = ROOT / ".cache" / "samples" / "pii"


def raw_dir() -> Path:
    """The real raw data if fetched, else the fixture stand-ins."""
    return REAL_RAW if (REAL_RAW / "templates.txt").is_file() else FIXTURE_RAW


def corpus(n: int = 120, seed: int = 3) -> list[Any]:
    """A small generated corpus (real raw data when fetched)."""
    from audit.pii._corpus import generate_corpus, load_raw_data

    return generate_corpus(n, load_raw_data(raw_dir()), seed=seed)


def planted_values(posts: Iterable[Any], min_len: int = 5) -> set[str]:
    """Every planted PII value of at least ``min_len`` characters."""
    return {p.text[s.start : s.end] for p in posts for s in p.spans if s.end - s.start >= min_len}


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path


def _strings(obj: Any) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def output_texts(path: Path) -> list[str]:
    """The texts of an output file, as a reader of it sees them.

    JSON and JSON Lines: every string (keys and values); CSV and TSV: every cell; Parquet:
    every string cell; anything else: every line.
    """
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return [s for row in pq.read_table(path).to_pylist() for s in _strings(row)]
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return list(_strings(json.loads(text)))
    if path.suffix in (".jsonl", ".ndjson"):
        return [s for line in text.splitlines() if line.strip() for s in _strings(json.loads(line))]
    if path.suffix in (".csv", ".tsv"):
        import csv
        import io

        delimiter = "\t" if path.suffix == ".tsv" else ","
        return [c for row in csv.reader(io.StringIO(text), delimiter=delimiter) for c in row]
    return text.splitlines()


#: SHA-256 digests (provenance), whole or split across lines by a PDF's wrapping: hex runs of 16
#: or more characters with at least one letter. A run of digits alone is never taken for one.
_DIGEST = re.compile(r"(?<![0-9A-Za-z])(?=[0-9a-f]*[a-f])[0-9a-f]{16,64}(?![0-9A-Za-z])")


def _without_digests(text: str) -> str:
    """``text`` with every digest replaced by ``#`` of the same length (offsets unchanged)."""
    return _DIGEST.sub(lambda m: "#" * len(m.group()), text)


def pii_found_in_outputs(paths: Iterable[Path], detector: Any) -> list[tuple[str, str, str]]:
    """Run ``detector`` over every text of every output file; (file, type, masked) per hit."""
    from audit.pii import mask_value

    hits = []
    for p in paths:
        # SHA-256 digests (provenance) are ours, not PII, but their digit runs can look like
        # phone numbers wherever they stand on a line: mask them, keep the rest of the line.
        texts = [_without_digests(t) for t in output_texts(p) if t.strip()]
        for text, spans in zip(texts, detector.detect(texts), strict=True):
            for f in spans:
                hits.append(
                    (p.name, f.entity_type, mask_value(f.entity_type, text[f.start : f.end]))
                )
    return hits

"""The labelled corpus: spans point at exactly the planted values; seeded; cards are valid."""

from __future__ import annotations

import random

import pytest

from audit.exceptions import DataError
from audit.pii._corpus import (
    EVAL_ENTITIES,
    card_number,
    generate_corpus,
    load_raw_data,
    read_corpus,
    write_corpus,
)
from audit.pii._engine import card_valid
from tests.unit.pii._support import FIXTURE_RAW


@pytest.fixture(scope="module")
def raw():
    return load_raw_data(FIXTURE_RAW)


def test_spans_are_exact_and_typed(raw):
    posts = generate_corpus(300, raw, seed=1)
    seen = set()
    for p in posts:
        last_end = -1
        for s in sorted(p.spans, key=lambda s: s.start):
            assert s.entity_type in EVAL_ENTITIES
            value = p.text[s.start : s.end]
            assert value and value == value.strip()
            assert s.start >= last_end, "planted spans never overlap"
            last_end = s.end
            seen.add(s.entity_type)
            if s.entity_type == "PERSON":
                assert s.name_set in {"English", "German", "Japanese", "Czech"}
                assert s.gender in {"female", "male"}
    assert seen == set(EVAL_ENTITIES)
    assert any(not p.spans for p in posts), "some posts carry no PII"


def test_seeded(raw):
    a = [p.as_dict() for p in generate_corpus(50, raw, seed=9)]
    b = [p.as_dict() for p in generate_corpus(50, raw, seed=9)]
    c = [p.as_dict() for p in generate_corpus(50, raw, seed=10)]
    assert a == b and a != c


def test_round_trip(raw, tmp_path):
    posts = generate_corpus(20, raw, seed=2)
    assert list(read_corpus(write_corpus(posts, tmp_path / "c.jsonl"))) == posts


def test_bad_corpus_line_names_the_row(tmp_path):
    p = tmp_path / "c.jsonl"
    p.write_text('{"text": "a", "spans": []}\n{"spans": []}\n', encoding="utf-8")
    with pytest.raises(DataError, match="row 2"):
        list(read_corpus(p))


def test_missing_raw_data_says_how_to_fetch(tmp_path):
    with pytest.raises(DataError, match=r"fetch_pii_corpus\.py"):
        load_raw_data(tmp_path)


@pytest.mark.parametrize(
    ("brand", "length"),
    [("visa19", 19), ("maestro12", 12), ("mastercard2", 16), ("amex", 15), ("visa16", 16)],
)
def test_card_numbers_are_valid(brand, length):
    rng = random.Random(0)
    for _ in range(20):
        digits = "".join(ch for ch in card_number(rng, brand) if ch.isdigit())
        assert len(digits) == length and card_valid(digits)

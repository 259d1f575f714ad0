"""The labelled corpus: spans point at exactly the planted values; seeded; cards are valid."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import random

import faker.providers.date_time as faker_dates
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


class _AnyDatetime(type):
    # Faker checks isinstance(value, datetime) against the class it imported; the stand-in
    # must keep accepting real datetimes (freezegun does the same).
    def __instancecheck__(cls, obj):
        return isinstance(obj, cls.__mro__[1])


def _clock_at(monkeypatch, year: int) -> None:
    """Faker reads "now" through its date_time module's ``datetime`` and ``date``: move both."""

    class Now(dt.datetime, metaclass=_AnyDatetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime(year, 6, 15, 12, 0, 0, tzinfo=tz)

    class Today(dt.date, metaclass=_AnyDatetime):
        @classmethod
        def today(cls):
            return dt.date(year, 6, 15)

    monkeypatch.setattr(faker_dates, "datetime", Now)
    monkeypatch.setattr(faker_dates, "dtdate", Today)


def _digest(posts, tmp_path, name) -> str:
    return hashlib.sha256(write_corpus(posts, tmp_path / name).read_bytes()).hexdigest()


#: Every slot Faker fills with a date (the fixture stand-ins have none of them).
DATED = "{{name}} was born {{date_of_birth}} and posts on {{day_of_week}}s: {{date_time}}, {{year}}"


def test_same_seed_same_bytes_whatever_the_date(raw, tmp_path, monkeypatch):
    """Dates in posts are drawn between fixed bounds (REFERENCE_DATE), never up to "now", so a
    corpus generated in five years is byte-identical to today's."""
    data = dataclasses.replace(raw, templates=[*raw.templates, DATED])
    digests = []
    for year in (2026, 2031):
        _clock_at(monkeypatch, year)
        assert faker_dates.dtdate.today().year == year  # the clock Faker reads did move
        posts = generate_corpus(400, data, seed=5)
        assert any("was born" in p.text for p in posts)
        digests.append(_digest(posts, tmp_path, f"{year}.jsonl"))
    assert digests[0] == digests[1]
    # and a different seed is a different corpus (the digest can fail)
    assert _digest(generate_corpus(400, data, seed=6), tmp_path, "other.jsonl") != digests[0]


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

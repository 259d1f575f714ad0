"""Sampling: seeded, reproducible, uniform starts, no record twice."""

from __future__ import annotations

from collections import Counter

import pytest

from audit.exceptions import ConfigError
from audit.pii import SampleSpec, parse_sample
from audit.pii._sampling import keep_object, sample_records


def test_parse_sample():
    s = parse_sample("objects=0.25, records=10, random_start=true, seed=7")
    assert s == SampleSpec(objects=0.25, records_per_object=10, random_start=True, seed=7)


@pytest.mark.parametrize("bad", ["objects=2", "records=0", "colour=blue", "objects", "seed=x"])
def test_parse_sample_rejects(bad):
    with pytest.raises(ConfigError, match="--sample"):
        parse_sample(bad)


def test_object_share_is_seeded_and_close_to_the_share():
    spec = SampleSpec(objects=0.3, seed=1)
    names = [f"posts/part-{i:05d}.jsonl" for i in range(2000)]
    kept = [n for n in names if keep_object(n, spec)]
    assert kept == [n for n in names if keep_object(n, spec)]
    assert 0.25 < len(kept) / len(names) < 0.35
    assert kept != [n for n in names if keep_object(n, SampleSpec(objects=0.3, seed=2))]


def test_first_records():
    spec = SampleSpec(records_per_object=3)
    assert list(sample_records(range(10), "o", spec)) == [0, 1, 2]
    assert list(sample_records(range(2), "o", spec)) == [0, 1]


@pytest.mark.parametrize("length", [1, 3, 5, 12, 100])
def test_random_start_wraps_without_repeats(length):
    spec = SampleSpec(records_per_object=5, random_start=True, seed=4)
    got = list(sample_records(range(length), "obj", spec))
    assert len(got) == min(5, length) and len(set(got)) == len(got)
    start = got[0]
    assert got == [(start + i) % length for i in range(len(got))]


def test_random_start_is_uniform():
    starts = Counter(
        next(
            iter(
                sample_records(
                    range(8), f"obj{k}", SampleSpec(records_per_object=2, random_start=True)
                )
            )
        )
        for k in range(8000)
    )
    assert set(starts) == set(range(8))
    assert max(starts.values()) / min(starts.values()) < 1.25

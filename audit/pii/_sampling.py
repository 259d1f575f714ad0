"""Sampling a large store: a share of objects, a number of records per object, a random start.

Macie samples large buckets by object; we do the same and go one step further inside each
object. Every choice is seeded and reproducible:

* an object (file, S3 object, DynamoDB scan segment) is kept when a seeded hash of its name
  falls below ``objects`` — the choice does not depend on listing order or on other objects;
* of each kept object, at most ``records_per_object`` records are scanned: the first ones, or,
  with ``random_start``, the ones from a seeded random record onwards (wrapping round to the
  object's start), chosen in one pass with memory for ``2 × records_per_object`` records.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Iterator
from typing import TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from audit.exceptions import ConfigError

__all__ = ["SampleSpec", "keep_object", "parse_sample", "sample_records"]

T = TypeVar("T")


class SampleSpec(BaseModel):
    """How much of a store to scan (``--sample`` of the CLI, ``sample`` of an API request).

    Attributes
    ----------
    objects
        Share of objects scanned, in (0, 1].
    records_per_object
        At most this many records of each object (``None``: all); ``records`` for short, as
        in ``--sample records=N``.
    random_start
        Start each object's records at a seeded random record instead of the first.
    seed
        Seed of every random choice.
    """

    # Built on first use: the CLI and the API import it to describe requests, not to validate.
    model_config = ConfigDict(extra="forbid", defer_build=True)

    objects: float = Field(1.0, gt=0.0, le=1.0)
    records_per_object: int | None = Field(
        None, ge=1, validation_alias=AliasChoices("records_per_object", "records")
    )
    random_start: bool = False
    seed: int = 0

    def describe(self) -> dict[str, object]:
        """The sampling parameters as written in the result."""
        return {
            "objects": self.objects,
            "records_per_object": self.records_per_object,
            "random_start": self.random_start,
            "seed": self.seed,
            "object_selection": "seeded hash of the object name below the share",
        }


_KEYS = {"objects", "records", "records_per_object", "random_start", "random", "seed"}


def parse_sample(text: str) -> SampleSpec:
    """Parse ``--sample`` text: ``objects=0.1,records=100,random_start=true,seed=7``.

    Raises
    ------
    ConfigError
        Naming the bad item.
    """
    fields: dict[str, object] = {}
    for item in (p.strip() for p in text.split(",")):
        if not item:
            continue
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in _KEYS:
            raise ConfigError(
                f"--sample: {item!r} is not KEY=VALUE with KEY one of objects, records, "
                "random_start, seed (e.g. objects=0.1,records=100,random_start=true,seed=7)"
            )
        value = value.strip()
        try:
            if key == "objects":
                fields["objects"] = float(value)
            elif key in ("records", "records_per_object"):
                fields["records_per_object"] = int(value)
            elif key in ("random_start", "random"):
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(value)
                fields["random_start"] = value.lower() in ("true", "1", "yes")
            else:
                fields["seed"] = int(value)
        except ValueError:
            raise ConfigError(f"--sample: bad value in {item!r}") from None
    try:
        return SampleSpec(**fields)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = first["loc"][0] if first["loc"] else "sample"
        raise ConfigError(f"--sample: {where}: {first['msg']}") from None


def keep_object(name: str, spec: SampleSpec | None) -> bool:
    """Whether the object called ``name`` is in the sample."""
    if spec is None or spec.objects >= 1.0:
        return True
    digest = hashlib.sha256(f"{spec.seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < spec.objects


def sample_records(items: Iterable[T], name: str, spec: SampleSpec | None) -> Iterator[T]:
    """The records of one object that are in the sample, in a reproducible order.

    Without ``random_start`` the first ``records_per_object`` are streamed. With it, the
    start index is uniform over the object's records (reservoir-style, in one pass): the
    window runs from the start for ``records_per_object`` records and wraps round to the
    object's first records when the object ends first.
    """
    n = spec.records_per_object if spec is not None else None
    if n is None:
        yield from items
        return
    if not spec or not spec.random_start:
        # Stop after the n-th record without reading an (n+1)-th: a reader that is stopped
        # here has read only what is scanned.
        for i, item in enumerate(items, start=1):
            yield item
            if i >= n:
                return
        return
    rng = random.Random(f"{spec.seed}:{name}")
    head: list[T] = []
    window: list[T] = []
    start = 0
    for i, item in enumerate(items):
        if len(head) < n:
            head.append(item)
        # Record i becomes the start with probability 1/(i+1): uniform over all starts.
        if rng.random() * (i + 1) < 1.0:
            window, start = [item], i
        elif len(window) < n:
            window.append(item)
    yield from window
    # Wrap round: the object's first records, never reaching the start again.
    yield from head[: min(n - len(window), start)]

"""Queue messages (dispatch, batch, aggregate), and the units of a source one batch reads."""

from __future__ import annotations

import functools
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

#: Most units (objects or byte ranges) in one batch message, and most bytes their URIs may
#: take: keeps a message far below SQS's 256 KiB even for many tiny objects with long keys.
MAX_UNITS_PER_BATCH = 500
MAX_MESSAGE_BYTES = 96 * 1024
_UNIT_OVERHEAD = 96  # JSON of one unit besides its URI


class Unit(BaseModel):
    """A piece of a source one batch reads: a whole object, or ``[start, end)`` bytes of a
    JSON-lines object (a line belongs to the range its first byte falls in)."""

    model_config = ConfigDict(extra="forbid")

    uri: str
    format: Literal["jsonl", "csv", "tsv", "parquet"]
    start: int = Field(default=0, ge=0)
    end: int | None = Field(default=None, ge=0)
    size: int = Field(default=0, ge=0)
    #: Objects of the source a sampled plan left out: set on the plan's first unit only, so
    #: the count enters the result once (``pii.objects.not_sampled``).
    not_sampled: int = Field(default=0, ge=0)


class DispatchMessage(BaseModel):
    """Plan the scan's batches and enqueue them."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["dispatch"] = "dispatch"
    scan_id: str = Field(min_length=1, max_length=64)


class BatchMessage(BaseModel):
    """Run one batch of a scan."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["batch"] = "batch"
    scan_id: str = Field(min_length=1, max_length=64)
    batch_id: int = Field(ge=1)
    units: list[Unit] = Field(default_factory=list, max_length=MAX_UNITS_PER_BATCH)


class AggregateMessage(BaseModel):
    """Merge the partial results of a scan whose batches have all finished."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["aggregate"] = "aggregate"
    scan_id: str = Field(min_length=1, max_length=64)


Message = Annotated[DispatchMessage | BatchMessage | AggregateMessage, Field(discriminator="type")]


@functools.cache
def _message_adapter() -> TypeAdapter[DispatchMessage | BatchMessage | AggregateMessage]:
    return TypeAdapter(Message)


def parse_message(body: Any) -> DispatchMessage | BatchMessage | AggregateMessage:
    """Validate a queue message body (a dict or its JSON text)."""
    if isinstance(body, str | bytes):
        return _message_adapter().validate_json(body)
    return _message_adapter().validate_python(body)

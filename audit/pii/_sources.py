"""Where stored posts come from: local files and folders, S3 prefixes, DynamoDB tables.

Files and S3 objects are read by :class:`audit.records.ObjectReader` — the reader the fan-out
uses too — streamed, with every bad record (or object) a :class:`RawRecord` with a ``reason``
and no data, counted and listed as skipped; DynamoDB is read page by page.

Every object's bytes are hashed as they are read (SHA-256), for provenance; for DynamoDB the
hash is over the canonical JSON of the items read, in scan order. S3 ETags are recorded too,
but an ETag is an MD5 (or a hash of part hashes), not a content SHA-256.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from audit.exceptions import ConfigError, DataError
from audit.inputs import FORMATS, aws_client, local_files
from audit.pii._sampling import SampleSpec, keep_object, sample_records
from audit.records import Format, ObjectReader, Record

__all__ = ["ObjectInfo", "RawRecord", "iter_source", "object_records", "parse_source"]


#: Segments a DynamoDB table is split into when only a share of it is scanned.
DYNAMODB_SEGMENTS = 20


@dataclass
class ObjectInfo:
    """One object read: a file, an S3 object or a DynamoDB table (segment)."""

    name: str
    fmt: str
    size: int | None = None
    etag: str | None = None
    sha256: str | None = None
    hash_of: str = "bytes read"
    bytes_read: int = 0
    records_read: int = 0
    schema: Any = None  # the Parquet schema, kept for redacted copies

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "format": self.fmt,
            "sha256": self.sha256,
            "hash_of": self.hash_of,
            "bytes_read": self.bytes_read,
            "records_read": self.records_read,
        }
        if self.etag:
            out["etag"] = self.etag
        return out


@dataclass
class RawRecord:
    """A record read from an object, or the reason it could not be read.

    ``index`` is 1-based within the object (the line of a JSONL file, the data row of a CSV
    file, the row of a Parquet file, the item of a scan); 0 when the whole object is skipped.
    """

    obj: ObjectInfo
    index: int
    data: dict[str, Any] | None = None
    reason: str | None = None
    detail: str | None = None


@dataclass
class _Source:
    kind: str  # local, s3, dynamodb
    location: str
    bucket: str = ""
    prefix: str = ""
    table: str = ""
    path: Path = field(default_factory=Path)


def parse_source(source: str) -> _Source:
    """Split ``PATH``, ``s3://bucket/prefix`` or ``dynamodb://table``."""
    if source.startswith("s3://"):
        rest = source[5:]
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise ConfigError(f"--source {source!r}: name a bucket, e.g. s3://bucket/prefix")
        return _Source("s3", source, bucket=bucket, prefix=prefix)
    if source.startswith("dynamodb://"):
        table = source[len("dynamodb://") :].strip("/")
        if not table:
            raise ConfigError(f"--source {source!r}: name a table, e.g. dynamodb://posts")
        return _Source("dynamodb", source, table=table)
    if "://" in source:
        raise ConfigError(
            f"--source {source!r}: give a local path, s3://bucket/prefix or dynamodb://table"
        )
    p = Path(source)
    if not p.exists():
        raise DataError("no such file or folder", file=source)
    return _Source("local", source, path=p)


# --- reading objects ------------------------------------------------------------------------

#: What an ``unsupported_file`` skip says.
UNSUPPORTED = "not a record file: use " + ", ".join(sorted(FORMATS))


def object_records(
    reader: ObjectReader,
    obj: ObjectInfo,
    *,
    sample: SampleSpec | None = None,
    sample_name: str | None = None,
    tap: Callable[[Iterable[Record]], Iterable[Record]] | None = None,
) -> Iterator[RawRecord]:
    """The records of one object (or byte range) as ``obj``'s, sampled, then its provenance.

    What the CLI does per file or S3 object and the fan-out per unit: ``obj.records_read``
    counts the records read (readable or not), and when the records stop — all read, or the
    sample's window full — the rest is read past so ``obj.sha256`` and ``obj.bytes_read``
    are those of the whole object (of a byte range: its own lines). ``tap`` sees every
    record the reader gives, before sampling (the fan-out's read statistics).
    """
    records: Iterable[Record] = reader if tap is None else tap(reader)

    def raw() -> Iterator[RawRecord]:
        for r in records:
            if obj.schema is None:
                obj.schema = reader.schema  # a redacted Parquet copy keeps it
            yield RawRecord(obj, r.index, r.data, r.reason, r.detail)

    for rec in sample_records(raw(), sample_name or obj.name, sample):
        if rec.index > 0:
            obj.records_read += 1
        yield rec
    reader.finish()
    obj.sha256 = reader.sha256
    obj.bytes_read = reader.bytes_read


def _fmt(name: str) -> Format | None:
    return cast("Format | None", FORMATS.get(Path(name).suffix.lower()))


def _open_file(path: Path) -> Callable[[int], Any]:
    def open_at(offset: int) -> Any:
        fh = open(path, "rb")  # noqa: SIM115 - the reader closes it
        fh.seek(offset)
        return fh

    return open_at


def _local(
    src: _Source, config: Any, sample: SampleSpec | None, objects: list[ObjectInfo]
) -> Iterator[RawRecord]:
    base = src.path if src.path.is_dir() else src.path.parent
    for p in local_files(src.path):
        name = p.relative_to(base).as_posix() if src.path.is_dir() else p.name
        if not keep_object(name, sample):
            yield RawRecord(ObjectInfo(name, "-"), -1, reason="not_sampled")
            continue
        fmt = _fmt(p.name)
        obj = ObjectInfo(name, fmt or "unknown", size=p.stat().st_size)
        objects.append(obj)
        if fmt is None:
            yield RawRecord(obj, 0, reason="unsupported_file", detail=UNSUPPORTED)
            continue
        reader = ObjectReader(_open_file(p), fmt, max_record_bytes=config.max_record_bytes)
        with reader:
            yield from object_records(reader, obj, sample=sample)


def _aws_error(exc: Exception, what: str) -> DataError:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
    return DataError(f"{what}: AWS error {code}; check the name, the region and your credentials")


def _s3(
    src: _Source, config: Any, sample: SampleSpec | None, client: Any, objects: list[ObjectInfo]
) -> Iterator[RawRecord]:
    from botocore.exceptions import BotoCoreError, ClientError

    s3 = aws_client("s3", client)
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=src.bucket, Prefix=src.prefix)
        for page in pages:
            for item in page.get("Contents", []):
                key = item["Key"]
                if key.endswith("/"):
                    continue
                if not keep_object(key, sample):
                    yield RawRecord(ObjectInfo(key, "-"), -1, reason="not_sampled")
                    continue
                fmt = _fmt(key)
                obj = ObjectInfo(
                    key, fmt or "unknown", size=item.get("Size"), etag=item.get("ETag", "")
                )
                objects.append(obj)
                if fmt is None:
                    yield RawRecord(obj, 0, reason="unsupported_file", detail=UNSUPPORTED)
                    continue
                body = s3.get_object(Bucket=src.bucket, Key=key)["Body"]

                def open_at(offset: int, body: Any = body) -> Any:
                    assert offset == 0  # the CLI reads whole objects
                    return body

                reader = ObjectReader(open_at, fmt, max_record_bytes=config.max_record_bytes)
                with reader:
                    yield from object_records(reader, obj, sample=sample)
    except ClientError as exc:
        raise _aws_error(exc, f"s3://{src.bucket}/{src.prefix}") from None
    except BotoCoreError as exc:
        raise DataError(f"s3://{src.bucket}/{src.prefix}: {exc}") from None


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_plain(v) for v in value), key=str)
    if isinstance(value, bytes | bytearray):
        return None
    if hasattr(value, "value") and isinstance(value.value, bytes):  # boto3 Binary
        return None
    return value


def _dynamodb(
    src: _Source, config: Any, sample: SampleSpec | None, client: Any, objects: list[ObjectInfo]
) -> Iterator[RawRecord]:
    from boto3.dynamodb.types import TypeDeserializer
    from botocore.exceptions import BotoCoreError, ClientError

    client = aws_client("dynamodb", client)
    deser = TypeDeserializer()
    if sample is None or sample.objects >= 1.0:
        segments: list[tuple[str, dict[str, int]]] = [(src.table, {})]
    else:
        segments = []
        for seg in range(DYNAMODB_SEGMENTS):
            name = f"{src.table}#segment-{seg}-of-{DYNAMODB_SEGMENTS}"
            if keep_object(name, sample):
                segments.append((name, {"Segment": seg, "TotalSegments": DYNAMODB_SEGMENTS}))
            else:
                yield RawRecord(ObjectInfo(name, "-"), -1, reason="not_sampled")
    try:
        for name, extra in segments:
            obj = ObjectInfo(name, "dynamodb", hash_of="canonical JSON of the items read")
            objects.append(obj)
            h = hashlib.sha256()

            def items(
                obj: ObjectInfo = obj, extra: dict[str, int] = extra, h: Any = h
            ) -> Iterator[RawRecord]:
                index = 0
                paging = {"PageSize": config.scan_page_size} if config.scan_page_size else {}
                pages = client.get_paginator("scan").paginate(
                    TableName=src.table, PaginationConfig=paging, **extra
                )
                for page in pages:
                    for item in page.get("Items", []):
                        index += 1
                        data = _plain({k: deser.deserialize(v) for k, v in item.items()})
                        line = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
                        encoded = line.encode("utf-8") + b"\n"
                        h.update(encoded)
                        obj.bytes_read += len(encoded)
                        yield RawRecord(obj, index, data=data)

            for rec in sample_records(items(), name, sample):
                obj.records_read += 1
                yield rec
            obj.sha256 = h.hexdigest()
    except ClientError as exc:
        raise _aws_error(exc, f"dynamodb://{src.table}") from None
    except BotoCoreError as exc:
        raise DataError(f"dynamodb://{src.table}: {exc}") from None


def iter_source(
    source: str,
    *,
    config: Any,
    sample: SampleSpec | None = None,
    s3_client: Any = None,
    dynamodb_client: Any = None,
    objects: list[ObjectInfo] | None = None,
) -> Iterator[RawRecord]:
    """Stream the records of a source, sampled.

    Records outside the sample of a kept object are not yielded at all; an object outside
    the sample yields one record with ``reason="not_sampled"`` and ``index == -1``. Each
    object in the sample is appended to ``objects`` when it is opened, whether or not it
    holds a record.
    """
    src = parse_source(source)
    seen: list[ObjectInfo] = [] if objects is None else objects
    if src.kind == "local":
        yield from _local(src, config, sample, seen)
    elif src.kind == "s3":
        yield from _s3(src, config, sample, s3_client, seen)
    else:
        yield from _dynamodb(src, config, sample, dynamodb_client, seen)

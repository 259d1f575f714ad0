"""Where stored posts come from: local files and folders, S3 prefixes, DynamoDB tables.

Everything is streamed: JSON Lines and CSV are read line by line through a bounded buffer (a
line longer than ``max_record_bytes`` is skipped without being held in memory), Parquet in
record batches, S3 objects from their HTTP body, DynamoDB page by page. Bad input never stops
a scan: each bad record (or object) becomes a :class:`RawRecord` with a ``reason`` and no data,
and is counted and listed as skipped.

Every object's bytes are hashed as they are read (SHA-256), for provenance; for DynamoDB the
hash is over the canonical JSON of the items read, in scan order. S3 ETags are recorded too,
but an ETag is an MD5 (or a hash of part hashes), not a content SHA-256.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from audit.exceptions import ConfigError, DataError
from audit.inputs import FORMATS, aws_client
from audit.pii._sampling import SampleSpec, keep_object, sample_records

__all__ = [
    "ObjectInfo",
    "RawRecord",
    "get_path",
    "iter_source",
    "parse_source",
    "set_path",
]


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


# --- nested fields -------------------------------------------------------------------------

_MISSING = object()


def get_path(record: dict[str, Any], path: str) -> Any:
    """The value at a dotted path (``user.post.text``); a literal key with dots wins."""
    if path in record:
        return record[path]
    cur: Any = record
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return _MISSING
    return cur


def set_path(record: dict[str, Any], path: str, value: Any) -> None:
    """Set the value at a dotted path found by :func:`get_path` (in place)."""
    if path in record:
        record[path] = value
        return
    parts = path.split(".")
    cur: Any = record
    for part in parts[:-1]:
        cur = cur[int(part)] if isinstance(cur, list) else cur[part]
    last = parts[-1]
    if isinstance(cur, list):
        cur[int(last)] = value
    else:
        cur[last] = value


def is_missing(value: Any) -> bool:
    """Whether :func:`get_path` found nothing."""
    return value is _MISSING


# --- reading bytes with a hash -------------------------------------------------------------


class _HashingRaw(io.RawIOBase):
    """A raw stream over ``read(n)`` that hashes and counts every byte it returns."""

    def __init__(self, read: Callable[[int], bytes], obj: ObjectInfo) -> None:
        self._read = read
        self._obj = obj
        self._hash = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self._read(len(b))
        n = len(data)
        b[:n] = data
        self._hash.update(data)
        self._obj.bytes_read += n
        return n

    def finish(self) -> None:
        # Read what is left (a sampled object is still hashed in full), then record the hash.
        while True:
            data = self._read(1 << 20)
            if not data:
                break
            self._hash.update(data)
            self._obj.bytes_read += len(data)
        self._obj.sha256 = self._hash.hexdigest()


def _records_from_stream(raw: _HashingRaw, obj: ObjectInfo, max_bytes: int) -> Iterator[RawRecord]:
    reader = io.BufferedReader(raw, buffer_size=1 << 16)
    head = reader.peek(8192)[:8192]
    if not head:
        yield RawRecord(obj, 0, reason="empty_file", detail="the file is empty")
        return
    if b"\x00" in head:
        yield RawRecord(
            obj,
            0,
            reason="binary_file",
            detail=f"NUL bytes: not {obj.fmt} text in the utf-8 encoding (save it as utf-8)",
        )
        return
    if obj.fmt == "jsonl":
        yield from _jsonl(reader, obj, max_bytes)
    else:
        yield from _csv(reader, obj, max_bytes)


def _jsonl(reader: Any, obj: ObjectInfo, max_bytes: int) -> Iterator[RawRecord]:
    index = 0
    while True:
        line = reader.readline(max_bytes + 1)
        if not line:
            return
        index += 1
        if len(line) > max_bytes and not line.endswith(b"\n"):
            while True:  # drain the rest of the line without keeping it
                chunk = reader.readline(1 << 20)
                if not chunk or chunk.endswith(b"\n"):
                    break
            yield RawRecord(
                obj, index, reason="record_too_large", detail=f"line longer than {max_bytes} bytes"
            )
            continue
        if not line.strip():
            continue  # a blank line is no record; ``index`` stays the line number
        try:
            text = line.decode("utf-8-sig" if index == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            yield RawRecord(
                obj, index, reason="undecodable", detail=f"not utf-8: byte {exc.start} of the line"
            )
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            yield RawRecord(
                obj, index, reason="malformed_json", detail=f"{exc.msg} at column {exc.colno}"
            )
            continue
        if not isinstance(data, dict):
            yield RawRecord(
                obj, index, reason="not_an_object", detail=f"a JSON {type(data).__name__}"
            )
            continue
        yield RawRecord(obj, index, data=data)


def _csv(reader: Any, obj: ObjectInfo, max_bytes: int) -> Iterator[RawRecord]:
    text = io.TextIOWrapper(reader, encoding="utf-8-sig", errors="surrogateescape", newline="")
    csv.field_size_limit(max(max_bytes, 131072))
    rows = csv.reader(text, delimiter="\t" if obj.fmt == "tsv" else ",")
    try:
        header = next(rows)
    except StopIteration:
        yield RawRecord(obj, 0, reason="empty_file", detail="no header row")
        return
    except csv.Error as exc:
        yield RawRecord(obj, 0, reason="malformed_csv", detail=f"header: {exc}")
        return
    index = 0
    while True:
        index += 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RawRecord(obj, index, reason="malformed_csv", detail=str(exc))
            continue
        if not row:
            index -= 1
            continue
        try:
            for v in row:
                v.encode("utf-8")
        except UnicodeEncodeError:
            yield RawRecord(obj, index, reason="undecodable", detail="not utf-8")
            continue
        if sum(len(v) for v in row) > max_bytes:
            yield RawRecord(
                obj, index, reason="record_too_large", detail=f"row longer than {max_bytes} bytes"
            )
            continue
        yield RawRecord(obj, index, data=dict(zip(header, row, strict=False)))


def _parquet(path_or_file: Any, obj: ObjectInfo) -> Iterator[RawRecord]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path_or_file)
    except (pa.ArrowException, OSError) as exc:
        yield RawRecord(obj, 0, reason="unreadable_parquet", detail=type(exc).__name__)
        return
    obj.schema = pf.schema_arrow
    index = 0
    try:
        for batch in pf.iter_batches(batch_size=1024):
            for row in batch.to_pylist():
                index += 1
                yield RawRecord(obj, index, data=row)
    except (pa.ArrowException, OSError) as exc:
        yield RawRecord(obj, index + 1, reason="unreadable_parquet", detail=type(exc).__name__)


# --- the three kinds of source -------------------------------------------------------------


def _local_files(src: _Source) -> Iterator[Path]:
    if src.path.is_file():
        yield src.path
        return
    for p in sorted(src.path.rglob("*")):
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(src.path).parts):
            yield p


def _fmt(name: str) -> str | None:
    return FORMATS.get(Path(name).suffix.lower())


def _local(src: _Source, config: Any, sample: SampleSpec | None) -> Iterator[RawRecord]:
    base = src.path if src.path.is_dir() else src.path.parent
    for p in _local_files(src):
        name = str(p.relative_to(base)) if src.path.is_dir() else p.name
        if not keep_object(name, sample):
            yield RawRecord(ObjectInfo(name, "-"), -1, reason="not_sampled")
            continue
        fmt = _fmt(p.name)
        obj = ObjectInfo(name, fmt or "unknown", size=p.stat().st_size)
        if fmt is None:
            yield RawRecord(
                obj, 0, reason="unsupported_file", detail="not .jsonl, .csv, .tsv or .parquet"
            )
            continue
        if fmt == "parquet":
            from audit.data import file_sha256

            obj.sha256 = file_sha256(p)
            obj.bytes_read = obj.size or 0
            yield from _counted(sample_records(_parquet(p, obj), name, sample), obj)
            continue
        with open(p, "rb") as fh:
            raw = _HashingRaw(fh.read, obj)
            records = _records_from_stream(raw, obj, config.max_record_bytes)
            yield from _counted(sample_records(records, name, sample), obj)
            raw.finish()


def _counted(records: Iterator[RawRecord], obj: ObjectInfo) -> Iterator[RawRecord]:
    for r in records:
        if r.index > 0:
            obj.records_read += 1
        yield r


def _aws_error(exc: Exception, what: str) -> DataError:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
    return DataError(f"{what}: AWS error {code}; check the name, the region and your credentials")


def _s3(src: _Source, config: Any, sample: SampleSpec | None, client: Any) -> Iterator[RawRecord]:
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
                if fmt is None:
                    yield RawRecord(
                        obj, 0, reason="unsupported_file", detail="not .jsonl, .csv or .parquet"
                    )
                    continue
                body = s3.get_object(Bucket=src.bucket, Key=key)["Body"]
                try:
                    if fmt == "parquet":
                        # Parquet needs random access: spool to a temporary file.
                        with tempfile.TemporaryFile() as tmp:
                            raw = _HashingRaw(body.read, obj)
                            while chunk := raw.read(1 << 20):
                                tmp.write(chunk)
                            raw.finish()
                            tmp.seek(0)
                            records = sample_records(_parquet(tmp, obj), key, sample)
                            yield from _counted(records, obj)
                        continue
                    raw = _HashingRaw(body.read, obj)
                    records = _records_from_stream(raw, obj, config.max_record_bytes)
                    yield from _counted(sample_records(records, key, sample), obj)
                    raw.finish()
                finally:
                    body.close()
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
    src: _Source, config: Any, sample: SampleSpec | None, client: Any
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
                        h.update(line.encode("utf-8") + b"\n")
                        obj.bytes_read += len(line) + 1
                        yield RawRecord(obj, index, data=data)

            yield from _counted(sample_records(items(), name, sample), obj)
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
) -> Iterator[RawRecord]:
    """Stream the records of a source, sampled.

    Records outside the sample of a kept object are not yielded at all; an object outside
    the sample yields one record with ``reason="not_sampled"`` and ``index == -1``.
    """
    src = parse_source(source)
    if src.kind == "local":
        yield from _local(src, config, sample)
    elif src.kind == "s3":
        yield from _s3(src, config, sample, s3_client)
    else:
        yield from _dynamodb(src, config, sample, dynamodb_client)

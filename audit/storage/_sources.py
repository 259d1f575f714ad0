"""What a scan reads (local paths, ``s3://`` objects) and where it may write its own outputs."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, cast

from audit.exceptions import ConfigError, DataError
from audit.inputs import FORMATS, local_files
from audit.storage._aws_clients import _error_code, aws_clients
from audit.storage._settings import Settings

#: Where, in the results bucket, the aws backend writes what a scan writes besides its result
#: (PII findings parts, redacted copies): the worker's IAM policy covers that bucket.
OUTPUTS_PREFIX = "outputs/"


@dataclass(frozen=True)
class SourceObject:
    """One object (file) of a source: where it is, how big it is, what it holds."""

    uri: str
    size: int
    format: str | None


def _format_of(name: str) -> str | None:
    return FORMATS.get(Path(name).suffix.lower())


def _split_s3(uri: str) -> tuple[str, str]:
    rest = uri.removeprefix("s3://")
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise ConfigError(f"not an s3:// URI with a bucket: {uri!r}")
    return bucket, key


@dataclass
class Sources:
    """Access to the data a scan reads — local paths (local mode) and ``s3://`` URIs — and the
    rules for where it may write outputs of its own (PII findings, redacted copies).

    Parameters
    ----------
    allow_local
        Whether local paths may be read and written (``False`` on AWS: a Lambda has no user
        files).
    settings
        For the S3 client's region and endpoint.
    s3
        A boto3 S3 client; built from ``settings`` on first use when not given.
    """

    allow_local: bool
    settings: Settings = field(default_factory=lambda: Settings())
    s3: Any = None

    def _client(self) -> Any:
        if self.s3 is None:
            self.s3 = aws_clients(self.settings)["s3"]
        return self.s3

    def s3_client(self) -> Any:
        """The boto3 S3 client sources are read with, for writers to use too."""
        return self._client()

    def check_destination(self, uri: str, field: str, *, source: str) -> None:
        """Refuse a place this backend must not write a scan's outputs to.

        On the aws backend outputs go under ``s3://<results bucket>/outputs/`` only — the one
        place the worker's IAM policy lets it write. Locally, an ``s3://`` URI or an absolute
        folder outside ``$SOCIALAUDIT_HOME``. Never inside ``source``: the next scan of it
        would read the outputs as posts.

        Raises
        ------
        ConfigError
            Naming ``field``, the URI and what to give instead.
        """
        where = f"{field} {uri!r}"
        if uri.startswith("s3://"):
            bucket, key = _split_s3(uri)
            if self.settings.backend == "aws" and (
                bucket != self.settings.bucket or not key.startswith(OUTPUTS_PREFIX)
            ):
                raise ConfigError(
                    f"{where}: on AWS a scan writes under s3://{self.settings.bucket}/"
                    f"{OUTPUTS_PREFIX} only (the results bucket, which the workers may write); "
                    f"give e.g. s3://{self.settings.bucket}/{OUTPUTS_PREFIX}{field}/"
                )
            if source.startswith("s3://"):
                src_bucket, src_prefix = _split_s3(source)
                if bucket == src_bucket and key.startswith(src_prefix):
                    raise ConfigError(
                        f"{where}: inside the source {source}; a later scan would read the "
                        "outputs as posts: give a prefix outside it"
                    )
            return
        if "://" in uri:
            raise ConfigError(f"{where}: give an s3:// URI or, in local mode, a local folder")
        if not self.allow_local:
            raise ConfigError(f"{where}: the aws backend writes s3:// URIs only, not local paths")
        path = Path(uri)
        if not path.is_absolute():
            raise ConfigError(
                f"{where}: give an absolute path (the server's working folder is not yours)"
            )
        if path.is_file():
            raise ConfigError(f"{where}: a file is there; give a folder")
        resolved = path.resolve()
        home = Path(self.settings.home).resolve()
        if resolved == home or home in resolved.parents:
            raise ConfigError(f"{where}: inside the server's data folder {home}: give another")
        if "://" not in source and Path(source).is_dir():
            src = Path(source).resolve()
            if resolved == src or src in resolved.parents:
                raise ConfigError(
                    f"{where}: inside the source {source}; a later scan would read the "
                    "outputs as posts: give a folder outside it"
                )

    def check(self, uri: str, field: str = "source") -> None:
        """Refuse an input this backend cannot read, naming the field and what to give."""
        if uri.startswith("s3://"):
            _split_s3(uri)
            return
        if "://" in uri:
            raise ConfigError(f"{field} {uri!r}: give a local path or an s3:// URI")
        if not self.allow_local:
            raise ConfigError(
                f"{field} {uri!r}: the aws backend reads s3:// URIs only, not local paths"
            )

    def list(self, uri: str) -> list[SourceObject]:
        """Every object of a source (a file, a folder, an S3 key or prefix), sorted by URI (a
        folder in path order, without hidden files, as ``socialaudit pii`` reads it)."""
        self.check(uri)
        if uri.startswith("s3://"):
            bucket, prefix = _split_s3(uri)
            out = []
            pages = (
                self._client()
                .get_paginator("list_objects_v2")
                .paginate(Bucket=bucket, Prefix=prefix)
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    key = obj["Key"]
                    if key.endswith("/"):
                        continue
                    out.append(SourceObject(f"s3://{bucket}/{key}", obj["Size"], _format_of(key)))
            return sorted(out, key=lambda o: o.uri)
        path = Path(uri)
        if path.exists():  # the files `socialaudit pii` reads, in its order
            return [
                SourceObject(str(p), p.stat().st_size, _format_of(p.name))
                for p in local_files(path)
            ]
        raise DataError("source not found: give an existing file or folder", file=uri)

    def open(self, uri: str, start: int = 0) -> BinaryIO:
        """A binary stream of the object from byte ``start`` (an S3 ranged GET)."""
        self.check(uri)
        if uri.startswith("s3://"):
            bucket, key = _split_s3(uri)
            kw: dict[str, Any] = {"Bucket": bucket, "Key": key}
            if start:
                kw["Range"] = f"bytes={start}-"
            try:
                body = self._client().get_object(**kw)["Body"]
            except Exception as exc:
                if _error_code(exc) in ("NoSuchKey", "404", "NoSuchBucket"):
                    raise DataError("object not found", file=uri) from None
                raise
            return cast(BinaryIO, _StreamingReader(body))
        try:
            f = open(uri, "rb")  # noqa: SIM115 - returned to the caller, who closes it
        except FileNotFoundError:
            raise DataError("file not found", file=uri) from None
        f.seek(start)
        return f


class _StreamingReader(io.RawIOBase):
    """A botocore StreamingBody as a file object (``read``, ``readinto``, ``close``)."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self._body.read(len(b))
        b[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()


def iter_chunks(stream: BinaryIO, size: int = 1 << 20) -> Iterator[bytes]:
    """Read a stream in chunks until it ends."""
    while chunk := stream.read(size):
        yield chunk

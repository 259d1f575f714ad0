"""Where input files come from: a local path, or an ``s3://bucket/key`` object.

Every audit reads its test set, manifest, embeddings or model file through :func:`local_path`
(tables, arrays, model files: read whole) or :func:`read_bytes` (one image), so an input can be
named by an S3 URI wherever a path is accepted — what a scan on AWS Lambda needs, where the
data lives in S3. An S3 object is downloaded once per process and version (its ETag) into a
private temporary folder; the URI, not the temporary path, is what results record.

The endpoint comes from ``SOCIALAUDIT_AWS_ENDPOINT_URL`` (see :mod:`audit.storage`) or boto3's
own ``AWS_ENDPOINT_URL``, e.g. a moto_server in the tests.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from audit.exceptions import DataError

__all__ = [
    "FORMATS",
    "aws_client",
    "file_sha256",
    "is_s3",
    "join",
    "local_files",
    "local_path",
    "read_bytes",
]

#: Record formats by file suffix: what every reader of tables and stored posts accepts.
FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def local_files(path: Path) -> Iterator[Path]:
    """The files a local source holds: ``path`` itself, or every file below the folder in
    path order, leaving out hidden ones (any part of the path below it starting with ``.``)."""
    if path.is_file():
        yield path
        return
    for p in sorted(path.rglob("*")):
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts):
            yield p


_ENDPOINT_VARS = ("SOCIALAUDIT_AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL")

_lock = threading.Lock()
_downloaded: dict[tuple[str, str], Path] = {}  # (uri, etag) -> local copy
_tmp: Path | None = None


def is_s3(path: str | Path) -> bool:
    """Whether ``path`` names an S3 object or prefix (``s3://...``)."""
    return str(path).startswith("s3://")


def join(root: str | Path, relative: str) -> str | Path:
    """``relative`` under ``root``: a path, or a URI when ``root`` is an ``s3://`` prefix."""
    if is_s3(root):
        return str(root).rstrip("/") + "/" + relative.lstrip("/")
    return Path(root) / relative


def _endpoint() -> str | None:
    return next((os.environ[v] for v in _ENDPOINT_VARS if os.environ.get(v)), None)


def aws_client(service: str, client: Any = None) -> Any:
    """``client`` if given, else a new boto3 client for ``service`` (endpoint from the env)."""
    if client is not None:
        return client
    import boto3

    return boto3.client(service, endpoint_url=_endpoint())


@functools.cache
def _s3(endpoint: str | None) -> Any:
    # One client per process and endpoint: boto3 clients are thread-safe, and building one
    # costs more than reading a small image.
    import boto3

    return boto3.client("s3", endpoint_url=endpoint)


def _shared_s3() -> Any:
    return _s3(_endpoint())


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket or not key or key.endswith("/"):
        raise DataError("an s3:// input must name one object: s3://bucket/key", file=uri)
    return bucket, key


def _s3_error(exc: Exception, uri: str) -> DataError:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
    if code in ("404", "NoSuchKey", "NoSuchBucket"):
        return DataError("file not found (check the path)", file=uri)
    return DataError(f"cannot read from S3: AWS error {code}; check your credentials", file=uri)


def local_path(path: str | Path) -> Path:
    """A local file holding ``path``'s bytes: ``path`` itself, or a downloaded S3 object.

    Raises
    ------
    DataError
        The S3 object does not exist or cannot be read (local paths are not checked here:
        their readers say what is wrong).
    """
    if not is_s3(path):
        return Path(path)
    from botocore.exceptions import BotoCoreError, ClientError

    global _tmp
    uri = str(path)
    bucket, key = _split(uri)
    s3 = _shared_s3()
    try:
        etag = str(s3.head_object(Bucket=bucket, Key=key)["ETag"])
        with _lock:
            hit = _downloaded.get((uri, etag))
            if hit is not None and hit.is_file():
                return hit
            if _tmp is None:
                _tmp = Path(tempfile.mkdtemp(prefix="socialaudit-inputs-"))
            dest = _tmp / hashlib.sha256(f"{uri}\0{etag}".encode()).hexdigest()[:24]
            dest.mkdir(exist_ok=True)
            dest = dest / Path(key).name  # keeps the extension: readers go by it
            s3.download_file(bucket, key, str(dest))
            _downloaded[(uri, etag)] = dest
            return dest
    except (ClientError, BotoCoreError) as exc:
        raise _s3_error(exc, uri) from None


def read_bytes(path: str | Path) -> bytes:
    """The bytes of a local file or an S3 object (for many small files, such as images).

    Raises
    ------
    FileNotFoundError
        No such file or object.
    OSError
        Anything else that stops the read (an S3 error's code is in the message).
    """
    if not is_s3(path):
        return Path(path).read_bytes()
    from botocore.exceptions import BotoCoreError, ClientError

    uri = str(path)
    bucket, _, key = uri[len("s3://") :].partition("/")
    try:
        return bytes(_shared_s3().get_object(Bucket=bucket, Key=key)["Body"].read())
    except (ClientError, BotoCoreError) as exc:
        err = _s3_error(exc, uri)
        if "not found" in str(err):
            raise FileNotFoundError(uri) from None
        raise OSError(str(err)) from None


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's (or an S3 object's) bytes, streamed."""
    h = hashlib.sha256()
    with open(local_path(path), "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()

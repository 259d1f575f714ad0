"""Input files named by local paths or s3:// URIs (audit.inputs), S3 mocked in-process by moto."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from audit import inputs
from audit.data import read_table
from audit.exceptions import DataError


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for k, v in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(k, v)
    for var in ("SOCIALAUDIT_AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    with mock_aws():
        inputs._s3.cache_clear()  # a client made outside the mock would reach for AWS
        boto3.client("s3").create_bucket(Bucket="data")
        yield "data"
    inputs._s3.cache_clear()


def _put(key: str, body: bytes) -> str:
    boto3.client("s3").put_object(Bucket="data", Key=key, Body=body)
    return f"s3://data/{key}"


def test_join_keeps_uris_and_paths_apart() -> None:
    assert inputs.join("s3://b/faces/", "x/1.jpg") == "s3://b/faces/x/1.jpg"
    assert inputs.join("s3://b/faces", "/x/1.jpg") == "s3://b/faces/x/1.jpg"
    assert inputs.join("/data/faces", "x/1.jpg") == Path("/data/faces/x/1.jpg")


def test_a_table_in_s3_reads_like_the_local_file(bucket: str, tmp_path: Path) -> None:
    body = b"id,label\n1,0\n2,1\n"
    (tmp_path / "t.csv").write_bytes(body)
    uri = _put("sets/t.csv", body)
    assert read_table(uri).equals(read_table(tmp_path / "t.csv"))
    assert inputs.file_sha256(uri) == hashlib.sha256(body).hexdigest()


def test_a_changed_object_is_downloaded_again(bucket: str) -> None:
    uri = _put("sets/t.csv", b"id,label\n1,0\n")
    first = inputs.local_path(uri)
    assert inputs.local_path(uri) == first  # same version: the copy is reused
    _put("sets/t.csv", b"id,label\n1,0\n2,1\n")
    assert len(read_table(uri)) == 2


def test_a_missing_object_is_named(bucket: str) -> None:
    with pytest.raises(DataError, match=r"s3://data/none\.csv.*file not found"):
        read_table("s3://data/none.csv")
    with pytest.raises(DataError, match="must name one object"):
        inputs.local_path("s3://data/folder/")
    with pytest.raises(FileNotFoundError):
        inputs.read_bytes("s3://data/none.jpg")


def test_read_bytes_of_an_object(bucket: str, tmp_path: Path) -> None:
    uri = _put("img/1.jpg", b"\xff\xd8 not really a jpeg")
    assert inputs.read_bytes(uri) == b"\xff\xd8 not really a jpeg"
    (tmp_path / "1.jpg").write_bytes(b"local")
    assert inputs.read_bytes(tmp_path / "1.jpg") == b"local"

"""PII sources and outputs on AWS over its real HTTP protocol: S3 prefixes and DynamoDB tables.

A moto_server of this module's own runs on 127.0.0.1 on a free port; clients reach it through
``AWS_ENDPOINT_URL`` (as a user would point the CLI at LocalStack or moto) or are injected. It is
stopped by its PID.
"""

from __future__ import annotations

import csv
import io
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from jsonschema import Draft202012Validator

from audit.exceptions import DataError
from audit.pii import SampleSpec, load_pii_config, pii_audit
from audit.results import load_schema
from tests.unit.pii._support import corpus, pii_found_in_outputs

SCHEMA = Draft202012Validator(load_schema())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def pii_moto() -> Iterator[str]:
    """A moto_server for this module, reached through AWS_ENDPOINT_URL; stopped by PID."""
    port = _free_port()
    exe = Path(sys.executable).parent / "moto_server"
    proc = subprocess.Popen(
        [str(exe), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.skip("moto_server did not start")
            time.sleep(0.05)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ENDPOINT_URL", url)
        mp.delenv("SOCIALAUDIT_AWS_ENDPOINT_URL", raising=False)
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.delenv("AWS_PROFILE", raising=False)
        yield url
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def config():
    return load_pii_config(None)


@pytest.fixture(scope="module")
def detector(config):
    from audit.pii import Detector

    return Detector(config)


@pytest.fixture(scope="module")
def posts():
    return corpus(90, seed=8)


def _client(service: str, url: str):
    import boto3

    return boto3.client(service, endpoint_url=url, region_name="us-east-1")


@pytest.fixture(scope="module")
def bucket(pii_moto, posts):
    s3 = _client("s3", pii_moto)
    name = "socialaudit-pii-posts"
    s3.create_bucket(Bucket=name)
    jsonl = "".join(
        json.dumps({"id": f"j{i}", "post": {"text": p.text}}) + "\n"
        for i, p in enumerate(posts[:40])
    )
    s3.put_object(Bucket=name, Key="export/2024/part-0.jsonl", Body=(jsonl + "{broken\n").encode())
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["id", "post.text"])
    for i, p in enumerate(posts[40:70]):
        w.writerow([f"c{i}", p.text])
    s3.put_object(Bucket=name, Key="export/2024/part-1.csv", Body=buf.getvalue().encode())
    table = pa.table(
        {"id": [f"q{i}" for i in range(20)], "post": [{"text": p.text} for p in posts[70:]]}
    )
    pbuf = io.BytesIO()
    pq.write_table(table, pbuf)
    s3.put_object(Bucket=name, Key="export/2025/part-2.parquet", Body=pbuf.getvalue())
    s3.put_object(Bucket=name, Key="export/2025/readme.md", Body=b"# notes")
    s3.put_object(
        Bucket=name, Key="elsewhere/other.jsonl", Body=b'{"id": "x", "post": {"text": "no"}}\n'
    )
    return name


def test_s3_prefix_scan_with_outputs_on_s3(pii_moto, bucket, config, detector, tmp_path):
    doc = pii_audit(
        f"s3://{bucket}/export/",
        text_field="post.text",
        id_field="id",
        config=config,
        findings_path=f"s3://{bucket}/audit/findings.jsonl",
        redact_to=f"s3://{bucket}/redacted",
    )
    SCHEMA.validate(doc)
    pii = doc["pii"]
    assert pii["records"]["scanned"] == 40 + 30 + 20
    assert pii["skipped"]["by_reason"] == {"malformed_json": 1, "unsupported_file": 1}
    objects = {i["path"]: i for i in doc["provenance"]["inputs"] if i["role"] == "pii_object"}
    assert set(objects) == {
        "export/2024/part-0.jsonl",
        "export/2024/part-1.csv",
        "export/2025/part-2.parquet",
    }
    assert all(len(o["sha256"]) == 64 and o["etag"] for o in objects.values())
    s3 = _client("s3", pii_moto)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert {
        "audit/findings.jsonl",
        "redacted/export/2024/part-0.jsonl",
        "redacted/export/2024/part-1.csv",
        "redacted/export/2025/part-2.parquet",
    } <= keys
    local = tmp_path / "back"
    for key in keys - {"elsewhere/other.jsonl"}:
        if key.startswith(("audit/", "redacted/")):
            target = local / key
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, key, str(target))
    findings = (local / "audit" / "findings.jsonl").read_text().splitlines()
    assert len(findings) == 90
    assert pii_found_in_outputs(sorted(p for p in local.rglob("*") if p.is_file()), detector) == []


def test_s3_with_an_injected_client_and_sampling(pii_moto, bucket, config):
    s3 = _client("s3", pii_moto)
    spec = SampleSpec(records_per_object=5, random_start=True, seed=3)
    doc = pii_audit(
        f"s3://{bucket}/export/2024/",
        text_field="post.text",
        config=config,
        sample=spec,
        s3_client=s3,
    )
    assert doc["pii"]["records"]["scanned"] + doc["pii"]["records"]["skipped"] == 10
    assert doc["pii"]["sampling"]["records_per_object"] == 5


def test_missing_bucket_is_a_data_error(pii_moto, config):
    with pytest.raises(DataError, match="NoSuchBucket"):
        pii_audit("s3://no-such-bucket-here/x", text_field="t", config=config)


@pytest.fixture(scope="module")
def table(pii_moto, posts):
    ddb = _client("dynamodb", pii_moto)
    name = "socialaudit-pii-posts"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for i, p in enumerate(posts[:30]):
        ddb.put_item(
            TableName=name,
            Item={
                "id": {"S": f"d{i}"},
                "likes": {"N": str(i)},
                "post": {"M": {"text": {"S": p.text}, "lang": {"S": "en"}}},
            },
        )
    ddb.put_item(TableName=name, Item={"id": {"S": "no-text"}, "likes": {"N": "1"}})
    return name


def test_dynamodb_table_scan_is_paginated(pii_moto, table, config):
    ddb = _client("dynamodb", pii_moto)
    paged = config.model_copy(update={"scan_page_size": 7})
    first = ddb.scan(TableName=table, Limit=7)
    assert "LastEvaluatedKey" in first, "the table must span several pages"
    doc = pii_audit(f"dynamodb://{table}", text_field="post.text", id_field="id", config=paged)
    SCHEMA.validate(doc)
    assert doc["pii"]["records"]["scanned"] == 30
    assert doc["pii"]["skipped"]["by_reason"] == {"no_text_field": 1}
    assert doc["pii"]["skipped"]["listed"][0]["id"] == "no-text"
    assert doc["provenance"]["inputs"][1]["hash_of"].startswith("canonical JSON")


def test_dynamodb_share_scans_whole_segments(pii_moto, table, config):
    from audit.pii._sampling import keep_object
    from audit.pii._sources import DYNAMODB_SEGMENTS

    spec = SampleSpec(objects=0.5, seed=4)
    ddb = _client("dynamodb", pii_moto)
    expected = 0
    for seg in range(DYNAMODB_SEGMENTS):
        if keep_object(f"{table}#segment-{seg}-of-{DYNAMODB_SEGMENTS}", spec):
            pages = ddb.get_paginator("scan").paginate(
                TableName=table, Segment=seg, TotalSegments=DYNAMODB_SEGMENTS
            )
            expected += sum(len(p["Items"]) for p in pages)
    doc = pii_audit(f"dynamodb://{table}", text_field="post.text", config=config, sample=spec)
    pii = doc["pii"]
    assert pii["records"]["scanned"] + pii["records"]["skipped"] == expected
    kept = sum(
        keep_object(f"{table}#segment-{seg}-of-{DYNAMODB_SEGMENTS}", spec)
        for seg in range(DYNAMODB_SEGMENTS)
    )
    assert pii["objects"]["not_sampled"] == DYNAMODB_SEGMENTS - kept
    assert 0 < kept < DYNAMODB_SEGMENTS

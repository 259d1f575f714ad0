"""AWS over its real HTTP protocol: a moto_server on 127.0.0.1, resources as template.yaml says.

Only loopback traffic: the server binds 127.0.0.1 on a free port, every client is pointed at
it (``SOCIALAUDIT_AWS_ENDPOINT_URL``) with dummy credentials, and the server is stopped by PID.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from audit.storage import Settings, aws_clients
from tests.aws.esm import poll_once
from tests.unit.test_template import load_template

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"

#: Short visibility timeout so a redelivery takes seconds (the template uses 6x the timeout).
TEST_VISIBILITY_S = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto_server on 127.0.0.1 for the session; stopped by its PID."""
    port = _free_port()
    # moto_server's own main(), one request at a time (see tests/aws/moto_serial.py for why).
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.aws.moto_serial", "-H", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
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
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class AwsEnv:
    """One test's resources on the moto_server, and how to reach them."""

    settings: Settings
    clients: dict[str, Any]
    data_bucket: str
    dlq_url: str
    env: dict[str, str]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def sqs(self) -> Any:
        return self.clients["sqs"]

    def put_posts(self, key: str, body: bytes) -> str:
        self.clients["s3"].put_object(Bucket=self.data_bucket, Key=key, Body=body)
        return f"s3://{self.data_bucket}/{key}"

    def start_worker(self, **extra_env: str) -> subprocess.Popen[bytes]:
        """A worker "execution environment" in its own process (tests/aws/esm.py)."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.aws.esm", "work"],
            cwd=ROOT,
            env={**self.env, **extra_env},
        )
        self.workers.append(proc)
        return proc

    def queue_depth(self, url: str) -> int:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(
            attrs["ApproximateNumberOfMessagesNotVisible"]
        )

    def drive(self, scan_id: str, *, timeout_s: float = 60, in_process_work: bool = False) -> Any:
        """Play the event source mappings until the scan ends; returns its record."""
        from audit.storage import make_backend
        from lambdas import aggregator, dispatcher, worker

        store = make_backend(self.settings, clients=self.clients).store
        s = self.settings
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            busy = poll_once(self.sqs, str(s.dispatch_queue_url), dispatcher.handler)
            if in_process_work:
                busy += poll_once(self.sqs, str(s.work_queue_url), worker.handler, batch_size=5)
            busy += poll_once(self.sqs, str(s.aggregate_queue_url), aggregator.handler)
            scan = store.get_scan(scan_id)
            if scan is not None and scan.status in ("succeeded", "failed"):
                return scan
            if not busy:
                time.sleep(0.05)
        raise AssertionError(f"scan {scan_id} did not finish in {timeout_s} s: {scan}")


def _create_resources(endpoint: str, suffix: str) -> tuple[Settings, dict[str, Any], str, str]:
    """Create the bucket, table and queues with the properties template.yaml gives them."""
    t = load_template()["Resources"]
    settings = Settings(
        backend="aws",
        endpoint_url=endpoint,
        region="us-east-1",
        bucket=f"results-{suffix}",
        table=f"scans-{suffix}",
        dispatch_queue_url="pending",
        work_queue_url="pending",
        aggregate_queue_url="pending",
        max_attempts=3,
        batch_bytes=16 * 1024,
    )
    c = aws_clients(settings)
    s3, ddb, sqs = c["s3"], c["dynamodb"], c["sqs"]

    bucket = t["ResultsBucket"]["Properties"]
    s3.create_bucket(Bucket=settings.bucket)
    s3.put_bucket_versioning(
        Bucket=settings.bucket,
        VersioningConfiguration={"Status": bucket["VersioningConfiguration"]["Status"]},
    )
    s3.put_public_access_block(
        Bucket=settings.bucket,
        PublicAccessBlockConfiguration=bucket["PublicAccessBlockConfiguration"],
    )
    s3.put_bucket_encryption(
        Bucket=settings.bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    data_bucket = f"posts-{suffix}"
    s3.create_bucket(Bucket=data_bucket)

    table = t["ScansTable"]["Properties"]
    ddb.create_table(
        TableName=settings.table,
        AttributeDefinitions=table["AttributeDefinitions"],
        KeySchema=table["KeySchema"],
        GlobalSecondaryIndexes=table["GlobalSecondaryIndexes"],
        BillingMode=table["BillingMode"],
        SSESpecification={"Enabled": True, "SSEType": "KMS"},
    )
    ddb.update_time_to_live(
        TableName=settings.table,
        TimeToLiveSpecification={
            "AttributeName": table["TimeToLiveSpecification"]["AttributeName"],
            "Enabled": True,
        },
    )

    dlq = sqs.create_queue(QueueName=f"dlq-{suffix}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    urls = {}
    for logical, name in (
        ("DispatchQueue", "dispatch"),
        ("WorkQueue", "work"),
        ("AggregateQueue", "aggregate"),
    ):
        redrive = t[logical]["Properties"]["RedrivePolicy"]
        assert redrive["deadLetterTargetArn"].value == "DeadLetterQueue.Arn"
        urls[name] = sqs.create_queue(
            QueueName=f"{name}-{suffix}",
            Attributes={
                "VisibilityTimeout": str(TEST_VISIBILITY_S),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": settings.max_attempts}
                ),
            },
        )["QueueUrl"]
    settings = settings.model_copy(
        update={
            "dispatch_queue_url": urls["dispatch"],
            "work_queue_url": urls["work"],
            "aggregate_queue_url": urls["aggregate"],
        }
    )
    return settings, c, data_bucket, dlq


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsEnv]:
    """Fresh resources for one test; the Lambda modules read them from the environment."""
    creds = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_CONFIG_FILE": "/dev/null",
    }
    for k, v in creds.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    settings, clients, data_bucket, dlq = _create_resources(moto_endpoint, uuid.uuid4().hex[:10])
    env = {
        "SOCIALAUDIT_BACKEND": "aws",
        "SOCIALAUDIT_AUTH": "gateway",
        "SOCIALAUDIT_AWS_ENDPOINT_URL": moto_endpoint,
        "SOCIALAUDIT_BUCKET": str(settings.bucket),
        "SOCIALAUDIT_TABLE": str(settings.table),
        "SOCIALAUDIT_DISPATCH_QUEUE_URL": str(settings.dispatch_queue_url),
        "SOCIALAUDIT_WORK_QUEUE_URL": str(settings.work_queue_url),
        "SOCIALAUDIT_AGGREGATE_QUEUE_URL": str(settings.aggregate_queue_url),
        "SOCIALAUDIT_MAX_ATTEMPTS": str(settings.max_attempts),
        "SOCIALAUDIT_BATCH_BYTES": str(settings.batch_bytes),
        "POWERTOOLS_SERVICE_NAME": "socialaudit",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    _reset_lambdas()
    import os

    aws_env = AwsEnv(settings, clients, data_bucket, dlq, env={**os.environ, **env})
    yield aws_env
    for proc in aws_env.workers:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    _reset_lambdas()


def _reset_lambdas() -> None:
    """The Lambda modules cache their backend per "execution environment": start afresh."""
    import lambdas._sqs
    import lambdas.dispatcher

    lambdas._sqs.reset()
    lambdas.dispatcher.reset()
    if "lambdas.api" in sys.modules:
        from audit.api import app

        app.state.backend = None


def event(name: str) -> dict[str, Any]:
    """A recorded Lambda event from tests/events/."""
    return json.loads((EVENTS / name).read_text("utf-8"))

"""One-batch audits over moto_server with every input in S3, as a scan on AWS has them.

A classification test set and a face manifest with embeddings are uploaded to the data bucket
and named by ``s3://`` URIs; the scan runs through API → dispatcher → worker → aggregator and
must give exactly the numbers the same audit gives on local copies of the files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from audit import scans
from audit.storage import make_backend
from tests.aws.conftest import AwsEnv
from tests.aws.test_pipeline import api_call


def _classification_set(n: int = 2000, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.4, 0.1])
    label = rng.integers(0, 2, size=n)
    shift = np.where(group == "b", 0.15, 0.0)  # group b is scored higher: more false positives
    score = np.clip(0.3 + 0.4 * label + shift + rng.normal(0, 0.2, size=n), 0, 1)
    return pd.DataFrame({"id": np.arange(n), "label": label, "score": score, "group": group})


def _same_numbers(doc: dict[str, Any], direct: dict[str, Any]) -> None:
    for key in ("overall", "groups", "suppressed_groups", "disparities"):
        assert doc[key] == direct[key], key


def _run(aws: AwsEnv, body: dict[str, Any], key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    status, created, _ = api_call("api_create_scan.json", body=body, idempotency_key=key)
    assert status == 202, created
    final = aws.drive(created["id"], timeout_s=120, in_process_work=True)
    assert final.status == "succeeded", final.error
    status, view, _ = api_call("api_get_scan.json", path=f"/scans/{created['id']}")
    assert status == 200
    status, doc, _ = api_call("api_get_report.json", path=f"/scans/{created['id']}/report")
    assert status == 200
    return view, doc


def test_a_classification_scan_reads_its_test_set_from_s3(aws: AwsEnv, tmp_path: Path) -> None:
    import json

    from audit.kinds import load_spec, run
    from audit.results import dumps

    df = _classification_set()
    local = tmp_path / "test-set.csv"
    df.to_csv(local, index=False)
    uri = aws.put_posts("sets/test-set.csv", local.read_bytes())
    spec = {
        "kind": "classification",
        "data": uri,
        "id": "id",
        "label": "label",
        "score": "score",
        "groups": ["group"],
        "resamples": 200,
    }
    view, doc = _run(aws, {**spec, "policy": "policies/default.yaml"}, "classification-s3")

    direct = json.loads(dumps(run(load_spec({**spec, "data": str(local)}))))
    _same_numbers(doc, direct)
    data_input = next(i for i in doc["provenance"]["inputs"] if i["role"] == "data")
    assert data_input["path"] == uri  # the URI is recorded, not a temporary copy
    assert data_input["sha256"] == next(
        i["sha256"] for i in direct["provenance"]["inputs"] if i["role"] == "data"
    )
    # rendered by the aggregator: HTML, PDF, Markdown, report JSON, DSA rows and text
    assert view["reports"] == dict.fromkeys(scans.REPORT_FORMATS, "ok")
    assert view["gate"]["policy"] == "default@1.1.0"
    html = make_backend(aws.settings, clients=aws.clients).store.get_blob(
        scans.report_key(view["id"], "html")
    )
    assert b'id="gates"' in html and view["gate"]["verdict"].encode() in html


def test_a_missing_s3_test_set_fails_the_scan_naming_it(aws: AwsEnv) -> None:
    uri = f"s3://{aws.data_bucket}/sets/absent.csv"
    body = {"kind": "classification", "data": uri, "label": "y", "score": "s", "groups": ["g"]}
    status, created, _ = api_call("api_create_scan.json", body=body, idempotency_key="absent-1")
    if status == 422:  # refused at submit: equally good, as long as it names the file
        assert uri in json_text(created)
        return
    final = aws.drive(created["id"], in_process_work=True)
    assert final.status == "failed" and uri in (final.error or "")


def json_text(doc: Any) -> str:
    import json

    return json.dumps(doc)


def test_a_face_scan_reads_manifest_and_embeddings_from_s3(aws: AwsEnv, tmp_path: Path) -> None:
    from audit.face import GroupSpec, synthetic_face_set
    from audit.kinds import load_spec, run

    manifest, templates = synthetic_face_set(
        {"a": GroupSpec(subjects=40), "b": GroupSpec(subjects=40, impostor_distance=0.8)},
        seed=3,
    )
    manifest.frame.to_csv(tmp_path / "faces.csv", index=False)
    np.save(tmp_path / "emb.npy", templates.embeddings)
    body = {
        "kind": "face",
        "manifest": aws.put_posts("faces/faces.csv", (tmp_path / "faces.csv").read_bytes()),
        "embeddings": aws.put_posts("faces/emb.npy", (tmp_path / "emb.npy").read_bytes()),
        "groups": ["group"],
        "target_fmr": 1e-3,
        "resamples": 50,
    }
    _, doc = _run(aws, body, "face-s3")

    local = {
        **body,
        "manifest": str(tmp_path / "faces.csv"),
        "embeddings": str(tmp_path / "emb.npy"),
    }
    direct = dict(run(load_spec(local)))
    _same_numbers(doc, direct)
    assert doc["face"]["threshold"] == direct["face"]["threshold"]

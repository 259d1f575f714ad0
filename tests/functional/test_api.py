"""The HTTP API as a client sees it: local mode in-process, `socialaudit serve`, cold start."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from audit.api import MAX_BODY_BYTES, create_app
from audit.scans import REPORT_FORMATS
from audit.storage import ScanRecord, Settings

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _posts(folder: Path, n: int = 300) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "posts.jsonl").open("w") as f:
        for i in range(n):
            f.write(json.dumps({"id": i, "text": f"post number {i} " * (i % 7 + 1)}) + "\n")
    return folder


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(home=tmp_path / "home", workers=2, batch_bytes=4096)
    with TestClient(create_app(settings=settings, auth="token", token=TOKEN)) as c:
        yield c


def _wait(client: Any, scan_id: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        view = client.get(f"/scans/{scan_id}", headers=AUTH).json()
        if view["status"] in ("succeeded", "failed"):
            return dict(view)
        time.sleep(0.1)
    raise AssertionError(f"scan {scan_id} still {view['status']} after {timeout_s} s")


def test_health_needs_no_token(client: TestClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"


@pytest.mark.parametrize(
    ("headers", "status", "detail"),
    [
        ({}, 401, "missing bearer token"),
        ({"Authorization": "Basic dXNlcjpwdw=="}, 401, "missing bearer token"),
        ({"Authorization": "Bearer wrong"}, 403, "wrong bearer token"),
    ],
)
def test_every_other_route_needs_the_token(
    client: TestClient, headers: dict[str, str], status: int, detail: str
) -> None:
    for method, path in (
        ("POST", "/scans"),
        ("GET", "/scans/0123456789abcdef0123456789abcdef"),
        ("GET", "/scans/0123456789abcdef0123456789abcdef/report"),
    ):
        r = client.request(method, path, headers=headers, json={"kind": "inventory"})
        assert (r.status_code, r.json()["detail"]) == (status, detail), (method, path)


def test_a_server_without_a_token_is_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOCIALAUDIT_API_TOKEN", raising=False)
    app = create_app(settings=Settings(home=tmp_path, workers=1), auth="token")
    with TestClient(app) as c:
        r = c.get("/scans/0123456789abcdef0123456789abcdef", headers=AUTH)
    assert r.status_code == 401 and "SOCIALAUDIT_API_TOKEN" in r.json()["detail"]


def test_an_inventory_scan_from_post_to_report(client: TestClient, tmp_path: Path) -> None:
    source = _posts(tmp_path / "posts")
    r = client.post("/scans", json={"kind": "inventory", "source": str(source)}, headers=AUTH)
    assert r.status_code == 202, r.text
    scan = r.json()
    assert scan["status"] == "queued" and r.headers["location"] == f"/scans/{scan['id']}"
    view = _wait(client, scan["id"])
    assert view["status"] == "succeeded", view["error"]
    assert view["progress"]["records_done"] == 300 and view["progress"]["fraction"] == 1.0
    assert {"metric": "records", "value": 300} in view["summary"]

    doc = client.get(f"/scans/{scan['id']}/report", headers=AUTH).json()
    assert doc["kind"] == "inventory" and doc["fanout"]["batches"] > 1
    page = client.get(f"/scans/{scan['id']}/report?format=html", headers=AUTH)
    assert page.headers["content-type"].startswith("text/html")
    assert "<td>records</td><td>300</td>" in page.text
    pdf = client.get(f"/scans/{scan['id']}/report?format=pdf", headers=AUTH)
    assert pdf.status_code == 404
    assert "inventory scans have no report" in pdf.json()["detail"]


def test_same_idempotency_key_same_scan_other_body_refused(
    client: TestClient, tmp_path: Path
) -> None:
    source = str(_posts(tmp_path / "posts"))
    h = {**AUTH, "Idempotency-Key": "4b1d"}
    first = client.post("/scans", json={"kind": "inventory", "source": source}, headers=h)
    again = client.post("/scans", json={"kind": "inventory", "source": source}, headers=h)
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    other = client.post(
        "/scans", json={"kind": "inventory", "source": source, "text_field": "body"}, headers=h
    )
    assert other.status_code == 422 and "different request body" in other.json()["detail"]


def test_bad_requests_say_what_is_wrong(client: TestClient, tmp_path: Path) -> None:
    r = client.post("/scans", json={"kind": "inventory", "source": "/no/such"}, headers=AUTH)
    assert r.status_code == 422 and "/no/such: not found on the server" in r.json()["detail"]
    r = client.post("/scans", json={"kind": "ads", "source": "x"}, headers=AUTH)
    assert r.status_code == 422
    # every input and the policy are found at submit, not after the audit has run
    data = tmp_path / "set.csv"
    data.write_text("y,s,g\n1,0.9,a\n")
    audit = {"kind": "classification", "data": str(data), "label": "y", "score": "s"}
    for extra, detail in (
        (
            {"groups": ["g"], "groups_file": "/no/groups.csv"},
            "not found on the server (groups_file)",
        ),
        ({"groups": ["g"], "policy": "/no/policy.yaml"}, "not found on the server (policy)"),
    ):
        r = client.post("/scans", json={**audit, **extra}, headers=AUTH)
        assert r.status_code == 422 and detail in r.json()["detail"], r.text
    r = client.post(
        "/scans",
        content=b'{"kind": "inventory", "source": "' + b"x" * MAX_BODY_BYTES + b'"}',
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert client.get("/scans/not-an-id", headers=AUTH).status_code == 422
    r = client.get("/scans/0123456789abcdef0123456789abcdef", headers=AUTH)
    assert r.status_code == 404


def test_no_report_before_the_scan_succeeds(client: TestClient) -> None:
    backend = client.app.state.backend  # type: ignore[attr-defined]
    if backend is None:
        client.get("/scans/0123456789abcdef0123456789abcdef", headers=AUTH)
        backend = client.app.state.backend  # type: ignore[attr-defined]
    sid = "ab" * 16
    now = "2026-11-22T08:00:00.000000Z"
    backend.store.create_scan(ScanRecord(sid, "inventory", "queued", {}, now, now))
    r = client.get(f"/scans/{sid}/report", headers=AUTH)
    assert r.status_code == 409 and "is queued" in r.json()["detail"]


def test_a_sampled_pii_scan_writes_findings_and_redacted_copies_locally(
    client: TestClient, tmp_path: Path
) -> None:
    posts = tmp_path / "posts"
    posts.mkdir()
    for k in range(4):
        with (posts / f"day-{k}.jsonl").open("w") as f:
            for i in range(60):
                text = f"post {i}: mail me at user{k}x{i}@example.com" if i % 2 else "hello"
                f.write(json.dumps({"id": f"{k}-{i}", "text": text}) + "\n")
    body = {
        "kind": "pii",
        "source": str(posts),
        "id_field": "id",
        "sample": {"objects": 0.7, "records": 20, "seed": 1},
        "findings": str(tmp_path / "findings"),
        "redact_to": str(tmp_path / "redacted"),
    }
    r = client.post("/scans", json={**body, "findings": "findings/"}, headers=AUTH)
    assert r.status_code == 422 and "findings 'findings/': give an absolute path" in r.text
    r = client.post("/scans", json=body, headers=AUTH)
    assert r.status_code == 202, r.text
    scan_id = r.json()["id"]
    view = _wait(client, scan_id, timeout_s=120)
    assert view["status"] == "succeeded", view["error"]
    doc = client.get(f"/scans/{scan_id}/report?format=json", headers=AUTH).json()
    pii = doc["pii"]
    kept = 4 - pii["objects"]["not_sampled"]
    assert 0 < kept < 4 and pii["records"]["scanned"] == 20 * kept
    assert pii["sampling"]["records_per_object"] == 20 and pii["sampling"]["seed"] == 1
    parts = sorted((tmp_path / "findings" / scan_id).iterdir())
    lines = [json.loads(line) for p in parts for line in p.read_text().splitlines()]
    assert len(lines) == 20 * kept == pii["records"]["scanned"]
    copies = sorted((tmp_path / "redacted" / scan_id).iterdir())
    assert len(copies) == kept == pii["redacted_objects"]
    redacted = "".join(p.read_text() for p in copies)
    assert "<EMAIL_ADDRESS>" in redacted
    for text in (redacted, *(p.read_text() for p in parts), json.dumps(doc)):
        assert "@example.com" not in text


def test_openapi_documents_the_routes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/health", "/scans", "/scans/{scan_id}", "/scans/{scan_id}/report"} <= set(
        spec["paths"]
    )
    post = spec["paths"]["/scans"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])


# ------------------------------------------------------------------ recommendation and face


def _recsys_files(folder: Path) -> dict[str, str]:
    """60 users of two genders, 30 items of two studios, a 4-interaction log per user, and
    5-item ranked lists: the shape of ``tests/functional/test_recsys_cli.py``'s data."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(5)
    users = pd.DataFrame({"user_id": range(60), "gender": ["F"] * 25 + ["M"] * 35})
    items = pd.DataFrame({"item_id": range(30), "studio": ["big"] * 10 + ["indie"] * 20})
    weights = np.linspace(2, 1, 30) / np.linspace(2, 1, 30).sum()
    log = [
        (u, int(i), int(rng.integers(1, 6)), 1000 * u + t)
        for u in range(60)
        for t, i in enumerate(rng.choice(30, 4, replace=False, p=weights))
    ]
    log_df = pd.DataFrame(log, columns=["user_id", "item_id", "rating", "timestamp"])
    recs = [(u, int(i), r + 1) for u in range(60) for r, i in enumerate(rng.choice(30, 5, False))]
    frames = {
        "users": users,
        "items": items,
        "log": log_df,
        "truth": log_df.groupby("user_id").tail(1)[["user_id", "item_id", "rating"]],
        "recs": pd.DataFrame(recs, columns=["user_id", "item_id", "rank"]),
    }
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, df in frames.items():
        paths[name] = str(folder / f"{name}.csv")
        df.to_csv(paths[name], index=False)
    return paths


def _scan_result(client: TestClient, body: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    r = client.post("/scans", json=body, headers=AUTH)
    assert r.status_code == 202, r.text
    view = _wait(client, r.json()["id"])
    assert view["status"] == "succeeded", view["error"]
    assert view["progress"]["batches_total"] == 1
    doc = client.get(f"/scans/{view['id']}/report", headers=AUTH).json()
    assert view["summary"] == doc["summary"]
    return view, doc


def _same_numbers(doc: dict[str, Any], direct: dict[str, Any]) -> dict[str, Any]:
    """Assert the scan's result has the numbers of the core function run here; return the
    latter as ``--out`` writes it."""
    from audit.results import dumps

    direct = json.loads(dumps(direct))
    assert doc["kind"] == direct["kind"]
    for key in ("overall", "groups", "suppressed_groups", "summary", "settings"):
        assert doc[key] == direct[key], key
    return direct


@pytest.mark.parametrize("way_in", ["lists", "model"])
def test_a_recommendation_scan_is_the_cli_audit(
    client: TestClient, tmp_path: Path, way_in: str
) -> None:
    from audit.kinds import load_spec, run

    files = _recsys_files(tmp_path / "recsys")
    settings: dict[str, Any] = {
        "users": files["users"],
        "user_groups": ["gender"],
        "items": files["items"],
        "creator_group": ["studio"],
        "k": 5,
        "min_users": 20,
        "min_positives": 5,
        "resamples": 50,
    }
    if way_in == "lists":
        settings.update(recommendations=files["recs"], truth=files["truth"])
    else:
        settings.update(model="popularity", interactions=files["log"], holdout=1)
    view, doc = _scan_result(client, {"kind": "recommendation", **settings})

    direct = _same_numbers(doc, dict(run(load_spec({"kind": "recommendation", **settings}))))
    assert doc["overall"]["n"] == 60 and view["progress"]["records_done"] == 60
    assert (
        doc["overall"]["metrics"]["ndcg"]["value"] == direct["overall"]["metrics"]["ndcg"]["value"]
    )
    assert {g["side"] for g in doc["groups"]} == {"user", "provider"}


def test_a_recommendation_scan_refuses_code_from_the_caller(
    client: TestClient, tmp_path: Path
) -> None:
    files = _recsys_files(tmp_path / "recsys")
    body = {
        "kind": "recommendation",
        "model": "os:system",
        "interactions": files["log"],
        "users": files["users"],
        "user_groups": ["gender"],
    }
    r = client.post("/scans", json=body, headers=AUTH)
    assert r.status_code == 422 and "would run code on the server" in r.text


def test_the_openapi_document_describes_every_kind_and_field(client: TestClient) -> None:
    from audit import scans

    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/scans"]["post"]["requestBody"]["content"]["application/json"]
    kinds = set(body["schema"]["discriminator"]["mapping"])
    assert kinds == set(scans.KINDS)  # every audit kind, ads included, and inventory
    for name, model in scans.REQUESTS.items():
        props = schema["components"]["schemas"][model.__name__]["properties"]
        undescribed = [f for f, p in props.items() if f != "kind" and not p.get("description")]
        assert undescribed == [], name
    face = schema["components"]["schemas"]["FaceScan"]
    assert "cache_dir" not in face["properties"] and "``cache_dir``" in face["description"]


def test_an_ads_scan_is_the_cli_audit(client: TestClient, tmp_path: Path) -> None:
    # The same settings as `socialaudit ads`, over HTTP: the planted skew against women in
    # the housing ad is found, with the CLI's numbers, and the report is rendered.
    from audit.kinds import load_spec, run
    from tests.unit.test_ads import _audience, _impressions

    audience = _audience()
    audience.to_csv(tmp_path / "audience.csv", index=False)
    _impressions(audience).to_csv(tmp_path / "impressions.csv", index=False)
    policy = tmp_path / "ads-policy.yaml"
    policy.write_text(
        "id: ads\nversion: '1'\nchecks:\n  - id: four-fifths\n    source: 29 CFR 1607.4(D)\n"
        "    kinds: [ads]\n    metric: impact_ratio\n    aggregation: per_group\n"
        "    min: 0.8\n"
    )
    settings: dict[str, Any] = {
        "impressions": str(tmp_path / "impressions.csv"),
        "audience": str(tmp_path / "audience.csv"),
        "groups": ["gender"],
        "resamples": 50,
        "policy": str(policy),
    }
    view, doc = _scan_result(client, {"kind": "ads", **settings})

    settings.pop("policy")
    direct = _same_numbers(doc, dict(run(load_spec({"kind": "ads", **settings}))))
    assert doc["ads"] == direct["ads"]
    assert view["progress"]["records_done"] == doc["overall"]["n"] == 2000
    housing = next(a for a in doc["ads"] if a["ad"] == "housing")
    women = next(g for g in housing["groups"] if g["group"] == "F")
    assert women["verdicts"]["four_fifths"] == "fail"
    assert (view["gate"]["policy"], view["gate"]["verdict"]) == ("ads@1", "blocked")
    html = client.get(f"/scans/{view['id']}/report?format=html", headers=AUTH)
    assert html.status_code == 200 and "Ad delivery audit" in html.text


def test_an_ads_scan_cannot_write_files_on_the_server(client: TestClient, tmp_path: Path) -> None:
    body = {"kind": "ads", "impressions": "i.csv", "audience": "a.csv", "groups": ["g"]}
    r = client.post("/scans", json={**body, "out": str(tmp_path / "x.json")}, headers=AUTH)
    assert r.status_code == 422 and "out is not accepted over HTTP" in r.text
    r = client.post("/scans", json=body, headers=AUTH)  # valid, but the files are not there
    assert r.status_code == 422 and "not found on the server (impressions)" in r.text


def _face_files(folder: Path) -> dict[str, str]:
    """Synthetic templates (no images) with a planted FMR and FNMR differential, saved as a
    manifest, an embeddings array and a pair-score file."""
    import numpy as np
    import pandas as pd

    from audit.face import GroupSpec, synthetic_face_set

    manifest, templates = synthetic_face_set(
        {
            "a": GroupSpec(subjects=60),
            "b": GroupSpec(subjects=60, impostor_distance=0.8),
            "c": GroupSpec(subjects=60, genuine_distance=0.55, ftd_rate=0.05),
        },
        seed=11,
    )
    folder.mkdir(parents=True, exist_ok=True)
    manifest.frame.to_csv(folder / "faces.csv", index=False)
    X = templates.embeddings
    np.save(folder / "emb.npy", X)
    usable = np.flatnonzero(np.isfinite(X).all(axis=1))
    i, j = np.triu_indices(len(usable), 1)
    i, j = usable[i], usable[j]
    pd.DataFrame(
        {
            "image_a": manifest.frame["path"].to_numpy()[i],
            "image_b": manifest.frame["path"].to_numpy()[j],
            "score": 1.0 - np.linalg.norm(X[i] - X[j], axis=1),  # a similarity
        }
    ).to_csv(folder / "pairs.csv", index=False)
    return {
        "manifest": str(folder / "faces.csv"),
        "embeddings": str(folder / "emb.npy"),
        "pairs": str(folder / "pairs.csv"),
    }


@pytest.mark.parametrize("templates", ["embeddings", "pairs"])
def test_a_face_scan_is_the_cli_audit(client: TestClient, tmp_path: Path, templates: str) -> None:
    from audit.kinds import load_spec, run

    files = _face_files(tmp_path / "faces")
    settings: dict[str, Any] = {
        "manifest": files["manifest"],
        "groups": ["group"],
        templates: files[templates],
        "target_fmr": 1e-3,
        "resamples": 50,
    }
    view, doc = _scan_result(client, {"kind": "face", **settings})

    direct = _same_numbers(doc, dict(run(load_spec({"kind": "face", **settings}))))
    assert doc["face"]["threshold"] == direct["face"]["threshold"]
    pairs = doc["overall"]["positives"] + doc["overall"]["negatives"]
    assert pairs == direct["overall"]["positives"] + direct["overall"]["negatives"] > 0
    assert view["progress"]["records_done"] == pairs
    fmr = {g["group"]: g["metrics"]["fmr"]["value"] for g in doc["groups"]}
    assert fmr["b"] > fmr["a"]  # the planted differential, found over HTTP too


HEAVY = (
    "presidio_analyzer",
    "presidio_anonymizer",
    "spacy",
    "dlib",
    "face_recognition",
    "aif360",
    "fairlearn",
    "sklearn",
    "pandas",
)


def test_the_lambda_api_cold_start_imports_no_audit_engine() -> None:
    code = f"""
import json, sys
from lambdas.api import handler
event = json.load(open({str(ROOT / "tests/events/api_health.json")!r}))
class Ctx: aws_request_id = "r"; function_name = "f"
out = handler(event, Ctx())
assert out["statusCode"] == 200, out
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))
print(json.dumps(heavy))
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "SOCIALAUDIT_AUTH": "gateway"},
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


# ------------------------------------------------------------------------ socialaudit serve


def _pdf_text(data: bytes, tmp_path: Path) -> str:
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) not installed")
    (tmp_path / "r.pdf").write_bytes(data)
    out = subprocess.run(
        ["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True
    )
    return out.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_refuses_to_start_without_a_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SOCIALAUDIT_API_TOKEN"}
    out = subprocess.run(
        [sys.executable, "-m", "audit.cli", "serve", "--home", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert out.returncode == 2 and "SOCIALAUDIT_API_TOKEN is not set" in out.stderr


def test_serve_answers_refuses_and_runs_a_scan(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "SOCIALAUDIT_API_TOKEN": TOKEN, "SOCIALAUDIT_BATCH_BYTES": "4096"}
    socialaudit = Path(sys.executable).with_name("socialaudit")  # the installed command
    proc = subprocess.Popen(
        [
            str(socialaudit),
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
            "--home",
            str(tmp_path / "home"),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as c:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if c.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
            posts = tmp_path / "posts"
            posts.mkdir()
            with (posts / "posts.jsonl").open("w") as f:
                for i in range(300):
                    text = f"post {i}: mail me at user{i}@example.com" if i % 3 == 0 else "hi"
                    f.write(json.dumps({"id": i, "text": text}) + "\n")
            body = {"kind": "pii", "source": str(posts)}
            assert c.post("/scans", json=body).status_code == 401

            def post(_: int) -> str:
                r = httpx.post(
                    f"{base}/scans",
                    json=body,
                    timeout=30,
                    headers={**AUTH, "Idempotency-Key": "one-scan"},
                )
                assert r.status_code == 202, r.text
                return str(r.json()["id"])

            with ThreadPoolExecutor(50) as pool:
                ids = set(pool.map(post, range(50)))
            assert len(ids) == 1  # 50 concurrent POSTs, one key: one scan
            scan_id = ids.pop()
            view = _wait(c, scan_id)
            assert view["status"] == "succeeded" and view["progress"]["records_done"] == 300
            counts = {item["metric"]: item["value"] for item in view["summary"]}
            assert counts["records_with_pii"] == 100 and counts["records_scanned"] == 300
            # HTML, PDF, Markdown, report JSON, DSA rows and text: all rendered
            assert view["reports"] == dict.fromkeys(REPORT_FORMATS, "ok")
            doc = c.get(f"/scans/{scan_id}/report?format=json", headers=AUTH)
            page = c.get(f"/scans/{scan_id}/report?format=html", headers=AUTH)
            pdf = c.get(f"/scans/{scan_id}/report?format=pdf", headers=AUTH)
            assert page.headers["content-type"].startswith("text/html")
            assert "EMAIL_ADDRESS" in page.text and "<svg" in page.text
            assert pdf.headers["content-type"] == "application/pdf"
            assert pdf.content.startswith(b"%PDF")
            for text in (doc.text, page.text, _pdf_text(pdf.content, tmp_path)):
                assert "example.com" not in text and "user3@" not in text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

"""The scan console and the API additions of issue 16, as a browser (and a client) sees them:
sign-in, CSRF, cookies, signed report links, forms, the scan list, cancel/delete, /docs."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from audit.api import ReportFormat, create_app
from audit.scans import REPORT_FORMATS, REQUESTS
from audit.storage import ScanRecord, Settings
from audit.web._routes import SESSION_COOKIE
from audit.web._signing import LINK_TTL_S, Signer

TOKEN = "console-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    data = tmp_path / "home" / "data"  # the default data root
    (data / "posts").mkdir(parents=True)
    with (data / "posts" / "day-1.jsonl").open("w") as f:
        for i in range(40):
            f.write(json.dumps({"id": i, "text": f"post {i}"}) + "\n")
    return tmp_path / "home"


@pytest.fixture
def app_client(home: Path) -> Iterator[TestClient]:
    app = create_app(settings=Settings(home=home, workers=1), auth="token", token=TOKEN)
    with TestClient(app) as c:
        yield c


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def _sign_in(c: TestClient) -> str:
    """Sign in through the form; returns the CSRF token of the signed-in pages."""
    form = c.get("/console/sign-in")
    r = c.post(
        "/console/sign-in",
        data={"csrf": _csrf(form.text), "token": TOKEN, "next": "/console/scans"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/console/scans", r.text
    return _csrf(c.get("/console/scans").text)


def _store(c: TestClient) -> Any:
    if c.app.state.backend is None:  # type: ignore[attr-defined]
        c.get("/scans?limit=1", headers=AUTH)
    return c.app.state.backend.store  # type: ignore[attr-defined]


def _record(scan_id: str, kind: str, status: str, name: str, second: int) -> ScanRecord:
    at = f"2026-11-22T08:00:{second:02d}.000000Z"
    return ScanRecord(scan_id, kind, status, {"kind": kind, "name": name}, at, at)  # type: ignore[arg-type]


def _wait(c: TestClient, scan_id: str, timeout_s: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        view = c.get(f"/scans/{scan_id}", headers=AUTH).json()
        if view["status"] in ("succeeded", "failed", "cancelled"):
            return dict(view)
        time.sleep(0.1)
    raise AssertionError(f"scan {scan_id} did not finish in {timeout_s} s")


# --------------------------------------------------------------------- signing in, cookies, CSRF


def test_pages_need_a_session_and_send_the_browser_to_sign_in(app_client: TestClient) -> None:
    for path in ("/console/scans", "/console/scans/new/pii", f"/console/scans/{'a' * 32}"):
        r = app_client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/console/sign-in?next=")
    r = app_client.get(f"/console/scans/{'a' * 32}/progress")
    assert r.status_code == 401


def test_sign_in_sets_a_strict_http_only_session_and_never_shows_the_token(
    app_client: TestClient,
) -> None:
    form = app_client.get("/console/sign-in")
    assert form.status_code == 200 and 'type="password"' in form.text
    r = app_client.post(
        "/console/sign-in",
        data={"csrf": _csrf(form.text), "token": TOKEN, "next": "/console/scans"},
        follow_redirects=False,
    )
    cookie = next(
        v for k, v in r.headers.multi_items() if k == "set-cookie" and SESSION_COOKIE in v
    )
    flags = {f.strip().lower() for f in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/console"} <= flags
    assert "secure" not in flags  # plain http here; over https (or behind a proxy saying so)
    assert TOKEN not in cookie
    page = app_client.get("/console/scans")
    assert page.status_code == 200 and TOKEN not in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["cache-control"] == "no-store"
    # over https the cookie is Secure
    form = app_client.get("/console/sign-in")
    r = app_client.post(
        "/console/sign-in",
        data={"csrf": _csrf(form.text), "token": TOKEN},
        headers={"x-forwarded-proto": "https"},
        follow_redirects=False,
    )
    assert "secure" in r.headers["set-cookie"].lower()


def test_a_wrong_token_or_a_forged_sign_in_form_is_refused(app_client: TestClient) -> None:
    form = app_client.get("/console/sign-in")
    r = app_client.post(
        "/console/sign-in",
        data={"csrf": _csrf(form.text), "token": "wrong"},
        follow_redirects=False,
    )
    assert r.status_code == 403 and "wrong token" in r.text
    r = app_client.post(
        "/console/sign-in", data={"csrf": "forged", "token": TOKEN}, follow_redirects=False
    )
    assert r.status_code == 403
    assert app_client.get("/console/scans", follow_redirects=False).status_code == 303


def test_every_form_post_needs_the_session_csrf_token(app_client: TestClient) -> None:
    csrf = _sign_in(app_client)
    store = _store(app_client)
    sid = "ab" * 16
    store.create_scan(_record(sid, "inventory", "queued", "kept", 1))
    source = str(Path(store.home) / "data" / "posts")
    posts = [
        ("/console/scans/new/inventory", {"source": source}),
        (f"/console/scans/{sid}/cancel", {}),
        (f"/console/scans/{sid}/delete", {}),
        ("/console/sign-out", {}),
    ]
    for path, data in posts:
        for bad in ({}, {"csrf": "0" * 43}, {"csrf": csrf[:-2] + "xx"}):
            r = app_client.post(path, data={**data, **bad}, follow_redirects=False)
            assert r.status_code == 403, (path, bad)
            assert "CSRF" in r.text
    assert store.get_scan(sid).status == "queued"  # nothing was changed
    assert store.list_scans().scans == [store.get_scan(sid)]  # nothing was submitted
    # a CSRF token of another session is no good either
    other = TestClient(app_client.app)
    _sign_in(other)
    r = other.post(f"/console/scans/{sid}/cancel", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 403
    # the right one works
    r = app_client.post(f"/console/scans/{sid}/cancel", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and store.get_scan(sid).status == "cancelled"
    r = app_client.post("/console/sign-out", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert app_client.get("/console/scans", follow_redirects=False).status_code == 303


def test_the_console_is_closed_without_token_auth(home: Path) -> None:
    app = create_app(settings=Settings(home=home, workers=1), auth="gateway")
    with TestClient(app) as c:
        r = c.get("/console/sign-in")
    assert r.status_code == 503 and "API gateway" in r.text


# ------------------------------------------------------------------------- forms and submitting


def test_each_kind_has_a_form_of_its_http_fields(app_client: TestClient) -> None:
    _sign_in(app_client)
    for kind, model in REQUESTS.items():
        html = app_client.get(f"/console/scans/new/{kind}").text
        names = set(re.findall(r'<(?:input|select)[^>]* name="([a-z_]+)"', html))
        names -= {"csrf", "idempotency_key"}
        assert names == set(model.model_fields) - {"kind"}, kind
    pii = app_client.get("/console/scans/new/pii").text
    assert 'name="workers"' not in pii and 'name="out"' not in pii  # not accepted over HTTP
    face = app_client.get("/console/scans/new/face").text
    assert 'name="cache_dir"' not in face
    assert re.search(r'<select id="f-detector" name="detector"', face)  # a Literal
    cls = app_client.get("/console/scans/new/classification").text
    assert 'id="f-explain" name="explain" value="true" checked' in cls  # a bool on by default
    assert "(comma-separated)" in cls  # groups


def test_a_bad_form_is_refused_with_each_error_next_to_its_field(
    app_client: TestClient, home: Path
) -> None:
    csrf = _sign_in(app_client)
    r = app_client.post("/console/scans/new/pii", data={"csrf": csrf, "sample": "objects=2"})
    assert r.status_code == 422
    errors = dict(re.findall(r'data-field="(\w+)">([^<]+)<', r.text))
    assert set(errors) == {"source", "sample"}, errors
    assert "Field required" in errors["source"]
    r = app_client.post(
        "/console/scans/new/classification",
        data={"csrf": csrf, "data": str(home / "data" / "x.csv"), "label": "y", "groups": "g"},
    )
    assert r.status_code == 422
    form_errors = re.search(r"data-form-errors>(.*?)</div>", r.text, re.S)
    assert form_errors and "give exactly one of score, decision or model" in form_errors.group(1)
    r = app_client.post(
        "/console/scans/new/inventory", data={"csrf": csrf, "source": str(home / "data" / "no")}
    )
    assert r.status_code == 422
    errors = dict(re.findall(r'data-field="(\w+)">([^<]+)<', r.text))
    assert "not found" in errors["source"]
    for text in (r.text, *errors.values()):
        assert not re.search(r"(?<![\w-])--[a-z]", unescape(text))  # fields, not CLI flags
    assert _store(app_client).list_scans().scans == []


def test_an_inventory_scan_from_the_form_to_its_signed_report_links(
    app_client: TestClient, home: Path
) -> None:
    csrf = _sign_in(app_client)
    data = {
        "csrf": csrf,
        "idempotency_key": "form-1",
        "source": str(home / "data" / "posts"),
        "name": "<script>alert(1)</script> posts",
    }
    r = app_client.post("/console/scans/new/inventory", data=data, follow_redirects=False)
    assert r.status_code == 303
    scan_id = r.headers["location"].rsplit("/", 1)[1]
    again = app_client.post("/console/scans/new/inventory", data=data, follow_redirects=False)
    assert again.headers["location"] == r.headers["location"]  # a double submit: one scan
    view = _wait(app_client, scan_id)
    assert view["status"] == "succeeded" and view["progress"]["phase"] == "done"
    page = app_client.get(f"/console/scans/{scan_id}").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)" in page
    assert re.search(r'data-metric="records"><th scope="row">records</th><td>40</td>', page)
    links = {
        f: unescape(h)
        for h, f in re.findall(r'href="(/console/r/[^"]+)" data-format="([\w-]+)"', page)
    }
    assert set(links) == {"json", "html"}  # an inventory has its counts, no report
    assert TOKEN not in "".join(links.values())
    browser = TestClient(app_client.app)  # a plain tab: no session, no header
    doc = browser.get(links["json"])
    assert doc.status_code == 200 and doc.json()["kind"] == "inventory"
    html = browser.get(links["html"])
    assert html.status_code == 200 and "<td>records</td><td>40</td>" in html.text
    assert html.headers["content-security-policy"].startswith("default-src 'none'")
    assert html.headers["referrer-policy"] == "no-referrer"
    # forged, moved to another scan or format, or expired: refused
    forged = re.sub(r"sig=[^&]+", "sig=" + "A" * 43, links["html"])
    other_format = links["html"].replace("/html?", "/pdf?")
    other_scan = links["html"].replace(scan_id, "0" * 32)
    stale = Signer(TOKEN).report_link(scan_id, "html", now=time.time() - LINK_TTL_S - 1)
    for link in (forged, other_format, other_scan, stale):
        r = browser.get(link)
        assert r.status_code == 403, link
    assert "expired" in browser.get(stale).text
    # a link made under another token is not this server's
    assert browser.get(Signer("another-token").report_link(scan_id, "html")).status_code == 403


# ----------------------------------------------------------------------- GET /scans, cancel, delete


def test_get_scans_pages_and_filters_like_the_console_list(app_client: TestClient) -> None:
    store = _store(app_client)
    for i in range(7):
        kind = "pii" if i % 2 else "inventory"
        status = "succeeded" if i in (1, 2) else "queued"
        store.create_scan(_record(f"{i:032x}", kind, status, f"Weekly-{i}", i))
    seen, cursor = [], None
    while True:
        q = "limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = app_client.get(f"/scans?{q}", headers=AUTH).json()
        seen += [s["id"] for s in page["scans"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"{i:032x}" for i in range(6, -1, -1)]
    got = app_client.get("/scans?kind=pii&status=succeeded", headers=AUTH).json()
    assert [s["id"] for s in got["scans"]] == [f"{1:032x}"]
    got = app_client.get("/scans?name=weekly-4", headers=AUTH).json()
    assert [s["name"] for s in got["scans"]] == ["Weekly-4"]
    assert app_client.get("/scans?cursor=nonsense", headers=AUTH).status_code == 422
    assert app_client.get("/scans?limit=0", headers=AUTH).status_code == 422
    assert app_client.get("/scans?status=lost", headers=AUTH).status_code == 422
    assert app_client.get("/scans").status_code == 401
    _sign_in(app_client)
    html = app_client.get("/console/scans?kind=pii").text
    assert re.findall(r'href="/console/scans/([0-9a-f]{32})"', html) == [
        f"{i:032x}" for i in (5, 3, 1)
    ]


def test_cancel_then_delete_and_delete_refused_while_running(
    app_client: TestClient, home: Path
) -> None:
    store = _store(app_client)
    sid = "cd" * 16
    store.create_scan(_record(sid, "inventory", "queued", "to cancel", 1))
    store.start_scan(sid, 3)
    store.finish_batch(sid, 1, records=10)
    view = app_client.get(f"/scans/{sid}", headers=AUTH).json()
    assert view["progress"]["phase"] == "running" and view["progress"]["fraction"] == 0.25
    r = app_client.delete(f"/scans/{sid}", headers=AUTH)
    assert r.status_code == 409 and "cancel it first" in r.json()["detail"]
    r = app_client.post(f"/scans/{sid}/cancel", headers=AUTH)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert r.json()["progress"]["phase"] == "cancelled"
    store.put_json(f"scans/{sid}/partials/00000001.json", {"n": 10})
    assert app_client.delete(f"/scans/{sid}", headers=AUTH).status_code == 204
    assert app_client.get(f"/scans/{sid}", headers=AUTH).status_code == 404
    assert not (home / "blobs" / "scans" / sid).exists()
    assert app_client.delete(f"/scans/{sid}", headers=AUTH).status_code == 404
    assert app_client.post(f"/scans/{sid}/cancel", headers=AUTH).status_code == 404


def test_a_cancelled_scan_runs_no_more_batches(app_client: TestClient, home: Path) -> None:
    from audit.scans import run_batch
    from audit.scans._messages import BatchMessage

    source = str(home / "data" / "posts")
    r = app_client.post("/scans", json={"kind": "inventory", "source": source}, headers=AUTH)
    scan_id = r.json()["id"]
    app_client.post(f"/scans/{scan_id}/cancel", headers=AUTH)
    backend = app_client.app.state.backend  # type: ignore[attr-defined]
    assert not run_batch(backend, BatchMessage(scan_id=scan_id, batch_id=1, units=[]))
    time.sleep(1)  # whatever the workers had in hand has been dropped
    view = app_client.get(f"/scans/{scan_id}", headers=AUTH).json()
    assert view["status"] == "cancelled" and view["summary"] is None


# ---------------------------------------------------------------- audits: formats, errors, compare


def _cls_data(folder: Path, *, label: str = "y") -> str:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(3)
    n = 400
    g = rng.choice(["a", "b"], n)
    y = rng.integers(0, 2, n)
    score = np.clip(0.3 + 0.4 * y + rng.normal(0, 0.2, n) + (g == "b") * 0.1, 0, 1)
    path = folder / "set.csv"
    pd.DataFrame({label: y, "score": score, "g": g}).to_csv(path, index=False)
    return str(path)


def test_every_report_format_over_http_and_a_comparison_with_a_baseline(
    app_client: TestClient, home: Path
) -> None:
    assert set(ReportFormat.__args__) == {"json", *REPORT_FORMATS}  # type: ignore[attr-defined]
    data = _cls_data(home / "data")
    body = {
        "kind": "classification",
        "data": data,
        "label": "y",
        "score": "score",
        "groups": ["g"],
        "resamples": 50,
        "min_positives": 5,
        "min_negatives": 5,
        "policy": "policies/default.yaml",
    }
    ids = []
    for name in ("release 1", "release 2"):
        r = app_client.post("/scans", json={**body, "name": name}, headers=AUTH)
        assert r.status_code == 202, r.text
        view = _wait(app_client, r.json()["id"])
        assert view["status"] == "succeeded", view["error"]
        ids.append(view["id"])
    base, cand = ids
    types = {
        "md": "text/markdown",
        "report-json": "application/json",
        "dsa": "text/csv",
        "dsa-qualitative": "text/markdown",
    }
    for fmt, media in types.items():
        r = app_client.get(f"/scans/{cand}/report?format={fmt}", headers=AUTH)
        assert r.status_code == 200 and r.headers["content-type"].startswith(media), fmt
    assert "# " in app_client.get(f"/scans/{cand}/report?format=md", headers=AUTH).text
    dsa = app_client.get(f"/scans/{cand}/report?format=dsa", headers=AUTH).text
    assert dsa.splitlines()[0].count(",") >= 3  # a header row of several columns

    _sign_in(app_client)
    page = app_client.get(f"/console/scans/{cand}").text
    assert re.search(rf'<option value="{base}">release 1', page)  # offered as the baseline
    offered = set(re.findall(r'data-format="([\w-]+)"', page))
    assert offered >= {"json", "html", "md", "report-json", "dsa", "dsa-qualitative"}
    r = app_client.get(
        f"/console/scans/{cand}/compare?baseline={base}&policy=policies/default.yaml"
    )
    assert r.status_code == 200, r.text
    from audit.gate import evaluate, render_lines
    from audit.policy import load_policy

    store = _store(app_client)
    decision = evaluate(
        load_policy("policies/default.yaml"),
        [store.get_json(f"scans/{cand}/result.json")],
        [store.get_json(f"scans/{base}/result.json")],
    )
    lines = [unescape(x) for x in re.findall(r"<td><code>(.*?)</code></td>", r.text)]
    assert lines == render_lines(decision)  # the gate's own lines, computed nowhere else
    assert any(o.baseline_value is not None for o in decision.outcomes)
    # a policy that is not offered is not read
    r = app_client.get(f"/console/scans/{cand}/compare?baseline={base}&policy=/etc/passwd")
    assert r.status_code == 422 and "choose one of the policies offered" in r.text


def test_errors_reaching_http_users_name_fields_not_cli_flags(
    app_client: TestClient, home: Path
) -> None:
    data = _cls_data(home / "data", label="outcome")  # no column "y"
    body = {"kind": "classification", "data": data, "label": "y", "score": "score"}
    r = app_client.post("/scans", json={**body, "groups": ["g"], "resamples": 0}, headers=AUTH)
    view = _wait(app_client, r.json()["id"])
    assert view["status"] == "failed"
    assert "label" in view["error"] and not re.search(r"(?<![\w-])--[a-z]", view["error"])
    r = app_client.post("/scans", json={**body, "groups": []}, headers=AUTH)
    assert r.status_code == 422 and "--" not in r.text


# ------------------------------------------------------------------------------ OpenAPI and /docs


def test_docs_load_nothing_from_another_host(app_client: TestClient) -> None:
    r = app_client.get("/docs")
    assert r.status_code == 200
    refs = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert refs and all(u.startswith("/") and not u.startswith("//") for u in refs), refs
    assert "http://" not in r.text and "https://" not in r.text
    for ref in refs:
        assert app_client.get(ref).status_code == 200, ref
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    assert app_client.get("/redoc").status_code == 404  # ReDoc would need a CDN


def test_openapi_describes_and_exemplifies_every_field_and_hides_cli_only_ones(
    app_client: TestClient,
) -> None:
    from audit.scans._examples import REQUEST_EXAMPLES

    schema = app_client.get("/openapi.json").json()
    comps = schema["components"]["schemas"]
    for kind, model in REQUESTS.items():
        props = comps[model.__name__]["properties"]
        for name, prop in props.items():
            if name == "kind":
                continue
            assert prop.get("description"), (kind, name)
            assert prop.get("examples"), (kind, name)
            assert not re.search(r"(?<![\w-])--[a-z]", prop["description"]), (kind, name)
        model.model_validate(REQUEST_EXAMPLES[kind])  # each kind's example is a valid body
        for cli_only in ("out", "trust_pickle", "cache_dir", "no_cache"):
            assert cli_only not in props, (kind, cli_only)
    assert "workers" not in comps["PiiScan"]["properties"]
    post = schema["paths"]["/scans"]["post"]["requestBody"]["content"]["application/json"]
    assert set(post["examples"]) == set(REQUESTS)
    assert {"/scans/{scan_id}/cancel"} <= set(schema["paths"])
    assert "delete" in schema["paths"]["/scans/{scan_id}"]
    assert "get" in schema["paths"]["/scans"]
    assert not any(p.startswith("/console") for p in schema["paths"])

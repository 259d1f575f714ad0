"""The console in a real browser: Debian's Chromium driven by Playwright (no browser download).

A compliance user signs in with the token, submits a PII scan through its form, waits for it
on the scan's page, and opens the HTML report through its signed link. Nothing may log a
console error, and the browser may ask no host but the app.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from audit.api import create_app
from audit.storage import Settings

TOKEN = "browser-test-token-0123456789abcdef"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _chromium() -> str:
    for name in (os.environ.get("SOCIALAUDIT_CHROMIUM", ""), "/usr/bin/chromium", "chromium"):
        if name and (path := shutil.which(name)):
            return path
    pytest.skip("Chromium not installed (Debian: apt-get install chromium; scripts/bootstrap.sh)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The app under uvicorn on a free port (local backend in ``tmp_path``), and a small
    folder of posts with e-mail addresses under its data root."""
    import uvicorn

    home = tmp_path / "home"
    posts = home / "data" / "posts"
    posts.mkdir(parents=True)
    with (posts / "day-1.jsonl").open("w") as f:
        for i in range(30):
            text = f"post {i}: write to user{i}@example.com" if i % 3 == 0 else f"post {i}"
            f.write(json.dumps({"id": f"p{i}", "text": text}) + "\n")
    app = create_app(settings=Settings(home=home, workers=1), auth="token", token=TOKEN)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield base, posts
    server.should_exit = True
    thread.join(timeout=30)


def test_sign_in_submit_a_pii_scan_and_open_its_report_in_chromium(
    served: tuple[str, Path],
) -> None:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright not installed (scripts/bootstrap.sh)"
    )
    chromium = _chromium()
    base, posts = served
    errors: list[str] = []
    hosts: set[str] = set()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))

        page.goto(f"{base}/console/")
        assert "/console/sign-in" in page.url
        page.fill("#token", TOKEN)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/console/scans")
        assert TOKEN not in page.url and TOKEN not in page.content()

        page.click("nav >> text=New scan")
        page.click("a[href='/console/scans/new/pii']")
        page.fill("#f-source", str(posts))
        page.click("summary")  # the optional settings
        page.fill("#f-id_field", "id")
        page.fill("#f-name", "stored posts, <weekly>")
        page.click("text=Start the scan")
        page.wait_for_url(f"{base}/console/scans/*")
        scan_id = page.url.rsplit("/", 1)[1]
        assert page.locator("[data-phase]").count() == 5  # queued … done, shown as steps
        # the page polls and reloads itself once the scan is done: its report links appear
        page.wait_for_selector("a[data-format=html]", timeout=240_000)
        assert page.locator("[data-status]").inner_text() == "succeeded"
        assert page.locator("li[data-phase=done]").get_attribute("aria-current") == "step"
        assert page.locator("h1").inner_text() == "stored posts, <weekly>"
        shown = page.locator("tr[data-metric=findings_total] td").first.inner_text()

        doc = httpx.get(
            f"{base}/scans/{scan_id}/report",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=30,
        ).json()
        findings = doc["pii"]["findings_total"]
        assert findings > 0 and shown == str(findings)

        page.click("a[data-format=html]")
        page.wait_for_load_state("load")
        assert f"/console/r/{scan_id}/html?" in page.url
        row = page.locator("tr", has_text="all types").first
        assert row.locator("td").first.inner_text().replace(",", "") == str(findings)
        assert "@example.com" not in page.content()  # the report masks what it found

        page.goto(f"{base}/docs")  # the API's documentation, offline too
        page.wait_for_selector(".opblock", timeout=30_000)
        browser.close()
    assert errors == []
    assert hosts == {urlsplit(base).netloc}

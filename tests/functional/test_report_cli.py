"""``socialaudit report`` as a user runs it, and the HTML as a person sees it in a browser."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
from pathlib import Path

import pytest

from audit.cli import main
from tests.conftest import FIXTURES

SMALL = str(FIXTURES / "moderation_small.csv")


def report(argv: list[str]) -> int:
    """Run ``socialaudit report ARGV``: through the CLI once it is wired in, else the same way."""
    import audit.cli

    if "report" in getattr(audit.cli, "COMMANDS", {}):
        return main(["report", *argv])
    from rich.console import Console
    from rich.markup import escape

    from audit.cli.report import register
    from audit.exceptions import AuditError

    parser = argparse.ArgumentParser(prog="socialaudit")
    handlers = register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["report", *argv])
    try:
        return handlers[args.command](args, Console(width=160))
    except AuditError as exc:
        Console(stderr=True).print(f"socialaudit: error: {escape(str(exc))}", soft_wrap=True)
        return 2


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = report(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A moderation result written by the moderation command, as in the demo."""
    out = tmp_path_factory.mktemp("audit") / "moderation.json"
    code = main(
        [
            "moderation",
            "--data",
            SMALL,
            "--id",
            "id",
            "--label",
            "label",
            "--score",
            "score",
            "--groups",
            "group,gender",
            "--language",
            "lang",
            "--resamples",
            "100",
            "--no-explain",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    return out


@pytest.fixture(scope="module")
def bundle(result: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    """``socialaudit report`` run once: exit code, what it printed, the folder it wrote."""
    out = tmp_path_factory.mktemp("bundle")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = report(
            [
                str(result),
                "--out",
                str(out),
                "--format",
                "html,md,json,dsa",
                "--title",
                "Q3 moderation report",
            ],
        )
    return code, buf.getvalue(), out


def test_report_writes_the_bundle_and_says_where(bundle):
    code, stdout, out = bundle
    assert code == 0
    assert {p.name for p in out.iterdir()} == {
        "report.html",
        "report.md",
        "report.json",
        "dsa-section-1.6.csv",
        "dsa-qualitative.md",
    }
    assert "Q3 moderation report" in stdout and "[strong] Posts mentioning muslim" in stdout
    assert f"{out / 'report.html'}" in stdout.replace("\n", "")
    assert json.loads((out / "report.json").read_text())["title"] == "Q3 moderation report"
    assert (out / "report.md").read_text().startswith("# Q3 moderation report")


def test_describe_changes_how_groups_are_named(result, tmp_path, capsys):
    code, _, _ = run(
        [
            str(result),
            "--out",
            str(tmp_path),
            "--format",
            "md",
            "--describe",
            "group=comments about {group}",
        ],
        capsys,
    )
    assert code == 0
    assert "Comments about muslim" in (tmp_path / "report.md").read_text()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "result file not found"),
        ("{}", "not a socialaudit result"),
        ("nope", "not a JSON result"),
    ],
)
def test_bad_result_files_exit_2_with_the_file_named(tmp_path, capsys, content, message):
    path = tmp_path / "result.json"
    if content is not None:
        path.write_text(content)
    code, stdout, stderr = run([str(path), "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    assert message in stderr and str(path) in stderr.replace("\n", "")
    assert "Traceback" not in stderr + stdout
    assert not (tmp_path / "o").exists()


def test_bad_describe_exits_2(result, tmp_path, capsys):
    code, _, stderr = run(
        [str(result), "--out", str(tmp_path), "--describe", "group=no placeholder"], capsys
    )
    assert code == 2 and "--describe must be ATTR=TEMPLATE" in stderr


def test_unknown_format_is_a_usage_error(result, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        report([str(result), "--out", str(tmp_path), "--format", "html,docx"])
    assert exc.value.code == 2
    assert "unknown format 'docx'" in capsys.readouterr().err


def test_an_unwritable_folder_exits_2(result, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, _, stderr = run([str(result), "--out", str(blocker), "--format", "md"], capsys)
    assert code == 2 and "cannot write the report" in stderr


# --- in a browser ---------------------------------------------------------------------------------


def _chromium() -> str:
    for name in (os.environ.get("SOCIALAUDIT_CHROMIUM", ""), "chromium", "chromium-browser"):
        if name and (path := shutil.which(name)):
            return path
    pytest.skip("Chromium not installed (Debian: apt-get install chromium)")


def test_html_renders_in_chromium_with_charts_and_no_errors(bundle, tmp_path):
    html_report = bundle[2] / "report.html"
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = _chromium()
    errors: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(html_report.as_uri())
        charts = page.locator("figure.chart svg[role=img]")
        n = charts.count()
        sizes = [charts.nth(i).bounding_box() for i in range(n)]
        tables = page.locator("figure.chart .chart-table table").count()
        title = page.title()
        page.locator("#summary").screenshot(path=str(tmp_path / "findings.png"))
        browser.close()
    assert title == "Q3 moderation report"
    assert errors == []
    assert requests == [html_report.as_uri()]  # the page itself, nothing else
    assert n >= 8 and tables == n
    assert all(box and box["width"] > 200 and box["height"] > 80 for box in sizes)
    assert (tmp_path / "findings.png").stat().st_size > 5000

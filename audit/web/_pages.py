"""Rendering console pages: the Jinja2 environment (built on first page, not at import: the API's
cold start does not pay for it) and the security headers every page carries."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse

__all__ = ["CONSOLE_CSP", "REPORT_CSP", "STATIC", "TEMPLATES", "page", "secure_headers"]

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

#: Console pages and /docs: everything from this app, nothing inline, no frames.
CONSOLE_CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
#: A report opened from a signed link: its own inline styles and data: charts, nothing else
#: (the report has no scripts and fetches nothing).
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


def secure_headers(csp: str = CONSOLE_CSP, *, private: bool = True) -> dict[str, str]:
    """The headers of a console response: CSP, no sniffing, no referrer (a report link in a
    Referer would hand it on), and, for what a session sees, no caching."""
    headers = {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }
    if private:
        headers["Cache-Control"] = "no-store"
    return headers


@functools.cache
def _env() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    # Autoescape everything: scan names, group names and errors come from users.
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def page(
    template: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A console page rendered from ``templates/<template>``, with :func:`secure_headers`."""
    html = _env().get_template(template).render(**context)
    return HTMLResponse(
        html, status_code=status_code, headers={**secure_headers(), **(headers or {})}
    )

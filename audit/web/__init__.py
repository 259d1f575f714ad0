"""The scan console: server-rendered pages for compliance users, in the same app as the JSON API,
and the API's documentation (``/docs``) served from the package — no CDN, works offline.

==================================== ========================================================
``GET /console/sign-in``             sign in with the API token (once: then a session cookie)
``POST /console/sign-out``           sign out
``GET /console/scans``               past scans, newest first; filter by kind, status, name
``GET /console/scans/new[/{kind}]``  choose a kind; its form (one per kind, from its request)
``POST /console/scans/new/{kind}``   submit: the request model validates, errors by field
``GET /console/scans/{id}``          status, live phase and progress, summary, gate, reports
``GET /console/scans/{id}/compare``  the gate's lines with a baseline scan of the same kind
``POST /console/scans/{id}/cancel``  cancel a queued or running scan
``POST /console/scans/{id}/delete``  delete a finished scan
``GET /console/r/{id}/{format}``     a report through a short-lived signed link (no session)
``GET /docs``                        Swagger UI from the ``swagger-ui-bundle-v2`` package
==================================== ========================================================

Security: the session is an HMAC-signed cookie (HttpOnly, SameSite=Strict, Secure over HTTPS,
``Path=/console``) under a secret derived from the API token; every form that changes
something carries a CSRF token derived from the session; report links carry an expiry and an
HMAC over scan id, format and expiry (:mod:`audit.web._signing`); pages send
``Content-Security-Policy: default-src 'self'`` and load only the package's own assets;
templates autoescape everything. The console works in ``token`` auth mode (``socialaudit
serve``); behind an API gateway's JWT authorizer it says so and stays closed.

Importing this package imports no Jinja2: templates are loaded on the first page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from audit.web._pages import STATIC, page, secure_headers
from audit.web._routes import ConsoleDeps, ConsoleError, SignInNeededError, router

if TYPE_CHECKING:
    from audit.storage import Backend, ScanRecord

__all__ = ["mount_console", "swagger_ui_dir"]


def swagger_ui_dir() -> str | None:
    """The folder of Swagger UI's files in the ``swagger-ui-bundle-v2`` package, if installed."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    return str(swagger_ui_path)


def mount_console(
    app: FastAPI,
    *,
    backend: Callable[[Request], Backend],
    auth: Callable[[Request], tuple[str, str]],
    report: Callable[[Backend, ScanRecord, str], Response],
) -> None:
    """Add the console (``/console``), its assets and the offline ``/docs`` to ``app``.

    Parameters
    ----------
    backend, auth, report
        The app's backend dependency, ``request -> (auth mode, token)`` and the response of
        ``GET /scans/{id}/report`` (:class:`audit.web._routes.ConsoleDeps`).
    """
    app.state.console = ConsoleDeps(backend=backend, auth=auth, report=report)
    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")

    @app.exception_handler(SignInNeededError)
    async def sign_in_needed(request: Request, exc: SignInNeededError) -> Response:
        where = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            where = "/console/scans"
        from urllib.parse import urlencode

        return RedirectResponse(f"/console/sign-in?{urlencode({'next': where})}", 303)

    @app.exception_handler(ConsoleError)
    async def console_error(request: Request, exc: ConsoleError) -> Response:
        context = {"message": exc.message, "signed_in": False, "csrf": "", "kinds": []}
        return page("error.html", context, status_code=exc.status)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    swagger = swagger_ui_dir()
    if swagger is not None:
        app.mount("/docs/static", StaticFiles(directory=swagger), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def docs() -> Response:
        """Swagger UI, every file from this app (the page's one script reads the OpenAPI URL
        from its own tag: nothing inline, so the CSP holds here too)."""
        if swagger is None:
            return HTMLResponse(
                "<!doctype html><title>socialaudit API docs</title><p>The API documentation "
                "needs the swagger-ui-bundle-v2 package (pip install swagger-ui-bundle-v2); "
                "the OpenAPI document is at <a href='/openapi.json'>/openapi.json</a>.",
                status_code=503,
                headers=secure_headers(private=False),
            )
        context = {"openapi_url": app.openapi_url or "/openapi.json", "title": app.title}
        return page("docs.html", context, headers={"Cache-Control": "no-cache"})

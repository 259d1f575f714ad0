"""The HTTP API: thin FastAPI routes over :mod:`audit.scans`.

========================  ==========================================================
``GET /health``           liveness; the only route without auth
``POST /scans``           start a scan (``Idempotency-Key`` header: same key, same scan)
``GET /scans``            the scans, newest first, a page at a time; ``?kind=&status=&name=``
``GET /scans/{id}``       status (queued | running | succeeded | failed | cancelled), phase,
                          progress, summary
``GET /scans/{id}/report`` the result: ``?format=json`` (default), or the report: ``html``,
                          ``pdf``, ``md``, ``report-json``, ``dsa`` (CSV), ``dsa-qualitative``
``POST /scans/{id}/cancel`` stop a queued or running scan
``DELETE /scans/{id}``    delete a finished scan and all stored for it (409 while it runs)
``GET /docs``             the API's documentation (Swagger UI, served from the package)
``/console/...``          the scan console for people (:mod:`audit.web`)
========================  ==========================================================

Auth (``SOCIALAUDIT_AUTH``):

* ``token`` (default, local): ``Authorization: Bearer <SOCIALAUDIT_API_TOKEN>``; missing → 401,
  wrong → 403, and every route but ``/health`` refuses when the server has no token set.
* ``gateway`` (on AWS, set by ``template.yaml``): API Gateway's JWT authorizer has checked the
  caller before Lambda runs; the app still refuses a request whose event carries no authorizer
  context, so a misconfigured route fails closed.

The same app runs under uvicorn (``socialaudit serve``) and on Lambda (``lambdas/api.py``,
Mangum). Importing it imports no audit engine: those load in the workers.
"""

from __future__ import annotations

import hmac
import html
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import Body, Depends, FastAPI, Header, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from audit import __version__
from audit.exceptions import AuditError
from audit.kinds import as_fields
from audit.scans import ScanRequest, report_key, resume, submit_scan
from audit.storage import Backend, ScanRecord, Settings, make_backend

# isort: split
# Issue 16: listing, cancelling, deleting; phases; every report format; the console.
from audit.scans import Phase, cancel_scan, delete_scan, scan_phase
from audit.scans._examples import REQUEST_EXAMPLES
from audit.storage import MAX_PAGE, ScanActiveError, ScanFilter, ScanStatus

__all__ = [
    "ENV_API_TOKEN",
    "ENV_AUTH",
    "MAX_BODY_BYTES",
    "ReportFormat",
    "ScanList",
    "ScanView",
    "app",
    "create_app",
    "report_response",
]

ENV_API_TOKEN = "SOCIALAUDIT_API_TOKEN"

#: ``json`` (the result document) and every format a report is rendered in (REPORT_FORMATS).
ReportFormat = Literal["json", "html", "pdf", "md", "report-json", "dsa", "dsa-qualitative"]
ENV_AUTH = "SOCIALAUDIT_AUTH"

#: Largest request body accepted: a scan request is a few hundred bytes.
MAX_BODY_BYTES = 64 * 1024
_SCAN_ID = r"^[0-9a-f]{32}$"


class Progress(BaseModel):
    """How far a scan has got: batches are planned by the dispatcher, so 0 of None at first."""

    phase: Phase = Field(
        description="queued → running → aggregating → rendering → done (or failed, cancelled)"
    )
    label: str = Field(description="the phase in words: 'running: 3 of 8 batches finished'")
    batches_total: int | None
    batches_done: int
    batches_failed: int
    records_done: int
    fraction: float | None = Field(
        description="share of the scan's steps done (its batches, then the aggregation): 1.0 "
        "only once it is done, never while its result is merged or its reports rendered"
    )


class ScanView(BaseModel):
    """A scan as the API shows it."""

    id: str
    kind: str
    name: str | None = None
    status: ScanStatus
    created_at: str
    updated_at: str
    progress: Progress
    summary: list[dict[str, Any]] | None = None
    gate: dict[str, Any] | None = None
    reports: dict[str, str] | None = None
    error: str | None = None
    links: dict[str, str]

    @classmethod
    def of(cls, scan: ScanRecord) -> ScanView:
        summary = scan.summary or {}
        phase = scan_phase(scan)
        return cls(
            id=scan.id,
            kind=scan.kind,
            name=scan.name,
            status=scan.status,
            created_at=scan.created_at,
            updated_at=scan.updated_at,
            progress=Progress(
                phase=phase.phase,
                label=phase.label,
                batches_total=scan.batches_total,
                batches_done=scan.batches_done,
                batches_failed=scan.batches_failed,
                records_done=scan.records_done,
                fraction=phase.fraction,
            ),
            summary=summary.get("items"),
            gate=summary.get("gate"),
            reports=summary.get("reports"),
            error=as_fields(scan.error) if scan.error else None,
            links={
                "self": f"/scans/{scan.id}",
                "report": f"/scans/{scan.id}/report",
                "cancel": f"/scans/{scan.id}/cancel",
            },
        )


class ScanList(BaseModel):
    """One page of scans, newest first."""

    scans: list[ScanView]
    next_cursor: str | None = Field(
        description="pass as ?cursor= for the next page; null on the last page"
    )


class Health(BaseModel):
    status: Literal["ok"]
    version: str


_bearer = HTTPBearer(auto_error=False, description="SOCIALAUDIT_API_TOKEN (local mode)")
ScanId = Annotated[str, Path(pattern=_SCAN_ID, description="the id POST /scans returned")]


def get_backend(request: Request) -> Backend:
    """The app's backend, built from its settings on first use."""
    state = request.app.state
    if state.backend is None:
        state.backend = make_backend(state.settings)
    return state.backend  # type: ignore[no-any-return]


def authorize(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Refuse the request unless it carries the right token (or came through the authorizer)."""
    state = request.app.state
    mode = state.auth_mode or os.environ.get(ENV_AUTH, "token")
    expected = state.token if state.token is not None else os.environ.get(ENV_API_TOKEN, "")
    if mode == "gateway":
        context = (request.scope.get("aws.event") or {}).get("requestContext", {})
        if not context.get("authorizer"):
            raise HTTPException(401, "no authorizer context: this route needs auth")
        return
    if mode != "token":
        raise HTTPException(500, f"{ENV_AUTH} must be token or gateway, not {mode!r}")
    if not expected:
        raise HTTPException(
            401, f"the server has no {ENV_API_TOKEN} set: every route but /health is closed"
        )
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise HTTPException(403, "wrong bearer token")


def create_app(
    backend: Backend | None = None,
    *,
    settings: Settings | None = None,
    auth: Literal["token", "gateway"] | None = None,
    token: str | None = None,
) -> FastAPI:
    """Build the app. Arguments beat the environment; the backend is built on first use.

    Parameters
    ----------
    backend
        Storage and queue to use (default: :func:`audit.storage.make_backend` of ``settings``).
    settings
        Settings for the default backend (default: :meth:`Settings.from_env`).
    auth
        ``token`` or ``gateway`` (default: ``SOCIALAUDIT_AUTH`` when a request arrives, else
        ``token``).
    token
        The bearer token for ``token`` auth (default: ``SOCIALAUDIT_API_TOKEN`` when a request
        arrives).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Locally, pick up scans a previous run left unfinished (their queue was in memory).
        # On Lambda lifespan is off and SQS keeps the messages.
        if app.state.backend is None and (settings or Settings.from_env()).backend == "local":
            app.state.backend = make_backend(settings)
        if app.state.backend is not None:
            resume(app.state.backend)
        yield
        if app.state.backend is not None:
            app.state.backend.close()

    app = FastAPI(
        title="socialaudit",
        version=__version__,
        summary="Bias and privacy audits of a social platform's ML systems, as scans.",
        lifespan=lifespan,
        # /docs is served from the package by audit.web (FastAPI's loads Swagger UI from a
        # CDN: a blank page offline); ReDoc has no bundled copy, so it is not served.
        docs_url=None,
        redoc_url=None,
    )
    app.state.backend = backend
    app.state.settings = settings
    # None: read from the environment at each request (a Lambda's environment is fixed; tests
    # and `socialaudit serve` set it before the first request).
    app.state.auth_mode = auth
    app.state.token = token

    @app.middleware("http")
    async def limit_body(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return JSONResponse({"detail": f"body over {MAX_BODY_BYTES} bytes"}, 413)
        unsized = length is None and request.method in ("POST", "PUT", "PATCH")
        if unsized and len(await request.body()) > MAX_BODY_BYTES:
            return JSONResponse({"detail": f"body over {MAX_BODY_BYTES} bytes"}, 413)
        return await call_next(request)

    @app.exception_handler(AuditError)
    async def audit_error(request: Request, exc: AuditError) -> JSONResponse:
        return JSONResponse({"detail": as_fields(str(exc))}, status_code=422)

    @app.get("/health", response_model=Health, tags=["meta"])
    def health() -> Health:
        """Liveness: answers without auth and without touching storage."""
        return Health(status="ok", version=__version__)

    @app.post(
        "/scans",
        response_model=ScanView,
        status_code=202,
        dependencies=[Depends(authorize)],
        tags=["scans"],
        responses={
            401: {"description": "no or malformed token"},
            403: {"description": "wrong token"},
            413: {"description": "body too large"},
            422: {"description": "invalid request, or Idempotency-Key reused with another body"},
        },
    )
    def create_scan(
        request: Annotated[ScanRequest, Body(openapi_examples=_BODY_EXAMPLES)],
        response: Response,
        backend: Annotated[Backend, Depends(get_backend)],
        idempotency_key: Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                max_length=255,
                description="Same key and body → the same scan, however often it is sent",
            ),
        ] = None,
    ) -> ScanView:
        """Start a scan of the ``kind`` the body names, with that kind's settings.

        The body is validated in full before anything is stored: an unknown or misspelt field,
        a missing input file or a field HTTP does not accept is refused here (422), each
        problem named by its field."""
        scan, created = submit_scan(backend, request, idempotency_key=idempotency_key)
        response.headers["Location"] = f"/scans/{scan.id}"
        if not created:
            response.headers["Idempotent-Replayed"] = "true"
        return ScanView.of(scan)

    def _scan(backend: Backend, scan_id: str) -> ScanRecord:
        scan = backend.store.get_scan(scan_id)
        if scan is None:
            raise HTTPException(404, f"no scan {scan_id}")
        return scan

    @app.get(
        "/scans/{scan_id}",
        response_model=ScanView,
        dependencies=[Depends(authorize)],
        tags=["scans"],
    )
    def get_scan(scan_id: ScanId, backend: Annotated[Backend, Depends(get_backend)]) -> ScanView:
        """Status, progress and, once succeeded, the summary counts."""
        return ScanView.of(_scan(backend, scan_id))

    @app.get(
        "/scans/{scan_id}/report",
        dependencies=[Depends(authorize)],
        tags=["scans"],
        responses={
            200: {"content": {"application/json": {}, "text/html": {}, "application/pdf": {}}},
            409: {"description": "the scan has not succeeded"},
            404: {"description": "this scan has no report in that format (see its `reports`)"},
        },
    )
    def get_report(
        scan_id: ScanId,
        backend: Annotated[Backend, Depends(get_backend)],
        format: Annotated[
            ReportFormat,
            Query(
                description="json: the result document; html, pdf: the transparency report; "
                "md: its Markdown summary; report-json: the report model; dsa: the DSA "
                "section 1.6 rows (CSV); dsa-qualitative: the DSA text block (Markdown)"
            ),
        ] = "json",
    ) -> Response:
        """The result document (JSON), or its report in one of the formats rendered with it.

        The report is rendered once, when the scan finishes; an inventory has counts only,
        shown as a plain HTML table.
        """
        return report_response(backend, _scan(backend, scan_id), format)

    # -- issue 16: list, cancel, delete ----------------------------------------------------

    @app.get(
        "/scans",
        response_model=ScanList,
        dependencies=[Depends(authorize)],
        tags=["scans"],
        responses={422: {"description": "a bad filter, limit or cursor"}},
    )
    def list_scans(
        backend: Annotated[Backend, Depends(get_backend)],
        kind: Annotated[str | None, Query(description="only scans of this kind")] = None,
        status: Annotated[ScanStatus | None, Query(description="only scans in this status")] = None,
        name: Annotated[
            str | None, Query(max_length=256, description="only scans whose name contains this")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="scans per page")] = 50,
        cursor: Annotated[
            str | None, Query(max_length=512, description="next_cursor of the page before")
        ] = None,
    ) -> ScanList:
        """The scans, newest first, ``limit`` at a time; follow ``next_cursor`` for more."""
        try:
            page = backend.store.list_scans(
                ScanFilter(kind=kind, status=status, name=name), limit=limit, cursor=cursor
            )
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        return ScanList(scans=[ScanView.of(s) for s in page.scans], next_cursor=page.next_cursor)

    @app.post(
        "/scans/{scan_id}/cancel",
        summary="Cancel Scan",
        response_model=ScanView,
        dependencies=[Depends(authorize)],
        tags=["scans"],
        responses={404: {"description": "no such scan"}},
    )
    def cancel(scan_id: ScanId, backend: Annotated[Backend, Depends(get_backend)]) -> ScanView:
        """Stop a queued or running scan (``cancelled``): its remaining batches are dropped.

        A scan that has already finished is returned as it is."""
        scan = cancel_scan(backend, scan_id)
        if scan is None:
            raise HTTPException(404, f"no scan {scan_id}")
        return ScanView.of(scan)

    @app.delete(
        "/scans/{scan_id}",
        summary="Delete Scan",
        status_code=204,
        dependencies=[Depends(authorize)],
        tags=["scans"],
        responses={
            404: {"description": "no such scan"},
            409: {"description": "the scan is queued or running: cancel it first"},
        },
    )
    def delete(scan_id: ScanId, backend: Annotated[Backend, Depends(get_backend)]) -> Response:
        """Delete a finished scan: its record, plan, partial results, result and reports.

        Files the scan wrote elsewhere (PII ``findings``, ``redact_to``) stay."""
        try:
            deleted = delete_scan(backend, scan_id)
        except ScanActiveError as exc:
            raise HTTPException(409, str(exc)) from None
        if not deleted:
            raise HTTPException(404, f"no scan {scan_id}")
        return Response(status_code=204)

    from audit.web import mount_console

    mount_console(app, backend=get_backend, auth=server_auth, report=report_response)
    return app


def server_auth(request: Request) -> tuple[str, str]:
    """``(mode, token)`` the app checks callers against: what :func:`authorize` reads (the
    console signs people in with the same token)."""
    state = request.app.state
    mode = state.auth_mode or os.environ.get(ENV_AUTH, "token")
    token = state.token if state.token is not None else os.environ.get(ENV_API_TOKEN, "")
    return str(mode), str(token)


#: The request examples ``/docs`` offers, one per kind.
_BODY_EXAMPLES: dict[str, Any] = {
    kind: {"summary": f"a {kind} scan", "value": body} for kind, body in REQUEST_EXAMPLES.items()
}

#: Media type of each report format.
_MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "md": "text/markdown; charset=utf-8",
    "report-json": "application/json",
    "dsa": "text/csv; charset=utf-8",
    "dsa-qualitative": "text/markdown; charset=utf-8",
}
#: File name suffix of each report format when saved from a browser.
_SUFFIXES = {
    "md": "md",
    "report-json": "report.json",
    "dsa": "dsa-1.6.csv",
    "dsa-qualitative": "dsa-qualitative.md",
}


def report_response(backend: Backend, scan: ScanRecord, format: str) -> Response:
    """The response for a scan's result (``json``) or one of its report formats.

    Shared by ``GET /scans/{id}/report`` and the console's signed report links.

    Raises
    ------
    HTTPException
        409 before the scan has succeeded; 404 for a format it has no report in.
    """
    scan_id = scan.id
    if scan.status != "succeeded" or not scan.result_key:
        raise HTTPException(
            409, f"scan {scan_id} is {scan.status}: a report exists once it has succeeded"
        )
    if format == "json":
        return JSONResponse(backend.store.get_json(scan.result_key))
    state = ((scan.summary or {}).get("reports") or {}).get(format, "unavailable")
    if state == "ok":
        data = backend.store.get_blob(report_key(scan_id, format))
        if format == "html":
            return HTMLResponse(data.decode())
        name = f"socialaudit-{scan.kind}-{scan_id}.{_SUFFIXES.get(format, format)}"
        return Response(
            data,
            media_type=_MEDIA_TYPES[format],
            headers={"Content-Disposition": f'inline; filename="{name}"'},
        )
    if format == "html" and scan.kind == "inventory":
        return HTMLResponse(_html(scan, backend.store.get_json(scan.result_key)))
    raise HTTPException(404, f"no {format} report for scan {scan_id}: {state}")


def _html(scan: ScanRecord, doc: dict[str, Any]) -> str:
    """A plain page of an inventory's counts (presentation only)."""
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(str(item.get('metric', item.get('name', ''))))}</td>"
        f"<td>{e(str(item.get('value', '')))}</td></tr>"
        for item in doc.get("summary", [])
        if isinstance(item, dict)
    )
    gate = (scan.summary or {}).get("gate")
    verdict = f"<p>Release gate: {e(str(gate.get('line')))}</p>" if gate else ""
    title = e(f"socialaudit {scan.kind} scan {scan.id}")
    return (
        f"<!doctype html><html lang='en'><meta charset='utf-8'><title>{title}</title>"
        f"<h1>{title}</h1><p>Status: {e(scan.status)}; finished {e(scan.updated_at)}.</p>"
        f"{verdict}<table><tr><th>metric</th><th>value</th></tr>{rows}</table></html>"
    )


#: The app uvicorn and Mangum serve; settings come from the environment on first request.
app = create_app()

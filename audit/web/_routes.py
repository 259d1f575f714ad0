"""The console's routes: an :class:`~fastapi.APIRouter` over the same backend as the JSON API.

Pages read and change scans only through :mod:`audit.scans` and the store (the list page is
``GET /scans``' query; a submitted form is validated by the kind's request model and sent to
:func:`audit.scans.submit_scan`, as ``POST /scans`` does); they compute nothing themselves.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from audit.exceptions import AuditError
from audit.kinds import REGISTRY, as_fields
from audit.scans import (
    PHASES,
    REPORT_FORMATS,
    REQUESTS,
    cancel_scan,
    delete_scan,
    scan_phase,
    submit_scan,
)
from audit.storage import (
    ACTIVE_STATUSES,
    SCAN_STATUSES,
    Backend,
    ScanActiveError,
    ScanFilter,
    ScanRecord,
)
from audit.web._forms import FormErrors, body_of, form_fields, validation_errors
from audit.web._pages import REPORT_CSP, page, secure_headers
from audit.web._signing import SESSION_TTL_S, SIGN_IN_TTL_S, Session, Signer

__all__ = [
    "SESSION_COOKIE",
    "SIGN_IN_COOKIE",
    "ConsoleDeps",
    "ConsoleError",
    "SignInNeededError",
    "router",
]

#: The signed-in session (HttpOnly, SameSite=Strict, Path=/console).
SESSION_COOKIE = "socialaudit_session"
#: The sign-in form's own short session (for its CSRF token).
SIGN_IN_COOKIE = "socialaudit_sign_in"

_SCAN_ID = r"^[0-9a-f]{32}$"
ScanId = Annotated[str, PathParam(pattern=_SCAN_ID)]

#: What a kind's form says it does (audit kinds: the registry's description).
_INVENTORY = (
    "Count what a source holds — records, bytes, text lengths, unreadable lines: a cheap dry "
    "run before a PII scan."
)
#: Formats a report link is made for: the result document, then every report format.
LINK_FORMATS = ("json", *REPORT_FORMATS)
_FORMAT_LABELS = {
    "json": "result (JSON)",
    "html": "report (HTML)",
    "pdf": "report (PDF)",
    "md": "summary (Markdown)",
    "report-json": "report model (JSON)",
    "dsa": "DSA section 1.6 rows (CSV)",
    "dsa-qualitative": "DSA qualitative text (Markdown)",
}


class SignInNeededError(Exception):
    """The request needs a signed-in session it does not carry (→ the sign-in page)."""


class ConsoleError(Exception):
    """A console request that cannot be served: shown as a page, with its status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _kinds() -> list[dict[str, str]]:
    out = []
    for kind in REQUESTS:
        entry = REGISTRY.get(kind)
        out.append(
            {
                "kind": kind,
                "summary": entry.summary if entry else "count what a source holds",
                "description": entry.description if entry else _INVENTORY,
            }
        )
    return out


def _secure(request: Request) -> bool:
    scheme = request.headers.get("x-forwarded-proto") or request.url.scheme
    return scheme == "https"


@dataclass(frozen=True)
class ConsoleDeps:
    """What the console takes from the app that mounts it.

    Attributes
    ----------
    backend
        The app's backend dependency (``audit.api.get_backend``).
    auth
        ``request -> (mode, token)``: the app's auth mode and API token (the console signs in
        with the token, in ``token`` mode only).
    report
        ``(backend, scan, format) -> response`` of ``GET /scans/{id}/report``.
    """

    backend: Callable[[Request], Backend]
    auth: Callable[[Request], tuple[str, str]]
    report: Callable[[Backend, ScanRecord, str], Response]


def _deps(request: Request) -> ConsoleDeps:
    return request.app.state.console  # type: ignore[no-any-return]


def _backend(request: Request) -> Backend:
    return _deps(request).backend(request)


#: The console's routes, under ``/console`` (:func:`audit.web.mount_console` includes them and
#: sets ``app.state.console`` to the app's :class:`ConsoleDeps`).
router = APIRouter(prefix="/console", include_in_schema=False)
BackendDep = Annotated[Backend, Depends(_backend)]


def signer(request: Request) -> Signer | None:
    mode, token = _deps(request).auth(request)
    return Signer(token) if mode == "token" and token else None


def session_of(request: Request) -> tuple[Signer, Session]:
    s = signer(request)
    session = s.session(request.cookies.get(SESSION_COOKIE)) if s else None
    if s is None or session is None:
        raise SignInNeededError()
    return s, session


SessionDep = Annotated[tuple[Signer, Session], Depends(session_of)]


async def posted(request: Request, signed: tuple[Signer, Session]) -> dict[str, list[str]]:
    """The form a signed-in page posted, once its CSRF token is checked."""
    s, session = signed
    form = await _form(request)
    if not s.csrf_ok(session.nonce, _last(form, "csrf")):
        raise ConsoleError(403, "the form's CSRF token is missing or wrong: reload the page")
    return form


def common(request: Request, signed: tuple[Signer, Session] | None) -> dict[str, Any]:
    csrf = signed[0].csrf_token(signed[1].nonce) if signed else ""
    return {"csrf": csrf, "signed_in": signed is not None, "kinds": list(REQUESTS)}


# -- signing in and out ----------------------------------------------------------------


@router.get("")
@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/console/scans", 303)


@router.get("/sign-in")
def sign_in_page(request: Request, next: str = "/console/scans") -> Response:
    s = signer(request)
    if s is None:
        return _closed(request, _deps(request).auth)
    if s.session(request.cookies.get(SESSION_COOKIE)):
        return RedirectResponse(_local(next), 303)
    return _sign_in_form(request, s, next=_local(next), error=None)


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    s = signer(request)
    if s is None:
        return _closed(request, _deps(request).auth)
    form = await _form(request)
    nxt = _local((form.get("next") or ["/console/scans"])[-1])
    pre = s.session(request.cookies.get(SIGN_IN_COOKIE), purpose="sign-in")
    if pre is None or not s.csrf_ok(pre.nonce, _last(form, "csrf")):
        return _sign_in_form(
            request, s, next=nxt, status=403,
            error="the sign-in form had expired or was not this site's: try again",
        )  # fmt: skip
    _, token = _deps(request).auth(request)
    given = (form.get("token") or [""])[-1]
    if not hmac.compare_digest(given.encode(), token.encode()):
        return _sign_in_form(request, s, next=nxt, status=403, error="wrong token")
    cookie, _ = s.new_session()
    out = RedirectResponse(nxt, 303, headers=secure_headers())
    out.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=SESSION_TTL_S,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    out.delete_cookie(SIGN_IN_COOKIE, path="/console", httponly=True, samesite="strict")
    return out


@router.post("/sign-out")
async def sign_out(request: Request, signed: SessionDep) -> Response:
    await posted(request, signed)
    out = RedirectResponse("/console/sign-in", 303, headers=secure_headers())
    out.delete_cookie(SESSION_COOKIE, path="/console", httponly=True, samesite="strict")
    return out


# -- the scan list -----------------------------------------------------------------------


@router.get("/scans")
def scans(
    request: Request,
    signed: SessionDep,
    store: BackendDep,
    kind: str = "",
    status: str = "",
    name: Annotated[str, Query(max_length=256)] = "",
    cursor: Annotated[str, Query(max_length=512)] = "",
    deleted: str = "",
) -> Response:
    where = ScanFilter(
        kind=kind or None,
        status=status if status in SCAN_STATUSES else None,  # type: ignore[arg-type]
        name=name or None,
    )
    try:
        got = store.store.list_scans(where, limit=25, cursor=cursor or None)
    except ValueError as exc:
        raise ConsoleError(422, str(exc)) from None
    filters = {"kind": kind, "status": status, "name": name}
    more = (
        f"/console/scans?{urlencode({**filters, 'cursor': got.next_cursor})}"
        if got.next_cursor
        else None
    )
    return page(
        "scans.html",
        {
            **common(request, signed),
            "scans": [_row(s) for s in got.scans],
            "filters": filters,
            "statuses": SCAN_STATUSES,
            "next_page": more,
            "first_page": f"/console/scans?{urlencode(filters)}" if cursor else None,
            "deleted": deleted,
        },
    )


# -- new scans ---------------------------------------------------------------------------


@router.get("/scans/new")
def new_scan(request: Request, signed: SessionDep) -> Response:
    return page("new.html", {**common(request, signed), "choices": _kinds()})


def _form_page(
    request: Request,
    signed: tuple[Signer, Session],
    kind: str,
    values: dict[str, list[str]] | None,
    errors: FormErrors | None,
    status: int = 200,
) -> Response:
    model = REQUESTS[kind]
    fields = form_fields(model)
    entered = {k: v[-1] for k, v in (values or {}).items() if v}
    key = entered.get("idempotency_key") or secrets.token_urlsafe(16)
    about = next(c for c in _kinds() if c["kind"] == kind)
    return page(
        "form.html",
        {
            **common(request, signed),
            "kind": kind,
            "about": about,
            "fields": fields,
            "values": entered,
            "errors": errors or FormErrors(),
            "idempotency_key": key,
        },
        status_code=status,
    )


def _known(kind: str) -> str:
    if kind not in REQUESTS:
        raise ConsoleError(404, f"no scan kind {kind!r}: one of {', '.join(REQUESTS)}")
    return kind


@router.get("/scans/new/{kind}")
def kind_form(request: Request, signed: SessionDep, kind: str) -> Response:
    return _form_page(request, signed, _known(kind), None, None)


@router.post("/scans/new/{kind}")
async def submit(request: Request, signed: SessionDep, store: BackendDep, kind: str) -> Response:
    kind = _known(kind)
    form = await posted(request, signed)
    model = REQUESTS[kind]
    fields = form_fields(model)
    names = [f.name for f in fields]
    body = body_of(kind, fields, form)
    try:
        scan_request = model.model_validate(body)
    except ValidationError as exc:
        return _form_page(request, signed, kind, form, validation_errors(exc, names), 422)
    key = _last(form, "idempotency_key")
    try:
        scan, _ = submit_scan(store, scan_request, idempotency_key=key)
    except AuditError as exc:
        errors = FormErrors()
        errors.add(str(exc), names)
        return _form_page(request, signed, kind, form, errors, 422)
    return RedirectResponse(f"/console/scans/{scan.id}", 303, headers=secure_headers())


# -- one scan ----------------------------------------------------------------------------


def _get(store: Backend, scan_id: str) -> ScanRecord:
    scan = store.store.get_scan(scan_id)
    if scan is None:
        raise ConsoleError(404, f"no scan {scan_id}")
    return scan


@router.get("/scans/{scan_id}")
def scan_page(request: Request, signed: SessionDep, store: BackendDep, scan_id: ScanId) -> Response:
    scan = _get(store, scan_id)
    s, _ = signed
    reports = (scan.summary or {}).get("reports") or {}
    links = []
    if scan.status == "succeeded":
        for fmt in LINK_FORMATS:
            state = "ok" if fmt == "json" else reports.get(fmt, "unavailable")
            if fmt == "html" and scan.kind == "inventory":
                state = "ok"  # the counts' own page
            links.append(
                {
                    "format": fmt,
                    "label": _FORMAT_LABELS[fmt],
                    "state": state,
                    "href": s.report_link(scan.id, fmt) if state == "ok" else None,
                }
            )
    baselines = []
    if scan.status == "succeeded":
        same = store.store.list_scans(ScanFilter(kind=scan.kind, status="succeeded"), limit=50)
        baselines = [_row(b) for b in same.scans if b.id != scan.id]
    return page(
        "scan.html",
        {
            **common(request, signed),
            "scan": _row(scan),
            "request_items": sorted(
                (k, v) for k, v in scan.request.items() if v is not None and k != "kind"
            ),
            "phases": PHASES,
            "summary": _summary_rows((scan.summary or {}).get("items") or []),
            "gate": (scan.summary or {}).get("gate"),
            "links": links,
            "baselines": baselines,
            "policies": _policies(scan),
            "active": scan.status in ACTIVE_STATUSES,
        },
    )


@router.get("/scans/{scan_id}/progress")
def progress(request: Request, store: BackendDep, scan_id: ScanId) -> Response:
    s = signer(request)
    if s is None or s.session(request.cookies.get(SESSION_COOKIE)) is None:
        return JSONResponse({"detail": "sign in"}, 401, headers=secure_headers())
    row = _row(_get(store, scan_id))
    keys = ("status", "phase", "label", "fraction", "finished", "error")
    return JSONResponse({k: row[k] for k in keys}, headers=secure_headers())


@router.post("/scans/{scan_id}/cancel")
async def cancel(
    request: Request, signed: SessionDep, store: BackendDep, scan_id: ScanId
) -> Response:
    await posted(request, signed)
    if cancel_scan(store, scan_id) is None:
        raise ConsoleError(404, f"no scan {scan_id}")
    return RedirectResponse(f"/console/scans/{scan_id}", 303, headers=secure_headers())


@router.post("/scans/{scan_id}/delete")
async def delete(
    request: Request, signed: SessionDep, store: BackendDep, scan_id: ScanId
) -> Response:
    await posted(request, signed)
    try:
        if not delete_scan(store, scan_id):
            raise ConsoleError(404, f"no scan {scan_id}")
    except ScanActiveError as exc:
        raise ConsoleError(409, str(exc)) from None
    return RedirectResponse(f"/console/scans?deleted={scan_id}", 303, headers=secure_headers())


@router.get("/scans/{scan_id}/compare")
def compare(
    request: Request,
    signed: SessionDep,
    store: BackendDep,
    scan_id: ScanId,
    baseline: Annotated[str, Query(pattern=_SCAN_ID)],
    policy: str = "",
) -> Response:
    scan, base = _get(store, scan_id), _get(store, baseline)
    problem, verdict, lines = None, None, []
    if scan.status != "succeeded" or base.status != "succeeded":
        problem = "both scans must have succeeded to be compared"
    elif scan.kind != base.kind:
        problem = f"a {scan.kind} scan is compared with a {base.kind} scan of its own kind"
    elif policy not in _policies(scan):
        problem = "choose one of the policies offered"
    else:
        from audit.gate import evaluate, render_lines, render_verdict
        from audit.policy import load_policy

        try:
            decision = evaluate(
                load_policy(policy),
                [store.store.get_json(str(scan.result_key))],
                [store.store.get_json(str(base.result_key))],
            )
            verdict = render_verdict(decision)
            # render_lines: one line per outcome, in order, then one per skipped check.
            texts = render_lines(decision)
            n = len(decision.outcomes)
            lines = [
                {"status": o.status, "text": line, "baseline": o.baseline_value}
                for o, line in zip(decision.outcomes, texts[:n], strict=True)
            ]
            lines += [{"status": "SKIPPED", "text": t, "baseline": None} for t in texts[n:]]
        except AuditError as exc:
            problem = as_fields(str(exc))
    return page(
        "compare.html",
        {
            **common(request, signed),
            "scan": _row(scan),
            "baseline": _row(base),
            "policy": policy,
            "problem": problem,
            "verdict": verdict,
            "lines": lines,
        },
        status_code=422 if problem else 200,
    )


# -- report links (no session: the signature is the authority) ---------------------------


@router.get("/r/{scan_id}/{fmt}")
def report_link(
    request: Request,
    store: BackendDep,
    scan_id: ScanId,
    fmt: str,
    exp: int = 0,
    sig: Annotated[str, Query(max_length=128)] = "",
) -> Response:
    s = signer(request)
    why = "the console is not available here" if s is None else None
    if s is not None and fmt in LINK_FORMATS:
        why = s.report_link_ok(scan_id, fmt, exp, sig)
    elif s is not None:
        why = f"no report format {fmt!r}"
    if why is not None:
        return page("error.html", {**common(request, None), "message": why}, status_code=403)
    out = _deps(request).report(store, _get(store, scan_id), fmt)
    out.headers.update(secure_headers(REPORT_CSP))
    return out


# -- helpers ---------------------------------------------------------------------------------


def _last(form: dict[str, list[str]], name: str) -> str | None:
    """The last value a form gave ``name``, if any."""
    values = form.get(name)
    return values[-1] if values else None


async def _form(request: Request) -> dict[str, list[str]]:
    """The urlencoded form a browser posted (parsed here: no multipart parser needed); any
    other body counts as an empty form, which no CSRF check passes."""
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind != "application/x-www-form-urlencoded":
        return {}
    text = (await request.body()).decode("utf-8", errors="replace")
    return parse_qs(text, keep_blank_values=True, max_num_fields=500)


def _local(path: str) -> str:
    """``path`` if it is a console page of this site, else the scan list (no open redirect)."""
    if path.startswith("/console/") and not path.startswith("//") and "\\" not in path:
        return path
    return "/console/scans"


def _closed(request: Request, auth: Callable[[Request], tuple[str, str]]) -> Response:
    mode, _ = auth(request)
    if mode == "token":
        why = (
            "the server has no SOCIALAUDIT_API_TOKEN set, so nobody can sign in: set it and "
            "restart the server"
        )
    else:
        why = (
            f"this server checks callers at the API gateway (SOCIALAUDIT_AUTH={mode}); the "
            "console signs in with the API token and is served in token mode only"
        )
    return page(
        "error.html", {"message": why, "signed_in": False, "csrf": "", "kinds": []}, status_code=503
    )


def _sign_in_form(
    request: Request, s: Signer, *, next: str, error: str | None, status: int = 200
) -> Response:
    cookie, pre = s.new_session(purpose="sign-in")
    out = page(
        "sign_in.html",
        {
            "csrf": s.csrf_token(pre.nonce),
            "next": next,
            "error": error,
            "signed_in": False,
            "kinds": [],
        },
        status_code=status,
    )
    out.set_cookie(
        SIGN_IN_COOKIE,
        cookie,
        max_age=SIGN_IN_TTL_S,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return out


def _row(scan: ScanRecord) -> dict[str, Any]:
    """A scan as the pages show it."""
    phase = scan_phase(scan)
    return {
        "id": scan.id,
        "kind": scan.kind,
        "name": scan.name or "",
        "status": scan.status,
        "phase": phase.phase,
        "label": phase.label,
        "fraction": phase.fraction,
        "finished": phase.phase in ("done", "failed", "cancelled"),
        "created_at": scan.created_at,
        "updated_at": scan.updated_at,
        "records_done": scan.records_done,
        "error": as_fields(scan.error) if scan.error else "",
        "policy": scan.request.get("policy"),
    }


def _policies(scan: ScanRecord) -> list[str]:
    """Policies a comparison may apply: the scan's own, then those shipped in ``policies/``
    (never a path typed in: the server reads only files it already trusts)."""
    found = []
    if isinstance(scan.request.get("policy"), str):
        found.append(scan.request["policy"])
    folder = Path("policies")
    if folder.is_dir():
        for p in sorted(folder.glob("*.yaml")):
            # A release-gate policy has checks; the PII detection config beside them has not.
            text = p.read_text("utf-8", errors="replace")
            if any(line.startswith("checks:") for line in text.splitlines()):
                found.append(f"policies/{p.name}")
    return list(dict.fromkeys(found))


def _summary_rows(items: list[Any]) -> list[dict[str, str]]:
    """The result's summary items as ``(measure, value)`` rows (presentation only)."""
    rows = []
    for item in items:
        if not isinstance(item, dict):
            continue
        measure = str(item.get("metric", item.get("name", "")))
        where = item.get("group") or item.get("attribute")
        where = None if where in ("all", "overall") else where
        rows.append(
            {
                "metric": measure,
                "label": f"{measure} ({where})" if where else measure,
                "value": str(item.get("value", "")),
            }
        )
    return rows

"""Signed values of the console: the session cookie, CSRF tokens, short-lived report links.

Every signature is an HMAC-SHA256 under one secret derived from the server's API token
(``HMAC(token, "socialaudit console v1")``): the console needs no second secret to configure,
and changing the token signs everyone out and voids every report link. Each signed value
names its purpose (``session``, ``csrf``, ``report``), so no value signed for one purpose is
accepted for another.

=============== ============================================================ ==============
value           what it holds                                                lifetime
=============== ============================================================ ==============
session cookie  issued-at, expiry, a random nonce                            8 hours
CSRF token      HMAC of the session's nonce (or of the sign-in form's own)   the session's
report link     scan id, format, expiry, HMAC over the three                 15 minutes
=============== ============================================================ ==============

The token itself is never put in a cookie, a URL or a page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode

__all__ = [
    "LINK_TTL_S",
    "SESSION_TTL_S",
    "Session",
    "Signer",
]

#: How long a sign-in lasts.
SESSION_TTL_S = 8 * 3600
#: How long a report link opens the report.
LINK_TTL_S = 15 * 60
#: How long the sign-in form may be left open before it is sent.
SIGN_IN_TTL_S = 3600

Purpose = Literal["session", "sign-in"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Session:
    """A signed-in browser: when it signed in, until when, and its nonce (for CSRF)."""

    issued_at: int
    expires_at: int
    nonce: str


class Signer:
    """Signs and checks the console's values under the secret derived from ``token``.

    Parameters
    ----------
    token
        The server's API token (``SOCIALAUDIT_API_TOKEN``); must not be empty.
    """

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("the console signs with the API token: it must be set")
        self._key = hmac.new(token.encode(), b"socialaudit console v1", hashlib.sha256).digest()

    def _mac(self, purpose: str, message: str) -> str:
        data = f"{purpose}\n{message}".encode()
        return _b64(hmac.new(self._key, data, hashlib.sha256).digest())

    def _same(self, given: str, purpose: str, message: str) -> bool:
        return hmac.compare_digest(given.encode(), self._mac(purpose, message).encode())

    # -- the session cookie ------------------------------------------------------------------

    def new_session(
        self, now: float | None = None, *, purpose: Purpose = "session"
    ) -> tuple[str, Session]:
        """A fresh session and its cookie value.

        ``purpose="sign-in"``: the sign-in form's own short session, whose nonce its CSRF
        token is made from (never accepted as a signed-in session).
        """
        at = int(time.time() if now is None else now)
        ttl = SESSION_TTL_S if purpose == "session" else SIGN_IN_TTL_S
        session = Session(at, at + ttl, secrets.token_urlsafe(16))
        body = _b64(json.dumps([session.issued_at, session.expires_at, session.nonce]).encode())
        return f"{body}.{self._mac(purpose, body)}", session

    def session(
        self, cookie: str | None, now: float | None = None, *, purpose: Purpose = "session"
    ) -> Session | None:
        """The session a cookie value holds, or ``None`` (missing, forged or expired)."""
        if not cookie or cookie.count(".") != 1:
            return None
        body, mac = cookie.split(".")
        if not self._same(mac, purpose, body):
            return None
        try:
            issued, expires, nonce = json.loads(_unb64(body))
        except (ValueError, TypeError):
            return None
        if (time.time() if now is None else now) >= expires:
            return None
        return Session(int(issued), int(expires), str(nonce))

    # -- CSRF --------------------------------------------------------------------------------

    def csrf_token(self, nonce: str) -> str:
        """The CSRF token of every form a session (or the sign-in form, by its own nonce)
        posts."""
        return self._mac("csrf", nonce)

    def csrf_ok(self, nonce: str, given: str | None) -> bool:
        """Whether ``given`` is the CSRF token of ``nonce``."""
        return bool(given) and self._same(str(given), "csrf", nonce)

    # -- report links ------------------------------------------------------------------------

    def report_link(self, scan_id: str, fmt: str, now: float | None = None) -> str:
        """A link that opens the scan's report in ``fmt`` without a header or a session, for
        :data:`LINK_TTL_S` seconds."""
        expires = int(time.time() if now is None else now) + LINK_TTL_S
        sig = self._mac("report", f"{scan_id}\n{fmt}\n{expires}")
        return f"/console/r/{scan_id}/{fmt}?{urlencode({'exp': expires, 'sig': sig})}"

    def report_link_ok(
        self, scan_id: str, fmt: str, expires: int, sig: str, now: float | None = None
    ) -> str | None:
        """Why a report link does not open (``None``: it does)."""
        if not self._same(sig, "report", f"{scan_id}\n{fmt}\n{expires}"):
            return "this report link is not one the console made"
        if (time.time() if now is None else now) >= expires:
            return "this report link has expired: open the scan in the console for a fresh one"
        return None

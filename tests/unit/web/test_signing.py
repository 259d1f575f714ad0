"""The console's signed values: sessions, CSRF tokens and report links."""

from __future__ import annotations

import time

import pytest

from audit.web._signing import LINK_TTL_S, SESSION_TTL_S, Signer


def test_a_session_is_read_back_until_it_expires_and_not_after_tampering() -> None:
    s = Signer("token-a")
    cookie, session = s.new_session(now=1000)
    assert s.session(cookie, now=1000 + SESSION_TTL_S - 1) == session
    assert s.session(cookie, now=1000 + SESSION_TTL_S) is None  # expired
    body, mac = cookie.split(".")
    assert s.session(f"{body}x.{mac}", now=1001) is None
    other = "B" if mac[0] == "A" else "A"
    assert s.session(f"{body}.{other}{mac[1:]}", now=1001) is None
    assert s.session(None) is None and s.session("") is None and s.session("a.b.c") is None
    assert Signer("token-b").session(cookie, now=1001) is None  # a new token signs all out


def test_a_sign_in_form_session_is_not_a_signed_in_session() -> None:
    s = Signer("token-a")
    cookie, pre = s.new_session(purpose="sign-in")
    assert s.session(cookie) is None
    assert s.session(cookie, purpose="sign-in") == pre


def test_csrf_tokens_belong_to_one_session() -> None:
    s = Signer("token-a")
    _, one = s.new_session()
    _, two = s.new_session()
    assert s.csrf_ok(one.nonce, s.csrf_token(one.nonce))
    assert not s.csrf_ok(two.nonce, s.csrf_token(one.nonce))
    assert not s.csrf_ok(one.nonce, None) and not s.csrf_ok(one.nonce, "")
    assert not Signer("token-b").csrf_ok(one.nonce, s.csrf_token(one.nonce))


def test_report_links_expire_and_cover_scan_format_and_expiry() -> None:
    s = Signer("token-a")
    link = s.report_link("a" * 32, "html", now=1000)
    path, query = link.split("?")
    assert path == f"/console/r/{'a' * 32}/html" and "token" not in link
    params = dict(p.split("=") for p in query.split("&"))
    exp, sig = int(params["exp"]), params["sig"]
    assert exp == 1000 + LINK_TTL_S
    assert s.report_link_ok("a" * 32, "html", exp, sig, now=exp - 1) is None
    assert "expired" in str(s.report_link_ok("a" * 32, "html", exp, sig, now=exp))
    for scan, fmt, when in (
        ("b" * 32, "html", exp),
        ("a" * 32, "pdf", exp),
        ("a" * 32, "html", exp + 60),
    ):
        assert "not one the console made" in str(s.report_link_ok(scan, fmt, when, sig, now=999))


def test_the_signer_needs_a_token() -> None:
    with pytest.raises(ValueError, match="token"):
        Signer("")
    assert Signer("t").new_session()[1].expires_at >= int(time.time()) + SESSION_TTL_S - 1

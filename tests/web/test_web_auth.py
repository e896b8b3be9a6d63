"""Dashboard sign-in: scrypt (RFC 7914 vector), signed cookies, sessions on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from marketops.errors import Conflict, MarketopsError
from marketops.web import auth

NOW = datetime(2026, 11, 18, 12, tzinfo=UTC)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_verify_password_agrees_with_the_rfc_7914_test_vector() -> None:
    # RFC 7914 section 12: scrypt("password", "NaCl", N=1024, r=8, p=16, dkLen=64)
    dk = bytes.fromhex(
        "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
        "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"
    )
    stored = f"scrypt$1024$8$16${_b64(b'NaCl')}${_b64(dk)}"
    assert auth.verify_password(stored, "password")
    assert not auth.verify_password(stored, "Password")
    assert not auth.verify_password("bcrypt$whatever", "password")


def test_hashes_are_salted_and_never_hold_the_password() -> None:
    a = auth.hash_password("correct horse battery", n=2**12)
    b = auth.hash_password("correct horse battery", n=2**12)
    assert a != b and "correct" not in a
    assert auth.verify_password(a, "correct horse battery")
    assert auth.hash_password("x" * 10).split("$")[1:4] == ["131072", "8", "1"]  # OWASP minimum


def test_signed_values_refuse_tampering() -> None:
    key = b"k" * 32
    signed = auth.sign("session-id", key)
    assert auth.unsign(signed, key) == "session-id"
    assert auth.unsign(signed.replace("session", "sessiox"), key) is None
    assert auth.unsign(signed, b"other" * 8) is None
    assert auth.unsign("no-signature", key) is None
    assert auth.unsign(None, key) is None


def test_users_and_sessions(ctx, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(auth.ENV_SECRET, "test-secret-key")
    users = auth.UserService(ctx.engine, scrypt_n=2**12)
    user = users.create("ada", "a long passphrase", NOW)
    with pytest.raises(Conflict):
        users.create("ada", "another passphrase", NOW)
    with pytest.raises(MarketopsError) as err:
        users.create(" ", "short", NOW)
    assert {p.where for p in err.value.problems} == {"username", "password"}
    assert [u.username for u in users.list()] == ["ada"]

    assert users.authenticate("ada", "wrong passphrase!") is None
    assert users.authenticate("nobody", "a long passphrase") is None
    assert users.authenticate("ada", "a long passphrase") == user

    cookie, session = users.start_session(user, NOW)
    assert session.expires_at == NOW + auth.SESSION_TTL
    got = users.session(cookie, NOW + timedelta(hours=1))
    assert got is not None and got.user.username == "ada" and got.csrf_token == session.csrf_token
    sid = cookie.rpartition(".")[0]
    assert users.session(sid + ".forged", NOW) is None
    assert users.session(cookie, NOW + auth.SESSION_TTL) is None  # expired
    users.end_session(cookie)
    assert users.session(cookie, NOW) is None

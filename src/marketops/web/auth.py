"""Dashboard sign-in: scrypt password hashes, signed session cookies, CSRF tokens.

Sessions live in the store (so signing out or disabling a person ends them at once); the cookie
carries a random session id plus an HMAC of it, so a forged or altered cookie is refused before
the store is asked. The signing key comes from `MARKETOPS_SECRET_KEY`; without it a random key is
made per process (sessions then end when the server restarts).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from marketops.errors import Conflict, MarketopsError, Problem
from marketops.store.tables_web import web_sessions, web_users

log = logging.getLogger(__name__)

ENV_SECRET = "MARKETOPS_SECRET_KEY"
SESSION_COOKIE = "mo_session"
LOGIN_COOKIE = "mo_login"
SESSION_TTL = timedelta(hours=12)
MIN_PASSWORD = 10
# OWASP Password Storage Cheat Sheet: scrypt N=2^17, r=8, p=1 (128 MiB per hash)
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
_MAXMEM = 256 * 1024 * 1024

_process_key: bytes | None = None


def secret_key() -> bytes:
    global _process_key
    env = os.environ.get(ENV_SECRET)
    if env:
        return env.encode()
    if _process_key is None:
        log.warning("%s is not set: sessions end when the server restarts", ENV_SECRET)
        _process_key = secrets.token_bytes(32)
    return _process_key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    salt = secrets.token_bytes(16)
    dk = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=32)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(dk)}"


def verify_password(stored: str, password: str) -> bool:
    try:
        algo, n, r, p, salt, want = stored.split("$")
        if algo != "scrypt":
            return False
        dk = hashlib.scrypt(
            password.encode(),
            salt=_unb64(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_MAXMEM,
            dklen=len(_unb64(want)),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(dk, _unb64(want))


def sign(value: str, key: bytes | None = None) -> str:
    mac = hmac.new(key or secret_key(), value.encode(), hashlib.sha256).digest()
    return f"{value}.{_b64(mac)}"


def unsign(signed: str | None, key: bytes | None = None) -> str | None:
    """The value if the signature is ours, else None."""
    if not signed or "." not in signed:
        return None
    value, _, _mac = signed.rpartition(".")
    return value if hmac.compare_digest(sign(value, key), signed) else None


def login_token(nonce: str) -> str:
    """CSRF token for the sign-in form (no session yet): bound to a nonce in its own cookie."""
    return _b64(hmac.new(secret_key(), f"login:{nonce}".encode(), hashlib.sha256).digest())


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class User:
    id: int
    username: str
    created_at: datetime
    disabled_at: datetime | None


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str
    expires_at: datetime


_DUMMY_HASH = None


class UserService:
    """People who may sign in to the dashboard, and their sessions."""

    def __init__(self, engine: Engine, *, scrypt_n: int = SCRYPT_N):
        self.engine = engine
        self.scrypt_n = scrypt_n

    def create(self, username: str, password: str, now: datetime) -> User:
        username = username.strip()
        problems = []
        if not username:
            problems.append(Problem("username", "is empty", "give a user name"))
        if len(password) < MIN_PASSWORD:
            problems.append(
                Problem("password", f"shorter than {MIN_PASSWORD} characters", "use a passphrase")
            )
        if problems:
            raise MarketopsError("cannot create the user", problems)
        hashed = hash_password(password, n=self.scrypt_n)
        try:
            with self.engine.begin() as conn:
                uid = conn.execute(
                    insert(web_users)
                    .values(username=username, password_hash=hashed, created_at=now)
                    .returning(web_users.c.id)
                ).scalar_one()
        except IntegrityError as exc:
            raise Conflict(f"a user named {username!r} already exists") from exc
        return User(uid, username, now, None)

    def list(self) -> list[User]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(web_users).order_by(web_users.c.username)).all()
        return [User(r.id, r.username, r.created_at, r.disabled_at) for r in rows]

    def authenticate(self, username: str, password: str) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(web_users).where(web_users.c.username == username.strip())
            ).first()
        if row is None:
            # spend the same time as a real check so timing does not reveal which names exist
            global _DUMMY_HASH
            _DUMMY_HASH = _DUMMY_HASH or hash_password("x" * MIN_PASSWORD, n=self.scrypt_n)
            verify_password(_DUMMY_HASH, password)
            return None
        if row.disabled_at is not None or not verify_password(row.password_hash, password):
            return None
        return User(row.id, row.username, row.created_at, None)

    def start_session(self, user: User, now: datetime) -> tuple[str, Session]:
        """A new session; returns the signed cookie value and the session."""
        sid = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        expires = now + SESSION_TTL
        with self.engine.begin() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.expires_at < now))
            conn.execute(
                insert(web_sessions).values(
                    id_hash=_digest(sid),
                    user_id=user.id,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=expires,
                )
            )
        return sign(sid), Session(user, csrf, expires)

    def session(self, cookie: str | None, now: datetime) -> Session | None:
        sid = unsign(cookie)
        if sid is None:
            return None
        q = (
            select(web_sessions, web_users.c.username, web_users.c.created_at.label("u_created"))
            .join(web_users, web_users.c.id == web_sessions.c.user_id)
            .where(web_sessions.c.id_hash == _digest(sid), web_users.c.disabled_at.is_(None))
        )
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        if row is None or row.expires_at <= now:
            return None
        return Session(
            User(row.user_id, row.username, row.u_created, None), row.csrf_token, row.expires_at
        )

    def end_session(self, cookie: str | None) -> None:
        sid = unsign(cookie)
        if sid is None:
            return
        with self.engine.begin() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.id_hash == _digest(sid)))

"""API keys: shown once, stored as a SHA-256 hash, each with least-privilege scopes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select, update

from marketops.errors import MarketopsError, NotFound, Problem
from marketops.store.schema import api_keys

SCOPES = ("ingest", "read", "admin")
PREFIX = "mk"


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    scopes: frozenset[str]
    created_at: datetime
    revoked_at: datetime | None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyService:
    """Keys in the store. Successful verifications are remembered for `cache_s` seconds (by the
    token's hash, never the token), so a revocation takes effect within that time."""

    def __init__(self, engine: Engine, cache_s: float = 2.0):
        self.engine = engine
        self.cache_s = cache_s
        self._verified: dict[str, tuple[float, ApiKey]] = {}

    def create(
        self, name: str, scopes: list[str], now: datetime | None = None
    ) -> tuple[ApiKey, str]:
        """Returns the key and its full token; the token is never stored and cannot be shown again."""
        bad = [s for s in scopes if s not in SCOPES]
        if bad or not scopes:
            raise MarketopsError(
                "invalid scopes",
                [
                    Problem(
                        "--scope",
                        f"unknown or missing scope(s): {bad or 'none'}",
                        f"choose from {', '.join(SCOPES)}",
                    )
                ],
            )
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        now = now or datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(
                insert(api_keys).values(
                    id=key_id,
                    name=name,
                    secret_hash=_digest(secret),
                    scopes=sorted(set(scopes)),
                    created_at=now,
                )
            )
        return ApiKey(key_id, name, frozenset(scopes), now, None), f"{PREFIX}_{key_id}_{secret}"

    def list(self) -> list[ApiKey]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(api_keys).order_by(api_keys.c.created_at)).all()
        return [ApiKey(r.id, r.name, frozenset(r.scopes), r.created_at, r.revoked_at) for r in rows]

    def revoke(self, key_id: str, now: datetime | None = None) -> None:
        with self.engine.begin() as conn:
            done = conn.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id)
                .values(revoked_at=now or datetime.now(UTC))
            ).rowcount
        if not done:
            raise NotFound(f"no API key with id {key_id}")
        self._verified.clear()

    def cached(self, token: str) -> ApiKey | None:
        """The key if it was verified within `cache_s` (no I/O: safe on the event loop); None
        means "ask `verify`" (unknown tokens are never cached)."""
        hit = self._verified.get(_digest(token))
        if hit is not None and time.monotonic() - hit[0] < self.cache_s:
            return hit[1]
        return None

    def verify(self, token: str) -> ApiKey | None:
        hit = self.cached(token)
        if hit is not None:
            return hit
        digest = _digest(token)
        key = self._verify(token)
        if key is not None:
            if len(self._verified) > 10_000:
                self._verified.clear()
            self._verified[digest] = (time.monotonic(), key)
        return key

    def _verify(self, token: str) -> ApiKey | None:
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != PREFIX:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.id == parts[1])).first()
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(row.secret_hash, _digest(parts[2])):
            return None
        return ApiKey(row.id, row.name, frozenset(row.scopes), row.created_at, None)

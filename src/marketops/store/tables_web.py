"""Dashboard sign-in: people (scrypt password hashes) and their server-side sessions."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table

from marketops.store.schema import TS, metadata

web_users = Table(
    "web_users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(200), nullable=False, unique=True),
    Column(
        "password_hash", String(300), nullable=False
    ),  # scrypt$n$r$p$salt$hash, never the password
    Column("created_at", TS, nullable=False),
    Column("disabled_at", TS),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # sha256 of the cookie's session id
    Column("user_id", Integer, ForeignKey("web_users.id"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
)
Index("ix_web_sessions_expires", web_sessions.c.expires_at)

report_runs = Table(
    "report_runs",
    metadata,
    Column("report", String(64), primary_key=True),  # e.g. "scorecard"
    Column("period", String(32), primary_key=True),  # e.g. "2026-W48": one mailing per period
    Column("recipients", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
)

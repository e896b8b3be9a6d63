"""Published versions: snapshot on publish (by content hash), read back immutable definitions."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Connection, func, insert, select, update

from marketops.errors import MarketopsError, NotFound, Problem
from marketops.journeys.loader import content_hash, journey_path, load_journey
from marketops.journeys.models import Journey
from marketops.store.tables_journeys import (
    journey_enrolments,
    journey_states,
    journey_versions,
)


@lru_cache(maxsize=256)
def _parse(definition: bytes) -> Journey:
    return Journey.model_validate(orjson.loads(definition))


def definition(conn: Connection, name: str, version: int) -> Journey:
    """The journey exactly as version `version` was published (cached: versions never change)."""
    row = conn.execute(
        select(journey_versions.c.definition).where(
            journey_versions.c.journey == name, journey_versions.c.version == version
        )
    ).scalar()
    if row is None:
        raise NotFound(f"journey {name!r} has no version {version}")
    return _parse(orjson.dumps(row, option=orjson.OPT_SORT_KEYS))


class Definitions:
    """Per-tick memo of (journey, version) -> Journey."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._seen: dict[tuple[str, int], Journey] = {}

    def __call__(self, name: str, version: int) -> Journey:
        key = (name, version)
        if key not in self._seen:
            self._seen[key] = definition(self.conn, name, version)
        return self._seen[key]


def state(conn: Connection, name: str) -> Any:
    return conn.execute(select(journey_states).where(journey_states.c.journey == name)).first()


def require_state(conn: Connection, name: str) -> Any:
    row = state(conn, name)
    if row is None:
        raise NotFound(
            f"journey {name!r} is not published",
            [Problem(name, "never published", f"run `marketops journey publish {name}`")],
        )
    return row


def publish(ctx: Any, name: str, *, now: datetime, by: str = "cli") -> dict[str, Any]:
    """Snapshot `journeys/<name>.yml` as the next version; unchanged content publishes nothing.

    People already inside stay on the version they entered, unless the file declares
    `migrate_from` (then those on that version at a mapped step move to the new one).
    """
    from marketops.journeys.triggers import init_cursor

    journey, source = load_journey(ctx.workspace.root, name)
    digest = content_hash(journey)
    with ctx.engine.begin() as conn:
        latest = conn.execute(
            select(journey_versions.c.version, journey_versions.c.content_hash)
            .where(journey_versions.c.journey == name)
            .order_by(journey_versions.c.version.desc())
            .limit(1)
        ).first()
        if latest is not None and latest.content_hash == digest:
            return {"journey": name, "version": latest.version, "published": False, "migrated": 0}
        version = (latest.version if latest else 0) + 1
        migrated = 0
        if journey.migrate_from is not None:
            old = _check_migration(conn, ctx.workspace.root, name, journey, version)
            migrated = _migrate(conn, name, journey, old, version, now)
        conn.execute(
            insert(journey_versions).values(
                journey=name,
                version=version,
                content_hash=digest,
                definition=journey.model_dump(mode="json", by_alias=True),
                source=source,
                published_at=now,
                published_by=by,
            )
        )
        if latest is None:
            conn.execute(
                insert(journey_states).values(
                    journey=name, status="active", version=version, updated_at=now
                )
            )
        else:
            conn.execute(
                update(journey_states)
                .where(journey_states.c.journey == name)
                .values(version=version, updated_at=now)
            )
        init_cursor(conn, name, journey)
    return {"journey": name, "version": version, "published": True, "migrated": migrated}


def _check_migration(conn: Connection, root: Any, name: str, new: Journey, version: int) -> Journey:
    mig = new.migrate_from
    assert mig is not None
    where = f"{journey_path(root, name)}: migrate_from"
    if mig.version >= version:
        raise MarketopsError(
            "bad migration",
            [Problem(where, f"version {mig.version} is not older than {version}")],
        )
    old = definition(conn, name, mig.version)
    problems = [
        Problem(f"{where}.map.{k}", f"version {mig.version} has no step `{k}`")
        for k in mig.map
        if old.step(k) is None
    ] + [
        Problem(f"{where}.map.{k}", f"this version has no step `{v}`")
        for k, v in mig.map.items()
        if new.step(v) is None
    ]
    if problems:
        raise MarketopsError("bad migration", problems)
    return old


def _migrate(
    conn: Connection, name: str, new: Journey, old: Journey, version: int, now: datetime
) -> int:
    """Move people at mapped steps; a wait keeps its start and is re-timed on the new step."""
    mig = new.migrate_from
    assert mig is not None
    moved = 0
    for src, dst in mig.map.items():
        keep_wait = new.step(dst).wait is not None and old.step(src).wait is not None  # type: ignore[union-attr]
        values: dict[str, Any] = dict(version=version, step=dst, due_at=now, updated_at=now)
        values["wait_until"] = None
        if not keep_wait:
            values["wait_started_at"] = None
        moved += conn.execute(
            update(journey_enrolments)
            .where(
                journey_enrolments.c.journey == name,
                journey_enrolments.c.version == mig.version,
                journey_enrolments.c.status == "active",
                journey_enrolments.c.step == src,
            )
            .values(**values)
        ).rowcount
    return moved


def versions(conn: Connection, name: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            journey_versions.c.version,
            journey_versions.c.content_hash,
            journey_versions.c.published_at,
            journey_versions.c.published_by,
        )
        .where(journey_versions.c.journey == name)
        .order_by(journey_versions.c.version)
    )
    counts = dict(
        conn.execute(
            select(journey_enrolments.c.version, func.count())
            .where(journey_enrolments.c.journey == name, journey_enrolments.c.status == "active")
            .group_by(journey_enrolments.c.version)
        ).all()
    )
    return [dict(r._mapping) | {"active": int(counts.get(r.version, 0))} for r in rows]

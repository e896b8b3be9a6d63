"""Everything a use case needs, opened once per process: workspace, store, compiled config."""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from functools import cached_property

import orjson
from sqlalchemy import Engine, select

from marketops.errors import Problem, WorkspaceError
from marketops.pipeline.enrich import Enricher, HttpEnricher, LocalLookup
from marketops.pipeline.runner import CompiledConfig
from marketops.pipeline.suppress import SuppressionIndex
from marketops.store import db
from marketops.store.leads_repo import ensure_cursors
from marketops.store.schema import suppressions
from marketops.workspace import Workspace


def _dumps(obj: object) -> str:
    """JSON for the store's JSON columns: orjson (5-10x faster than json), str() for the odd type."""
    return orjson.dumps(obj, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


@dataclass
class AppContext:
    workspace: Workspace
    engine: Engine
    config: CompiledConfig
    enrichers: list[Enricher] = field(default_factory=list)
    _suppression: tuple[float, SuppressionIndex] | None = field(default=None, repr=False)

    @classmethod
    def open(cls, workspace: Workspace, *, migrate: bool = True) -> AppContext:
        engine = db.create_store_engine(workspace.database_url, json_serializer=_dumps)
        if migrate:
            db.upgrade(engine)
            with engine.begin() as conn:
                ensure_cursors(conn, [q.name for q in workspace.routing.queues])
        return cls(
            workspace, engine, CompiledConfig.from_workspace(workspace), _enrichers(workspace)
        )

    @cached_property
    def keys(self):  # -> KeyService; deferred import keeps module graph acyclic
        from marketops.services.keys import KeyService

        return KeyService(self.engine)

    def suppression_index(self, max_age_s: float = 5.0) -> SuppressionIndex:
        """The workspace's do-not-contact CSV plus the store's entries, cached for `max_age_s`.

        Re-reading both on every API request cost a fifth of a capture; a new suppression takes
        effect within seconds, and batch ingestion reads it fresh once per file.
        """
        cached = self._suppression
        if cached is not None and time.monotonic() - cached[0] < max_age_s:
            return cached[1]
        index = self._load_suppression()
        self._suppression = (time.monotonic(), index)
        return index

    def _load_suppression(self) -> SuppressionIndex:
        entries: list[tuple[str, str, str]] = []
        dnc = self.workspace.settings.suppression.do_not_contact
        if dnc:
            path = self.workspace.path(dnc)
            if not path.exists():
                raise WorkspaceError(
                    "do-not-contact list missing",
                    [
                        Problem(
                            str(path),
                            "file not found",
                            "fix suppression.do_not_contact in marketops.yml",
                        )
                    ],
                )
            with path.open(newline="", encoding="utf-8") as fh:
                for row in csv.DictReader(fh):
                    entries.append((row["channel"], row["kind"], row["value"]))
        with self.engine.connect() as conn:
            entries += [
                tuple(r)
                for r in conn.execute(
                    select(suppressions.c.channel, suppressions.c.kind, suppressions.c.value)
                )
            ]
        return SuppressionIndex.from_entries(entries)

    def close(self) -> None:
        self.engine.dispose()


def _enrichers(ws: Workspace) -> list[Enricher]:
    out: list[Enricher] = []
    cfg = ws.settings.enrichment
    if cfg.local_lookup:
        path = ws.path(cfg.local_lookup)
        if not path.exists():
            raise WorkspaceError(
                "enrichment lookup missing",
                [
                    Problem(
                        str(path), "file not found", "fix enrichment.local_lookup in marketops.yml"
                    )
                ],
            )
        out.append(LocalLookup(path))
    for plugin in cfg.plugins:
        out.append(_load_plugin(ws, plugin.factory, plugin.options))
    if cfg.http:
        out.append(
            HttpEnricher(
                cfg.http.url,
                timeout_s=cfg.http.timeout_s,
                retries=cfg.http.retries,
                api_key_env=cfg.http.api_key_env,
            )
        )
    return out


def _load_plugin(ws: Workspace, factory: str, options: dict) -> Enricher:
    """Import `module:callable` and build the enricher; errors name the setting to fix."""
    import importlib

    module_name, _, attr = factory.partition(":")
    where = f"{ws.root / 'marketops.yml'}: enrichment.plugins"
    try:
        obj = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise WorkspaceError(
            "enricher plugin not found",
            [
                Problem(
                    where, f"cannot import {factory}: {exc}", "install the package or fix the path"
                )
            ],
        ) from exc
    enricher = obj(ws, **options)
    if not callable(getattr(enricher, "lookup", None)) or not getattr(enricher, "name", None):
        raise WorkspaceError(
            "not an enricher",
            [
                Problem(
                    where, f"{factory} did not return an object with `name` and `lookup(domains)`"
                )
            ],
        )
    return enricher

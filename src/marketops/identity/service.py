"""Identity use cases: real-time linking during capture, batch resolve, unmerge, report, show.

The only module here that does I/O (through `identity.repo`); matching, clustering and
survivorship are the pure functions in the sibling modules.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from marketops.errors import Conflict, MarketopsError, NotFound, Problem
from marketops.identity import repo
from marketops.identity.config import IdentityConfig
from marketops.identity.features import features
from marketops.identity.model import MatchModel, default_model
from marketops.identity.realtime import blocking_keys, decide_match
from marketops.identity.survivorship import GOLDEN_FIELDS, Member, golden
from marketops.identity.workspace_files import IDENTITY_FILE
from marketops.store.bulk import bulk_insert
from marketops.store.schema import leads
from marketops.store.tables_identity import (
    identities,
    identity_keys,
    identity_links,
    identity_merges,
)

log = logging.getLogger(__name__)

_MODELS: dict[str, tuple[float, MatchModel]] = {}


def config(ctx: Any) -> IdentityConfig:
    return ctx.workspace.extra(IDENTITY_FILE)


def current_model(
    ctx: Any, cfg: IdentityConfig, conn: Connection | None = None, max_age_s: float = 5.0
) -> MatchModel:
    """The latest trained model in the store (else hand-set defaults), cached for `max_age_s`.

    Pass the caller's connection inside a write transaction (SQLite allows one writer)."""
    key = str(ctx.engine.url)
    cached = _MODELS.get(key)
    if cached is not None and time.monotonic() - cached[0] < max_age_s:
        return cached[1]
    if conn is not None:
        params = repo.latest_model(conn)
    else:
        with ctx.engine.connect() as own:
            params = repo.latest_model(own)
    model = MatchModel.from_json(params) if params else default_model(cfg)
    if [c.spec for c in model.comparisons] != cfg.comparisons:
        model = default_model(cfg)  # identity.yml changed since training: retrain with resolve
    _MODELS[key] = (time.monotonic(), model)
    return model


def lead_record(lead: Any) -> dict[str, Any]:
    """The fields matching reads, from a pipeline Lead."""
    return {
        "email": lead.email,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "company_key": lead.company_key,
        "phone_e164": lead.phone_e164,
        "attributes": lead.attributes,
    }


# --- real time --------------------------------------------------------------------------------


def link_record(
    conn: Connection,
    cfg: IdentityConfig,
    model: MatchModel,
    lead_id: str,
    record: Mapping[str, Any],
    now: datetime,
    *,
    actor: str = "realtime",
) -> dict[str, Any]:
    """Attach one record to an identity (or start one) inside the caller's transaction."""
    feats = features(record)
    keys = blocking_keys(feats, cfg)
    known = repo.fast_identity_of(conn, lead_id)
    if known is not None:  # a known person updated: refresh what matching sees, keep the link
        conn.execute(
            update(identity_links).where(identity_links.c.lead_id == lead_id).values(features=feats)
        )
        repo.replace_keys(conn, lead_id, keys)
        repo.refresh_identity(conn, known, cfg.survivorship, now)
        return {"identity_id": known, "status": "known"}
    cands = [
        c for c in repo.fast_candidates(conn, keys, cfg.max_candidates) if c.lead_id != lead_id
    ]
    d = decide_match(feats, cands, model, cfg)
    status = "linked" if d.identity_id else "new"
    identity_id = d.identity_id or repo.new_id()
    if d.identity_id is None:
        repo.fast_create_identity(conn, identity_id, now)
    repo.fast_insert_link(
        conn,
        {
            "lead_id": lead_id,
            "identity_id": identity_id,
            "method": d.method,
            "match_probability": d.probability,
            "match_weight": d.weight,
            "matched_to": d.matched_to,
            "features": feats,
            "linked_at": now,
        },
    )
    repo.fast_insert_keys(conn, lead_id, keys)
    if d.identity_id is None:
        return {"identity_id": identity_id, "status": status, "probability": None}
    moves = [{"lead_id": lead_id, "from": None, "to": identity_id, "prev": None}]
    for other in d.merge:  # the record bridges identities: fold them into the target
        for m in repo.members(conn, other):
            moves.append(
                {"lead_id": m["lead_id"], "from": other, "to": identity_id, "prev": _prev(m)}
            )
        conn.execute(
            update(identity_links)
            .where(identity_links.c.identity_id == other)
            .values(identity_id=identity_id)
        )
        conn.execute(delete(identities).where(identities.c.id == other))
    merge_id = repo.record_merge(
        conn,
        kind="merge",
        actor=actor,
        into=identity_id,
        data={
            "moves": moves,
            "probability": d.probability,
            "method": d.method,
            "matched_to": d.matched_to,
            "bridged": d.merge,
        },
        now=now,
    )
    repo.refresh_identity(conn, identity_id, cfg.survivorship, now)
    return {
        "identity_id": identity_id,
        "status": status,
        "probability": d.probability,
        "merge_id": merge_id,
    }


def _prev(link: Mapping[str, Any]) -> dict[str, Any]:
    return {k: link[k] for k in ("method", "match_probability", "match_weight", "matched_to")}


def link_outcomes(ctx: Any, conn: Connection, outcomes: Iterable[Any], now: datetime) -> int:
    """Capture hook: link every stored lead of a batch, in order, in the capture transaction."""
    cfg = config(ctx)
    if not cfg.realtime:
        return 0
    model = current_model(ctx, cfg, conn)
    done = 0
    for o in outcomes:
        if o.lead_id is None or o.lead is None:
            continue
        link_record(conn, cfg, model, o.lead_id, lead_record(o.lead), now)
        done += 1
    return done


# --- batch ------------------------------------------------------------------------------------

_LEAD_COLS = (
    "id",
    "email",
    "first_name",
    "last_name",
    "company_key",
    "phone_e164",
    "attributes",
    "created_at",
    "updated_at",
    *GOLDEN_FIELDS,
)


def _load_leads(conn: Connection) -> list[dict[str, Any]]:
    cols = [leads.c[c] for c in dict.fromkeys(_LEAD_COLS)]
    return [dict(r._mapping) for r in conn.execute(select(*cols).order_by(leads.c.created_at))]


def with_engine(cfg: IdentityConfig, engine: str | None) -> IdentityConfig:
    """identity.yml's settings with Splink's backend replaced (`--engine`), checked."""
    if engine is None:
        return cfg
    if engine not in ("duckdb", "spark"):
        raise MarketopsError(
            f"unknown identity engine {engine!r}",
            [Problem("--engine", f"{engine!r} is not an engine", "use duckdb or spark")],
        )
    return cfg.model_copy(update={"engine": cfg.engine.model_copy(update={"name": engine})})


def _records_by_id(frame: Any) -> dict[str, dict[str, Any]]:
    """The feature frame's rows as dicts by `unique_id`, NaN as None: column lists zipped,
    several times faster than pandas' `to_dict("index")` over Arrow-backed columns."""
    cols = [c for c in frame.columns if c != "unique_id"]
    values = [frame[c].tolist() for c in cols]
    return {
        uid: {
            k: (None if isinstance(v, float) and v != v else v)
            for k, v in zip(cols, row, strict=True)
        }
        for uid, *row in zip(frame["unique_id"].tolist(), *values, strict=True)
    }


def resolve_store(
    ctx: Any,
    now: datetime,
    *,
    train: bool = True,
    actor: str = "batch",
    engine: str | None = None,
) -> dict[str, Any]:
    """Re-cluster every lead in the store; keeps identity ids stable where the anchor stays.
    `engine` overrides identity.yml's `engine.name` (duckdb or spark) for this run."""
    from marketops.identity.batch import resolve_frame
    from marketops.identity.features import feature_frame

    cfg = with_engine(config(ctx), engine)
    with ctx.engine.connect() as conn:
        rows = _load_leads(conn)
        prev = {
            r[0]: dict(r._mapping)
            for r in conn.execute(
                select(
                    identity_links.c.lead_id,
                    *[
                        identity_links.c[c]
                        for c in (
                            "identity_id",
                            "method",
                            "match_probability",
                            "match_weight",
                            "matched_to",
                        )
                    ],
                )
            )
        }
    if not rows:
        return {"records": 0, "identities": 0, "duplicates_per_1000": 0.0}
    frame = feature_frame(rows, "id")
    model = None if train else current_model(ctx, cfg)
    result = resolve_frame(frame, cfg, train=train, model=model)
    by_id = {r["id"]: r for r in rows}
    links = result.links
    feats = _records_by_id(frame)

    # identity ids: the anchor's previous identity when no other cluster claimed it first
    ident_of_cluster: dict[str, str] = {}
    taken: set[str] = set()
    for cluster in links["cluster"].unique():
        old = prev.get(cluster, {}).get("identity_id")
        if old and old not in taken:
            ident_of_cluster[cluster], _ = old, taken.add(old)
        else:
            ident_of_cluster[cluster] = repo.new_id()
    link_rows, key_rows, ident_rows, merge_rows = [], [], [], []
    members: dict[str, list[dict[str, Any]]] = {}
    link_columns = [
        links[c].tolist()
        for c in ("unique_id", "cluster", "match_probability", "method", "matched_to")
    ]
    for unique_id, cluster, prob, method, matched_to in zip(*link_columns, strict=True):
        identity_id = ident_of_cluster[cluster]
        p = None if prob is None or prob != prob else float(prob)
        f = feats[unique_id]
        f["first_names"] = list(f.get("first_names") or [])
        row = {
            "lead_id": unique_id,
            "identity_id": identity_id,
            "method": method,
            "match_probability": p,
            "match_weight": None,
            "matched_to": matched_to,
            "features": f,
            "linked_at": now,
        }
        link_rows.append(row)
        members.setdefault(identity_id, []).append(row)
        key_rows += [{"key": k, "lead_id": unique_id} for k in blocking_keys(f, cfg)]
    for identity_id, ms in members.items():
        probs = [m["match_probability"] for m in ms if m["match_probability"] is not None]
        gold = golden(
            [
                Member(
                    m["lead_id"],
                    {k: by_id[m["lead_id"]].get(k) for k in GOLDEN_FIELDS},
                    by_id[m["lead_id"]]["created_at"],
                    by_id[m["lead_id"]]["updated_at"],
                    by_id[m["lead_id"]].get("source"),
                )
                for m in ms
            ],
            cfg.survivorship,
        )
        ident_rows.append(
            {
                "id": identity_id,
                "size": len(ms),
                "golden": gold,
                "min_probability": min(probs) if probs and len(ms) > 1 else None,
                "created_at": now,
                "updated_at": now,
            }
        )
        moves = [
            {
                "lead_id": m["lead_id"],
                "from": prev.get(m["lead_id"], {}).get("identity_id"),
                "to": identity_id,
                "prev": _prev(prev[m["lead_id"]]) if m["lead_id"] in prev else None,
            }
            for m in ms
            if prev.get(m["lead_id"], {}).get("identity_id") != identity_id
        ]
        if len(ms) > 1 and moves:
            merge_rows.append(
                {
                    "kind": "merge",
                    "at": now,
                    "actor": actor,
                    "into_identity": identity_id,
                    "data": {"moves": moves},
                }
            )
    with ctx.engine.begin() as conn:
        conn.execute(delete(identity_keys))
        conn.execute(delete(identity_links))
        conn.execute(delete(identities))
        for table, data in (
            (identities, ident_rows),
            (identity_links, link_rows),
            (identity_keys, key_rows),
            (identity_merges, merge_rows),
        ):
            for start in range(0, len(data), 20000):
                bulk_insert(conn, table, data[start : start + 20000])
        stats = {**result.stats, "merges": len(merge_rows)}
        repo.save_model(conn, result.model.as_json(), stats, now)
    _MODELS.pop(str(ctx.engine.url), None)
    return stats


# --- unmerge, report, show --------------------------------------------------------------------


def unmerge(ctx: Any, merge_id: int, now: datetime, *, actor: str = "cli") -> dict[str, Any]:
    """Undo a recorded merge: each moved record goes back where it was (a new identity when it
    had none), unless it has moved again since. Recorded as a `split` that names the merge."""
    cfg = config(ctx)
    with ctx.engine.begin() as conn:
        merge = repo.get_merge(conn, merge_id)
        if merge is None or merge["kind"] != "merge":
            raise NotFound(
                f"no merge {merge_id}",
                [
                    Problem(
                        "merge_id",
                        "not found",
                        "see `marketops identity show ID` for an identity's merges",
                    )
                ],
            )
        if merge["reverted_at"] is not None:
            raise Conflict(
                f"merge {merge_id} was already undone",
                [Problem("merge_id", f"undone by {merge['reverted_by']}")],
            )
        moves = merge["data"]["moves"]
        anchor_ids = {m["to"] for m in moves}
        undone, touched = [], set(anchor_ids)
        for mv in reversed(moves):
            link = repo.link_of(conn, mv["lead_id"])
            if link is None or link["identity_id"] != mv["to"]:
                continue  # moved again since: leave it
            back = mv["from"]
            if back is None or not repo.identity_exists(conn, back):
                back = back or repo.new_id()
                repo.create_identity(conn, back, now)
            prev = mv.get("prev") or {
                "method": None,
                "match_probability": None,
                "match_weight": None,
                "matched_to": None,
            }
            conn.execute(
                update(identity_links)
                .where(identity_links.c.lead_id == mv["lead_id"])
                .values(identity_id=back, **prev)
            )
            undone.append({"lead_id": mv["lead_id"], "from": mv["to"], "to": back})
            touched.add(back)
        for identity_id in touched:
            repo.refresh_identity(conn, identity_id, cfg.survivorship, now)
        split_id = repo.record_merge(
            conn,
            kind="split",
            actor=actor,
            into=merge["into_identity"],
            data={"undoes": merge_id, "moves": undone},
            now=now,
        )
        conn.execute(
            update(identity_merges)
            .where(identity_merges.c.id == merge_id)
            .values(reverted_at=now, reverted_by=split_id)
        )
    return {"merge_id": merge_id, "split_id": split_id, "moved": undone}


def report(ctx: Any, threshold: float | None = None) -> dict[str, Any]:
    """Duplicates per 1,000 records and the share of identities whose links meet the threshold."""
    cfg = config(ctx)
    t = cfg.threshold if threshold is None else threshold
    with ctx.engine.connect() as conn:
        c = repo.counts(conn, t)
    records, total, multi, confident = c["records"], c["identities"], c["multi"], c["confident"]
    return {
        "threshold": t,
        "records": records,
        "identities": total,
        "duplicates_per_1000": round(1000 * (records - total) / records, 2) if records else 0.0,
        "multi_record_identities": multi,
        "links_meet_threshold_share": round(confident / multi, 4) if multi else 1.0,
        "identities_meet_threshold_share": (
            round((total - multi + confident) / total, 4) if total else 1.0
        ),
        "links_by_method": c["by_method"],
    }


def show(ctx: Any, ident: str) -> dict[str, Any]:
    """An identity (by its id or a member lead's id): golden record, members, merges."""
    with ctx.engine.connect() as conn:
        row = conn.execute(select(identities).where(identities.c.id == ident)).first()
        if row is None:
            link = repo.link_of(conn, ident)
            if link is not None:
                row = conn.execute(
                    select(identities).where(identities.c.id == link["identity_id"])
                ).first()
        if row is None:
            raise NotFound(
                f"no identity or linked lead {ident!r}",
                [
                    Problem(
                        "id", "not found", "run `marketops identity resolve`, or enable realtime"
                    )
                ],
            )
        out = dict(row._mapping)
        if not out["golden"]:  # a single-record identity: its golden record is that record
            gold = golden(
                repo.member_records(conn, [m["lead_id"] for m in repo.members(conn, out["id"])]),
                config(ctx).survivorship,
            )
            out["golden"] = gold
        out["members"] = [
            {k: v for k, v in m.items() if k != "features"} for m in repo.members(conn, out["id"])
        ]
        out["merges"] = repo.merges_of(conn, out["id"])
    return out


def linked_ids(ctx: Any, lead_ids: Sequence[str]) -> dict[str, str]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(identity_links.c.lead_id, identity_links.c.identity_id).where(
                identity_links.c.lead_id.in_(list(lead_ids))
            )
        )
        return {r[0]: r[1] for r in rows}


def resolve_file(
    cfg: IdentityConfig, path: Any, out: Any, *, id_column: str | None = None
) -> dict[str, Any]:
    """Cluster a CSV, JSON-lines or Parquet file (no store); write one row per record to `out`
    (CSV or Parquet by extension): unique_id, cluster, method, match_probability, matched_to."""
    from pathlib import Path

    from marketops.identity.batch import resolve_frame
    from marketops.identity.features import feature_frame
    from marketops.services.ingest import BAD_LINE, read_rows

    path, out = Path(path), Path(out)
    rows, bad = [], []
    for i, raw in enumerate(read_rows(path), start=1):
        if BAD_LINE in raw:
            bad.append(Problem(f"{path}:{i}", raw["_reason"], "fix the line and run again"))
            continue
        if id_column and raw.get(id_column) in (None, ""):
            raise MarketopsError(
                f"{path.name}: row {i} has no {id_column}",
                [Problem(f"{path}:{i}", f"empty {id_column}", "give every row an id")],
            )
        rows.append({**raw, "_id": raw[id_column] if id_column else str(i)})
    if bad:  # refuse rather than cluster without them: a record left out is a record lost
        raise MarketopsError(f"{path.name}: {len(bad)} unreadable lines", bad)
    if not rows:
        raise MarketopsError(f"{path.name} has no rows", [Problem(str(path), "empty file")])
    frame = feature_frame(rows, "_id")
    if frame["unique_id"].duplicated().any():
        dup = frame["unique_id"][frame["unique_id"].duplicated()].iloc[0]
        raise MarketopsError(
            f"{path.name}: {id_column} {dup!r} appears twice",
            [Problem(str(path), f"duplicate id {dup!r}", "ids must be unique")],
        )
    result = resolve_frame(frame, cfg)
    if out.suffix == ".parquet":
        result.links.to_parquet(out, index=False)
    else:
        result.links.to_csv(out, index=False)
    return result.stats

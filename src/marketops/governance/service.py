"""Change control use cases: plan, apply, rollback, versions. The only governance module doing I/O
(workspace folder, store); the diff and the back-test it calls are pure."""

from __future__ import annotations

import multiprocessing
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from marketops.errors import Conflict, MarketopsError, NotFound, Problem, WorkspaceError
from marketops.governance.backtest import (
    Outcome,
    RuleSet,
    Tally,
    fields_read,
    replay_all,
    summarize,
)
from marketops.governance.config import GovernanceFile
from marketops.governance.history import load_history
from marketops.governance.outcomes import OutcomeRows
from marketops.governance.snapshot import (
    FileChange,
    diff,
    governed_paths,
    read_folder,
    snapshot_hash,
    write_folder,
)
from marketops.governance.workspace_files import GOVERNANCE_FILE
from marketops.routing.accounts import AccountIndex
from marketops.services.context import AppContext
from marketops.store.schema import leads
from marketops.store.tables_governance import (
    workspace_plans,
    workspace_version_files,
    workspace_versions,
)
from marketops.workspace import SETTINGS_FILE, Workspace, validate_workspace
from marketops.workspace.models import Lifecycle, Routing, Scoring, Settings
from marketops.workspace.yamlfile import load_model

PARALLEL_FROM = 50_000  # leads; below this, worker start-up costs more than it saves


# --- the working folder and the stored versions ----------------------------------------------
def governed(root: Path) -> tuple[GovernanceFile, list[str]]:
    """governance.yml (defaults when absent) and the governed paths, contract included."""
    cfg = load_model(root / GOVERNANCE_FILE, GovernanceFile, default={})
    contract = None
    if cfg.include_contract:
        settings = load_model(root / SETTINGS_FILE, Settings, default={})
        contract = settings.contract
    return cfg, governed_paths(cfg.files, contract)


@dataclass(frozen=True)
class Version:
    version: int
    content_hash: str
    action: str
    who: str
    why: str
    via: str | None
    created_at: datetime
    base_version: int | None
    rolled_back_to: int | None
    plan_id: int | None
    impact: dict[str, Any]
    governed: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _version(row: Any) -> Version:
    m = row._mapping
    return Version(**{k: m[k] for k in Version.__dataclass_fields__})


def live_version(conn: Connection) -> Version | None:
    row = conn.execute(
        select(workspace_versions).order_by(workspace_versions.c.version.desc()).limit(1)
    ).first()
    return _version(row) if row else None


def version_files(conn: Connection, version: int) -> dict[str, str]:
    return {
        p: c
        for p, c in conn.execute(
            select(workspace_version_files.c.path, workspace_version_files.c.content).where(
                workspace_version_files.c.version == version
            )
        )
    }


def get_version(conn: Connection, version: int) -> Version:
    row = conn.execute(
        select(workspace_versions).where(workspace_versions.c.version == version)
    ).first()
    if row is None:
        have = conn.scalar(select(func.max(workspace_versions.c.version)))
        raise NotFound(
            f"no workspace version {version}",
            [Problem("version", f"versions are 1..{have or 0}", "see `marketops versions`")],
        )
    return _version(row)


def list_versions(ctx: AppContext) -> dict[str, Any]:
    """Every version (newest first) with what changed from the one before, and whether the
    working folder still equals the live version."""
    root = ctx.workspace.root
    _, paths = governed(root)
    working = read_folder(root, paths)
    out = []
    with ctx.engine.connect() as conn:
        rows = [
            _version(r)
            for r in conn.execute(select(workspace_versions).order_by(workspace_versions.c.version))
        ]
        files = conn.execute(
            select(
                workspace_version_files.c.version,
                workspace_version_files.c.path,
                workspace_version_files.c.sha256,
            )
        ).all()
    by_version: dict[int, dict[str, str]] = {}
    for v, p, sha in files:
        by_version.setdefault(v, {})[p] = sha
    prev: dict[str, str] = {}
    for v in rows:
        cur = by_version.get(v.version, {})
        changed = sorted(p for p in set(prev) | set(cur) if prev.get(p) != cur.get(p))
        out.append({**v.as_dict(), "changed_files": changed})
        prev = cur
    live = rows[-1] if rows else None
    return {
        "versions": out[::-1],
        "live": live.version if live else None,
        "working_hash": snapshot_hash(working),
        "working_in_sync": bool(live and live.content_hash == snapshot_hash(working)),
    }


def version_diff(ctx: AppContext, a: int, b: int | None = None) -> list[FileChange]:
    """Diff version `a` → `b`; with one version, from the version before it to `a`."""
    with ctx.engine.connect() as conn:
        if b is None:
            get_version(conn, a)
            old = version_files(conn, a - 1) if a > 1 else {}
            return diff(old, version_files(conn, a), f"v{a - 1}", f"v{a}")
        get_version(conn, a)
        get_version(conn, b)
        return diff(version_files(conn, a), version_files(conn, b), f"v{a}", f"v{b}")


# --- back-test -------------------------------------------------------------------------------
def _rules_from_files(
    files: Mapping[str, str], fallback: Workspace, accounts: AccountIndex | None
) -> RuleSet:
    """The live rule set from a stored snapshot (files it lacks come from the working folder)."""

    def model(name: str, cls: type, default: Any) -> Any:
        if name not in files:
            return default
        return cls.model_validate(yaml.safe_load(files[name]) or {})

    return RuleSet.compile(
        model("scoring.yml", Scoring, fallback.scoring),
        model("routing.yml", Routing, fallback.routing),
        model("lifecycle.yml", Lifecycle, fallback.lifecycle),
        accounts,
    )


def _account_index(ctx: AppContext, ws: Workspace) -> AccountIndex:
    """The accounts `account_owner` rules match: the working folder's CSV and the store's
    table (the CSV is data, not a governed file: both sides of a back-test use today's)."""
    from marketops.routing.accounts import merged_index, store_accounts
    from marketops.routing.config import csv_accounts

    with ctx.engine.connect() as conn:
        return merged_index(csv_accounts(ws), store_accounts(conn))


_JOB: dict[str, Any] = {}


def _run_part(k: int) -> Tally:
    """One worker's share: load its partition of the leads and replay it (fork start: the job
    arrives in the inherited `_JOB`, compiled rules and all)."""
    from marketops.store.db import create_store_engine

    job = _JOB
    engine = create_store_engine(job["url"], pool_size=1)
    try:
        with engine.connect() as conn:
            history = load_history(
                conn,
                since=job["since"],
                until=job["until"],
                fields=job["fields"],
                part=(k, job["parts"]),
            )
            return replay_all(
                history, job["live"], job["cand"], since=job["since"], outcomes=job["outcomes"]
            )
    finally:
        engine.dispose()


def run_backtest(
    engine: Engine,
    live: RuleSet,
    candidate: RuleSet,
    *,
    since: datetime | None,
    until: datetime,
    outcomes: Mapping[str, Outcome] | None = None,
    workers: int = 1,
    parallel_from: int = PARALLEL_FROM,
) -> Tally:
    """Replay the stored leads under both rule sets; in `workers` processes (each loading and
    replaying its share of the ids) once there are `parallel_from` leads or more."""
    fields = fields_read([live, candidate])
    with engine.connect() as conn:
        n = conn.scalar(select(func.count()).select_from(leads)) or 0
        if workers < 2 or n < parallel_from:
            history = load_history(conn, since=since, until=until, fields=fields)
            return replay_all(history, live, candidate, since=since, outcomes=outcomes)
    _JOB.update(
        url=engine.url.render_as_string(hide_password=False),
        live=live,
        cand=candidate,
        since=since,
        until=until,
        fields=fields,
        outcomes=outcomes,
        parts=workers,
    )
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_run_part, range(workers))
    finally:
        _JOB.clear()
    total = Tally(since)
    for t in parts:
        total.merge(t)
    return total


def _resolve_emails(conn: Connection, by_email: Mapping[str, Outcome]) -> dict[str, Outcome]:
    out: dict[str, Outcome] = {}
    emails = list(by_email)
    for start in range(0, len(emails), 500):
        part = emails[start : start + 500]
        for lead_id, email in conn.execute(
            select(leads.c.id, leads.c.email).where(leads.c.email.in_(part))
        ):
            out[lead_id] = by_email[email]
    return out


_RELATIVE = re.compile(r"^\s*(\d+)\s*([dwmy])\s*$")


def parse_since(text: str, now: datetime, where: str = "--since") -> datetime:
    """`2026-07-01`, an ISO date-time, or `90d` / `12w` / `3m` / `1y` before `now`."""
    m = _RELATIVE.match(text.lower())
    if m:
        n, unit = int(m.group(1)), m.group(2)
        return now - timedelta(days=n * {"d": 1, "w": 7, "m": 30, "y": 365}[unit])
    return parse_time(text, where)


def parse_time(text: str, where: str) -> datetime:
    from datetime import UTC

    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise MarketopsError(
            f"cannot read {where} {text!r}",
            [Problem(where, "not a date", "use YYYY-MM-DD, an ISO date-time, 90d, 3m or all")],
        ) from exc
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


# --- plan / apply / rollback -----------------------------------------------------------------
def plan(
    ctx: AppContext,
    *,
    now: datetime,
    since: datetime | None = None,
    all_history: bool = False,
    until: datetime | None = None,
    outcomes: OutcomeRows | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    """Diff the working files against the live version, back-test the change, record the plan.

    The back-test covers leads active in [since, until] (default: governance.yml's
    `backtest.period_days` up to `now`; `all_history` for everything).
    """
    root = ctx.workspace.root
    gov, paths = governed(root)
    working = read_folder(root, paths)
    candidate_hash = snapshot_hash(working)
    with ctx.engine.connect() as conn:
        live = live_version(conn)
        live_files = version_files(conn, live.version) if live else {}
    changes = diff(live_files, working, f"v{live.version}" if live else "(none)", "working")
    problems = validate_workspace(root)
    until = until or now
    if all_history:
        since = None
    elif since is None:
        since = until - timedelta(days=gov.backtest.period_days)
    if since is not None and since >= until:
        raise MarketopsError(
            "empty back-test period",
            [Problem("--since", f"{since:%Y-%m-%d %H:%M} is not before {until:%Y-%m-%d %H:%M}")],
        )
    report: dict[str, Any] = {
        "created_at": now,
        "live": _live_summary(live),
        "candidate_hash": candidate_hash,
        "governed_files": paths,
        "changes": [
            {
                "path": c.path,
                "status": c.status,
                "added_lines": c.added_lines,
                "removed_lines": c.removed_lines,
                "diff": c.diff,
            }
            for c in changes
        ],
        "valid": not problems,
        "problems": [{"where": p.where, "message": p.message, "hint": p.hint} for p in problems],
        "backtest": None,
    }
    candidate_ws = None
    if live is not None and live.content_hash == candidate_hash:
        report["backtest_skipped"] = f"no changes: the working files equal live v{live.version}"
    else:
        try:
            candidate_ws = Workspace.load(root)
        except WorkspaceError as exc:
            report["backtest_skipped"] = f"the working files do not load: {exc}".splitlines()[0]
    if candidate_ws is not None:
        accounts = _account_index(ctx, candidate_ws)
        cand = RuleSet.compile(
            candidate_ws.scoring, candidate_ws.routing, candidate_ws.lifecycle, accounts
        )
        live_rules = _rules_from_files(live_files, candidate_ws, accounts) if live else cand
        resolved: dict[str, Outcome] | None = None
        found_by_email = 0
        if outcomes is not None:
            with ctx.engine.connect() as conn:
                by_email = _resolve_emails(conn, outcomes.by_email)
            found_by_email = len(by_email)
            resolved = {**by_email, **outcomes.by_id}
        started = time.perf_counter()
        tally = run_backtest(
            ctx.engine,
            live_rules,
            cand,
            since=since,
            until=until,
            outcomes=resolved,
            workers=workers if workers is not None else 1,
        )
        bt = summarize(tally, bins=gov.backtest.score_bins, outcomes=resolved)
        bt["period"] = {"since": since, "until": until}
        bt["compared"] = (
            f"live v{live.version} vs working files"
            if live
            else (
                "no live version yet: the working files alone (the first apply records them as v1)"
            )
        )
        bt["seconds"] = round(time.perf_counter() - started, 3)
        if outcomes is not None:
            bt.setdefault("outcomes", {}).update(
                rows=outcomes.rows,
                unreadable=len(outcomes.problems),
                unreadable_rows=outcomes.problems[:20],
                unknown_emails=len(outcomes.by_email) - found_by_email,
            )
        report["backtest"] = bt
    with ctx.engine.begin() as conn:
        plan_id = conn.execute(
            insert(workspace_plans)
            .values(
                created_at=now,
                base_version=live.version if live else None,
                base_hash=live.content_hash if live else None,
                candidate_hash=candidate_hash,
                files={p: _sha(c) for p, c in working.items()},
                report=_jsonable(report),
            )
            .returning(workspace_plans.c.id)
        ).scalar_one()
    report["plan_id"] = plan_id
    return report


def _sha(content: str) -> str:
    from marketops.governance.snapshot import file_hash

    return file_hash(content)


def _live_summary(v: Version | None) -> dict[str, Any] | None:
    if v is None:
        return None
    return {
        "version": v.version,
        "hash": v.content_hash,
        "who": v.who,
        "why": v.why,
        "at": v.created_at,
        "action": v.action,
    }


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, datetime):
        return obj.isoformat()
    return obj


def _find_plan(conn: Connection, plan_id: int | None, working_hash: str) -> Any:
    if plan_id is not None:
        row = conn.execute(select(workspace_plans).where(workspace_plans.c.id == plan_id)).first()
        if row is None:
            raise NotFound(f"no plan {plan_id}", [Problem("--plan", "unknown plan id")])
        return row
    row = conn.execute(
        select(workspace_plans)
        .where(workspace_plans.c.candidate_hash == working_hash)
        .order_by(workspace_plans.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        raise MarketopsError(
            "no plan for the working files",
            [Problem("workspace", "nothing planned for these files", "run `marketops plan` first")],
        )
    return row


def _require(value: str, name: str) -> str:
    if not value or not value.strip():
        raise MarketopsError(
            f"{name} is required",
            [Problem(f"--{name}", "empty", f"say {name} (it is recorded with the version)")],
        )
    return value.strip()


def apply(
    ctx: AppContext,
    *,
    who: str,
    why: str,
    now: datetime,
    plan_id: int | None = None,
    via: str = "cli",
) -> dict[str, Any]:
    """Record the working files as the new live version, if they are valid, were planned, and
    the live version is still the one the plan compared against."""
    who, why = _require(who, "who"), _require(why, "why")
    root = ctx.workspace.root
    _, paths = governed(root)
    working = read_folder(root, paths)
    working_hash = snapshot_hash(working)
    problems = validate_workspace(root)
    if problems:
        raise WorkspaceError(f"not applied: the workspace has {len(problems)} problem(s)", problems)
    with ctx.engine.begin() as conn:
        p = _find_plan(conn, plan_id, working_hash)
        if p.candidate_hash != working_hash:
            raise Conflict(
                f"not applied: the files changed since plan {p.id}",
                [
                    Problem(
                        "workspace",
                        "working files differ from the planned ones",
                        "run `marketops plan` again",
                    )
                ],
            )
        live = live_version(conn)
        if (live.content_hash if live else None) != p.base_hash or (
            live.version if live else None
        ) != p.base_version:
            raise Conflict(
                f"not applied: the live version changed since plan {p.id}",
                [
                    Problem(
                        "live version",
                        f"plan {p.id} compared against v{p.base_version or 0}; live is now "
                        f"v{live.version if live else 0} ({live.who if live else ''}, "
                        f"{live.created_at if live else ''})",
                        "run `marketops plan` again to see the change against the new live version",
                    )
                ],
            )
        if live is not None and live.content_hash == working_hash:
            raise MarketopsError(
                "nothing to apply",
                [Problem("workspace", f"the working files equal live v{live.version}")],
            )
        impact = _impact(p.report)
        version = _record(
            conn,
            working,
            working_hash,
            action="apply",
            who=who,
            why=why,
            via=via,
            now=now,
            base=live,
            plan_id=p.id,
            impact=impact,
            governed=paths,
        )
    _reload(ctx)
    return {"version": version, "hash": working_hash, "plan_id": p.id, "impact": impact}


def _impact(report: Mapping[str, Any]) -> dict[str, Any]:
    bt = report.get("backtest") or {}
    if not bt:
        return {}
    out = {
        "leads": bt.get("leads"),
        "mql": {k: bt["mql"][k] for k in ("live", "candidate", "lost", "gained")},
        "routing_moved": bt["routing"]["moved"],
        "scores_changed": bt["scores"]["changed"],
        "period": bt.get("period"),
    }
    if "outcomes" in bt:
        out["won_losing_mql"] = bt["outcomes"].get("won_losing_mql")
        out["won_losing_mql_revenue"] = bt["outcomes"].get("won_losing_mql_revenue")
    return out


def _record(
    conn: Connection,
    files: Mapping[str, str],
    content_hash: str,
    *,
    action: str,
    who: str,
    why: str,
    via: str,
    now: datetime,
    base: Version | None,
    plan_id: int | None = None,
    governed: list[str],
    rolled_back_to: int | None = None,
    impact: dict[str, Any] | None = None,
) -> int:
    version = (base.version if base else 0) + 1
    try:
        conn.execute(
            insert(workspace_versions).values(
                version=version,
                content_hash=content_hash,
                action=action,
                who=who,
                why=why,
                via=via,
                created_at=now,
                base_version=base.version if base else None,
                rolled_back_to=rolled_back_to,
                plan_id=plan_id,
                impact=impact or {},
                governed=governed,
            )
        )
    except IntegrityError as exc:  # another apply took this number first
        raise Conflict(
            f"version {version} was recorded by someone else meanwhile",
            [Problem("live version", "concurrent change", "run `marketops plan` again")],
        ) from exc
    if files:
        conn.execute(
            insert(workspace_version_files),
            [
                {"version": version, "path": p, "sha256": _sha(c), "content": c}
                for p, c in sorted(files.items())
            ],
        )
    return version


def rollback(
    ctx: AppContext,
    version: int,
    *,
    who: str,
    why: str,
    now: datetime,
    force: bool = False,
    via: str = "cli",
) -> dict[str, Any]:
    """Write version `version`'s files back to the folder and record them as a new version."""
    who, why = _require(who, "who"), _require(why, "why")
    root = ctx.workspace.root
    _, paths = governed(root)
    working = read_folder(root, paths)
    with ctx.engine.begin() as conn:
        target = get_version(conn, version)
        live = live_version(conn)
        assert live is not None  # get_version found one
        if not force and snapshot_hash(working) != live.content_hash:
            raise Conflict(
                "not rolled back: the working files have changes that were never applied",
                [
                    Problem(
                        "workspace",
                        f"working files differ from live v{live.version}",
                        "apply or undo them first, or pass --force to overwrite them",
                    )
                ],
            )
        if target.content_hash == live.content_hash:
            raise MarketopsError(
                "nothing to roll back",
                [Problem("version", f"v{version} has the same files as live v{live.version}")],
            )
        files = version_files(conn, version)
        # remove only files that were under control then and absent then: a file that became
        # governed later says nothing about the past, so it stays (and is recorded as it is)
        then = set(target.governed or paths)
        written, removed = write_folder(root, files, sorted(then & set(paths) | set(files)))
        files = {**{p: c for p, c in working.items() if p not in then}, **files}
        problems = validate_workspace(root)
        if problems:
            write_folder(root, working, sorted(set(paths) | set(files) | set(working)))
            raise WorkspaceError(
                f"not rolled back: v{version}'s files are not valid with the rest of the workspace",
                problems,
            )
        try:
            new = _record(
                conn,
                files,
                snapshot_hash(files),
                action="rollback",
                who=who,
                why=why,
                via=via,
                now=now,
                base=live,
                rolled_back_to=version,
                governed=sorted(set(paths) | then),
            )
        except BaseException:
            write_folder(root, working, sorted(set(paths) | set(files) | set(working)))
            raise
    _reload(ctx)
    return {"version": new, "restored": version, "written": written, "removed": removed}


def _reload(ctx: AppContext) -> None:
    """A running server picks the new rules up at once (the CLI process simply exits)."""
    from marketops.pipeline.runner import CompiledConfig

    try:
        ws = Workspace.load(ctx.workspace.root)
    except WorkspaceError:
        return
    ctx.workspace = ws
    ctx.config = CompiledConfig.from_workspace(ws)


def default_workers() -> int:
    return os.cpu_count() or 1


def get_plan(ctx: AppContext, plan_id: int) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        row = conn.execute(select(workspace_plans).where(workspace_plans.c.id == plan_id)).first()
    if row is None:
        raise NotFound(f"no plan {plan_id}")
    m = row._mapping
    return {**m["report"], "plan_id": m["id"], "base_version": m["base_version"]}


def show_version(ctx: AppContext, version: int, against: int | None = None) -> dict[str, Any]:
    """A version, its files, and the diff from `against` (default: the version before it)."""
    with ctx.engine.connect() as conn:
        v = get_version(conn, version)
        files = version_files(conn, version)
    changes = version_diff(ctx, version) if against is None else version_diff(ctx, against, version)
    return {
        **v.as_dict(),
        "files": [{"path": p, "sha256": _sha(c), "content": c} for p, c in sorted(files.items())],
        "changes": [c.__dict__ for c in changes],
    }

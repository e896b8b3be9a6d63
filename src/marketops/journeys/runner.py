"""The step tick: run every due enrolment's steps, exactly once per person per step.

A batch of due enrolments is claimed and executed in one transaction: the step records
(`journey_step_runs`, unique on enrolment/step/attempt), their effects (lead updates, stage
moves, list changes, outbox rows) and the enrolments' new step and `due_at` commit together. A
crash before commit leaves everything due again; after commit nothing is due twice. On
PostgreSQL the claim is `FOR UPDATE SKIP LOCKED`, so several workers take different people; on
SQLite `BEGIN IMMEDIATE` serialises writers. Paused and stopped journeys are not claimed.

Steps chain within a tick until a wait that has not ended (or the end), so a person's run of
actions happens at once. The batch's people advance in rounds (`plan_people`): each round's
action steps run grouped by kind, so a batch's emails are decided and written together. A batch
runs without savepoints; if anything in it raises, it is run again with a savepoint per person
and only the failing person is set aside (`failed`, with the error, replayable with `marketops
journey retry`); a database error (lock timeout, deadlock) leaves that person due for the next
tick instead. People are run in lead order, so workers lock
lead rows in one order.
"""

from __future__ import annotations

import gc
import logging
import weakref
from collections import namedtuple
from collections.abc import Callable, Generator, Iterator
from contextlib import closing, contextmanager
from datetime import datetime
from operator import attrgetter
from typing import Any

import orjson
from sqlalchemy import Connection, select
from sqlalchemy.exc import DBAPIError

from marketops.journeys import engine
from marketops.journeys.actions import Result, Run, run_steps
from marketops.journeys.leads import NARROW, narrow_enough, read_leads
from marketops.journeys.models import Journey, Step
from marketops.journeys.versions import Definitions
from marketops.store.bulk import (
    SMALL_BATCH,
    RowDecoder,
    RowEncoder,
    bind_time,
    decode_columns,
    decode_rows,
    execute_many,
    insert_rows,
    param_marker,
    pg_stage,
    update_by_id,
)
from marketops.store.db import (
    WAL_PAGES_BULK,
    WAL_PAGES_DEFAULT,
    checkpoint_every,
    checkpoint_now,
)
from marketops.store.schema import activities, leads
from marketops.store.tables_events import event_identities, events
from marketops.store.tables_journeys import (
    journey_enrolments,
    journey_events,
    journey_states,
    journey_step_runs,
)

log = logging.getLogger("marketops.journeys")

BATCH = 2000  # people per claim: one transaction, a few statements per table
MAX_CHAIN = 50  # steps per person per tick: a loop without a wait cannot spin forever

# an enrolment's state that a walk starts from and carries on (`_blank`)
CARRIED = (
    "step",
    "wait_started_at",
    "wait_until",
    "visits",
    "defers",
    "exited_at",
    "exit_reason",
    "goal",
)


def event_seen(
    conn: Connection, lead_id: str, journey: str, name: str, since: datetime, now: datetime
) -> bool:
    """Did `name` happen to the lead in [since, now]: an activity, an API event, a track event."""
    a, j = activities.c, journey_events.c
    for stmt in (
        select(a.id).where(a.lead_id == lead_id, a.type == name, a.occurred_at.between(since, now)),
        select(j.id).where(
            j.lead_id == lead_id, j.journey == journey, j.name == name, j.at.between(since, now)
        ),
    ):
        if conn.execute(stmt.limit(1)).scalar() is not None:
            return True
    ids = select(event_identities.c.value, event_identities.c.kind).where(
        event_identities.c.lead_id == lead_id
    )
    linked = conn.execute(ids).all()
    users = [v for v, k in linked if k == "user"]
    anons = [v for v, k in linked if k == "anon"]
    if not users and not anons:
        return False
    cond = []
    if users:
        cond.append(events.c.user_id.in_(users))
    if anons:
        cond.append(events.c.anonymous_id.in_(anons))
    from sqlalchemy import or_

    return (
        conn.execute(
            select(events.c.id)
            .where(
                events.c.type == "track",
                events.c.event == name,
                events.c.ts >= since,
                events.c.ts <= now,
                or_(*cond),
            )
            .limit(1)
        ).scalar()
        is not None
    )


class Members:
    """A lead's segment memberships, read once and only if a goal or branch asks."""

    def __init__(self, conn: Connection, lead_id: str) -> None:
        self.conn, self.lead_id, self._names = conn, lead_id, None

    def __call__(self, segment: str) -> bool:
        if self._names is None:
            from marketops.segments.service import memberships

            self._names = set(memberships(self.conn, self.lead_id))
        return segment in self._names


Outcome = tuple[list[dict[str, Any]], dict[str, Any]]  # (step records, the enrolment's values)
RunRow = tuple[Any, ...]  # a step record in `_RUN` order, not yet encoded
Planned = tuple[list[RunRow], dict[str, Any]]  # (a person's step records, their new values)
Person = tuple[Any, Journey, dict[str, Any]]  # (enrolment, its journey version, the lead)
Walker = Generator[list[tuple[int, Run]], list[Result], list[tuple[int, Planned]]]


def run_enrolment(
    conn: Connection, ctx: Any, e: Any, journey: Journey, lead: dict[str, Any], now: datetime
) -> Outcome:
    """Run one person's due steps: (step records, the enrolment's new values)."""
    return run_people(conn, ctx, [(e, journey, lead)], now)[0]


def run_people(
    conn: Connection, ctx: Any, people: list[Person], now: datetime, *, cohorts: bool = True
) -> list[Outcome]:
    """`plan_people` with each step record as a dict (the tests' view of a batch)."""
    return [
        ([dict(zip(_RUN, r, strict=True)) for r in runs], st)
        for runs, st in plan_people(conn, ctx, people, now, cohorts=cohorts)
    ]


def plan_people(
    conn: Connection, ctx: Any, people: list[Person], now: datetime, *, cohorts: bool = True
) -> list[Planned]:
    """Run many people's due steps side by side, in rounds: each person goes as far as their
    next action step, then that round's actions run grouped by kind (`run_steps`: one batched
    call per kind, people in the order given), and each person carries on with their result.
    A person's own steps keep their order; only different people's steps share a round.

    People of a straight journey (`Journey.straight`) standing at the same step in the same state walk as
    one cohort (`_cohort`): its waits and exits are worked out once for all of them and only
    the actions' results are per person; the others walk one by one (`_walk`). Both give what
    running each person alone gives (`cohorts=False` walks everyone alone: the tests' guard)."""
    walkers: list[Walker] = []
    groups: dict[tuple[Any, ...], list[tuple[int, Any, dict[str, Any]]]] = {}
    journeys: dict[tuple[Any, ...], Journey] = {}
    for pos, (e, journey, lead) in enumerate(people):
        if cohorts and journey.straight:
            key = (*_cohort_of(e), tuple((e.visits or {}).items()))
            journeys[key] = journey
            groups.setdefault(key, []).append((pos, e, lead))
        else:
            walkers.append(_alone_walker(pos, _walk(conn, ctx, e, journey, lead, now)))
    for key, members in groups.items():
        walkers.append(_cohort(conn, ctx, journeys[key], members, now))
    out: list[Planned | None] = [None] * len(people)
    waiting: dict[int, list[tuple[int, Run]]] = {}

    def advance(w: int, answer: Any) -> None:
        try:
            waiting[w] = walkers[w].send(answer)
        except StopIteration as done:
            for pos, planned in done.value:
                out[pos] = planned

    for w in range(len(walkers)):
        advance(w, None)
    while waiting:
        this_round, waiting = waiting, {}
        if len(this_round) == 1:  # one walker asking (a batch that is one cohort): its order
            ((w, asked),) = this_round.items()
            step = asked[0][1].step
            if all(run.step is step for _, run in asked):
                advance(w, run_steps(step.kind, [run for _, run in asked]))
                continue
        by_kind: dict[str, list[tuple[int, int, int]]] = {}  # kind -> (pos, walker, index)
        for w, asked in this_round.items():
            for k, (pos, run) in enumerate(asked):
                by_kind.setdefault(run.step.kind, []).append((pos, w, k))
        answers: dict[int, list[Any]] = {w: [None] * len(a) for w, a in this_round.items()}
        for kind, slots in by_kind.items():
            slots.sort()  # people in the order given, whichever walker holds them
            results = run_steps(kind, [this_round[w][k][1] for _, w, k in slots])
            for (_, w, k), result in zip(slots, results, strict=True):
                answers[w][k] = result
        for w, answer in answers.items():
            advance(w, answer)
    assert all(o is not None for o in out)
    return out  # type: ignore[return-value]


# what people must share to walk as one cohort (besides their visits, compared as stored)
_cohort_of = attrgetter("journey", "version", *(c for c in CARRIED if c != "visits"))


def _alone_walker(pos: int, walk: Generator[Run, Result, Planned]) -> Walker:
    """One person's `_walk` as a walker of one."""
    answer: Result | None = None
    while True:
        try:
            run = walk.send(answer)  # type: ignore[arg-type]
        except StopIteration as done:
            return [(pos, done.value)]
        answer = (yield [(pos, run)])[0]


def _cohort(
    conn: Connection,
    ctx: Any,
    journey: Journey,
    members: list[tuple[int, Any, dict[str, Any]]],
    now: datetime,
) -> Walker:
    """People of a straight journey at the same step in the same state, walked together: each step
    is decided once for all of them; an action's results are per person, and whoever it defers
    stops there with their own values. Gives what `_walk` gives each of them."""
    e0 = members[0][1]
    st = _blank(e0)
    done: list[tuple[int, Planned]] = []
    live = [(pos, e, lead, []) for pos, e, lead in members]  # (…, the person's step records)
    name, version = e0.journey, e0.version

    def finish(final: dict[str, Any]) -> list[tuple[int, Planned]]:
        done.extend((pos, (runs, final)) for pos, _, _, runs in live)
        return done

    for _ in range(MAX_CHAIN):
        step = journey.step(st["step"])
        if step is None:
            return finish(_out(st, "exited", now, f"step {st['step']} is not in this version"))
        attempt = st["visits"].get(step.id, 0) + 1
        if step.wait is not None:
            wait = step.wait
            assert wait.delay is not None  # a straight journey's
            if st["wait_started_at"] is None:
                st["wait_started_at"], st["wait_until"] = now, None
            started = st["wait_started_at"]
            if st["wait_until"] is None:
                st["wait_until"] = started + wait.delay
            until = st["wait_until"]
            if now < until:
                st["due_at"] = until
                return finish(st)
            st["wait_started_at"] = st["wait_until"] = None
            result = {"started": started.isoformat(), "until": until.isoformat()}
            for _, e, _, runs in live:
                runs.append((e.id, name, version, step.id, attempt, "wait", "waited", result, now))
        elif step.exit is not None:
            result = {"reason": step.exit.reason}
            for _, e, _, runs in live:
                runs.append((e.id, name, version, step.id, attempt, "exit", "exit", result, now))
            st["visits"][step.id] = attempt
            st["defers"] = 0
            return finish(_out(st, "exited", now, step.exit.reason))
        else:
            asked = [
                (
                    pos,
                    Run(conn, ctx, journey, step, e.id, version, attempt, st["defers"], lead, now),
                )
                for pos, e, lead, _ in live
            ]
            results = yield asked
            going = []
            for person, (outcome, result, retry_at) in zip(live, results, strict=True):
                if outcome == "deferred":
                    visits = dict(st["visits"])
                    final = st | {"visits": visits, "defers": st["defers"] + 1, "due_at": retry_at}
                    done.append((person[0], (person[3], final)))
                    continue
                e, runs = person[1], person[3]
                runs.append(
                    (e.id, name, version, step.id, attempt, step.kind, outcome, result, now)
                )
                going.append(person)
            live = going
            if not live:
                return done
        st["visits"][step.id] = attempt
        st["defers"] = 0
        nxt = engine.successor(journey, step, "done")
        if nxt is None:
            return finish(_out(st, "completed", now, None))
        st["step"] = nxt
    st["due_at"] = now  # chain cap: carry on next tick
    return finish(st)


def _walk(
    conn: Connection, ctx: Any, e: Any, journey: Journey, lead: dict[str, Any], now: datetime
) -> Generator[Run, Result, Planned]:
    """One person's steps; yields each action step's Run and is sent its result."""
    st = _blank(e)
    runs: list[RunRow] = []
    member = Members(conn, e.lead_id)
    seen: list[dict[str, Any]] = []  # the lead's view, built when a goal, branch or wait asks

    def view() -> dict[str, Any]:
        if not seen:
            seen.append(engine.lead_view(lead))
        return seen[0]

    for _ in range(MAX_CHAIN):
        if journey.goals:
            goal = engine.goal_reached(journey.goals, view(), member)
            if goal is not None:
                return runs, _out(st, "goal", now, f"goal {goal} reached", goal=goal)
        step = journey.step(st["step"])
        if step is None:
            return runs, _out(st, "exited", now, f"step {st['step']} is not in this version")
        attempt = st["visits"].get(step.id, 0) + 1
        target: str | None = None
        if step.wait is not None:
            outcome, result = _wait(conn, e, journey, step, view, st, now)
            if outcome is None:
                st["due_at"] = st["wait_until"]
                return runs, st
        elif step.branch is not None:
            arm, target = engine.choose_arm(step, view(), member)
            outcome, result = "branch", {"arm": arm, "goto": target}
        elif step.exit is not None:
            outcome, result = "exit", {"reason": step.exit.reason}
        else:
            run = Run(conn, ctx, journey, step, e.id, e.version, attempt, st["defers"], lead, now)
            outcome, result, retry_at = yield run
            seen.clear()  # an action may have changed the lead
            if outcome == "deferred":
                st["defers"] += 1
                st["due_at"] = retry_at
                return runs, st
        runs.append((e.id, e.journey, e.version, step.id, attempt, step.kind, outcome, result, now))
        st["visits"][step.id] = attempt
        st["defers"] = 0
        nxt = engine.successor(journey, step, outcome, target)
        if step.exit is not None:
            return runs, _out(st, "exited", now, step.exit.reason)
        if nxt is None:
            return runs, _out(st, "completed", now, None)
        st["step"] = nxt
    st["due_at"] = now  # chain cap: carry on next tick
    return runs, st


def _wait(
    conn: Connection,
    e: Any,
    journey: Journey,
    step: Step,
    view: Callable[[], dict[str, Any]],
    st: dict[str, Any],
    now: datetime,
) -> tuple[str | None, dict[str, Any]]:
    wait = step.wait
    assert wait is not None
    if st["wait_started_at"] is None:
        st["wait_started_at"], st["wait_until"] = now, None
    started = st["wait_started_at"]
    if st["wait_until"] is None:
        lead = view() if wait.until_window is not None else {}  # only a window needs the zone
        st["wait_until"] = engine.wait_end(wait, started, lead, journey.time_zone)
    until = st["wait_until"]
    outcome: str | None
    if wait.event is not None:
        seen = event_seen(conn, e.lead_id, e.journey, wait.event, started, now)
        outcome = "event" if seen else ("timeout" if now >= until else None)
    else:
        outcome = "waited" if now >= until else None
    if outcome is None:
        return None, {}
    st["wait_started_at"] = st["wait_until"] = None
    return outcome, {"started": started.isoformat(), "until": until.isoformat()}


def _out(
    st: dict[str, Any], status: str, now: datetime, reason: str | None, goal: str | None = None
) -> dict[str, Any]:
    return st | {
        "status": status,
        "step": None,
        "due_at": None,
        "wait_started_at": None,
        "wait_until": None,
        "exit_reason": reason,
        "exited_at": now,
        "goal": goal,
    }


# what the tick reads of a claimed enrolment (not its entry key, status, due time or timestamps:
# each is known from the claim or rewritten by the save)
CLAIMED = ("id", "journey", "version", "lead_id", *CARRIED)
Claimed = namedtuple("Claimed", CLAIMED)  # type: ignore[misc]  # built from the row's tuple


def _claim(
    conn: Connection, now: datetime, limit: int
) -> tuple[list[Any], dict[str, dict[str, Any]] | None]:
    """Up to `limit` due enrolments of live journeys (their `CLAIMED` columns), oldest due
    first, read through the driver (a claim is thousands of rows; SQLAlchemy's row processing
    was a tenth of a step). On SQLite their leads' `NARROW` columns come in the same statement
    (a LEFT JOIN: one query, not a second by 2,000 ids; a deleted lead is missing from the
    map); PostgreSQL reads the leads apart (None), locked in id order."""
    live = list(
        conn.execute(
            select(journey_states.c.journey).where(journey_states.c.status == "active")
        ).scalars()
    )
    if not live:
        return [], None
    dialect = conn.dialect.name
    read = RowDecoder(journey_enrolments, CLAIMED, dialect)
    m = read.marker
    where = (
        f" WHERE e.status = 'active' AND e.due_at <= {m}"
        f" AND e.journey IN ({', '.join([m] * len(live))}) ORDER BY e.due_at, e.id LIMIT {int(limit)}"
    )
    params = [bind_time(now, dialect), *live]
    if dialect == "postgresql":  # read.sql: its JSON as text, for orjson
        sql = f"{read.sql} AS e{where} FOR UPDATE SKIP LOCKED"
        return [
            Claimed._make(r) for r in decode_rows(read.fetch_raw(conn, sql, params), read)
        ], None
    picked = ", ".join(f"e.{c}" for c in CLAIMED)
    lead = _NARROW_LEADS
    joined = ", ".join(f"l.{c}" for c in NARROW)
    sql = (
        f"SELECT {picked}, {joined} FROM journey_enrolments AS e"
        f" LEFT JOIN leads AS l ON l.id = e.lead_id{where}"
    )
    columns = decode_columns(read.fetch_raw(conn, sql, params), read, lead)
    if not columns:
        return [], {}
    k = len(CLAIMED)
    due = list(map(Claimed._make, zip(*columns[:k], strict=True)))
    people: dict[str, dict[str, Any]] = {}
    for lead_id, row in zip(columns[k], zip(*columns[k:], strict=True), strict=True):
        if lead_id is not None and lead_id not in people:  # one dict a lead, as `lead_rows`
            people[lead_id] = dict(zip(NARROW, row, strict=True))
    return due, people


_NARROW_LEADS = RowDecoder(leads, NARROW, "sqlite")


def _sends_email(journey: Journey) -> bool:
    return any(s.send_email is not None for s in journey.steps)


_STATS_TABLES = ("journey_enrolments", "journey_step_runs", "leads", "email_sends", "outbox")


def _fresh_statistics(conn: Connection) -> None:
    """PostgreSQL: ANALYZE the step path's tables whose planner statistics are stale.

    After a bulk load (100,000 leads enrolled at once) the planner knows nothing of the new rows
    until autovacuum's next round (a minute or more); meanwhile the claim, the lead reads and the
    UPDATE … FROM the staging table were planned for near-empty tables. Called before each
    claim: a table holding more than twice the rows its statistics know of (plus 1,000) is
    analysed again. Row counts, not changes: a drain updates every enrolment and a rule on
    changes re-analysed each table every few batches (~2 s a phase at 100,000 people)."""
    stale = (
        conn.exec_driver_sql(
            "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"
            " WHERE s.relname = ANY(%(t)s) AND s.n_live_tup > 1000 + 2 * greatest(c.reltuples, 0)",
            {"t": list(_STATS_TABLES)},
        )
        .scalars()
        .all()
    )
    for table in stale:
        conn.exec_driver_sql(f"ANALYZE {table}")


def _tick(ctx: Any, now: datetime, *, safe: bool, limit: int) -> tuple[int, int]:
    if ctx.engine.dialect.name == "postgresql":
        with ctx.engine.begin() as conn:  # its own short transaction: the lock ends with it
            _fresh_statistics(conn)
    with ctx.engine.begin() as conn:
        due, joined = _claim(conn, now, limit)
        if not due:
            return 0, 0
        # SQLite: while claims come back full more follow at once, so the WAL is checkpointed
        # once at the drain's last commit instead of at each (every batch dirties the same pages)
        checkpoint_every(conn, WAL_PAGES_BULK if len(due) == limit else WAL_PAGES_DEFAULT)
        defs = Definitions(conn)
        versions = {(j, v): defs(j, v) for j, v in {(e.journey, e.version) for e in due}}
        emails = any(_sends_email(j) for j in versions.values())
        # a journey that sends email locks its people's rows (PostgreSQL, in id order):
        # `send_emails` decides under that lock, so concurrent sends to one person respect the
        # cap, and workers lock in one order
        if joined is not None and narrow_enough(versions.values()):
            rows = joined  # SQLite: the claim read them
        else:
            ids = sorted({e.lead_id for e in due})
            rows = read_leads(conn, ids, versions.values(), lock=emails)
        runs: list[RunRow] = []
        finals: list[tuple[Any, dict[str, Any]]] = []
        people = []
        # people in lead order: two workers lock lead rows in the same order (no deadlock)
        for e in sorted(due, key=_lead_order):
            lead = rows.get(e.lead_id)
            if lead is None:
                finals.append((e, _out(_blank(e), "exited", now, "lead deleted")))
            elif not safe:
                people.append((e, versions[e.journey, e.version], lead))
            elif (
                alone := _alone(conn, ctx, e, versions[e.journey, e.version], lead, now)
            ) is not None:
                finals.append((e, alone))
        # step records written step by step across people (each person's in their order): a
        # cohort's records of one step then sit side by side and go in with one statement
        by_place: list[list[RunRow]] = []
        for (e, _, _), (r, st) in zip(people, plan_people(conn, ctx, people, now), strict=True):
            for k, row in enumerate(r):
                if k == len(by_place):
                    by_place.append([])
                by_place[k].append(row)
            finals.append((e, st))
        for rows_at in by_place:
            runs.extend(rows_at)
        _insert_runs(conn, runs)
        _save(conn, finals, now)
    return len(due), len(runs)


def _alone(
    conn: Connection, ctx: Any, e: Any, journey: Journey, lead: dict[str, Any], now: datetime
) -> dict[str, Any] | None:
    """One person under a savepoint (the re-run after a batch failed): a failure sets only
    this person aside; a database error leaves them due (None: nothing to save)."""
    try:
        with conn.begin_nested():
            ((r, st),) = plan_people(conn, ctx, [(e, journey, lead)], now)
            _insert_runs(conn, r)
        return st
    except DBAPIError as exc:  # the store's trouble (lock, deadlock): due again
        log.warning("journey enrolment %s deferred: %s", e.id, type(exc).__name__)
        return None
    except Exception as exc:
        log.warning("journey %s enrolment %s failed: %s", e.journey, e.id, type(exc).__name__)
        st = _out(_blank(e), "failed", now, f"{type(exc).__name__}: {exc}"[:500])
        st["step"], st["due_at"] = e.step, None
        st["exited_at"] = None
        return st


def _blank(e: Any) -> dict[str, Any]:
    """The enrolment's state as stored (what a run starts from)."""
    return {
        "step": e.step,
        "wait_started_at": e.wait_started_at,
        "wait_until": e.wait_until,
        "visits": dict(e.visits or {}),
        "defers": e.defers,
        "status": "active",
        "due_at": None,
        "exited_at": e.exited_at,
        "exit_reason": e.exit_reason,
        "goal": e.goal,
    }


FINAL_COLUMNS = ("status", "due_at", *CARRIED)  # what a tick writes back


_SAVED = (*FINAL_COLUMNS, "updated_at", "id")


def _save(conn: Connection, finals: list[tuple[Any, dict[str, Any]]], now: datetime) -> None:
    """Every enrolment of the batch at once. A cohort shares one values dict (`_blank`'s
    columns): it is encoded once and, for `SHARED_UPDATE` people or more, written with one
    `UPDATE … WHERE id IN (…)` (PostgreSQL: `= ANY(array)`); the other rows go through an
    executemany, or on PostgreSQL COPY into a staging table and one UPDATE … FROM it."""
    if not finals:
        return
    dialect = conn.dialect.name
    encode = RowEncoder(journey_enrolments, _SAVED, dialect)
    groups: dict[int, tuple[dict[str, Any], tuple[Any, ...], list[int]]] = {}
    for e, st in finals:
        group = groups.get(id(st))
        if group is None:
            values = [st[c] if c in st else getattr(e, c) for c in FINAL_COLUMNS]
            group = groups[id(st)] = (st, encode((*values, now, None))[:-1], [])
        group[2].append(e.id)
    rows = []
    for _, values, ids in groups.values():
        if len(ids) >= SHARED_UPDATE:
            _update_many(conn, values, ids)
        else:
            rows.extend((*values, i) for i in ids)
    if dialect == "postgresql" and len(rows) > SMALL_BATCH:
        stage = pg_stage(conn, journey_enrolments, _SAVED, rows)
        sets = ", ".join(f"{c} = s.{c}" for c in _SAVED[:-1])
        with conn.connection.driver_connection.cursor() as cur:
            cur.execute(
                f"UPDATE journey_enrolments AS t SET {sets} FROM {stage} AS s WHERE t.id = s.id"
            )
        return
    update_by_id(conn, encode, rows)


SHARED_UPDATE = 20  # people sharing their new values: below this an executemany is as cheap


def _update_many(conn: Connection, values: tuple[Any, ...], ids: list[int]) -> None:
    """Enrolments `ids` all set to the same encoded `values` (`_SAVED` but the id). A status
    that stays `active` (every claimed enrolment is) is left out of the SET, so the index on
    (journey, status) is not rewritten for each row (0.8 µs a row on SQLite)."""
    m = param_marker(conn.dialect.name)
    cols = _SAVED[:-1]
    if values[0] == "active":  # _SAVED[0] is the status
        cols, values = cols[1:], values[1:]
    sets = ", ".join(f"{c} = {m}" for c in cols)
    with closing(conn.connection.driver_connection.cursor()) as cur:  # type: ignore[union-attr]
        if conn.dialect.name == "postgresql":
            cur.execute(f"UPDATE journey_enrolments SET {sets} WHERE id = ANY({m})", (*values, ids))
            return
        for i in range(0, len(ids), 1000):  # an IN list: a little cheaper than json_each here
            chunk = ids[i : i + 1000]
            marks = ", ".join([m] * len(chunk))
            cur.execute(
                f"UPDATE journey_enrolments SET {sets} WHERE id IN ({marks})", (*values, *chunk)
            )


_RUN = (
    "enrolment_id",
    "journey",
    "version",
    "step",
    "attempt",
    "kind",
    "outcome",
    "result",
    "at",
)


def _insert_runs(conn: Connection, runs: list[RunRow]) -> None:
    """The step records (`journey_step_runs`), in order; a result dict that a cohort shares (a
    wait's) is encoded once. On SQLite neighbours that differ only in their enrolment (a
    cohort's records of one step) go in with one `INSERT … SELECT … FROM json_each(ids)`
    (~0.5 µs a record against ~1.6 a row of an executemany), the others 500 rows a statement."""
    if not runs:
        return
    encode = RowEncoder(journey_step_runs, _RUN, conn.dialect.name)
    # id(result) -> (result, at, both encoded); the result is held so its id stays its own
    same: dict[int, tuple[Any, Any, Any, Any]] = {}
    rows = []
    for r in runs:
        known = same.get(id(r[7]))
        if known is None or known[1] is not r[8]:
            row = encode(r)
            same[id(r[7])] = (r[7], r[8], row[7], row[8])
            rows.append(row)
        else:
            rows.append((*r[:7], known[2], known[3]))
    if conn.dialect.name != "sqlite":
        insert_rows(conn, encode, rows)
        return
    apart: list[tuple[Any, ...]] = []
    i = 0
    while i < len(rows):
        tail = rows[i][1:]
        j = i + 1
        while j < len(rows) and rows[j][1:] == tail:
            j += 1
        if j - i >= SHARED_INSERT:
            insert_rows(conn, encode, apart, multirow=True)
            apart = []
            ids = orjson.dumps([r[0] for r in rows[i:j]]).decode()
            execute_many(conn, _RUNS_FROM_IDS, [(*tail, ids)])
        else:
            apart.extend(rows[i:j])
        i = j
    insert_rows(conn, encode, apart, multirow=True)


SHARED_INSERT = 20  # neighbouring records differing only in their enrolment: one statement
_RUNS_FROM_IDS = (
    f"INSERT INTO journey_step_runs ({', '.join(_RUN)})"
    f" SELECT value, {', '.join(['?'] * (len(_RUN) - 1))} FROM json_each(?)"
)


def step_tick(ctx: Any, now: datetime, *, limit: int = BATCH) -> int:
    """One tick: up to `limit` due people, each through every step due now. Returns how many
    people were looked at (0: nothing due)."""
    with _gc_paused():
        try:
            seen, _ = _tick(ctx, now, safe=False, limit=limit)
        except Exception as exc:
            log.warning(
                "journey batch failed (%s); running it person by person", type(exc).__name__
            )
            seen, _ = _tick(ctx, now, safe=True, limit=limit)
    if seen == limit:
        _bulk.add(ctx.engine)
    elif ctx.engine in _bulk:  # a drain of full claims is over: its WAL goes back now
        _bulk.discard(ctx.engine)
        checkpoint_now(ctx.engine)
    return seen


_bulk: weakref.WeakSet[Any] = weakref.WeakSet()  # engines in a drain of full claims (SQLite WAL)
_lead_order = attrgetter("lead_id", "id")


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection during one batch: a batch allocates ~100 objects a person
    that all live until it commits, so the collector ran over them again and again (a fifth of
    the tick). Reference counting still frees memory; the cycles are collected afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def drain(ctx: Any, clock: Callable[[], datetime], *, limit: int = BATCH) -> int:
    """Tick until nothing is due at the clock's time (tests, benchmarks, `journey tick`)."""
    from marketops.journeys.triggers import entry_tick

    total = entry_tick(ctx, clock())
    while True:
        n = step_tick(ctx, clock(), limit=limit)
        total += n
        if n == 0:
            return total

"""Batch ingestion, worker side: everything about a chunk that does not need the store's state.

A worker process validates and normalizes a chunk, asks the enrichers once for its domains, and
decides each lead *as if it were new* (enrich → suppress → score → lifecycle → which routing
rule matches), then encodes its rows for the store. The single writer (`batch_commit`) keeps a
speculation only when the email is indeed new; for anything else it decides the record again from
its raw form, so the result is the one `decide` would give, record for record.

The setup (compiled config, suppression list, enrichers, account index) is handed to the workers
when they are forked, not pickled per chunk.
"""

from __future__ import annotations

import csv
import functools
import gc
import os
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from operator import attrgetter
from typing import Any, NamedTuple

from marketops.pipeline.enrich import Enricher, company_domains, enrich
from marketops.pipeline.normalize import normalize_email
from marketops.pipeline.records import Issue, Lead
from marketops.pipeline.route import route
from marketops.pipeline.runner import CompiledConfig, Prepared, judge, prepare
from marketops.pipeline.suppress import SuppressionIndex
from marketops.services.batch_phones import PhoneShare
from marketops.services.batch_stage import StageRows, write_stage
from marketops.services.capture import new_lead_ids
from marketops.store.bulk import RowEncoder, bind_time, json_text
from marketops.store.leads_repo import LEAD_COLUMNS
from marketops.store.schema import activities, lead_events, leads, quarantine

BAD_LINE = "_unparsable"

# `leads` columns in insert order; the writer appends queue and owner (routing's answer)
LEAD_HEAD = (
    *LEAD_COLUMNS,
    "id",
    "lifecycle_stage",
    "fit_score",
    "engagement_score",
    "total_score",
    "suppressed",
    "flags",
    "warnings",
    "attributes",
    "consent",
    "created_at",
    "updated_at",
)
LEAD_INSERT = (*LEAD_HEAD, "queue", "owner")
ACTIVITY_INSERT = ("lead_id", "type", "occurred_at", "source_ref", "details")
EVENT_INSERT = ("lead_id", "at", "kind", "actor", "data")
_lead_columns = attrgetter(*LEAD_COLUMNS)
QUARANTINE_INSERT = (
    "source",
    "source_ref",
    "row_number",
    "payload",
    "errors",
    "status",
    "created_at",
)


def csv_row(header: Sequence[str], values: Sequence[str]) -> dict[str, Any]:
    """One CSV row as a record: `csv.DictReader`'s pairing (missing values None, extra values
    dropped), keys trimmed, empty values None."""
    keys = _plain_keys(tuple(header))
    return _paired(header, keys, keys is not None and None not in keys, values)


def _paired(
    header: Sequence[str],
    keys: tuple[str | None, ...] | None,
    named: bool,
    values: Sequence[str],
) -> dict[str, Any]:
    """`csv_row` with the header's `_plain_keys` given, and whether each column has a name."""
    if named and keys is not None and len(values) == len(keys):  # the usual row
        return {k: v or None for k, v in zip(keys, values)}  # type: ignore[misc]  # noqa: B905
    if keys is not None:  # the usual header: names distinct, trimmed or not
        row = {
            k: (v if v != "" else None) for k, v in zip(keys, values, strict=False) if k is not None
        }
        for k in keys[len(values) :]:
            if k is not None:
                row[k] = None
        return row
    row = dict(zip(header, values, strict=False))
    if len(header) > len(values):
        for key in header[len(values) :]:
            row[key] = None
    return {k.strip(): (v if v != "" else None) for k, v in row.items() if k}


@lru_cache(maxsize=8)
def _plain_keys(header: tuple[str, ...]) -> tuple[str | None, ...] | None:
    """The header's names trimmed (None for an empty name: its column is dropped), when the
    names are distinct before and after trimming; else None: `csv_row` then pairs the general
    way, where the last of equal names wins."""
    keys = tuple(h.strip() if h else None for h in header)
    named = [k for k in keys if k is not None]
    return keys if len(set(named)) == len(named) and len(set(header)) == len(header) else None


def prepare_row(raw: Mapping[str, Any], cfg: CompiledConfig, now: datetime) -> Prepared:
    """`prepare`, plus the marker row `read_rows` yields for a line that is not JSON."""
    if BAD_LINE in raw:
        issue = Issue("(line)", "json", raw[BAD_LINE][:200], raw["_reason"])
        return Prepared(raw, [issue], None)
    return prepare(raw, cfg, now)


class Encoders:
    """The row encoders of the tables a chunk writes, for one dialect."""

    def __init__(self, dialect: str):
        self.lead = RowEncoder(leads, LEAD_INSERT, dialect)
        self.activity = RowEncoder(activities, ACTIVITY_INSERT, dialect)
        self.event = RowEncoder(lead_events, EVENT_INSERT, dialect)
        self.quarantine = RowEncoder(quarantine, QUARANTINE_INSERT, dialect)

    # a JSON column's text as the store writes it (`RowEncoder`'s own), for rows built directly
    json = staticmethod(json_text)


@dataclass
class Setup:
    """What every chunk of one file needs; built by the writer before the workers fork."""

    cfg: CompiledConfig
    suppression: SuppressionIndex
    enrichers: Sequence[Enricher]
    accounts: Any  # the account index routing rules saw (None when no rule needs one)
    dialect: str
    source: str  # the file's name
    ref_prefix: str  # the file's fingerprint prefix: activity refs are "prefix:row"
    csv_header: Sequence[str] | None = None  # set when chunks carry CSV rows (texts or lists)
    stage_dir: str | None = None  # SQLite: workers stage rows in files here (`batch_stage`)
    _keys_of: Sequence[str] | None = field(default=None, init=False, repr=False)
    _keys: tuple[Any, bool] = field(default=(None, False), init=False, repr=False)

    def __post_init__(self) -> None:
        self.encoders = Encoders(self.dialect)
        self.email_at = -1  # the email's position in a CSV row (`email_key`)
        self.sla_stages = frozenset(sla.stage for sla in self.cfg.lifecycle.slas)

    def record(self, raw: Any) -> Mapping[str, Any]:
        """A chunk item as a record: CSV rows travel as their text (`ingest.csv_records`: the
        reader only finds where they end) and are parsed here, or as lists."""
        header = self.csv_header
        if header is None:
            return raw  # type: ignore[no-any-return]
        if header is not self._keys_of:  # `csv_row`'s keys, once per header (not per row)
            keys = _plain_keys(tuple(header))
            self._keys_of, self._keys = header, (keys, keys is not None and None not in keys)
        values = csv_list_of(raw) if type(raw) is str else raw
        return _paired(header, *self._keys, values)


def csv_list_of(text: str) -> list[str]:
    """One CSV record's text (`ingest.csv_records`) as `csv.reader`'s list. A record without a
    quote and without a line break before its end is what the reader makes of it: its text
    split at commas (no quoting, no escape character in the default dialect); others are
    parsed."""
    plain = text.rstrip("\r\n")
    if not plain or '"' in plain or "\n" in plain or "\r" in plain:
        return next(csv.reader((text,)), [])
    return plain.split(",")


def _field(text: str, at: int) -> str:
    """Value `at` of a CSV record's text: split at commas when it has no quote, else parsed."""
    values = csv_list_of(text) if '"' in text else text.rstrip("\r\n").split(",", at + 1)
    return values[at] if at < len(values) else ""


class Speculated(NamedTuple):
    """One new lead, decided and encoded; the writer adds queue/owner and the routed event.

    Tuples, not dataclasses: results are pickled back to the writer, and unpickling a
    slotted object per record cost the writer more than the insert itself. They travel as plain
    tuples (`as_speculated`).
    """

    email: str
    lead_id: str
    stage: str
    blocked: bool
    lead_head: tuple[Any, ...]  # encoded LEAD_HEAD values
    activity: tuple[Any, ...]
    events: list[tuple[Any, ...]]
    matched: tuple[Any, ...] | None  # the rule that matched: (queue, owner, rule, evaluated)
    reasons: list[str]


class Deferred(NamedTuple):
    """A record whose email came earlier in the file: the writer decides it (it updates that
    person), so the worker only validates and normalizes it (its lead travels in `known`)."""

    email: str


class Rejected(NamedTuple):
    """A quarantined record, encoded, with its error reasons for the summary."""

    row: tuple[Any, ...]
    reasons: list[str]


def lookups_of(enrichers: Sequence[Enricher], prepared: Sequence[Prepared]) -> dict[str, Any]:
    """Each enricher asked once for all business domains of the chunk (as `capture` does)."""
    if not enrichers:
        return {}
    domains = company_domains(p.lead for p in prepared if p.lead is not None)
    return {e.name: e.lookup(domains) for e in enrichers} if domains else {}


# the chunk's enricher answers; per record its speculation or rejection; the file its rows were
# staged in; the normalized lead and issues of the records marked as possible repeats
Result = tuple[
    dict[str, Any],
    list[tuple[Any, ...] | Rejected],
    str | None,
    dict[int, tuple[Lead, list[Issue]]],
]


def email_key(setup: Setup, raw: Any) -> str:
    """A chunk item's email as `normalize` makes it, read without building the record: the
    reader marks possible repeats by it (a miss only costs the writer a `prepare` again)."""
    if setup.csv_header is not None:
        i = setup.email_at
        return normalize_email(raw[i] if 0 <= i < len(raw) else "")
    return normalize_email(str(raw.get("email") or "")) if isinstance(raw, Mapping) else ""


def _collector_off(fn: Callable[..., Result]) -> Callable[..., Result]:
    """`fn` with the garbage collector off while it runs: a chunk's records and rows are
    thousands of young containers, and with them alive every young collection scanned them
    again (~10 µs a row); nothing in `speculate` builds a reference cycle to find."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Result:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return run


_SHARES: dict[str, PhoneShare] = {}  # this process's phone sharing, by stage folder


@_collector_off
def speculate(
    setup: Setup,
    chunk: Sequence[tuple[int, Any]],
    now: datetime,
    repeats: Iterable[int] = (),
    later: Collection[int] = (),
) -> Result:
    """The chunk's enricher answers, per record its speculation or its rejection, the file its
    rows were staged in (`setup.stage_dir` set: the speculations then carry no rows), and for
    the `repeats` positions (emails seen earlier in the file or twice in the chunk: the writer
    decides those again) the normalized lead, so the writer need not validate and normalize.
    `later` (of `repeats`: an earlier record of the file has the same email) are not decided
    here at all (`Deferred`)."""
    share = None
    if setup.stage_dir is not None:  # workers of one file: learn the others' phone answers
        share = _SHARES.get(setup.stage_dir)
        if share is None:
            _SHARES.clear()
            share = _SHARES[setup.stage_dir] = PhoneShare(setup.stage_dir)
        share.take()
    cfg, enc = setup.cfg, setup.encoders
    prepared = [_lean(prepare_row(setup.record(raw), cfg, now)) for _, raw in chunk]
    lookups = lookups_of(setup.enrichers, prepared)
    staging = setup.stage_dir is not None
    if staging and setup.dialect != "sqlite":
        raise ValueError("rows are staged in SQLite files: only for a SQLite store")
    json, at = enc.json, bind_time(now, setup.dialect)
    new_id = iter(new_lead_ids(len(chunk))).__next__  # in record order, ascending
    tables = (
        StageRows(1 + len(LEAD_HEAD)),
        StageRows(1 + len(ACTIVITY_INSERT)),
        StageRows(2 + len(EVENT_INSERT)),
    )
    lead_rows, act_rows, event_rows = (t.rows for t in tables)  # appended to in place
    out: list[tuple[Any, ...] | Rejected] = []
    answers: dict[tuple[Any, ...], tuple[Any, Any]] = {}  # `_routing_answer`'s, by value
    for i, ((n, _), p) in enumerate(zip(chunk, prepared, strict=True)):
        if staging and not i & 31:  # the last records' rows, while in the cache
            for t in tables:
                t.settle()
        ref = f"{setup.ref_prefix}:{n}"
        if p.lead is None:
            row = (
                setup.source,
                ref,
                n,
                dict(p.raw),
                [x.as_dict() for x in p.issues],
                "open",
                now,
            )
            reasons = [f"{x.field}: {x.rule}" for x in p.issues if x.severity == "error"]
            out.append(Rejected(enc.quarantine(row), reasons))
            continue
        if i in later:
            out.append(Deferred(p.lead.email))
            continue
        j = judge(enrich(p.lead, lookups), None, cfg, setup.suppression, now, new_id)
        matched, why = _routing_answer(answers, j.view, j.blocked, setup)
        lead, s, lid = j.lead, j.result, j.lead_id
        details = {"source": setup.source, "row": n, "message": lead.message}
        if staging:  # the rows as `enc` would encode them (a test holds them to it)
            lead_rows.append(
                (
                    i,
                    *_lead_columns(lead),
                    lid,
                    j.stage,
                    s.fit,
                    s.engagement,
                    s.total,
                    int(bool(j.blocked)),
                    json(lead.flags),
                    json(lead.warnings) if lead.warnings != [] else "[]",
                    json(lead.attributes) if lead.attributes != {} else "{}",
                    json(lead.consent),
                    at,
                    at,
                )
            )
            when = _time_text(lead.occurred_at) if lead.occurred_at else None
            act_rows.append((i, lid, lead.activity, when, ref, json(details)))
            event_rows += [
                (i, k, lid, at, kind, actor, json(data))
                for k, (kind, actor, data) in enumerate(j.events)
            ]
            out.append((lead.email, lid, j.stage, j.blocked, (), (), _NO_EVENTS, matched, why))
            continue
        head = list(_lead_columns(lead))
        head += [lid, j.stage, s.fit, s.engagement, s.total, j.blocked]
        head += [lead.flags, lead.warnings, lead.attributes, lead.consent, now, now]
        act = enc.activity((lid, lead.activity, lead.occurred_at, ref, details))
        events = [enc.event((lid, now, k, actor, data)) for k, actor, data in j.events]
        lead_head = enc.lead((*head, None, None))[:-2]
        out.append(  # a `Speculated`'s fields as a plain tuple: see `as_speculated`
            (lead.email, lid, j.stage, j.blocked, lead_head, act, events, matched, why)
        )
    known = {i: (p.lead, p.issues) for i in repeats if (p := prepared[i]).lead is not None}
    if not staging:
        return lookups, out, None, known
    path = os.path.join(setup.stage_dir, f"chunk-{chunk[0][0]}.db")  # type: ignore[arg-type]
    write_stage(path, LEAD_HEAD, tables[0], ACTIVITY_INSERT, tables[1], EVENT_INSERT, tables[2])
    if share is not None:
        share.give()
    return lookups, out, path, known


_NO_RAW: Mapping[str, Any] = {}


def _lean(p: Prepared) -> Prepared:
    """A prepared record without its raw form when it has a lead (only a rejected record's raw
    form is stored, `Rejected`): the record's dict and the values its lead does not hold are
    freed now, while in the CPU's cache, not with the chunk's other objects at its end."""
    if p.lead is not None:
        p.raw = _NO_RAW
    return p


# `_time_text`'s answers by instant; a million generated leads carry ~130,000 distinct times
TIME_MEMO_MAX = 1 << 18
_TIME_TEXT: dict[datetime, str] = {}


def _time_text(v: datetime) -> str:
    """`bind_time(v, "sqlite")` (the store's UTC text), remembered: it reads nothing but the
    instant, and equal datetimes are the same instant (aware ones compare by it; a naive one
    equals no aware one, and the store refuses it: never remembered). ~1.5 µs a time."""
    text = _TIME_TEXT.get(v)
    if text is None:
        text = bind_time(v, "sqlite")
        if len(_TIME_TEXT) < TIME_MEMO_MAX:
            _TIME_TEXT[v] = text
    return text  # type: ignore[no-any-return]


# A staged speculation's `events`: one shared empty list (it travels once per chunk, not once
# per record); nothing reads it but `_keep`'s tuple path, which only iterates it.
_NO_EVENTS: list[tuple[Any, ...]] = []


def _routing_answer(
    answers: dict[tuple[Any, ...], tuple[Any, Any]],
    view: Mapping[str, Any],
    blocked: bool,
    setup: Setup,
) -> tuple[tuple[Any, ...] | None, list[str]]:
    """`route`'s answer for a speculation: (queue, owner, rule, evaluated) or None, and why.

    Equal answers are one object per chunk (`answers`): a chunk has a handful of distinct ones,
    and pickle sends an object it has seen as a reference, so the result goes back in ~100
    bytes a record instead of ~165 and unpickles in a third of the writer's time. The writer
    only reads them (`batch_commit._keep` copies both lists before routing goes on)."""
    why: list[str] = []
    if blocked or (a := route(view, setup.cfg.routing, setup.accounts, why)) is None:
        key: tuple[Any, ...] = ("none", *why)
        matched = None
    else:
        key = ("rule", a.queue, a.owner, a.rule, len(a.evaluated), *a.evaluated, *why)
        matched = (a.queue, a.owner, a.rule, a.evaluated)
    known = answers.get(key)
    if known is None:
        known = answers[key] = (matched, why)
    return known


def as_speculated(item: tuple[Any, ...]) -> Speculated | Rejected | Deferred:
    """A result item as it travelled back: speculations go as plain tuples, because unpickling a
    NamedTuple calls its Python `__new__` once per record (~2 µs of the writer's time); this
    gives the tuple its field names back without that call."""
    return item if isinstance(item, Rejected | Deferred) else tuple.__new__(Speculated, item)


_SETUP: Setup | None = None


# Workers yield the cores to the writer: it is serial, and with three busy processes on two
# cores the scheduler gave it two thirds of one; the workers then idle only once they are the
# set number of chunks ahead (`ingest._ahead`), which is when the writer is the limit anyway.
WORKER_NICE = 10


def init_worker(setup: Setup) -> None:
    """Pool initializer (fork): keep the file's setup for every chunk; lower priority."""
    global _SETUP
    _SETUP = setup
    os.nice(WORKER_NICE)


Marks = tuple[list[int], set[int]]  # `RepeatMarker`'s answer: (repeats, later)


def speculate_in_worker(marked: tuple[Sequence[tuple[int, Any]], Marks], now: datetime) -> Result:
    assert _SETUP is not None
    chunk, (repeats, later) = marked
    # CSV records' texts are parsed one by one (`Setup.record`): each record's values are
    # freed with its raw form, not kept in a parsed copy of the chunk
    return speculate(_SETUP, chunk, now, repeats, later)


class RepeatMarker:
    """The reader's side of `speculate`'s `repeats` and `later`: which records of a chunk may
    repeat a person (email key seen in an earlier chunk, or twice in this one), and which of them
    come after an earlier record with that key. Keeps the keys' hashes only; a collision marks a
    record needlessly, which costs the writer a decision, not a wrong result."""

    def __init__(self, setup: Setup):
        self.setup = setup
        self.seen: set[int] = set()

    def __call__(self, chunk: Sequence[tuple[int, Any]]) -> Marks:
        at, norm = self.setup.email_at, normalize_email
        if self.setup.csv_header is not None and at >= 0 and chunk and type(chunk[0][1]) is str:
            keys = [hash(norm(_field(t, at))) for _, t in chunk]  # records' texts
        elif self.setup.csv_header is not None and at >= 0:  # `email_key`, inlined for rows
            keys = [hash(norm(r[at] if at < len(r) else "")) for _, r in chunk]
        else:
            keys = [hash(email_key(self.setup, raw)) for _, raw in chunk]
        counts = Counter(keys)
        seen = self.seen
        marked, later = [], set()
        for i, h in enumerate(keys):
            if h in seen:
                marked.append(i)
                later.add(i)
            elif counts[h] > 1:
                marked.append(i)
                seen.add(h)
        seen.update(keys)
        return marked, later

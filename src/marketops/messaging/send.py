"""`send_email`: decide and enqueue one journey email, exactly once per (lead, ref).

Runs in the caller's transaction. The checks, in order: unsubscribed / consent, do-not-contact
(the workspace CSV and the `suppressions` table, as the pipeline's suppress stage reads them),
suppression segments, then — for marketing email — the frequency cap across journeys and quiet
hours in the contact's time zone. A queued email goes to the outbox (channel email) as a recipe
that the outbox worker renders when it sends it (`messaging.compose`), over SMTP with retries and
dead letters. Every decision is a row in `email_sends`: queued and
skipped are final (a repeat call returns them), deferred is not (a repeat call decides again).
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from email.utils import formataddr
from operator import itemgetter
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, bindparam, select, update

from marketops.errors import MarketopsError, Problem
from marketops.messaging.compose import recipe
from marketops.messaging.config import FrequencyCap, MessagingFile
from marketops.messaging.policy import DoNotContact, contact_zone, hold_back, quiet_until
from marketops.messaging.render import Compiled, compiled, messaging_config
from marketops.messaging.unsubscribe import signing_keys
from marketops.notify import outbox
from marketops.store.bulk import RowDecoder, RowEncoder, insert_rows
from marketops.store.leads_repo import lead_rows
from marketops.store.tables_messaging import email_sends, email_unsubscribes

Status = Literal["queued", "skipped", "deferred"]


class SendResult(NamedTuple):  # a tuple: a batch makes thousands (a frozen dataclass: ~3 µs)
    status: Status
    reason: str | None
    retry_at: datetime | None
    delivery_id: int | None


def _result(row: Mapping[str, Any]) -> SendResult:
    return SendResult(row["status"], row["reason"], row["retry_at"], row["delivery_id"])


class SendRequest(NamedTuple):
    """One email to decide: `send_email`'s arguments but the connection, context and `now`."""

    lead_id: str
    template: str
    ref: str
    suppression_segments: tuple[str, ...] = ()
    params: Mapping[str, Any] | None = None


def send_email(
    conn: Connection,
    ctx: Any,
    *,
    lead_id: str,
    template: str,
    ref: str,
    now: datetime,
    suppression_segments: Sequence[str] = (),
    params: Mapping[str, Any] | None = None,
) -> SendResult:
    """Send `template` to `lead_id` for step `ref` if policy allows; see the module docstring."""
    req = SendRequest(lead_id, template, ref, tuple(suppression_segments), params)
    return send_emails(conn, ctx, [req], now)[0]


def send_emails(
    conn: Connection,
    ctx: Any,
    requests: Sequence[SendRequest],
    now: datetime,
    *,
    known: Mapping[str, dict[str, Any]] | None = None,
    locked: bool = False,
) -> list[SendResult]:
    """`send_email` for many requests at once, with the same answers as one call each in order.

    The facts the policy reads (the leads, locked on PostgreSQL in id order; prior rows for
    each (lead, ref); unsubscribes; suppression-segment members; sends within the cap window)
    are loaded for the whole batch in a few queries, the decisions are taken in request order
    (an email queued earlier in the batch counts toward a later one's cap, a repeated (lead, ref)
    gets the earlier answer), then outbox and `email_sends` rows are written with one
    executemany each. `known`: lead rows the caller read in this transaction; SQLite uses them
    (its one writer has held the database since BEGIN), PostgreSQL reads and locks them again
    unless `locked` says the caller read them `FOR UPDATE` in this transaction (the journey
    scheduler does).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    for r in requests:
        if not r.ref or len(r.ref) > 200:
            raise MarketopsError("bad send ref", [Problem("ref", "must be 1-200 characters")])
    if not requests:
        return []
    lead_ids = sorted({r.lead_id for r in requests})
    # the lock first: the rows read next are then settled
    people = _leads(conn, lead_ids, known or {}, locked)
    wanted = {(r.lead_id, r.ref) for r in requests}
    cfg = messaging_config(ctx.workspace.root)
    cap = cfg.frequency_cap
    asks = Counter(r.lead_id for r in requests)
    again, recent = _facts(conn, lead_ids, wanted, now - timedelta(days=cap.per_days), asks, cap)
    prior = _existing(conn, again) if again else {}  # whole rows: a repeat, a deferral again
    batch = _Batch(conn, ctx, people, now, recent)
    results: list[SendResult] = []
    for r in requests:
        key = (r.lead_id, r.ref)
        earlier = batch.decided.get(key) or prior.get(key)
        if earlier is not None and earlier["status"] != "deferred":
            results.append(_result(earlier))
            continue
        results.append(batch.decide(r, earlier))
    return batch.write(results, [(r.lead_id, r.ref) for r in requests])


class _Batch:
    """The facts for a batch of sends and the decisions taken so far."""

    def __init__(
        self,
        conn: Connection,
        ctx: Any,
        people: dict[str, dict[str, Any]],
        now: datetime,
        recent: dict[str, list[datetime]],
    ) -> None:
        self.conn, self.ctx, self.people, self.now = conn, ctx, people, now
        self.root = ctx.workspace.root
        self.cfg = messaging_config(self.root)
        withdrawn = [i for i, p in people.items() if (p.get("consent") or {}).get("email") is False]
        self.unsubscribed = _unsubscribed(conn, withdrawn)
        self.recent = recent  # each person's counted sends in the window; grows with the batch
        self.segments: dict[str, set[str]] = {}
        self.templates: dict[str, Compiled] = {}
        self.zones: dict[tuple[str | None, ...], ZoneInfo] = {}
        self.quiet: dict[ZoneInfo, datetime | None] = {}
        self.keys: list[bytes] | None = None  # the signing keys, checked once a batch
        self.dnc = DoNotContact(ctx.suppression_index())  # the CSV and the store, cached
        self.decided: dict[tuple[str, str], dict[str, Any]] = {}  # this batch's rows by key
        self.order: list[tuple[str, str]] = []
        self.outgoing: list[tuple[tuple[str, str], outbox.Message]] = []

    def zone(self, lead: Mapping[str, Any]) -> ZoneInfo:
        """The contact's zone, worked out once per (timezone, country) in a batch."""
        attrs = lead.get("attributes")
        tz = attrs.get("timezone") if attrs and isinstance(attrs, Mapping) else None
        own, country = lead.get("timezone"), lead.get("country")
        key = (  # only `contact_zone`'s inputs; a value that is not text counts as none
            tz if isinstance(tz, str) else None,
            own if isinstance(own, str) else None,
            country if isinstance(country, str) else None,
        )
        zone = self.zones.get(key)
        if zone is None:
            zone = self.zones[key] = contact_zone(lead, self.cfg.quiet_hours)[0]
        return zone

    def quiet_end(self, zone: ZoneInfo) -> datetime | None:
        """When quiet hours end in `zone` if `now` is inside them: once per zone a batch."""
        if zone not in self.quiet:
            self.quiet[zone] = quiet_until(self.now, zone, self.cfg.quiet_hours)
        return self.quiet[zone]

    def template(self, name: str) -> Compiled:
        """The compiled template, looked up once per batch (the lookup stats the file)."""
        tpl = self.templates.get(name)
        if tpl is None:
            tpl = self.templates[name] = compiled(self.root, name)
        return tpl

    def is_member(self, segment: str, lead_id: str) -> bool:
        """Stored membership; an undeclared name is an error, never a silent "not a member"."""
        if segment not in self.segments:
            from marketops.segments import service
            from marketops.segments.membership import members_of

            service.find(self.ctx, segment)  # NotFound naming segments.yml and the known names
            self.segments[segment] = members_of(self.conn, segment, list(self.people))
        return lead_id in self.segments[segment]

    def decide(self, r: SendRequest, earlier: Mapping[str, Any] | None) -> SendResult:
        category = self.template(r.template).model.category  # a bad template: file:line
        lead = self.people.get(r.lead_id)
        if lead is None:
            result = SendResult("skipped", "lead_not_found", None, None)
        else:
            result = _decide(self, lead, category, r.suppression_segments)
            if result is None:
                result = self.enqueue(lead, r)
        key = (r.lead_id, r.ref)
        row = {
            "lead_id": r.lead_id,
            "ref": r.ref,
            "template": r.template,
            "category": category,
            "status": result.status,
            "reason": result.reason,
            "retry_at": result.retry_at,
            "delivery_id": result.delivery_id,
            "decided_at": self.now,
            "attempts": 1,
            "created_at": self.now,
        }
        if earlier is not None:  # a deferred decision taken again: its row, updated
            row = {**earlier, **row, "attempts": earlier.get("attempts", 0) + 1}
            row["created_at"] = earlier.get("created_at", self.now)
        if key not in self.decided:
            self.order.append(key)
        self.decided[key] = row
        if result.status == "queued" and category == "marketing":
            self.recent.setdefault(r.lead_id, []).append(self.now)
        return result

    def enqueue(self, lead: Mapping[str, Any], r: SendRequest) -> SendResult:
        """Stage the outbox row (written in `write`, with its id filled in then): the recipe
        that the outbox renders at delivery (`compose`), not the rendered message."""
        if self.keys is None:  # an unset key is a configuration error now, not a dead letter later
            self.keys = signing_keys(os.environ, self.cfg.unsubscribe.secret_env)
        key = message_key(lead["id"], r.ref)
        payload = recipe(lead["id"], r.template, r.params)
        self.outgoing.append(
            ((lead["id"], r.ref), outbox.Message("email", lead["email"], payload, key))
        )
        return SendResult("queued", None, None, None)

    def write(self, results: list[SendResult], keys: list[tuple[str, str]]) -> list[SendResult]:
        """Outbox rows, then `email_sends` rows; the results with delivery ids filled in."""
        ids = outbox.enqueue_many(self.conn, [m for _, m in self.outgoing], now=self.now)
        for (key, _), delivery_id in zip(self.outgoing, ids, strict=True):
            self.decided[key]["delivery_id"] = delivery_id
        fresh, again = [], []  # new rows; stored deferrals decided again
        for k in self.order:
            row = self.decided[k]
            (again if "id" in row else fresh).append(row)
        _update(self.conn, again)
        lost = _insert(self.conn, fresh)
        out = []
        for res, key in zip(results, keys, strict=True):
            if key in lost:  # a concurrent call decided first: its answer stands
                out.append(_result(lost[key]))
            elif res.status == "queued" and res.delivery_id is None:
                out.append(SendResult("queued", None, None, self.decided[key]["delivery_id"]))
            else:
                out.append(res)
        return out


_CHUNK = 500  # ids per IN list


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _key(row: Mapping[str, Any]) -> tuple[str, str]:
    return row["lead_id"], row["ref"]


_BRIEF = ("lead_id", "ref", "status", "category", "decided_at")  # what the cap and the check read


def _facts(
    conn: Connection,
    lead_ids: Sequence[str],
    wanted: set[tuple[str, str]],
    since: datetime,
    asks: Mapping[str, int],
    cap: FrequencyCap,
) -> tuple[set[tuple[str, str]], dict[str, list[datetime]]]:
    """These leads' `email_sends` for the exactly-once check and the cap: (the asked (lead, ref)
    pairs that have a row already, each person's counted sends — queued marketing email —
    decided after `since`).

    The pairs come first, from the unique index alone (no table row read). A person's counted
    sends are read only where the cap could be reached: their rows plus this batch's requests
    for them (`asks`) above `max_emails`. Below that every cap check of the batch answers
    "under" whichever of the rows count (at the k-th request at most rows + k − 1 < max sends
    are counted), so the same decisions are taken without them."""
    pairs = RowDecoder(email_sends, ("lead_id", "ref"), conn.dialect.name)
    again: set[tuple[str, str]] = set()
    held: dict[str, int] = {}
    for pair in _of_leads(conn, pairs, lead_ids, raw=True):
        if pair in wanted:
            again.add(pair)
        held[pair[0]] = held.get(pair[0], 0) + 1
    recent: dict[str, list[datetime]] = {}
    if not cap.enabled:  # the cap check answers "under" without looking
        return again, recent
    near = [i for i, n in held.items() if n + asks.get(i, 0) > cap.max_emails]
    if not near:
        return again, recent
    read = RowDecoder(email_sends, _BRIEF, conn.dialect.name)
    when = read.decoder("decided_at")
    for lead_id, _, status, category, decided_at in _of_leads(conn, read, sorted(near), raw=True):
        if status == "queued" and category == "marketing" and (at := when(decided_at)) > since:
            recent.setdefault(lead_id, []).append(at)
    return again, recent


def _of_leads(
    conn: Connection, read: RowDecoder, lead_ids: Sequence[str], *, raw: bool = False
) -> Iterator[Any]:
    """`read`'s rows of these leads' `email_sends`, `_CHUNK` ids a query: the driver's tuples
    (`raw`) or decoded dicts."""
    fetch = read.fetch_raw if raw else read.fetch
    for ids in _chunks(list(lead_ids)):
        marks = ", ".join([read.marker] * len(ids))
        yield from fetch(conn, f"{read.sql} WHERE lead_id IN ({marks})", ids)


def _history(conn: Connection, lead_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Every `email_sends` row of these leads, whole, by lead, read through the driver.

    By person, filtered here: SQLite scans the table for `(lead_id, ref) IN (VALUES …)`, and
    `lead_id IN … AND ref IN …` probes the index once per pair of the two lists."""
    read = RowDecoder(email_sends, [c.name for c in email_sends.c], conn.dialect.name)
    out: dict[str, list[dict[str, Any]]] = {}
    for row in _of_leads(conn, read, lead_ids):
        out.setdefault(row["lead_id"], []).append(row)
    return out


def _existing(
    conn: Connection, keys: Collection[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """The `email_sends` rows for these (lead, ref) pairs."""
    wanted = set(keys)
    history = _history(conn, sorted({lead for lead, _ in wanted}))
    return {k: row for rows in history.values() for row in rows if (k := _key(row)) in wanted}


def _leads(
    conn: Connection, lead_ids: Sequence[str], known: Mapping[str, dict[str, Any]], locked: bool
) -> dict[str, dict[str, Any]]:
    locking = conn.dialect.name == "postgresql"
    trusted = locked or not locking
    out = {i: known[i] for i in lead_ids if i in known} if trusted else {}
    # one decision at a time per person (PostgreSQL locks): the cap holds across workers
    out.update(lead_rows(conn, [i for i in lead_ids if i not in out], lock=True))
    return out


def _unsubscribed(conn: Connection, lead_ids: Sequence[str]) -> set[str]:
    out: set[str] = set()
    for ids in _chunks(lead_ids):
        q = select(email_unsubscribes.c.lead_id).where(email_unsubscribes.c.lead_id.in_(ids))
        out.update(conn.execute(q.distinct()).scalars())
    return out


def _decide(
    b: _Batch, lead: Mapping[str, Any], category: str, segments: Sequence[str]
) -> SendResult | None:
    """Why not now (skipped / deferred), or None when the email may go (`policy.hold_back`)."""
    zone = b.zone(lead)
    held = hold_back(
        b.cfg,
        lead,
        category,
        b.now,
        unsubscribed=lead["id"] in b.unsubscribed,
        on_dnc=b.dnc(lead["email"]),
        suppressed_by=next((n for n in segments if b.is_member(n, lead["id"])), None)
        if segments
        else None,
        recent=b.recent.get(lead["id"], ()),
        zone=zone,
        quiet_end=b.quiet_end(zone),
    )
    return None if held is None else SendResult(held.status, held.reason, held.retry_at, None)


def message_key(lead_id: str, ref: str) -> str:
    """The outbox idempotency key: the outbox never holds two emails for one (lead, ref).

    The ref comes first: a journey's refs start with the enrolment id, so a batch's keys are
    neighbours in the key's index and its inserts dirty a few pages, where a lead id first (a
    random hex) put each insert on a page of its own (measured: docs/journeys.md). Keys written
    before the change (lead first) were queued, final decisions: none is ever written again."""
    key = f"email:{ref}:{lead_id}"
    return key if len(key) <= 200 else "email:" + hashlib.sha256(key.encode()).hexdigest()


def message_payload(
    email: Any, cfg: MessagingFile, key: str, url: str, token: str, lead_id: str, template: str
) -> dict[str, Any]:
    """The outbox payload: bodies, From, and the headers mailbox providers look for."""
    links = [f"<{url}>"]
    if cfg.unsubscribe.mailto:
        links.insert(0, f"<mailto:{cfg.unsubscribe.mailto}?subject=unsubscribe%20{token}>")
    headers = {
        "List-Unsubscribe": ", ".join(links),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",  # RFC 8058 one-click
        "Message-ID": f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{cfg.sender.domain}>",
        "X-Marketops-Template": template,
    }
    if cfg.sender.reply_to:
        headers["Reply-To"] = cfg.sender.reply_to
    payload: dict[str, Any] = {
        "text": email.text,
        "mail_from": formataddr((email.from_name, cfg.sender.address)),
        "mail_headers": headers,
        "lead_id": lead_id,
        "template": template,
    }
    if email.html:
        payload["html"] = email.html
    return payload


_SEND_COLUMNS = (
    "lead_id",
    "ref",
    "template",
    "category",
    "status",
    "reason",
    "retry_at",
    "delivery_id",
    "attempts",
    "created_at",
    "decided_at",
)
_DECISION = ("status", "reason", "retry_at", "delivery_id", "decided_at")


def _insert(
    conn: Connection, rows: Sequence[dict[str, Any]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """New `email_sends` rows in one executemany; the rows a concurrent call wrote first."""
    if not rows:
        return {}
    encode = RowEncoder(email_sends, _SEND_COLUMNS, conn.dialect.name)
    pick = itemgetter(*_SEND_COLUMNS)  # the row's values in column order, in one C call
    data = encode.many(list(map(pick, rows)))
    suffix = " ON CONFLICT (lead_id, ref) DO NOTHING"
    written = insert_rows(conn, encode, data, suffix=suffix, multirow=True)
    if written == len(rows):
        return {}
    stored = _existing(conn, {(r["lead_id"], r["ref"]) for r in rows})
    lost = {}
    for r in rows:
        key = (r["lead_id"], r["ref"])
        theirs = stored[key]
        if any(theirs[c] != r[c] for c in _DECISION):
            lost[key] = theirs
    return lost


def _update(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Deferred rows decided again (the status check keeps a final answer final)."""
    if not rows:
        return
    cols = ("template", "category", *_DECISION, "attempts")
    conn.execute(
        update(email_sends)
        .where(email_sends.c.id == bindparam("b_id"), email_sends.c.status == "deferred")
        .values({c: bindparam(f"v_{c}") for c in cols}),
        [{"b_id": r["id"], **{f"v_{c}": r[c] for c in cols}} for r in rows],
    )


def list_sends(
    conn: Connection, *, lead_id: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    q = select(email_sends).order_by(email_sends.c.id.desc()).limit(limit)
    if lead_id:
        q = q.where(email_sends.c.lead_id == lead_id)
    return [dict(r._mapping) for r in conn.execute(q)]

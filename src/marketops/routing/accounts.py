"""Lead-to-account matching: by company domain first, then by fuzzy company name (rapidfuzz).

Accounts come from the workspace CSV (`routing.accounts.file`) and the `accounts` table
(`marketops accounts import FILE`); the table wins on a repeated account id. The index is pure
data: matching reads no clock and opens no connection.
"""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select

from marketops.errors import MarketopsError, Problem
from marketops.pipeline.normalize import company_key

REQUIRED_COLUMNS = ("account_id", "name", "owner")


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    domain: str | None
    owner: str
    name_key: str | None = None


@dataclass(frozen=True, slots=True)
class AccountMatch:
    account: Account
    by: str  # "domain" or "name"
    score: float  # 100 for a domain match

    def reason(self) -> str:
        if self.by == "domain":
            return f"account {self.account.id} ({self.account.name}) matched on domain"
        return (
            f"account {self.account.id} ({self.account.name}) matched on company name,"
            f" similarity {self.score:.0f}"
        )


def _domain(v: str | None) -> str | None:
    if not v:
        return None
    v = v.strip().lower()
    for prefix in ("https://", "http://"):
        v = v.removeprefix(prefix)
    v = v.removeprefix("www.").split("/")[0]
    return v or None


class AccountIndex:
    """Domain lookup (exact) and name lookup (exact key, then rapidfuzz token_sort_ratio)."""

    def __init__(self, accounts: Iterable[Account] = ()):
        self.by_domain: dict[str, Account] = {}
        self.by_key: dict[str, Account] = {}
        for a in accounts:
            if a.domain:
                self.by_domain.setdefault(a.domain, a)
            key = a.name_key or company_key(a.name)
            if key:
                self.by_key.setdefault(key, a)
        self.keys = list(self.by_key)

    def __len__(self) -> int:
        return len({a.id for a in (*self.by_domain.values(), *self.by_key.values())})

    def match(
        self, domain: str | None, company: str | None, threshold: float
    ) -> AccountMatch | None:
        d = _domain(domain)
        if d and d in self.by_domain:
            return AccountMatch(self.by_domain[d], "domain", 100.0)
        key = company_key(company) if company else None
        if not key:
            return None
        if key in self.by_key:
            return AccountMatch(self.by_key[key], "name", 100.0)
        if not self.keys:
            return None
        from rapidfuzz import fuzz, process

        best = process.extractOne(
            key, self.keys, scorer=fuzz.token_sort_ratio, score_cutoff=threshold
        )
        if best is None:
            return None
        return AccountMatch(self.by_key[best[0]], "name", float(best[1]))


def read_accounts_csv(path: Path) -> list[Account]:
    """Rows `account_id,name,domain,owner`; every bad row is reported with its line number."""
    if not path.exists():
        raise MarketopsError(
            f"accounts file {path} not found",
            [Problem(str(path), "file not found", "fix routing.accounts.file or the path")],
        )
    out, problems = [], []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise MarketopsError(
                f"accounts file {path} lacks columns {missing}",
                [
                    Problem(
                        f"{path}:1", f"missing {missing}", "header: account_id,name,domain,owner"
                    )
                ],
            )
        for line, row in enumerate(reader, start=2):
            aid, name, owner = (
                (row.get("account_id") or "").strip(),
                (row.get("name") or "").strip(),
                (row.get("owner") or "").strip(),
            )
            if not (aid and name and owner):
                problems.append(
                    Problem(
                        f"{path}:{line}", "account_id, name and owner are required", "fill them in"
                    )
                )
                continue
            out.append(Account(aid, name, _domain(row.get("domain")), owner))
    if problems:
        raise MarketopsError(f"{len(problems)} bad row(s) in {path}", problems)
    return out


_CACHE: dict[str, tuple[float, Any, AccountIndex]] = {}
_CACHE_LOCK = threading.Lock()


def store_accounts(conn: Connection) -> list[Account]:
    from marketops.store.tables_lifecycle import accounts

    return [
        Account(r.id, r.name, r.domain, r.owner, r.name_key)
        for r in conn.execute(
            select(
                accounts.c.id,
                accounts.c.name,
                accounts.c.domain,
                accounts.c.owner,
                accounts.c.name_key,
            )
        )
    ]


def merged_index(csv_accounts: list[Account], stored: list[Account]) -> AccountIndex:
    """One index over the CSV's and the table's accounts; the table wins on a shared id."""
    by_id = {a.id: a for a in csv_accounts}
    by_id.update({a.id: a for a in stored})
    return AccountIndex(by_id.values())


def index_for(
    conn: Connection, csv_accounts: list[Account], max_age_s: float = 5.0
) -> AccountIndex:
    """The CSV's and the table's accounts, cached per database and refreshed when the table
    changes (checked at most every `max_age_s`): API requests must not re-read every account."""
    from marketops.store.tables_lifecycle import accounts

    url = str(conn.engine.url)
    now = time.monotonic()
    with _CACHE_LOCK:
        hit = _CACHE.get(url)
    if hit is not None and now - hit[0] < max_age_s:
        return hit[2]
    version = tuple(conn.execute(select(func.count(), func.max(accounts.c.updated_at))).one())
    if hit is not None and hit[1] == (version, len(csv_accounts)):
        index = hit[2]
    else:
        index = merged_index(csv_accounts, store_accounts(conn))
    with _CACHE_LOCK:
        _CACHE[url] = (now, (version, len(csv_accounts)), index)
    return index


def upsert_accounts(conn: Connection, rows: list[Account], now: datetime) -> dict[str, int]:
    """Insert or update accounts by id; returns counts."""
    from sqlalchemy import insert, update

    from marketops.store.tables_lifecycle import accounts

    have = set()
    ids = [a.id for a in rows]
    for start in range(0, len(ids), 500):
        have.update(
            conn.execute(
                select(accounts.c.id).where(accounts.c.id.in_(ids[start : start + 500]))
            ).scalars()
        )
    new = [
        {
            "id": a.id,
            "name": a.name,
            "name_key": company_key(a.name),
            "domain": a.domain,
            "owner": a.owner,
            "updated_at": now,
        }
        for a in rows
        if a.id not in have
    ]
    if new:
        conn.execute(insert(accounts), new)
    changed = 0
    for a in rows:
        if a.id in have:
            conn.execute(
                update(accounts)
                .where(accounts.c.id == a.id)
                .values(
                    name=a.name,
                    name_key=company_key(a.name),
                    domain=a.domain,
                    owner=a.owner,
                    updated_at=now,
                )
            )
            changed += 1
    with _CACHE_LOCK:
        _CACHE.pop(str(conn.engine.url), None)  # this process sees the new accounts at once
    return {"inserted": len(new), "updated": changed}

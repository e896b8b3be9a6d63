"""Seeded lead records with noisy duplicates and known truth, for tests and benchmarks.

Each person gets a name (first names from the `nicknames` data set, surnames built from
syllables so that a million people rarely share a full name), a company, a work email and a
phone. About `dup_rate` of the records are extra submissions by an existing person, each with one
to three kinds of noise: typos, case, nicknames, swapped first/last name, a personal instead of a
work email, a changed job (new company and email), a re-formatted or missing phone, gaps.
`entity_id` is the truth; pairwise precision/recall/F1 against it are in `evaluate`.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

_SYL = [
    "ab",
    "al",
    "an",
    "ar",
    "as",
    "ba",
    "be",
    "bel",
    "ber",
    "bo",
    "bran",
    "bri",
    "ca",
    "car",
    "cha",
    "cor",
    "da",
    "dal",
    "del",
    "den",
    "dor",
    "ed",
    "el",
    "en",
    "er",
    "fa",
    "fer",
    "fin",
    "ga",
    "gar",
    "gil",
    "gor",
    "ha",
    "hal",
    "har",
    "hen",
    "hol",
    "ka",
    "kel",
    "ken",
    "kir",
    "la",
    "lan",
    "lar",
    "le",
    "li",
    "lo",
    "lor",
    "ma",
    "mar",
    "mel",
    "mer",
    "mil",
    "mo",
    "mor",
    "na",
    "nel",
    "ner",
    "no",
    "or",
    "pa",
    "par",
    "pel",
    "per",
    "ra",
    "ran",
    "rey",
    "ri",
    "ro",
    "ros",
    "sa",
    "sal",
    "san",
    "sel",
    "sha",
    "sor",
    "ta",
    "tal",
    "tan",
    "ter",
    "to",
    "tor",
    "va",
    "val",
    "ven",
    "ver",
    "vi",
    "wal",
    "war",
    "wel",
    "wil",
    "ya",
    "yor",
    "za",
    "zel",
]
_END = [
    "son",
    "sen",
    "man",
    "ley",
    "ton",
    "ford",
    "field",
    "berg",
    "stein",
    "ez",
    "ski",
    "ic",
    "ov",
    "ini",
    "elli",
    "ard",
    "ock",
    "ers",
    "by",
    "win",
]
_WORDS = [
    "acme",
    "apex",
    "arc",
    "atlas",
    "blue",
    "bright",
    "cedar",
    "cloud",
    "core",
    "crest",
    "delta",
    "echo",
    "ever",
    "field",
    "first",
    "fox",
    "global",
    "gold",
    "green",
    "harbor",
    "iron",
    "jade",
    "key",
    "lake",
    "light",
    "lumen",
    "maple",
    "metro",
    "nova",
    "oak",
    "omni",
    "orbit",
    "peak",
    "pine",
    "prime",
    "quantum",
    "rapid",
    "red",
    "river",
    "rock",
    "sage",
    "silver",
    "solar",
    "spark",
    "star",
    "stone",
    "summit",
    "terra",
    "true",
    "urban",
    "vector",
    "vista",
    "wave",
    "west",
    "wild",
    "zen",
]
_KINDS = [
    "Labs",
    "Systems",
    "Analytics",
    "Software",
    "Health",
    "Energy",
    "Logistics",
    "Media",
    "Partners",
    "Group",
]
_SUFFIX = ["Inc", "Inc.", "LLC", "Ltd", "GmbH", "Corp", "Corporation", ""]
_FREE = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com"]
_CITIES = [
    ("US", "New York", "100"),
    ("US", "Austin", "787"),
    ("US", "Chicago", "606"),
    ("US", "Denver", "802"),
    ("US", "Boston", "021"),
    ("GB", "London", "SW1"),
    ("GB", "Leeds", "LS1"),
    ("DE", "Berlin", "101"),
    ("DE", "Munich", "803"),
    ("FR", "Paris", "750"),
    ("CA", "Toronto", "M5V"),
    ("AU", "Sydney", "200"),
]
_AREA = {
    "US": "+1 212",
    "GB": "+44 20",
    "DE": "+49 30",
    "FR": "+33 1",
    "CA": "+1 416",
    "AU": "+61 2",
}

COLUMNS = [
    "record_id",
    "entity_id",
    "first_name",
    "last_name",
    "email",
    "company",
    "phone",
    "country",
    "city",
    "postcode",
    "title",
    "source",
]


@lru_cache(maxsize=1)
def _first_names() -> tuple[list[str], dict[str, list[str]]]:
    from nicknames import NickNamer, name_triplets

    formal = sorted({t.name1 for t in name_triplets() if t.relationship == "has_nickname"})
    nn = NickNamer()
    return formal, {n: sorted(nn.nicknames_of(n)) for n in formal}


def _typo(rng: random.Random, s: str) -> str:
    if len(s) < 3:
        return s
    i = rng.randrange(1, len(s) - 1)
    op = rng.random()
    if op < 0.35:
        return s[:i] + s[i + 1 :]  # deletion
    if op < 0.7:
        return s[:i] + s[i + 1] + s[i] + s[i + 2 :]  # transposition
    return s[:i] + rng.choice("aeiourstnl") + s[i + 1 :]  # substitution


def _company(rng: random.Random) -> str:
    name = f"{rng.choice(_WORDS).title()} {rng.choice(_WORDS).title()} {rng.choice(_KINDS)}"
    return f"{name} {rng.choice(_SUFFIX)}".strip()


def _domain(company: str) -> str:
    return "".join(company.lower().split()[:2]) + ".example"


def _person(rng: random.Random, pid: int) -> dict[str, Any]:
    formal, _ = _first_names()
    first = rng.choice(formal).title()
    last = (rng.choice(_SYL) + rng.choice(_SYL) + rng.choice(_END)).title()
    company = _company(rng)
    country, city, pc = rng.choice(_CITIES)
    local = rng.choice([f"{first}.{last}", f"{first[0]}{last}", f"{first}{last[0]}", f"{first}"])
    return {
        "entity_id": pid,
        "first_name": first,
        "last_name": last,
        "email": f"{local}@{_domain(company)}".lower(),
        "company": company,
        "phone": f"{_AREA[country]} {rng.randrange(1000000, 9999999)}",
        "country": country,
        "city": city,
        "postcode": f"{pc}{rng.randrange(10, 99)}",
        "title": rng.choice(["VP Marketing", "Marketing Manager", "CTO", "Analyst", "CEO"]),
        "source": rng.choice(["webinar", "website", "trade_show", "crm", "list_import"]),
    }


def _noisy(rng: random.Random, p: dict[str, Any]) -> dict[str, Any]:
    d = dict(p)
    _, nicks = _first_names()
    kinds = rng.sample(
        [
            "typo_first",
            "typo_last",
            "nickname",
            "case",
            "swap",
            "personal_email",
            "job_change",
            "phone_format",
            "gaps",
            "email_typo",
        ],
        rng.choice([1, 1, 2, 2, 3]),
    )
    for kind in kinds:
        if kind == "typo_first":
            d["first_name"] = _typo(rng, d["first_name"])
        elif kind == "typo_last":
            d["last_name"] = _typo(rng, d["last_name"])
        elif kind == "nickname" and nicks.get(d["first_name"].lower()):
            d["first_name"] = rng.choice(nicks[d["first_name"].lower()]).title()
        elif kind == "case":
            d["first_name"], d["last_name"] = d["first_name"].upper(), d["last_name"].lower()
        elif kind == "swap":
            d["first_name"], d["last_name"] = d["last_name"], d["first_name"]
        elif kind == "personal_email":
            f, la = p["first_name"].lower(), p["last_name"].lower()
            local = rng.choice([f"{f}.{la}", f"{f}{la}", f"{f[0]}{la}{rng.randrange(10, 99)}"])
            d["email"] = f"{local}@{rng.choice(_FREE)}"
        elif kind == "job_change":
            d["company"] = _company(rng)
            d["email"] = f"{p['first_name']}.{p['last_name']}@{_domain(d['company'])}".lower()
            d["title"] = rng.choice(["Director", "Head of Growth", "VP Sales"])
        elif kind == "phone_format":
            digits = "".join(ch for ch in d["phone"] if ch.isdigit() or ch == "+")
            d["phone"] = digits if rng.random() < 0.5 else None
        elif kind == "gaps":
            d[rng.choice(["company", "city", "postcode", "title"])] = None
        elif kind == "email_typo":
            local, _, dom = d["email"].partition("@")
            d["email"] = f"{_typo(rng, local)}@{dom}"
    return d


def _unique(rec: dict[str, Any], owner: dict[str, int], rng: random.Random) -> dict[str, Any]:
    """A real address or number belongs to one person: re-draw a clash (digits appended)."""
    pid = rec["entity_id"]
    while rec["email"] in owner and owner[rec["email"]] != pid:
        local, _, dom = rec["email"].partition("@")
        rec["email"] = f"{local}{rng.randrange(10)}@{dom}"
    while rec["phone"] and rec["phone"] in owner and owner[rec["phone"]] != pid:
        rec["phone"] = rec["phone"][:-7] + str(rng.randrange(1000000, 9999999))
    owner[rec["email"]] = pid
    if rec["phone"]:
        owner[rec["phone"]] = pid
    return rec


def generate(n: int, *, dup_rate: float = 0.1, seed: int = 1) -> Iterator[dict[str, Any]]:
    """`n` records; about `dup_rate` of them repeat an earlier person with noise. Distinct
    people never share an email address or phone number (as in real data)."""
    rng = random.Random(seed)
    people: list[dict[str, Any]] = []
    owner: dict[str, int] = {}
    for i in range(n):
        if people and rng.random() < dup_rate:
            rec = _unique(_noisy(rng, rng.choice(people)), owner, rng)
        else:
            rec = _unique(_person(rng, len(people)), owner, rng)
            people.append(rec)
        yield {"record_id": f"r{i}", **rec}


def frame(n: int, *, dup_rate: float = 0.1, seed: int = 1) -> pd.DataFrame:
    return pd.DataFrame(generate(n, dup_rate=dup_rate, seed=seed), columns=COLUMNS)


def write_csv(path: str, n: int, *, dup_rate: float = 0.1, seed: int = 1) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(generate(n, dup_rate=dup_rate, seed=seed))


def _pairs(sizes: np.ndarray) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def evaluate(predicted: pd.Series, truth: pd.Series) -> dict[str, float]:
    """Pairwise precision, recall and F1 of a clustering against the truth (aligned series)."""
    both = pd.DataFrame({"p": pd.factorize(predicted)[0], "t": pd.factorize(truth)[0]})
    tp = _pairs(both.groupby(["p", "t"]).size().to_numpy())
    pred = _pairs(both.groupby("p").size().to_numpy())
    true = _pairs(both.groupby("t").size().to_numpy())
    precision = tp / pred if pred else 1.0
    recall = tp / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_pairs": true,
        "predicted_pairs": pred,
    }

"""A seeded, realistic sample of inbound leads: typos, duplicates, free-mail, bad phones, gaps.

Used by `marketops quickstart`, the tests and the benchmarks. Deterministic for a given seed.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Chen",
    "Wei",
    "Priya",
    "Arjun",
    "Sofia",
    "Lukas",
    "Emma",
    "Noah",
    "Olivia",
    "Liam",
    "Yuki",
    "Hiroshi",
    "Fatima",
    "Omar",
    "Ana",
    "Mateo",
    "Chloé",
    "Søren",
    "Zoë",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Martinez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Walker",
    "Hall",
    "Young",
    "King",
    "McDonald",
    "O'Brien",
    "Müller",
    "Schmidt",
    "Tanaka",
    "Sato",
    "Kumar",
    "Singh",
    "Rossi",
    "Dubois",
    "van der Berg",
    "Nguyen",
    "Kowalski",
]
COMPANIES = [
    ("Acme Corporation", "acme.example", "US"),
    ("Globex Inc.", "globex.example", "US"),
    ("Initech LLC", "initech.example", "US"),
    ("Umbrella Health Ltd", "umbrella.example", "GB"),
    ("Hooli", "hooli.example", "US"),
    ("Vandelay Industries", "vandelay.example", "US"),
    ("Stark Industries", "stark.example", "US"),
    ("Wayne Enterprises", "wayne.example", "US"),
    ("Tyrell GmbH", "tyrell.example", "DE"),
    ("Cyberdyne Systems K.K.", "cyberdyne.example", "JP"),
    ("Soylent SA", "soylent.example", "FR"),
    ("Wonka Industries plc", "wonka.example", "GB"),
    ("Northwind Traders", "northwind.example", "CA"),
    ("Contoso Ltd", "contoso.example", "AU"),
    ("Fabrikam BV", "fabrikam.example", "NL"),
    ("Blue Yonder AG", "blueyonder.example", "DE"),
    ("Pied Piper", "piedpiper.example", "US"),
    ("Aperture Science", "aperture.example", "US"),
    ("Monsters Inc", "monsters.example", "US"),
    ("Gringotts", "gringotts.example", "GB"),
]
FREE = ["gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "gmx.de", "icloud.com"]
DISPOSABLE = ["mailinator.com", "10minutemail.com", "guerrillamail.com"]
TITLES = [
    "VP Marketing",
    "Chief Marketing Officer",
    "Marketing Director",
    "Director of Demand Gen",
    "Marketing Manager",
    "Marketing Operations Manager",
    "CEO",
    "CTO",
    "Head of Growth",
    "Software Engineer",
    "Student",
    "Sales Manager",
    "Analyst",
    "Intern",
    "SVP Sales",
    "",
]
COUNTRY_FORMS = {
    "US": ["US", "USA", "United States", "us", "U.S."],
    "GB": ["GB", "UK", "United Kingdom"],
    "DE": ["DE", "Germany", "Deutschland"],
    "FR": ["FR", "France"],
    "JP": ["JP", "Japan"],
    "CA": ["CA", "Canada"],
    "AU": ["AU", "Australia"],
    "NL": ["NL", "Netherlands", "Holland"],
    "IN": ["IN", "India"],
    "BR": ["BR", "Brazil"],
    "SG": ["SG", "Singapore"],
}
PHONES = {
    "US": "(415) 555-{:04d}",
    "CA": "+1 604 555 {:04d}",
    "GB": "020 7946 {:04d}",
    "DE": "030 1234{:04d}",
    "FR": "01 42 68 {:02d} {:02d}",
    "JP": "03-1234-{:04d}",
    "AU": "(02) 9374 {:04d}",
    "NL": "020 123 {:04d}",
    "IN": "+91 98765 4{:04d}",
    "BR": "+55 11 91234-{:04d}",
    "SG": "+65 6123 {:04d}",
}
ACTIVITIES = (
    ["form_fill"] * 40
    + ["content_download"] * 20
    + ["webinar"] * 12
    + ["pricing_page"] * 12
    + ["demo_request"] * 8
    + ["contact_sales"] * 4
    + ["event_visit"] * 4
)
SOURCES = [
    "web",
    "web",
    "web",
    "webinar",
    "event",
    "list_import",
    "partner",
    "paid_social",
    "paid_search",
    "api",
]
MESSAGES = [
    "",
    "",
    "",
    "",
    "Interested in pricing for 50 seats",
    "Please book a demo",
    "What is your timeline for the EU region?",
    "Just browsing",
    "Send me the whitepaper",
    "Need a quote this quarter",
]
COLUMNS = [
    "email",
    "first_name",
    "last_name",
    "company",
    "title",
    "phone",
    "country",
    "employees",
    "industry",
    "source",
    "activity",
    "occurred_at",
    "consent_email",
    "message",
]


def _typo(rng: random.Random, s: str) -> str:
    if len(s) < 4:
        return s
    i = rng.randrange(1, len(s) - 1)
    return s[:i] + s[i + 1] + s[i] + s[i + 2 :]


def generate(n: int, seed: int = 7, now: datetime | None = None) -> Iterator[dict[str, Any]]:
    """`n` raw lead rows; about 8% repeat an earlier person, ~5% are broken beyond repair."""
    rng = random.Random(seed)
    now = now or datetime(2026, 11, 1, tzinfo=UTC)
    people: list[dict[str, Any]] = []
    for i in range(n):
        if people and rng.random() < 0.08:
            prev = rng.choice(people)
            row = dict(prev)
            row["email"] = rng.choice([prev["email"].upper(), f"  {prev['email']} ", prev["email"]])
            row["activity"] = rng.choice(ACTIVITIES)
            row["message"] = rng.choice(MESSAGES)
            row["occurred_at"] = (
                now - timedelta(minutes=rng.randrange(0, 60 * 24 * 30))
            ).isoformat()
            yield row
            continue
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company, domain, home = rng.choice(COMPANIES)
        kind = rng.random()
        local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
        local = local.encode("ascii", "ignore").decode() or "user"
        if kind < 0.25:
            email_domain = rng.choice(FREE)
        elif kind < 0.27:
            email_domain = rng.choice(DISPOSABLE)
        else:
            email_domain = domain
        if rng.random() < 0.02:
            local = rng.choice(["info", "sales", "marketing"])
        email = f"{local}{i}@{email_domain}"
        country = home if rng.random() < 0.8 else rng.choice(list(COUNTRY_FORMS))
        phone = PHONES[country].format(
            *([rng.randrange(100)] * 2 if country == "FR" else [rng.randrange(10000)])
        )
        row = {
            "email": email,
            "first_name": first.lower() if rng.random() < 0.2 else first,
            "last_name": last.upper() if rng.random() < 0.1 else last,
            "company": company if rng.random() < 0.85 else "",
            "title": rng.choice(TITLES),
            "phone": phone,
            "country": rng.choice(COUNTRY_FORMS[country]) if rng.random() < 0.9 else "",
            "employees": rng.choice([10, 45, 120, 250, 600, 1500, 5000, 20000, ""]),
            "industry": rng.choice(
                [
                    "Software",
                    "Financial Services",
                    "Healthcare",
                    "Manufacturing",
                    "Retail",
                    "Education",
                    "",
                ]
            ),
            "source": rng.choice(SOURCES),
            "activity": rng.choice(ACTIVITIES),
            "occurred_at": (now - timedelta(minutes=rng.randrange(0, 60 * 24 * 90))).isoformat(),
            "consent_email": rng.choice(["true", "true", "true", "false", ""]),
            "message": rng.choice(MESSAGES),
        }
        r = rng.random()
        if r < 0.02:
            row["email"] = email.replace("@", " at ")  # broken: no @
        elif r < 0.03:
            row["email"] = ""  # broken: missing required
        elif r < 0.04:
            row["activity"] = "carrier_pigeon"  # broken: not an allowed activity
        elif r < 0.07:
            row["phone"] = rng.choice(["12", "n/a", "555-CALL-NOW", "+1 (000) 000-0000"])
        elif r < 0.09:
            row["first_name"] = _typo(rng, row["first_name"])
        elif r < 0.10:
            row["employees"] = "lots"
        people.append(row)
        yield row


def write_csv(path: Path, n: int, seed: int = 7, now: datetime | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        for row in generate(n, seed, now):
            w.writerow(row)
    return path

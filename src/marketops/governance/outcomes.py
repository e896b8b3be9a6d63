"""Deal outcomes for a back-test, from a CSV the user supplies (`lead_id` or `email`, `won`,
`amount`) — the store has no opportunities table yet.

A row that cannot be read is not dropped silently: it is reported with its row number and reason.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from marketops.errors import MarketopsError, Problem
from marketops.governance.backtest import Outcome

_TRUE = {"true", "1", "yes", "y", "won", "closed won", "closed-won", "t"}
_FALSE = {"false", "0", "no", "n", "lost", "closed lost", "closed-lost", "f", "open"}


@dataclass
class OutcomeRows:
    by_id: dict[str, Outcome] = field(default_factory=dict)
    by_email: dict[str, Outcome] = field(default_factory=dict)
    rows: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)  # {row, message}


def parse_outcomes(rows: Iterable[Mapping[str, Any]]) -> OutcomeRows:
    """Rows numbered from 2 (row 1 of a CSV is its header). Later rows for a lead win."""
    out = OutcomeRows()
    for n, row in enumerate(rows, start=2):
        out.rows += 1
        row = {str(k).strip().lower(): v for k, v in row.items() if k is not None}
        lead_id = str(row.get("lead_id") or "").strip()
        email = str(row.get("email") or "").strip().lower()
        if not lead_id and not email:
            out.problems.append({"row": n, "message": "needs a `lead_id` or an `email`"})
            continue
        won_raw = row.get("won")
        if isinstance(won_raw, bool):
            won = won_raw
        elif str(won_raw).strip().lower() in _TRUE:
            won = True
        elif str(won_raw).strip().lower() in _FALSE:
            won = False
        else:
            out.problems.append(
                {"row": n, "message": f"`won` must be true/false (or won/lost), got {won_raw!r}"}
            )
            continue
        amount_raw = row.get("amount")
        amount = None
        if amount_raw not in (None, ""):
            try:
                amount = Decimal(str(amount_raw).strip().replace(",", ""))
            except InvalidOperation:
                out.problems.append(
                    {"row": n, "message": f"`amount` is not a number: {amount_raw!r}"}
                )
                continue
            if not amount.is_finite():
                out.problems.append(
                    {"row": n, "message": f"`amount` is not finite: {amount_raw!r}"}
                )
                continue
        target = out.by_id if lead_id else out.by_email
        target[lead_id or email] = Outcome(won, amount)
    return out


def read_outcomes_csv(path: Path) -> OutcomeRows:
    if not path.is_file():
        raise MarketopsError(
            f"cannot read outcomes {path}",
            [Problem(str(path), "file not found", "pass a CSV with lead_id or email, won, amount")],
        )
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = {h.strip().lower() for h in reader.fieldnames or []}
        if "won" not in header or not header & {"lead_id", "email"}:
            raise MarketopsError(
                f"cannot read outcomes {path}",
                [
                    Problem(
                        f"{path}:1",
                        f"header has {sorted(header)}",
                        "columns needed: `lead_id` or `email`, `won`, and optionally `amount`",
                    )
                ],
            )
        return parse_outcomes(reader)

"""Real-time matching: one new record against candidates found by its blocking keys.

Incremental clustering, which Splink does not provide: the record's blocking keys (the same rules
the batch run blocks on) find candidate records in an index; each candidate is scored with the
trained model (or an exact rule: same email or phone is probability 1); the record joins the
identity of its best candidate at or above the threshold, or starts its own. When candidates
from several identities clear the threshold, the record bridges them and they are merged (the
merge is recorded, so it can be undone). Pure: the service looks candidates up and writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from marketops.identity.config import IdentityConfig
from marketops.identity.model import MatchModel

MAX_KEY = 400


def blocking_keys(feats: Mapping[str, Any], cfg: IdentityConfig) -> list[str]:
    """Index keys for a record: one per exact rule and per blocking rule it has every value for."""
    keys = []
    for col in cfg.deterministic:
        if feats.get(col):
            keys.append(f"={col}:{feats[col]}"[:MAX_KEY])
    for rule in cfg.blocking_rules:
        vals = [feats.get(c) for c in rule]
        if all(v not in (None, "") for v in vals):
            keys.append(f"{'+'.join(rule)}:{'|'.join(str(v) for v in vals)}"[:MAX_KEY])
    return list(dict.fromkeys(keys))


@dataclass(frozen=True)
class Candidate:
    lead_id: str
    identity_id: str
    features: Mapping[str, Any]


@dataclass
class Decision:
    identity_id: str | None  # None: start a new identity
    matched_to: str | None = None
    method: str | None = None  # an exact rule's column, or "model"
    probability: float | None = None
    weight: float | None = None
    merge: list[str] = field(default_factory=list)  # other identities this record bridges
    scored: int = 0


def decide_match(
    feats: Mapping[str, Any],
    candidates: Sequence[Candidate],
    model: MatchModel,
    cfg: IdentityConfig,
) -> Decision:
    best: dict[str, tuple[float, float, str, str]] = {}  # identity -> (p, w, method, lead)
    for cand in candidates:
        rule = next(
            (c for c in cfg.deterministic if feats.get(c) and feats.get(c) == cand.features.get(c)),
            None,
        )
        if rule is not None:
            p, w, method = 1.0, float("inf"), rule
        else:
            w, p = model.score(feats, cand.features)
            method = "model"
        prev = best.get(cand.identity_id)
        if prev is None or (p, w) > (prev[0], prev[1]):
            best[cand.identity_id] = (p, w, method, cand.lead_id)
    above = sorted(
        ((v, k) for k, v in best.items() if v[0] >= cfg.threshold),
        key=lambda item: (-item[0][0], -item[0][1], item[1]),
    )
    if not above:
        return Decision(None, scored=len(candidates))
    (p, w, method, lead), target = above[0]
    return Decision(
        target,
        matched_to=lead,
        method=method,
        probability=p,
        weight=None if w == float("inf") else w,
        merge=[k for _, k in above[1:]],
        scored=len(candidates),
    )

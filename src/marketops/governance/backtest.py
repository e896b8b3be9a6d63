"""Back-testing a candidate configuration on stored history — pure: no I/O, no clock.

Each lead is replayed under a rule set the way the pipeline saw it: its activities in time order,
scored at each one (`now` = the activity's time) with the pipeline's own `score`, the stage moved
with `next_stage`, and its last state routed with `route`. The same replay under the live and the
candidate rule sets, compared lead by lead, is the back-test.

Speed without a second implementation of the rules: fit points and routing depend only on the
fields their conditions name, so their results are memoised on those fields' values (titles,
sizes and regions repeat a lot); engagement is recomputed with `score` at every touch while the
stage can still change, and once more at the last touch.
"""

from __future__ import annotations

import bisect
import itertools
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from marketops.pipeline.lifecycle import next_stage
from marketops.pipeline.route import CompiledRouting, compile_routing, route
from marketops.pipeline.score import CompiledScoring, _clamp, compile_scoring, score
from marketops.routing.accounts import AccountIndex
from marketops.workspace.conditions import Predicate
from marketops.workspace.models import Lifecycle, Routing, Scoring

SUPPRESSED = "(suppressed)"
UNROUTED = "(no rule matched)"
ACCOUNT_FIELDS = ["company_domain", "company"]  # what an account match reads


@dataclass(frozen=True)
class RuleSet:
    """One side of a comparison: scoring, routing and lifecycle, compiled once. `accounts`: the
    account index `account_owner` rules match against (None: such rules never match)."""

    scoring: CompiledScoring
    routing: CompiledRouting
    lifecycle: Lifecycle
    route_fields: tuple[str, ...]  # every field a routing condition (or account match) reads
    accounts: AccountIndex | None = None

    @classmethod
    def compile(
        cls,
        scoring: Scoring,
        routing: Routing,
        lifecycle: Lifecycle,
        accounts: AccountIndex | None = None,
    ) -> RuleSet:
        fields = [c.field for r in routing.rules for c in r.when]
        if any(r.account_owner for r in routing.rules):
            fields += ACCOUNT_FIELDS
        compiled = compile_routing(routing)
        return cls(
            compile_scoring(scoring), compiled, lifecycle, tuple(dict.fromkeys(fields)), accounts
        )


@dataclass(slots=True)
class HistoryLead:
    """A stored lead as the replay needs it.

    `view` holds what `Lead.view()` holds for every field the compared rule sets read (columns,
    attributes, flags, and the last activity's type, time and message).
    """

    id: str
    view: dict[str, Any]
    suppressed: bool
    activities: list[tuple[str, datetime]]  # sorted by time
    created_at: datetime


# (total score at the last touch, stage, when it became MQL or None, queue label)
Replayed = tuple[float, str, datetime | None, str]


def fields_read(rules: Iterable[RuleSet]) -> set[str]:
    """Every lead field a fit rule or a routing condition of these rule sets reads."""
    out: set[str] = set()
    for r in rules:
        out.update(rule.field for g in r.scoring.config.fit for rule in g.rules)
        out.update(r.route_fields)
    return out


def _memo(pred: Predicate, field_name: str) -> Predicate:
    """A condition reads one field only, so its answer can be kept per value of that field."""
    cache: dict[Any, bool] = {}

    def check(view: Mapping[str, Any]) -> bool:
        v = view.get(field_name)
        try:
            return cache[v]
        except KeyError:
            out = cache[v] = pred(view)
            return out
        except TypeError:  # unhashable (a list attribute)
            return pred(view)

    return check


EngagementGroups = list[tuple[float | None, float | None, list[tuple[str, float, int | None]]]]


def compile_engagement(cfg: Scoring) -> EngagementGroups:
    return [
        (g.cap, g.floor, [(r.activity, r.points, r.max_times) for r in g.rules])
        for g in cfg.engagement
    ]


def engagement_points(
    groups: EngagementGroups,
    half_life: float | None,
    activities: Sequence[tuple[str, datetime]],
    now: datetime,
) -> float:
    """`score(...).engagement` without the reasons: the same float operations in the same order
    (so the same result to the bit), at a third of the cost. `activities` sorted by time.

    Kept equal to the pipeline by test_replay_equals_the_pipeline_functions_touch_by_touch.
    """
    by_type: dict[str, list[datetime]] = {}
    for a, t in reversed(activities):  # newest first, like score()'s sorted(reverse=True)
        got = by_type.get(a)
        if got is None:
            by_type[a] = [t]
        else:
            got.append(t)
    total = 0.0
    for cap, floor, rules in groups:
        raw = 0.0
        for activity, points, max_times in rules:
            times = by_type.get(activity)
            if not times:
                continue
            if max_times:
                times = times[:max_times]
            for t in times:
                age_days = max((now - t).total_seconds() / 86400, 0.0)
                factor = 0.5 ** (age_days / half_life) if half_life else 1.0
                raw += points * factor
        total += _clamp(raw, cap, floor)
    return round(total, 2)


class Replayer:
    """Replays leads under one rule set with the pipeline's functions, memoising what depends
    only on a few values: a condition per field value, fit points per combination of the fields
    fit rules read, engagement per (activity, age) set, routing per routed fields."""

    def __init__(self, rules: RuleSet, share_with: Replayer | None = None):
        cfg = rules.scoring.config
        self.rules = rules
        self.threshold = cfg.mql_threshold
        self.lifecycle = rules.lifecycle
        self.mql_stage = rules.lifecycle.mql_stage
        self.mql_from = frozenset(rules.lifecycle.mql_from)
        # score() split in two halves whose rounded sum is exactly score().total
        fit = [
            (
                g,
                cap,
                floor,
                [
                    (n, pts, _memo(pred, r.field))
                    for (n, pts, pred), r in zip(rules_, cfg_g.rules, strict=True)
                ],
            )
            for (g, cap, floor, rules_), cfg_g in zip(rules.scoring.fit, cfg.fit, strict=True)
        ]
        self._fit_only = CompiledScoring(cfg.model_copy(update={"engagement": []}), fit)
        self._scored = frozenset(r.activity for g in cfg.engagement for r in g.rules)
        self._fit_fields = tuple(dict.fromkeys(r.field for g in cfg.fit for r in g.rules))
        self._route_fields = rules.route_fields
        self._fit_cache: dict[tuple[Any, ...], float] = {}
        self._eng_cache: dict[tuple[str, timedelta], float] = {}
        self._route_cache: dict[tuple[Any, ...], str] = {}
        self._groups = compile_engagement(cfg)
        self._half_life = cfg.decay.half_life_days
        other = share_with.rules.scoring.config if share_with else None
        if share_with is not None and other is not None:
            # an unchanged half of the scoring model gives the same numbers: compute them once
            if other.fit == cfg.fit:
                self._fit_cache = share_with._fit_cache
            if other.engagement == cfg.engagement and other.decay == cfg.decay:
                self._eng_cache = share_with._eng_cache

    def fit(self, view: Mapping[str, Any]) -> float:
        key = tuple([view.get(f) for f in self._fit_fields])
        try:
            return self._fit_cache[key]
        except KeyError:
            value = self._fit_cache[key] = score(view, (), self._fit_only, _EPOCH).fit
            return value
        except TypeError:  # an unhashable value: no memo for this lead
            return score(view, (), self._fit_only, _EPOCH).fit

    def engagement(self, acts: Sequence[tuple[str, datetime]], now: datetime) -> float:
        """Engagement at `now` from the activities so far. A lone activity scored at its own
        time is the commonest case by far, and only its type matters: that one is memoised."""
        if not acts:
            return 0.0
        if len(acts) == 1:
            key = (acts[0][0], now - acts[0][1])
            try:
                return self._eng_cache[key]
            except KeyError:
                value = self._eng_cache[key] = engagement_points(
                    self._groups, self._half_life, acts, now
                )
                return value
        return engagement_points(self._groups, self._half_life, acts, now)

    def queue(
        self, view: Mapping[str, Any], stage: str, fit: float, eng: float, total: float
    ) -> str:
        extra = {
            "lifecycle_stage": stage,
            "total_score": total,
            "fit_score": fit,
            "engagement_score": eng,
        }
        key = tuple([extra[f] if f in extra else view.get(f) for f in self._route_fields])
        try:
            return self._route_cache[key]
        except KeyError:
            hashable = True
        except TypeError:
            hashable = False
        full = dict(view)
        full.update(extra)
        a = route(full, self.rules.routing, accounts=self.rules.accounts)
        label = UNROUTED if a is None else a.queue or f"owner:{a.owner}"
        if hashable:
            self._route_cache[key] = label
        return label

    def replay(self, lead: HistoryLead) -> Replayed:
        """Score at every touch while the stage can still move, then route the last state."""
        fit = self.fit(lead.view)
        touches = lead.activities or [("", lead.created_at)]
        if len(touches) == 1:  # most leads: one evaluation, no loop
            kind, t = touches[0]
            eng = self.engagement(touches if kind in self._scored else (), t)
            total = round(fit + eng, 2)
            stage, _ = next_stage(None, total, self.threshold, self.lifecycle)
            mql_at = t if stage == self.mql_stage else None
            q = SUPPRESSED if lead.suppressed else self.queue(lead.view, stage, fit, eng, total)
            return total, stage, mql_at, q
        scored = [a for a in touches if a[0] in self._scored]
        stage: str | None = None
        mql_at: datetime | None = None
        eng = 0.0
        n = len(touches)
        upto = 0
        evaluated = -1  # index of the last touch scored
        for kind, t in touches:
            if stage is not None and stage not in self.mql_from:
                break  # no further stage move possible: only the last touch still matters
            if kind in self._scored:
                upto += 1  # scored[:upto] = the scored ones among the touches so far
            eng = self.engagement(scored[:upto], t)
            stage, _ = next_stage(stage, round(fit + eng, 2), self.threshold, self.lifecycle)
            if mql_at is None and stage == self.mql_stage:
                mql_at = t
            evaluated += 1
        if evaluated < n - 1:
            eng = self.engagement(scored, touches[-1][1])
        assert stage is not None
        total = round(fit + eng, 2)
        q = SUPPRESSED if lead.suppressed else self.queue(lead.view, stage, fit, eng, total)
        return total, stage, mql_at, q


_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # fit points never read the clock


@dataclass(frozen=True)
class Outcome:
    """A deal outcome for a lead, from the user's file (no opportunities table yet)."""

    won: bool
    amount: Decimal | None


@dataclass
class Tally:
    """Lead-by-lead comparison, mergeable across worker processes (plain, picklable data)."""

    since: datetime | None
    leads: int = 0
    activities: int = 0
    mql_live: int = 0
    mql_candidate: int = 0
    mql_lost: list[str] = field(default_factory=list)
    mql_gained: list[str] = field(default_factory=list)
    stages_live: Counter[str] = field(default_factory=Counter)
    stages_candidate: Counter[str] = field(default_factory=Counter)
    moves: Counter[tuple[str, str]] = field(default_factory=Counter)
    scores_live: list[float] = field(default_factory=list)
    scores_candidate: list[float] = field(default_factory=list)
    # lead id -> (MQL in period under live, under candidate), only for leads with an outcome
    outcome_status: dict[str, tuple[bool, bool]] = field(default_factory=dict)

    def _in_period(self, mql_at: datetime | None) -> bool:
        return mql_at is not None and (self.since is None or mql_at >= self.since)

    def add(
        self,
        lead: HistoryLead,
        live: Replayed,
        cand: Replayed,
        outcomes: Mapping[str, Outcome] | None = None,
    ) -> None:
        self.leads += 1
        self.activities += len(lead.activities)
        a, b = self._in_period(live[2]), self._in_period(cand[2])
        self.mql_live += a
        self.mql_candidate += b
        if a and not b:
            self.mql_lost.append(lead.id)
        elif b and not a:
            self.mql_gained.append(lead.id)
        self.stages_live[live[1]] += 1
        self.stages_candidate[cand[1]] += 1
        self.moves[(live[3], cand[3])] += 1
        self.scores_live.append(live[0])
        self.scores_candidate.append(cand[0])
        if outcomes and lead.id in outcomes:
            self.outcome_status[lead.id] = (a, b)

    def merge(self, other: Tally) -> None:
        self.leads += other.leads
        self.activities += other.activities
        self.mql_live += other.mql_live
        self.mql_candidate += other.mql_candidate
        self.mql_lost += other.mql_lost
        self.mql_gained += other.mql_gained
        self.stages_live.update(other.stages_live)
        self.stages_candidate.update(other.stages_candidate)
        self.moves.update(other.moves)
        self.scores_live += other.scores_live
        self.scores_candidate += other.scores_candidate
        self.outcome_status.update(other.outcome_status)


def replay_all(
    leads: Iterable[HistoryLead],
    live: RuleSet,
    candidate: RuleSet,
    *,
    since: datetime | None,
    outcomes: Mapping[str, Outcome] | None = None,
) -> Tally:
    """Replay every lead under both rule sets and tally the differences."""
    a = Replayer(live)
    b = Replayer(candidate, share_with=a)
    same = live is candidate
    tally = Tally(since)
    for lead in leads:
        ra = a.replay(lead)
        tally.add(lead, ra, ra if same else b.replay(lead), outcomes)
    return tally


def _bucket_labels(bins: Sequence[float]) -> list[str]:
    labels = [f"< {bins[0]:g}"]
    labels += [f"{lo:g}–{hi:g}" for lo, hi in itertools.pairwise(bins)]
    return [*labels, f"≥ {bins[-1]:g}"]


def _distribution(scores: Sequence[float], bins: Sequence[float]) -> dict[str, Any]:
    counts = [0] * (len(bins) + 1)
    for s in scores:
        counts[bisect.bisect_right(bins, s)] += 1
    out: dict[str, Any] = {"buckets": dict(zip(_bucket_labels(bins), counts, strict=True))}
    if scores:
        qs = (
            statistics.quantiles(scores, n=10, method="inclusive")
            if len(scores) > 1
            else [scores[0]] * 9
        )
        out.update(
            mean=round(statistics.fmean(scores), 2),
            p50=round(qs[4], 2),
            p90=round(qs[8], 2),
        )
    return out


def summarize(
    tally: Tally,
    *,
    bins: Sequence[float],
    outcomes: Mapping[str, Outcome] | None = None,
    examples: int = 10,
) -> dict[str, Any]:
    """The back-test report: MQLs in/out, score shift, queue-to-queue moves, won deals at risk."""
    changed = up = 0
    delta_sum = 0.0
    for x, y in zip(tally.scores_live, tally.scores_candidate, strict=True):
        if x != y:
            changed += 1
            up += y > x
            delta_sum += y - x
    matrix: dict[str, dict[str, int]] = {}
    moved = 0
    for (src, dst), n in sorted(tally.moves.items()):
        matrix.setdefault(src, {})[dst] = n
        if src != dst:
            moved += n
    report: dict[str, Any] = {
        "leads": tally.leads,
        "activities": tally.activities,
        "mql": {
            "live": tally.mql_live,
            "candidate": tally.mql_candidate,
            "lost": len(tally.mql_lost),
            "gained": len(tally.mql_gained),
            "examples_lost": sorted(tally.mql_lost)[:examples],
            "examples_gained": sorted(tally.mql_gained)[:examples],
        },
        "stages": {"live": dict(tally.stages_live), "candidate": dict(tally.stages_candidate)},
        "scores": {
            "live": _distribution(tally.scores_live, bins),
            "candidate": _distribution(tally.scores_candidate, bins),
            "changed": changed,
            "up": up,
            "down": changed - up,
            "mean_change": round(delta_sum / tally.leads, 2) if tally.leads else 0.0,
        },
        "routing": {
            "moved": moved,
            "matrix": matrix,
            "live": _totals(tally.moves, 0),
            "candidate": _totals(tally.moves, 1),
        },
    }
    if outcomes is not None:
        report["outcomes"] = _outcome_impact(tally, outcomes)
    return report


def _totals(moves: Counter[tuple[str, str]], side: int) -> dict[str, int]:
    out: Counter[str] = Counter()
    for pair, n in moves.items():
        out[pair[side]] += n
    return dict(sorted(out.items()))


def _outcome_impact(tally: Tally, outcomes: Mapping[str, Outcome]) -> dict[str, Any]:
    def money(values: Iterable[Decimal | None]) -> str:
        return str(sum((v for v in values if v is not None), Decimal(0)))

    seen = tally.outcome_status
    won = [k for k in seen if outcomes[k].won]
    lost_mql = [k for k in won if seen[k][0] and not seen[k][1]]
    gained_mql = [k for k in won if seen[k][1] and not seen[k][0]]
    return {
        "in_backtest": len(seen),
        "not_in_backtest": len(outcomes) - len(seen),
        "won": len(won),
        "won_revenue": money(outcomes[k].amount for k in won),
        "won_mql_live": sum(1 for k in won if seen[k][0]),
        "won_mql_candidate": sum(1 for k in won if seen[k][1]),
        "won_losing_mql": len(lost_mql),
        "won_losing_mql_revenue": money(outcomes[k].amount for k in lost_mql),
        "won_gaining_mql": len(gained_mql),
        "won_gaining_mql_revenue": money(outcomes[k].amount for k in gained_mql),
        "examples_won_losing_mql": sorted(lost_mql)[:10],
    }

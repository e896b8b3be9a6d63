"""The back-test replay against the pipeline's own functions, and the report's arithmetic."""

from __future__ import annotations

import random
import statistics
from datetime import timedelta
from decimal import Decimal

import pytest
from governance_helpers import T0, reference_replay

from marketops.governance.backtest import (
    SUPPRESSED,
    HistoryLead,
    Outcome,
    Replayer,
    RuleSet,
    replay_all,
    summarize,
)
from marketops.pipeline.records import Lead
from marketops.workspace import Workspace

TITLES = ["VP Marketing", "Marketing Manager", "Student", "Director of Sales", "Engineer", None]
COUNTRIES = ["US", "DE", "JP", "BR", "GB", None]
ACTS = ["form_fill", "demo_request", "pricing_page", "webinar", "unknown_thing", "content_download"]
MESSAGES = [None, "need pricing", "just browsing", "demo please"]


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    from marketops.workspace.scaffold import init_workspace

    root = tmp_path_factory.mktemp("bt") / "ws"
    init_workspace(root)
    return Workspace.load(root)


def _random_leads(n: int, seed: int) -> list[HistoryLead]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        t = T0 + timedelta(days=rnd.uniform(0, 200))
        acts = []
        for _ in range(rnd.choice([1, 1, 1, 2, 3, 5])):
            acts.append((rnd.choice(ACTS), t))
            t += timedelta(days=rnd.choice([0, 0.5, 3, 20, 60]))  # ties included on purpose
        lead = Lead(
            email=f"p{i}@x.example",
            email_original=f"p{i}@x.example",
            title=rnd.choice(TITLES),
            country=(c := rnd.choice(COUNTRIES)),
            region={"US": "NA", "DE": "EMEA", "GB": "EMEA", "JP": "APAC", "BR": "LATAM"}.get(
                c or ""
            ),
            employees=rnd.choice([None, 5, 150, 500, 5000]),
            industry=rnd.choice(["Software", "Retail", None]),
            message=rnd.choice(MESSAGES),
            activity=acts[-1][0],
            occurred_at=acts[-1][1],
            flags={"free_mail": rnd.random() < 0.2, "role_account": rnd.random() < 0.1},
            # a named account by domain, by fuzzy name, or none
            company_domain=rnd.choice([None, None, "wayne.example", "other.example"]),
            company=rnd.choice([None, "Aperture Science", "Wayne Enterprises", "Initech"]),
        )
        out.append(HistoryLead(f"{i:04x}", lead.view(), rnd.random() < 0.05, acts, acts[0][1]))
    return out


def test_replay_equals_the_pipeline_functions_touch_by_touch(ws: Workspace) -> None:
    """Memoised fit/engagement/routing and the early stop give exactly the reference result."""
    from marketops.routing.accounts import AccountIndex, read_accounts_csv

    accounts = AccountIndex(read_accounts_csv(ws.path("data/accounts.csv")))
    owners = set()
    for threshold in (60, 45, 80):
        rules = RuleSet.compile(
            ws.scoring.model_copy(update={"mql_threshold": threshold}),
            ws.routing,
            ws.lifecycle,
            accounts,
        )
        replayer = Replayer(rules)
        for lead in _random_leads(600, seed=threshold):
            got = replayer.replay(lead)
            assert got == reference_replay(lead, rules), lead
            owners.add(got[3])
    assert {"owner:carla.ae", "owner:dan.ae"} <= owners  # the named-account rule did match


def test_raising_the_mql_threshold_counts_lost_mqls_and_won_deals(ws: Workspace) -> None:
    live = RuleSet.compile(ws.scoring, ws.routing, ws.lifecycle)
    cand = RuleSet.compile(
        ws.scoring.model_copy(update={"mql_threshold": 70}), ws.routing, ws.lifecycle
    )

    def person(lead_id: str, title: str, acts: list[str]) -> HistoryLead:
        lead = Lead(email="x@y.example", email_original="x@y.example", title=title)
        times = [(a, T0 + timedelta(seconds=k)) for k, a in enumerate(acts)]
        return HistoryLead(lead_id, lead.view(), False, times, T0)

    people = [
        # executive (+25) + demo_request (+40) = 65: MQL at 60, not at 70
        person("a", "VP Sales", ["demo_request"]),
        # 25 + 40 + 8 = 73 (content_download): MQL under both
        person("b", "VP Sales", ["demo_request", "content_download"]),
        # manager (+8) + 40 = 48: MQL under neither
        person("c", "Sales Manager", ["demo_request"]),
    ]
    outcomes = {"a": Outcome(True, Decimal("1200.50")), "b": Outcome(True, Decimal("99"))}
    tally = replay_all(people, live, cand, since=None, outcomes=outcomes)
    report = summarize(tally, bins=[0, 50, 100], outcomes=outcomes)
    assert report["mql"] == {
        "live": 2,
        "candidate": 1,
        "lost": 1,
        "gained": 0,
        "examples_lost": ["a"],
        "examples_gained": [],
    }
    o = report["outcomes"]
    assert (o["won"], o["won_revenue"]) == (2, "1299.50")
    assert (o["won_losing_mql"], o["won_losing_mql_revenue"]) == (1, "1200.50")
    assert o["examples_won_losing_mql"] == ["a"]
    # the lost MQL also leaves the sales queue for nurture (rule `not-yet-mql`)
    assert report["routing"]["matrix"]["commercial"] == {"commercial": 1, "nurture": 1}
    assert report["routing"]["moved"] == 1
    assert report["scores"]["changed"] == 0  # the threshold moves stages, not scores
    assert report["scores"]["live"]["buckets"] == {"< 0": 0, "0–50": 1, "50–100": 2, "≥ 100": 0}


def test_engagement_decay_is_the_half_life_formula(ws: Workspace) -> None:
    """40 points 30 days old with a 30-day half-life count 20 (p · 0.5^(a/h))."""
    rules = RuleSet.compile(ws.scoring, ws.routing, ws.lifecycle)
    lead = Lead(email="x@y.example", email_original="x@y.example")
    acts = [("demo_request", T0), ("unknown_thing", T0 + timedelta(days=30))]
    total, stage, mql_at, _ = Replayer(rules).replay(HistoryLead("d", lead.view(), False, acts, T0))
    assert total == 20.0 and stage == "Known" and mql_at is None


def test_period_counts_only_mqls_reached_inside_it(ws: Workspace) -> None:
    rules = RuleSet.compile(ws.scoring, ws.routing, ws.lifecycle)
    lead = Lead(email="x@y.example", email_original="x@y.example", title="Chief Executive")
    early = HistoryLead(
        "e", lead.view(), False, [("demo_request", T0), ("webinar", T0 + timedelta(days=100))], T0
    )
    tally = replay_all([early], rules, rules, since=T0 + timedelta(days=50))
    assert tally.mql_live == 0  # became MQL on day 0, before the period
    tally = replay_all([early], rules, rules, since=None)
    assert tally.mql_live == 1


def test_suppressed_leads_are_never_routed(ws: Workspace) -> None:
    rules = RuleSet.compile(ws.scoring, ws.routing, ws.lifecycle)
    lead = Lead(email="x@y.example", email_original="x@y.example", title="VP")
    out = Replayer(rules).replay(HistoryLead("s", lead.view(), True, [("demo_request", T0)], T0))
    assert out[3] == SUPPRESSED


def test_score_distribution_matches_the_statistics_module() -> None:
    from marketops.governance.backtest import Tally

    scores = [float(x) for x in range(0, 101)]
    tally = Tally(None, leads=len(scores), scores_live=scores, scores_candidate=scores)
    dist = summarize(tally, bins=[50])["scores"]["live"]
    assert dist["p50"] == statistics.median(scores) == 50
    assert dist["p90"] == 90 and dist["mean"] == 50
    assert dist["buckets"] == {"< 50": 50, "≥ 50": 51}

"""A simulated marketing world whose causal channel effects are known, to score attribution models.

Each person is exposed to each channel independently (its `reach`); exposure to channel c adds
`lift` to the person's conversion probability (an additive, non-interacting model), so the
incremental conversions caused by c are exactly lift_c × (people exposed to c) in expectation, and
its true share is that over the sum across channels. Touch times follow a per-channel Beta
distribution over the journey (`stage`: early channels such as display come first, late ones such
as direct come last), which is what biases position-based rules. Vectorised numpy throughout, so
millions of touches take seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class ChannelSpec:
    name: str
    reach: float  # probability that a person is exposed at all
    lift: float  # added conversion probability when exposed
    touches: float = 1.5  # mean touches per exposed person (>= 1)
    stage: tuple[float, float] = (2.0, 2.0)  # Beta(a, b) position in the journey, 0 = start
    cost_per_touch: float = 1.0


DEFAULT_CHANNELS: tuple[ChannelSpec, ...] = (
    ChannelSpec("display", 0.45, 0.010, 2.0, (1.2, 4.0), 0.20),
    ChannelSpec("social", 0.35, 0.020, 1.6, (1.5, 3.0), 0.60),
    ChannelSpec("paid_search", 0.30, 0.060, 1.4, (2.5, 2.0), 2.50),
    ChannelSpec("organic_search", 0.30, 0.030, 1.3, (2.0, 2.0), 0.00),
    ChannelSpec("email", 0.25, 0.050, 2.2, (3.0, 2.0), 0.05),
    ChannelSpec("webinar", 0.06, 0.120, 1.0, (2.5, 2.5), 15.0),
    ChannelSpec("referral", 0.08, 0.080, 1.0, (2.0, 3.0), 0.00),
    ChannelSpec("affiliate", 0.10, 0.015, 1.2, (3.0, 1.5), 1.50),
    ChannelSpec("direct", 0.40, 0.005, 1.8, (5.0, 1.2), 0.00),
)


@dataclass(frozen=True)
class World:
    touchpoints: pa.Table
    conversions: pa.Table
    costs: pa.Table
    true_share: dict[str, float]  # causal share of incremental conversions per channel
    people: int


def simulate(
    people: int = 10_000,
    *,
    channels: tuple[ChannelSpec, ...] = DEFAULT_CHANNELS,
    campaigns_per_channel: int = 5,
    start: datetime = datetime(2024, 1, 1, tzinfo=UTC),
    days: float = 60.0,
    base_rate: float = 0.0,
    seed: int = 0,
) -> World:
    """Touchpoints, conversions (lead_created, opportunity, closed_won) and costs of a world."""
    rng = np.random.default_rng(seed)
    n_ch = len(channels)
    reach = np.array([c.reach for c in channels])
    lift = np.array([c.lift for c in channels])
    exposed = rng.random((people, n_ch)) < reach
    extra = rng.poisson(np.array([max(c.touches - 1.0, 0.0) for c in channels]), (people, n_ch))
    counts = np.where(exposed, 1 + extra, 0)
    person = np.repeat(np.repeat(np.arange(people), n_ch), counts.ravel())
    channel = np.repeat(np.tile(np.arange(n_ch), people), counts.ravel())
    a = np.array([c.stage[0] for c in channels])[channel]
    b = np.array([c.stage[1] for c in channels])[channel]
    offset = rng.beta(a, b) * days * 86400.0
    t0 = start.timestamp()
    ts_s = t0 + offset
    campaign = rng.integers(0, campaigns_per_channel, len(person))

    p_conv = np.clip(base_rate + exposed.astype(float) @ lift, 0.0, 1.0)
    converts = rng.random(people) < p_conv
    last = np.full(people, np.nan)
    first = np.full(people, np.nan)
    np.fmax.at(last, person, ts_s)
    np.fmin.at(first, person, ts_s)
    untouched = np.isnan(last)
    first = np.where(untouched, t0, first)
    last = np.where(untouched, t0 + rng.random(people) * days * 86400.0, last)
    won_ts = last + rng.exponential(86400.0, people)
    span = last - first
    lead_ts = first + 0.3 * span + 60.0
    opp_ts = first + 0.7 * span + 60.0
    who = np.flatnonzero(converts)
    amount_cents = rng.integers(50_000, 500_000, len(who))

    names = np.array([c.name for c in channels])
    ch_names = names[channel]
    camp = pa.array(
        np.char.add(np.char.add(ch_names.astype(str), "-"), np.char.zfill(campaign.astype(str), 3))
    )
    medium = {
        "display": "cpm",
        "social": "social",
        "paid_search": "cpc",
        "email": "email",
        "affiliate": "affiliate",
        "referral": "referral",
        "webinar": "event",
    }
    touch_type = {
        "email": "email_click",
        "display": "ad_click",
        "paid_search": "ad_click",
        "social": "ad_click",
        "webinar": "form_fill",
    }
    med_arr = np.array([medium.get(str(n)) for n in names], dtype=object)[channel]
    tt_arr = np.array([touch_type.get(str(n), "visit") for n in names], dtype=object)[channel]
    pid = pc.binary_join_element_wise("p", pa.array(person.astype(str)), "")
    order = np.lexsort((ts_s, person))
    touchpoints = pa.table(
        {
            "person_id": pid,
            "ts": _ts(ts_s),
            "channel": pa.array(ch_names.astype(str)),
            "source": pa.array(ch_names.astype(str)),
            "medium": pa.array(med_arr, type=pa.string()),
            "campaign": camp,
            "content": pa.nulls(len(person), pa.string()),
            "touch_type": pa.array(tt_arr, type=pa.string()),
        }
    ).take(pa.array(order))

    k = len(who)
    cents = np.concatenate([np.full(k, -1, dtype=np.int64), amount_cents, amount_cents])
    conversions = pa.table(
        {
            "conversion_id": pa.array(
                [f"{kind}{i}" for kind in ("l", "o", "w") for i in who.tolist()], type=pa.string()
            ),
            "person_id": pa.array([f"p{i}" for i in who.tolist()] * 3, type=pa.string()),
            "ts": _ts(np.concatenate([lead_ts[who], opp_ts[who], won_ts[who]])),
            "kind": pa.array(
                ["lead_created"] * k + ["opportunity"] * k + ["closed_won"] * k, type=pa.string()
            ),
            "amount": _money(cents),
            "won": pa.array([None] * (2 * k) + [True] * k, type=pa.bool_()),
        }
    )

    day = (offset // 86400).astype(np.int64)
    n_days = int(day.max()) + 1 if len(day) else 1
    cell = (channel * campaigns_per_channel + campaign) * n_days + day
    cost = np.array([c.cost_per_touch for c in channels])
    cells, inverse = np.unique(cell, return_inverse=True)
    spend = np.bincount(inverse, weights=cost[channel])
    ch_of, rest = np.divmod(cells // n_days, campaigns_per_channel)
    costs = pa.table(
        {
            "campaign": pa.array(
                [f"{names[c]}-{m:03d}" for c, m in zip(ch_of, rest, strict=True)], type=pa.string()
            ),
            "channel": pa.array(names[ch_of].astype(str), type=pa.string()),
            "day": pa.array(
                [(start + timedelta(days=int(d))).date() for d in cells % n_days], type=pa.date32()
            ),
            "spend": _money(np.round(spend * 100).astype(np.int64)),
        }
    )
    incremental = lift * exposed.sum(axis=0)
    true_share = {
        str(n): float(v / incremental.sum()) for n, v in zip(names, incremental, strict=True)
    }
    return World(touchpoints, conversions, costs, true_share, people)


def _ts(seconds: np.ndarray) -> pa.Array:
    micros = np.round(seconds * 1e6).astype(np.int64)
    return pa.array(micros, type=pa.timestamp("us", tz="UTC"))


def _money(cents: np.ndarray) -> pa.Array:
    """Integer cents (negative: missing) to decimal(18, 2) without passing through float."""
    text = [None if c < 0 else f"{c // 100}.{c % 100:02d}" for c in cents.tolist()]
    return pa.array(text, type=pa.string()).cast(pa.decimal128(18, 2))

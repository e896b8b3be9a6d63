"""Rows a worker stages are the rows the store's encoders (`RowEncoder`) would write.

The staging path builds its SQLite rows directly (one tuple per row, JSON through orjson's
option-free fast path); the tuple path (PostgreSQL) encodes through `RowEncoder`. Both run here on
the same chunk and must agree value for value, type for type.
"""

import decimal
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from marketops.pipeline.runner import CompiledConfig
from marketops.pipeline.suppress import SuppressionIndex
from marketops.sample import COLUMNS, generate
from marketops.services.batch_worker import (
    ACTIVITY_INSERT,
    EVENT_INSERT,
    LEAD_HEAD,
    Encoders,
    Rejected,
    Setup,
    speculate,
)
from marketops.store.bulk import RowEncoder
from marketops.store.schema import lead_events
from marketops.workspace import Workspace

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


def _setup(workspace_dir: Path, stage_dir: str | None) -> Setup:
    cfg = CompiledConfig.from_workspace(Workspace.load(workspace_dir))
    suppression = SuppressionIndex.from_entries(
        [("all", "domain", "initech.example"), ("email", "email", "mary.smith5@gmail.com")]
    )
    return Setup(cfg, suppression, [], None, "sqlite", "leads.csv", "ab12", COLUMNS, stage_dir)


def test_staged_rows_are_what_the_encoders_write(workspace_dir: Path, tmp_path: Path) -> None:
    rows = list(generate(3000, seed=11, now=NOW))
    rows[5]["employees"] = "1,200"
    rows[6]["message"] = 'é \u2028 "quoted" \\ newline\n'
    chunk = [(n, [str(r.get(c) or "") for c in COLUMNS]) for n, r in enumerate(rows, 2)]
    staged = speculate(_setup(workspace_dir, str(tmp_path)), chunk, NOW)
    plain = speculate(_setup(workspace_dir, None), chunk, NOW)
    assert staged[0] == plain[0] and staged[3] == plain[3]

    ids: dict[str, int] = {}  # lead ids are random: each path's ids by record position
    want_leads, want_acts, want_events = [], [], []
    for i, item in enumerate(plain[1]):
        if isinstance(item, Rejected) or len(item) == 1:
            continue
        ids[item[1]] = i
        head, act, events = item[4], item[5], item[6]
        want_leads.append((i, *head))
        want_acts.append((i, *act))
        want_events += [(i, k, *e) for k, e in enumerate(events)]
    assert len(want_leads) > 2500 and len(want_events) > 3 * 2500

    got_ids = {item[1]: i for i, item in enumerate(staged[1]) if not isinstance(item, Rejected)}
    path = staged[2]
    assert path is not None
    with sqlite3.connect(path) as conn:

        def read(table: str, cols: tuple[str, ...], order: str) -> list[tuple]:
            return conn.execute(
                f"SELECT {', '.join(cols)} FROM {table} ORDER BY {order}"
            ).fetchall()

        got_leads = read("leads", ("i", *LEAD_HEAD), "i")
        got_acts = read("activities", ("i", *ACTIVITY_INSERT), "i")
        got_events = read("events", ("i", "k", *EVENT_INSERT), "i, k")

    def same_ids(rows: list[tuple], at: int, by: dict[str, int]) -> list[tuple]:
        return [(*r[:at], by[r[at]], *r[at + 1 :]) for r in rows]

    at_id = 1 + LEAD_HEAD.index("id")
    assert same_ids(got_leads, at_id, got_ids) == same_ids(want_leads, at_id, ids)
    assert same_ids(got_acts, 1, got_ids) == same_ids(want_acts, 1, ids)
    assert same_ids(got_events, 2, got_ids) == same_ids(want_events, 2, ids)
    for got, want in zip(got_leads, want_leads, strict=True):  # 1 and 1.0, True and 1 differ
        assert [type(v) for v in got] == [type(v) for v in want]


def test_json_text_is_the_stores_for_every_value() -> None:
    encoders = Encoders("sqlite")
    store = RowEncoder(lead_events, ("data",), "sqlite")
    values = [
        {"free_mail": False, "suppressed_channels": ["email"], "enriched_by": {"local": ["x"]}},
        {"from": None, "to": 30.08, "fit": 5.0, "reasons": [{"points": -2.5e-7}]},
        {1: "non-text key"},  # the store's options turn it into "1"
        {"set": {3}, "decimal": decimal.Decimal("1.50"), "when": NOW},  # default=str
        {"nan": float("nan"), "tuple": (1, 2), "text": 'é\u2028"\\'},
        [],
        {},
    ]
    assert [encoders.json(v) for v in values] == [store((v,))[0] for v in values]


def test_batch_lead_ids_ascend_in_record_order_with_new_lead_ids_layout(
    workspace_dir: Path, tmp_path: Path
) -> None:
    import time

    from marketops.services.capture import new_lead_id, new_lead_ids

    ids = new_lead_ids(5000)
    assert len(set(ids)) == 5000 and ids == sorted(ids)
    one = new_lead_id()
    assert {len(i) for i in ids} == {len(one)} and all(int(i, 16) >= 0 for i in ids)
    ms = time.time_ns() // 1_000_000
    assert abs(int(ids[0][:12], 16) - ms) < 60_000 and len({i[:12] for i in ids}) == 1
    rows = list(generate(500, seed=12, now=NOW))
    chunk = [(n, [str(r.get(c) or "") for c in COLUMNS]) for n, r in enumerate(rows, 2)]
    _, out, _, _ = speculate(_setup(workspace_dir, str(tmp_path)), chunk, NOW)
    lead_ids = [item[1] for item in out if not isinstance(item, Rejected) and len(item) > 1]
    assert len(lead_ids) > 400 and lead_ids == sorted(lead_ids)


def test_speculate_leaves_the_collector_as_it_found_it(workspace_dir: Path) -> None:
    import gc

    rows = list(generate(50, seed=13, now=NOW))
    chunk = [(n, [str(r.get(c) or "") for c in COLUMNS]) for n, r in enumerate(rows, 2)]
    setup = _setup(workspace_dir, None)
    was = gc.isenabled()
    try:
        for state in (True, False):
            (gc.enable if state else gc.disable)()
            assert len(speculate(setup, chunk, NOW)[1]) == 50
            assert gc.isenabled() is state
    finally:
        (gc.enable if was else gc.disable)()


def test_equal_routing_answers_travel_as_one_object_and_are_routes_own(
    workspace_dir: Path, tmp_path: Path
) -> None:
    import pickle

    from marketops.pipeline.enrich import enrich
    from marketops.pipeline.normalize import normalize
    from marketops.pipeline.route import route
    from marketops.pipeline.runner import judge
    from marketops.pipeline.validate import validate
    from marketops.services.batch_worker import Deferred, as_speculated

    rows = list(generate(2000, seed=14, now=NOW))
    chunk = [(n, [str(r.get(c) or "") for c in COLUMNS]) for n, r in enumerate(rows, 2)]
    setup = _setup(workspace_dir, str(tmp_path))
    _, out, _, _ = speculate(setup, chunk, NOW)
    specs = [
        (i, as_speculated(x)) for i, x in enumerate(out) if not isinstance(x, Rejected | Deferred)
    ]
    assert len(specs) > 1500
    for i, s in specs:  # each answer is the one `route` gives this record's view
        raw = setup.record(chunk[i][1])
        issues = validate(raw, setup.cfg.contract)
        lead = normalize(raw, issues, NOW)
        j = judge(enrich(lead, {}), None, setup.cfg, setup.suppression, NOW, lambda s=s: s.lead_id)
        why: list[str] = []
        a = None if j.blocked else route(j.view, setup.cfg.routing, setup.accounts, why)
        want = None if a is None else (a.queue, a.owner, a.rule, a.evaluated)
        assert (s.matched, s.reasons) == (want, why)
    answers = {(repr(s.matched), repr(s.reasons)) for _, s in specs}
    shared = {(id(s.matched), id(s.reasons)) for _, s in specs}
    assert 1 < len(answers) == len(shared)  # one object per distinct answer
    back = [as_speculated(x) for x in pickle.loads(pickle.dumps(out)) if type(x) is tuple]
    assert [tuple(s) for s in back] == [tuple(s) for _, s in specs]


def test_write_stage_keeps_every_row_in_order_across_multirow_statements(tmp_path: Path) -> None:
    from marketops.services.batch_stage import STAGE_ROWS_PER_INSERT, StageRows, write_stage

    per = STAGE_ROWS_PER_INSERT
    for n in (0, 1, per - 1, per, per + 1, 2 * per + 37):
        leads = [(i, f"l{i}", i * 0.5, None) for i in range(n)]
        acts = [(i, f"a{i}", b"\x00x") for i in range(n)]
        events = [(i // 3, i % 3, f"e{i}", i) for i in range(3 * n)]
        path = str(tmp_path / f"s{n}.db")
        write_stage(path, ("a", "b", "c"), leads, ("a", "b"), acts, ("a", "b"), events)
        check(path, leads, acts, events)
        tables = (StageRows(4), StageRows(3), StageRows(4))  # added and settled as speculate does
        for i in range(n):
            if not i % 7:
                for t in tables:
                    t.settle()
            tables[0].rows.append(leads[i])
            tables[1].rows.append(acts[i])
            tables[2].rows.extend(events[3 * i : 3 * i + 3])
        path = str(tmp_path / f"t{n}.db")
        write_stage(path, ("a", "b", "c"), tables[0], ("a", "b"), tables[1], ("a", "b"), tables[2])
        check(path, leads, acts, events)


def check(path: str, leads: list, acts: list, events: list) -> None:
    """The stage file at `path` holds exactly these rows, in this order, of these types."""
    with sqlite3.connect(path) as conn:
        for table, want in (("leads", leads), ("activities", acts), ("events", events)):
            got = conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
            assert got == want
            assert [type(v) for r in got for v in r] == [type(v) for r in want for v in r]


def test_a_lead_pickles_to_an_equal_lead() -> None:
    import copy
    import pickle

    from marketops.pipeline.records import Lead

    lead = Lead(
        "a@x.org",
        " A@x.org",
        "Ann",
        None,
        "CTO",
        "Acme",
        "acme",
        "x.org",
        "+1 415",
        "+1415",
        "US",
        "NA",
        "Tech",
        50,
        "web",
        "hi",
        "demo_request",
        NOW,
        {"email": True},
        {"free_mail": False},
        [{"field": "phone"}],
        {"plan": "pro"},
    )
    for back in (pickle.loads(pickle.dumps(lead)), copy.deepcopy(lead), copy.copy(lead)):
        assert back == lead and type(back) is Lead
    assert copy.copy(lead).consent is lead.consent  # shallow stays shallow
    assert copy.deepcopy(lead).consent is not lead.consent

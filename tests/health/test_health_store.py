"""Health of the store on SQLite and PostgreSQL: runs are stored (the trend), breaches alert once
per run and dimension through the outbox, and consistency rules come from the contract."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from health_helpers import NOW, edit_contract, write_csv, write_health_yml
from sqlalchemy import func, select

from marketops.analytics.health.service import get_run, run_health, run_history
from marketops.errors import NotFound, WorkspaceError
from marketops.services.context import AppContext
from marketops.services.ingest import ingest_file
from marketops.store.tables_health import health_runs, health_scores
from marketops.store.tables_notify import outbox
from marketops.workspace import Workspace

RULES = {
    "property": "consistencyRules",
    "value": [
        {"name": "phone_matches_country", "check": "phone_country"},
        {
            "name": "web_leads_have_a_country",
            "when": [{"field": "source", "equals": "web"}],
            "then": [{"field": "country", "exists": True}],
        },
        {
            "name": "created_first",
            "compare": {"left": "created_at", "op": "<=", "right": "updated_at"},
        },
        {"name": "needs_a_column_we_lack", "then": [{"field": "closed_at", "exists": True}]},
    ],
}


@pytest.fixture
def hctx(workspace_dir: Path, backend_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    edit_contract(workspace_dir, [RULES, {"property": "threshold.uniqueness", "value": 0.999}])
    write_health_yml(
        workspace_dir,
        "alerts:\n"
        "  - {channel: webhook, destination: 'http://127.0.0.1:9/hooks/health'}\n"
        "  - {channel: email, destination: mops@example.com}\n"
        "max_age_days: 30\n",
    )
    monkeypatch.setenv("MARKETOPS_DATABASE_URL", backend_url)
    ctx = AppContext.open(Workspace.load(workspace_dir))
    path = tmp_path / "leads.csv"
    path.write_text(
        "email,first_name,phone,country,source,activity\n"
        "ann@acme.example,Ann,+1 415 555 0100,US,web,form_fill\n"
        "bo@beta.example,Bo,+44 20 7946 0958,US,web,form_fill\n"  # phone from the UK
        "cy@gamma.example,Cy,,,web,form_fill\n"  # a web lead without country
        "di@delta.example,Di,030 1234567,DE,event,webinar\n"
    )
    ingest_file(ctx, path, now=lambda: NOW - timedelta(days=1))
    yield ctx
    ctx.close()


def test_store_run_is_scored_stored_and_alerts_once_per_dimension(hctx: AppContext) -> None:
    report = run_health(hctx, NOW)
    assert report.rows == 4 and report.engine in ("duckdb", "postgres")
    assert report.field_score("consistency", "phone_matches_country").failed == 1
    assert report.field_score("consistency", "web_leads_have_a_country").score == pytest.approx(
        2 / 3
    )
    assert report.field_score("consistency", "created_first").score == 1.0
    assert any("needs_a_column_we_lack" in n for n in report.notes)
    assert report.dimension("consistency").score == pytest.approx(1 - 2 / 9)  # 2+3+4 checked
    assert report.dimension("timeliness").score == 1.0  # updated a day ago, SLA 2 days
    assert report.dimension("uniqueness").score == 1.0  # email is unique in the store
    # the example contract asks 95 % completeness and 98 % validity; email is always there
    assert report.dimension("completeness").score == 1.0
    assert not report.dimension("uniqueness").breached

    with hctx.engine.connect() as conn:
        stored = conn.execute(select(health_runs)).one()
        n_scores = conn.execute(select(func.count()).select_from(health_scores)).scalar()
        alerts = conn.execute(select(outbox).order_by(outbox.c.id)).all()
    assert stored.id == report.run_id and stored.rows == 4
    assert n_scores == 5 + len(report.fields)
    breached = [d.dimension for d in report.breaches]
    assert len(alerts) == 2 * len(breached) == report.alerts
    assert {a.idempotency_key for a in alerts} == {
        f"health:{report.run_id}:{d}:{c}:{dest}"
        for d in breached
        for c, dest in (
            ("webhook", "http://127.0.0.1:9/hooks/health"),
            ("email", "mops@example.com"),
        )
    }
    body = json.dumps([a.payload for a in alerts])
    assert "@acme.example" not in body and "+44" not in body  # scores and names, never values


def test_history_is_the_trend_newest_first(hctx: AppContext) -> None:
    first = run_health(hctx, NOW)
    second = run_health(hctx, NOW + timedelta(days=10))
    runs = run_history(hctx)
    assert [r["run_id"] for r in runs] == [second.run_id, first.run_id]
    # ten days later the newest record is 11 days old: 2 / 11 of the freshness SLA
    assert runs[0]["scores"]["timeliness"] == pytest.approx(2 / 11, abs=1e-6)
    assert runs[1]["scores"]["timeliness"] == 1.0
    trend = run_history(hctx, dimension="timeliness", field="updated_at")
    assert [t["score"] for t in trend] == [runs[0]["scores"]["timeliness"], 1.0]
    detail = get_run(hctx, first.run_id)
    assert {f["dimension"] for f in detail["fields"]} >= {"completeness", "validity", "consistency"}
    with pytest.raises(NotFound):
        get_run(hctx, 999_999)


def test_file_is_scored_without_touching_the_leads(hctx: AppContext, tmp_path: Path) -> None:
    report = run_health(hctx, NOW, file=write_csv(tmp_path / "batch.csv"), save=False)
    assert report.source == "batch.csv" and report.rows == 6
    assert report.field_score("validity", "email").score == pytest.approx(0.6)
    assert run_history(hctx) == []


def test_bad_consistency_rules_are_reported_with_their_place(workspace_dir: Path) -> None:
    edit_contract(workspace_dir, [{"property": "consistencyRules", "value": [{"name": "x"}]}])
    from marketops.analytics.health.spec import load_spec

    with pytest.raises(WorkspaceError) as err:
        load_spec(workspace_dir / "contracts" / "lead.odcs.yaml")
    assert "then" in str(err.value) and "lead.odcs.yaml:" in str(err.value)


def test_validate_reports_bad_consistency_rules(workspace_dir: Path) -> None:
    from marketops.workspace import validate_workspace

    assert validate_workspace(workspace_dir) == []
    edit_contract(
        workspace_dir,
        [{"property": "consistencyRules", "value": [{"name": "y", "then": [{"field": "a"}]}]}],
    )
    problems = validate_workspace(workspace_dir)
    assert len(problems) == 1 and "consistencyRules[0.then.0]" in problems[0].message


def test_scheduled_runs_once_per_period_however_many_workers(hctx: AppContext) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from marketops.analytics.health.jobs import scheduled_health
    from marketops.worker.jobs import registered_jobs

    assert "health" in registered_jobs()
    assert scheduled_health(hctx, NOW) == 0  # no schedule_hours: nothing to do
    path = hctx.workspace.root / "health.yml"
    path.write_text(path.read_text() + "schedule_hours: 24\n")
    hctx.workspace._extras.clear()  # the file changed under a long-lived context
    with ThreadPoolExecutor(4) as pool:
        ran = list(pool.map(lambda _: scheduled_health(hctx, NOW + timedelta(hours=1)), range(4)))
    assert sorted(ran) == [0, 0, 0, 1]
    assert scheduled_health(hctx, NOW + timedelta(hours=23)) == 0  # same day
    assert scheduled_health(hctx, NOW + timedelta(hours=25)) == 1  # the next one
    assert len(run_history(hctx)) == 2

"""A breach travels end to end: health run -> outbox -> the real delivery code -> a real webhook
receiver on 127.0.0.1, signed, exactly once per run and dimension."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from health_helpers import NOW, edit_contract, write_csv, write_health_yml

from marketops.analytics.health.service import run_health
from marketops.notify.delivery import deliver_due
from marketops.notify.receiver import Receiver
from marketops.services.context import AppContext
from marketops.workspace import Workspace

SECRET = "health-test-secret"


def test_breach_alert_reaches_a_webhook(workspace_dir: Path, tmp_path: Path, monkeypatch) -> None:
    receiver = Receiver(secret=SECRET)
    url = receiver.start()
    try:
        edit_contract(workspace_dir, [{"property": "threshold.consistency", "value": 0.9}])
        write_health_yml(
            workspace_dir, f"alerts:\n  - {{channel: webhook, destination: '{url}'}}\n"
        )
        monkeypatch.setenv("MARKETOPS_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
        ctx = AppContext.open(Workspace.load(workspace_dir))
        try:
            report = run_health(ctx, NOW, file=write_csv(tmp_path / "batch.csv"))
            breached = sorted(d.dimension for d in report.breaches)
            assert breached == ["completeness", "consistency", "validity"]
            cfg = ctx.workspace.extra("notifications.yml")
            env = {"MARKETOPS_WEBHOOK_SECRET": SECRET}
            for _ in range(2):  # a second tick finds nothing left to send
                # the receiver checks signatures against its clock: deliver at the real time
                deliver_due(ctx.engine, cfg, now=datetime.now(UTC), worker="test", env=env)
        finally:
            ctx.close()
        assert receiver.bad_signatures == 0 and receiver.duplicates == 0
        bodies = list(receiver.accepted.values())
        assert len(bodies) == 3
        text = repr(bodies)
        for dim in breached:
            assert f"health:{report.run_id}:{dim}:webhook:" in repr(receiver.accepted.keys())
            assert dim in text
        assert "ann@acme.example" not in text  # never a value
        consistency = next(b for b in bodies if "consistency" in repr(b))
        assert "phone_matches_country" in repr(consistency)
    finally:
        receiver.stop()


@pytest.mark.parametrize("bad", ["sms", ""])
def test_alert_targets_are_checked(workspace_dir: Path, bad: str) -> None:
    from marketops.analytics.health.config import HEALTH_FILE
    from marketops.errors import WorkspaceError

    write_health_yml(workspace_dir, f"alerts:\n  - {{channel: '{bad}', destination: x}}\n")
    with pytest.raises(WorkspaceError) as err:
        Workspace.load(workspace_dir).extra(HEALTH_FILE)
    assert "health.yml" in str(err.value)

"""Opening a store migrates it once; a store at the scripts' heads opens without Alembic."""

from __future__ import annotations

import subprocess
import sys

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text

from marketops.services.context import AppContext
from marketops.store.db import MIGRATIONS, alembic_config, script_heads
from marketops.workspace import Workspace


def test_script_heads_are_alembics() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert script_heads() == frozenset(ScriptDirectory.from_config(cfg).get_heads())


def test_a_current_store_opens_without_loading_alembic(ctx, backend_url, monkeypatch) -> None:
    with ctx.engine.connect() as conn:  # the fixture's open migrated the new store to the heads
        stored = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    assert stored == script_heads()
    probe = (
        "import sys; from marketops.services.context import AppContext;"
        "from marketops.workspace import Workspace;"
        f"AppContext.open(Workspace.load({str(ctx.workspace.root)!r})).close();"
        "print('alembic' in sys.modules)"
    )
    monkeypatch.setenv("MARKETOPS_DATABASE_URL", backend_url)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr
    # an older store (the newest journeys migration not yet run): opening runs it
    from alembic import command

    command.downgrade(alembic_config(ctx.engine), "0014@-1")
    with ctx.engine.connect() as conn:
        older = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    assert older == (script_heads() - {"0014"}) | {"0012"}
    AppContext.open(Workspace.load(ctx.workspace.root)).close()
    with ctx.engine.connect() as conn:
        again = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    assert again == script_heads()

"""The `marketops` command. Each module in this package adds its commands via `register(app)`.

Commands parse arguments, call a service and render; no business logic lives here.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer

app = typer.Typer(
    name="marketops",
    help="Marketing operations engine: governance as code, the lead pipeline, trusted numbers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register_all() -> None:
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{mod.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_all()


def main() -> None:
    app()

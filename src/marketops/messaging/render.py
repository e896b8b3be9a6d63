"""Render an email template for one person: sandboxed Jinja2, tokens from the lead, a footer.

Pure apart from reading the workspace's YAML (cached by modification time): no store, no clock.
Used by `send_email`, by `marketops email preview` and by the journey simulator.
"""

from __future__ import annotations

import html as htmllib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import ChainableUndefined, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from marketops.errors import MarketopsError, Problem
from marketops.messaging import MESSAGING_FILE
from marketops.messaging.config import MessagingFile
from marketops.messaging.templates import EmailTemplate, load_template, template_path
from marketops.workspace.yamlfile import load_model

# lead columns that are not personalization tokens
_HIDDEN = frozenset({"attributes", "consent", "flags", "warnings", "suppressed"})


class MissingToken(ChainableUndefined):
    """Undefined that may be tested, defaulted and chained, but never printed as a blank."""

    __slots__ = ()

    def __str__(self) -> str:
        return self._fail_with_undefined_error()

    __html__ = __str__


@cache
def environment(*, html: bool) -> SandboxedEnvironment:
    """The sandbox: templates cannot reach Python internals, files or the network."""
    return SandboxedEnvironment(
        autoescape=html,
        undefined=MissingToken,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str | None
    from_name: str
    topic: str
    category: str


class RenderError(MarketopsError):
    """A token had no value and no fallback (a `params` value the caller did not pass, say)."""


_LOCK = threading.Lock()
_CACHE: dict[tuple[str, str], tuple[tuple[int, int], Any]] = {}


def _stamp(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except FileNotFoundError:
        return (0, -1)
    return (st.st_mtime_ns, st.st_size)


def _cached(kind: str, path: Path, build: Any) -> Any:
    stamp = _stamp(path)
    key = (kind, str(path))
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    value = build()
    with _LOCK:
        _CACHE[key] = (stamp, value)
    return value


def messaging_config(root: Path) -> MessagingFile:
    """`messaging.yml` (required for sending), re-read when the file changes."""
    path = Path(root) / MESSAGING_FILE
    return _cached("messaging", path, lambda: load_model(path, MessagingFile))


@dataclass(frozen=True)
class Compiled:
    model: EmailTemplate
    subject: Any
    text: Any
    html: Any


def compiled(root: Path, name: str) -> Compiled:
    path = template_path(root, name)

    def build() -> Compiled:
        model = load_template(root, name)
        return Compiled(
            model,
            environment(html=False).from_string(model.subject),
            environment(html=False).from_string(model.text),
            environment(html=True).from_string(model.html) if model.html else None,
        )

    return _cached("template", path, build)


def tokens_of(lead: Mapping[str, Any], params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Template variables: the lead's columns and attributes (empty values left undefined so
    fallbacks apply), and `params` from the caller."""
    out: dict[str, Any] = {}
    attrs = lead.get("attributes") or {}
    for source in (attrs, lead):
        for key, value in source.items():
            if key in _HIDDEN or value is None or value == "" or not isinstance(key, str):
                continue
            out[key] = value
    if "id" in lead:
        out["lead_id"] = lead["id"]
    out["params"] = dict(params or {})
    return out


def render(
    template_name: str,
    lead: Mapping[str, Any],
    params: Mapping[str, Any] | None,
    ws: Any,
    *,
    unsubscribe_url: str | None = None,
) -> RenderedEmail:
    """Subject, text and HTML for `lead` (a leads row as a mapping, attributes included).

    `ws` is the Workspace (or anything with `.root`). Without `unsubscribe_url` (previews) a
    placeholder link is shown. Raises RenderError naming the token that had no value.
    """
    root = Path(ws.root)
    return render_compiled(
        compiled(root, template_name),
        messaging_config(root),
        lead,
        params,
        unsubscribe_url=unsubscribe_url,
        where=(root, template_name),
    )


def render_compiled(
    tpl: Compiled,
    cfg: MessagingFile,
    lead: Mapping[str, Any],
    params: Mapping[str, Any] | None,
    *,
    unsubscribe_url: str | None,
    where: tuple[Path, str],
) -> RenderedEmail:
    """`render` with the template and config already in hand (a batch looks them up once);
    `where` is (workspace root, template name) for the error message."""
    from_name = tpl.model.from_name or cfg.sender.name
    url = unsubscribe_url or f"{cfg.unsubscribe.base_url}/u/preview"
    values = tokens_of(lead, params) | {
        "unsubscribe_url": url,
        "postal_address": cfg.footer.postal_address,
        "sender_name": from_name,
    }
    root, template_name = where
    try:
        subject = " ".join(tpl.subject.render(values).split())
        text = tpl.text.render(values)
        html = tpl.html.render(values) if tpl.html is not None else None
    except UndefinedError as exc:
        raise RenderError(
            f"template {template_name!r}: a token has no value",
            [Problem(str(template_path(root, template_name)), str(exc), _HINT)],
        ) from exc
    except (TypeError, ValueError, ArithmeticError) as exc:  # params of the wrong shape
        raise RenderError(
            f"template {template_name!r} failed to render",
            [Problem(str(template_path(root, template_name)), f"{type(exc).__name__}: {exc}")],
        ) from exc
    if tpl.model.footer:
        text, html = with_footer(text, html, cfg, url)
    return RenderedEmail(subject, text, html, from_name, tpl.model.topic, tpl.model.category)


_HINT = 'pass it in params, or add a fallback: {{ params.x | default("…") }}'


def with_footer(
    text: str, html: str | None, cfg: MessagingFile, url: str
) -> tuple[str, str | None]:
    """Append the footer text, postal address and unsubscribe link (CAN-SPAM) to both bodies."""
    foot = cfg.footer
    text = f"{text.rstrip()}\n\n-- \n{foot.text}\n{foot.postal_address}\nUnsubscribe: {url}\n"
    if html is None:
        return text, None
    esc = htmllib.escape
    block = (
        '<div style="margin-top:24px;font-size:12px;color:#666">'
        f"<p>{esc(foot.text)}<br>{esc(foot.postal_address)}</p>"
        f'<p><a href="{esc(url, quote=True)}">Unsubscribe</a></p></div>'
    )
    at = html.lower().rfind("</body>")
    html = html[:at] + block + html[at:] if at >= 0 else html + block
    return text, html

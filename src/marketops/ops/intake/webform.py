"""The request web form: plain server-rendered, accessible HTML with no external assets.

Step 1 (GET /requests/new) picks a request type; step 2 (GET /requests/new?type=KEY) shows that
type's inputs; POST /requests/new files the request. Every field has a <label>; errors are listed
in a summary (role="alert") linking to each field and repeated beside it (aria-describedby).

CSRF: a double-submit token. The server signs a random nonce with HMAC-SHA256; the token goes
both in a SameSite=Strict, HttpOnly cookie and in a hidden field, and a POST is accepted only when
both match and the signature holds. The key comes from $MARKETOPS_CSRF_SECRET (set it when several
server processes serve the form), else from a random per-process key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
from html import escape
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from marketops.errors import MarketopsError, Problem

COOKIE = "marketops_csrf"
FIELD = "csrf_token"
_PROCESS_KEY = secrets.token_bytes(32)

_CSS = """
body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}
label{display:block;font-weight:600;margin-top:1rem}
input,select,textarea{font:inherit;width:100%;box-sizing:border-box;padding:.4rem;border:1px solid #555;border-radius:4px}
input[type=radio]{width:auto;margin-right:.5rem}
fieldset{border:1px solid #999;border-radius:4px;margin-top:1.5rem}
.hint{color:#444;font-size:.9rem;margin:.2rem 0 0}
.error{color:#b00020;font-weight:600}
.summary{border:2px solid #b00020;padding:.5rem 1rem;margin:1rem 0}
button{font:inherit;margin-top:1.5rem;padding:.5rem 1.5rem;background:#0b57d0;color:#fff;border:0;border-radius:4px}
button:focus,input:focus,select:focus,textarea:focus,a:focus{outline:3px solid #f9a825;outline-offset:2px}
"""


def _key() -> bytes:
    secret = os.environ.get("MARKETOPS_CSRF_SECRET")
    return secret.encode() if secret else _PROCESS_KEY


def new_token() -> str:
    nonce = secrets.token_urlsafe(24)
    sig = hmac.new(_key(), nonce.encode(), hashlib.sha256).hexdigest()
    return f"{nonce}.{sig}"


def token_valid(cookie: str | None, field: str | None) -> bool:
    if not cookie or not field or not hmac.compare_digest(cookie, field):
        return False
    nonce, _, sig = field.partition(".")
    good = hmac.new(_key(), nonce.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(sig, good)


def _page(title: str, body: str, status: int = 200, token: str | None = None) -> HTMLResponse:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · marketops</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
    response = HTMLResponse(html, status_code=status)
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    if token:
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/requests")
    return response


def _catalog(ctx: Any) -> Any:
    from marketops.ops.intake.setup import intake_setup

    return intake_setup(ctx.workspace).catalog


def _disabled() -> HTMLResponse:
    return _page("Requests", "<h1>Requests</h1><p>The request form is turned off.</p>", 404)


def render_form_page(
    ctx: Any,
    request: Request,
    *,
    type_key: str | None,
    values: dict[str, str] | None = None,
    problems: list[Problem] | None = None,
    status: int = 200,
) -> HTMLResponse:
    catalog = _catalog(ctx)
    if not catalog.web_form:
        return _disabled()
    types = {t.key: t for t in catalog.request_types}
    if type_key not in types:
        items = "".join(
            f'<div><input type="radio" name="type" id="type-{escape(t.key)}" value="{escape(t.key)}"'
            f'{" checked" if i == 0 else ""}><label for="type-{escape(t.key)}" style="display:inline">'
            f"{escape(t.name)}</label>"
            f'<p class="hint">{escape(t.description or t.class_ + " request")}</p></div>'
            for i, t in enumerate(catalog.request_types)
        )
        body = (
            "<h1>New request</h1>"
            '<form method="get" action="/requests/new"><fieldset><legend>What do you need?</legend>'
            f"{items or '<p>No request types are declared yet.</p>'}</fieldset>"
            '<button type="submit">Continue</button></form>'
        )
        return _page("New request", body)
    rtype = types[type_key]
    values = values or {}
    errors: dict[str, str] = {}
    for p in problems or []:
        errors.setdefault(p.where, p.message)
    token = new_token()

    def field_id(name: str) -> str:
        return "f-" + name.replace(".", "-")

    def err(name: str) -> str:
        if name not in errors:
            return ""
        return f'<p class="error" id="{field_id(name)}-error">{escape(errors[name])}</p>'

    def described(name: str, hint: bool) -> str:
        ids = [f"{field_id(name)}-hint"] if hint else []
        if name in errors:
            ids.append(f"{field_id(name)}-error")
        invalid = ' aria-invalid="true"' if name in errors else ""
        return (f' aria-describedby="{" ".join(ids)}"' if ids else "") + invalid

    def text_field(
        name: str,
        label: str,
        *,
        required: bool,
        kind: str = "text",
        hint: str = "",
        choices: list[str] | None = None,
    ) -> str:
        fid, value = field_id(name), escape(values.get(name, ""))
        req = " required" if required else ""
        star = " (required)" if required else ""
        hint_html = f'<p class="hint" id="{fid}-hint">{escape(hint)}</p>' if hint else ""
        attrs = f'id="{fid}" name="{escape(name)}"{req}{described(name, bool(hint))}'
        if choices is not None:
            opts = '<option value="">Choose…</option>' + "".join(
                f"<option{' selected' if values.get(name) == c else ''}>{escape(c)}</option>"
                for c in choices
            )
            control = f"<select {attrs}>{opts}</select>"
        elif kind == "long_text":
            control = f'<textarea {attrs} rows="4">{value}</textarea>'
        else:
            html_type = {"date": "date", "url": "url", "number": "number"}.get(kind, "text")
            control = f'<input type="{html_type}" {attrs} value="{value}">'
        return f'<label for="{fid}">{escape(label)}{star}</label>{hint_html}{err(name)}{control}'

    parts = [
        text_field("title", "Title", required=True, hint="What you need, in a few words"),
        text_field("requester", "Your email or name", required=True),
        text_field("description", "Details", required=False, kind="long_text"),
    ]
    if rtype.inputs:
        parts.append(f"<fieldset><legend>{escape(rtype.name)}</legend>")
        for spec in rtype.inputs:
            parts.append(
                text_field(
                    f"inputs.{spec.name}",
                    spec.label or spec.name.replace("_", " ").capitalize(),
                    required=spec.required,
                    kind=spec.type,
                    hint=spec.help or "",
                    choices=spec.choices if spec.type == "choice" else None,
                )
            )
        parts.append("</fieldset>")
    if rtype.templates:
        parts.append(
            text_field("template", "Start from a template", required=False, choices=rtype.templates)
        )
    parts.append("<fieldset><legend>Priority</legend>")
    for name, spec in catalog.priority.inputs.items():
        choices = [f"{v:g}" for v in _steps(spec.min, spec.max)]
        key = f"priority.{name}"
        values.setdefault(key, f"{spec.default:g}")
        parts.append(
            text_field(key, spec.label or name.capitalize(), required=True, choices=choices)
        )
    parts.append("</fieldset>")
    general = [p for p in problems or [] if not _is_field(p.where, rtype, catalog)]
    summary = ""
    if problems:
        links = "".join(
            f'<li><a href="#{field_id(p.where)}">{escape(p.where)}: {escape(p.message)}</a></li>'
            if p not in general
            else f"<li>{escape(str(p))}</li>"
            for p in problems
        )
        summary = (
            '<div class="summary" role="alert" tabindex="-1"><h2>Please fix '
            f"{len(problems)} problem(s)</h2><ul>{links}</ul></div>"
        )
    body = (
        f"<h1>New request: {escape(rtype.name)}</h1>{summary}"
        '<form method="post" action="/requests/new" novalidate>'
        f'<input type="hidden" name="{FIELD}" value="{escape(token)}">'
        f'<input type="hidden" name="type" value="{escape(rtype.key)}">'
        + "".join(parts)
        + '<button type="submit">Send request</button></form>'
        '<p><a href="/requests/new">Choose another request type</a></p>'
    )
    return _page(f"New request: {rtype.name}", body, status, token)


def _steps(lo: float, hi: float) -> list[float]:
    if hi - lo <= 20 and float(lo).is_integer() and float(hi).is_integer():
        return [float(v) for v in range(int(lo), int(hi) + 1)]
    return [lo + (hi - lo) * i / 4 for i in range(5)]


def _is_field(where: str, rtype: Any, catalog: Any) -> bool:
    names = {"title", "requester", "description", "template"}
    names |= {f"inputs.{i.name}" for i in rtype.inputs}
    names |= {f"priority.{n}" for n in catalog.priority.inputs}
    return where in names


def handle_form_post(
    ctx: Any, request: Request, form: dict[str, str], *, now: dt.datetime
) -> HTMLResponse:
    """File the request, or show the form again with every problem (nothing typed is lost)."""
    from marketops.ops.intake.requests import NewRequest
    from marketops.ops.intake.service import create_request

    if not _catalog(ctx).web_form:
        return _disabled()
    if not token_valid(request.cookies.get(COOKIE), form.get(FIELD)):
        body = (
            "<h1>Form expired</h1><p>For your security the form must be sent from this site "
            'and within the same browser session. <a href="/requests/new">Start again</a>.</p>'
        )
        return _page("Form expired", body, 403)
    type_key = form.get("type", "")
    new = NewRequest(
        type=type_key,
        title=form.get("title", ""),
        requester=form.get("requester", ""),
        description=form.get("description", ""),
        inputs={k[7:]: v for k, v in form.items() if k.startswith("inputs.") and v.strip()},
        priority={k[9:]: v for k, v in form.items() if k.startswith("priority.")},  # type: ignore[misc]
        template=form.get("template") or None,
        channel="web",
    )
    try:
        # the token is new on every render, so a double-clicked submit files one request
        nonce = form.get(FIELD, "").partition(".")[0]
        created, _ = create_request(
            ctx, new, now=now, actor="web-form", idempotency_key=f"web:{nonce}"
        )
    except MarketopsError as exc:
        return render_form_page(
            ctx, request, type_key=type_key, values=form, problems=exc.problems, status=422
        )
    rid = created["id"]
    body = (
        f'<h1 role="status">Request #{rid} received</h1>'
        f"<p>{escape(created['title'])} is in the queue with priority {created['priority']:g}. "
        "The MOPS team will triage it within the service level of its class.</p>"
        '<p><a href="/requests/new">File another request</a></p>'
    )
    return _page(f"Request #{rid} received", body, 201)

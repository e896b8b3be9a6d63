"""Personalization tokens: every `{{ … }}` that can come out empty needs a fallback.

Recognised fallbacks: Liquid/Jinja/HubL `{{ x | default: "y" }}` / `{{ x | default("y") }}`,
Jinja `{{ x or "y" }}`, Marketo `{{lead.First Name:default=there}}`, SendGrid
`{{insert x "default=y"}}`. A token inside `{% if x %}` / `{{#if x}}` that tests the same name is
guarded and needs none. Template tags (`{{#each}}`, `{{/if}}`, `{{else}}`, `{{! comment}}`) are not
tokens. Names matching the exempt globs (system links, program tokens) are always filled by the ESP.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase

from marketops.ops.preflight.htmlscan import position

TOKEN_RE = re.compile(r"\{\{\{?(?P<body>[^{}]*?)\}?\}\}")
_LIQUID_TAG = re.compile(r"\{%-?\s*(?P<tag>\w+)(?P<rest>[^%]*?)-?%\}")
_MASK = re.compile(r"<(style|script)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_IDENT = re.compile(r"[A-Za-z_][\w.]*")
_OPENERS = {"if", "unless"}
_CLOSERS = {"endif", "endunless", "endfor"}


@dataclass(frozen=True)
class TokenIssue:
    kind: str  # "fallback" or "malformed"
    where: str
    token: str
    message: str


def _mask(text: str) -> str:
    """Blank out <style>/<script> (CSS `}}` is not a token) keeping offsets and newlines."""
    return _MASK.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def has_fallback(body: str) -> bool:
    b = body.strip()
    if re.search(r":\s*default\s*=", b, re.IGNORECASE):  # Marketo
        return True
    if re.match(r"insert\s", b):  # SendGrid
        return bool(re.search(r"[\"']default=", b))
    parts = [p.strip() for p in b.split("|")]
    if any(re.match(r"(default|d)\b\s*[:(]", p) for p in parts[1:]):
        return True
    return bool(re.search(r"\bor\s+\S", parts[0]))


def token_name(body: str) -> str:
    b = body.strip().strip("-~").strip()
    b = re.sub(r"^insert\s+", "", b)
    return re.split(r"\s*(?:\||:default|\bor\b)", b, maxsplit=1)[0].strip()


def _is_tag(body: str) -> bool:
    b = body.strip().strip("-~").strip()
    return not b or b[0] in "#/^!>&*" or b.split(None, 1)[0] in ("else", "else if")


def _exempt(name: str, patterns: list[str]) -> bool:
    low = name.lower()
    return any(fnmatchcase(low, p.lower()) for p in patterns)


def _literal(name: str) -> bool:
    """A literal, or a loop-scoped name (`this`, `@index`, `.`), rather than a person's field."""
    return (
        not name
        or name[0] in "\"'@."
        or name.replace(".", "", 1).isdigit()
        or name == "this"
        or name.startswith("this.")
    )


def scan_tokens(text: str, label: str, exempt: list[str]) -> list[TokenIssue]:
    """Issues in `text` (HTML, plain text or a subject), located as label:line:col."""
    masked = _mask(text)
    issues: list[TokenIssue] = []
    # walk tokens and liquid tags in document order, keeping the names an enclosing `if` tests
    events = sorted(
        [(m.start(), "token", m) for m in TOKEN_RE.finditer(masked)]
        + [(m.start(), "tag", m) for m in _LIQUID_TAG.finditer(masked)],
        key=lambda e: e[0],
    )
    guards: list[set[str]] = []
    for offset, what, m in events:
        if what == "tag":
            tag = m.group("tag")
            if tag in _OPENERS:
                guards.append(set(_IDENT.findall(m.group("rest"))))
            elif tag == "for":  # the loop variable is always set inside the loop
                guards.append(set(_IDENT.findall(m.group("rest"))[:1]))
            elif tag in ("else", "elsif") and guards:
                guards[-1] = set(_IDENT.findall(m.group("rest"))) if tag == "elsif" else set()
            elif tag in _CLOSERS and guards:
                guards.pop()
            continue
        body = m.group("body")
        stripped = body.strip().strip("-~").strip()
        if _is_tag(body):
            head = stripped[1:].split(None, 1) if stripped[:1] in "#^" else []
            if head and head[0] in _OPENERS | {"with", "each"}:
                guards.append(set(_IDENT.findall(head[1] if len(head) > 1 else "")))
            elif stripped[:1] == "/" and guards:
                guards.pop()
            elif stripped.startswith("else") and guards:
                guards[-1] = set()
            continue
        name = token_name(body)
        if _literal(name) or has_fallback(body) or _exempt(name, exempt):
            continue
        if any(name in g or name.split(".", 1)[0] in g for g in guards):
            continue
        line, col = position(text, offset)
        issues.append(
            TokenIssue(
                "fallback",
                f"{label}:{line}:{col}",
                m.group(0),
                f"token {m.group(0)} has no fallback; an empty value will show as a gap",
            )
        )
    # braces left over once every well-formed token is removed are typos like {{first_name}
    rest = TOKEN_RE.sub(lambda m: " " * len(m.group(0)), masked)
    for m in re.finditer(r"\{\{|\}\}", rest):
        line, col = position(text, m.start())
        snippet = text[m.start() : m.start() + 30].split("\n", 1)[0]
        issues.append(
            TokenIssue(
                "malformed",
                f"{label}:{line}:{col}",
                snippet,
                f"unbalanced token braces near {snippet!r}",
            )
        )
    return issues

"""Email templates (`emails/<name>.yml`): the model, loading with a cache, and the token check.

Bodies are Jinja2. A token that can come out empty must say what to show instead —
`{{ first_name | default("there") }}`, `{{ company or "your team" }}`, or sit inside
`{% if first_name %}…{% endif %}` — otherwise `marketops validate` reports it with file:line and the
template is refused at send time. The check walks Jinja's own syntax tree, so it agrees with what
the renderer does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from jinja2 import TemplateSyntaxError, nodes
from pydantic import BaseModel, ConfigDict, Field

from marketops.errors import Problem, WorkspaceError
from marketops.messaging import EMAILS_DIR
from marketops.workspace.yamlfile import load_model, read_yaml

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
BODIES = ("subject", "text", "html")
# always set by the renderer: no fallback needed
ALWAYS_SET = frozenset({"email", "lead_id", "unsubscribe_url", "postal_address", "sender_name"})
_FALLBACK_FILTERS = frozenset({"default", "d"})
# nodes through which "this may be undefined" stays harmless (boolean context, attribute chains)
_PASS_SAFE = (nodes.And, nodes.Not, nodes.Compare, nodes.Operand, nodes.Getattr, nodes.Getitem)


class EmailTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(..., min_length=1)
    text: str = Field(..., min_length=1, description="plain-text body (always sent)")
    html: str | None = Field(None, description="HTML body (multipart/alternative with the text)")
    from_name: str | None = Field(None, description="overrides from.name in messaging.yml")
    category: Literal["marketing", "transactional"] = Field(
        "marketing", description="transactional: exempt from quiet hours and the frequency cap"
    )
    topic: str = Field("marketing", pattern=r"^[a-z0-9_-]{1,40}$")
    footer: bool = Field(
        True, description="append the postal address and unsubscribe link to both bodies"
    )


@dataclass(frozen=True)
class TokenProblem:
    body: str  # subject, text or html
    line: int  # 1-based within the body
    message: str


def template_path(root: Path, name: str) -> Path:
    if not NAME_RE.match(name or ""):
        raise WorkspaceError(
            f"bad email template name {name!r}",
            [Problem("template", f"{name!r}", "lowercase letters, digits, _ and -")],
        )
    return Path(root) / EMAILS_DIR / f"{name}.yml"


def load_template(root: Path, name: str) -> EmailTemplate:
    """The template `name`, refused (with file:line) if a token lacks a fallback."""
    path = template_path(root, name)
    if not path.exists():
        raise WorkspaceError(
            f"no email template {name!r}",
            [Problem(str(path), "file not found", f"create {EMAILS_DIR}/{name}.yml")],
        )
    model = load_model(path, EmailTemplate)
    problems = check_template(path, model)
    if problems:
        raise WorkspaceError(f"{path}: {len(problems)} problem(s)", problems)
    return model


def check_template(path: Path, model: EmailTemplate) -> list[Problem]:
    """Every token without a fallback and every Jinja syntax error, located as file:line."""
    from marketops.messaging.render import environment

    _, node = read_yaml(path)
    out: list[Problem] = []
    for body in BODIES:
        source = getattr(model, body)
        if source is None:
            continue
        base = _first_line(node, body)
        for p in token_problems(environment(html=body == "html"), source, body):
            out.append(Problem(f"{path}:{base + p.line - 1}", p.message, _HINT))
    if not model.footer:
        for body in ("text", "html"):
            source = getattr(model, body) or ""
            missing = [t for t in ("unsubscribe_url", "postal_address") if t not in source]
            if getattr(model, body) is not None and missing:
                out.append(
                    Problem(
                        f"{path}:{_first_line(node, body)}",
                        f"{body}: footer is false but the body lacks {{{{ {missing[0]} }}}}",
                        "keep footer: true, or put the unsubscribe link and postal address in",
                    )
                )
    return out


_HINT = 'add a fallback: {{ first_name | default("there") }}, or wrap it in {% if first_name %}'


def token_problems(env: Any, source: str, body: str) -> list[TokenProblem]:
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        return [
            TokenProblem(body, exc.lineno or 1, f"{body}: template syntax error: {exc.message}")
        ]
    local = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    found: list[TokenProblem] = []

    def walk(node: nodes.Node, guarded: frozenset[str], safe: bool) -> None:
        if isinstance(node, nodes.Name):
            if node.ctx == "load" and not safe and node.name not in guarded | local | ALWAYS_SET:
                found.append(
                    TokenProblem(body, node.lineno, f"{body}: token `{node.name}` has no fallback")
                )
        elif isinstance(node, nodes.Filter) and node.name in _FALLBACK_FILTERS:
            if node.node is not None:
                walk(node.node, guarded, True)
            for arg in node.args:
                walk(arg, guarded, False)
        elif isinstance(node, nodes.Or):
            walk(node.left, guarded, True)
            walk(node.right, guarded, safe)
        elif isinstance(node, nodes.Test):
            walk(node.node, guarded, True)
        elif isinstance(node, nodes.If):
            walk(node.test, guarded, True)
            for child in node.body:
                walk(child, guarded | _names(node.test), False)
            for child in [*node.elif_, *node.else_]:
                walk(child, guarded, False)
        elif isinstance(node, nodes.CondExpr):
            tested = frozenset()
            if node.test is not None:
                walk(node.test, guarded, True)
                tested = _names(node.test)
            walk(node.expr1, guarded | tested, safe)
            if node.expr2 is not None:
                walk(node.expr2, guarded, safe)
        elif isinstance(node, nodes.For):
            walk(node.iter, guarded, True)  # looping over nothing shows nothing: no blank token
            for child in [*node.body, *node.else_]:
                walk(child, guarded, False)
        else:
            passes = safe and isinstance(node, _PASS_SAFE)
            for child in node.iter_child_nodes():
                walk(child, guarded, passes)

    walk(tree, frozenset(), False)
    return found


def _names(expr: nodes.Node) -> frozenset[str]:
    found = [expr] if isinstance(expr, nodes.Name) else list(expr.find_all(nodes.Name))
    return frozenset(n.name for n in found)


def _first_line(root: yaml.Node | None, key: str) -> int:
    """1-based file line of the first line of `key`'s text (a `|` block starts on the next line)."""
    if not isinstance(root, yaml.MappingNode):
        return 1
    for k, v in root.value:
        if getattr(k, "value", None) == key:
            return v.start_mark.line + (2 if v.style in ("|", ">") else 1)
    return root.start_mark.line + 1


def check_file(path: Path, model: EmailTemplate) -> list[Problem]:
    """The `marketops validate` hook: the file's name and its tokens."""
    problems = []
    if not NAME_RE.match(path.stem):
        problems.append(
            Problem(str(path), "bad template name", "lowercase letters, digits, _ and -")
        )
    return problems + check_template(path, model)

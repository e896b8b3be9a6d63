"""Check and build UTM-tagged URLs against a taxonomy. Pure functions: no I/O, no clock.

Building never re-encodes the query string that the URL already has: its pairs are kept byte for
byte (only pairs whose name we set are replaced), so `%2F`, `+` and friends survive untouched.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from urllib.parse import parse_qsl, quote, unquote_plus, urlencode, urlsplit, urlunsplit

from marketops.errors import MarketopsError, Problem
from marketops.taxonomy.model import UTM_PREFIX, Taxonomy, normalize_value

SCHEMES = ("http", "https")
# GA4's manual-tagging parameters: always known, so only typos and inventions are "unknown".
STANDARD_UTM = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "utm_id",
    "utm_source_platform",
    "utm_creative_format",
    "utm_marketing_tactic",
)


def is_internal(host: str | None, taxonomy: Taxonomy) -> bool:
    """A declared domain covers itself and its subdomains (`example.com`: `www.example.com`)."""
    if not host:
        return False
    host = host.lower().rstrip(".")
    for domain in taxonomy.internal.domains:
        d = domain.lower().lstrip("*").lstrip(".")
        if host == d or host.endswith("." + d):
            return True
    return False


def check_value(name: str, value: str, taxonomy: Taxonomy) -> list[Problem]:
    """Every rule one value breaks (normalisation, charset, length, picklist, pattern, template)."""
    rule = taxonomy.rule_for(name)
    norm = (rule.normalize if rule and rule.normalize else None) or taxonomy.normalize
    if value.strip() == "":
        return [Problem(name, "is empty", f"give {name} a value or leave it out")]
    out: list[Problem] = []
    fixed = normalize_value(value, norm)
    if fixed != value:
        out.append(Problem(name, f"{value!r} is not normalised", f"use {fixed!r}"))
    value = fixed
    compiled = taxonomy.compiled()
    bad_chars = compiled.charsets.get(name) or compiled.charsets.get("*")
    if bad_chars is not None:
        bad = sorted(set(bad_chars.findall(value)))
        if bad:
            cs = (rule.charset if rule and rule.charset else None) or taxonomy.charset
            out.append(
                Problem(
                    name,
                    f"characters not allowed: {' '.join(repr(b) for b in bad)}",
                    f"allowed: [{cs}]; e.g. {bad_chars.sub('', value)!r}",
                )
            )
    if rule is None:
        return out
    if rule.max_length is not None and len(value) > rule.max_length:
        out.append(
            Problem(name, f"is {len(value)} characters long (max {rule.max_length})", "shorten it")
        )
    if rule.allowed is not None and value not in rule.allowed:
        close = difflib.get_close_matches(value, rule.allowed, n=1, cutoff=0.6)
        hint = f"use {close[0]!r}" if close else f"allowed: {', '.join(rule.allowed)}"
        out.append(Problem(name, f"{value!r} is not an allowed value", hint))
    if rule.pattern is not None and not re.fullmatch(rule.pattern, value):
        out.append(
            Problem(
                name,
                f"{value!r} does not match /{rule.pattern}/",
                rule.description or "fix the value",
            )
        )
    if rule.template is not None:
        template = compiled.templates[rule.template]
        for _part, message, hint in template.check(value):
            out.append(Problem(name, message, hint))
    return out


def _norm(name: str, value: str, taxonomy: Taxonomy) -> str:
    rule = taxonomy.rule_for(name)
    return normalize_value(
        value, (rule.normalize if rule and rule.normalize else None) or taxonomy.normalize
    )


def check_params(
    pairs: Iterable[tuple[str, str]] | Mapping[str, str],
    taxonomy: Taxonomy,
    *,
    host: str | None = None,
) -> list[Problem]:
    """All violations of a set of tracking parameters (and declared names) landing on `host`."""
    items = list(pairs.items()) if isinstance(pairs, Mapping) else list(pairs)
    tracked = [(k, v) for k, v in items if k.startswith(UTM_PREFIX) or taxonomy.rule_for(k)]
    if is_internal(host, taxonomy):
        return [
            Problem(
                k,
                f"not allowed on internal links ({host} is an internal domain)",
                f"remove {k}: tagged internal links overwrite the visitor's real source",
            )
            for k, _ in tracked
            if any(fnmatch.fnmatchcase(k, pat) for pat in taxonomy.internal.forbid)
        ]
    out: list[Problem] = []
    counts = Counter(k for k, _ in tracked)
    for k, n in counts.items():
        if n > 1:
            out.append(Problem(k, f"given {n} times", "keep exactly one"))
    values: dict[str, str] = {}
    for k, v in tracked:
        values.setdefault(k, v)
    for k in taxonomy.required:
        if k not in values:
            rule = taxonomy.rule_for(k)
            hint = (
                f"add {k} (allowed: {', '.join(rule.allowed)})"
                if rule and rule.allowed
                else f"add {k}"
            )
            out.append(Problem(k, "required parameter is missing", hint))
    declared = set(taxonomy.parameters) | set(taxonomy.required) | set(STANDARD_UTM)
    for k, v in values.items():
        if k.startswith(UTM_PREFIX) and k not in declared and not taxonomy.allow_unknown_parameters:
            close = difflib.get_close_matches(k, sorted(declared), n=1, cutoff=0.75)
            out.append(
                Problem(
                    k,
                    "is not a declared parameter",
                    f"did you mean {close[0]!r}?"
                    if close
                    else "declare it under `parameters` in taxonomy.yml",
                )
            )
            continue
        out.extend(check_value(k, v, taxonomy))
    normed = {k: _norm(k, v, taxonomy) for k, v in values.items()}

    def off_picklist(k: str) -> bool:  # already reported with its fix: no dependency noise
        rule = taxonomy.rule_for(k)
        return bool(rule and rule.allowed is not None and normed[k] not in rule.allowed)

    for dep in taxonomy.depends:
        if not all(
            normed.get(k) in ([w] if isinstance(w, str) else w) for k, w in dep.when.items()
        ):
            continue
        cond = " and ".join(f"{k}={normed[k]}" for k in dep.when)
        for k, allowed in dep.allow.items():
            if k in normed and normed[k] not in allowed and not off_picklist(k):
                out.append(
                    Problem(
                        k,
                        dep.message or f"{normed[k]!r} is not allowed when {cond}",
                        f"allowed when {cond}: {', '.join(allowed)}",
                    )
                )
        for k in dep.require:
            if k not in normed:
                out.append(Problem(k, dep.message or f"is required when {cond}", f"add {k}"))
        for k in dep.forbid:
            if k in normed:
                out.append(Problem(k, dep.message or f"is not allowed when {cond}", f"remove {k}"))
    return out


def _split(url: str) -> tuple[object, list[Problem]]:
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError as exc:
        return None, [Problem("url", f"not a valid URL: {exc}", "check the address")]
    if parts.scheme.lower() not in SCHEMES or not parts.netloc:
        return None, [
            Problem(
                "url", f"{url!r} is not an absolute http(s) URL", "write it as https://host/path"
            )
        ]
    return parts, []


def _pair(name: str, value: str) -> str:
    return urlencode([(name, value)], quote_via=quote, safe="")


def check_url(url: str, taxonomy: Taxonomy) -> list[Problem]:
    """All violations of a tagged URL; `where` of each problem is the parameter (or `url`)."""
    parts, problems = _split(url)
    if problems:
        return problems
    pairs = parse_qsl(parts.query, keep_blank_values=True)  # type: ignore[attr-defined]
    return check_params(pairs, taxonomy, host=parts.hostname)  # type: ignore[attr-defined]


def build_url(
    base_url: str,
    params: Mapping[str, str | None],
    taxonomy: Taxonomy,
    *,
    parts: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> str:
    """Tag `base_url` with `params` (normalised first) or raise with every rule that blocks it.

    A parameter whose rule has a naming template and that is not given is rendered from `parts`
    (date placeholders from `now`). Existing query pairs and the fragment are kept as they are.
    """
    split, problems = _split(base_url)
    if problems:
        raise MarketopsError("cannot tag this URL", problems)
    values: dict[str, str] = {}
    for k, v in params.items():
        if v is not None and v != "":
            values[k] = _norm(k, v, taxonomy)
    if parts:
        for k, rule in taxonomy.parameters.items():
            if k in values or rule.template is None:
                continue
            template = taxonomy.compiled().templates[rule.template]
            try:
                values[k] = template.render(parts, now)
            except KeyError as exc:
                problems.append(
                    Problem(
                        k,
                        f"template {template.format!r} needs {{{exc.args[0]}}}",
                        f"give the part {exc.args[0]}=…",
                    )
                )
            unknown = set(parts) - set(template.placeholders())
            problems.extend(
                Problem(
                    k,
                    f"template {template.format!r} has no {{{u}}}",
                    f"parts: {', '.join(template.placeholders())}",
                )
                for u in sorted(unknown)
            )
    if problems:
        raise MarketopsError("cannot build the tagged URL", problems)
    pending = dict(values)
    pairs: list[str] = []
    for raw in split.query.split("&"):  # type: ignore[attr-defined]
        name = unquote_plus(raw.split("=", 1)[0])
        if name not in values:
            if raw:
                pairs.append(raw)
        elif name in pending:  # replace in place, keeping the order of the original URL
            pairs.append(_pair(name, pending.pop(name)))
    pairs.extend(_pair(k, v) for k, v in pending.items())
    query = "&".join(pairs)
    url = urlunsplit(split._replace(query=query))  # type: ignore[attr-defined]
    problems = check_url(url, taxonomy)
    if problems:
        raise MarketopsError("the tagged URL breaks the taxonomy", problems)
    return url

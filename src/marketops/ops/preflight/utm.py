"""UTM checks: the workspace taxonomy when there is one, a minimal rule otherwise.

`marketops.taxonomy` is imported lazily so preflight keeps working in a build without it; the
fallback only demands utm_source, utm_medium and utm_campaign, present and lowercase.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from marketops.errors import Problem

REQUIRED = ("utm_source", "utm_medium", "utm_campaign")


def load_taxonomy_file(path: Path) -> Any | None:
    """The parsed taxonomy, or None when the taxonomy module or the file is absent."""
    if not path.exists():
        return None
    try:
        from marketops.taxonomy import load_taxonomy
    except ImportError:
        return None
    return load_taxonomy(path)


def check_utms(url: str, taxonomy: Any | None) -> list[Problem]:
    if taxonomy is not None:
        try:
            from marketops.taxonomy.utm import check_url
        except ImportError:
            pass
        else:
            return list(check_url(url, taxonomy))
    return fallback_check(url)


def fallback_check(url: str) -> list[Problem]:
    params: dict[str, str] = {}
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        params.setdefault(key.lower(), value)
    problems = []
    for key in REQUIRED:
        value = params.get(key)
        if not value:
            problems.append(
                Problem(
                    key, f"{key} is missing or empty", "add it (build links with the UTM builder)"
                )
            )
        elif value != value.lower():
            problems.append(
                Problem(
                    key,
                    f"{key}={value!r} is not lowercase",
                    f"use {value.lower()!r}: analytics tools treat case as distinct",
                )
            )
    return problems

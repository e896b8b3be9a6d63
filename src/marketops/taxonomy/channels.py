"""Channel classification (GA4 default channel group by default), one row or millions.

Missing values become what GA4 shows: no source and no medium is `(direct)` / `(none)`; a source
without a medium has medium `(not set)`; no campaign is `(not set)`. Matching is case-insensitive
(Google); values are not trimmed, because GA4 does not trim them either.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from marketops.taxonomy.ruleset import (
    ChannelsFile,
    Resolved,
    builtin_resolved,
    compile_rules,
    parse_file,
    resolve,
)

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_RULESET = "ga4-default"


class Ruleset:
    """A compiled ruleset. Build once (it compiles and caches), share freely (it is immutable)."""

    def __init__(self, resolved: Resolved, *, cache_size: int = 1 << 16):
        self.resolved = resolved
        self.label = resolved.label
        self.channels: tuple[str, ...] = (
            *(r.channel or "" for r in resolved.rules),
            resolved.default_channel,
        )
        self.rule_ids: tuple[str, ...] = (*(r.id for r in resolved.rules), "")
        raw = compile_rules(resolved)
        self._index = lru_cache(maxsize=cache_size)(raw)
        self._raw = raw
        self._channels = self.channels

    @property
    def name(self) -> str:
        return self.resolved.name

    @property
    def version(self) -> str:
        return self.resolved.version

    def classify(self, source: str | None, medium: str | None, campaign: str | None = None) -> str:
        return self._channels[self._index(source, medium, campaign)]

    def explain(
        self, source: str | None, medium: str | None, campaign: str | None = None
    ) -> tuple[str, str]:
        """(channel, id of the rule that decided it; "" when no rule matched)."""
        i = self._index(source, medium, campaign)
        return self._channels[i], self.rule_ids[i]

    def classify_many(
        self, sources: Iterable[Any], mediums: Iterable[Any], campaigns: Iterable[Any] | None = None
    ) -> list[str]:
        """Batch form: each distinct (source, medium, campaign) is evaluated once."""
        raw, channels = self._raw, self._channels
        memo: dict[tuple[Any, Any, Any], str] = {}
        out: list[str] = []
        append = out.append
        rows = zip(sources, mediums, campaigns if campaigns is not None else _nones(), strict=False)
        for key in rows:
            ch = memo.get(key)
            if ch is None:
                ch = memo[key] = channels[raw(*key)]
            append(ch)
        return out

    def classify_frame(
        self,
        frame: pd.DataFrame,
        source: str = "source",
        medium: str = "medium",
        campaign: str | None = "campaign",
    ) -> pd.Series:
        """The channel of each row of a DataFrame, as a Series aligned on its index.

        Measured (bench/taxonomy_channels.py): plain lists through the memo beat factorising
        the triples with pandas, whether the rows repeat or not.
        """
        import pandas as pd

        camp = frame[campaign].tolist() if campaign and campaign in frame else None
        labels = self.classify_many(frame[source].tolist(), frame[medium].tolist(), camp)
        return pd.Series(labels, index=frame.index, name="channel", dtype=object)


def _nones() -> Iterable[None]:
    while True:
        yield None


@cache
def default_ruleset() -> Ruleset:
    return Ruleset(builtin_resolved(DEFAULT_RULESET))


def builtin_ruleset(name: str = DEFAULT_RULESET) -> Ruleset:
    return default_ruleset() if name == DEFAULT_RULESET else Ruleset(builtin_resolved(name))


def load_ruleset(path: str | Path) -> Ruleset:
    """Compile a ruleset file (e.g. the workspace channels.yml); errors carry file:line."""
    path = Path(path)
    spec, node = parse_file(path)
    return Ruleset(resolve(spec, path=path, node=node))


def ruleset_from_spec(spec: ChannelsFile) -> Ruleset:
    return Ruleset(resolve(spec))


def classify(
    source: str | None,
    medium: str | None,
    campaign: str | None = None,
    *,
    ruleset: Ruleset | None = None,
) -> str:
    """The channel of one touchpoint; `ruleset=None` is the built-in GA4 default channel group."""
    return (ruleset or default_ruleset()).classify(source, medium, campaign)


def classify_many(
    sources: Sequence[Any] | Iterable[Any],
    mediums: Iterable[Any],
    campaigns: Iterable[Any] | None = None,
    *,
    ruleset: Ruleset | None = None,
) -> list[str]:
    return (ruleset or default_ruleset()).classify_many(sources, mediums, campaigns)

"""The models of segments.yml: segments (a rule tree), static lists, suppression flags.

A rule is one mapping whose key says what it is: `all`/`any`/`not` combine rules; `field` (with
one operator from workspace.conditions) tests a lead field or attribute; `activity` counts
behaviour in a window; `identity`, `opportunity` and `in_list` test what is linked to the lead;
`in_segment` is another dynamic segment's rule, expanded in place when the file is read, so every
evaluator (Python, SQL, simulation) and the definition hash see one self-contained rule tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from marketops.workspace.conditions import Condition

SEGMENTS_FILE = "segments.yml"
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,99}$"
RULE_KEYS = (
    "all",
    "any",
    "not",
    "field",
    "activity",
    "identity",
    "opportunity",
    "in_list",
    "in_segment",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActivitySpec(_Strict):
    """Did activity `type` at least/at most N times (within the last `within_days`)?

    With `without_later`: the latest `type` (in the window) has no `without_later` at or after it,
    e.g. a support ticket opened and not yet closed.
    """

    type: str = Field(min_length=1)
    at_least: int | None = Field(None, ge=0)
    at_most: int | None = Field(None, ge=0)
    within_days: float | None = Field(None, gt=0)
    without_later: str | None = None

    @model_validator(mode="after")
    def _bounds(self) -> ActivitySpec:
        if self.without_later is not None and (
            self.at_least is not None or self.at_most is not None
        ):
            raise ValueError("`without_later` cannot be combined with at_least/at_most")
        if self.at_least is not None and self.at_most is not None and self.at_least > self.at_most:
            raise ValueError(f"at_least ({self.at_least}) is above at_most ({self.at_most})")
        return self

    @property
    def lower(self) -> int:
        """The minimum count: `at_least`, else 1 unless only `at_most` is given."""
        if self.at_least is not None:
            return self.at_least
        return 0 if self.at_most is not None else 1


class IdentitySpec(_Strict):
    """The lead's identity cluster: `linked` (shares an identity with another lead), its size."""

    linked: bool | None = None
    min_size: int | None = Field(None, ge=1)
    max_size: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _something(self) -> IdentitySpec:
        if self.linked is None and self.min_size is None and self.max_size is None:
            raise ValueError("identity needs `linked`, `min_size` or `max_size`")
        return self


class OpportunitySpec(_Strict):
    """Has at least one opportunity with this status (and at least `min_amount`)."""

    status: Literal["open", "won", "lost", "any"] = "open"
    min_amount: float | None = None


class AllRule(_Strict):
    all: list[Rule] = Field(min_length=1)


class AnyRule(_Strict):
    any: list[Rule] = Field(min_length=1)


class NotRule(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    not_: Rule = Field(alias="not")


class ActivityRule(_Strict):
    activity: ActivitySpec


class IdentityRule(_Strict):
    identity: IdentitySpec


class OpportunityRule(_Strict):
    opportunity: OpportunitySpec


class ListRule(_Strict):
    in_list: str


class SegmentRule(_Strict):
    in_segment: str


def _rule_kind(v: Any) -> str | None:
    if isinstance(v, dict):
        return next((k for k in RULE_KEYS if k in v), None)
    if isinstance(v, Condition):
        return "field"
    for tag, cls in _TAGS.items():
        if isinstance(v, cls):
            return tag
    return None


Rule = Annotated[
    Annotated[AllRule, Tag("all")]
    | Annotated[AnyRule, Tag("any")]
    | Annotated[NotRule, Tag("not")]
    | Annotated[Condition, Tag("field")]
    | Annotated[ActivityRule, Tag("activity")]
    | Annotated[IdentityRule, Tag("identity")]
    | Annotated[OpportunityRule, Tag("opportunity")]
    | Annotated[ListRule, Tag("in_list")]
    | Annotated[SegmentRule, Tag("in_segment")],
    Discriminator(
        _rule_kind,
        custom_error_type="rule_kind",
        custom_error_message=f"a rule needs one of the keys {', '.join(RULE_KEYS)}",
    ),
]
_TAGS: dict[str, type[BaseModel]] = {
    "all": AllRule,
    "any": AnyRule,
    "not": NotRule,
    "activity": ActivityRule,
    "identity": IdentityRule,
    "opportunity": OpportunityRule,
    "in_list": ListRule,
    "in_segment": SegmentRule,
}
for _cls in _TAGS.values():
    _cls.model_rebuild()


class SegmentDef(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    suppression: bool = False  # may be attached to a send to hold its members back
    rule: Rule


class ListDef(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    suppression: bool = False


class SegmentsConfig(_Strict):
    segments: list[SegmentDef] = Field(default_factory=list)
    lists: list[ListDef] = Field(default_factory=list)

    @model_validator(mode="after")
    def _expand(self) -> SegmentsConfig:
        """Replace every `in_segment` with the named segment's rule (see the module docstring)."""
        by_name = {s.name: s for s in self.segments}
        lists = {lst.name for lst in self.lists}
        expanded = []
        for i, s in enumerate(self.segments):
            try:
                expanded.append(
                    s.model_copy(update={"rule": expand(s.rule, by_name, lists, (s.name,))})
                )
            except ValueError as exc:  # located at the segment's rule, for file:line
                raise ValidationError.from_exception_data(
                    "SegmentsConfig",
                    [
                        InitErrorDetails(
                            type=PydanticCustomError("in_segment", str(exc)),
                            loc=("segments", i, "rule"),
                            input=s.name,
                        )
                    ],
                ) from None
        object.__setattr__(self, "segments", expanded)  # frozen: set once, while validating
        return self

    def find(self, name: str) -> SegmentDef | ListDef | None:
        return next((s for s in [*self.segments, *self.lists] if s.name == name), None)

    @property
    def names(self) -> list[str]:
        return [s.name for s in [*self.segments, *self.lists]]


def walk(rule: Any) -> list[Any]:
    """Every node of a rule tree, depth first (the root first)."""
    out = [rule]
    if isinstance(rule, AllRule):
        children = rule.all
    elif isinstance(rule, AnyRule):
        children = rule.any
    elif isinstance(rule, NotRule):
        children = [rule.not_]
    else:
        children = []
    for c in children:
        out.extend(walk(c))
    return out


def expand(
    rule: Any, segments: Mapping[str, SegmentDef], lists: set[str], path: tuple[str, ...]
) -> Any:
    """`rule` with each `in_segment` replaced by that segment's (expanded) rule. `path` is the
    chain of segments being expanded, to name a loop; a ValueError names what is wrong."""
    if isinstance(rule, SegmentRule):
        name, owner = rule.in_segment, path[0]
        if name in path:
            loop = " -> ".join((*path[path.index(name) :], name))
            raise ValueError(f"segment {owner!r}: in_segment refers back to itself ({loop})")
        target = segments.get(name)
        if target is None:
            hint = "it is a list: use in_list" if name in lists else "no such dynamic segment"
            raise ValueError(f"segment {owner!r}: in_segment {name!r}: {hint}")
        return expand(target.rule, segments, lists, (*path, name))
    if isinstance(rule, AllRule):
        return AllRule(all=[expand(r, segments, lists, path) for r in rule.all])
    if isinstance(rule, AnyRule):
        return AnyRule(any=[expand(r, segments, lists, path) for r in rule.any])
    if isinstance(rule, NotRule):
        return NotRule(not_=expand(rule.not_, segments, lists, path))
    return rule

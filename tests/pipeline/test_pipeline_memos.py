"""The stages' memos (fit groups, field checks, names) never change an answer.

Each memo is keyed by everything its function reads: the compiled config it hangs on and the
values of the fields it reads. These tests compare answers from the memo with answers computed
with the memo off, for the sample's leads and for values that are equal as keys but not as values.
"""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from marketops.pipeline import score as score_mod
from marketops.pipeline import validate as validate_mod
from marketops.pipeline.enrich import enrich
from marketops.pipeline.normalize import normalize_name
from marketops.pipeline.runner import CompiledConfig, prepare
from marketops.pipeline.score import compile_scoring, score
from marketops.pipeline.validate import validate
from marketops.sample import generate
from marketops.workspace import Workspace
from marketops.workspace.models import Scoring

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


@pytest.fixture
def cfg(workspace_dir: Path) -> CompiledConfig:
    return CompiledConfig.from_workspace(Workspace.load(workspace_dir))


def _views(cfg: CompiledConfig, n: int) -> list[dict]:
    out = []
    for raw in generate(n, seed=8, now=NOW):
        p = prepare(raw, cfg, NOW)
        if p.lead is not None:
            out.append(enrich(p.lead, {}).view())
    return out


def test_fit_memo_gives_what_the_rules_give(cfg: CompiledConfig, monkeypatch) -> None:
    views = _views(cfg, 3000)
    acts = [("webinar", NOW)]
    memoized = [score(v, acts, cfg.scoring, NOW) for v in views]
    assert sum(len(m) for m in cfg.scoring.memo) > 0  # the memo answered some
    again = [score(v, acts, cfg.scoring, NOW) for v in views]  # every group from the memo
    assert cfg.scoring.memo_all  # whole answers kept too
    monkeypatch.setattr(score_mod, "MEMO_MAX", 0)
    monkeypatch.setattr(score_mod, "MEMO_ALL_MAX", 0)
    plain = compile_scoring(cfg.scoring.config)
    computed = [score(v, acts, plain, NOW) for v in views]
    assert not any(plain.memo) and not plain.memo_all
    assert memoized == computed and again == computed
    # the groups' memos alone (whole answers full): the same again
    monkeypatch.undo()
    groups_only = compile_scoring(cfg.scoring.config)
    monkeypatch.setattr(score_mod, "MEMO_ALL_MAX", 0)
    assert [score(v, acts, groups_only, NOW) for v in views] == computed
    assert any(groups_only.memo) and not groups_only.memo_all


def test_fit_memo_answers_are_copies_and_per_config() -> None:
    def cfg(points: float) -> Scoring:
        rules = [{"name": "big", "field": "employees", "gte": 1000, "points": points}]
        return Scoring.model_validate({"fit": [{"name": "size", "rules": rules}]})

    ten, twenty = compile_scoring(cfg(10)), compile_scoring(cfg(20))
    view = {"employees": 5000}
    first = score(view, [], ten, NOW)
    first.reasons[0]["points"] = 999  # a caller changing its answer does not reach the memo
    assert score(view, [], ten, NOW).reasons[0]["points"] == 10
    assert score(view, [], twenty, NOW).fit == 20  # another config, another memo
    # equal keys, same answer for every operator: 1000, 1000.0; unhashable values: no memo
    assert score({"employees": 1000.0}, [], ten, NOW).fit == 10
    assert score({"employees": [1000]}, [], ten, NOW).fit == 0


def test_check_memo_keeps_text_and_other_types_apart(cfg: CompiledConfig, monkeypatch) -> None:
    contract = cfg.contract
    rows = [*generate(2000, seed=9, now=NOW), {"email": "a@example.org", "employees": "0"}]
    memoized = [validate(r, contract) for r in rows]
    monkeypatch.setattr(validate_mod, "MEMO_MAX", 0)
    monkeypatch.setattr(validate_mod, "_COMPILED", {})
    assert [validate(r, contract) for r in rows] == memoized
    monkeypatch.undo()
    # "1" is a whole number, True is not, though True == 1 as a key: only text is memoized
    ok = validate({"email": "a@example.org", "employees": "1"}, contract)
    bad = validate({"email": "a@example.org", "employees": True}, contract)
    assert not [i for i in ok if i.field == "employees"]
    assert [(i.field, i.rule) for i in bad if i.field == "employees"] == [("employees", "type")]
    # the same text twice: the same finding, with the record's own value
    for _ in range(2):
        (issue,) = [i for i in validate({"employees": "0"}, contract) if i.field == "employees"]
        assert (issue.rule, issue.value) == ("minimum", "0")


def test_names_memo_only_for_text() -> None:
    assert normalize_name("  mary-ann  O'BRIEN ") == normalize_name("  mary-ann  O'BRIEN ")
    assert normalize_name("JOHN") == "John" and normalize_name("JOHN") == "John"
    assert normalize_name(None) is None and normalize_name(42) == "42"


def test_staged_time_text_memo_answers_as_bind_time() -> None:
    """Equal instants in other zones share the memo's answer, which is the store's UTC text."""
    from datetime import UTC, datetime, timedelta, timezone

    from marketops.services import batch_worker
    from marketops.store.bulk import bind_time

    base = datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=UTC)
    zones = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9, minutes=-30))]
    times = [base + timedelta(minutes=37 * k) for k in range(40)]
    times += [t.astimezone(z) for t in times for z in zones]
    times += [t.replace(fold=1) for t in times[:5]]
    for _ in range(2):  # computed, then remembered
        assert [batch_worker._time_text(t) for t in times] == [
            bind_time(t, "sqlite") for t in times
        ]
    naive = datetime(2026, 3, 29, 0, 59, 59, 999999)
    with pytest.raises(ValueError, match="naive"):
        batch_worker._time_text(naive)
    assert naive not in batch_worker._TIME_TEXT


def test_repeated_text_memo_answers_as_text() -> None:
    """Company, title, industry, source, message and activity texts are remembered; the memo
    answers what `_text` computes, for the same text again and past the memo's limit."""
    from marketops.pipeline import normalize as normalize_mod

    values = ["Acme", "  Acme  Corp ", "\tVP\u00a0Sales\n", "", "   ", "é  x", "Acme"]
    values += [None, 12, 3.5, True]  # not text: never remembered
    for _ in range(2):
        assert [normalize_mod._repeated(v) for v in values] == [
            normalize_mod._text(v) for v in values
        ]
    assert all(k in normalize_mod._TEXTS for k in values if isinstance(k, str))
    assert not any(k in normalize_mod._TEXTS for k in (12, 3.5, True))
    full = dict.fromkeys(range(normalize_mod.TEXT_MEMO_MAX))  # a full memo: computed each time
    saved = dict(normalize_mod._TEXTS)
    try:
        normalize_mod._TEXTS.clear()
        normalize_mod._TEXTS.update(full)  # type: ignore[arg-type]
        assert normalize_mod._repeated(" new  text ") == "new text"
        assert " new  text " not in normalize_mod._TEXTS
    finally:
        normalize_mod._TEXTS.clear()
        normalize_mod._TEXTS.update(saved)

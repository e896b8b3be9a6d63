"""Reading results files: counts and per-user rows, CSV and JSON, and every bad row reported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from marketops.errors import MarketopsError
from marketops.ops.experiments import from_records, load_file


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_counts_csv(tmp_path: Path) -> None:
    f = _write(
        tmp_path / "r.csv",
        "variant,metric,users,sum,sum_squares\n"
        "control,signup,1000,50,\ntreat,signup,1010,61,\n"
        "control,revenue,1000,4000,90000\ntreat,revenue,1010,4400,99000\n",
    )
    data = load_file(f)
    assert data.users == {"control": 1000, "treat": 1010}
    assert data.kinds == {"signup": "proportion", "revenue": "mean"}
    s = data.stats["signup"]["treat"]
    assert (s.n, s.mean) == (1010, pytest.approx(61 / 1010))
    assert s.variance == pytest.approx(61 / 1010 * (1 - 61 / 1010))
    r = data.stats["revenue"]["control"]
    # sample variance (90000 - 4000^2/1000) / 999 = 74000 / 999
    assert r.mean == 4.0 and r.variance == pytest.approx(74000 / 999)


def test_conversions_is_a_synonym_for_sum() -> None:
    data = from_records(
        [
            {"variant": "a", "metric": "m", "users": 10, "conversions": 3},
            {"variant": "b", "metric": "m", "users": 10, "conversions": 4},
        ]
    )
    assert data.stats["m"]["a"].mean == pytest.approx(0.3)


def test_every_bad_count_row_is_reported_with_line_and_field(tmp_path: Path) -> None:
    f = _write(
        tmp_path / "bad.csv",
        "variant,metric,users,sum,sum_squares\n"
        "control,signup,1000,50,\n"  # line 2 ok
        "treat,signup,ten,61,\n"  # line 3 users
        "treat,clicks,100,120,\n"  # line 4 conversions > users
        ",signup,100,1,\n"  # line 5 variant
        "control,signup,1000,50,\n"  # line 6 duplicate
        "control,rev,10,50,10\n",
    )  # line 7 sum_squares impossible
    with pytest.raises(MarketopsError) as exc:
        load_file(f)
    by_line = {p.where.rsplit(":", 1)[1]: p.message for p in exc.value.problems}
    assert set(by_line) == {"3", "4", "5", "6", "7"}
    assert by_line["3"].startswith("users:")
    assert "conversions" in exc.value.problems[1].hint
    assert by_line["5"].startswith("variant:")
    assert "twice" in by_line["6"]
    assert "sum_squares" in by_line["7"]


def test_per_user_rows_aggregate_like_counts(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 500
    frame = pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(n)],
            "variant": rng.choice(["control", "treat"], n),
            "signup": rng.integers(0, 2, n),
            "revenue": rng.gamma(1.0, 20.0, n).round(2),
        }
    )
    f = tmp_path / "users.csv"
    frame.to_csv(f, index=False)
    data = load_file(f)
    assert data.kinds == {"signup": "proportion", "revenue": "mean"}
    for v, g in frame.groupby("variant"):
        assert data.users[v] == len(g)
        assert data.stats["signup"][v].mean == pytest.approx(g.signup.mean())
        assert data.stats["revenue"][v].mean == pytest.approx(g.revenue.mean())
        assert data.stats["revenue"][v].variance == pytest.approx(g.revenue.var(ddof=1))


def test_bad_per_user_rows_are_all_reported(tmp_path: Path) -> None:
    f = _write(
        tmp_path / "u.csv", "user_id,variant,signup\nu1,a,1\nu2,b,yes\nu3,,0\nu1,a,0\nu4,b,\n"
    )
    with pytest.raises(MarketopsError) as exc:
        load_file(f)
    messages = [str(p) for p in exc.value.problems]
    assert any(m.startswith(f"{f}:3: signup: 'yes'") for m in messages)
    assert any(m.startswith(f"{f}:4: variant") for m in messages)
    assert any(m.startswith(f"{f}:5: user_id") for m in messages)
    assert any(m.startswith(f"{f}:6: signup") and "write 0" in m for m in messages)


def test_json_list_and_rows_object(tmp_path: Path) -> None:
    rows = [
        {"variant": "a", "metric": "m", "users": 100, "sum": 10},
        {"variant": "b", "metric": "m", "users": 100, "sum": 12},
    ]
    f1 = _write(tmp_path / "a.json", json.dumps(rows))
    f2 = _write(tmp_path / "b.json", json.dumps({"rows": rows}))
    assert load_file(f1).users == load_file(f2).users == {"a": 100, "b": 100}
    users = [{"variant": "a", "clicks": 3}, {"variant": "b", "clicks": 5}]
    assert load_file(_write(tmp_path / "c.json", json.dumps(users))).kinds == {"clicks": "mean"}


def test_unreadable_inputs(tmp_path: Path) -> None:
    with pytest.raises(MarketopsError, match="not valid JSON"):
        load_file(_write(tmp_path / "x.json", "{nope"))
    with pytest.raises(MarketopsError, match="list of objects"):
        load_file(_write(tmp_path / "y.json", '{"rows": 3}'))
    with pytest.raises(MarketopsError, match="file not found"):
        load_file(tmp_path / "missing.csv")
    with pytest.raises(MarketopsError, match="no `variant` column"):
        load_file(_write(tmp_path / "z.csv", "user,clicks\n1,2\n"))

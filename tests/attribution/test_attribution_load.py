"""Loading files: every bad row is reported with its line and field; good files round-trip."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from marketops.analytics.attribution.load import load_files, load_path, load_records
from marketops.analytics.engines import connect
from marketops.errors import MarketopsError


def _write(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


def test_csv_problems_name_line_and_field(tmp_path):
    f = _write(
        tmp_path / "tp.csv",
        """
person_id,ts,channel
p1,2024-01-01T00:00:00Z,ads
,2024-01-01T00:00:00Z,ads
p3,yesterday,ads
p4,2024-01-01T10:00:00,ads
""",
    )
    with pytest.raises(MarketopsError) as err:
        load_path("touchpoints", f)
    where = sorted(p.where for p in err.value.problems)
    assert where == [f"{f}:3 person_id", f"{f}:4 ts", f"{f}:5 ts"]
    msgs = {p.where: p.message for p in err.value.problems}
    assert msgs[f"{f}:5 ts"] == "timestamp has no time zone"


def test_conversion_problems(tmp_path):
    f = _write(
        tmp_path / "cv.csv",
        """
conversion_id,person_id,ts,kind,amount,won
c1,p1,2024-01-01T00:00:00+02:00,closed_won,10.5,true
c1,p1,2024-01-01T00:00:00Z,closed_won,10,yes
c3,p1,2024-01-01T00:00:00Z,,1.234,maybe
""",
    )
    with pytest.raises(MarketopsError) as err:
        load_path("conversions", f)
    got = {(p.where, p.message) for p in err.value.problems}
    assert got == {
        (f"{f}:3 conversion_id", "duplicate conversion_id"),
        (f"{f}:4 kind", "missing value"),
        (f"{f}:4 amount", "not a money amount"),
        (f"{f}:4 won", "not true/false"),
    }


def test_unknown_and_missing_columns(tmp_path):
    f = _write(tmp_path / "tp.csv", "person,ts,campaing\np1,2024-01-01T00:00:00Z,x")
    with pytest.raises(MarketopsError) as err:
        load_path("touchpoints", f)
    messages = {p.message for p in err.value.problems}
    assert {
        "missing column 'person_id'",
        "unknown column 'person'",
        "unknown column 'campaing'",
    } <= messages


def test_good_files_load_with_decimal_money_and_utc(tmp_path):
    tp = _write(tmp_path / "tp.csv", "person_id,ts,channel\np1,2024-01-01T02:00:00+02:00,ads")
    cv = _write(
        tmp_path / "cv.csv",
        "conversion_id,person_id,ts,kind,amount\nc1,p1,2024-01-02T00:00:00Z,won,12.30",
    )
    costs = _write(tmp_path / "costs.csv", "campaign,channel,day,spend\nx,ads,2024-01-01,5")
    con = connect()
    load_files(con, tp, cv, costs)
    row = con.table("conversions").to_pyarrow().to_pylist()[0]
    assert row["amount"] == Decimal("12.30")
    ts = con.table("touchpoints").to_pyarrow().column("ts")[0].as_py()
    assert ts.isoformat() == "2024-01-01T00:00:00+00:00"
    assert con.table("costs").to_pyarrow().column("spend")[0].as_py() == Decimal("5.00")
    con.disconnect()


def test_parquet_rows_are_numbered_and_naive_times_rejected(tmp_path):
    f = tmp_path / "tp.parquet"
    pq.write_table(
        pa.table({"person_id": ["a", None], "ts": pa.array([0, 1], pa.timestamp("s", tz="UTC"))}), f
    )
    with pytest.raises(MarketopsError) as err:
        load_path("touchpoints", f)
    assert [p.where for p in err.value.problems] == [f"{f} row 2 person_id"]
    g = tmp_path / "naive.parquet"
    pq.write_table(pa.table({"person_id": ["a"], "ts": pa.array([0], pa.timestamp("s"))}), g)
    with pytest.raises(MarketopsError, match="bad value"):
        load_path("touchpoints", g)


def test_all_files_checked_before_failing(tmp_path):
    tp = _write(tmp_path / "tp.csv", "person_id,ts\n,2024-01-01T00:00:00Z")
    with pytest.raises(MarketopsError) as err:
        load_files(connect(), tp, tmp_path / "missing.csv")
    wheres = " ".join(p.where for p in err.value.problems)
    assert "tp.csv:2" in wheres and "missing.csv" in wheres


def test_records_are_indexed():
    with pytest.raises(MarketopsError) as err:
        load_records("costs", [{"campaign": "x", "day": "2024-13-01", "spend": "1"}])
    assert [p.where for p in err.value.problems] == ["costs[0] day"]

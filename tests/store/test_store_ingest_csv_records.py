"""The batch reader hands the workers each CSV record's text (`ingest.csv_records`); parsed
(`batch_worker.csv_list_of`, `Setup.record`) they must be exactly the rows `csv_lists` reads,
and the repeat marker must read the same email from a text as from its row."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from marketops.services.batch_worker import _field, csv_list_of
from marketops.services.ingest import csv_lists, csv_records

TRICKY = (
    "\ufeffemail,first_name,message,employees\r\n"
    "a@x.com,Ann,plain,10\r\n"
    "\r\n"  # blank: skipped by both
    'b@x.com,"Bo, Jr.","said ""hi""",20\r\n'
    'c@x.com,Cy,"two\r\nlines, and a quote "" inside",30\r\n'
    'd@x.com,Di,5" screen,40\n'  # a quote inside an unquoted value is text
    "\n"
    '"e@x.com",Ed,"three\nshort\nlines",\n'
    "  \n"  # whitespace only: a record of one value for csv.reader
    ",,,\n"
    "f@x.com,Fay,no newline at the end,60"
)


def _read(text: str, reader):  # type: ignore[no-untyped-def]
    fh = io.StringIO(text.encode().decode("utf-8-sig"), newline="")
    header, rows = reader(fh)
    return header, list(rows)


def test_record_texts_parse_to_the_rows_csv_reads() -> None:
    header, rows = _read(TRICKY, csv_lists)
    header2, texts = _read(TRICKY, csv_records)
    assert header2 == header == ["email", "first_name", "message", "employees"]
    assert len(texts) == len(rows) == 8
    assert [csv_list_of(t) for t in texts] == rows
    assert [next(csv.reader((t,))) for t in texts] == rows  # `Setup.record`'s one-text parse
    assert rows[2][2] == 'two\r\nlines, and a quote " inside'
    assert rows[3][2] == '5" screen'


@pytest.mark.parametrize("at", [0, 1, 2, 3, 7])
def test_repeat_marker_reads_the_row_value(at: int) -> None:
    _, rows = _read(TRICKY, csv_lists)
    _, texts = _read(TRICKY, csv_records)
    assert [_field(t, at) for t in texts] == [r[at] if at < len(r) else "" for r in rows]


def test_a_file_read_both_ways(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(TRICKY, encoding="utf-8", newline="")
    with (
        path.open(newline="", encoding="utf-8-sig") as a,
        path.open(newline="", encoding="utf-8-sig") as b,
    ):
        header, rows = csv_lists(a)
        header2, texts = csv_records(b)
        assert header2 == header
        assert [csv_list_of(t) for t in texts] == list(rows)


@pytest.mark.parametrize(
    "text",
    [
        "a@x.com,Ann,,10\r\n",
        "a@x.com,Ann,,10\n",
        "a@x.com,Ann,,10\r",
        "a@x.com,Ann,,10",
        ",,,\n",
        "  \n",
        " a , b ,\t,\\,\x00\n",  # spaces, tab, backslash (no escape character), NUL
        "é,\u2028,\u00a0\r\n",
        'a,"b",c\r\n',
        'a,5" screen,c\n',
        "a\rb,c\n",  # a line break inside an unquoted value: the reader's error
        "a,b\n\n",
        "\r\n",
        "",
    ],
)
def test_one_record_text_parses_as_the_reader_parses_it(text: str) -> None:
    from marketops.services.batch_worker import csv_list_of

    try:
        want = next(csv.reader((text,)), [])
    except csv.Error as e:
        with pytest.raises(csv.Error, match=str(e)[:20]):
            csv_list_of(text)
        return
    assert csv_list_of(text) == want


def test_setup_record_pairs_as_csv_row(workspace_dir: Path) -> None:
    from marketops.pipeline.runner import CompiledConfig
    from marketops.pipeline.suppress import SuppressionIndex
    from marketops.services.batch_worker import Setup, csv_row
    from marketops.workspace import Workspace

    cfg = CompiledConfig.from_workspace(Workspace.load(workspace_dir))
    setup = Setup(cfg, SuppressionIndex.from_entries([]), [], None, "sqlite", "f.csv", "ab")
    _, rows = _read(TRICKY, csv_lists)
    _, texts = _read(TRICKY, csv_records)
    for header in (["email", "first_name", "message", "employees"], [" email", "", "m", "e"]):
        setup.csv_header = header
        for row, text in zip(rows, texts, strict=True):
            assert setup.record(text) == csv_row(header, row) == setup.record(row)
            assert list(setup.record(text)) == list(csv_row(header, row))

"""The report's XLSX writer, read back by openpyxl and pandas: every kind of value
the HR tables hold arrives as the same value, and text never becomes a formula."""

from __future__ import annotations

import io
from datetime import date, datetime

import numpy as np
import openpyxl
import pandas as pd
import pytest

from autograde.reporting import xlsx


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "text": pd.Series(["Ana <&> \"Lopez\"", "  spaced  ", "=SUM(A1:A2)", None, "Zoë 市役所\tok"], dtype="str"),
        "bad": pd.Series(["bell\x07here", "nul\x00", "ok", "", "x"], dtype="str"),
        "status": pd.Categorical(["complete", "overdue", "complete", "not started", "submitted"]),
        "count": pd.Series([0, 1, -2, 10**12, 7], dtype="int64"),
        "score": [27.0, 7.5, float("nan"), 0.1, 43.333333333333336],
        "maybe": pd.array([1, None, 3, None, 5], dtype="Int64"),
        "late": [True, False, False, True, False],
        "due": pd.to_datetime(["2026-11-20", "2027-02-04", None, "1999-12-31", "2026-03-01"]),
        "submitted_at": pd.to_datetime(["2026-11-20 10:15:42", None, "2026-10-24 20:43:38", "2026-01-01 00:00:00", "2026-12-31 23:59:59"]),
    })


def read_back(sheets, dates=frozenset({"due"})):
    buffer = io.BytesIO()
    xlsx.write_workbook(buffer, sheets, dates)
    buffer.seek(0)
    return openpyxl.load_workbook(buffer), buffer


def test_every_kind_of_value_reads_back_as_itself():
    book, _ = read_back({"Data": frame()})
    sheet = book["Data"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == tuple(frame().columns)
    assert rows[1:] == [
        ('Ana <&> "Lopez"', "bellhere", "complete", 0, 27.0, 1, True, datetime(2026, 11, 20), datetime(2026, 11, 20, 10, 15, 42)),
        ("  spaced  ", "nul", "overdue", 1, 7.5, None, False, datetime(2027, 2, 4), None),
        ("=SUM(A1:A2)", "ok", "complete", -2, None, 3, False, None, datetime(2026, 10, 24, 20, 43, 38)),
        (None, "", "not started", 10**12, 0.1, None, True, datetime(1999, 12, 31), datetime(2026, 1, 1)),
        ("Zoë 市役所\tok", "x", "submitted", 7, 43.333333333333336, 5, False, datetime(2026, 3, 1), datetime(2026, 12, 31, 23, 59, 59)),
    ]
    # text is text (never a formula); dates and times carry their formats
    assert sheet["A4"].data_type == "s" and sheet["A4"].value.startswith("=")
    assert sheet["H2"].number_format == "yyyy\\-mm\\-dd" and sheet["I2"].number_format == "yyyy\\-mm\\-dd\\ hh:mm"
    assert sheet["A1"].font.b and not sheet["A2"].font.b
    assert sheet.freeze_panes == "A2"


def test_pandas_reads_the_same_table():
    _, buffer = read_back({"Data": frame()})
    back = pd.read_excel(buffer, sheet_name="Data")
    original = frame()
    assert back["count"].tolist() == original["count"].tolist()
    assert back["late"].tolist() == original["late"].tolist()
    assert back["score"].fillna(-1).tolist() == original["score"].fillna(-1).tolist()
    assert [d.date() if not pd.isna(d) else None for d in back["due"]] == [
        date(2026, 11, 20), date(2027, 2, 4), None, date(1999, 12, 31), date(2026, 3, 1)]


def test_sheets_keep_their_order_and_wide_and_empty_tables_work():
    wide = pd.DataFrame([list(range(30))], columns=[f"c{i}" for i in range(30)])
    empty = pd.DataFrame({"employee_id": pd.Series([], dtype="str"), "due": pd.Series([], dtype="datetime64[us]")})
    book, _ = read_back({"About": pd.DataFrame({"item": ["a"], "value": ["b"]}), "Wide": wide, "At risk": empty})
    assert book.sheetnames == ["About", "Wide", "At risk"]
    assert list(book["Wide"].iter_rows(values_only=True)) == [tuple(wide.columns), tuple(range(30))]
    assert book["Wide"]["AD2"].value == 29
    assert list(book["At risk"].iter_rows(values_only=True)) == [("employee_id", "due")]


@pytest.mark.parametrize("name", ["", "a" * 32, "Over/due", "what?"])
def test_a_bad_sheet_name_is_refused_before_anything_is_written(name):
    buffer = io.BytesIO()
    with pytest.raises(ValueError, match="not a valid sheet name"):
        xlsx.write_workbook(buffer, {name: frame()})
    assert buffer.getvalue() == b""


def test_column_letters():
    assert [xlsx.column_letter(i) for i in (0, 25, 26, 51, 52, 701, 702)] == ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]

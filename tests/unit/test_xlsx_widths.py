"""xlsx.py: column widths from content, no visible apostrophe, 32,767 characters per cell at most.
Read back with openpyxl, and with LibreOffice headless where it is installed."""

from __future__ import annotations

import io
import shutil
import subprocess

import openpyxl
import pandas as pd
import pytest

from autograde.reporting import xlsx

LONG_NAME = "Maria-Fernanda de los Santos Villanueva"  # 39 characters
FRAME = pd.DataFrame({
    "employee_id": ["ana", "maria.fernanda"],
    "name": ["Ana Reyes", LONG_NAME],
    "department": ["=HYPERLINK(\"x\")", "Parks"],
    "score": [21.5, 3.0],
    "due": pd.to_datetime(["2026-03-13", "2026-03-20"]),
    "late": [True, False],
})


def book(frame: pd.DataFrame, date_columns=frozenset({"due"})):
    buf = io.BytesIO()
    xlsx.write_workbook(buf, {"Completion": frame}, date_columns)
    buf.seek(0)
    return buf.getvalue(), openpyxl.load_workbook(buf)


def test_every_column_is_at_least_as_wide_as_its_longest_label():
    _, wb = book(FRAME)
    dims = wb["Completion"].column_dimensions
    # by hand: employee_id 14 chars, name 39, department 15, score header 5, due 10, late "FALSE" 5 / header 4
    longest = {"A": len("maria.fernanda"), "B": len(LONG_NAME), "C": len('=HYPERLINK("x")'), "D": len("score"),
               "E": len("yyyy-mm-dd"), "F": len("FALSE")}
    for letter, chars in longest.items():
        assert dims[letter].customWidth and dims[letter].width >= chars, (letter, dims[letter].width)
    assert dims["B"].width < 60  # from the content, not one huge width everywhere


def test_text_is_kept_as_written_with_no_apostrophe():
    _, wb = book(FRAME)
    ws = wb["Completion"]
    assert ws["C2"].value == '=HYPERLINK("x")' and ws["C2"].data_type == "s"
    assert ws["B3"].value == LONG_NAME


def test_a_cell_holds_at_most_32767_characters():
    frame = pd.DataFrame({"note": ["x" * 40_000]})
    _, wb = book(frame, frozenset())
    value = wb.active["A2"].value
    assert len(value) == 32_767 and value.endswith("…")
    assert wb.active.column_dimensions["A"].width == 255


def test_libreoffice_opens_it_with_the_widths(tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed here: the openpyxl checks above stand alone")
    data, _ = book(FRAME)
    (tmp_path / "in.xlsx").write_bytes(data)
    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/profile", "--convert-to", "xlsx",
                    "--outdir", str(tmp_path / "out"), str(tmp_path / "in.xlsx")], check=True, timeout=300,
                   capture_output=True)
    wb = openpyxl.load_workbook(tmp_path / "out" / "in.xlsx")
    ws = wb.active
    assert ws["B3"].value == LONG_NAME and ws["C2"].value == '=HYPERLINK("x")'
    assert ws.column_dimensions["B"].width >= len(LONG_NAME)

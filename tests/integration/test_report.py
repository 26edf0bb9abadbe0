"""The HR report: self-contained HTML, CSV and XLSX, dated snapshots never overwritten,
personal files mode 0600, and no reflection text or answer anywhere in it."""

from __future__ import annotations

import hashlib
import html
import json
import shutil
import stat
import zipfile
from datetime import datetime, timezone

import openpyxl
import pytest
import pandas as pd

from autograde import roster
from autograde.cli import main
from autograde.record import audit
from autograde.reporting import report
from tests.hr_cohort import AS_OF, MODULE, PLANTED, ROSTER_CSV, grade_ana, module
from tests.integration.test_no_keys import key_fingerprints, leaks

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc)


def texts(files: report.ReportFiles) -> dict[str, str]:
    """Every output file as text; the XLSX's XML parts unzipped."""
    out = {}
    for path in files.all():
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                for name in z.namelist():
                    out[f"{path.name}:{name}"] = z.read(name).decode("utf-8", errors="replace")
        else:
            out[path.name] = html.unescape(path.read_text(encoding="utf-8"))
    return out


def test_report_has_the_tables_and_no_reflection_text_or_answer(tiny_cohort_copy):
    s = tiny_cohort_copy.settings
    grade_ana(s)
    # the planted reflection really is in Ana's submission, so its absence below means something
    assert PLANTED in (s.course_dir / "submitted" / "ana" / MODULE / f"{MODULE}.ipynb").read_text()
    filed = audit.record(s, "collect", by="trainer1")  # the head the manifest must carry
    files = report.write_report(s, as_of=AS_OF, now=NOW)

    assert files.folder == s.reports_dir / "2026-11-26T0930"
    assert stat.S_IMODE(files.folder.stat().st_mode) == 0o700
    for path in files.all():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path

    contents = texts(files)
    for name, text in contents.items():
        assert PLANTED not in text and "ZEBRA-QUINCE" not in text, name
        assert "brother-in-law" not in text, name
    assert leaks(contents, [module()], markers=True) == []
    assert not any(fp[:40] in text for text in contents.values() for fp in key_fingerprints(module()))

    page = files.html.read_text(encoding="utf-8")
    assert "<script" not in page.lower() and "http" not in page.lower() and "src=" not in page.lower()
    assert page.count("<svg") == 3 and "<style>" in page
    for expected in ("Completion by module", "Scores by standard", "Overdue (0)", "At risk (1)", "Cora Lin",
                     "Authenticity", "90.0%", "60.0%", "2/3 complete"):
        assert expected in page, expected
    # 01-authenticity: two practice role-plays of 2 points (completion), one scored from the path; 30 points
    assert "completion credit, not a score" in page and "Authenticity 4 of 30 points" in " ".join(page.split())

    completion_csv = pd.read_csv(files.csv["completion"])
    assert completion_csv.fillna({"score": -1.0})[["employee_id", "status", "score", "late"]].values.tolist() == [
        ["cora", "not started", -1.0, False], ["ana", "complete", 27.0, False], ["ben", "complete", 9.0, True]]
    assert completion_csv.loc[1, "due"] == "2026-11-20"
    assert pd.read_csv(files.csv["at-risk"])[["employee_id", "days_left"]].values.tolist() == [["cora", 4]]

    book = openpyxl.load_workbook(files.xlsx, read_only=True)
    assert book.sheetnames == ["About", "Completion", "Learners", "Modules", "Standards", "Cohorts", "Departments",
                               "Overdue", "At risk", "Recertification"]
    rows = list(book["Learners"].iter_rows(values_only=True))
    assert rows[0][:4] == ("employee_id", "name", "department", "cohort") and len(rows) == 4
    book.close()

    manifest = json.loads(files.manifest.read_text())
    assert manifest["as_of"] == "2026-11-26" and manifest["cohort"] is None
    # Ben's late mark rests on the server's clock: the page warns when it is not synchronized (autograde/clock.py)
    from autograde import clock

    assert manifest["clock_synced"] is clock.synced()
    assert ("Check the late marks" in page) is (not clock.synced())
    last = json.loads(audit.log_path(s).read_text().splitlines()[-1])
    assert last["sha256"] == filed["sha256"]
    assert manifest["audit_head"] == {"lines": last["n"], "sha256": filed["sha256"]}
    for name, digest in manifest["sha256"].items():
        assert hashlib.sha256((files.folder / name).read_bytes()).hexdigest() == digest


def test_snapshots_are_never_overwritten(tiny_cohort):
    s = tiny_cohort.settings
    first = report.write_report(s, as_of=AS_OF, now=NOW)
    before = {p.name: p.read_bytes() for p in first.all()}
    second = report.write_report(s, as_of=AS_OF, cohort="spring", now=NOW)  # same minute
    assert second.folder.name == "2026-11-26T0930-2" and first.folder != second.folder
    assert {p.name: p.read_bytes() for p in first.all()} == before
    assert json.loads(second.manifest.read_text())["cohort"] == "spring"
    assert "Cora Lin" not in second.html.read_text() and "spring" in second.html.read_text()


def test_spreadsheet_formulas_in_names_are_defused_in_csv_and_plain_text_in_xlsx(tiny_cohort_copy):
    s = tiny_cohort_copy.settings
    evil = ROSTER_CSV.replace("Ben,Okafor", '"=HYPERLINK(""http://x.example"",""hi"")",Okafor')
    (tiny_cohort_copy.root / "roster.csv").write_text(evil)
    assert roster.import_roster(s, tiny_cohort_copy.root / "roster.csv").updated == {"ben": ["first_name"]}
    files = report.write_report(s, as_of=AS_OF, now=NOW)
    names = pd.read_csv(files.csv["completion"])["name"].tolist()
    assert "'=HYPERLINK(\"http://x.example\",\"hi\") Okafor" in names
    book = openpyxl.load_workbook(files.xlsx)
    cells = [c for row in book["Completion"].iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value]
    # in the workbook the name is text exactly as given (an inline string is never a formula),
    # with no visible apostrophe: the defusing is the CSV's
    assert cells and all(c.data_type == "s" and c.value == '=HYPERLINK("http://x.example","hi") Okafor' for c in cells)
    with zipfile.ZipFile(files.xlsx) as z:
        assert all("<f>" not in z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))
    page = files.html.read_text()
    assert "=HYPERLINK(&#34;http" in page  # shown as text in the HTML, escaped


def test_cli_report_prints_the_paths(tiny_cohort, capsys):
    s = tiny_cohort.settings
    assert main(["--state-dir", str(s.state_dir), "report", "--cohort", "autumn", "--as-of", "2026-12-01"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"Report snapshot: {s.reports_dir}/")
    paths = [line.strip() for line in out[1:]]
    assert [p.rsplit("/", 1)[1] for p in paths] == ["report.html", "completion.csv", "learners.csv", "overdue.csv",
                                                    "at-risk.csv", "recertification.csv", "report.xlsx", "manifest.json"]
    overdue = pd.read_csv(paths[3])
    assert overdue[["employee_id", "days_overdue"]].values.tolist() == [["cora", 1]]
    assert main(["--state-dir", str(s.state_dir), "report", "--cohort", "winter"]) == 2
    assert "unknown cohort 'winter'" in capsys.readouterr().err


def test_what_hr_knew_then_is_the_snapshot_of_that_day_and_it_verifies(tiny_cohort_copy, capsys):
    s = tiny_cohort_copy.settings
    shutil.rmtree(s.reports_dir, ignore_errors=True)  # the copy may hold the shared cohort's earlier snapshots
    first = report.write_report(s, as_of=AS_OF, now=datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc)).folder
    second = report.write_report(s, as_of=AS_OF, now=datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc)).folder
    grade_ana(s)
    for by in ("trainer1", "trainer2"):  # two lines in the trail before the later snapshot files its head
        audit.record(s, "collect", by=by, assignments=[MODULE])
    later = report.write_report(s, as_of=AS_OF, now=datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc)).folder
    assert json.loads((later / "manifest.json").read_text())["audit_head"]["lines"] == 2
    assert (first.name, second.name, later.name) == ("2026-11-26T0930", "2026-11-26T0930-2", "2026-12-03T0800")
    # on 1 December HR had the 26 November report (its second run that minute), before Ana's reflections were scored
    assert report.known_on(s, datetime(2026, 12, 1).date()) == second
    assert main(["--state-dir", str(s.state_dir), "report", "--known-on", "2026-12-01"]) == 0
    assert f"Report snapshot: {second}" in capsys.readouterr().out
    assert "awaiting reflection grading" in pd.read_csv(second / "completion.csv").set_index("employee_id").loc["ana", "status"]
    with pytest.raises(report.SnapshotError, match="no HR report snapshot was made on or before 2026-11-25"):
        report.known_on(s, datetime(2026, 11, 25).date())
    # a changed file, an added file, a rewritten audit trail: each named
    csv = second / "completion.csv"
    csv.chmod(0o600)
    csv.write_text(csv.read_text().replace("awaiting reflection grading", "complete"))
    with pytest.raises(report.SnapshotError, match="completion.csv: its content no longer matches"):
        report.verify_snapshot(s, second)
    (first / "notes.txt").write_text("added later")
    with pytest.raises(report.SnapshotError, match="notes.txt not in the manifest"):
        report.verify_snapshot(s, first)
    assert report.verify_snapshot(s, later)
    log = audit.log_path(s)
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[:-1]) + "\n")  # the last line before the later snapshot, cut
    with pytest.raises(report.SnapshotError, match="no longer holds the head"):
        report.verify_snapshot(s, later)

"""The HR report: one dated snapshot folder per run, never overwritten.

``<state>/reports/2026-11-26T0930/`` holds

* ``report.html``: self-contained (inline CSS, inline SVG charts, no script, no
  external address): completion by module, scores by standard, by cohort and
  department, the overdue and at-risk lists, per-learner totals;
* ``completion.csv`` (one row per learner × module), ``learners.csv``,
  ``overdue.csv``, ``at-risk.csv``, and ``report.xlsx`` with every table;
* ``manifest.json``: when, as of which date, for which cohort, the SHA-256
  of each file, and ``audit_head``, the audit trail's head then (lines and the last line's
  hash; ``hcwh audit verify --head LINES:SHA256`` checks the log against a filed copy).

Every file is created mode 0600 (the folder 0700): they name employees. They
hold scores and dates only; no reflection text and no answer is ever read.
The HTML comes from the Jinja2 template ``templates/hr_report.html.j2``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from autograde import clock
from autograde.catalog import module_catalog
from autograde.config import Settings
from autograde.errors import HcwhError
from autograde.private import create_private, private_dir
from autograde.record import audit
from autograde.reporting import completion, recert, xlsx
from autograde.reporting.completion import AT_RISK_DAYS, STATUSES

TEMPLATES = Path(__file__).parent / "templates"
STATUS_COLORS = {  # colour-blind-safe (Okabe-Ito), each with a text label beside it
    "complete": "#009E73",
    "awaiting reflection grading": "#56B4E9",
    "submitted": "#F0E442",
    "not started": "#C8C8C8",
    "overdue": "#D55E00",
}
STATUS_ORDER = ("complete", "awaiting reflection grading", "submitted", "not started", "overdue")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run these as formulas


@dataclass
class ReportFiles:
    folder: Path
    html: Path
    xlsx: Path
    csv: dict[str, Path]
    manifest: Path

    def all(self) -> list[Path]:
        return [self.html, *self.csv.values(), self.xlsx, self.manifest]


@dataclass
class Tables:
    """Everything the report shows, computed once from the completion table."""

    completion: pd.DataFrame
    learners: pd.DataFrame
    modules: pd.DataFrame
    standards: pd.DataFrame
    cohorts: pd.DataFrame
    departments: pd.DataFrame
    overdue: pd.DataFrame
    at_risk: pd.DataFrame
    as_of: date
    at_risk_days: int = AT_RISK_DAYS
    cohort: str | None = None
    extra: dict = field(default_factory=dict)


def make_tables(table: pd.DataFrame, as_of: date, cohort: str | None = None, at_risk_days: int = AT_RISK_DAYS) -> Tables:
    return Tables(
        completion=table,
        learners=completion.totals(table, "learner"),
        modules=completion.totals(table, "module"),
        standards=completion.totals(table, "standard"),
        cohorts=completion.suppress_small(completion.totals(table, "cohort")),
        departments=completion.suppress_small(completion.totals(table, "department")),
        overdue=completion.overdue(table, as_of),
        at_risk=completion.at_risk(table, as_of, at_risk_days),
        as_of=as_of,
        at_risk_days=at_risk_days,
        cohort=cohort,
    )


# -- charts: geometry here, SVG markup in the template ---------------------------------

CHART_WIDTH = 720
LABEL_WIDTH = 200
BAR_HEIGHT = 22
BAR_GAP = 10
PLOT_WIDTH = CHART_WIDTH - LABEL_WIDTH - 130


@dataclass(frozen=True)
class Segment:
    x: float
    width: float
    color: str
    status: str
    count: int


@dataclass(frozen=True)
class Bar:
    label: str
    y: float
    width: float  # for simple bars
    segments: tuple[Segment, ...]
    note: str


def stacked_chart(totals: pd.DataFrame, label: str) -> dict:
    """One bar per row of ``totals`` (a completion.totals frame), split by status."""
    bars = []
    for n, row in enumerate(totals.to_dict("records")):
        x = float(LABEL_WIDTH)
        segments = []
        for status in STATUS_ORDER:
            count = int(row[completion.COUNTS[status]])
            width = PLOT_WIDTH * count / row["assignments"] if row["assignments"] else 0.0
            if count:
                segments.append(Segment(round(x, 2), round(width, 2), STATUS_COLORS[status], status, count))
            x += width
        note = f"{row['complete']}/{row['assignments']} complete"
        bars.append(Bar(str(row[label]), n * (BAR_HEIGHT + BAR_GAP), PLOT_WIDTH, tuple(segments), note))
    height = len(bars) * (BAR_HEIGHT + BAR_GAP) + 10
    return {"width": CHART_WIDTH, "height": height, "bars": bars, "bar_height": BAR_HEIGHT,
            "label_width": LABEL_WIDTH, "plot_width": PLOT_WIDTH}


def bar_chart(rows: list[tuple[str, float | None, str]], maximum: float = 100.0,
              ticks: tuple[float, ...] = (0, 25, 50, 75, 100), unit: str = "%") -> dict:
    """One bar per ``(label, value, note)``: value on a 0..``maximum`` scale (None: no bar), the note
    written beside it in words (the chart's text equivalent, never colour alone)."""
    bars = []
    for n, (label, value, note) in enumerate(rows):
        has = value is not None and not (isinstance(value, float) and math.isnan(value))
        width = PLOT_WIDTH * min(value, maximum) / maximum if has and maximum else 0.0
        bars.append(Bar(str(label), n * (BAR_HEIGHT + BAR_GAP), round(width, 2), (), note))
    height = len(bars) * (BAR_HEIGHT + BAR_GAP) + 30
    tick_marks = [(LABEL_WIDTH + PLOT_WIDTH * t / maximum, f"{t:g}{unit}") for t in ticks] if maximum else []
    return {"width": CHART_WIDTH, "height": height, "bars": bars, "ticks": tick_marks, "bar_height": BAR_HEIGHT,
            "label_width": LABEL_WIDTH, "plot_width": PLOT_WIDTH}


def percent_chart(totals: pd.DataFrame, label: str) -> dict:
    """One bar per row: the mean percent of complete modules (0..100)."""
    rows = []
    for row in totals.to_dict("records"):
        value = row["mean_percent"]
        has = value is not None and not (isinstance(value, float) and math.isnan(value))
        rows.append((row[label], value if has else None,
                     f"{value:.1f}% (n={row['complete']})" if has else "no complete module yet"))
    return bar_chart(rows)


# -- HTML ---------------------------------------------------------------------------


def _num(value, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}".rstrip("0").rstrip(".") if not value.is_integer() else f"{int(value)}"
    return str(value)


def _pct(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.1f}%"


def _share(value) -> str:
    """A 0..1 share as a percent; empty as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{100 * value:.1f}%"


def _day(value) -> str:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return pd.Timestamp(value).strftime("%Y-%m-%d")


_CELLS = {"pct": lambda v: f'<td class="n">{escape(_share(v))}</td>',
          "n": lambda v: f'<td class="n">{escape(_num(v, 2))}</td>',
          "text": lambda v: f"<td>{escape(v)}</td>"}


def _table_rows(rows: list[dict], columns: list[tuple[str, str, str]]) -> Markup:
    """The body rows of ``_shared.html.j2``'s ``data_table``, one ``<tr>`` per row, each cell by its
    column's kind ("pct": a share as a percent, "n": a number, else text), escaped. In Python: the
    template's own loop took most of a second for the trainers' 10,000 learners."""
    cells = [(key, _CELLS.get(kind, _CELLS["text"])) for key, _, kind in columns]
    return Markup("".join(f"    <tr>{''.join([cell(row[key]) for key, cell in cells])}</tr>\n" for row in rows))


def environment() -> Environment:
    """The reports' Jinja environment: autoescaped, strict, with the ``num``, ``pct`` and ``day`` filters."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=_num, pct=_pct, share=_share, day=_day, table_rows=_table_rows)
    return env


def _recert_context(frame: pd.DataFrame | None) -> dict:
    if frame is None:
        return {"recert": None}
    counts = frame["status"].value_counts()
    return {"recert": frame.to_dict("records"),
            "recert_due": frame[frame["status"] != "current"].to_dict("records"),
            "recert_counts": [(s, int(counts.get(s, 0))) for s in recert.STATUSES]}


def render_html(t: Tables, generated_at: datetime, timezone_name: str) -> str:
    table = t.completion
    counts = {s: int((table["status"] == s).sum()) for s in STATUSES}
    context = {
        "title": "Customer Service Framework training: cohort completion",
        "cohort": t.cohort,
        "as_of": t.as_of,
        "generated_at": generated_at,
        "timezone": timezone_name,
        "at_risk_days": t.at_risk_days,
        "learner_count": int(table["employee_id"].nunique()),
        "assignment_count": len(table),
        "counts": counts,
        "complete_percent": (100 * counts["complete"] / len(table)) if len(table) else float("nan"),
        "late_count": int(table["late"].sum()),
        # late marks rest on the server's clock: say so when it is not synchronized (autograde/clock.py)
        "clock_warning": clock.status().warning() if int(table["late"].sum()) else "",
        "status_colors": STATUS_COLORS,
        "status_order": STATUS_ORDER,
        "module_chart": stacked_chart(t.modules, "module"),
        "department_chart": stacked_chart(t.departments, "department"),
        "standard_chart": percent_chart(t.standards, "standard"),
        "completion_credit": t.extra.get("completion_credit", []),
        "modules": t.modules.to_dict("records"),
        "standards": t.standards.to_dict("records"),
        "cohorts": t.cohorts.to_dict("records"),
        "departments": t.departments.to_dict("records"),
        "learners": t.learners.to_dict("records"),
        "overdue": t.overdue.to_dict("records"),
        "at_risk": t.at_risk.to_dict("records"),
        "schema": completion.SCHEMA,
        "min_group": completion.MIN_GROUP,
        **_recert_context(t.extra.get("recert")),
    }
    return environment().get_template("hr_report.html.j2").render(**context)


# -- exports -------------------------------------------------------------------------


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``...)
    gets a leading apostrophe, as OWASP advises for CSV exports."""
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_string_dtype(out[col].dtype) and not pd.api.types.is_datetime64_any_dtype(out[col].dtype):
            texts = out[col]
            risky = texts.str.startswith(FORMULA_START, na=False)
            if risky.any():
                out[col] = texts.where(~risky, "'" + texts)
    return out


DATE_COLUMNS = {c.name for c in completion.SCHEMA if c.kind == "date"} | set(recert.DATE_COLUMNS)  # days, no time


def _for_csv(frame: pd.DataFrame) -> pd.DataFrame:
    out = spreadsheet_safe(frame)
    for col in out.columns:
        if pd.api.types.is_datetime64_dtype(out[col].dtype):
            out[col] = out[col].dt.strftime("%Y-%m-%d" if col in DATE_COLUMNS else "%Y-%m-%d %H:%M")
    return out


def _csv_column(values: pd.Series) -> list:
    """A column's cells as the csv module writes them: a missing value (NaN, NA, NaT) as an empty
    cell, the rest as they are (Python's float repr is the shortest that reads back, as pandas'
    own writer gives it)."""
    cells = values.tolist()
    if values.hasnans:
        for k in np.flatnonzero(values.isna().to_numpy()):
            cells[k] = None
    return cells


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    """``frame`` as CSV, created 0600, formulas defused, dates as calendar days. By the csv module,
    column by column: pandas' writer took 0.6 s for the trainers' 10,000 learners × 105 columns."""
    out = _for_csv(frame)
    with create_private(path) as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow([str(c) for c in out.columns])
        writer.writerows(zip(*(_csv_column(out.iloc[:, k]) for k in range(out.shape[1]))))


def _write_xlsx(path: Path, t: Tables, about: list[tuple[str, str]]) -> None:
    """One sheet per table (see ``xlsx.py``: openpyxl took 7.7 s for 10,000 learners)."""
    sheets = {
        "About": pd.DataFrame(about, columns=["item", "value"]).astype("str"),
        "Completion": t.completion, "Learners": t.learners, "Modules": t.modules, "Standards": t.standards,
        "Cohorts": t.cohorts, "Departments": t.departments, "Overdue": t.overdue, "At risk": t.at_risk,
    }
    if t.extra.get("recert") is not None:
        sheets["Recertification"] = t.extra["recert"]
    with create_private(path, binary=True) as f:
        xlsx.write_workbook(f, dict(sheets), frozenset(DATE_COLUMNS))  # inline strings: never formulas


def snapshot_folder(reports_dir: Path, when: datetime) -> Path:
    """A new folder named for ``when`` (``2026-11-26T0930``, then ``-2``, ``-3``...):
    an earlier snapshot is never touched."""
    private_dir(reports_dir)
    base = when.strftime("%Y-%m-%dT%H%M")
    for n in range(1, 1000):
        folder = reports_dir / (base if n == 1 else f"{base}-{n}")
        try:
            return private_dir(folder, exist_ok=False)
        except FileExistsError:
            continue
    raise RuntimeError(f"too many reports for {base} in {reports_dir}")


def write_files(reports_dir: Path, t: Tables, generated_at: datetime, timezone_name: str,
                audit_head: audit.Head) -> ReportFiles:
    """Write one snapshot of ``t`` (``audit_head`` into its manifest, for filing); returns the paths."""
    folder = snapshot_folder(reports_dir, generated_at)
    files = ReportFiles(
        folder=folder, html=folder / "report.html", xlsx=folder / "report.xlsx",
        csv={name: folder / f"{name}.csv" for name in ("completion", "learners", "overdue", "at-risk")},
        manifest=folder / "manifest.json",
    )
    with create_private(files.html) as f:
        f.write(render_html(t, generated_at, timezone_name))
    if "recert" in t.extra:
        files.csv["recertification"] = folder / "recertification.csv"
    for name, frame in (("completion", t.completion), ("learners", t.learners), ("overdue", t.overdue),
                        ("at-risk", t.at_risk), ("recertification", t.extra.get("recert"))):
        if name in files.csv:
            write_csv(files.csv[name], frame)
    about = [
        ("report", "Customer Service Framework training: cohort completion"),
        ("cohort", t.cohort or "all cohorts"),
        ("as of", t.as_of.isoformat()),
        ("generated at", generated_at.isoformat(timespec="seconds")),
        ("city clock", timezone_name),
        ("at risk", f"not submitted and due within {t.at_risk_days} days of the as-of date"),
        *[(f"column {c.name}", c.description) for c in completion.SCHEMA],
    ]
    _write_xlsx(files.xlsx, t, about)
    write_manifest(files.manifest, [p for p in files.all() if p != files.manifest], {
        "generated_at": generated_at.isoformat(timespec="seconds"),
        "as_of": t.as_of.isoformat(),
        "cohort": t.cohort,
        "timezone": timezone_name,
        "at_risk_days": t.at_risk_days,
        "clock_synced": clock.synced(),
        "rows": {"completion": len(t.completion), "learners": len(t.learners), "overdue": len(t.overdue),
                 "at_risk": len(t.at_risk)},
    }, audit_head)
    return files


def write_manifest(path: Path, files: list[Path], fields: dict, audit_head: audit.Head) -> None:
    """A snapshot's ``manifest.json`` (0600): ``fields``, the SHA-256 of each of ``files`` and the
    audit trail's head (file it: ``hcwh audit verify --head LINES:SHA256`` checks the log against it)."""
    manifest = {**fields, "sha256": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files},
                "audit_head": audit_head.as_dict()}
    with create_private(path) as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


def write_report(s: Settings, as_of: date | None = None, cohort: str | None = None,
                 at_risk_days: int = AT_RISK_DAYS, now: datetime | None = None) -> ReportFiles:
    """Build the completion table from the gradebook and roster, and write a snapshot."""
    as_of = as_of or completion.today(s)
    table = completion.completion_table(s, as_of=as_of, cohort=cohort)
    generated_at = (now or datetime.now(ZoneInfo(s.timezone))).astimezone(ZoneInfo(s.timezone))
    tables = make_tables(table, as_of, cohort, at_risk_days)
    tables.extra["completion_credit"] = completion_credit(module_catalog(s).values())
    tables.extra["recert"] = recert.table_for(s, table, as_of)
    return write_files(s.reports_dir, tables, generated_at, s.timezone, audit.head(s))


def completion_credit(modules) -> list[dict]:
    """Per standard, the points that are completion credit (practice role-plays played to an
    ending, whatever was chosen) out of its modules' points: the report labels them as such."""
    out: dict[str, dict] = {}
    for m in modules:
        row = out.setdefault(m.standard, {"standard": m.standard, "completion_points": 0.0, "points": 0.0})
        row["completion_points"] += m.completion_points
        row["points"] += m.points
    return [row for row in out.values() if row["completion_points"]]


# -- what HR knew then ------------------------------------------------------------------


class SnapshotError(HcwhError, ValueError):
    """A snapshot that cannot be found or does not verify; the message names the file."""


def known_on(s: Settings, day: date) -> Path:
    """The newest snapshot made on or before ``day`` (city time): what HR's report said then."""
    folders = sorted(p for p in s.reports_dir.iterdir() if p.is_dir() and p.name[:10] <= day.isoformat()) \
        if s.reports_dir.is_dir() else []
    if not folders:
        raise SnapshotError(f"no HR report snapshot was made on or before {day.isoformat()} in {s.reports_dir}")
    return max(folders, key=lambda p: (p.name[:15], int(p.name[16:]) if len(p.name) > 16 else 1))  # "-2" after


def verify_snapshot(s: Settings, folder: Path) -> list[str]:
    """Check every file of a snapshot against its manifest, and the manifest's audit head against
    the audit trail now. Returns what was checked; raises SnapshotError naming the first fault."""
    manifest_path = folder / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SnapshotError(f"{manifest_path}: cannot be read as a manifest ({exc})") from None
    checked = []
    for name, sha in sorted(manifest.get("sha256", {}).items()):
        path = folder / name
        if not path.is_file():
            raise SnapshotError(f"{path}: listed in the manifest but missing")
        if hashlib.sha256(path.read_bytes()).hexdigest() != sha:
            raise SnapshotError(f"{path}: its content no longer matches the manifest: it was changed")
        checked.append(name)
    extra = sorted(p.name for p in folder.iterdir() if p.name not in manifest.get("sha256", {}) and p != manifest_path)
    if extra:
        raise SnapshotError(f"{folder}: {', '.join(extra)} not in the manifest: added after the snapshot was made")
    head = manifest.get("audit_head")
    if head:
        verdict = audit.verify(audit.log_path(s), audit.Head(head["lines"], head["sha256"]))
        if not verdict.ok:
            raise SnapshotError(f"{folder}: the audit trail no longer holds the head this snapshot filed "
                                f"(line {verdict.line}: {verdict.problem})")
    return checked

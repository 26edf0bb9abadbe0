"""hcwh: the trainer's command line. Parsing only; the work is in plain functions."""

from __future__ import annotations

import argparse
import inspect
import sys
import warnings
from pathlib import Path

from autograde.config import Settings
from curriculum.builder import MODULES_DIR
from curriculum.errors import HcwhError


def _check(args, s: Settings) -> None:
    from autograde.course.build import check, maps_dir

    print(f"Role-play maps (SVG, one per role-play, problems marked) in {maps_dir(s)}")
    for m in check(Path(args.modules), maps_dir(s)):
        print(f"{m.id}: valid; {len(m.roleplays)} role-plays, {len(m.questions)} questions, "
              f"{len(m.reflections)} reflections, {m.points:g} points")


def _build(args, s: Settings) -> None:
    from autograde.course.build import build

    build(s, Path(args.modules))


def _release(args, s: Settings) -> None:
    from autograde.course import nbgrader_api as course
    from autograde.course.build import check

    module_ids = args.modules or [m.id for m in check()]
    from autograde.record.versions import record_release

    released_by = _operator()
    approved_by = args.approved_by or released_by
    course.prepare(s, module_ids)
    for n, module_id in enumerate(module_ids, start=1):
        course.generate(s, module_id)
        version = record_release(s, module_id, released_by, approved_by)
        print(f"[{n}/{len(module_ids)}] {module_id} version {version[:12]} (approved by {approved_by}) archived")
        if course.release(s, module_id):
            print(f"[{n}/{len(module_ids)}] released {module_id} again to {s.exchange_dir}: it replaces the copy "
                  "released before; learners who already fetched the module keep their copy (and their answers) "
                  "until they fetch it again, which needs their old folder moved aside first")
        else:
            print(f"[{n}/{len(module_ids)}] released {module_id} to {s.exchange_dir}")
    print(f"Gradebook: {s.gradebook_url}")


def _operator() -> str:
    """Who runs this command: the OS account's name (the audit trail's released_by/by)."""
    import getpass

    return getpass.getuser()


def _audit_verify(args, s: Settings) -> int:
    from autograde.record import audit

    filed = None
    if args.head:
        lines, _, sha = args.head.partition(":")
        if not lines.isdigit() or len(sha) != 64:
            print(f"error: --head {args.head!r} is not LINES:SHA256 (as in a report's manifest.json)", file=sys.stderr)
            return 2
        filed = audit.Head(int(lines), sha)
    path = Path(args.log) if args.log else audit.log_path(s)
    verdict = audit.verify(path, filed)
    if verdict.ok:
        print(f"{path}: {verdict.head.lines} lines, chain intact; head {verdict.head.lines}:{verdict.head.sha256}")
        return 0
    print(f"{path}: line {verdict.line}: {verdict.problem}", file=sys.stderr)
    return 1


def _demo(args, s: Settings) -> None:
    from autograde.course.build import build
    from autograde.course.demo import run_demo

    run_demo(s, build(s))


def _hub_url() -> str:
    import os

    return os.environ.get("HCWH_HUB_URL", "http://127.0.0.1:8000")


def _roster_import(args, s: Settings) -> None:
    from autograde.hub import people
    from autograde.roster import import_roster

    if people.hub_enabled(s) and not args.no_accounts:
        print(f"{args.file}: " + "\n".join(people.import_with_accounts(s, Path(args.file)).lines(_hub_url())))
    else:
        report = import_roster(s, Path(args.file))
        print(f"{args.file}: " + "\n".join(report.lines()))
    print(f"Roster: {s.roster_path}")


def _roster_add(args, s: Settings) -> None:
    from autograde.hub import people

    report = people.add_learner(s, args.employee_id, args.first_name, args.last_name, args.email,
                                args.department, args.hire_date, args.cohort)
    print("\n".join(report.lines(_hub_url())))


def _roster_leave(args, s: Settings) -> None:
    from autograde.hub import people

    print(people.leave(s, args.employee_id))


def _roster_jupyterlab(args, s: Settings) -> None:
    from autograde.hub import people

    print(people.set_jupyterlab(s, args.employee_id, args.switch == "on"))


def _staff_add(args, s: Settings) -> None:
    from autograde.hub import people

    print("\n".join(people.add_staff(s, args.name, args.role, args.full_name or "").lines(_hub_url())))


def _cohorts_import(args, s: Settings) -> None:
    from autograde.roster import import_cohorts

    report = import_cohorts(s, Path(args.file))
    print(f"{args.file}: " + "\n".join(report.lines()))
    print(f"Cohort plans: {s.roster_path}")


def _collect(args, s: Settings) -> None:
    from autograde.course.cycle import collect

    from autograde.record import audit

    collect(s, args.modules)
    audit.record(s, "collect", by=_operator(), assignments=args.modules or "every released module")


def _autograde(args, s: Settings) -> int:
    from autograde.course.cycle import autograde
    from autograde.errors import EXIT_MACHINE_FAULT, EXIT_STOPPED, MachineFault

    try:
        report = autograde(s, args.modules, engine=args.engine, workers=args.workers, progress=_say)
    except MachineFault as exc:
        print(f"error: autograde stopped, the machine is at fault, not the learners: {exc}\n"
              "No learner's grades, graded copies or feedback notes were changed by the one in progress; "
              "fix the cause and run hcwh autograde again.", file=sys.stderr)
        return EXIT_MACHINE_FAULT
    except KeyboardInterrupt as exc:
        print(f"autograde {exc or 'stopped by Ctrl-C'}: the learner in progress was put back as before; "
              "run hcwh autograde again to finish.", file=sys.stderr)
        return EXIT_STOPPED
    from autograde.record import audit

    audit.record(s, "autograde", by=_operator(), assignments=args.modules or "every released module",
                 failures=len(report.failures))
    return 1 if report.failures else 0


def _say(line: str) -> None:
    print(line, flush=True)  # each learner's line as it is written (a pipe would buffer it)


def _feedback(args, s: Settings) -> None:
    from autograde.course.cycle import feedback

    feedback(s, args.modules)


def _backup(args, s: Settings) -> None:
    from autograde.hub import backup

    backup.backup(s, Path(args.dest), Path(args.key) if args.key else None,
                  None if args.no_homes else Path(args.homes))


def _restore(args, s: Settings) -> None:
    from autograde.hub import backup

    backup.restore(Path(args.archive), Path(args.into), Path(args.key) if args.key else None,
                   None if args.no_homes else Path(args.homes), db_url=s.db_url, move_aside=args.move_aside)


def _backup_key(args, s: Settings) -> None:
    from autograde.hub import backup

    print(f"backup key {backup.make_key(Path(args.path), s.state_dir)} made (0600): keep a copy apart from the "
          "archives (e.g. IT's password safe); without it no archive can be restored")


def _report(args, s: Settings) -> None:
    from autograde.reporting.report import write_report

    files = write_report(s, as_of=args.as_of, cohort=args.cohort, at_risk_days=args.at_risk_days)
    print(f"Report snapshot: {files.folder}")
    for path in files.all():
        print(f"  {path}")


def _date(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date written YYYY-MM-DD") from None


def _default(func, name: str):
    """A parameter's default, taken from the function itself (one source for CLI and API)."""
    return inspect.signature(func).parameters[name].default


def main(argv: list[str] | None = None) -> int:
    from autograde.course.cycle import ENGINES, autograde
    from autograde.reporting.report import write_report

    # nbgrader 0.9.6 trips a harmless SQLAlchemy autoflush warning on every
    # autograde; it is nbgrader's, not the trainer's to act on.
    warnings.filterwarnings("ignore", module="nbgrader.api")
    parser = argparse.ArgumentParser(prog="hcwh", description="How Can We Help? course tools for trainers and HR.")
    parser.add_argument("--state-dir", help="runtime state folder (default: ./var or $HCWH_STATE_DIR)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func, help_text in (
        ("check", _check, "validate the content files; write only the role-play maps (SVG)"),
        ("build", _build, "validate, write source/ notebooks, generate release/ with nbgrader"),
        ("release", _release, "record the built modules in the gradebook and release them to the exchange"),
        ("demo", _demo, "build, then run one real nbgrader cycle on a synthetic cohort"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.set_defaults(func=func)
        if name in ("check", "build"):
            p.add_argument("--modules", default=str(MODULES_DIR), help="folder of module YAML files")
        if name == "release":
            p.add_argument("modules", nargs="*", help="module ids (default: all)")
            p.add_argument("--approved-by", help="who approved this release, for the audit trail "
                                                 "(default: the account running the release)")
    for name, func, help_text in (
        ("roster", _roster_import, "import the roster CSV (employee_id,first_name,last_name,email,department,hire_date,cohort)"),
        ("cohorts", _cohorts_import, "import the cohorts CSV (cohort,module,due_date[,assigned])"),
    ):
        p = sub.add_parser(name, help=help_text)
        verbs = p.add_subparsers(dest="verb", required=True)
        v = verbs.add_parser("import", help=help_text)
        v.add_argument("file", help="CSV file")
        v.set_defaults(func=func)
        if name == "roster":
            v.add_argument("--no-accounts", action="store_true",
                           help="on a hub: import only, make no hub logins or OS accounts")
            a = verbs.add_parser("add", help="on a hub: one new hire, the same day (checked as a roster row)")
            for col in ("employee_id", "first_name", "last_name", "email", "department", "hire_date", "cohort"):
                a.add_argument(col)
            a.set_defaults(func=_roster_add)
            lv = verbs.add_parser("leave", help="on a hub: a learner who left is locked out at once; records kept")
            lv.add_argument("employee_id")
            lv.set_defaults(func=_roster_leave)
            jl = verbs.add_parser("jupyterlab", help="on a hub: give one learner JupyterLab (and a link to it) "
                                  "from their next page start, or take it away")
            jl.add_argument("employee_id")
            jl.add_argument("switch", choices=("on", "off"))
            jl.set_defaults(func=_roster_jupyterlab)
    p = sub.add_parser("staff", help="on a hub: logins for trainers, HR and IT's break-glass admin")
    st = p.add_subparsers(dest="verb", required=True).add_parser("add", help="a login and its enrollment code")
    st.add_argument("name", help="login name (lower case)")
    st.add_argument("--role", required=True, choices=["trainer", "hr", "it"])
    st.add_argument("--full-name", help="the person's name, for the codes file")
    st.set_defaults(func=_staff_add)
    for name, func, help_text in (
        ("collect", _collect, "collect learners' submissions from the exchange"),
        ("autograde", _autograde, "autograde every collected submission; exit 1 if any failed, "
         "3 if the machine broke (nothing changed), 130 if stopped"),
        ("feedback", _feedback, "generate feedback for autograded submissions and release it to learners"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.set_defaults(func=func)
        p.add_argument("modules", nargs="*", help="module ids (default: every released module)")
        if name == "autograde":
            p.add_argument("--engine", choices=list(ENGINES), default=_default(autograde, "engine"),
                           help="fast: many learners at once, forked sandboxed kernels (default); "
                                "nbgrader: nbgrader's own autograde, one learner at a time")
            p.add_argument("--workers", type=int, default=_default(autograde, "workers"),
                           help="fast engine: worker processes (default: one per core)")
    p = sub.add_parser("audit", help="the hash-chained audit trail")
    v = p.add_subparsers(dest="verb", required=True).add_parser(
        "verify", help="check every line of the audit log; exit 1 naming the first edited, removed or moved line")
    v.add_argument("--head", help="LINES:SHA256, a head filed earlier (a report manifest's audit_head)")
    v.add_argument("--log", help="the log to check (default: <state>/record/audit.jsonl)")
    v.set_defaults(func=_audit_verify)
    p = sub.add_parser("backup", help="one encrypted, consistent set of the state folder and learners' homes")
    p.add_argument("dest", help="the archive to write (a new file, outside the state folder)")
    p.add_argument("--key", help="the backup key file (default: $HCWH_BACKUP_KEY or /etc/hcwh/backup.key)")
    p.add_argument("--homes", default="/home", help="where learners' home folders are (default /home)")
    p.add_argument("--no-homes", action="store_true", help="leave learners' homes out")
    p.set_defaults(func=_backup)
    p = sub.add_parser("restore", help="rebuild an empty state folder (and learners' homes) from a backup")
    p.add_argument("archive")
    p.add_argument("--into", required=True, help="the state folder to rebuild (empty or new)")
    p.add_argument("--key", help="the backup key file (default: $HCWH_BACKUP_KEY or /etc/hcwh/backup.key)")
    p.add_argument("--homes", default="/home", help="where to put learners' home folders (default /home)")
    p.add_argument("--no-homes", action="store_true", help="restore no learners' homes")
    p.add_argument("--move-aside", action="store_true",
                   help="INTO is not empty: keep it as INTO.before-restore-TIME, then restore")
    p.set_defaults(func=_restore)
    p = sub.add_parser("backup-key", help="make a new backup key file (0600), at install")
    p.add_argument("path", nargs="?", default="/etc/hcwh/backup.key")
    p.set_defaults(func=_backup_key)
    p = sub.add_parser("report", help="write the HR report (HTML, CSV, XLSX) as a new dated snapshot; print the paths")
    p.set_defaults(func=_report)
    p.add_argument("--cohort", help="only this cohort (default: all)")
    p.add_argument("--as-of", type=_date, help="judge due dates as of this day, YYYY-MM-DD (default: today)")
    days = _default(write_report, "at_risk_days")
    p.add_argument("--at-risk-days", type=int, default=days,
                   help=f"at risk: not submitted, due within this many days (default {days})")
    args = parser.parse_args(argv)
    try:
        s = Settings.from_env(**({"state_dir": Path(args.state_dir).resolve()} if args.state_dir else {}))
    except ValueError as exc:  # e.g. HCWH_EXCHANGE=hub without HCWH_EXCHANGE_URL
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        return args.func(args, s) or 0
    except HcwhError as exc:  # content, roster, nbgrader, sandbox, nothing released: the message says what to do
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

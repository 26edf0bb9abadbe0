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


def _rules_import(args, s: Settings) -> None:
    from autograde.roster import import_rules

    report = import_rules(s, Path(args.file))
    print(f"{args.file}: " + "\n".join(report.lines()))


def _extend(args, s: Settings) -> None:
    from autograde.record import audit
    from autograde.roster import add_extension

    extension, before = add_extension(s, args.employee_id, args.module, args.until, args.reason,
                                      args.approved_by, _operator())
    audit.record(s, "extension", learner=extension.employee_id, assignment=extension.module,
                 until=extension.until, was=before.date, reason=extension.reason,
                 approved_by=extension.approved_by, by=extension.recorded_by)
    print(f"{extension.employee_id} / {extension.module}: due {extension.until} "
          f"(was {before.date}, from the {before.source}); approved by {extension.approved_by}")


def _remind(args, s: Settings) -> int:
    from autograde.reporting import reminders

    report = reminders.run(s, reminders.MailSettings.from_env(), as_of=args.as_of, days=args.days,
                           dry_run=Path(args.dry_run).resolve() if args.dry_run else None)
    print("\n".join(report.lines()))
    return 1 if report.refused else 0


def _retention(args, s: Settings) -> int:
    from autograde.course import retention

    if args.verb == "set":
        days = retention.set_schedule(s, args.record_type, args.period, _operator())
        print(f"{args.record_type}: kept {days} days, then disposed of by 'hcwh retention run'")
    elif args.verb == "show":
        periods = retention.schedule(s)
        for name, what in retention.TYPES.items():
            kept = f"{periods[name]} days" if name in periods else ("never cut" if name == "audit_log" else "not set: kept")
            print(f"{name:16} {kept:14} {what}")
    elif args.verb == "run":
        report = retention.run(s, as_of=args.as_of, dry_run=args.dry_run, by=_operator())
        print("\n".join(report.lines()))
    elif args.verb == "hold":
        retention.hold(s, learner=args.learner, cohort=args.cohort, reason=args.reason, by=_operator())
        print(f"legal hold on {'learner ' + args.learner if args.learner else 'cohort ' + args.cohort}: "
              "nothing of theirs is disposed of until it is released")
    elif args.verb == "release":
        retention.release_hold(s, learner=args.learner, cohort=args.cohort, by=_operator())
        print("legal hold released")
    elif args.verb == "export":
        print(f"export for {args.employee_id}: {retention.export(s, args.employee_id, Path(args.dest).resolve())}")
    return 0


def _recert(args, s: Settings) -> int:
    from autograde.course.retention import parse_period
    from autograde.reporting import completion, recert

    if args.verb == "expiry":
        scope = recert.PROGRAMME if args.scope == "all" else args.scope
        days = parse_period(args.period)
        recert.set_expiry(s, scope, days, _operator())
        print(f"{'every module' if scope == recert.PROGRAMME else scope}: a completion stays valid {days} days")
    elif args.verb == "diff":
        print(recert.diff(s, args.module, args.old, args.new))
    elif args.verb == "decide":
        version = recert.decide(s, args.module, args.version, args.requirement, _operator(), args.note or "")
        print(f"{args.module} {version[:12]}: {args.requirement}")
    elif args.verb == "status":
        as_of = args.as_of or completion.today(s)
        frame = recert.table_for(s, completion.completion_table(s, as_of=as_of), as_of)
        counts = frame["status"].value_counts()
        print(f"recertification as of {as_of.isoformat()}: " +
              ", ".join(f"{int(counts.get(x, 0))} {x}" for x in recert.STATUSES))
        for r in frame[frame["status"] != "current"].itertuples(index=False):
            print(f"  {r.employee_id:16} {r.module:22} {r.status}")
    return 0


def _xapi(args, s: Settings) -> None:
    from autograde.reporting import xapi

    report = xapi.send(s, xapi.LrsSettings.from_env(), as_of=args.as_of,
                       dry_run=Path(args.dry_run).resolve() if args.dry_run else None)
    print("\n".join(report.lines()))


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
    from autograde.reporting.report import known_on, verify_snapshot, write_report

    if args.known_on or args.verify:
        folder = known_on(s, args.known_on) if args.known_on else Path(args.verify).resolve()
        checked = verify_snapshot(s, folder)
        print(f"Report snapshot: {folder}")
        print(f"  {len(checked)} file(s) match its manifest, and the audit trail still holds its filed head")
        return

    files = write_report(s, as_of=args.as_of, cohort=args.cohort, at_risk_days=args.at_risk_days)
    print(f"Report snapshot: {files.folder}")
    for path in files.all():
        print(f"  {path}")


def _calibrate_sample(args, s: Settings) -> None:
    from autograde.course import calibration

    added, pool = calibration.sample(s, args.module, args.n, args.seed, args.by or _operator())
    print(f"{args.module}: {len(added)} of {pool} reflections not yet sampled marked for double grading "
          f"(random, seed {args.seed}); graders score them in the trainer console's Grader calibration")
    for x in added:
        print(f"  sample {x.id}: {x.student}, {x.cell.removesuffix('-answer')}")


def _calibrate_mark(args, s: Settings) -> None:
    from autograde.course import calibration

    x = calibration.mark(s, args.module, args.student, args.reflection, args.by or _operator())
    print(f"sample {x.id}: {x.student}, {x.cell.removesuffix('-answer')} marked for double grading")


def _calibrate_final(args, s: Settings) -> None:
    from autograde.course import calibration

    print("\n".join(calibration.finalize(s, args.module, args.by or _operator())))


def _calibrate_report(args, s: Settings) -> None:
    from autograde.reporting import calibration

    table = calibration.write_report(s, args.module, top=args.top)
    print("\n".join(table.lines))
    print(f"Written (trainers only): {table.folder}")


def _record_assisted(args, s: Settings) -> None:
    from autograde import roster
    from autograde.record import acknowledgements

    person = roster.load(s).learners.get(args.learner)
    if person is None:
        raise acknowledgements.RecordError(f"'{args.learner}' is not on the roster; nothing was recorded")
    row = acknowledgements.record(s, args.learner, args.module, args.name or f"{person.first_name} {person.last_name}",
                                  "question" if args.question else "acknowledged", way=args.way,
                                  recorded_by=args.by or _operator(), reason=args.reason)
    print(f"Recorded ({row['way']}, by {row['recorded_by']}): {args.learner} {row['choice']} {args.module} "
          f"version {row['version'][:12]} at {row['recorded_at']}; audited")


def _certificate_issue(args, s: Settings) -> None:
    from autograde.reporting.certificate import issue

    for learner in args.learners:
        done = issue(s, learner, args.by or _operator())
        print(f"Certificate {done.id} for {learner}: {done.page}\n  verification code: {done.code}")


def _certificate_revoke(args, s: Settings) -> None:
    from autograde.reporting.certificate import revoke

    print(f"Certificate {revoke(s, args.code, args.by or _operator(), args.reason)} revoked; audited")


def _verify(args, s: Settings) -> int:
    from autograde.reporting.certificate import verify

    verdict = verify(s, args.code)
    print(verdict.words)
    return verdict.exit_code


def _insight(args, s: Settings) -> None:
    from autograde.reporting.insight import write_insight

    files = write_insight(s, cohort=args.cohort)
    print(f"Trainers' report snapshot (trainers only): {files.folder}")
    for path in files.all():
        print(f"  {path}")


def _sbom(args, s: Settings) -> None:
    from autograde.config import PROJECT_ROOT
    from autograde.sbom import write_sbom

    out = Path(args.out).resolve()
    doc = write_sbom(PROJECT_ROOT, out)
    print(f"{out}: CycloneDX {doc['specVersion']}, {len(doc['components'])} packages from the locks")


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
        ("roster", _roster_import, "import the roster CSV (employee_id,first_name,last_name,email,department,hire_date,cohort"
         "[,manager_email])"),
        ("cohorts", _cohorts_import, "import the cohorts CSV (cohort,module,due_date[,assigned])"),
        ("due-rules", _rules_import, "import the due-date rules CSV (department,module,days_after_hire); "
         "it replaces the rules before"),
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
    p = sub.add_parser("extend", help="give one learner a later due date for one module, with the reason "
                       "and who approved it (audited)")
    p.add_argument("employee_id")
    p.add_argument("module")
    p.add_argument("--until", required=True, help="the new due date, YYYY-MM-DD")
    p.add_argument("--reason", required=True)
    p.add_argument("--approved-by", required=True, help="who approved it (a supervisor or HR)")
    p.set_defaults(func=_extend)
    from autograde.reporting.reminders import DEFAULT_DAYS

    p = sub.add_parser("remind", help="e-mail each learner a digest of modules due soon or overdue, copying "
                       "their manager; never the same reminder twice (mail settings: README)")
    p.add_argument("--dry-run", metavar="DIR", help="write each digest as an .eml file in DIR; send and record nothing")
    p.add_argument("--as-of", type=_date, help="judge due dates as of this day (default: today)")
    p.add_argument("--days", type=int, default=DEFAULT_DAYS,
                   help=f"due soon: due within this many days (default {DEFAULT_DAYS})")
    p.set_defaults(func=_remind)
    p = sub.add_parser("recert", help="recertification: validity periods, what changed between versions, HR's decisions")
    rv = p.add_subparsers(dest="verb", required=True)
    r = rv.add_parser("expiry", help="how long a completion stays valid: a module, or 'all' for the programme")
    r.add_argument("scope", help="a module id, or all")
    r.add_argument("period", help="e.g. 12m, 1y, 365d")
    r = rv.add_parser("diff", help="what changed between two released versions (default: the two newest)")
    r.add_argument("module")
    r.add_argument("--from", dest="old", help="the older version (a prefix is enough)")
    r.add_argument("--to", dest="new", help="the newer version")
    r = rv.add_parser("decide", help="what a newer version asks of those who completed an older one")
    r.add_argument("module")
    r.add_argument("version", help="the newer version (a prefix is enough)")
    r.add_argument("requirement", choices=["acknowledge", "retrain", "none"])
    r.add_argument("--note", help="why, for the record")
    r = rv.add_parser("status", help="who is current, expiring soon, expired or out of date")
    r.add_argument("--as-of", type=_date, help="judge as of this day (default: today)")
    p.set_defaults(func=_recert)
    p = sub.add_parser("xapi", help="completions and acknowledgements as xAPI statements to the city's LRS, each once")
    r = p.add_subparsers(dest="verb", required=True).add_parser("send", help="send every statement not sent before")
    r.add_argument("--dry-run", metavar="FILE", help="write the statements to FILE (JSON); send and record nothing")
    r.add_argument("--as-of", type=_date, help="HR's table as of this day (default: today)")
    r.set_defaults(func=_xapi)
    p = sub.add_parser("retention", help="HR's retention schedule, legal holds, disposal and a learner's export")
    rv = p.add_subparsers(dest="verb", required=True)
    r = rv.add_parser("set", help="how long a record type is kept (e.g. 7y, 18m, 90d), set by HR")
    r.add_argument("record_type")
    r.add_argument("period")
    rv.add_parser("show", help="every record type, its period and what it covers")
    r = rv.add_parser("run", help="dispose of every record whose period has run out; each disposal audited")
    r.add_argument("--as-of", type=_date, help="judge periods as of this day (default: today)")
    r.add_argument("--dry-run", action="store_true", help="say what would go; dispose of nothing")
    for verb, text in (("hold", "a legal hold: nothing of this learner or cohort is disposed of"),
                       ("release", "release a legal hold")):
        r = rv.add_parser(verb, help=text)
        who = r.add_mutually_exclusive_group(required=True)
        who.add_argument("--learner")
        who.add_argument("--cohort")
        if verb == "hold":
            r.add_argument("--reason", required=True, help="the matter the hold is for")
    r = rv.add_parser("export", help="everything held about one learner, as a zip file (a records request)")
    r.add_argument("employee_id")
    r.add_argument("dest", help="the zip file to write")
    p.set_defaults(func=_retention)
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
    p = sub.add_parser("calibrate", help="grader calibration: reflections double graded, agreement between trainers")
    verbs = p.add_subparsers(dest="verb", required=True)
    v = verbs.add_parser("sample", help="mark N reflections of a module at random for double grading")
    v.add_argument("module")
    v.add_argument("--n", type=int, required=True, help="how many reflections")
    v.add_argument("--seed", type=int, required=True, help="the random seed (the same seed picks the same ones)")
    v.set_defaults(func=_calibrate_sample)
    v = verbs.add_parser("mark", help="mark one learner's reflection for double grading")
    v.add_argument("module")
    v.add_argument("student", help="the learner's id")
    v.add_argument("reflection", help="the reflection's id, as in the module file")
    v.set_defaults(func=_calibrate_mark)
    v = verbs.add_parser("final", help="write the final score of every settled sample to the gradebook")
    v.add_argument("module")
    v.set_defaults(func=_calibrate_final)
    v = verbs.add_parser("report", help="agreement per rubric criterion and overall (Krippendorff's alpha), and "
                                        "where graders disagree most; print it and write it for trainers")
    v.add_argument("module", nargs="?", help="one module (default: all)")
    v.add_argument("--top", type=int, default=5, help="how many disagreements to list (default 5)")
    v.set_defaults(func=_calibrate_report)
    for verb in ("sample", "mark", "final"):
        verbs.choices[verb].add_argument("--by", help="the trainer's name, for the record "
                                                      "(default: the account running it)")
    p = sub.add_parser("record", help="the compliance record: what a trainer records for a learner")
    v = p.add_subparsers(dest="verb", required=True).add_parser(
        "assisted", help="record a learner's acknowledgement of a module's commitment made with a trainer's help "
        "or on paper, with the reason (audited); the module's completion itself stays the gradebook's")
    v.add_argument("learner", help="employee id")
    v.add_argument("module", help="module id, e.g. 01-authenticity")
    v.add_argument("--reason", required=True, help="why it is recorded this way")
    v.add_argument("--way", choices=("assisted", "paper"), default="assisted")
    v.add_argument("--question", action="store_true", help="the learner has a question for their supervisor instead")
    v.add_argument("--name", help="the name the learner signed with (default: the roster's)")
    v.add_argument("--by", help="the trainer recording it (default: the account running hcwh)")
    v.set_defaults(func=_record_assisted)
    p = sub.add_parser("certificate", help="certificates of completion (signed by the signer helper: $HCWH_SIGNER)")
    verbs = p.add_subparsers(dest="verb", required=True)
    v = verbs.add_parser("issue", help="issue a certificate to each learner named, if every assigned module is "
                         "complete; print its page and verification code")
    v.add_argument("learners", nargs="+", help="employee ids")
    v.add_argument("--by", help="who issues it (default: the account running hcwh)")
    v.set_defaults(func=_certificate_issue)
    v = verbs.add_parser("revoke", help="revoke a certificate (its code or id), with the reason; audited")
    v.add_argument("code")
    v.add_argument("--reason", required=True)
    v.add_argument("--by", help="who revokes it (default: the account running hcwh)")
    v.set_defaults(func=_certificate_revoke)
    p = sub.add_parser("verify", help="check a certificate's verification code: exit 0 genuine and current, "
                       "1 not genuine, 4 superseded, 5 revoked")
    p.add_argument("code")
    p.set_defaults(func=_verify)
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
    p.add_argument("--known-on", type=_date, metavar="DATE",
                   help="write nothing: find the newest snapshot made on or before DATE (what HR knew then) and verify it")
    p.add_argument("--verify", metavar="FOLDER", help="write nothing: verify one snapshot against its manifest and the audit trail")
    p.add_argument("--cohort", help="only this cohort (default: all)")
    p.add_argument("--as-of", type=_date, help="judge due dates as of this day, YYYY-MM-DD (default: today)")
    days = _default(write_report, "at_risk_days")
    p.add_argument("--at-risk-days", type=int, default=days,
                   help=f"at risk: not submitted, due within this many days (default {days})")
    p = sub.add_parser("insight", help="write the trainers' report (mastery per framework item, role-play choices, "
                                       "item analysis) as a new dated snapshot in <state>/trainer-reports/; print the paths")
    p.set_defaults(func=_insight)
    p.add_argument("--cohort", help="only this cohort (default: all)")
    p = sub.add_parser("sbom", help="write the software bill of materials (CycloneDX JSON) from the locks")
    p.add_argument("--out", default="var/sbom.cdx.json", help="where (default: var/sbom.cdx.json)")
    p.set_defaults(func=_sbom)
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

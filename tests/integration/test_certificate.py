"""Certificates of completion on the tiny cohort (tests/hr_cohort.py, real nbgrader): issued only when
every assigned module is complete by HR's rule, signed by the signer helper running as an account of
its own, and checked by ``hcwh verify``: genuine and current, superseded (a newer certificate; a newer
module version), revoked, and forged or edited codes and records rejected. The audit chain verifies
after all of it.

Hand-known facts of the tiny cohort: Ana submitted 01-authenticity on 2026-11-18 (UTC, also the
city's day: the settings' clock is UTC) and is complete once a trainer scores her three reflections;
Cora never submitted."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from autograde.cli import main
from autograde.record import acknowledgements, audit, db, versions
from autograde.record.signer import KIND
from autograde.reporting import certificate
from autograde.reporting.certificate import CertificateError
from tests.hr_cohort import MODULE, TinyCohort, grade_ana

SIGNER_ACCOUNT = "hcwhcert-signer"  # test-only: the dedicated signer account
RELEASED_AT = datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)  # the tiny cohort's release day (its calendar is November 2026)
SHARED: dict = {}  # the story's certificates, from one test to the next (they run in file order)


def run_as(account: str | None, argv: list[str], **kw) -> subprocess.CompletedProcess:
    if account:
        argv = ["setpriv", f"--reuid={account}", f"--regid={pwd.getpwnam(account).pw_gid}", "--clear-groups", *argv]
    return subprocess.run(argv, capture_output=True, cwd="/", **kw)


@pytest.fixture(scope="module")
def signer():
    """The signer's key in a folder of its own account (as root, the test makes that account; not as
    root, the signer runs as the test's own account and the account test below skips)."""
    account = SIGNER_ACCOUNT if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="hcwh-signer-test-"))  # not under pytest's 0700 folders: the signer
    os.chmod(folder, 0o755)                                       # account must reach it
    if account:
        subprocess.run(["userdel", account], capture_output=True)  # left by an earlier killed run
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", account], check=True)
        keys = folder / "keys"
        keys.mkdir(mode=0o700)
        shutil.chown(keys, account, account)
        os.chmod(keys, 0o711)  # the public key beside it is read by the application; the private key is 0600
    else:
        keys = folder
    key = keys / "certificate.key"
    made = run_as(account, [sys.executable, "-m", "autograde.record.signer", "init", str(key)],
                  env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert made.returncode == 0, made.stderr.decode()
    command = f"{sys.executable} -m autograde.record.signer sign {key}"
    if account:
        command = f"setpriv --reuid={account} --regid={pwd.getpwnam(account).pw_gid} --clear-groups " + command
    try:
        yield {"account": account, "key": key, "env": {certificate.SIGNER_ENV: command,
                                                       certificate.PUBLIC_KEY_ENV: f"{key}.pub"}}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if account:
            subprocess.run(["userdel", account], check=False)


@pytest.fixture(scope="module")
def cohort(tiny_cohort, tmp_path_factory, signer):
    """A copy of the tiny cohort with 01-authenticity's version recorded."""
    root = tmp_path_factory.mktemp("cert-cohort") / "cohort"
    shutil.copytree(tiny_cohort.root, root, symlinks=True)
    c = TinyCohort(root, replace(tiny_cohort.settings, state_dir=root / "state"))
    versions.record_release(c.settings, MODULE, "trainer1", "hr.lead", released_at=RELEASED_AT)  # before they submitted
    saved = dict(os.environ)
    os.environ.update(signer["env"], HCWH_STATE_DIR=str(c.settings.state_dir))  # hcwh's commands: this cohort
    try:
        yield c
    finally:
        os.environ.clear()
        os.environ.update(saved)


def issued(s) -> list[sqlite3.Row]:
    con = db.connect(s)
    try:
        return con.execute("SELECT * FROM certificates ORDER BY issued_at").fetchall()
    finally:
        con.close()


def test_the_signing_key_belongs_to_the_signer_account_alone(signer):
    if signer["account"] is None:
        pytest.skip("not root: the signer cannot run as an account of its own here")
    info = signer["key"].stat()
    assert (pwd.getpwuid(info.st_uid).pw_name, info.st_mode & 0o777) == (SIGNER_ACCOUNT, 0o600)
    # an unprivileged account (standing in for the course account) cannot read it, but reads the public key
    denied = run_as("nobody", ["cat", str(signer["key"])])
    assert denied.returncode != 0 and b"Permission denied" in denied.stderr, denied.stderr
    assert run_as("nobody", ["cat", f"{signer['key']}.pub"]).stdout.startswith(b"-----BEGIN PUBLIC KEY-----")


def test_no_certificate_while_a_module_is_not_complete(cohort):
    s = cohort.settings
    before = audit.log_path(s).read_text() if audit.log_path(s).exists() else ""
    with pytest.raises(CertificateError, match=rf"ana has not completed every assigned module: {MODULE} "
                                               r"\(awaiting reflection grading\); nothing was issued"):
        certificate.issue(s, "ana", "hr.officer")
    with pytest.raises(CertificateError, match=rf"cora has not completed every assigned module: {MODULE} "
                                               r"\((not started|overdue)\)"):  # by the day it runs
        certificate.issue(s, "cora", "hr.officer")
    with pytest.raises(CertificateError, match="'zed' is not on the roster"):
        certificate.issue(s, "zed", "hr.officer")
    assert issued(s) == [] and not (certificate.certificates_dir(s) / "ana").exists()
    assert (audit.log_path(s).read_text() if audit.log_path(s).exists() else "") == before


def test_a_paper_acknowledgement_then_a_certificate_genuine_and_current(cohort, capsys):
    s = cohort.settings
    grade_ana(s)  # a trainer scores her reflections: now complete
    assert main(["record", "assisted", "ana", MODULE, "--way", "paper", "--by", "trainer1",
                 "--reason", "signed the printed commitment in class"]) == 0
    (ack,) = acknowledgements.listed(s, "ana")
    assert (ack["way"], ack["choice"], ack["typed_name"], ack["recorded_by"]) == ("paper", "acknowledged", "Ana Reyes",
                                                                                   "trainer1")
    assert main(["certificate", "issue", "ana", "--by", "hr.officer"]) == 0
    out = capsys.readouterr().out
    code = out.split("verification code: ")[1].split()[0]
    (row,) = issued(s)
    page = certificate.certificates_dir(s) / "ana" / f"{row['id']}.html"
    assert str(page) in out and page.stat().st_mode & 0o777 == 0o600
    html = page.read_text()
    version = versions.current(s, MODULE)
    for expected in ('<html lang="en">', "<h1>Certificate of completion</h1>", "Ana Reyes", "(employee id ana)",
                     "<caption>Modules completed</caption>", f'<th scope="row">{MODULE}</th>', "Authenticity",
                     version[:12], "18 November 2026", "(paper)", "@media print", code):
        assert expected in html, expected
    assert "<script" not in html.lower()
    payload = json.loads(row["payload"])
    assert payload["modules"] == [{"module": MODULE, "standard": "Authenticity", "version": version,
                                   "completed_on": "2026-11-18", "acknowledged_on": ack["recorded_at"][:10],
                                   "acknowledged_way": "paper"}]
    assert main(["verify", code]) == 0
    assert capsys.readouterr().out.startswith(f"genuine and current: certificate {row['id']} for Ana Reyes (ana)")
    SHARED["first"] = code


def test_forged_and_edited_codes_and_records_are_not_genuine(cohort, capsys):
    s = cohort.settings
    code = SHARED["first"]
    prefix, cert_id, sig = code.split("-", 2)
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    other_id = ("0" if cert_id[0] != "0" else "1") + cert_id[1:]
    for forged, words in ((f"{prefix}-{cert_id}-{flipped}", "the code was edited or forged"),
                          (f"{prefix}-{other_id}-{sig}", f"no certificate {other_id} was ever issued"),
                          ("HCWH1-nonsense", "is not a certificate code"),
                          (code.replace("HCWH1", "HCWH2"), "is not a certificate code")):
        assert main(["verify", forged]) == 1, forged
        assert words in capsys.readouterr().out
    # someone with write access to record.db edits the certificate's name (past the trigger that forbids it)
    path = db.db_path(s)
    backup = path.read_bytes()
    con = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="a certificate is never edited"):
        con.execute("UPDATE certificates SET payload = replace(payload, 'Ana Reyes', 'Eve Mallory')")
    con.execute("DROP TRIGGER certificates_never_edited")
    con.execute("UPDATE certificates SET payload = replace(payload, 'Ana Reyes', 'Eve Mallory')")
    con.commit()
    con.close()
    assert main(["verify", code]) == 1
    assert "record does not match its signature: the record was edited" in capsys.readouterr().out
    path.write_bytes(backup)
    assert main(["verify", code]) == 0


def test_a_newer_certificate_supersedes_the_older(cohort, capsys):
    s = cohort.settings
    first = SHARED["first"]
    second = certificate.issue(s, "ana", "hr.officer")
    assert main(["verify", first]) == 4
    assert f"genuine but superseded: certificate {first.split('-')[1]}" in (out := capsys.readouterr().out)
    assert f"a newer certificate, {second.id}, was issued" in out
    assert main(["verify", second.code]) == 0
    SHARED["second"] = second


def test_a_newer_module_version_supersedes_and_a_revoked_certificate_says_so(cohort, capsys, tmp_path):
    s = cohort.settings
    second = SHARED["second"]
    found = versions.sources(s, MODULE)
    changed = tmp_path / f"{MODULE}.ipynb"
    changed.write_bytes(found.notebook.read_bytes().replace(b"Authenticity", b"Authenticity (2027 wording)", 1))
    newer = versions.record_release(s, MODULE, "trainer1", "hr.lead", replace(found, notebook=changed))
    assert newer != second.payload["modules"][0]["version"]
    assert main(["verify", second.code]) == 4
    assert f"a newer version of {MODULE} has been released since" in capsys.readouterr().out
    assert main(["certificate", "revoke", second.code, "--reason", "issued in error", "--by", "hr.officer"]) == 0
    capsys.readouterr()
    assert main(["verify", second.code]) == 5
    out = capsys.readouterr().out
    assert out.startswith("genuine but revoked:") and "by hr.officer: issued in error" in out
    assert main(["certificate", "revoke", second.id, "--reason", "again"]) == 2
    assert "already revoked" in capsys.readouterr().err


def test_the_signer_refuses_a_key_others_can_read_and_anything_but_a_certificate(signer, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    sign = [sys.executable, "-m", "autograde.record.signer", "sign"]
    loose = tmp_path / "loose.key"
    assert subprocess.run([*sign[:-1], "init", str(loose)], env=env, capture_output=True).returncode == 0
    os.chmod(loose, 0o644)
    run = subprocess.run([*sign, str(loose)], input=json.dumps({"kind": KIND}).encode(), env=env, capture_output=True)
    assert run.returncode == 1 and b"readable by others (mode 644)" in run.stderr and not run.stdout
    os.chmod(loose, 0o600)
    run = subprocess.run([*sign, str(loose)], input=b'{"kind": "a cheque"}', env=env, capture_output=True)
    assert run.returncode == 1 and b"not a certificate" in run.stderr and not run.stdout


def test_a_signer_whose_key_is_not_the_public_keys_issues_nothing(cohort, tmp_path, monkeypatch):
    s = cohort.settings
    other = tmp_path / "other.key"
    subprocess.run([sys.executable, "-m", "autograde.record.signer", "init", str(other)], check=True)
    monkeypatch.setenv(certificate.SIGNER_ENV, f"{sys.executable} -m autograde.record.signer sign {other}")
    before = len(issued(s))
    with pytest.raises(CertificateError, match="do not match; nothing was issued"):
        certificate.issue(s, "ana", "hr.officer")
    assert len(issued(s)) == before
    monkeypatch.delenv(certificate.SIGNER_ENV)
    with pytest.raises(CertificateError, match=r"no certificate signer: set \$HCWH_SIGNER"):
        certificate.issue(s, "ana", "hr.officer")


def test_the_audit_chain_verifies_after_all_of_it_and_names_no_one(cohort, capsys):
    s = cohort.settings
    assert main(["audit", "verify"]) == 0
    lines = [json.loads(x) for x in audit.log_path(s).read_text().splitlines()]
    events = [x["event"] for x in lines]
    assert events.count("certificate issued") == 2 and events.count("certificate revoked") == 1
    assert events.count("acknowledgement") == 1
    text = audit.log_path(s).read_text()
    assert "Reyes" not in text and '"ana"' not in text and "issued in error" not in text and "printed" not in text
    ana = audit.pseudonym(s, "ana")
    assert {x["learner"] for x in lines if x["event"].startswith(("certificate", "acknowledgement"))} == {ana}

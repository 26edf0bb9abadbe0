"""The city directory login against a real OpenLDAP server (Debian's slapd).

The fixture makes a test CA and a server certificate with openssl, starts
/usr/sbin/slapd on a free 127.0.0.1 port with its own slapd.conf and MDB
database, requiring TLS for every operation (``security tls=1``), and fills it
with ldapadd over StartTLS. Logins go through JupyterHub's own pipeline,
``LDAPAuthenticator.get_authenticated_user()`` (authenticate, allowed groups,
post_auth_hook), configured only by ``autograde.hub.ldap.configure_ldap``.

The disabled account carries AD's own ``userAccountControl`` attribute (a
test schema gives OpenLDAP the AD OID) with ACCOUNTDISABLE set, so the filter
the city's AD gets is the one exercised here.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import warnings
from pathlib import Path

import pytest
from tornado.web import HTTPError
from traitlets.config import Config

from autograde.hub.ldap import LDAPConfigError, LDAPSettings, configure_ldap, read_bind_password

# ldap3 2.9.1 imports names pyasn1 has deprecated (warned once, at import);
# pyproject's filterwarnings=error would make that an error.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "tagMap is deprecated", DeprecationWarning)
    warnings.filterwarnings("ignore", "typeMap is deprecated", DeprecationWarning)
    import ldap3

    from autograde.hub.directory import DirectoryAuthenticator

pytestmark = [
    # ldap3 2.9.1 checks the certificate's host name with ssl.match_hostname,
    # deprecated (not removed) in Python 3.11: the check still runs.
    pytest.mark.filterwarnings("ignore:ssl.match_hostname:DeprecationWarning"),
]

SLAPD = "/usr/sbin/slapd"
SUFFIX = "dc=city,dc=test"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = {
    "learners": f"cn=course-learners,ou=groups,{SUFFIX}",
    "trainers": f"cn=course-trainers,ou=groups,{SUFFIX}",
    "hr": f"cn=course-hr,ou=groups,{SUFFIX}",
}
ROOT_DN, ROOT_PW = f"cn=admin,{SUFFIX}", "root-secret-for-tests"
LOOKUP_DN, LOOKUP_PW = f"cn=hub-lookup,ou=services,{SUFFIX}", "lookup-secret-for-tests"

# uid, employeeNumber, password, userAccountControl (512 normal, 514 = 512|ACCOUNTDISABLE), role
PEOPLE_ROWS = [
    ("ana.reyes", "CS1001", "ana-pass-1", 512, "learners"),
    ("ben.okafor", "CS1002", "ben-pass-2", 512, "learners"),
    ("carla.diaz", "TR2001", "carla-pass-3", 512, "trainers"),
    ("dev.patel", "HR3001", "dev-pass-4", 512, "hr"),
    ("eli.stone", "CS1003", "eli-pass-5", 514, "learners"),      # disabled
    ("fay.nogroup", "CS1004", "fay-pass-6", 512, None),          # in no course group
    ("gil.digits", "104233", "gil-pass-7", 512, "learners"),     # id the mapping refuses
    ("hana.lee", "hcwhtest-ldap-hana", "hana-pass-8", 512, "learners"),  # has an OS account: the hub test
]
PASSWORD = {uid: pw for uid, _, pw, _, _ in PEOPLE_ROWS}

# A UUID-based OID (2.25.<uuid as integer>) for the test's auxiliary class.
TEST_SCHEMA = """\
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
    DESC 'Active Directory account flags (test copy)'
    EQUALITY integerMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
objectclass ( 2.25.215176384117920437012290587446396583311 NAME 'cityTestAccount'
    DESC 'test: carries the AD account flags' AUXILIARY
    MAY userAccountControl )
"""


def _run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


def _make_ca(d: Path, name: str) -> tuple[Path, Path]:
    stem = name.replace(" ", "-")
    key, cert = d / f"{stem}.key", d / f"{stem}.pem"
    r = _run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
              "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={name}",
              "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    assert r.returncode == 0, r.stderr
    return key, cert


def _make_server_cert(d: Path, ca_key: Path, ca_cert: Path) -> tuple[Path, Path]:
    key, csr, cert, ext = d / "server.key", d / "server.csr", d / "server.pem", d / "server.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
                   "keyUsage=critical,digitalSignature,keyEncipherment\n")
    r = _run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
              "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=localhost"])
    assert r.returncode == 0, r.stderr
    r = _run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key,
              "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext])
    assert r.returncode == 0, r.stderr
    return key, cert


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _hash(pw: str) -> str:
    r = _run(["/usr/sbin/slappasswd", "-h", "{SSHA}", "-s", pw])
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def _ldif() -> str:
    out = [f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: city\no: Test City\n"]
    for ou in ("people", "groups", "services"):
        out.append(f"dn: ou={ou},{SUFFIX}\nobjectClass: organizationalUnit\nou: {ou}\n")
    out.append(f"dn: {LOOKUP_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
               f"cn: hub-lookup\nuserPassword: {_hash(LOOKUP_PW)}\n")
    for uid, emp, pw, uac, _ in PEOPLE_ROWS:
        first, last = uid.split(".")
        out.append(f"dn: uid={uid},{PEOPLE}\nobjectClass: inetOrgPerson\nobjectClass: cityTestAccount\n"
                   f"uid: {uid}\ncn: {first.title()} {last.title()}\nsn: {last.title()}\n"
                   f"employeeNumber: {emp}\nuserAccountControl: {uac}\nuserPassword: {_hash(pw)}\n")
    for role, dn in GROUPS.items():
        members = [f"uid={uid},{PEOPLE}" for uid, _, _, _, r in PEOPLE_ROWS if r == role]
        cn = dn.split(",")[0][3:]
        out.append(f"dn: {dn}\nobjectClass: groupOfNames\ncn: {cn}\n"
                   + "".join(f"member: {m}\n" for m in members))
    return "\n".join(out)


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    if not os.access(SLAPD, os.X_OK) or not shutil.which("ldapadd") or not shutil.which("openssl"):
        pytest.skip(f"{SLAPD}, ldapadd or openssl missing: run `make system-deps` as root "
                    "(scripts/system-deps.sh installs slapd, ldap-utils, openssl)")
    d = tmp_path_factory.mktemp("slapd")
    ca_key, ca_cert = _make_ca(d, "Test City CA")
    key, cert = _make_server_cert(d, ca_key, ca_cert)
    _, rogue_ca = _make_ca(d, "Some Other CA")
    (d / "test.schema").write_text(TEST_SCHEMA)
    (d / "db").mkdir()
    port = _free_port()
    url = f"ldap://127.0.0.1:{port}/"
    conf = d / "slapd.conf"
    conf.write_text(f"""\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include {d}/test.schema
pidfile {d}/slapd.pid
argsfile {d}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile {ca_cert}
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
# every operation but StartTLS itself needs TLS
security tls=1
disallow bind_anon

database mdb
suffix "{SUFFIX}"
rootdn "{ROOT_DN}"
rootpw {_hash(ROOT_PW)}
directory {d}/db
maxsize 16777216
access to attrs=userPassword by self write by anonymous auth by * none
access to * by users read by * none
""")
    r = _run([SLAPD, "-T", "test", "-u", "-f", conf])  # slaptest: the config parses
    assert r.returncode == 0, r.stderr
    log = open(d / "slapd.log", "w")
    proc = subprocess.Popen([SLAPD, "-f", str(conf), "-h", url, "-d", "0"],
                            stdout=log, stderr=subprocess.STDOUT)
    env = {**os.environ, "LDAPTLS_CACERT": str(ca_cert), "LDAPTLS_REQCERT": "demand"}
    try:
        deadline = time.monotonic() + 60
        while True:  # ready when a StartTLS'd root bind answers
            r = _run(["ldapwhoami", "-x", "-ZZ", "-H", url, "-D", ROOT_DN, "-w", ROOT_PW], env=env)
            if r.returncode == 0:
                break
            assert proc.poll() is None, f"slapd exited {proc.returncode}: {(d / 'slapd.log').read_text()}"
            assert time.monotonic() < deadline, f"slapd not answering on {url}: {r.stderr}"
            time.sleep(0.2)
        (d / "data.ldif").write_text(_ldif())
        r = _run(["ldapadd", "-x", "-ZZ", "-H", url, "-D", ROOT_DN, "-w", ROOT_PW, "-f", d / "data.ldif"], env=env)
        assert r.returncode == 0, r.stderr
        yield {"dir": d, "port": port, "url": url, "ca": ca_cert, "rogue_ca": rogue_ca, "env": env}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _settings(slapd, **over) -> LDAPSettings:
    pw = slapd["dir"] / "bind-password"
    if not pw.exists():
        pw.write_text(LOOKUP_PW + "\n")
        pw.chmod(0o600)
    base = dict(
        server="127.0.0.1", port=slapd["port"], ca_file=slapd["ca"], user_search_base=PEOPLE,
        groups=dict(GROUPS), login_attribute="uid", lookup_dn=LOOKUP_DN, bind_password_file=pw,
        id_attribute="employeeNumber",
    )
    base.update(over)
    return LDAPSettings(**base)


def _login(settings: LDAPSettings, username: str, password: str, state_dir: Path | None = None):
    c = Config()
    configure_ldap(c, settings)
    assert c.JupyterHub.authenticator_class == "autograde.hub.directory.DirectoryAuthenticator"
    auth = DirectoryAuthenticator(config=c, state_dir=str(state_dir or ""))
    return asyncio.run(auth.get_authenticated_user(None, {"username": username, "password": password}))


def _whoami(slapd, uid: str, password: str):
    return _run(["ldapwhoami", "-x", "-ZZ", "-H", slapd["url"], "-D", f"uid={uid},{PEOPLE}", "-w", password],
                env=slapd["env"])


# --- logins -----------------------------------------------------------------
def test_learner_logs_in_with_mapped_name_and_group(slapd):
    user = _login(_settings(slapd), "ana.reyes", PASSWORD["ana.reyes"])
    assert user is not None
    assert user["name"] == "cs1001"  # employeeNumber CS1001 through login_name()
    assert user["groups"] == ["learners"]
    assert user["auth_state"]["course_roles"] == ["learners"]
    assert user["auth_state"]["ldap_groups"] == [GROUPS["learners"]]
    assert not user["admin"]
    # The directory matches the login case-insensitively; the hub name is the same.
    again = _login(_settings(slapd), "Ana.Reyes", PASSWORD["ana.reyes"])
    assert again is not None and again["name"] == "cs1001"
    other = _login(_settings(slapd), "ben.okafor", PASSWORD["ben.okafor"])
    assert other is not None and other["name"] == "cs1002" and other["groups"] == ["learners"]


def test_wrong_password_refused(slapd):
    assert _login(_settings(slapd), "ana.reyes", "not-her-password") is None
    assert _login(_settings(slapd), "ana.reyes", PASSWORD["ben.okafor"]) is None
    assert _login(_settings(slapd), "nobody.here", "whatever") is None


def test_directory_logins_and_refusals_are_in_the_security_log(slapd, tmp_path):
    assert _login(_settings(slapd), "ana.reyes", PASSWORD["ana.reyes"], tmp_path) is not None
    assert _login(_settings(slapd), "ana.reyes", "not-her-password", tmp_path) is None
    events = [json.loads(row) for row in (tmp_path / "logs" / "security.log").read_text().splitlines()]
    assert [(e["what"], e["who"], e["result"]) for e in events] == [
        ("login", "ana.reyes", "ok"), ("login.failed", "ana.reyes", "refused")]
    assert "not-her-password" not in (tmp_path / "logs" / "security.log").read_text()


def test_trainer_and_hr_groups_become_hub_groups_and_roles(slapd):
    trainer = _login(_settings(slapd), "carla.diaz", PASSWORD["carla.diaz"])
    assert trainer is not None
    assert (trainer["name"], trainer["groups"]) == ("tr2001", ["trainers"])
    assert trainer["auth_state"]["course_roles"] == ["trainers"]
    hr = _login(_settings(slapd), "dev.patel", PASSWORD["dev.patel"])
    assert hr is not None
    assert (hr["name"], hr["groups"]) == ("hr3001", ["hr"])
    assert not trainer["admin"] and not hr["admin"]


def test_bind_dn_template_mode(slapd):
    s = _settings(slapd, lookup_dn=None, bind_password_file=None,
                  bind_dn_template=f"uid={{username}},{PEOPLE}")
    user = _login(s, "carla.diaz", PASSWORD["carla.diaz"])
    assert user is not None and user["name"] == "tr2001" and user["groups"] == ["trainers"]
    assert _login(s, "carla.diaz", "wrong") is None


def test_disabled_account_refused(slapd):
    # The directory still accepts the password (so the refusal is the hub's filter)...
    r = _whoami(slapd, "eli.stone", PASSWORD["eli.stone"])
    assert r.returncode == 0, r.stderr
    # ...and the same account with ACCOUNTDISABLE cleared would log in: proven by
    # turning the filter off, which must then let it through.
    assert _login(_settings(slapd, disabled_filter=None), "eli.stone", PASSWORD["eli.stone"])["name"] == "cs1003"
    assert _login(_settings(slapd), "eli.stone", PASSWORD["eli.stone"]) is None


def test_account_in_no_course_group_refused(slapd):
    assert _whoami(slapd, "fay.nogroup", PASSWORD["fay.nogroup"]).returncode == 0
    assert _login(_settings(slapd), "fay.nogroup", PASSWORD["fay.nogroup"]) is None


def test_id_the_mapping_refuses_is_refused_with_reason(slapd):
    with pytest.raises(HTTPError) as e:
        _login(_settings(slapd), "gil.digits", PASSWORD["gil.digits"])
    assert e.value.status_code == 403
    assert "all digits" in e.value.log_message


# --- TLS ----------------------------------------------------------------------
def test_certificate_from_another_ca_refused(slapd):
    s = _settings(slapd, ca_file=slapd["rogue_ca"])
    with pytest.raises(ldap3.core.exceptions.LDAPException) as e:
        _login(s, "ana.reyes", PASSWORD["ana.reyes"])
    assert "certificate verify failed" in str(e.value)


def test_certificate_for_another_host_name_refused(slapd):
    # The certificate names 127.0.0.1 and localhost; the same server reached by a
    # name it does not carry is refused even though the CA is right.
    # slapd listens on 127.0.0.1 only: reach it by a name that resolves there
    # but is not in the certificate, the address's 32-bit numeric form.
    s = _settings(slapd, server="2130706433")
    with pytest.raises(ldap3.core.exceptions.LDAPException) as e:
        _login(s, "ana.reyes", PASSWORD["ana.reyes"])
    assert "doesn't match any name" in str(e.value), e.value


def test_plain_bind_refused_by_server(slapd):
    server = ldap3.Server("127.0.0.1", port=slapd["port"], get_info=ldap3.NONE)
    conn = ldap3.Connection(server, user=f"uid=ana.reyes,{PEOPLE}", password=PASSWORD["ana.reyes"])
    try:
        assert conn.bind() is False
        assert conn.result["description"] == "confidentialityRequired"
    finally:
        conn.unbind()
    # The same bind after StartTLS succeeds, so it is the missing TLS that was refused.
    tls = ldap3.Tls(ca_certs_file=str(slapd["ca"]), validate=ssl.CERT_REQUIRED)
    server = ldap3.Server("127.0.0.1", port=slapd["port"], tls=tls, get_info=ldap3.NONE)
    conn = ldap3.Connection(server, user=f"uid=ana.reyes,{PEOPLE}", password=PASSWORD["ana.reyes"])
    try:
        assert conn.start_tls() and conn.bind() is True
    finally:
        conn.unbind()
    # ldapwhoami without -ZZ: refused too.
    r = _run(["ldapwhoami", "-x", "-H", slapd["url"], "-D", f"uid=ana.reyes,{PEOPLE}",
              "-w", PASSWORD["ana.reyes"]], env=slapd["env"])
    assert r.returncode != 0 and "onfidentiality" in r.stderr


# --- configuration errors (no server needed) ---------------------------------
def _plain_settings(tmp_path, **over):
    ca = tmp_path / "ca.pem"
    base = dict(server="ldap.city.test", ca_file=ca, user_search_base=PEOPLE, groups=dict(GROUPS),
                login_attribute="uid", lookup_dn=LOOKUP_DN, bind_password_file=tmp_path / "pw")
    base.update(over)
    return LDAPSettings(**base)


def test_missing_ca_file_named(tmp_path):
    with pytest.raises(LDAPConfigError, match=r"CA file .*ca\.pem does not exist"):
        configure_ldap(Config(), _plain_settings(tmp_path))
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    with pytest.raises(LDAPConfigError, match="no usable PEM certificate"):
        configure_ldap(Config(), _plain_settings(tmp_path))


def test_bind_password_file_rules(tmp_path):
    pw = tmp_path / "pw"
    with pytest.raises(LDAPConfigError, match=r"password file .*pw does not exist"):
        read_bind_password(pw)
    pw.write_text("s3cret\n")
    pw.chmod(0o644)
    with pytest.raises(LDAPConfigError, match=r"mode 0644.*chmod 600"):
        read_bind_password(pw)
    pw.chmod(0o600)
    assert read_bind_password(pw) == "s3cret"
    pw.write_text("\n")
    with pytest.raises(LDAPConfigError, match="empty"):
        read_bind_password(pw)


def test_from_env_names_what_is_missing():
    with pytest.raises(LDAPConfigError, match="HCWH_LDAP_LEARNERS_GROUP"):
        LDAPSettings.from_env({})
    env = {"HCWH_LDAP_LEARNERS_GROUP": GROUPS["learners"]}
    with pytest.raises(LDAPConfigError, match="HCWH_LDAP_SERVER"):
        LDAPSettings.from_env(env)
    env |= {"HCWH_LDAP_SERVER": "ldap.city.test", "HCWH_LDAP_CA_FILE": "/etc/ssl/city-ca.pem",
            "HCWH_LDAP_USER_SEARCH_BASE": PEOPLE, "HCWH_LDAP_TRAINERS_GROUP": GROUPS["trainers"]}
    s = LDAPSettings.from_env(env)
    assert (s.server, s.port, s.login_attribute) == ("ldap.city.test", 389, "sAMAccountName")
    assert s.groups == {"learners": GROUPS["learners"], "trainers": GROUPS["trainers"]}
    assert "1.2.840.113556.1.4.803:=2" in s.disabled_filter


# --- through the course's running hub ----------------------------------------------
def test_directory_logins_through_the_running_hub(slapd, machine_hub_lock):
    """The real hub (hub/jupyterhub_config.py with HCWH_AUTHENTICATOR=ldap) against this slapd,
    in Debian's Chromium: a learner's page starts as her own OS account, the trainer and HR land
    on their pages by directory group, holding no admin; the disabled, group-less and unmappable
    accounts are refused in words; nobody meets the hub's home or token page."""
    import pwd
    import re
    import tempfile

    from playwright.sync_api import expect

    from tests.cohort_hub import CHROMIUM, Hub, as_course, chromium, my_modules, prepare_envs, remove_accounts, setup_hub

    if os.geteuid() != 0:
        pytest.skip("the hub test needs root: the hub starts each learner's page as their own OS account")
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `sudo bash scripts/system-deps.sh`", pytrace=False)
    hana = "hcwhtest-ldap-hana"  # employeeNumber through the one id -> login mapping
    prepare_envs()
    remove_accounts("hcwhtest-ldap-")
    root = Path(tempfile.mkdtemp(prefix="hcwh-ldaphub-", dir="/tmp"))
    os.chmod(root, 0o711)
    state = root / "state"
    hub = Hub(state)
    hub.learners = [hana]
    try:
        setup_hub(state)
        (root / "in").mkdir(mode=0o755)
        cohorts, roster = root / "in" / "cohorts.csv", root / "in" / "roster.csv"
        cohorts.write_text("cohort,module,due_date\nldap-cohort,01-authenticity,2030-01-31\n")
        roster.write_text("employee_id,first_name,last_name,email,department,hire_date,cohort\n"
                          f"{hana},Hana,Lee,hana@example.org,Library,2026-11-02,ldap-cohort\n")
        for f in (cohorts, roster):
            os.chmod(f, 0o644)
        as_course(["cohorts", "import", str(cohorts)], state)
        as_course(["roster", "import", str(roster)], state)  # her OS account, as for the pilot
        pw = root / "lookup-password"
        pw.write_text(LOOKUP_PW + "\n")
        pw.chmod(0o600)
        hub.extra_env = {
            "HCWH_AUTHENTICATOR": "ldap", "HCWH_LDAP_SERVER": "127.0.0.1", "HCWH_LDAP_PORT": str(slapd["port"]),
            "HCWH_LDAP_CA_FILE": str(slapd["ca"]), "HCWH_LDAP_USER_SEARCH_BASE": PEOPLE,
            "HCWH_LDAP_LEARNERS_GROUP": GROUPS["learners"], "HCWH_LDAP_TRAINERS_GROUP": GROUPS["trainers"],
            "HCWH_LDAP_HR_GROUP": GROUPS["hr"], "HCWH_LDAP_LOGIN_ATTRIBUTE": "uid",
            "HCWH_LDAP_LOOKUP_DN": LOOKUP_DN, "HCWH_LDAP_BIND_PASSWORD_FILE": str(pw),
            "HCWH_LDAP_ID_ATTRIBUTE": "employeeNumber",
        }
        hub.start()
        with chromium(root / "chromium") as browser:
            def login(uid: str, password: str):
                page = browser.new_context().new_page()
                page.set_default_timeout(60_000)
                page.goto(f"{hub.url}/hub/login")
                assert "city account" in page.locator("#login-main").inner_text()
                assert page.locator("#enroll-link").count() == 0  # no enrollment codes with the directory
                page.fill("#username_input", uid)
                page.fill("#password_input", password)
                page.click("#login_submit")
                return page

            # the learner: her own page, started as her own OS account
            learner = login("hana.lee", PASSWORD["hana.lee"])
            learner.wait_for_url(my_modules(hana), timeout=180_000)  # her own pages
            expect(learner.locator("h1")).to_have_text("My modules", timeout=120_000)
            status, user = hub.api("GET", f"/users/{hana}")
            assert status == 200 and user["groups"] == ["learners"] and not user["admin"]
            uid = pwd.getpwnam(hana).pw_uid
            owners = {p.stat().st_uid for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline_has(p, hana)}
            assert owners == {uid}, owners  # her page, as her own account
            learner.goto(f"{hub.url}/hub/token")  # no token page: her own page instead
            learner.wait_for_url(my_modules(hana))
            # the trainer and HR: their pages by directory group; no admin
            trainer = login("carla.diaz", PASSWORD["carla.diaz"])
            trainer.wait_for_url(re.compile(r"/services/trainer-console/"))
            expect(trainer.locator("h1")).to_have_text("Trainer console")
            hr = login("dev.patel", PASSWORD["dev.patel"])
            hr.wait_for_url(re.compile(r"/services/hr-report/"))
            assert hr.goto(f"{hub.url}/services/trainer-console/").status == 403
            for name, group in (("tr2001", "trainers"), ("hr3001", "hr")):
                status, user = hub.api("GET", f"/users/{name}")
                assert status == 200 and user["groups"] == [group] and not user["admin"], user
                assert "admin" not in user["roles"]
            assert learner.goto(f"{hub.url}/services/trainer-console/").status == 403
            # refusals, in words
            for uid_, password in (("eli.stone", PASSWORD["eli.stone"]), ("fay.nogroup", PASSWORD["fay.nogroup"]),
                                   ("ana.reyes", "not-her-password")):
                page = login(uid_, password)
                expect(page.locator("#login-error")).to_be_visible()
                assert "/hub/login" in page.url, (uid_, page.url)
            assert hub.api("GET", "/users/cs1003")[0] == 404  # the disabled account was never let in
            page = login("gil.digits", PASSWORD["gil.digits"])  # an id the mapping refuses
            expect(page.locator("#login-error")).to_contain_text("this account cannot be given a course login")
            assert "all digits" in page.locator("#login-error").inner_text() and "/hub/login" in page.url
            assert hub.help_contact in page.locator("#login-main").inner_text()
            # logging out says so, and ends the learner's page
            learner.goto(f"{hub.url}/hub/logout")
            expect(learner.locator("h1")).to_have_text("You are logged out")
    finally:
        hub.stop(wait_for_pages=30)
        remove_accounts("hcwhtest-ldap-")
        shutil.rmtree(root, ignore_errors=True)


def _cmdline_has(proc: Path, word: str) -> bool:
    """Whether the process's command line or environment names ``word`` (its hub user)."""
    try:
        return word.encode() in (proc / "environ").read_bytes() and b"jupyterhub-singleuser" in (proc / "cmdline").read_bytes()
    except OSError:
        return False

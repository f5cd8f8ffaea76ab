"""A catalogue of wrong inputs (bad_inputs.yml): each one must fail with a message that says what is wrong and what
to do, without a traceback, and without a single write to the org.

"No write" is checked two independent ways: the emulator's request counters (no PATCH, DELETE, or POST other than
read-only composite/readMetadata calls) and a full snapshot of every row of the objects the collection manages, taken
by raw queries before and after.

The module cases run as one playbook (one inventory host per case, strategy free, so they run in parallel); the role
cases run one playbook each so that a write can be blamed on its case.
"""

import copy
import json
import pathlib
import re
import secrets
import socket
import string
import sys
import uuid

import pytest
import requests
import yaml

from conftest import REPO, problems_of, run_ansible_playbook

HERE = pathlib.Path(__file__).resolve().parent
CATALOGUE = yaml.safe_load((HERE / "bad_inputs.yml").read_text())
MODULE_CASES = [c for c in CATALOGUE if "task" in c]
ROLE_CASES = [c for c in CATALOGUE if "role_vars" in c]
ORGS = ("org1", "org2", "org3")
# Objects whose rows the collection writes; every row (all fields) is compared before and after.
SNAPSHOT_OBJECTS = ("PermissionSet", "ObjectPermissions", "FieldPermissions", "PermissionSetAssignment",
                    "PermissionSetLicenseAssign", "User", "UserLogin", "SetupEntityAccess", "ConnectedApplication",
                    "PermissionSetGroup")
# Logging in is not a write: Salesforce (and sfemu) stamp the user's last login on every token grant.
LOGIN_BOOKKEEPING = {"User": {"LastLoginDate"}}
TRACEBACK_MARKERS = ("Traceback (most recent call last)", "MODULE FAILURE")


def test_catalogue_is_large_and_well_formed():
    ids = [c["id"] for c in CATALOGUE]
    assert len(ids) == len(set(ids)), "duplicate ids"
    assert len(CATALOGUE) >= 40
    for case in CATALOGUE:
        assert ("task" in case) != ("role_vars" in case), case["id"]
        assert case.get("says") and case.get("advice"), case["id"]


# --- helpers ---------------------------------------------------------------------------------------------------
def writes(stats):
    """Requests that can change an org: PATCH, DELETE, and POST except read-only composite, readMetadata and
    listMetadata (and requests to an API version the org does not have, which it refuses before looking at them)."""
    by_method, by_resource = stats.get("by_method", {}), stats.get("by_resource", {})
    reads_by_post = (by_resource.get("composite", 0) + by_resource.get("metadata/readMetadata", 0)
                     + by_resource.get("metadata/listMetadata", 0) + by_resource.get("invalid_version", 0))
    return by_method.get("PATCH", 0) + by_method.get("DELETE", 0) + by_method.get("POST", 0) - reads_by_post


def snapshot(emulator, alias):
    """Every row, every field, of the objects the collection manages (via the emulator's describe)."""
    snap = {}
    for sobject in SNAPSHOT_OBJECTS:
        resp = emulator.raw(alias, "GET", "sobjects/%s/describe" % sobject, expect_ok=False)
        if resp.status_code != 200:
            continue
        fields = [f["name"] for f in resp.json()["fields"] if f.get("type") not in ("address", "location")
                  and f["name"] not in LOGIN_BOOKKEEPING.get(sobject, ())]
        rows = emulator.raw_query(alias, "SELECT %s FROM %s" % (", ".join(fields), sobject))
        snap[sobject] = sorted((json.dumps(r, sort_keys=True) for r in rows))
    return snap


def snapshot_diff(before, after):
    out = []
    for sobject in sorted(set(before) | set(after)):
        old, new = set(before.get(sobject, [])), set(after.get(sobject, []))
        if old != new:
            out.append("%s: %d row(s) gone, %d new/changed: %s" % (sobject, len(old - new), len(new - old),
                                                                     sorted(new - old)[:2]))
    return out


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_unknown_key(path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    return key


def write_foreign_ca(path):
    """A self-signed CA that did not sign the emulator's certificate."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Not the sfemu CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def token_post(emulator, alias, path, data):
    c = emulator.conn(alias)
    return requests.post(c["login_url"].rstrip("/") + path, data=data, verify=c["ca_file"], timeout=30)


def fill(value, env):
    """Replace ${name} placeholders in every string of ``value``."""
    if isinstance(value, str):
        return re.sub(r"\$\{(\w+)\}", lambda m: str(env[m.group(1)]), value)
    if isinstance(value, list):
        return [fill(v, env) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, env) for k, v in value.items()}
    return value


# --- preparations (run before the snapshot) ----------------------------------------------------------------------
def setup_revoked_access_token(emulator, env):
    c = emulator.conn("org1")
    resp = token_post(emulator, "org1", "/services/oauth2/token", {
        "grant_type": "password", "client_id": c["client_id"], "client_secret": c["client_secret"],
        "username": c["username"], "password": c["password"]})
    resp.raise_for_status()
    token = resp.json()["access_token"]
    token_post(emulator, "org1", "/services/oauth2/revoke", {"token": token}).raise_for_status()
    env["revoked_access_token"] = token


def setup_revoked_refresh_token(emulator, env):
    # The seeded refresh token of org1 (connections.json); /__sfemu/reset restores it after the module.
    token = emulator.conn("org1")["refresh_token"]
    token_post(emulator, "org1", "/services/oauth2/revoke", {"token": token}).raise_for_status()
    env["revoked_refresh_token"] = token


def setup_assigned_permission_set(emulator, env):
    ps_id = emulator.raw("org1", "POST", "sobjects/PermissionSet",
                         json={"Name": "BadInput_Assigned_PS", "Label": "BadInput Assigned PS"}).json()["id"]
    admin = emulator.raw_query("org1", "SELECT Id FROM User WHERE Username = '%s'" % env["admin_username"])[0]["Id"]
    emulator.raw("org1", "POST", "sobjects/PermissionSetAssignment", json={"AssigneeId": admin, "PermissionSetId": ps_id})


def setup_exhaust_integration_licences(emulator, env, alias="org3"):
    """Use up every "Salesforce Integration" user licence of ``alias`` with API-only users created by hand."""
    lic = emulator.raw_query(alias, "SELECT Id, TotalLicenses, UsedLicenses FROM UserLicense WHERE Name = 'Salesforce Integration'")[0]
    profile = emulator.raw_query(alias, "SELECT Id FROM Profile WHERE UserLicenseId = '%s'" % lic["Id"])[0]["Id"]
    for n in range(lic["TotalLicenses"] - lic["UsedLicenses"]):
        tag = uuid.uuid4().hex[:8]
        emulator.raw(alias, "POST", "sobjects/User", json={
            "Username": "filler.%s@sfops-tests.example" % tag, "LastName": "Filler %d" % n, "Email": "filler@example.com",
            "Alias": "fill%s" % tag[:4], "TimeZoneSidKey": "GMT", "LocaleSidKey": "en_US", "EmailEncodingKey": "UTF-8",
            "LanguageLocaleKey": "en_US", "ProfileId": profile})
    lic = emulator.raw_query(alias, "SELECT TotalLicenses, UsedLicenses FROM UserLicense WHERE Name = 'Salesforce Integration'")[0]
    assert lic["UsedLicenses"] >= lic["TotalLicenses"], lic


SETUPS = {
    "revoked_access_token": setup_revoked_access_token,
    "revoked_refresh_token": setup_revoked_refresh_token,
    "assigned_permission_set": setup_assigned_permission_set,
    "exhaust_integration_licences": setup_exhaust_integration_licences,
}


@pytest.fixture(scope="module")
def prepared(emulator, tmp_path_factory):
    """Placeholders, preparations, and the snapshot of every org before any case ran."""
    emulator.reset()
    emulator.clear_faults()
    tmp = tmp_path_factory.mktemp("bad-input")
    c1 = emulator.conn("org1")
    org1_id = emulator.raw_query("org1", "SELECT Id FROM Organization")[0]["Id"]
    env = {
        "admin_username": c1["username"],
        "client_secret": c1["client_secret"],
        "http_instance_url": emulator.url.replace("https://", "http://"),
        "closed_port_url": "https://127.0.0.1:%d" % free_port(),
        "forged_token": org1_id[:15] + "!AQ" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(94)),
        "unknown_key_file": tmp / "unknown-key.pem",
        "wrong_ca_file": tmp / "foreign-ca.pem",
    }
    write_unknown_key(env["unknown_key_file"])
    write_foreign_ca(env["wrong_ca_file"])
    profile_ps = emulator.raw_query("org1", "SELECT Name FROM PermissionSet WHERE IsOwnedByProfile = true LIMIT 1")
    env["profile_permission_set"] = profile_ps[0]["Name"]
    emulator.raw("org1", "POST", "sobjects/PermissionSet", json={"Name": "BadInput_Existing_PS", "Label": "BadInput Existing PS"})
    env["existing_permission_set"] = "BadInput_Existing_PS"
    for case in CATALOGUE:
        if case.get("setup"):
            SETUPS[case["setup"]](emulator, env)
    yield env, None, tmp
    emulator.reset()


def case_auth(emulator, case, env):
    alias = case.get("org", "org1")
    args = emulator.module_auth(alias)
    for key, value in (case.get("auth") or {}).items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = fill(value, env)
    return args


def module_case(emulator, case, env):
    """(module, args) of a module case: the org's connection options, the case's overrides, the task's own args."""
    (module, margs), = case["task"].items()
    args = case_auth(emulator, case, env)
    args.update(fill(margs, env))
    return module, args


def inventory_host(emulator, case, extra=None):
    alias = case.get("org", "org1")
    hv = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, "sfemu_org": alias}
    hv.update(extra or {})
    return hv


def failure_text(result):
    parts = [str(result.get("msg", ""))]
    for key in ("module_stderr", "module_stdout", "exception", "stderr"):
        if result.get(key):
            parts.append(str(result[key]))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def module_run(emulator, prepared):
    """All module cases in one ansible-playbook run: one play per module, one host per case (in parallel)."""
    env, dummy_before, tmp = prepared
    before = {alias: snapshot(emulator, alias) for alias in ORGS}
    groups = {}
    for case in MODULE_CASES:
        module, args = module_case(emulator, case, env)
        groups.setdefault(module, {})[case["id"]] = inventory_host(emulator, case, {"case_args": args})
    plays = [{"name": "bad input: %s" % module, "hosts": "g_%s" % module.split(".")[-1], "gather_facts": False,
              "tasks": [{"name": "case", module: "{{ case_args }}", "ignore_errors": True}]} for module in groups]
    playbook = tmp / "bad-inputs.yml"
    playbook.write_text(yaml.safe_dump(plays, sort_keys=False))
    inventory = tmp / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {
        "g_%s" % module.split(".")[-1]: {"hosts": hosts} for module, hosts in groups.items()}}}))
    emulator.reset_stats()
    result = run_ansible_playbook(playbook, inventory, diff=True, extra_args=("-f", "12"))
    (tmp / "stdout.json").write_text(result.stdout)
    (tmp / "stderr.txt").write_text(result.stderr)
    stats = emulator.stats()
    after = {alias: snapshot(emulator, alias) for alias in ORGS}
    return result, stats, before, after


def module_result(run, case_id):
    for res in run.host_results(case_id):
        if res["task"] == "case":
            return res
    return None


def check_failure(case, res, env, output):
    assert res is not None, "case %s produced no result (rc=%s):\n%s" % (case["id"], output.rc, output.stderr[-2000:])
    text = failure_text(res)
    assert res.get("failed") is True, "case %s did not fail: %s" % (case["id"], json.dumps(res)[:2000])
    for marker in TRACEBACK_MARKERS:
        assert marker not in text, "case %s: %s in the failure:\n%s" % (case["id"], marker, text[:3000])
    msg = str(res.get("msg", ""))
    low = msg.lower()
    missing = [w for w in fill(case["says"], env) if str(w).lower() not in low]
    assert not missing, "case %s: message lacks %s: %s" % (case["id"], missing, msg)
    advice = fill(case["advice"], env)
    assert any(str(w).lower() in low for w in advice), "case %s: message says nothing of %s: %s" % (case["id"], advice, msg)


# One test per batch, not per case: under pytest-xdist, parametrized cases would be spread over the workers and each
# worker would run the whole batch again. Every failing case is listed in the assertion message.
def test_module_inputs_refused_cleanly(module_run, prepared):
    """Every module case fails with what is wrong and what to do, no traceback, and nothing written to any org."""
    env = prepared[0]
    run, stats, before, after = module_run
    problems = []
    for case in MODULE_CASES:
        problem = problems_of(check_failure, case, module_result(run, case["id"]), env, run)
        if problem and case.get("known_issue"):
            print("%s (known issue: %s): %s" % (case["id"], case["known_issue"], problem))
        elif problem:
            problems.append("%s: %s" % (case["id"], problem))
        elif case.get("known_issue"):
            problems.append("%s passes now: remove its known_issue" % case["id"])
    for marker in TRACEBACK_MARKERS:
        if marker in run.stdout or marker in run.stderr:
            problems.append("%s in the output" % marker)
    for alias in ORGS:
        if writes(stats.get(alias, {})):
            problems.append("%s: write requests %s" % (alias, stats.get(alias)))
        if snapshot_diff(before[alias], after[alias]):
            problems.append("%s: org changed: %s" % (alias, snapshot_diff(before[alias], after[alias])))
    print("%d module cases checked" % len(MODULE_CASES))
    assert problems == [], "\n".join(problems)


@pytest.fixture(scope="module")
def role_runs(emulator, tmp_path_factory):
    """Role cases, three at a time: each case gets an org of its own in one playbook run, so a write is blamed on
    its case by the org's counters and snapshot.  Starts from freshly seeded orgs."""
    emulator.reset()
    emulator.clear_faults()
    env, tmp = {}, tmp_path_factory.mktemp("bad-role-input")
    out = {}
    for start in range(0, len(ROLE_CASES), len(ORGS)):
        batch = list(zip(ORGS, ROLE_CASES[start:start + len(ORGS)]))
        hosts = {}
        for alias, case in batch:
            hv = emulator.host_vars(alias)
            hv.update({"integration_user_preset": "planhat"})
            hv.update(fill(copy.deepcopy(case["role_vars"]), env))
            hosts[alias] = hv
        inventory = tmp / ("role-inventory-%d.yml" % start)
        inventory.write_text(yaml.safe_dump({"all": {"children": {"salesforce_orgs": {"hosts": hosts}}}}))
        before = {alias: snapshot(emulator, alias) for alias, dummy in batch}
        emulator.reset_stats()
        run = run_ansible_playbook(REPO / "playbooks/setup_integration.yml", inventory, diff=True)
        stats = emulator.stats()
        for alias, case in batch:
            out[case["id"]] = (alias, run, stats.get(alias, {}), before[alias], snapshot(emulator, alias))
    return out


def test_role_inputs_refused_cleanly(role_runs):
    """Every role case fails with what is wrong and what to do, no traceback, and nothing written to its org."""
    problems = []
    known = []
    for case in ROLE_CASES:
        alias, run, stats, before, after = role_runs[case["id"]]
        failed = [r for r in run.host_results(alias) if r.get("failed") and not r.get("ignore_errors")]
        found = []
        problem = problems_of(check_failure, case, failed[-1] if failed else None, {}, run)
        if problem:
            found.append(problem)
        for marker in TRACEBACK_MARKERS:
            if marker in run.stdout or marker in run.stderr:
                found.append("%s in the output" % marker)
        if writes(stats):
            found.append("write requests %s" % stats)
        if snapshot_diff(before, after):
            found.append("org changed: %s" % snapshot_diff(before, after))
        if case.get("known_issue"):
            if found:
                known.append("%s (known issue: %s): %s" % (case["id"], case["known_issue"], "; ".join(found)))
            else:
                problems.append("%s passes now: remove its known_issue" % case["id"])
        else:
            problems.extend("%s: %s" % (case["id"], f) for f in found)
    print("%d role cases checked; known issues:\n%s" % (len(ROLE_CASES), "\n".join(known)))
    assert problems == [], "\n".join(problems)

"""No secret in any output: the full role through ansible-runner's Python API (as AWX runs it), at -vvvv, with --diff,
in check mode, the drift report, with injected failures and with a wrong secret; then every byte of stdout, job
events, runner artifacts, the Ansible log and the drift report is searched for every secret and every access token
the emulator issued during the runs.

How the secrets travel (docs/security.md "ansible-runner and AWX"): ansible-runner writes the full environment into
artifacts/<ident>/command, so no secret goes into env/envvars. The JWT key is a file (only its path is a variable);
client secrets, passwords and refresh tokens are in a vault-encrypted host_vars file, opened with a vault password
file. Only non-secret settings (SF_CA_PATH, SF_API_VERSION) come from the environment.
"""

import json
import os
import pathlib
import re
import subprocess

import pytest
import yaml

from conftest import REPO, VENV_BIN, automation_user

ansible_runner = pytest.importorskip("ansible_runner")

# Real access tokens: 15-character org id (00D...), '!', opaque text (shared/reference/salesforce-api.md 7.6).
TOKEN_SHAPE = re.compile(r"00D[A-Za-z0-9]{12}![A-Za-z0-9._]{20,}")
WRONG_SECRET = "Wrong-Secret-Value-7f3c9e!"


def key_fragments(pem_text):
    """The private key body, whole and line by line (a leak may be re-wrapped or partial)."""
    lines = [ln.strip() for ln in pem_text.splitlines() if ln.strip() and not ln.startswith("-----")]
    return ["".join(lines)] + [ln for ln in lines if len(ln) >= 24]


def emulator_tokens(emulator):
    """Every access and refresh token the emulator holds (persisted org state: sessions and refresh tokens)."""
    found = set()
    for path in emulator.data_dir.glob("org*.json"):
        text = path.read_text()
        found.update(TOKEN_SHAPE.findall(text))
        oauth = (json.loads(text).get("meta") or {}).get("oauth") or {}
        found.update(oauth.get("sessions") or {})
        found.update(oauth.get("refresh") or {})
    return found


def vault_encrypt(path, password_file):
    subprocess.run([str(VENV_BIN / "ansible-vault"), "encrypt", "--vault-password-file", str(password_file), str(path)],
                   check=True, capture_output=True, env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg")))


class Runs(object):
    def __init__(self, emulator, pdd):
        self.emulator = emulator
        self.pdd = pdd
        self.results = {}
        self.report_dir = pdd / "drift-report"
        self.log_file = pdd / "ansible.log"
        self.envvars = {
            # Non-secret settings only: this file ends up in artifacts/<ident>/command.
            "SF_CA_PATH": emulator.conn("org1")["ca_file"],
            "SF_API_VERSION": "67.0",
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".venv"),
            "ANSIBLE_LOG_PATH": str(self.log_file),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "LC_ALL": "C.UTF-8",
            "PATH": "%s%s%s" % (VENV_BIN, os.pathsep, os.environ.get("PATH", "")),
        }

    def run(self, ident, playbook, cmdline, extravars=None):
        result = ansible_runner.run(
            private_data_dir=str(self.pdd), playbook=str(REPO / playbook), ident=ident, cmdline=cmdline,
            envvars=self.envvars, extravars=extravars or {}, quiet=True,
            settings={"suppress_ansible_output": True, "job_timeout": 600})
        self.results[ident] = result
        return result


@pytest.fixture(scope="module")
def runs(emulator, tmp_path_factory):
    emulator.reset()
    emulator.clear_faults()
    pdd = tmp_path_factory.mktemp("runner")
    for sub in ("env", "inventory/host_vars", "project"):
        (pdd / sub).mkdir(parents=True, exist_ok=True)
    vault_password = pdd / "vault-password"
    vault_password.write_text("sfops-test-vault-%s\n" % os.getpid())
    vault_password.chmod(0o600)
    c1, c2, c3 = (emulator.conn(a) for a in ("org1", "org2", "org3"))

    # org1: JWT bearer with a key file; org2: refresh token flow; org3: username-password flow.
    hosts = {}
    for alias in ("org1", "org2", "org3"):
        hv = emulator.host_vars(alias)
        hv.pop("sf_ca_path")  # from SF_CA_PATH in the environment instead
        hv.update({"integration_user_preset": "planhat", "integration_user_email": "ops+%s@example.com" % alias})
        hosts[alias] = hv
    hosts["org2"]["sf_auth_method"] = "refresh_token"
    hosts["org3"]["sf_auth_method"] = "password"
    (pdd / "inventory" / "hosts.yml").write_text(yaml.safe_dump(
        {"all": {"children": {"salesforce_orgs": {"hosts": hosts}}}}))
    vaulted = {
        "org2": {"sf_refresh_token": c2["refresh_token"], "sf_client_secret": c2["client_secret"]},
        "org3": {"sf_password": c3["password"], "sf_client_secret": c3["client_secret"]},
    }
    for alias, values in vaulted.items():
        path = pdd / "inventory" / "host_vars" / ("%s.yml" % alias)
        path.write_text(yaml.safe_dump(values))
        vault_encrypt(path, vault_password)

    secrets = {
        "org1 private key": key_fragments(pathlib.Path(c1["private_key_file"]).read_text()),
        "org2 private key": key_fragments(pathlib.Path(c2["private_key_file"]).read_text()),
        "org2 refresh token": [c2["refresh_token"]],
        "org2 client secret": [c2["client_secret"]],
        "org3 password": [c3["password"]],
        "org3 client secret": [c3["client_secret"]],
        "vault password": [vault_password.read_text().strip()],
        "wrong secret": [WRONG_SECRET],
    }

    r = Runs(emulator, pdd)
    vault = "--vault-password-file %s" % vault_password
    r.run("apply", "playbooks/setup_integration.yml", "-vvvv --diff %s" % vault)
    # The same converged run as module processes (the other path, see plugins/plugin_utils/in_process.py): at -vvvv
    # Ansible prints each module's invocation, which must show every secret option censored.
    r.run("apply-module-process", "playbooks/setup_integration.yml", "-vvvv --diff %s" % vault,
          extravars={"sfops_salesforce_in_process": False})
    # Drift by hand, so the check-mode run and its drift report carry real diffs.
    ps = emulator.raw_query("org1", "SELECT Id FROM PermissionSet WHERE Name = 'Planhat_Integration'")
    if ps:
        emulator.raw("org1", "PATCH", "sobjects/PermissionSet/%s" % ps[0]["Id"], json={"PermissionsViewSetup": False})
    # drift_check.yml runs the role in check mode with diff and writes the JSON/JUnit drift report.
    r.run("drift", "playbooks/drift_check.yml", "-vvvv --diff %s" % vault, extravars={"drift_report_dir": str(r.report_dir)})
    for kind in ("session_expired", "server_unavailable", "connection_reset", "row_lock"):
        emulator.fault(kind, probability=0.25, count=100000)
    try:
        r.run("faults", "playbooks/setup_integration.yml", "-vvvv --diff %s" % vault)
    finally:
        emulator.clear_faults()
    # A wrong password and client secret (vaulted like the real ones) must not be echoed by the failed login.
    path = pdd / "inventory" / "host_vars" / "org3.yml"
    path.write_text(yaml.safe_dump({"sf_password": WRONG_SECRET, "sf_client_secret": WRONG_SECRET}))
    vault_encrypt(path, vault_password)
    r.run("wrong-secret", "playbooks/setup_integration.yml", "-vvvv --diff --limit org3 %s" % vault)
    r.secrets = secrets
    r.tokens = emulator_tokens(emulator)
    yield r
    emulator.reset()


def output_files(r):
    """Every file the runs produced: runner artifacts (stdout, job events, command, status...), log, drift report."""
    files = [p for p in (r.pdd / "artifacts").rglob("*") if p.is_file()]
    files += [p for p in r.report_dir.rglob("*") if p.is_file()] if r.report_dir.exists() else []
    if r.log_file.exists():
        files.append(r.log_file)
    # The inventory as given: the vaulted files must not hold a plaintext secret either.
    files += [p for p in (r.pdd / "inventory").rglob("*") if p.is_file()]
    return files


# One test on the runs (not four): under pytest-xdist, tests sharing the module fixture could land on both workers and
# each would repeat every ansible-runner run.
def test_runner_runs_keep_every_secret_out(runs):
    check_the_runs_did_what_they_should(runs)
    check_no_secret_in_any_output(runs)
    check_no_token_shaped_string_in_any_output(runs)
    check_runner_command_artifact_holds_the_environment(runs)


def check_the_runs_did_what_they_should(runs):
    apply, drift = runs.results["apply"], runs.results["drift"]
    assert apply.status == "successful" and apply.rc == 0, apply.stdout.read()[-5000:]
    assert drift.rc == 0, drift.stdout.read()[-5000:]
    events = list(drift.events)
    diffs = [e for e in events if e.get("event") == "runner_on_ok" and (e["event_data"].get("res") or {}).get("diff")]
    assert diffs, "the check-mode run shows no diff"
    assert any(e["event_data"].get("res", {}).get("changed") for e in diffs)
    assert list(runs.report_dir.glob("drift-report.*")), "no drift report written"
    assert runs.results["wrong-secret"].rc != 0
    assert runs.results["apply-module-process"].rc == 0, runs.results["apply-module-process"].stdout.read()[-5000:]
    # -vvvv really was on, on both paths: in the controller worker, and as module processes (whose invocations,
    # with the secret options censored, are printed).
    stdout = (runs.pdd / "artifacts" / "apply" / "stdout").read_text()
    assert "sfops.salesforce.sf_user runs in the controller worker" in stdout
    stdout = (runs.pdd / "artifacts" / "apply-module-process" / "stdout").read_text()
    assert "AnsiballZ_sf_user.py" in stdout and "<org1> EXEC" in stdout and "module_args" in stdout
    assert runs.tokens, "the emulator issued no token?"


def check_no_secret_in_any_output(runs):
    files = output_files(runs)
    assert len(files) > 20
    leaks = []
    secrets = dict(runs.secrets)
    secrets["access/refresh tokens issued during the runs"] = sorted(runs.tokens)
    for path in files:
        data = path.read_bytes().decode("utf-8", "replace")
        for name, values in secrets.items():
            for value in values:
                if value and value in data:
                    leaks.append("%s in %s" % (name, path.relative_to(runs.pdd)))
                    break
    assert leaks == []


def check_no_token_shaped_string_in_any_output(runs):
    leaks = []
    for path in output_files(runs):
        found = TOKEN_SHAPE.findall(path.read_bytes().decode("utf-8", "replace"))
        if found:
            leaks.append("%s: %s..." % (path.relative_to(runs.pdd), found[0][:20]))
    assert leaks == []


def check_runner_command_artifact_holds_the_environment(runs):
    """Why secrets must not go through env/envvars: the command artifact records the environment verbatim."""
    command = json.loads((runs.pdd / "artifacts" / "apply" / "command").read_text())
    env = command.get("env") or {}
    assert env.get("SF_API_VERSION") == "67.0"
    assert not [k for k in env if k in ("SF_CLIENT_SECRET", "SF_PASSWORD", "SF_PRIVATE_KEY", "SF_ACCESS_TOKEN",
                                        "SF_REFRESH_TOKEN")]


def test_secret_in_envvars_or_extravars_would_leak(tmp_path):
    """The reason for the rule above, shown on a trivial job: a value in env/envvars or in extravars lands in the
    command artifact (and ansible-playbook -vvvv prints extra vars given on the command line)."""
    canary = "canary-%s" % os.getpid()
    canary_var = "canary-var-%s" % os.getpid()
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "noop.yml").write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - ansible.builtin.ping:\n")
    res = ansible_runner.run(private_data_dir=str(tmp_path), playbook="noop.yml", ident="canary", quiet=True,
                             extravars={"sf_client_secret": canary_var}, envvars={"SF_CLIENT_SECRET": canary,
                                      "PATH": "%s%s%s" % (VENV_BIN, os.pathsep, os.environ.get("PATH", ""))})
    assert res.rc == 0
    command = (tmp_path / "artifacts" / "canary" / "command").read_text()
    assert canary in command
    # Extra vars are kept in plain text in env/extravars of the private data dir.
    assert canary_var in (tmp_path / "env" / "extravars").read_text()


def test_tls_is_verified_by_default(emulator, run_tasks):
    """Without ca_path the emulator's private CA is not trusted: a clear certificate error, before any request."""
    conn = emulator.module_auth("org1")
    conn["ca_path"] = None  # overrides the ca_path that module_defaults would otherwise bring
    emulator.reset_stats()
    res = run_tasks([{"name": "no ca", "sfops.salesforce.sf_org_info": conn}])
    assert res.rc != 0
    msg = res.results[-1]["msg"]
    assert "certificate" in msg.lower() and "ca_path" in msg, msg
    assert emulator.stats("org1")["token_requests"] == 0  # the TLS handshake failed: the server saw no request


def test_custom_ca_is_used(emulator, run_tasks):
    res = run_tasks([{"name": "custom ca", "sfops.salesforce.sf_org_info": {"gather": ["organization"]}}])
    assert res.rc == 0, res
    assert res.results[-1]["org"]["organization"]


def test_plain_http_refused_unless_allowed(emulator, run_tasks):
    http_url = emulator.url.replace("https://", "http://")
    res = run_tasks([{"name": "http", "sfops.salesforce.sf_org_info": {"login_url": http_url, "instance_url": http_url}}])
    assert res.rc != 0
    assert "allow_http" in res.results[-1]["msg"]
    # With allow_http the URL is accepted and the request is made (the TLS-only emulator then cannot answer it,
    # which shows the option was honoured rather than the URL refused).
    res = run_tasks([{"name": "http allowed", "sfops.salesforce.sf_org_info": {
        "login_url": http_url, "instance_url": http_url, "allow_http": True, "retries": 0}}])
    assert res.rc != 0
    msg = res.results[-1]["msg"]
    assert "uses http://" not in msg and "token endpoint" in msg, msg


# --- the automation user's own least privilege (docs/security.md section 1) ----------------------------------------
AUTOMATION_PERMISSIONS = ["PermissionsApiEnabled", "PermissionsViewSetup", "PermissionsManageProfilesPermissionsets",
                          "PermissionsAssignPermissionSets", "PermissionsManageInternalUsers", "PermissionsManageUsers",
                          "PermissionsViewRoles", "PermissionsModifyMetadata", "PermissionsCustomizeApplication",
                          "PermissionsManageCustomPermissions", "PermissionsExternalClientAppAdmin"]


def test_documented_automation_permissions_suffice(emulator, tmp_path):
    """A user with nothing but the permissions docs/security.md lists (on a minimum-access profile) runs the whole
    role; without Assign Permission Sets the run stops at the assignment with a message that says what to grant."""

    alias = "org2"
    emulator.clear_faults()
    tag = os.urandom(3).hex()
    q = emulator.raw_query
    username, ps_id = automation_user(emulator, alias, "sfops_Automation",
                               [p for p in AUTOMATION_PERMISSIONS if p != "PermissionsAssignPermissionSets"])

    hv = emulator.host_vars(alias)
    hv.update({"sf_username": username, "integration_user_preset": "planhat",
               "integration_user_username": "planhat.%s@%s.sfemu.example" % (tag, alias),
               "integration_user_email": "ops@example.com",
               "integration_user_permission_set_name": "Planhat_Integration_%s" % tag})
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"salesforce_orgs": {"hosts": {alias: hv}}}}}))

    try:
        check_automation_runs(emulator, alias, inventory, hv, ps_id)
    finally:
        # Leave no app access behind in the shared emulator (other suites count the app's permission sets).
        for row in q(alias, "SELECT Id FROM SetupEntityAccess WHERE Parent.Name = '%s'" % hv["integration_user_permission_set_name"]):
            emulator.raw(alias, "DELETE", "sobjects/SetupEntityAccess/%s" % row["Id"], expect_ok=False)


def check_automation_runs(emulator, alias, inventory, hv, ps_id):
    from conftest import run_ansible_playbook  # noqa: PLC0415

    q = emulator.raw_query
    run = run_ansible_playbook(REPO / "playbooks/setup_integration.yml", inventory)
    assert run.rc != 0
    failed = [r for r in run.host_results(alias) if r.get("failed") and not r.get("ignore_errors")]
    assert failed and "assignment" in failed[-1]["task"].lower(), [r["task"] for r in failed]
    msg = failed[-1]["msg"]
    assert "INSUFFICIENT_ACCESS" in msg and "Assign Permission Sets" in msg, msg

    emulator.raw(alias, "PATCH", "sobjects/PermissionSet/%s" % ps_id, json={"PermissionsAssignPermissionSets": True})
    run = run_ansible_playbook(REPO / "playbooks/setup_integration.yml", inventory)
    assert run.rc == 0, run
    user = q(alias, "SELECT Id, Profile.Name FROM User WHERE Username = '%s'" % hv["integration_user_username"])
    assert len(user) == 1 and user[0]["Profile"]["Name"] == "Minimum Access - API Only Integrations"
    assigned = q(alias, "SELECT PermissionSet.Name FROM PermissionSetAssignment WHERE AssigneeId = '%s' "
                        "AND PermissionSet.IsOwnedByProfile = false" % user[0]["Id"])
    assert [a["PermissionSet"]["Name"] for a in assigned] == [hv["integration_user_permission_set_name"]]

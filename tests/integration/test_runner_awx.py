"""drift_check.yml through ansible-runner, laid out the way AWX runs a job.

private_data_dir/
  project/            awx/project/*.yml (one-line playbooks importing sfops.salesforce.drift_check)
  inventory/hosts.yml one org, no sf_* variables: the credential comes from the environment
  env/envvars         SF_* as the "Salesforce (sfops)" credential type injects them; the JWT key is a file in the
                      private data dir (the type's file injector), so the environment holds only its path
  env/extravars       the job template's extra variables

ansible-runner writes the whole job environment to artifacts/<ident>/command (docs/awx.md, section 7): with the key
in a file that holds no secret, which the first test asserts on every artifact file. The second test documents the
case of a secret injected as an environment variable (client credentials).
"""

import json
import os
import pathlib
import re
import shutil
import stat
import sys

import ansible_runner
import yaml

from test_role_support import username_of, REPO, deactivate, role_vars, unique

VENV_BIN = pathlib.Path(sys.executable).parent
TOKEN = re.compile(r"00D\w{12,15}![\w.]{20,}")


def private_data_dir(tmp_path, emulator, alias, envvars, extravars):
    pdd = tmp_path / "pdd"
    (pdd / "project").mkdir(parents=True)
    for name in ("drift_check.yml", "setup_integration.yml"):
        shutil.copy(REPO / "awx" / "project" / name, pdd / "project" / name)
    (pdd / "inventory").mkdir()
    (pdd / "inventory" / "hosts.yml").write_text(yaml.safe_dump({"salesforce_orgs": {"hosts": {alias: {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
    (pdd / "env").mkdir()
    base = {
        # What the execution environment provides: the collection on the collections path.
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".venv"),
        "ANSIBLE_NOCOLOR": "1",
        "LC_ALL": "C.UTF-8",
    }
    base.update(envvars)
    (pdd / "env" / "envvars").write_text(yaml.safe_dump(base))
    (pdd / "env" / "extravars").write_text(yaml.safe_dump(extravars))
    return pdd


def credential_env(emulator, alias, pdd_key=None, auth="jwt_bearer"):
    c = emulator.conn(alias)
    env = {"SF_AUTH_METHOD": auth, "SF_INSTANCE_URL": c["instance_url"], "SF_LOGIN_URL": c["login_url"],
           "SF_CLIENT_ID": c["client_id"], "SF_API_VERSION": "67.0", "SF_CA_PATH": c["ca_file"]}
    if auth == "jwt_bearer":
        env.update({"SF_USERNAME": c["username"], "SF_PRIVATE_KEY_FILE": str(pdd_key)})
    else:
        env["SF_CLIENT_SECRET"] = c["client_secret"]
    return env


def run_job(pdd, ident):
    # Strip the tester's own SF_* and CA bundle overrides: the job gets exactly what env/envvars says.
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("SF_")}
    path = os.environ.get("PATH", "")
    # ansible-runner runs `ansible-playbook` from PATH, as in an execution environment.
    os.environ["PATH"] = "%s:%s" % (VENV_BIN, path)
    try:
        return ansible_runner.run(private_data_dir=str(pdd), playbook="drift_check.yml", ident=ident, quiet=True)
    finally:
        os.environ["PATH"] = path
        os.environ.update(saved)


def artifact_files(pdd, ident):
    root = pdd / "artifacts" / ident
    return {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}


def drift_artifact(runner):
    for event in runner.events:
        if event.get("event") == "playbook_on_stats":
            return (event.get("event_data") or {}).get("artifact_data") or {}
    return {}


def secrets(emulator, alias):
    c = emulator.conn(alias)
    key_lines = [line for line in open(c["private_key_file"]).read().splitlines() if line and "-----" not in line]
    return [c["client_secret"], c["password"], c.get("refresh_token")] + key_lines


def test_drift_check_through_ansible_runner_like_awx(emulator, tmp_path):
    alias = "org1"
    tag = unique()
    rv = role_vars(tag)
    pdd_env = tmp_path / "pdd" / "env"
    # The credential type's file injector: the key lands in the private data dir with mode 0600.
    key_path = tmp_path / "pdd" / "tmp_key_file"
    extravars = dict(rv, drift_report_dir=str(tmp_path / "report"), fail_on_drift=False)
    pdd = private_data_dir(tmp_path, emulator, alias, {}, extravars)
    shutil.copy(emulator.conn(alias)["private_key_file"], key_path)
    key_path.chmod(0o600)
    (pdd_env / "envvars").write_text(yaml.safe_dump(dict(yaml.safe_load((pdd_env / "envvars").read_text()),
                                                         **credential_env(emulator, alias, key_path))))

    runner = run_job(pdd, "drift1")
    assert runner.status == "successful", (runner.rc, (pdd / "artifacts" / "drift1" / "stdout").read_text()[-4000:])
    # The integration user does not exist yet in this org: every step differs, so the org is drifted.
    artifact = drift_artifact(runner)["integration_user_drift"]
    assert artifact["drifted_orgs"] == [alias] and artifact["error_orgs"] == []
    assert artifact["changed_steps"][alias] == ["user", "permission_set", "object_permissions", "assignment",
                                                "connected_app", "oauth_tokens"]
    # The seed's standard.user authorised Planhat: the artifacts name the exposure (a setup run would revoke it).
    standard = "standard.user@%s.sfemu.example" % alias
    assert artifact["exposed_orgs"] == [alias]
    assert [f for f in artifact["exposure"][alias] if f.startswith(standard + " holds an OAuth token of Planhat")]
    assert runner.stats["changed"].get(alias, 0) > 0

    files = artifact_files(pdd, "drift1")
    assert "command" in files and "stdout" in files and any(f.startswith("job_events/") for f in files)
    # No secret anywhere in the artifacts: the key body was only in a file, the token only in memory.
    for name, path in files.items():
        text = path.read_text(errors="replace")
        for secret in secrets(emulator, alias):
            assert secret not in text, name
        assert not TOKEN.search(text), name
    command = json.loads(files["command"].read_text())
    assert command["env"]["SF_PRIVATE_KEY_FILE"] == str(key_path)        # a path, not the key
    assert stat.S_IMODE(files["command"].stat().st_mode) == 0o600
    # Check mode: nothing was created by the drift check.
    assert not emulator.raw_query(alias, "SELECT Id FROM User WHERE Username = '%s'" % username_of(rv, alias))


def test_secret_in_the_environment_stays_out_of_everything_but_runner_command(emulator, tmp_path):
    """Client credentials via SF_CLIENT_SECRET: ansible-runner records it in artifacts/<ident>/command (0600), and
    only there. docs/awx.md says why AWX is not affected and what to do outside AWX."""
    alias = "org3"
    tag = unique()
    rv = role_vars(tag)
    extravars = dict(rv, drift_report_dir=str(tmp_path / "report"))
    pdd = private_data_dir(tmp_path, emulator, alias, credential_env(emulator, alias, auth="client_credentials"),
                           extravars)
    runner = run_job(pdd, "drift2")
    assert runner.status == "successful", (pdd / "artifacts" / "drift2" / "stdout").read_text()[-4000:]
    assert drift_artifact(runner)["integration_user_drift"]["drifted_orgs"] == [alias]

    secret = emulator.conn(alias)["client_secret"]
    files = artifact_files(pdd, "drift2")
    for name, path in files.items():
        text = path.read_text(errors="replace")
        if name == "command":
            assert secret in text                       # ansible-runner's own record of the job environment
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
        else:
            assert secret not in text, name
            assert not TOKEN.search(text), name
    report = (tmp_path / "report" / "drift-report.json").read_text()
    assert secret not in report and not TOKEN.search(report)
    deactivate(emulator, alias, username_of(rv, alias))

"""Fixtures for the integration suites: a real sfemu server, and ansible-playbook runs against it.

The suites drive the collection exactly as a user does (ansible-playbook, module_defaults, inventory) and check the
org's state through an independent path: raw REST calls made here with `requests`, with their own login, never
through the module under test.
"""

import json
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time

import pytest
import requests
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
VENV_BIN = pathlib.Path(sys.executable).parent
API_VERSION = "67.0"
ORG_COUNT = int(os.environ.get("SFEMU_TEST_ORGS", "3"))


class Emulator:
    """A running `sfemu serve` subprocess plus an independent raw REST client per org."""

    def __init__(self, data_dir, orgs=ORG_COUNT, extra_args=()):
        self.data_dir = pathlib.Path(data_dir)
        self._args = [str(VENV_BIN / "sfemu"), "serve", "--port", "0", "--data-dir", str(self.data_dir),
                      "--orgs", str(orgs), *extra_args]
        self.proc = None
        self.url = None
        self.connections = []
        self._tokens = {}
        self._session = requests.Session()
        self._lock = threading.Lock()
        self.verify = True

    # lifecycle -----------------------------------------------------------------------------------------------
    def start(self, timeout=120):
        self.proc = subprocess.Popen(self._args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + timeout
        lines = []
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                if self.proc.poll() is not None:
                    break
                continue
            lines.append(line)
            if line.startswith("sfemu ready "):
                self.url = line.split()[2].strip()
                break
        if not self.url:
            self.stop()
            raise RuntimeError("sfemu did not start:\n" + "".join(lines))
        # Drain the rest of the output so the pipe never blocks the server.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()
        self.connections = json.loads((self.data_dir / "connections.json").read_text())
        # Passed on every call: a Session's verify loses against REQUESTS_CA_BUNDLE in the environment (psf/requests#3829).
        self.verify = str(self.data_dir / "ca.pem")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    # connection data -----------------------------------------------------------------------------------------
    @property
    def aliases(self):
        return [c["alias"] for c in self.connections]

    def conn(self, alias):
        for item in self.connections:
            if item["alias"] == alias:
                return item
        raise KeyError(alias)

    def host_vars(self, alias, auth="jwt_bearer"):
        """Inventory variables for one org (the role and playbooks read sf_* host vars)."""
        c = self.conn(alias)
        hv = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "sf_auth_method": auth,
            "sf_instance_url": c["instance_url"],
            "sf_login_url": c["login_url"],
            "sf_client_id": c["client_id"],
            "sf_username": c["username"],
            "sf_ca_path": c["ca_file"],
            "sf_api_version": API_VERSION,
        }
        if auth == "jwt_bearer":
            hv["sf_private_key_file"] = c["private_key_file"]
        elif auth == "client_credentials":
            hv["sf_client_secret"] = c["client_secret"]
        elif auth == "password":
            hv["sf_client_secret"] = c["client_secret"]
            hv["sf_password"] = c["password"]
        return hv

    def module_auth(self, alias, auth="jwt_bearer"):
        """The connection options of every module, as a module_defaults entry."""
        hv = self.host_vars(alias, auth)
        opts = {
            "auth_method": auth,
            "instance_url": hv["sf_instance_url"],
            "login_url": hv["sf_login_url"],
            "client_id": hv["sf_client_id"],
            "login_username": hv["sf_username"],
            "ca_path": hv["sf_ca_path"],
            "api_version": API_VERSION,
        }
        for key, option in (("private_key_file", "private_key_file"), ("client_secret", "client_secret"), ("password", "login_password")):
            if "sf_" + key in hv:
                opts[option] = hv["sf_" + key]
        return opts

    def inventory(self, aliases=None, auth="jwt_bearer", path=None):
        aliases = aliases or self.aliases
        inv = {"all": {"children": {"salesforce_orgs": {"hosts": {a: self.host_vars(a, auth) for a in aliases}}}}}
        path = pathlib.Path(path or tempfile.mkstemp(prefix="inventory-", suffix=".yml")[1])
        path.write_text(yaml.safe_dump(inv))
        return path

    # control API ---------------------------------------------------------------------------------------------
    def control(self, method, path, **kwargs):
        resp = self._session.request(method, self.url + "/__sfemu/" + path.lstrip("/"), timeout=30, verify=self.verify,
                                     **kwargs)
        resp.raise_for_status()
        return resp.json() if resp.content else None

    def stats(self, alias=None):
        data = self.control("GET", "stats")["orgs"]
        return data[alias] if alias else data

    def reset_stats(self):
        self.control("DELETE", "stats")

    def reset(self):
        self.control("POST", "reset")
        with self._lock:
            self._tokens.clear()

    def install_app(self, alias, name):
        return self.control("POST", "orgs/%s/install_app" % alias, json={"name": name})

    def fault(self, fault, org="*", probability=1.0, count=None, **extra):
        body = {"org": org, "fault": fault, "probability": probability, **extra}
        if count is not None:
            body["count"] = count
        return self.control("POST", "faults", json=body)

    def clear_faults(self):
        self.control("DELETE", "faults")

    # independent raw REST access (own password-flow login; never the collection's code) ---------------------
    def _token(self, alias):
        with self._lock:
            if alias not in self._tokens:
                c = self.conn(alias)
                resp = self._session.post(c["login_url"].rstrip("/") + "/services/oauth2/token", data={
                    "grant_type": "password", "client_id": c["client_id"], "client_secret": c["client_secret"],
                    "username": c["username"], "password": c["password"]}, timeout=30, verify=self.verify)
                resp.raise_for_status()
                body = resp.json()
                self._tokens[alias] = (body["instance_url"], body["access_token"])
            return self._tokens[alias]

    def raw(self, alias, method, path, json=None, expect_ok=True, **kwargs):
        """A raw REST call; `path` is relative to /services/data/vXX.X/ unless it starts with '/'."""
        instance, token = self._token(alias)
        if not path.startswith("/"):
            path = "/services/data/v%s/%s" % (API_VERSION, path)
        resp = self._session.request(method, instance + path, json=json, timeout=30, verify=self.verify,
                                     headers={"Authorization": "Bearer " + token}, **kwargs)
        if expect_ok and resp.status_code >= 300:
            raise AssertionError("%s %s -> %s %s" % (method, path, resp.status_code, resp.text))
        return resp

    def raw_query(self, alias, soql):
        """All records of a SOQL query, following nextRecordsUrl."""
        body = self.raw(alias, "GET", "query", params={"q": soql}).json()
        records = list(body["records"])
        while not body.get("done", True):
            body = self.raw(alias, "GET", body["nextRecordsUrl"]).json()
            records.extend(body["records"])
        return records

    def raw_collections_delete(self, alias, ids):
        return self.raw(alias, "DELETE", "composite/sobjects", params={"ids": ",".join(ids), "allOrNone": "true"})


class PlaybookResult:
    def __init__(self, proc, report):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.report = report

    def host_results(self, host):
        """Task results of one host, in play order: dicts with 'task' (the task name) added."""
        out = []
        for play in (self.report or {}).get("plays", []):
            for task in play.get("tasks", []):
                res = task.get("hosts", {}).get(host)
                if res is not None:
                    res = dict(res)
                    res["task"] = task["task"]["name"]
                    out.append(res)
        return out

    @property
    def stats(self):
        return (self.report or {}).get("stats", {})

    def __repr__(self):
        return "PlaybookResult(rc=%s)\nSTDOUT:\n%s\nSTDERR:\n%s" % (self.rc, self.stdout[-6000:], self.stderr[-3000:])


def _ansible_env(extra=None):
    env = dict(os.environ)
    env.update({
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default",
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "yaml",
        "ANSIBLE_CALLBACK_PLUGINS": str(pathlib.Path(__file__).parent / "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "sfops_record",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "LC_ALL": "C.UTF-8",
    })
    # Never let the tester's SF_* environment leak into a run.
    for key in list(env):
        if key.startswith("SF_"):
            del env[key]
    env.update(extra or {})
    return env


def run_ansible_playbook(playbook, inventory, check=False, diff=True, extra_vars=None, env=None, limit=None,
                         extra_args=(), timeout=900):
    cmd = [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), str(playbook)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if limit:
        cmd += ["--limit", limit]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    cmd += list(extra_args)
    record = tempfile.NamedTemporaryFile(prefix="sfops-record-", suffix=".json", delete=False)
    record.close()
    run_env = _ansible_env(env)
    run_env["SFOPS_RECORD_FILE"] = record.name
    if env and "ANSIBLE_CALLBACKS_ENABLED" in env:
        run_env["ANSIBLE_CALLBACKS_ENABLED"] = "sfops_record," + env["ANSIBLE_CALLBACKS_ENABLED"]
    proc = subprocess.run(cmd, cwd=str(REPO), env=run_env, capture_output=True, text=True, timeout=timeout)
    try:
        with open(record.name) as handle:
            report = json.load(handle)
    except ValueError:
        report = None  # the run died before the stats callback (e.g. a syntax error): rc and stderr tell why
    finally:
        os.unlink(record.name)
    return PlaybookResult(proc, report)


def problems_of(check, *args):
    """What ``check(*args)`` asserts is wrong (its message, without pytest's introspection), or None: lets a
    catalogue test collect every failing case before it fails."""
    try:
        check(*args)
    except AssertionError as exc:
        return str(exc).split("\nassert ")[0][:1500]
    return None


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    emu = Emulator(tmp_path_factory.mktemp("sfemu"))
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture(scope="module", autouse=True)
def seeded_orgs(emulator):
    """Every test module starts from the seeded orgs: a suite must not depend on what another one left behind (an
    extra permission set with access to an app, a user). Within a module, tests use their own random names."""
    emulator.clear_faults()
    emulator.reset()
    yield


@pytest.fixture
def run_tasks(emulator, tmp_path):
    """Run a list of tasks against one org; connection options come through module_defaults, like a user sets them."""

    def _run(tasks, alias="org1", check=False, diff=True, auth="jwt_bearer", extra_vars=None, env=None, extra_args=()):
        play = [{
            "name": "integration test",
            "hosts": alias,
            "gather_facts": False,
            "module_defaults": {"group/sfops.salesforce.salesforce": emulator.module_auth(alias, auth)},
            "tasks": tasks,
        }]
        playbook = tmp_path / "play.yml"
        playbook.write_text(yaml.safe_dump(play, sort_keys=False))
        inventory = emulator.inventory([alias], auth, path=tmp_path / "inventory.yml")
        result = run_ansible_playbook(playbook, inventory, check=check, diff=diff, extra_vars=extra_vars, env=env,
                                      extra_args=extra_args)
        result.results = result.host_results(alias)
        return result

    return _run


@pytest.fixture
def run_playbook(emulator, tmp_path):
    """Run a repository playbook against some emulated orgs (hosts in group salesforce_orgs)."""

    def _run(path, aliases=None, check=False, diff=True, extra_vars=None, env=None, auth="jwt_bearer", extra_args=()):
        inventory = emulator.inventory(aliases, auth, path=tmp_path / "inventory.yml")
        return run_ansible_playbook(REPO / path, inventory, check=check, diff=diff, extra_vars=extra_vars, env=env,
                                    extra_args=extra_args)

    return _run


def write_counts(alias, emulator_stats, label):
    """Print request counts so they show in the test log (-s or the junit output)."""
    print("%s %s: api_requests=%s token_requests=%s" % (label, alias, emulator_stats.get("api_requests"),
                                                        emulator_stats.get("token_requests")))


def automation_user(emulator, alias, name, permissions):
    """A user on a minimum-access profile holding only a permission set with ``permissions`` (field names, all True)
    that also gives access to the org's own automation app, so it can log in with the JWT flow (admin-approved apps
    admit it through that permission set). Made by raw REST, not by the modules under test.

    :returns: (its username, the permission set's id)
    """
    tag = os.urandom(3).hex()
    ps_id = emulator.raw(alias, "POST", "sobjects/PermissionSet", json=dict(
        {"Name": "%s_%s" % (name, tag), "Label": "%s %s" % (name.replace("_", " "), tag)},
        **dict((p, True) for p in permissions))).json()["id"]
    app_id = emulator.raw_query(alias, "SELECT Id FROM ConnectedApplication WHERE Name = 'sfops Automation'")[0]["Id"]
    emulator.raw(alias, "POST", "sobjects/SetupEntityAccess", json={"ParentId": ps_id, "SetupEntityId": app_id})
    profile = emulator.raw_query(alias, "SELECT Id FROM Profile WHERE Name = 'Minimum Access - Salesforce'")[0]["Id"]
    username = "%s.%s@%s.sfemu.example" % (name.lower().replace("_", "."), tag, alias)
    user_id = emulator.raw(alias, "POST", "sobjects/User", json={
        "Username": username, "LastName": name.split("_")[-1], "Email": "automation@example.com",
        "Alias": ("%s%s" % (name.lower()[:4], tag))[:8], "TimeZoneSidKey": "GMT", "LocaleSidKey": "en_US",
        "EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US", "ProfileId": profile}).json()["id"]
    emulator.raw(alias, "POST", "sobjects/PermissionSetAssignment", json={"AssigneeId": user_id, "PermissionSetId": ps_id})
    return username, ps_id

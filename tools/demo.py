#!/usr/bin/env python3
"""`make demo`: the integration-user job against the local Salesforce emulator, end to end.

1. start sfemu on .demo/ (state kept between demos; every org is reset to its seeded state first)
2. write .demo/inventory.yml (one host per emulated org, group salesforce_orgs)
3. run playbooks/setup_integration.yml          -> changes, then the manual-steps report
4. run it again                                  -> changed=0 everywhere
5. change one org by hand through the API, as an admin would in Setup
6. run playbooks/drift_check.yml                 -> reports exactly that org and that change
7. run setup again                               -> repairs it
8. stop the emulator and print a summary (API and token requests per org, from the emulator's counters)
"""

import json
import os
import pathlib
import re
import subprocess
import sys
import time

import requests
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEMO = ROOT / ".demo"
BIN = pathlib.Path(sys.executable).parent
ORGS = int(os.environ.get("DEMO_ORGS", "3"))
API_VERSION = "67.0"
BOLD, DIM, RESET = ("\033[1m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "", "")


def say(title):
    print("\n%s==> %s%s" % (BOLD, title, RESET), flush=True)


def start_emulator():
    DEMO.mkdir(exist_ok=True)
    log = open(DEMO / "sfemu.log", "a")
    proc = subprocess.Popen([str(BIN / "sfemu"), "serve", "--port", "0", "--data-dir", str(DEMO), "--orgs", str(ORGS)],
                            stdout=subprocess.PIPE, stderr=log, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("sfemu ready "):
            return proc, line.split()[2]
        if not line and proc.poll() is not None:
            break
    proc.kill()
    sys.exit("sfemu did not start; see .demo/sfemu.log")


def write_inventory(connections):
    hosts = {}
    for c in connections:
        hosts[c["alias"]] = {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            "sf_auth_method": "jwt_bearer",
            "sf_instance_url": c["instance_url"],
            "sf_login_url": c["login_url"],
            "sf_client_id": c["client_id"],
            "sf_username": c["username"],
            "sf_private_key_file": c["private_key_file"],
            "sf_ca_path": c["ca_file"],
            "sf_api_version": API_VERSION,
        }
    inventory = {"all": {"children": {"salesforce_orgs": {"hosts": hosts}}}}
    path = DEMO / "inventory.yml"
    path.write_text("# Written by `make demo`: one host per emulated org.\n" + yaml.safe_dump(inventory, sort_keys=False))
    return path


def playbook(name, inventory, *args, env=None):
    cmd = [str(BIN / "ansible-playbook"), "-i", str(inventory), "playbooks/" + name, *args]
    print(DIM + "$ " + " ".join(cmd[0:1] and ["ansible-playbook"] + cmd[1:]) + RESET, flush=True)
    run_env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0",
                   ANSIBLE_DISPLAY_SKIPPED_HOSTS="false", ANSIBLE_DISPLAY_OK_HOSTS="true", **(env or {}))
    proc = subprocess.run(cmd, cwd=ROOT, env=run_env, text=True, capture_output=True)
    print(proc.stdout[-20000:], end="")
    if proc.stderr.strip():
        print(proc.stderr[-4000:], end="")
    recap = {}
    for host, changed, failed in re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+).*?failed=(\d+)", proc.stdout, re.M):
        recap[host] = (int(changed), int(failed))
    return proc.returncode, recap


class Api:
    """A raw REST client with its own login: what an admin clicking in Setup amounts to."""

    def __init__(self, url, connections, ca):
        self.url, self.session = url, requests.Session()
        # REQUESTS_CA_BUNDLE in the environment would win over Session.verify (psf/requests#3829).
        self.session.trust_env = False
        self.session.verify = ca
        self.conns = {c["alias"]: c for c in connections}
        self.tokens = {}

    def control(self, method, path, **kw):
        return self.session.request(method, self.url + "/__sfemu/" + path, timeout=30, **kw)

    def call(self, alias, method, path, **kw):
        if alias not in self.tokens:
            c = self.conns[alias]
            body = self.session.post(c["login_url"] + "/services/oauth2/token", timeout=30, data={
                "grant_type": "password", "client_id": c["client_id"], "client_secret": c["client_secret"],
                "username": c["username"], "password": c["password"]}).json()
            self.tokens[alias] = body["access_token"]
        resp = self.session.request(method, "%s/services/data/v%s/%s" % (self.url, API_VERSION, path), timeout=30,
                                    headers={"Authorization": "Bearer " + self.tokens[alias]}, **kw)
        resp.raise_for_status()
        return resp.json() if resp.content else None


def main():
    say("Starting the Salesforce emulator (sfemu) with %d orgs on .demo/" % ORGS)
    proc, url = start_emulator()
    summary = []
    try:
        connections = json.loads((DEMO / "connections.json").read_text())
        api = Api(url, connections, str(DEMO / "ca.pem"))
        api.control("POST", "reset")
        api.control("DELETE", "stats")
        inventory = write_inventory(connections)
        print("emulator at %s; inventory %s (%s)" % (url, inventory.relative_to(ROOT),
                                                    ", ".join(c["alias"] for c in connections)))
        print("vendor app 'Planhat' is installed in the odd-numbered orgs and only used (not installed) in the others")

        say("1. Set up the integration user in every org (playbooks/setup_integration.yml)")
        rc, recap = playbook("setup_integration.yml", inventory)
        summary.append(("first run", rc, recap))
        stats_first = api.control("GET", "stats").json()["orgs"]
        api.control("DELETE", "stats")

        say("2. Run it again: nothing should change")
        rc, recap = playbook("setup_integration.yml", inventory)
        summary.append(("second run", rc, recap))
        stats_second = api.control("GET", "stats").json()["orgs"]

        victim = connections[-1]["alias"]
        say("3. An admin changes %s by hand in Setup: enables 'Export Reports' on the integration permission set"
            % victim)
        ps = api.call(victim, "GET", "query", params={"q": "SELECT Id FROM PermissionSet WHERE Name = "
                                                           "'Planhat_Integration'"})["records"]
        if ps:
            api.call(victim, "PATCH", "sobjects/PermissionSet/" + ps[0]["Id"], json={"PermissionsExportReport": True})
            print("PATCH PermissionSet %s PermissionsExportReport=true in %s" % (ps[0]["Id"], victim))

        say("4. Drift check (playbooks/drift_check.yml, check mode): only %s should drift" % victim)
        rc, recap = playbook("drift_check.yml", inventory, "-e", "drift_report_dir=%s" % (DEMO / "drift-report"))
        summary.append(("drift check", rc, recap))
        report = DEMO / "drift-report" / "drift-report.json"
        if report.exists():
            print(report.read_text()[:4000])

        say("5. Run setup again: it repairs %s" % victim)
        rc, recap = playbook("setup_integration.yml", inventory)
        summary.append(("repair run", rc, recap))
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    say("Summary")
    ok = True
    for label, rc, recap in summary:
        changed = {h: c for h, (c, f) in recap.items() if c}
        failed = {h: f for h, (c, f) in recap.items() if f}
        ok = ok and rc in (0,) and not failed if label != "drift check" else ok and not failed
        print("%-12s rc=%s changed=%s failed=%s" % (label, rc, changed or "none", failed or "none"))
    for alias in sorted(stats_first):
        print("%s: first run %s API + %s token requests; converged re-run %s API + %s token requests" % (
            alias, stats_first[alias]["api_requests"], stats_first[alias]["token_requests"],
            stats_second[alias]["api_requests"], stats_second[alias]["token_requests"]))
    print("emulator stopped; its state stays in .demo/ (the next demo resets it)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""playbooks/drift_check.yml over several orgs: only the drifted org is reported, an org that cannot be checked is
an error (and fails the run), the summary reaches set_stats, and no secret reaches any output."""

import json
import re

import yaml

from conftest import run_ansible_playbook
from test_role_support import (username_of, REPO, deactivate, junit_failures, permission_set, read_drift_reports, role_vars,
                               unique)

SETUP = "playbooks/setup_integration.yml"
DRIFT = REPO / "playbooks" / "drift_check.yml"


def secrets_of(emulator, aliases):
    out = []
    for alias in aliases:
        c = emulator.conn(alias)
        out += [c["client_secret"], c["password"], c.get("refresh_token")]
        key = open(c["private_key_file"]).read()
        out += [line for line in key.splitlines() if line and not line.startswith("-----")]
    return [s for s in out if s]


TOKEN = re.compile(r"00D\w{12,15}![\w.]{20,}")


def test_drift_check_over_three_orgs(emulator, run_playbook, tmp_path):
    tag = unique()
    rv = role_vars(tag)
    aliases = ["org1", "org3"]
    try:
        res = run_playbook(SETUP, aliases=aliases, extra_vars=rv)
        assert res.rc == 0, res
        ps = permission_set(emulator, "org3", rv["integration_user_permission_set_name"])
        emulator.raw("org3", "PATCH", "sobjects/PermissionSet/" + ps["id"], json={"PermissionsExportReport": True})

        # A third host whose login fails: org1's connection with org2's private key (a wrong certificate).
        inv = {"all": {"children": {"salesforce_orgs": {"hosts": {
            a: emulator.host_vars(a) for a in aliases}}}}}
        bad = dict(emulator.host_vars("org1"), sf_private_key_file=emulator.conn("org2")["private_key_file"])
        inv["all"]["children"]["salesforce_orgs"]["hosts"]["org_bad"] = bad
        inventory = tmp_path / "inventory.yml"
        inventory.write_text(yaml.safe_dump(inv))
        report_dir = tmp_path / "report"
        res = run_ansible_playbook(DRIFT, inventory, extra_vars=dict(rv, drift_report_dir=str(report_dir)))
        # An org that could not be checked fails the run even without fail_on_drift.
        assert res.rc != 0, res

        data, junit = read_drift_reports(report_dir)
        summary = data["summary"]
        assert summary["orgs"] == 3
        assert summary["drifted_orgs"] == ["org3"]
        assert summary["error_orgs"] == ["org_bad"]
        assert summary["converged_orgs"] == ["org1"]
        assert data["orgs"]["org3"]["changed_steps"] == ["permission_set"]
        assert data["orgs"]["org3"]["diffs"]["permission_set"] == {
            "before": {"system_permissions": {"ExportReport": True}},
            "after": {"system_permissions": {"ExportReport": False}}}
        assert "Login to org_bad failed" in data["orgs"]["org_bad"]["error"]
        assert junit_failures(junit) == {("org3", "permission_set")}
        errors = [c.get("classname") for c in junit.iter("testcase") if c.find("error") is not None]
        assert errors == ["org_bad"]

        # set_stats: the same summary as job artifacts (what AWX shows).
        stats = res.report["custom_stats"]["_run"]["integration_user_drift"]
        assert stats["drifted_orgs"] == ["org3"] and stats["error_orgs"] == ["org_bad"]
        assert stats["changed_steps"] == {"org3": ["permission_set"]}

        # No secret in the output or the reports.
        everything = res.stdout + res.stderr + (report_dir / "drift-report.json").read_text() + \
            (report_dir / "drift-report.xml").read_text()
        for secret in secrets_of(emulator, ["org1", "org2", "org3"]):
            assert secret not in everything
        assert not TOKEN.search(everything)

        # fail_on_drift without the broken org: fails because org3 drifted, after writing the reports.
        res = run_playbook(str(DRIFT.relative_to(REPO)), aliases=aliases,
                           extra_vars=dict(rv, drift_report_dir=str(tmp_path / "r2"), fail_on_drift=True))
        assert res.rc != 0
        data, _ = read_drift_reports(tmp_path / "r2")
        assert data["summary"]["drifted_orgs"] == ["org3"] and data["summary"]["error_orgs"] == []
        failed = [r for r in res.host_results("org1") if r.get("failed")]
        assert any("Drift from the integration-user baseline in ['org3']" in (r.get("msg") or "") for r in failed)
    finally:
        for alias in aliases:
            deactivate(emulator, alias, username_of(rv, alias))


def test_check_diff_on_setup_shows_only_the_drifted_org(emulator, run_playbook):
    """--check --diff on setup_integration.yml: the drifted org has changed tasks with diffs, the other none."""
    tag = unique()
    rv = role_vars(tag)
    aliases = ["org1", "org3"]
    try:
        res = run_playbook(SETUP, aliases=aliases, extra_vars=rv)
        assert res.rc == 0, res
        ps = permission_set(emulator, "org1", rv["integration_user_permission_set_name"])
        emulator.raw("org1", "PATCH", "sobjects/PermissionSet/" + ps["id"], json={"PermissionsExportReport": True})
        res = run_playbook(SETUP, aliases=aliases, check=True, diff=True, extra_vars=rv)
        assert res.rc == 0, res
        assert res.stats["org3"]["changed"] == 0
        changed = [r for r in res.host_results("org1") if r.get("changed")]
        assert [r["task"].split(" : ")[-1] for r in changed] == ["Permission set"]
        assert changed[0]["diff"]["before"] == {"system_permissions": {"ExportReport": True}}
        assert json.dumps(changed[0]["diff"]["after"]) == json.dumps({"system_permissions": {"ExportReport": False}})
    finally:
        for alias in aliases:
            deactivate(emulator, alias, username_of(rv, alias))

"""The demo in one org, as the ansible-core matrix's integration smoke test: setup, a converged re-run, a change made
by hand and the drift check that reports it.

`make test-matrix` runs this file with each .venv-core<version>'s Python, so the conftest's ansible-playbook and
sfemu are that venv's: the collection's modules, role and playbooks run on that ansible-core release.
`make integration` runs it on the dev venv's 2.19 with the other suites. The org is read through raw REST calls.
"""

import os
import subprocess

from ansible.release import __version__ as ansible_release
from conftest import VENV_BIN
from test_role_planhat import assert_baseline
from test_role_support import (changed_count, changed_tasks, deactivate, permission_set, preset, read_drift_reports,
                               role_vars, unique, username_of)

SETUP = "playbooks/setup_integration.yml"
DRIFT = "playbooks/drift_check.yml"
# In -vvv output, the file name of a module process (see test_in_process.py): none of the sfops tasks should start
# one, since in the worker is the default for ansible_connection=local on every supported release.
MODULE_PROCESS = "AnsiballZ_sf_"


def assert_clean_run(res, alias, changed=None):
    """rc 0, and nothing that a newer ansible-core announces it will stop accepting."""
    assert res.rc == 0, res
    assert "[DEPRECATION WARNING]" not in res.stdout + res.stderr, res
    if changed is not None:
        assert (changed_count(res, alias) > 0) is changed, changed_tasks(res, alias)


def test_ansible_playbook_is_the_release_under_test():
    """The ansible-playbook the suites run is the ansible-core installed beside this Python, and the release
    `make test-matrix` asked for (SFOPS_ANSIBLE_CORE, e.g. 2.20) when it names one."""
    version = subprocess.run([str(VENV_BIN / "ansible-playbook"), "--version"], capture_output=True, text=True,
                             check=True).stdout.splitlines()[0]
    print(version)
    assert "[core %s]" % ansible_release in version, version
    wanted = os.environ.get("SFOPS_ANSIBLE_CORE")
    if wanted:
        assert ansible_release.startswith(wanted + "."), (wanted, ansible_release)


def test_setup_rerun_and_drift_check_on_one_org(emulator, run_playbook):
    alias = "org1"
    rv = role_vars(unique())
    try:
        res = run_playbook(SETUP, aliases=[alias], extra_vars=rv)
        assert_clean_run(res, alias, changed=True)
        ps = assert_baseline(emulator, alias, rv, preset("planhat"))

        res = run_playbook(SETUP, aliases=[alias], extra_vars=rv, extra_args=["-vvv"])
        assert_clean_run(res, alias, changed=False)
        assert MODULE_PROCESS not in res.stdout, res

        # What an admin clicking in Setup amounts to; the drift check must report exactly this and change nothing.
        emulator.raw(alias, "PATCH", "sobjects/PermissionSet/" + ps["id"], json={"PermissionsExportReport": True})
        report_dir = emulator.data_dir / ("smoke-drift-" + rv["integration_user_permission_set_name"])
        res = run_playbook(DRIFT, aliases=[alias], extra_vars=dict(rv, drift_report_dir=str(report_dir)))
        assert_clean_run(res, alias)
        report, _ = read_drift_reports(report_dir)
        assert report["summary"]["drifted_orgs"] == [alias]
        assert report["orgs"][alias]["changed_steps"] == ["permission_set"]
        assert report["orgs"][alias]["diffs"]["permission_set"] == {
            "before": {"system_permissions": {"ExportReport": True}},
            "after": {"system_permissions": {"ExportReport": False}}}
        after_check = permission_set(emulator, alias, rv["integration_user_permission_set_name"])
        assert "PermissionsExportReport" in after_check["system_permissions"]
    finally:
        deactivate(emulator, alias, username_of(rv, alias))

"""End to end against a real org (or sfemu standing in for one): what an admin does with the collection, checked
by raw SOQL, and the org left as the suite found it.

One test function: the steps depend on each other (check mode, apply, converge, a change made by hand, drift check,
repair, removal) and a real org is shared, so everything the run creates carries the run id and is removed in the
`finally` by raw REST calls (liveorg.LiveOrg.cleanup), whatever step failed. Salesforce never deletes a user: the
run's user stays, deactivated, with its login history and its profile's permission set assignment (audit data).

The connected app step is pointed at an app no org has (a name with the run id): on an org where the vendor's app
is installed, the role would otherwise purge the access other permission sets have to it, a change to rows this
suite did not create and could not restore with their ids. The step still runs and reads the org.
"""

import os

from test_role_planhat import assert_baseline
from test_role_support import (assignments, changed_count, changed_tasks, field_permissions, object_permissions,
                               permission_set, preset, read_drift_reports, report_of, role_vars, user)

SETUP = "playbooks/setup_integration.yml"
DRIFT = "playbooks/drift_check.yml"
# What the role changes on a new org; the connected app step only reports its manual steps (module docstring).
WRITE_STEPS = ["user", "permission_set", "object_permissions", "assignment"]


def live_role_vars(run_id, preset_name):
    return role_vars(
        run_id, preset_name,
        # Usernames are unique across every Salesforce org: the run id makes this one unique.
        integration_user_username="sfops.live.%s@example.com" % run_id,
        integration_user_connected_app_name="sfops_live_%s" % run_id,
        integration_user_send_email=False,
    )


def hand_made_change(data):
    """An object the preset grants read (not edit) on, and a field of it the preset grants read on: the targets of
    the change made by hand."""
    for entry in data["objects"]:
        fields = [f for f, level in (entry.get("fields") or {}).items() if level == "read"]
        if entry.get("read") and not entry.get("edit") and fields:
            return entry["name"], "%s.%s" % (entry["name"], fields[0])
    raise AssertionError("the preset grants no read-only object with a read-only field to change by hand")


def test_integration_user_lifecycle(live, run_id, run_playbook, run_tasks, step, recorder, tmp_path):
    step("before")
    preset_name = os.environ.get("SFOPS_LIVE_PRESET", "planhat")
    rv = live_role_vars(run_id, preset_name)
    data = preset(preset_name)
    alias, username, ps_name = live.alias, rv["integration_user_username"], rv["integration_user_permission_set_name"]
    org = live.raw_query(alias, "SELECT OrganizationType, IsSandbox FROM Organization")[0]
    if recorder is not None:
        recorder.update({"organization_type": org["OrganizationType"], "is_sandbox": org["IsSandbox"],
                                 "api_version": live.api_version, "preset": preset_name})
    before = live.snapshot()
    assert not any(live.run_rows(run_id).values())
    try:
        # 1. Check mode on the org: every write step reports a change, nothing is written.
        step("check")
        res = run_playbook(SETUP, check=True, extra_vars=rv)
        assert res.rc == 0, res
        assert report_of(res, alias)["changed_steps"] == WRITE_STEPS
        assert not any(live.run_rows(run_id).values())
        assert user(live, alias, username) is None
        assert live.snapshot() == before

        # 2. Apply: the baseline, as raw SOQL sees it.
        step("apply")
        res = run_playbook(SETUP, extra_vars=rv)
        assert res.rc == 0, res
        report = report_of(res, alias)
        assert report["changed_steps"] == WRITE_STEPS
        assert any(s.startswith("Install the connected app sfops_live_%s" % run_id) for s in report["manual_steps"])
        ps = assert_baseline(live, alias, rv, data)

        # 3. Converge: the same run changes nothing.
        step("converge")
        res = run_playbook(SETUP, extra_vars=rv)
        assert res.rc == 0, res
        assert changed_count(res, alias) == 0, changed_tasks(res, alias)

        # 4. An admin changes it by hand (raw REST, not the collection): wider object access, a field row and the
        #    assignment gone.
        step("hand-made-change")
        obj, field = hand_made_change(data)
        row = live.raw_query(alias, "SELECT Id FROM ObjectPermissions WHERE ParentId = '%s' AND SobjectType = '%s'"
                             % (ps["id"], obj))[0]
        live.raw(alias, "PATCH", "sobjects/ObjectPermissions/" + row["Id"], json={"PermissionsEdit": True})
        field_row = live.raw_query(alias, "SELECT Id FROM FieldPermissions WHERE ParentId = '%s' AND Field = '%s'"
                                   % (ps["id"], field))[0]
        live.raw(alias, "DELETE", "sobjects/FieldPermissions/" + field_row["Id"])
        assignment = live.raw_query(alias, "SELECT Id FROM PermissionSetAssignment WHERE PermissionSetId = '%s'"
                                    % ps["id"])[0]
        live.raw(alias, "DELETE", "sobjects/PermissionSetAssignment/" + assignment["Id"])

        # 5. The drift check reports those steps and writes nothing.
        step("drift-check")
        report_dir = tmp_path / "drift"
        res = run_playbook(DRIFT, extra_vars=dict(rv, drift_report_dir=str(report_dir), fail_on_drift=True))
        assert res.rc != 0, res
        drift, _ = read_drift_reports(report_dir)
        assert drift["summary"]["drifted_orgs"] == [alias]
        assert drift["orgs"][alias]["changed_steps"] == ["object_permissions", "assignment"]
        diff_text = str(drift["orgs"][alias]["diffs"]["object_permissions"])
        assert obj in diff_text and field in diff_text
        assert object_permissions(live, alias, ps["id"])[obj]["edit"] is True
        assert field not in field_permissions(live, alias, ps["id"])
        assert assignments(live, alias, username) == []

        # 6. Repair.
        step("repair")
        res = run_playbook(SETUP, extra_vars=rv)
        assert res.rc == 0, res
        assert report_of(res, alias)["changed_steps"] == ["object_permissions", "assignment"]
        assert_baseline(live, alias, rv, data)

        # 7. Removal with the modules: the permission set with its assignment, then the user (deactivated); a second
        #    run changes nothing.
        step("removal")
        removal = [
            {"name": "Delete the permission set and its assignments", "sfops.salesforce.sf_permission_set": {
                "name": ps_name, "state": "absent", "remove_assignments": True}},
            {"name": "Deactivate the user", "sfops.salesforce.sf_user": {
                "username": username, "login_username": live.username, "state": "absent"}},
        ]
        # As module processes, not inside the Ansible worker (the role's runs above): both paths of
        # plugins/plugin_utils/in_process.py then meet a real org, and the recorder sees both.
        as_processes = {"sfops_salesforce_in_process": False}
        res = run_tasks(removal, play_vars=as_processes)
        assert res.rc == 0, res
        assert [r["changed"] for r in res.results] == [True, True], res
        assert permission_set(live, alias, ps_name) is None
        assert assignments(live, alias, username) == []
        assert user(live, alias, username)["is_active"] is False
        step("removal-again")
        res = run_tasks(removal, play_vars=as_processes)
        assert res.rc == 0 and changed_count(res, alias) == 0, changed_tasks(res, alias)
    finally:
        step("cleanup")
        problems = live.cleanup(run_id)
        step("after")
        left = live.run_rows(run_id)
        print("cleanup of %s: problems %s, rows left %s" % (run_id, problems, left))
    assert problems == []
    assert left == dict.fromkeys(left, 0)
    assert live.snapshot() == before

"""Where sfops tasks run: inside the action plugin on the controller (the default for ansible_connection=local),
or as a module process (sfops_salesforce_in_process=false, or whatever could make the two differ). Both paths must
leave the org in the same state and return the same results; the org is checked by raw queries."""

import re
import uuid

import pytest

ALIAS = "org1"
MODULE_PROCESS = "AnsiballZ_sf_"
SALESFORCE_ID = re.compile(r"\b(?=[0-9A-Za-z]*[0-9])[0-9A-Za-z]{18}\b")
# Each login stamps User.LastLoginDate, so the two runs read different times: compare them as TIME.
DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?")
OUT_OF_PROCESS = {"sfops_salesforce_in_process": False}


def ps_name():
    return "It_IP_%s" % uuid.uuid4().hex[:8]


def tasks_for(name):
    return [
        {"name": "info", "sfops.salesforce.sf_org_info": {"gather": ["licenses", "users", "connected_apps"],
                                                           "connected_app_names": ["Planhat"]}},
        {"name": "ps", "sfops.salesforce.sf_permission_set": {
            "name": name, "label": name, "system_permissions": ["ApiEnabled", "View Setup and Configuration"]}},
        {"name": "op", "sfops.salesforce.sf_object_permission": {"permission_set": name, "objects": [
            {"name": "Account", "read": True, "view_all": True, "fields": {"Industry": "read"}}]}},
        {"name": "typo", "sfops.salesforce.sf_org_info": {"gaher": ["limits"]}, "ignore_errors": True},
    ]


def comparable(results, name):
    """The results with what legitimately differs between two runs taken out (ids, counters, the module-only
    invocation echo, the permission set's own name)."""
    out = []
    for res in results:
        res = dict((k, v) for k, v in res.items() if k not in ("invocation", "task", "_ansible_no_log"))
        text = DATETIME.sub("TIME", SALESFORCE_ID.sub("ID", repr(res).replace(name, "NAME")))
        out.append(text)
    return out


def ps_row(emulator, name):
    rows = emulator.raw_query(ALIAS, "SELECT Id, Label, PermissionsApiEnabled, PermissionsViewSetup, "
                                     "(SELECT SobjectType, PermissionsRead, PermissionsViewAllRecords, PermissionsCreate FROM ObjectPerms), "
                                     "(SELECT Field, PermissionsRead, PermissionsEdit FROM FieldPerms) "
                                     "FROM PermissionSet WHERE Name = '%s'" % name)
    assert len(rows) == 1, rows
    row = rows[0]
    objects = sorted((r["SobjectType"], r["PermissionsRead"], r["PermissionsViewAllRecords"], r["PermissionsCreate"])
                     for r in (row.get("ObjectPerms") or {}).get("records", []))
    fields = sorted((r["Field"], r["PermissionsRead"], r["PermissionsEdit"])
                    for r in (row.get("FieldPerms") or {}).get("records", []))
    return (row["PermissionsApiEnabled"], row["PermissionsViewSetup"], objects, fields)


def test_both_paths_make_the_same_changes_and_return_the_same_results(emulator, run_tasks):
    in_worker, as_module = ps_name(), ps_name()
    first = run_tasks(tasks_for(in_worker), extra_args=["-vvv"])
    assert first.rc == 0, first
    # No module process for any sfops task: nothing was packed into AnsiballZ.
    assert MODULE_PROCESS not in first.stdout, first
    second = run_tasks(tasks_for(as_module), extra_vars=OUT_OF_PROCESS, extra_args=["-vvv"])
    assert second.rc == 0, second
    assert "AnsiballZ_sf_org_info.py" in second.stdout and "AnsiballZ_sf_permission_set.py" in second.stdout
    assert "runs as a module process: sfops_salesforce_in_process is false" in second.stdout

    assert comparable(first.results, in_worker) == comparable(second.results, as_module)
    assert first.results[1]["changed"] is True and first.results[2]["changed"] is True
    assert first.results[3]["failed"] is True and "Unsupported parameters" in first.results[3]["msg"]
    assert ps_row(emulator, in_worker) == ps_row(emulator, as_module) == (
        True, True, [("Account", True, True, False)], [("Account.Industry", True, False)])

    # Idempotent on both paths, and check mode writes nothing either way.
    for name, extra in ((in_worker, None), (as_module, OUT_OF_PROCESS)):
        again = run_tasks(tasks_for(name)[:3], extra_vars=extra)
        assert again.rc == 0 and [r["changed"] for r in again.results] == [False, False, False], again


@pytest.mark.parametrize("extra_vars", [None, OUT_OF_PROCESS])
def test_check_mode_makes_no_write_on_either_path(emulator, run_tasks, extra_vars):
    name = ps_name()
    emulator.reset_stats()
    res = run_tasks(tasks_for(name)[1:2], check=True, extra_vars=extra_vars)
    assert res.rc == 0, res
    assert res.results[0]["changed"] is True and res.results[0]["diff"]["before"] == {"state": "absent"}
    stats = emulator.stats(ALIAS)
    # Reads only: every request was a composite of queries and describes (writes go to sobjects or composite/sobjects).
    assert stats["api_requests"] >= 1 and set(stats["by_resource"]) == {"composite"}, stats
    assert emulator.raw_query(ALIAS, "SELECT Id FROM PermissionSet WHERE Name = '%s'" % name) == []


def test_a_task_environment_runs_the_module_process(run_tasks):
    task = {"name": "info", "sfops.salesforce.sf_org_info": {"gather": ["licenses"]}, "environment": {"SF_TIMEOUT": "45"}}
    res = run_tasks([task], extra_args=["-vvv"])
    assert res.rc == 0, res
    assert "AnsiballZ_sf_org_info.py" in res.stdout and "runs as a module process: the task sets environment" in res.stdout

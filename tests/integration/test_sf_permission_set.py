"""sf_permission_set against the emulator: check mode, create, verify through raw queries, idempotency and request
budget, drift, absent, and input errors that must fail before any write."""

import json
import uuid

ALIAS = "org1"


def writes(stats):
    # Module reads go through GET or a read-only composite POST; anything else is a write.
    by_method, by_resource = stats.get("by_method", {}), stats.get("by_resource", {})
    return (by_method.get("PATCH", 0) + by_method.get("DELETE", 0)
            + by_method.get("POST", 0) - by_resource.get("composite", 0))


def new_name(prefix="It_PS"):
    return "%s_%s" % (prefix, uuid.uuid4().hex[:8])


def ps_rows(emulator, name, fields="Id, Name, Label, Description, LicenseId, PermissionsApiEnabled, PermissionsManageUsers, "
                                    "PermissionsViewRoles, PermissionsViewSetup"):
    return emulator.raw_query(ALIAS, "SELECT %s FROM PermissionSet WHERE Name = '%s'" % (fields, name))


def task(**args):
    return {"name": "permission set", "sfops.salesforce.sf_permission_set": args}


def test_lifecycle(emulator, run_tasks):
    name = new_name()
    spec = dict(name=name, label="Integration test", description="managed by the test",
                license="Salesforce API Integration", system_permissions=["API Enabled", "PermissionsManageUsers"])

    emulator.reset_stats()
    res = run_tasks([task(**spec)], check=True)
    assert res.rc == 0, res
    result = res.results[0]
    assert result["changed"] is True
    assert result["diff"]["before"] == {"state": "absent"}
    assert writes(emulator.stats(ALIAS)) == 0
    assert ps_rows(emulator, name) == []

    res = run_tasks([task(**spec)])
    assert res.rc == 0, res
    result = res.results[0]
    assert result["changed"] is True
    assert result["implied_permissions"] == ["ViewRoles"]
    rows = ps_rows(emulator, name)
    assert len(rows) == 1
    row = rows[0]
    assert row["Label"] == "Integration test" and row["Description"] == "managed by the test"
    assert row["PermissionsApiEnabled"] is True and row["PermissionsManageUsers"] is True and row["PermissionsViewRoles"] is True
    psl = emulator.raw_query(ALIAS, "SELECT Id FROM PermissionSetLicense WHERE DeveloperName = 'SalesforceAPIIntegrationPsl'")
    assert row["LicenseId"] == psl[0]["Id"]
    assert result["permission_set"]["id"] == row["Id"]

    emulator.reset_stats()
    res = run_tasks([task(**spec)])
    assert res.rc == 0, res
    assert res.results[0]["changed"] is False
    stats = emulator.stats(ALIAS)
    print("sf_permission_set converged: api_requests=%s token_requests=%s" % (stats["api_requests"], stats["token_requests"]))
    assert stats["api_requests"] <= 2 and stats["token_requests"] <= 1
    assert writes(stats) == 0

    # Drift made behind the module's back is detected in check mode, shown in the diff, and repaired.
    emulator.raw(ALIAS, "PATCH", "sobjects/PermissionSet/%s" % row["Id"], json={"Label": "changed by hand"})
    res = run_tasks([task(**spec)], check=True)
    assert res.results[0]["changed"] is True
    assert res.results[0]["diff"] == {"before": {"label": "changed by hand"}, "after": {"label": "Integration test"}}
    assert ps_rows(emulator, name)[0]["Label"] == "changed by hand"
    res = run_tasks([task(**spec)])
    assert res.results[0]["changed"] is True
    assert ps_rows(emulator, name)[0]["Label"] == "Integration test"

    # absent, then absent again
    res = run_tasks([task(name=name, state="absent")], check=True)
    assert res.results[0]["changed"] is True and len(ps_rows(emulator, name)) == 1
    res = run_tasks([task(name=name, state="absent")])
    assert res.rc == 0, res
    assert res.results[0]["changed"] is True
    assert ps_rows(emulator, name) == []
    res = run_tasks([task(name=name, state="absent")])
    assert res.results[0]["changed"] is False


def test_purge_system_permissions(emulator, run_tasks):
    name = new_name()
    res = run_tasks([task(name=name, system_permissions=["ApiEnabled", "ViewSetup"])])
    assert res.rc == 0, res
    # View Setup and Configuration depends on View Roles (sfemu/docs/rules.md): granted with it and reported.
    assert res.results[0]["implied_permissions"] == ["ViewRoles"]
    res = run_tasks([task(name=name, system_permissions=["ApiEnabled"], purge_system_permissions=True)])
    assert res.rc == 0, res
    assert res.results[0]["removed"]["system_permissions"] == ["ViewRoles", "ViewSetup"]
    row = ps_rows(emulator, name)[0]
    assert row["PermissionsApiEnabled"] is True and row["PermissionsViewSetup"] is False
    assert row["PermissionsViewRoles"] is False
    run_tasks([task(name=name, state="absent")])


def test_absent_refuses_while_assigned_then_removes_assignments(emulator, run_tasks):
    name = new_name()
    res = run_tasks([task(name=name, system_permissions=["ApiEnabled"])])
    assert res.rc == 0, res
    ps_id = ps_rows(emulator, name)[0]["Id"]
    admin = emulator.raw_query(ALIAS, "SELECT Id FROM User WHERE Username = '%s'" % emulator.conn(ALIAS)["username"])[0]["Id"]
    emulator.raw(ALIAS, "POST", "sobjects/PermissionSetAssignment", json={"AssigneeId": admin, "PermissionSetId": ps_id})

    emulator.reset_stats()
    res = run_tasks([task(name=name, state="absent")])
    assert res.rc != 0
    assert "remove_assignments" in res.results[0]["msg"]
    assert writes(emulator.stats(ALIAS)) == 0
    assert len(ps_rows(emulator, name)) == 1

    res = run_tasks([task(name=name, state="absent", remove_assignments=True)])
    assert res.rc == 0, res
    assert res.results[0]["removed_assignments"] == 1
    assert ps_rows(emulator, name) == []
    assert emulator.raw_query(ALIAS, "SELECT Id FROM PermissionSetAssignment WHERE PermissionSetId = '%s'" % ps_id) == []


def test_assignees_from_the_sets_side(emulator, run_tasks):
    name = new_name()
    admin = emulator.conn(ALIAS)["username"]
    standard = "standard.user@%s.sfemu.example" % ALIAS

    def holders():
        rows = emulator.raw_query(ALIAS, "SELECT Assignee.Username FROM PermissionSetAssignment WHERE PermissionSet.Name = '%s'" % name)
        return sorted(r["Assignee"]["Username"] for r in rows)

    # Created and assigned in one task; a username differing only in case is the same user.
    res = run_tasks([task(name=name, assignees=[admin.upper()])])
    assert res.rc == 0, res
    assert holders() == [admin] and res.results[0]["permission_set"]["assignees"] == [admin]
    assert res.results[0]["added"]["assignees"] == [admin]
    assert run_tasks([task(name=name, assignees=[admin])]).results[0]["changed"] is False

    # Someone hands the set to another user: without purge it stays, with purge (check mode first) it goes.
    ps_id = ps_rows(emulator, name)[0]["Id"]
    user_id = emulator.raw_query(ALIAS, "SELECT Id FROM User WHERE Username = '%s'" % standard)[0]["Id"]
    emulator.raw(ALIAS, "POST", "sobjects/PermissionSetAssignment", json={"AssigneeId": user_id, "PermissionSetId": ps_id})
    assert run_tasks([task(name=name, assignees=[admin])]).results[0]["changed"] is False
    res = run_tasks([task(name=name, assignees=[admin], purge_assignees=True)], check=True)
    assert res.rc == 0 and res.results[0]["removed"]["assignees"] == [standard], res
    assert res.results[0]["diff"] == {"before": {"assignees": {standard: True}}, "after": {"assignees": {standard: False}}}
    assert holders() == sorted([admin, standard])
    res = run_tasks([task(name=name, assignees=[admin], purge_assignees=True)])
    assert res.rc == 0 and holders() == [admin], res
    assert run_tasks([task(name=name, assignees=[admin], purge_assignees=True)]).results[0]["changed"] is False

    # An unknown user fails before any write.
    emulator.reset_stats()
    res = run_tasks([task(name=name, assignees=["nobody@sfops-tests.example"])])
    assert res.rc != 0 and "No user with username nobody@sfops-tests.example" in res.results[0]["msg"]
    assert writes(emulator.stats(ALIAS)) == 0
    run_tasks([task(name=name, state="absent", remove_assignments=True)])


def test_a_label_another_set_uses_is_reported_as_taken(emulator, run_tasks):
    # Salesforce refuses the create as DUPLICATE_MASTER_LABEL; the module reads again, finds no set of its name, so
    # the clash is with another permission set: it fails with the code and no row is written.
    other, name = new_name("It_Other"), new_name()
    emulator.raw(ALIAS, "POST", "sobjects/PermissionSet", json={"Name": other, "Label": "Shared label " + other})
    res = run_tasks([task(name=name, label="Shared label " + other)])
    assert res.rc != 0
    result = res.results[0]
    assert result["error_code"] == "DUPLICATE_MASTER_LABEL" and result["changed"] is False
    assert "Another permission set of this org already has the label" in result["msg"]
    assert ps_rows(emulator, name) == [] and len(ps_rows(emulator, other)) == 1


def test_bad_input_fails_before_any_write(emulator, run_tasks):
    name = new_name()
    cases = [
        (dict(name=name, system_permissions=["API Enabeld"]), "Did you mean"),
        (dict(name=name, license="No Such Licence"), "matches no PermissionSetLicense"),
        (dict(name="bad name", label="x"), "not a valid permission set API name"),
    ]
    for args, expected in cases:
        emulator.reset_stats()
        res = run_tasks([task(**args)])
        assert res.rc != 0
        assert expected in res.results[0]["msg"], res.results[0]["msg"]
        assert writes(emulator.stats(ALIAS)) == 0
    assert ps_rows(emulator, name) == []


def test_license_is_create_only(emulator, run_tasks):
    name = new_name()
    assert run_tasks([task(name=name)]).rc == 0
    emulator.reset_stats()
    res = run_tasks([task(name=name, license="Salesforce API Integration")])
    assert res.rc != 0
    assert "LicenseId can only be set when a permission set is created" in res.results[0]["msg"]
    assert writes(emulator.stats(ALIAS)) == 0
    run_tasks([task(name=name, state="absent")])


def test_no_secret_in_results(emulator, run_tasks):
    # The task results (what AWX stores and callbacks print) must not carry the secret or the session token.
    # (ansible-playbook's own error context may quote the test's playbook file, which holds the secret literally.)
    res = run_tasks([task(name=new_name(), system_permissions=["Nope"])], auth="client_credentials")
    assert res.rc != 0
    text = json.dumps(res.results)
    assert emulator.conn(ALIAS)["client_secret"] not in text
    assert "Bearer" not in text and "00D" not in res.results[0]["msg"]

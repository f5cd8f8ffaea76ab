"""sf_object_permission against the emulator: check mode, batched writes, closure, raw verification, idempotency
and request budget, revoke = delete, purge, and name validation before any write."""

import uuid

ALIAS = "org1"


def writes(stats):
    by_method, by_resource = stats.get("by_method", {}), stats.get("by_resource", {})
    return (by_method.get("PATCH", 0) + by_method.get("DELETE", 0)
            + by_method.get("POST", 0) - by_resource.get("composite", 0))


def ps_task(name, **extra):
    return {"name": "permission set", "sfops.salesforce.sf_permission_set": dict(name=name, **extra)}


def op_task(name, objects, **extra):
    return {"name": "object permissions", "sfops.salesforce.sf_object_permission": dict(permission_set=name, objects=objects, **extra)}


def object_rows(emulator, ps_id):
    rows = emulator.raw_query(ALIAS, "SELECT Id, SobjectType, PermissionsRead, PermissionsCreate, PermissionsEdit, PermissionsDelete, "
                                     "PermissionsViewAllRecords, PermissionsModifyAllRecords FROM ObjectPermissions "
                                     "WHERE ParentId = '%s'" % ps_id)
    return dict((r["SobjectType"], r) for r in rows)


def field_rows(emulator, ps_id):
    rows = emulator.raw_query(ALIAS, "SELECT Id, SobjectType, Field, PermissionsRead, PermissionsEdit FROM FieldPermissions "
                                     "WHERE ParentId = '%s'" % ps_id)
    return dict((r["Field"], r) for r in rows)


def make_set(emulator, run_tasks):
    name = "It_OP_%s" % uuid.uuid4().hex[:8]
    res = run_tasks([ps_task(name)])
    assert res.rc == 0, res
    return name, emulator.raw_query(ALIAS, "SELECT Id FROM PermissionSet WHERE Name = '%s'" % name)[0]["Id"]


OBJECTS = [
    {"name": "Account", "read": True, "fields": {"Industry": "read", "Description": "edit"}},
    {"name": "contact", "edit": True, "create": True},  # lower case on purpose: canonicalised
    {"name": "Health_Score__c", "modify_all": True, "fields": {"Trend__c": "read", "Notes__c": "edit"}},
]


def test_lifecycle(emulator, run_tasks):
    name, ps_id = make_set(emulator, run_tasks)

    emulator.reset_stats()
    res = run_tasks([op_task(name, OBJECTS)], check=True)
    assert res.rc == 0, res
    result = res.results[0]
    assert result["changed"] is True
    assert result["added"] == {"objects": ["Account", "Contact", "Health_Score__c"],
                               "fields": sorted(["Account.Industry", "Account.Description", "Health_Score__c.Trend__c",
                                                 "Health_Score__c.Notes__c"])}
    assert writes(emulator.stats(ALIAS)) == 0
    assert object_rows(emulator, ps_id) == {} and field_rows(emulator, ps_id) == {}

    emulator.reset_stats()
    res = run_tasks([op_task(name, OBJECTS)])
    assert res.rc == 0, res
    result = res.results[0]
    assert result["changed"] is True
    assert "Contact.read" in result["implied"]
    stats = emulator.stats(ALIAS)
    # One composite read + one sObject Collections create for all 7 rows.
    assert stats["by_resource"].get("composite/sobjects") == 1, stats
    objs, flds = object_rows(emulator, ps_id), field_rows(emulator, ps_id)
    assert objs["Account"]["PermissionsRead"] is True and objs["Account"]["PermissionsEdit"] is False
    assert objs["Contact"]["PermissionsRead"] is True and objs["Contact"]["PermissionsCreate"] is True
    hs = objs["Health_Score__c"]
    assert all(hs[k] for k in ("PermissionsRead", "PermissionsEdit", "PermissionsDelete", "PermissionsViewAllRecords",
                               "PermissionsModifyAllRecords"))
    assert flds["Account.Industry"]["PermissionsRead"] is True and flds["Account.Industry"]["PermissionsEdit"] is False
    assert flds["Account.Description"]["PermissionsEdit"] is True
    assert flds["Health_Score__c.Trend__c"]["PermissionsEdit"] is False

    emulator.reset_stats()
    res = run_tasks([op_task(name, OBJECTS)])
    assert res.rc == 0, res
    assert res.results[0]["changed"] is False
    stats = emulator.stats(ALIAS)
    print("sf_object_permission converged: api_requests=%s token_requests=%s" % (stats["api_requests"], stats["token_requests"]))
    assert stats["api_requests"] <= 2 and stats["token_requests"] <= 1 and writes(stats) == 0

    # Revoke: Contact all false, a field to none, purge Account.Description via purge_fields.
    changed = [
        {"name": "Account", "read": True, "fields": {"Industry": "read"}},
        {"name": "Contact"},
        {"name": "Health_Score__c", "read": True, "fields": {"Trend__c": "read", "Notes__c": "none"}},
    ]
    res = run_tasks([op_task(name, changed, purge_fields=True)])
    assert res.rc == 0, res
    result = res.results[0]
    assert result["removed"] == {"objects": ["Contact"], "fields": ["Account.Description", "Health_Score__c.Notes__c"]}
    assert result["updated"] == {"objects": ["Health_Score__c"], "fields": []}
    objs, flds = object_rows(emulator, ps_id), field_rows(emulator, ps_id)
    assert "Contact" not in objs  # revoking deletes the row, never an all-false update
    assert objs["Health_Score__c"]["PermissionsModifyAllRecords"] is False and objs["Health_Score__c"]["PermissionsRead"] is True
    assert set(flds) == {"Account.Industry", "Health_Score__c.Trend__c"}
    assert run_tasks([op_task(name, changed, purge_fields=True)]).results[0]["changed"] is False

    # purge_objects removes what is not listed, with its field permissions.
    res = run_tasks([op_task(name, [{"name": "Account", "read": True, "fields": {"Industry": "read"}}], purge_objects=True)])
    assert res.rc == 0, res
    assert set(object_rows(emulator, ps_id)) == {"Account"}
    assert set(field_rows(emulator, ps_id)) == {"Account.Industry"}

    run_tasks([ps_task(name, state="absent")])


def test_drift_diff(emulator, run_tasks):
    name, ps_id = make_set(emulator, run_tasks)
    objects = [{"name": "Account", "read": True, "edit": True}]
    assert run_tasks([op_task(name, objects)]).rc == 0
    row = object_rows(emulator, ps_id)["Account"]
    emulator.raw(ALIAS, "PATCH", "sobjects/ObjectPermissions/%s" % row["Id"], json={"PermissionsEdit": False})
    res = run_tasks([op_task(name, objects)], check=True)
    result = res.results[0]
    assert result["changed"] is True
    assert result["diff"] == {"before": {"objects": {"Account": {"edit": False}}}, "after": {"objects": {"Account": {"edit": True}}}}
    assert object_rows(emulator, ps_id)["Account"]["PermissionsEdit"] is False
    run_tasks([ps_task(name, state="absent")])


def test_invalid_names_fail_before_any_write(emulator, run_tasks):
    name, ps_id = make_set(emulator, run_tasks)
    cases = [
        ([{"name": "Acount", "read": True}], "Did you mean: Account"),
        ([{"name": "User", "read": True}], "cannot carry object permissions"),
        ([{"name": "Account", "read": True, "fields": {"Industy": "read"}}], "Industry"),
        ([{"name": "Account", "read": True, "fields": {"OwnerId": "read"}}], "not permissionable"),
        ([{"name": "Health_Score__c", "read": True, "fields": {"Trend__c": "edit"}}], "read-only"),
        ([{"name": "Account", "read": True, "fields": {"Industry": "write"}}], "must be one of"),
    ]
    for objects, expected in cases:
        emulator.reset_stats()
        res = run_tasks([op_task(name, objects)])
        assert res.rc != 0
        assert expected in res.results[0]["msg"], res.results[0]["msg"]
        assert writes(emulator.stats(ALIAS)) == 0
    assert object_rows(emulator, ps_id) == {}
    run_tasks([ps_task(name, state="absent")])


def test_missing_permission_set(emulator, run_tasks):
    missing = "It_OP_missing_%s" % uuid.uuid4().hex[:6]
    res = run_tasks([op_task(missing, [{"name": "Account", "read": True}])])
    assert res.rc != 0 and "does not exist" in res.results[0]["msg"]
    res = run_tasks([op_task(missing, [{"name": "Account", "read": True}])], check=True)
    assert res.rc == 0, res
    assert res.results[0]["changed"] is True and res.results[0]["added"]["objects"] == ["Account"]


def test_purge_acts_only_on_a_given_list(emulator, run_tasks):
    """The one purge rule, checked by raw query: objects omitted = unmanaged even with purge_objects; [] = none."""
    name, ps_id = make_set(emulator, run_tasks)
    assert run_tasks([op_task(name, OBJECTS)]).rc == 0
    rows_before, fields_before = object_rows(emulator, ps_id), field_rows(emulator, ps_id)
    emulator.reset_stats()
    omitted = {"name": "purge, objects omitted", "sfops.salesforce.sf_object_permission": dict(
        permission_set=name, purge_objects=True, purge_fields=True)}
    res = run_tasks([omitted])
    assert res.rc == 0 and res.results[0]["changed"] is False, res
    assert writes(emulator.stats(ALIAS)) == 0
    assert object_rows(emulator, ps_id) == rows_before and field_rows(emulator, ps_id) == fields_before

    res = run_tasks([op_task(name, [], purge_objects=True)])
    assert res.rc == 0 and res.results[0]["changed"] is True, res
    assert res.results[0]["removed"]["objects"] == ["Account", "Contact", "Health_Score__c"]
    assert object_rows(emulator, ps_id) == {} and field_rows(emulator, ps_id) == {}
    run_tasks([ps_task(name, state="absent")])

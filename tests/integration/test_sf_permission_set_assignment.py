"""sf_permission_set_assignment against the emulator: check mode, assign, verify through raw queries, converge within
the request budget, purge (sparing the profile's own permission set), absent, and names that fail before any write."""

import uuid

ALIAS = "org1"


def writes(stats):
    by_method, by_resource = stats.get("by_method", {}), stats.get("by_resource", {})
    return (by_method.get("PATCH", 0) + by_method.get("DELETE", 0)
            + by_method.get("POST", 0) - by_resource.get("composite", 0))


def task(**args):
    return {"name": "assignment", "sfops.salesforce.sf_permission_set_assignment": args}


def make_permission_set(emulator, prefix):
    """Created through the raw API, independently of the collection."""
    name = "%s_%s" % (prefix, uuid.uuid4().hex[:8])
    emulator.raw(ALIAS, "POST", "sobjects/PermissionSet", json={"Name": name, "Label": name})
    return name


def assigned(emulator, username):
    rows = emulator.raw_query(ALIAS, "SELECT Id, PermissionSet.Name, PermissionSet.IsOwnedByProfile FROM PermissionSetAssignment "
                                     "WHERE Assignee.Username = '%s'" % username)
    return sorted(r["PermissionSet"]["Name"] for r in rows if not r["PermissionSet"]["IsOwnedByProfile"]), \
        sum(1 for r in rows if r["PermissionSet"]["IsOwnedByProfile"])


def test_assignment_lifecycle(emulator, run_tasks):
    user = "standard.user@%s.sfemu.example" % ALIAS
    wanted, other = make_permission_set(emulator, "It_Want"), make_permission_set(emulator, "It_Other")
    # An assignment made by hand that purge must remove.
    ps_id = emulator.raw_query(ALIAS, "SELECT Id FROM PermissionSet WHERE Name = '%s'" % other)[0]["Id"]
    user_id = emulator.raw_query(ALIAS, "SELECT Id FROM User WHERE Username = '%s'" % user)[0]["Id"]
    emulator.raw(ALIAS, "POST", "sobjects/PermissionSetAssignment", json={"AssigneeId": user_id, "PermissionSetId": ps_id})
    before, profile_rows = assigned(emulator, user)
    assert other in before

    spec = dict(user=user, permission_sets=[wanted], purge_permission_sets=True)
    emulator.reset_stats()
    res = run_tasks([task(**spec)], check=True)
    assert res.rc == 0, res
    result = res.results[0]
    assert result["changed"] is True
    assert result["added"]["permission_sets"] == [wanted] and other in result["removed"]["permission_sets"]
    assert writes(emulator.stats(ALIAS)) == 0 and assigned(emulator, user)[0] == before

    res = run_tasks([task(**spec)])
    assert res.rc == 0, res
    after, profile_after = assigned(emulator, user)
    assert after == [wanted]
    assert profile_after == profile_rows  # the profile's own permission set is never touched
    assert res.results[0]["assignments"]["permission_sets"] == [wanted]

    emulator.reset_stats()
    res = run_tasks([task(**spec)])
    assert res.rc == 0 and res.results[0]["changed"] is False
    stats = emulator.stats(ALIAS)
    print("sf_permission_set_assignment converged: api_requests=%s token_requests=%s" % (stats["api_requests"], stats["token_requests"]))
    assert stats["api_requests"] <= 2 and stats["token_requests"] <= 1 and writes(stats) == 0

    res = run_tasks([task(user=user, permission_sets=[wanted], state="absent")])
    assert res.rc == 0 and res.results[0]["removed"]["permission_sets"] == [wanted]
    assert assigned(emulator, user)[0] == []
    res = run_tasks([task(user=user, permission_sets=[wanted], state="absent")])
    assert res.rc == 0 and res.results[0]["changed"] is False


def test_unknown_names_fail_before_any_write(emulator, run_tasks):
    user = "standard.user@%s.sfemu.example" % ALIAS
    real = make_permission_set(emulator, "It_Real")
    emulator.reset_stats()
    res = run_tasks([task(user=user, permission_sets=[real, real + "x"])])
    assert res.rc != 0 and "Unknown permission set(s): %sx" % real in res.results[0]["msg"]
    res = run_tasks([task(user="nobody@%s.sfemu.example" % ALIAS, permission_sets=[real])])
    assert res.rc != 0 and "No user with username" in res.results[0]["msg"]
    assert writes(emulator.stats(ALIAS)) == 0
    assert real not in assigned(emulator, user)[0]


def test_check_mode_reports_what_earlier_tasks_of_the_run_would_create(emulator, run_tasks):
    # The runbook in check mode on a new org: the user and the permission set would be created by earlier tasks.
    new_user = "not.yet.%s@%s.sfemu.example" % (uuid.uuid4().hex[:6], ALIAS)
    new_ps = "It_NotYet_%s" % uuid.uuid4().hex[:8]
    emulator.reset_stats()
    res = run_tasks([task(user=new_user, permission_sets=[new_ps])], check=True)
    assert res.rc == 0, res
    result = res.results[0]
    assert result["changed"] is True and result["added"]["permission_sets"] == [new_ps]
    warnings = (res.stdout + res.stderr).split("[WARNING]")[1:]
    assert any(new_user in w and new_ps in w for w in warnings), res
    assert writes(emulator.stats(ALIAS)) == 0
    assert emulator.raw_query(ALIAS, "SELECT Id FROM User WHERE Username = '%s'" % new_user) == []
    # The same task for real still refuses before any write.
    res = run_tasks([task(user=new_user, permission_sets=[new_ps])])
    assert res.rc != 0 and "No user with username %s" % new_user in res.results[0]["msg"]
    assert writes(emulator.stats(ALIAS)) == 0

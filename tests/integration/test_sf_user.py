"""sf_user against the emulator: check mode, create an API-only integration user with its permission set licence,
verify through raw queries, converge within the request budget, drift, freeze, deactivate, and the global
username rule. The org's state is always read back through the fixture's own raw REST session."""

import uuid

ALIAS = "org1"
INTEGRATION_PROFILE = "Minimum Access - API Only Integrations"


def writes(stats):
    # Module reads go through GET or a read-only composite POST; anything else is a write.
    by_method, by_resource = stats.get("by_method", {}), stats.get("by_resource", {})
    return (by_method.get("PATCH", 0) + by_method.get("DELETE", 0)
            + by_method.get("POST", 0) - by_resource.get("composite", 0))


def new_username(prefix="it.user"):
    return "%s.%s@sfops-tests.example" % (prefix, uuid.uuid4().hex[:8])


def user_task(emulator, alias=ALIAS, **args):
    # sf_user's own `username` is the managed user; the JWT login user is login_username, as in every module.
    args.setdefault("login_username", emulator.conn(alias)["username"])
    return {"name": "user", "sfops.salesforce.sf_user": args}


def raw_user(emulator, username, alias=ALIAS):
    rows = emulator.raw_query(alias, "SELECT Id, Username, Email, FirstName, LastName, Alias, IsActive, ProfileId, Profile.Name, "
                                     "TimeZoneSidKey FROM User WHERE Username = '%s'" % username)
    return rows[0] if rows else None


def raw_psls(emulator, user_id, alias=ALIAS):
    rows = emulator.raw_query(alias, "SELECT Id, PermissionSetLicenseId, PermissionSetLicense.DeveloperName FROM "
                                     "PermissionSetLicenseAssign WHERE AssigneeId = '%s'" % user_id)
    return rows


def raw_frozen(emulator, user_id, alias=ALIAS):
    return emulator.raw_query(alias, "SELECT IsFrozen FROM UserLogin WHERE UserId = '%s'" % user_id)[0]["IsFrozen"]


def cleanup(emulator, username, alias=ALIAS):
    """Free the licences for the rest of the session: deactivate, remove the permission set licence."""
    row = raw_user(emulator, username, alias)
    if row:
        ids = [r["Id"] for r in raw_psls(emulator, row["Id"], alias)]
        if ids:
            emulator.raw_collections_delete(alias, ids)
        if row["IsActive"]:
            emulator.raw(alias, "PATCH", "sobjects/User/%s" % row["Id"], json={"IsActive": False})


def test_integration_user_lifecycle(emulator, run_tasks):
    username = new_username()
    spec = dict(username=username, email="ops@sfops-tests.example", first_name="Planhat", last_name="Integration",
                integration_user=True)
    try:
        emulator.reset_stats()
        res = run_tasks([user_task(emulator, **spec)], check=True)
        assert res.rc == 0, res
        result = res.results[0]
        assert result["changed"] is True and result["diff"]["before"] == {"state": "absent"}
        assert result["user"]["profile"] == INTEGRATION_PROFILE
        assert writes(emulator.stats(ALIAS)) == 0
        assert raw_user(emulator, username) is None

        res = run_tasks([user_task(emulator, **spec)])
        assert res.rc == 0, res
        result = res.results[0]
        assert result["changed"] is True
        row = raw_user(emulator, username)
        assert row["Profile"]["Name"] == INTEGRATION_PROFILE and row["IsActive"] is True
        assert row["Alias"] == "pintegra" and row["Email"] == "ops@sfops-tests.example"
        lic = emulator.raw_query(ALIAS, "SELECT UserLicense.Name FROM Profile WHERE Id = '%s'" % row["ProfileId"])[0]
        assert lic["UserLicense"]["Name"] == "Salesforce Integration"
        assert [r["PermissionSetLicense"]["DeveloperName"] for r in raw_psls(emulator, row["Id"])] == ["SalesforceAPIIntegrationPsl"]
        assert result["user"]["id"] == row["Id"] and "password" not in result

        emulator.reset_stats()
        res = run_tasks([user_task(emulator, **spec)])
        assert res.rc == 0, res
        assert res.results[0]["changed"] is False
        stats = emulator.stats(ALIAS)
        print("sf_user converged: api_requests=%s token_requests=%s" % (stats["api_requests"], stats["token_requests"]))
        assert stats["api_requests"] <= 2 and stats["token_requests"] <= 1 and writes(stats) == 0

        # Drift made by hand is shown in check mode (only what changes) and repaired by a real run.
        emulator.raw(ALIAS, "PATCH", "sobjects/User/%s" % row["Id"], json={"Email": "someone@else.example"})
        res = run_tasks([user_task(emulator, **spec)], check=True)
        assert res.results[0]["changed"] is True
        assert res.results[0]["diff"] == {"before": {"email": "someone@else.example"}, "after": {"email": "ops@sfops-tests.example"}}
        res = run_tasks([user_task(emulator, **spec)])
        assert res.results[0]["changed"] is True and raw_user(emulator, username)["Email"] == "ops@sfops-tests.example"

        # Freeze and unfreeze through UserLogin.
        res = run_tasks([user_task(emulator, username=username, frozen=True)])
        assert res.rc == 0, res
        assert res.results[0]["changed"] is True and raw_frozen(emulator, row["Id"]) is True
        res = run_tasks([user_task(emulator, username=username, frozen=False)])
        assert res.results[0]["changed"] is True and raw_frozen(emulator, row["Id"]) is False

        # absent = deactivate (users cannot be deleted): check mode first, then for real, then again.
        emulator.reset_stats()
        res = run_tasks([user_task(emulator, username=username, state="absent")], check=True)
        assert res.results[0]["changed"] is True and writes(emulator.stats(ALIAS)) == 0
        assert raw_user(emulator, username)["IsActive"] is True
        res = run_tasks([user_task(emulator, username=username, state="absent")])
        assert res.results[0]["changed"] is True and raw_user(emulator, username)["IsActive"] is False
        res = run_tasks([user_task(emulator, username=username, state="absent")])
        assert res.results[0]["changed"] is False
    finally:
        cleanup(emulator, username)


def test_usernames_are_global_across_orgs(emulator, run_tasks):
    # The seeded admin of org1 exists; creating the same username in org2 must fail with the explanation.
    taken = emulator.conn("org1")["username"]
    emulator.reset_stats()
    res = run_tasks([user_task(emulator, alias="org2", username=taken, email="x@sfops-tests.example", last_name="Dup",
                               profile="Standard User")], alias="org2")
    assert res.rc != 0
    msg = res.results[0]["msg"]
    assert "unique across ALL Salesforce orgs" in msg and "not by a user of this org" in msg
    # Looked up in org2 first (a user created there by an overlapping run would be taken over); the code stays.
    assert res.results[0]["error_code"] == "DUPLICATE_USERNAME"
    assert emulator.raw_query("org2", "SELECT Id FROM User WHERE Username = '%s'" % taken) == []


def test_bad_input_fails_before_any_write(emulator, run_tasks):
    emulator.reset_stats()
    res = run_tasks([user_task(emulator, username=new_username(), email="x@sfops-tests.example", last_name="X",
                               profile="Standard Usr")])
    assert res.rc != 0 and "Did you mean: Standard User?" in res.results[0]["msg"]
    assert writes(emulator.stats(ALIAS)) == 0


def test_reset_password_returns_a_password_that_logs_in(emulator, run_tasks):
    username = new_username("it.pw")
    spec = dict(username=username, email="pw@sfops-tests.example", last_name="Pw", profile="Standard User")
    try:
        res = run_tasks([user_task(emulator, **spec)])
        assert res.rc == 0, res
        assert "password" not in res.results[0]
        res = run_tasks([user_task(emulator, reset_password=True, **spec)])
        assert res.rc == 0, res
        password = res.results[0]["password"]
        assert len(password) == 24 and res.results[0]["changed"] is True
        # The password was really set: the password flow accepts it and only then refuses the login because the
        # user has no access to the admin-approved app; a wrong password is refused as an authentication failure.
        conn = emulator.conn(ALIAS)

        def login(pw):
            return emulator._session.post(conn["login_url"].rstrip("/") + "/services/oauth2/token", data={
                "grant_type": "password", "client_id": conn["client_id"], "client_secret": conn["client_secret"],
                "username": username, "password": pw}, timeout=30, verify=emulator.verify).json()
        assert login(password).get("error") in (None, "invalid_app_access")
        assert login(password + "x") == {"error": "invalid_grant", "error_description": "authentication failure"}
        # Neither the diff nor anything else printed by the run shows it.
        assert password not in res.stdout and password not in res.stderr
        assert password not in str(res.results[0].get("diff"))
    finally:
        cleanup(emulator, username)


def test_create_frozen_user_in_one_transaction(emulator, run_tasks):
    # The freeze of a new user goes in the same all-or-none composite as the insert (UserLogin found by reference).
    username = new_username("it.frozen")
    spec = dict(username=username, email="frozen@sfops-tests.example", last_name="Frozen", profile="Standard User", frozen=True)
    try:
        emulator.reset_stats()
        res = run_tasks([user_task(emulator, **spec)])
        assert res.rc == 0, res
        row = raw_user(emulator, username)
        assert row["IsActive"] is True and raw_frozen(emulator, row["Id"]) is True
        assert res.results[0]["user"]["frozen"] is True
        stats = emulator.stats(ALIAS)
        assert stats["by_resource"].get("composite", 0) == 3  # read, one write transaction, read back
        res = run_tasks([user_task(emulator, **spec)])
        assert res.rc == 0 and res.results[0]["changed"] is False
    finally:
        cleanup(emulator, username)

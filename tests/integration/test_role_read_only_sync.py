"""The read_only_sync preset, the guardrails that need an org, and the preflight checks."""

from test_role_support import (username_of, STEPS, assignments, changed_count, changed_tasks, counts, deactivate,
                               expected_objects, field_permissions, object_permissions, permission_set, preset,
                               read_drift_reports, report_of, role_vars, unique, user)

SETUP = "playbooks/setup_integration.yml"


def dependency_closure(perms):
    from sfemu import schema
    deps = schema.SYSTEM_PERMISSION_DEPENDENCIES
    todo, out = [p[len("Permissions"):] for p in perms], set()
    while todo:
        p = todo.pop()
        if p in out:
            continue
        out.add(p)
        todo.extend(deps.get(p, ()))
    return {"Permissions" + p for p in out}
DRIFT = "playbooks/drift_check.yml"


def test_read_only_sync_setup_rerun_drift_and_repair(emulator, run_playbook):
    alias = "org3"
    tag = unique()
    rv = role_vars(tag, "read_only_sync")
    ps_name, username = rv["integration_user_permission_set_name"], username_of(rv, alias)
    data = preset("read_only_sync")
    try:
        res = run_playbook(SETUP, aliases=[alias], check=True, extra_vars=rv)
        assert res.rc == 0, res
        # No connected app in this preset: four steps, nothing written.
        assert report_of(res, alias)["changed_steps"] == [s for s in STEPS if s not in ("connected_app", "oauth_tokens")]
        assert user(emulator, alias, username) is None and permission_set(emulator, alias, ps_name) is None

        res = run_playbook(SETUP, aliases=[alias], extra_vars=rv)
        assert res.rc == 0, res
        found = user(emulator, alias, username)
        assert found["is_active"] and found["profile"] == "Minimum Access - API Only Integrations"
        ps = permission_set(emulator, alias, ps_name)
        # The preset's permissions plus what Salesforce requires with them (the API refuses a permission without
        # its dependencies; the table the emulator enforces, shared with the collection, names them).
        assert ps["system_permissions"] == sorted(dependency_closure(data["system_permissions"]))
        rows = object_permissions(emulator, alias, ps["id"])
        assert sorted(rows) == sorted(expected_objects(data))
        for flags in rows.values():
            assert flags == {"read": True, "create": False, "edit": False, "delete": False, "view_all": False,
                             "modify_all": False}
        # Read on every tracked field: a read row per field of the preset (View All Data opens records, not fields).
        wanted_fields = {"%s.%s" % (entry["name"], f): level for entry in data["objects"]
                         for f, level in (entry.get("fields") or {}).items()}
        assert wanted_fields and set(wanted_fields.values()) == {"read"}
        assert field_permissions(emulator, alias, ps["id"]) == wanted_fields
        assert assignments(emulator, alias, username) == [ps_name]
        # API-only, so View All Data raises no MFA warning.
        assert report_of(res, alias)["warnings"] == []

        emulator.reset_stats()
        res = run_playbook(SETUP, aliases=[alias], extra_vars=rv)
        assert res.rc == 0 and changed_count(res, alias) == 0, changed_tasks(res, alias)
        stats = counts(emulator, alias, "read_only_sync converged re-run")
        assert stats["token_requests"] == 1 and stats["api_requests"] <= 8

        # Someone gives the sync tool Edit on Account: reported as exactly that, then taken away.
        account = emulator.raw_query(alias, "SELECT Id FROM ObjectPermissions WHERE ParentId = '%s' AND "
                                            "SobjectType = 'Account'" % ps["id"])[0]
        emulator.raw(alias, "PATCH", "sobjects/ObjectPermissions/" + account["Id"], json={"PermissionsEdit": True})
        report_dir = emulator.data_dir / ("drift-" + tag)
        res = run_playbook(DRIFT, aliases=[alias], extra_vars=dict(rv, drift_report_dir=str(report_dir)))
        assert res.rc == 0, res                                    # fail_on_drift is off by default
        data_json, _ = read_drift_reports(report_dir)
        org = data_json["orgs"][alias]
        assert org["changed_steps"] == ["object_permissions"]
        before = org["diffs"]["object_permissions"]["before"]["objects"]["Account"]
        after = org["diffs"]["object_permissions"]["after"]["objects"]["Account"]
        assert before["edit"] is True and after["edit"] is False
        assert object_permissions(emulator, alias, ps["id"])["Account"]["edit"] is True   # check mode wrote nothing

        res = run_playbook(SETUP, aliases=[alias], extra_vars=rv)
        assert res.rc == 0, res
        assert object_permissions(emulator, alias, ps["id"])["Account"]["edit"] is False
    finally:
        deactivate(emulator, alias, username)


def test_view_all_data_on_a_user_who_is_not_api_only_is_flagged(emulator, run_playbook):
    alias = "org3"
    rv = role_vars(unique(), "read_only_sync", integration_user_api_only=False)
    res = run_playbook(SETUP, aliases=[alias], check=True, extra_vars=rv)
    assert res.rc == 0, res
    report = report_of(res, alias)
    assert len(report["warnings"]) == 1 and "phishing-resistant MFA" in report["warnings"][0]
    assert any(step.startswith("Register multi-factor authentication") for step in report["manual_steps"])
    assert user(emulator, alias, username_of(rv, alias)) is None


def test_dangerous_permission_allowed_only_on_request(emulator, run_playbook):
    alias = "org1"
    rv = role_vars(unique(), "read_only_sync", integration_user_extra_system_permissions=["Modify All Data"])
    emulator.reset_stats()
    res = run_playbook(SETUP, aliases=[alias], check=True, extra_vars=rv)
    assert res.rc != 0
    assert "Refusing to grant Modify All Data" in res.stdout
    stats = emulator.stats(alias)
    # Refused before any request: the login is skipped, and the first task after it fails with the refusal.
    assert stats["api_requests"] == 0 and stats["token_requests"] == 0

    res = run_playbook(SETUP, aliases=[alias], check=True,
                       extra_vars=dict(rv, integration_user_allow_dangerous_permissions=True))
    assert res.rc == 0, res
    assert "ModifyAllData" in str(report_of(res, alias)["diffs"]["permission_set"]["after"])
    assert permission_set(emulator, alias, rv["integration_user_permission_set_name"]) is None


def test_preflight_stops_before_any_write(emulator, run_playbook):
    alias = "org2"
    rv = role_vars(unique(), "read_only_sync")
    # API budget below the threshold.
    res = run_playbook(SETUP, aliases=[alias], extra_vars=dict(rv, integration_user_min_api_requests_remaining=10 ** 9))
    assert res.rc != 0
    assert "daily API requests remain" in res.stdout
    assert user(emulator, alias, username_of(rv, alias)) is None
    assert permission_set(emulator, alias, rv["integration_user_permission_set_name"]) is None

    # No free Salesforce Integration licence for a new user: fill the org's licences by hand first.
    profile = emulator.raw_query(alias, "SELECT Id FROM Profile WHERE Name = 'Minimum Access - API Only Integrations'")[0]["Id"]
    licence = emulator.raw_query(alias, "SELECT TotalLicenses, UsedLicenses FROM UserLicense WHERE Name = "
                                        "'Salesforce Integration'")[0]
    fillers = []
    try:
        for i in range(licence["TotalLicenses"] - licence["UsedLicenses"]):
            name = "filler%d.%s@test.sfemu.example" % (i, unique())
            emulator.raw(alias, "POST", "sobjects/User", json={
                "Username": name, "LastName": "Filler", "Email": "filler@example.com", "Alias": "fill%d" % i,
                "ProfileId": profile, "TimeZoneSidKey": "GMT", "LocaleSidKey": "en_US", "EmailEncodingKey": "UTF-8",
                "LanguageLocaleKey": "en_US"})
            fillers.append(name)
        res = run_playbook(SETUP, aliases=[alias], extra_vars=rv)
        assert res.rc != 0
        # sf_user checks the licence in its own read, before its write (the run's first).
        assert 'No "Salesforce Integration" user licence is free' in res.stdout
        assert user(emulator, alias, username_of(rv, alias)) is None
    finally:
        for name in fillers:
            deactivate(emulator, alias, name)

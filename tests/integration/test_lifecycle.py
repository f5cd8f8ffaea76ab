"""The rest of the integration's life against the emulator (issue 13): set up, watch, offboard.

A hand-made second user who authorises Planhat, holding the integration permission set, is reported by
drift_check.yml for exactly its org (JSON, JUnit, AWX artifacts) and removed by a setup run with the purge defaults;
remove_integration.yml then leaves the user inactive (or frozen) with no assignment, no app access and no vendor
token, and a second run changes nothing. Every state is read back through raw queries with the emulator's own login.

One test function per scenario: the steps depend on each other and must not be split across pytest-xdist workers.
"""

from test_role_support import (REPO, changed_count, changed_tasks, deactivate, junit_failures, q, read_drift_reports,
                               report_of, role_vars, unique, username_of)

SETUP = "playbooks/setup_integration.yml"
DRIFT = "playbooks/drift_check.yml"
REMOVE = "playbooks/remove_integration.yml"


def user_row(emulator, alias, username):
    rows = q(emulator, alias, "SELECT Id, IsActive FROM User WHERE Username = '%s'" % username)
    return rows[0] if rows else None


def make_user(emulator, alias, username):
    """A user created by hand in Setup (a Salesforce licence, the Standard User profile)."""
    profile = q(emulator, alias, "SELECT Id FROM Profile WHERE Name = 'Standard User'")[0]["Id"]
    return emulator.raw(alias, "POST", "sobjects/User", json={
        "Username": username, "LastName": "Second", "Email": "second@example.com", "Alias": "second",
        "ProfileId": profile, "TimeZoneSidKey": "GMT", "LocaleSidKey": "en_US", "EmailEncodingKey": "UTF-8",
        "LanguageLocaleKey": "en_US"}).json()["id"]


def assign(emulator, alias, user_id, ps_id):
    return emulator.raw(alias, "POST", "sobjects/PermissionSetAssignment",
                        json={"AssigneeId": user_id, "PermissionSetId": ps_id}).json()["id"]


def authorise_planhat(emulator, alias, username):
    """``username`` clicks Allow for Planhat, and the vendor redeems the code (sfemu control API)."""
    emulator.control("POST", "orgs/%s/authorize" % alias, json={"username": username, "app": "Planhat"})


def planhat_tokens(emulator, alias):
    return sorted(r["User"]["Username"] for r in q(emulator, alias, "SELECT User.Username FROM OauthToken "
                                                                    "WHERE AppName = 'Planhat'"))


def holders(emulator, alias, ps_name):
    return sorted(r["Assignee"]["Username"] for r in q(emulator, alias, "SELECT Assignee.Username FROM "
                                                                        "PermissionSetAssignment WHERE PermissionSet.Name = '%s'" % ps_name))


def app_access(emulator, alias):
    app_id = q(emulator, alias, "SELECT Id FROM ConnectedApplication WHERE Name = 'Planhat'")[0]["Id"]
    return sorted(r["Parent"]["Name"] for r in q(emulator, alias, "SELECT Parent.Name, Parent.IsOwnedByProfile FROM "
                                                                  "SetupEntityAccess WHERE SetupEntityId = '%s'" % app_id)
                  if not r["Parent"]["IsOwnedByProfile"])


def own_assignments(emulator, alias, username):
    return [r for r in q(emulator, alias, "SELECT Id, PermissionSet.IsOwnedByProfile FROM PermissionSetAssignment "
                                          "WHERE Assignee.Username = '%s'" % username)
            if not r["PermissionSet"]["IsOwnedByProfile"]]


def drift(run_playbook, aliases, rv, directory, **extra):
    res = run_playbook(DRIFT, aliases=aliases, extra_vars=dict(rv, drift_report_dir=str(directory), **extra))
    data, junit = read_drift_reports(directory)
    return res, data, junit


def test_watch_then_offboard(emulator, run_playbook, tmp_path):
    aliases = ["org1", "org3"]  # Planhat is installed in both (seed)
    rv = role_vars(unique())
    ps_name = rv["integration_user_permission_set_name"]
    second = "second.%s@%s.example" % (unique("u"), "sfops-tests")
    second_id = None
    try:
        res = run_playbook(SETUP, aliases=aliases, extra_vars=rv)
        assert res.rc == 0, res
        # The seed's standard.user authorised Planhat in every org: the setup revoked it (purge default).
        for alias in aliases:
            assert planhat_tokens(emulator, alias) == []
        res, data, junit = drift(run_playbook, aliases, rv, tmp_path / "d1")
        assert res.rc == 0, res
        assert data["summary"]["exposed_orgs"] == [] and data["summary"]["drifted_orgs"] == []

        # In org3 an admin hands the permission set to a second user, who then authorises Planhat.
        ps_id = q(emulator, "org3", "SELECT Id FROM PermissionSet WHERE Name = '%s'" % ps_name)[0]["Id"]
        second_id = make_user(emulator, "org3", second)
        assign(emulator, "org3", second_id, ps_id)
        authorise_planhat(emulator, "org3", second)
        assert planhat_tokens(emulator, "org3") == [second]

        # The drift check reports it for org3 only, in the JSON, the JUnit report and the artifacts, and fails the
        # run with integration_user_fail_on_exposure (after writing the reports). It changes nothing.
        res, data, junit = drift(run_playbook, aliases, rv, tmp_path / "d2", integration_user_fail_on_exposure=True)
        assert res.rc != 0, res
        assert data["summary"]["exposed_orgs"] == ["org3"]
        exposure = data["orgs"]["org3"]["exposure"]
        assert [t["user"] for t in exposure["oauth_tokens"]] == [second] and exposure["oauth_tokens"][0]["use_count"] == 1
        assert exposure["assignees"] == [second]
        assert any(f.startswith(second + " holds an OAuth token of Planhat") for f in exposure["findings"])
        assert data["orgs"]["org1"]["exposure"]["exposed"] is False
        # The purges make the same two things drift in org3 (a setup run removes them).
        assert data["summary"]["drifted_orgs"] == ["org3"]
        assert data["orgs"]["org3"]["changed_steps"] == ["permission_set", "oauth_tokens"]
        assert data["orgs"]["org3"]["diffs"]["permission_set"] == {"before": {"assignees": {second: True}},
                                                                   "after": {"assignees": {second: False}}}
        assert junit_failures(junit) == {("org3", "permission_set"), ("org3", "oauth_tokens"), ("org3", "exposure")}
        stats = res.report["custom_stats"]["_run"]["integration_user_drift"]
        assert stats["exposed_orgs"] == ["org3"] and list(stats["exposure"]) == ["org3"]
        assert stats["exposure"]["org3"] == exposure["findings"]
        failed = [r for r in res.host_results("org1") if r.get("failed")]
        assert any("exposed: ['org3']" in (r.get("msg") or "") for r in failed)
        assert planhat_tokens(emulator, "org3") == [second] and holders(emulator, "org3", ps_name) == sorted(
            [second, username_of(rv, "org3")])

        # A setup run with the purge defaults removes both, and the next drift check is clean.
        res = run_playbook(SETUP, aliases=aliases, extra_vars=rv)
        assert res.rc == 0, res
        assert planhat_tokens(emulator, "org3") == []
        assert holders(emulator, "org3", ps_name) == [username_of(rv, "org3")]
        assert report_of(res, "org3")["exposure"]["assignees"] == [second]  # what the run found, and removed
        res, data, junit = drift(run_playbook, aliases, rv, tmp_path / "d3")
        assert res.rc == 0 and data["summary"]["exposed_orgs"] == [] and data["summary"]["drifted_orgs"] == [], res

        # Offboarding org3. The vendor is connected as the integration user, and the second user holds the set again
        # (by hand), so the set is kept although its deletion is asked for.
        iu = username_of(rv, "org3")
        authorise_planhat(emulator, "org3", iu)
        assign(emulator, "org3", second_id, ps_id)
        off = dict(rv, integration_user_absent_delete_permission_set=True)
        res = run_playbook(REMOVE, aliases=["org3"], check=True, extra_vars=off)
        assert res.rc == 0, res
        report = report_of(res, "org3")
        assert report["state"] == "absent"
        assert report["changed_steps"] == ["oauth_tokens", "connected_app", "assignment", "user"]
        assert [t["user"] for t in report["diffs"]["oauth_tokens"]["before"]["oauth_tokens"]] == [iu]
        assert report["diffs"]["connected_app"] == {"before": {"permission_sets": {ps_name: True}},
                                                    "after": {"permission_sets": {ps_name: False}}}
        assert report["diffs"]["user"] == {"before": {"is_active": True}, "after": {"is_active": False}}
        assert any("is kept: %s still hold(s) it" % second in w for w in report["warnings"])
        # Check mode: nothing went.
        assert user_row(emulator, "org3", iu)["IsActive"] is True and planhat_tokens(emulator, "org3") == [iu]
        assert app_access(emulator, "org3") == [ps_name] and len(own_assignments(emulator, "org3", iu)) == 1

        res = run_playbook(REMOVE, aliases=["org3"], extra_vars=off)
        assert res.rc == 0, res
        assert user_row(emulator, "org3", iu)["IsActive"] is False
        assert own_assignments(emulator, "org3", iu) == []
        assert app_access(emulator, "org3") == []
        assert planhat_tokens(emulator, "org3") == []
        # Kept for the second user, who keeps it; the user itself is never deleted.
        assert holders(emulator, "org3", ps_name) == [second]
        assert any("Tell the vendor of Planhat" in s for s in report_of(res, "org3")["manual_steps"])

        res = run_playbook(REMOVE, aliases=["org3"], extra_vars=off)
        assert res.rc == 0 and changed_count(res, "org3") == 0, changed_tasks(res, "org3")

        # Offboarding org1 by freezing: the user stays active but cannot log in; nobody else holds the set, so the
        # set goes as asked.
        iu1 = username_of(rv, "org1")
        freeze = dict(rv, integration_user_absent_action="freeze", integration_user_absent_delete_permission_set=True)
        res = run_playbook(REMOVE, aliases=["org1"], extra_vars=freeze)
        assert res.rc == 0, res
        row = user_row(emulator, "org1", iu1)
        assert row["IsActive"] is True
        assert q(emulator, "org1", "SELECT IsFrozen FROM UserLogin WHERE UserId = '%s'" % row["Id"])[0]["IsFrozen"] is True
        assert own_assignments(emulator, "org1", iu1) == [] and app_access(emulator, "org1") == []
        assert q(emulator, "org1", "SELECT Id FROM PermissionSet WHERE Name = '%s'" % ps_name) == []
        res = run_playbook(REMOVE, aliases=["org1"], extra_vars=freeze)
        assert res.rc == 0 and changed_count(res, "org1") == 0, changed_tasks(res, "org1")
    finally:
        for alias in aliases:
            deactivate(emulator, alias, username_of(rv, alias))
        if second_id:
            emulator.raw("org3", "PATCH", "sobjects/User/" + second_id, json={"IsActive": False})


def test_remove_integration_playbook_is_the_role_with_state_absent():
    text = (REPO / REMOVE).read_text()
    assert "sfops.salesforce.integration_user" in text and "integration_user_state: absent" in text

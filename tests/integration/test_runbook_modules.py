"""The integration-user runbook written with the modules only (no role): one login per org, then the user, its
permission set licence, a permission set with object/field permissions, the assignment and the Planhat policy.

org1 has Planhat installed (access rows are written; its permitted-users policy is a manual Setup step because the
vendor app is not a Metadata API component of the org); org2 has only used it (a manual Install step). The second run
changes nothing, and each org sees exactly one token request for the whole playbook. Everything is checked through
the fixture's independent raw REST session."""

import uuid

import yaml

from conftest import run_ansible_playbook

ALIASES = ("org1", "org2")


def playbook(username, ps_name):
    login_args = {k: "{{ sf_%s | default(omit) }}" % k for k in (
        "auth_method", "instance_url", "login_url", "client_id", "username", "private_key_file", "ca_path", "api_version")}
    tasks = [
        {"name": "Log in once", "sfops.salesforce.sf_login": login_args, "register": "sf", "no_log": True},
        {"name": "Runbook", "module_defaults": {"group/sfops.salesforce.salesforce": {
            "auth_method": "access_token", "instance_url": "{{ sf.instance_url }}", "access_token": "{{ sf.access_token }}",
            "api_version": "{{ sf.api_version }}", "ca_path": "{{ sf_ca_path }}"}},
         "block": [
             {"name": "API-only integration user", "register": "user", "sfops.salesforce.sf_user": {
                 "username": username, "email": "integrations@sfops-tests.example", "first_name": "Planhat",
                 "last_name": "Integration", "integration_user": True}},
             {"name": "Permission set", "sfops.salesforce.sf_permission_set": {
                 "name": ps_name, "label": "Planhat integration", "system_permissions": ["ApiEnabled"]}},
             {"name": "Object and field permissions", "sfops.salesforce.sf_object_permission": {
                 "permission_set": ps_name,
                 "objects": [{"name": "Account", "read": True, "fields": {"Industry": "read"}}]}},
             {"name": "Assignment", "sfops.salesforce.sf_permission_set_assignment": {
                 "user": username, "permission_sets": [ps_name], "purge_permission_sets": True}},
             {"name": "Planhat policy", "register": "app", "sfops.salesforce.sf_connected_app_policy": {
                 "name": "Planhat", "permitted_users": "admin_approved", "permission_sets": [ps_name],
                 "purge_permission_sets": True, "require_installed": False}},
         ]},
    ]
    return [{"name": "runbook", "hosts": "all", "gather_facts": False, "tasks": tasks}]


def by_task(result, alias):
    return dict((r["task"], r) for r in result.host_results(alias))


def test_runbook_with_modules_only(emulator, tmp_path):
    username = "planhat.%s@sfops-tests.example" % uuid.uuid4().hex[:8]
    usernames = dict((a, username.replace("@", ".%s@" % a)) for a in ALIASES)
    ps_name = "It_Planhat_%s" % uuid.uuid4().hex[:6]
    # One username per org (usernames are global across orgs); the playbook templates nothing per host, so run it
    # per org with that org's username.
    try:
        for alias in ALIASES:
            emulator.reset_stats()
            path = tmp_path / ("runbook-%s.yml" % alias)
            play = playbook(usernames[alias], ps_name)
            path.write_text(yaml.safe_dump(play, sort_keys=False))
            inventory = emulator.inventory([alias], path=tmp_path / ("inventory-%s.yml" % alias))
            res = run_ansible_playbook(path, inventory)
            assert res.rc == 0, res
            stats = emulator.stats(alias)
            assert stats["token_requests"] == 1, stats
            first_requests = stats["api_requests"]
            tasks = by_task(res, alias)
            assert tasks["API-only integration user"]["changed"] is True

            # --- the org's state, read independently ---
            user = emulator.raw_query(alias, "SELECT Id, IsActive, Profile.Name FROM User WHERE Username = '%s'" % usernames[alias])[0]
            assert user["IsActive"] is True and user["Profile"]["Name"] == "Minimum Access - API Only Integrations"
            psl = emulator.raw_query(alias, "SELECT PermissionSetLicense.DeveloperName FROM PermissionSetLicenseAssign "
                                            "WHERE AssigneeId = '%s'" % user["Id"])
            assert [r["PermissionSetLicense"]["DeveloperName"] for r in psl] == ["SalesforceAPIIntegrationPsl"]
            ps = emulator.raw_query(alias, "SELECT Id, PermissionsApiEnabled FROM PermissionSet WHERE Name = '%s'" % ps_name)[0]
            assert ps["PermissionsApiEnabled"] is True
            objs = emulator.raw_query(alias, "SELECT SobjectType, PermissionsRead FROM ObjectPermissions WHERE ParentId = '%s'" % ps["Id"])
            assert [(o["SobjectType"], o["PermissionsRead"]) for o in objs] == [("Account", True)]
            fls = emulator.raw_query(alias, "SELECT Field, PermissionsRead, PermissionsEdit FROM FieldPermissions WHERE ParentId = '%s'" % ps["Id"])
            assert [(f["Field"], f["PermissionsRead"], f["PermissionsEdit"]) for f in fls] == [("Account.Industry", True, False)]
            psa = emulator.raw_query(alias, "SELECT PermissionSet.Name FROM PermissionSetAssignment WHERE AssigneeId = '%s' "
                                            "AND PermissionSet.IsOwnedByProfile = false" % user["Id"])
            assert [r["PermissionSet"]["Name"] for r in psa] == [ps_name]

            app = tasks["Planhat policy"]
            apps = emulator.raw_query(alias, "SELECT Id FROM ConnectedApplication WHERE Name = 'Planhat'")
            if alias == "org1":
                # installed: the permission set has access; the policy itself is the admin's click in Setup
                sea = emulator.raw_query(alias, "SELECT Parent.Name FROM SetupEntityAccess WHERE SetupEntityId = '%s'" % apps[0]["Id"])
                assert ps_name in [r["Parent"]["Name"] for r in sea]
                assert app["connected_app"]["installed"] is True and app["connected_app"]["permission_sets"] == [ps_name]
                assert "Edit Policies" in app["manual_steps"][0]
            else:
                assert apps == [] and app["connected_app"]["installed"] is False
                assert "Connected Apps OAuth Usage" in app["manual_steps"][0]

            # --- second run: nothing changes, still one token request ---
            emulator.reset_stats()
            res = run_ansible_playbook(path, inventory)
            assert res.rc == 0, res
            changed = [r["task"] for r in res.host_results(alias) if r.get("changed")]
            assert changed == [], changed
            stats = emulator.stats(alias)
            assert stats["token_requests"] == 1, stats
            print("runbook %s: first run api_requests=%s; converged run api_requests=%s token_requests=%s"
                  % (alias, first_requests, stats["api_requests"], stats["token_requests"]))
    finally:
        for alias in ALIASES:
            rows = emulator.raw_query(alias, "SELECT Id, IsActive FROM User WHERE Username = '%s'" % usernames[alias])
            if rows:
                ids = [r["Id"] for r in emulator.raw_query(alias, "SELECT Id FROM PermissionSetLicenseAssign WHERE AssigneeId = '%s'"
                                                                  % rows[0]["Id"])]
                if ids:
                    emulator.raw_collections_delete(alias, ids)
                emulator.raw(alias, "PATCH", "sobjects/User/%s" % rows[0]["Id"], json={"IsActive": False})

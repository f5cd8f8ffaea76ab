"""sf_org_info against the emulator: facts match independent raw queries; requests are batched; check mode and
never changed."""

ALIAS = "org1"


def info(**args):
    return {"name": "info", "sfops.salesforce.sf_org_info": args}


def test_default_gather(emulator, run_tasks):
    emulator.reset_stats()
    res = run_tasks([info()], check=True)
    assert res.rc == 0, res
    # Counters first: the raw checks below make requests of their own.
    stats = emulator.stats(ALIAS)
    print("sf_org_info default: api_requests=%s token_requests=%s" % (stats["api_requests"], stats["token_requests"]))
    assert stats["api_requests"] <= 2 and stats["token_requests"] == 1
    result = res.results[0]
    assert result["changed"] is False
    org = result["org"]
    assert set(org) == {"organization", "versions", "limits", "licenses"}
    raw = emulator.raw_query(ALIAS, "SELECT Id, Name, OrganizationType, IsSandbox FROM Organization")[0]
    assert org["organization"]["id"] == raw["Id"] and org["organization"]["name"] == raw["Name"]
    assert org["organization"]["edition"] == raw["OrganizationType"] and org["organization"]["is_sandbox"] == raw["IsSandbox"]
    assert "67.0" in org["versions"]["available"] and org["versions"]["in_use"] == "67.0"
    limits = emulator.raw(ALIAS, "GET", "limits").json()["DailyApiRequests"]
    assert org["limits"]["daily_api_requests"]["max"] == limits["Max"]
    psl = dict((p["developer_name"], p) for p in org["licenses"]["permission_set_licenses"])
    assert psl["SalesforceAPIIntegrationPsl"]["total"] == 5
    assert psl["SalesforceAPIIntegrationPsl"]["available"] == 5 - psl["SalesforceAPIIntegrationPsl"]["used"]
    uls = dict((u["name"], u) for u in org["licenses"]["user_licenses"])
    assert uls["Salesforce Integration"]["total"] == 5


def test_access_gather(emulator, run_tasks):
    name = "It_OI_Access"
    setup = [
        {"name": "ps", "sfops.salesforce.sf_permission_set": {"name": name, "system_permissions": ["ApiEnabled"]}},
        {"name": "op", "sfops.salesforce.sf_object_permission": {"permission_set": name, "objects": [
            {"name": "Account", "read": True, "fields": {"Industry": "read"}}]}},
    ]
    assert run_tasks(setup).rc == 0
    username = emulator.conn(ALIAS)["username"]
    res = run_tasks([info(gather=["users", "permission_sets", "connected_apps"], usernames=[username], permission_set_names=[name])])
    assert res.rc == 0, res
    org = res.results[0]["org"]
    assert [u["username"] for u in org["users"]] == [username]
    assert org["users"][0]["is_active"] is True and org["users"][0]["profile"] == "System Administrator"
    (ps,) = org["permission_sets"]
    assert ps["name"] == name and "ApiEnabled" in ps["system_permissions"]
    assert ps["object_permissions"]["Account"]["read"] is True
    assert ps["field_permissions"] == {"Account.Industry": "read"}
    apps = dict((a["name"], a) for a in org["connected_apps"])
    # org1 is odd-numbered: the vendor app Planhat is installed there (a ConnectedApplication row).
    assert apps["Planhat"]["installed"] is True
    raw_apps = emulator.raw_query(ALIAS, "SELECT Id, Name FROM ConnectedApplication WHERE Name = 'Planhat'")
    assert apps["Planhat"]["id"] == raw_apps[0]["Id"]
    run_tasks([{"name": "rm", "sfops.salesforce.sf_permission_set": {"name": name, "state": "absent"}}])


def test_exposure_gathers_tokens_access_and_assignees(emulator, run_tasks):
    """What a drift check needs to see who else can reach the org through Planhat, each fact checked by raw query."""
    name = "It_OI_Exposure"
    standard = "standard.user@%s.sfemu.example" % ALIAS
    assert run_tasks([{"name": "ps", "sfops.salesforce.sf_permission_set": {"name": name}}]).rc == 0
    ps_id = emulator.raw_query(ALIAS, "SELECT Id FROM PermissionSet WHERE Name = '%s'" % name)[0]["Id"]
    user_id = emulator.raw_query(ALIAS, "SELECT Id FROM User WHERE Username = '%s'" % standard)[0]["Id"]
    psa = emulator.raw(ALIAS, "POST", "sobjects/PermissionSetAssignment",
                       json={"AssigneeId": user_id, "PermissionSetId": ps_id}).json()["id"]
    app_id = emulator.raw_query(ALIAS, "SELECT Id FROM ConnectedApplication WHERE Name = 'Planhat'")[0]["Id"]
    profile_ps = emulator.raw_query(ALIAS, "SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = true AND "
                                           "Profile.Name = 'Standard User'")[0]["Id"]
    sea = [emulator.raw(ALIAS, "POST", "sobjects/SetupEntityAccess", json={"ParentId": parent, "SetupEntityId": app_id}
                        ).json()["id"] for parent in (ps_id, profile_ps)]
    try:
        emulator.reset_stats()
        res = run_tasks([info(gather=["users", "connected_apps", "assignees"], usernames=[standard],
                              connected_app_names=["Planhat"], permission_set_names=[name, "No_Such_Set"])])
        assert res.rc == 0, res
        org = res.results[0]["org"]
        assert emulator.stats(ALIAS)["api_requests"] == 1  # five queries: one composite
        (planhat,) = org["connected_apps"]
        assert planhat["permission_sets"] == [name] and planhat["profiles"] == ["Standard User"]
        raw_tokens = emulator.raw_query(ALIAS, "SELECT Id, User.Username, UseCount FROM OauthToken WHERE AppName = 'Planhat'")
        assert sorted((t["id"], t["user"], t["use_count"]) for t in planhat["oauth_tokens"]) == sorted(
            (t["Id"], t["User"]["Username"], t["UseCount"]) for t in raw_tokens)
        assert all(t["created"] for t in planhat["oauth_tokens"]) and "DeleteToken" not in res.stdout
        assert org["assignees"] == {name: [{"username": standard, "user_id": user_id, "is_active": True}], "No_Such_Set": []}
        raw_user = emulator.raw_query(ALIAS, "SELECT LastLoginDate, CreatedDate FROM User WHERE Username = '%s'" % standard)[0]
        assert (org["users"][0]["last_login"], org["users"][0]["created"]) == (raw_user["LastLoginDate"], raw_user["CreatedDate"])
    finally:
        emulator.raw_collections_delete(ALIAS, sea + [psa])
        run_tasks([{"name": "rm", "sfops.salesforce.sf_permission_set": {"name": name, "state": "absent"}}])


def test_used_but_not_installed_app(emulator, run_tasks):
    res = run_tasks([info(gather=["connected_apps"], connected_app_names=["Planhat"])], alias="org2")
    assert res.rc == 0, res
    apps = res.results[0]["org"]["connected_apps"]
    assert [a["name"] for a in apps] == ["Planhat"]
    assert apps[0]["installed"] is False and apps[0]["id"] is None and apps[0]["oauth_users"]
    assert emulator.raw_query("org2", "SELECT Id FROM ConnectedApplication WHERE Name = 'Planhat'") == []


def picklist(describe, field):
    for f in describe["fields"]:
        if f["name"] == field:
            return [v["value"] for v in f.get("picklistValues") or [] if v.get("active", True)]
    raise AssertionError("no field %s" % field)


def test_validation_matches_raw_describes_without_extra_requests(emulator, run_tasks):
    emulator.reset_stats()
    res = run_tasks([info(validate_system_permissions=["API Enabled", "PermissionsViewSetup", "manage users"],
                          validate_objects=[{"name": "account", "read": True, "view_all": True,
                                             "fields": {"industry": "read", "Account.Website": "edit"}},
                                            {"name": "Contact", "edit": True, "fields": {"Email": "read"}}])], check=True)
    assert res.rc == 0, res
    # Counters first: the raw checks below make requests of their own. Same cost as without the validation: one
    # composite (queries + describes) and the versions GET.
    stats = emulator.stats(ALIAS)
    print("sf_org_info default + validation: api_requests=%s token_requests=%s by_resource=%s"
          % (stats["api_requests"], stats["token_requests"], stats.get("by_resource")))
    assert stats["api_requests"] <= 2 and stats["token_requests"] == 1
    assert stats["by_resource"].get("composite") == 1
    assert not any(k.startswith("sobjects/") for k in stats["by_resource"]), stats["by_resource"]
    result = res.results[0]
    assert result["changed"] is False
    validation = result["validation"]

    # System permissions: each resolved name is an updateable boolean Permissions* field of the raw describe.
    ps_fields = dict((f["name"], f) for f in emulator.raw(ALIAS, "GET", "sobjects/PermissionSet/describe").json()["fields"])
    assert validation["system_permissions"] == ["ApiEnabled", "ViewSetup", "ManageUsers"]
    for name in validation["system_permissions"]:
        field = ps_fields["Permissions" + name]
        assert field["type"] == "boolean" and field["updateable"] is True
    assert ps_fields["PermissionsApiEnabled"]["label"] == "API Enabled"
    assert ps_fields["PermissionsManageUsers"]["label"].lower() == "manage users"
    # Manage Users depends on View Roles in Salesforce: reported as implied, and a real field of this org.
    assert validation["implied_system_permissions"] == ["ViewRoles"] and "PermissionsViewRoles" in ps_fields

    # Objects: canonical names from the raw ObjectPermissions.SobjectType picklist; fields from the raw describes.
    targets = picklist(emulator.raw(ALIAS, "GET", "sobjects/ObjectPermissions/describe").json(), "SobjectType")
    assert sorted(validation["objects"]) == ["Account", "Contact"] and set(validation["objects"]) <= set(targets)
    assert validation["objects"]["Account"] == {"read": True, "create": False, "edit": False, "delete": False,
                                                "view_all": True, "modify_all": False}
    assert validation["objects"]["Contact"]["read"] is True and validation["implied_object_permissions"] == ["Contact.read"]
    assert validation["fields"] == {"Account.Industry": "read", "Account.Website": "edit", "Contact.Email": "read"}
    for full in validation["fields"]:
        obj, field = full.split(".")
        raw_fields = dict((f["name"], f) for f in emulator.raw(ALIAS, "GET", "sobjects/%s/describe" % obj).json()["fields"])
        assert raw_fields[field]["permissionable"] is True, full


def test_bad_names_fail_with_advice_and_no_write(emulator, run_tasks):
    emulator.reset_stats()
    res = run_tasks([info(gather=["limits", "licenses", "users", "connected_apps"],
                          validate_system_permissions=["API Enabled", "View All Dato"],
                          validate_objects=[{"name": "Acount", "read": True},
                                            {"name": "Account", "read": True, "fields": {"Industy": "read"}}])])
    assert res.rc != 0
    stats = emulator.stats(ALIAS)
    # The role's preflight gather: two composites (six queries, at most five per composite), nothing else.
    assert stats["api_requests"] <= 2 and stats["by_resource"] == {"composite": stats["api_requests"]}, stats
    assert set(stats["by_method"]) == {"POST"}                                  # composite reads only
    (result,) = [r for r in res.results if r.get("failed")]
    msg = result["msg"]
    assert "nothing was changed" in msg and "What to do:" in msg
    assert "'View All Dato' is not a PermissionSet permission" in msg and "Did you mean: View All Data" in msg
    assert "object 'Acount' is unknown" in msg and "Did you mean: Account" in msg
    assert "field Account.Industy does not exist. Did you mean: Industry" in msg
    # The org agrees, independently: no such permission, object or field; the suggestions exist.
    ps_fields = [f["name"] for f in emulator.raw(ALIAS, "GET", "sobjects/PermissionSet/describe").json()["fields"]]
    assert "PermissionsViewAllData" in ps_fields and not any("dato" in f.lower() for f in ps_fields)
    targets = picklist(emulator.raw(ALIAS, "GET", "sobjects/ObjectPermissions/describe").json(), "SobjectType")
    assert "Account" in targets and "Acount" not in targets
    account = [f["name"] for f in emulator.raw(ALIAS, "GET", "sobjects/Account/describe").json()["fields"]]
    assert "Industry" in account and "Industy" not in account

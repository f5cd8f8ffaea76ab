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


def test_used_but_not_installed_app(emulator, run_tasks):
    res = run_tasks([info(gather=["connected_apps"], connected_app_names=["Planhat"])], alias="org2")
    assert res.rc == 0, res
    apps = res.results[0]["org"]["connected_apps"]
    assert [a["name"] for a in apps] == ["Planhat"]
    assert apps[0]["installed"] is False and apps[0]["id"] is None and apps[0]["oauth_users"]
    assert emulator.raw_query("org2", "SELECT Id FROM ConnectedApplication WHERE Name = 'Planhat'") == []

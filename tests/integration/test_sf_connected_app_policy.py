"""sf_connected_app_policy against the emulator.

- "sfops Automation" is created in the org, so its policy is a Metadata API component: check mode, write, verify with
  an independent raw SOAP readMetadata, converge in <= 2 requests, permission set access through SetupEntityAccess.
- "Planhat" is a vendor app. In org1 it is installed but, like a real app created in another org, not readable
  through the Metadata API: access rows are managed, the permitted-users policy is a manual step. In org2 it is used
  but not installed: a manual Install step (not a change: changed says what the module writes), no write.

External Client Apps: test_sf_connected_app_policy_eca.py.
"""

import re
import uuid

SOAP = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        '<soapenv:Header><SessionHeader xmlns="http://soap.sforce.com/2006/04/metadata"><sessionId>%s</sessionId></SessionHeader>'
        '</soapenv:Header><soapenv:Body><readMetadata xmlns="http://soap.sforce.com/2006/04/metadata"><type>ConnectedApp</type>'
        '<fullNames>%s</fullNames></readMetadata></soapenv:Body></soapenv:Envelope>')


def writes(stats):
    """Requests that may write: every POST, PATCH and DELETE but the read-only ones (composite reads, SOAP reads)."""
    by_method, by_resource = stats.get("by_method", {}), stats.get("by_resource", {})
    reads = sum(by_resource.get(r, 0) for r in ("composite", "metadata/readMetadata", "metadata/listMetadata"))
    return by_method.get("PATCH", 0) + by_method.get("DELETE", 0) + by_method.get("POST", 0) - reads


def task(**args):
    return {"name": "app policy", "sfops.salesforce.sf_connected_app_policy": args}


def raw_metadata(emulator, alias, full_name):
    """The policy as the Metadata API returns it, read with the fixture's own session (not the module's code)."""
    instance, token = emulator._token(alias)
    resp = emulator._session.post(instance + "/services/Soap/m/67.0", data=SOAP % (token, full_name), timeout=30,
                                  verify=emulator.verify, headers={"Content-Type": "text/xml", "SOAPAction": '""'})
    assert resp.status_code == 200, resp.text

    def text(tag):
        match = re.search(r"<%s>([^<]*)</%s>" % (tag, tag), resp.text)
        return match.group(1) if match else None
    return {"isAdminApproved": text("isAdminApproved"), "ipRelaxation": text("ipRelaxation"),
            "refreshTokenPolicy": text("refreshTokenPolicy")}


def app_access(emulator, alias, app_name):
    app = emulator.raw_query(alias, "SELECT Id FROM ConnectedApplication WHERE Name = '%s'" % app_name)
    if not app:
        return None
    rows = emulator.raw_query(alias, "SELECT Id, Parent.Name, Parent.IsOwnedByProfile FROM SetupEntityAccess "
                                     "WHERE SetupEntityId = '%s'" % app[0]["Id"])
    return rows


def non_profile_sets(rows):
    return sorted(r["Parent"]["Name"] for r in rows if not r["Parent"]["IsOwnedByProfile"])


def make_permission_set(emulator, alias):
    name = "It_App_%s" % uuid.uuid4().hex[:8]
    emulator.raw(alias, "POST", "sobjects/PermissionSet", json={"Name": name, "Label": name})
    return name


def test_local_app_policy_and_access(emulator, run_tasks):
    alias, app = "org1", "sfops Automation"
    ps = make_permission_set(emulator, alias)
    original = raw_metadata(emulator, alias, "sfops_Automation")
    profiles_before = [r for r in app_access(emulator, alias, app) if r["Parent"]["IsOwnedByProfile"]]
    spec = dict(name=app, permitted_users="admin_approved", ip_relaxation="bypass", refresh_token_policy="specific_lifetime:12:hours",
                permission_sets=[ps])
    try:
        emulator.reset_stats()
        res = run_tasks([task(**spec)], alias=alias, check=True)
        assert res.rc == 0, res
        result = res.results[0]
        assert result["changed"] is True and result["manual_steps"] == []
        assert result["diff"]["after"] == {"ip_relaxation": "bypass", "permission_sets": {ps: True},
                                           "refresh_token_policy": "specific_lifetime:12:HOURS"}
        assert writes(emulator.stats(alias)) == 0
        assert raw_metadata(emulator, alias, "sfops_Automation") == original

        res = run_tasks([task(**spec)], alias=alias)
        assert res.rc == 0, res
        assert res.results[0]["changed"] is True and res.results[0]["connected_app"]["kind"] == "connected_app"
        assert raw_metadata(emulator, alias, "sfops_Automation") == {
            "isAdminApproved": "true", "ipRelaxation": "BYPASS", "refreshTokenPolicy": "specific_lifetime:12:HOURS"}
        rows = app_access(emulator, alias, app)
        assert ps in non_profile_sets(rows)
        assert [r for r in rows if r["Parent"]["IsOwnedByProfile"]] == profiles_before
        assert res.results[0]["connected_app"]["permission_sets"] == non_profile_sets(rows)

        emulator.reset_stats()
        res = run_tasks([task(**spec)], alias=alias)
        assert res.rc == 0 and res.results[0]["changed"] is False
        stats = emulator.stats(alias)
        print("sf_connected_app_policy converged: api_requests=%s token_requests=%s" % (stats["api_requests"], stats["token_requests"]))
        assert stats["api_requests"] <= 2 and stats["token_requests"] <= 1 and writes(stats) == 0
        assert "metadata/listMetadata" not in stats["by_resource"]  # a connected app costs no External Client App lookup

        # purge removes our permission set's access and never a profile's
        res = run_tasks([task(name=app, permission_sets=[], purge_permission_sets=True)], alias=alias)
        assert res.rc == 0 and ps in res.results[0]["removed"]["permission_sets"]
        rows = app_access(emulator, alias, app)
        assert ps not in non_profile_sets(rows) and [r for r in rows if r["Parent"]["IsOwnedByProfile"]] == profiles_before
    finally:
        run_tasks([task(name=app, ip_relaxation=original["ipRelaxation"].lower().replace("bypass_2factor", "bypass_2fa"),
                        refresh_token_policy=original["refreshTokenPolicy"])], alias=alias)


def test_installed_vendor_app_access_is_managed_and_policy_is_a_manual_step(emulator, run_tasks):
    alias, app = "org1", "Planhat"
    ps = make_permission_set(emulator, alias)
    spec = dict(name=app, permitted_users="admin_approved", permission_sets=[ps])

    # require_installed (default true): the policy cannot be set through the API, so nothing is written at all.
    emulator.reset_stats()
    res = run_tasks([task(**spec)], alias=alias)
    assert res.rc != 0
    assert "Manage Connected Apps" in res.results[0]["msg"] and "Edit Policies" in res.results[0]["msg"]
    assert writes(emulator.stats(alias)) == 0 and ps not in non_profile_sets(app_access(emulator, alias, app))

    # check mode: the access row is drift, the policy a manual step; the diff holds only what a run would write
    res = run_tasks([task(require_installed=False, **spec)], alias=alias, check=True)
    assert res.rc == 0 and res.results[0]["changed"] is True
    assert "Admin approved users are pre-authorized" in res.results[0]["manual_steps"][0]
    assert res.results[0]["diff"] == {"before": {"permission_sets": {ps: False}}, "after": {"permission_sets": {ps: True}}}

    res = run_tasks([task(require_installed=False, **spec)], alias=alias)
    assert res.rc == 0, res
    assert res.results[0]["changed"] is True and ps in non_profile_sets(app_access(emulator, alias, app))
    assert res.results[0]["connected_app"]["permitted_users"] == "all_self_authorize"
    row = emulator.raw_query(alias, "SELECT OptionsAllowAdminApprovedUsersOnly FROM ConnectedApplication WHERE Name = 'Planhat'")[0]
    assert row["OptionsAllowAdminApprovedUsersOnly"] is False

    res = run_tasks([task(require_installed=False, **spec)], alias=alias)
    assert res.rc == 0 and res.results[0]["changed"] is False and res.results[0]["manual_steps"]

    emulator.raw_collections_delete(alias, [r["Id"] for r in app_access(emulator, alias, app) if r["Parent"]["Name"] == ps])


def test_used_but_not_installed_app(emulator, run_tasks):
    alias, app = "org2", "Planhat"
    ps = make_permission_set(emulator, alias)
    spec = dict(name=app, permitted_users="admin_approved", permission_sets=[ps])
    assert app_access(emulator, alias, app) is None  # seeded: OAuth usage only

    emulator.reset_stats()
    res = run_tasks([task(**spec)], alias=alias, check=True)
    # Installing is for a person: a manual step (and a warning), not a change the module would make.
    assert res.rc == 0 and res.results[0]["changed"] is False
    assert "Connected Apps OAuth Usage" in res.results[0]["manual_steps"][0] and "Install" in res.results[0]["manual_steps"][0]
    assert res.results[0]["connected_app"]["installed"] is False and res.results[0]["connected_app"]["kind"] == "none"
    # the composite read, and one listMetadata that finds no External Client App of that name
    assert emulator.stats(alias)["by_resource"] == {"composite": 1, "metadata/listMetadata": 1}

    res = run_tasks([task(**spec)], alias=alias)
    assert res.rc != 0 and "Connected Apps OAuth Usage" in res.results[0]["msg"]

    res = run_tasks([task(require_installed=False, **spec)], alias=alias)
    assert res.rc == 0 and res.results[0]["changed"] is False and res.results[0]["manual_steps"]
    assert writes(emulator.stats(alias)) == 0


def test_unknown_app_fails_with_close_match(emulator, run_tasks):
    res = run_tasks([task(name="Planhatt", permitted_users="admin_approved")], alias="org1")
    assert res.rc != 0 and "Did you mean: Planhat?" in res.results[0]["msg"]

"""External Client Apps: installed ECAs, the Metadata API calls of their policy types, their validation and the
permission they need, and the token endpoint honouring the policies (sfemu/docs/external-client-apps.md).

Every change is checked through another path than the one that made it: a readMetadata after an updateMetadata, a
SOQL query of ExtlClntAppOauthPlcyCnfg, or the token endpoint's answer."""

import xml.etree.ElementTree as ET

import pytest

from conftest import API

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
MD = "http://soap.sforce.com/2006/04/metadata"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
OAUTH = "ExtlClntAppOauthConfigurablePolicies"
PLUGINS = "ExtlClntAppConfigurablePolicies"
VENDOR = "Planhat"
ORG = "org2"  # Planhat is only *used* there (not installed as a connected app): it can ship as an ECA


def q(name, ns=MD):
    return "{%s}%s" % (ns, name)


def soap(client, body, alias=ORG, token=None, version=API):
    token = token or client.token(alias)
    env = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="%s" xmlns:xsi="%s">'
           '<soapenv:Header><SessionHeader xmlns="%s"><sessionId>%s</sessionId></SessionHeader></soapenv:Header>'
           '<soapenv:Body>%s</soapenv:Body></soapenv:Envelope>' % (SOAP, XSI, MD, token, body))
    return client.request("POST", "/services/Soap/m/%s" % version, data=env.encode(),
                          headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'})


def fault(r):
    assert r.status_code == 500, r.text
    root = ET.fromstring(r.content)
    return root.findtext(".//faultcode"), root.findtext(".//faultstring")


def read(client, mtype, name, alias=ORG, **kw):
    r = soap(client, '<readMetadata xmlns="%s"><type>%s</type><fullNames>%s</fullNames></readMetadata>'
             % (MD, mtype, name), alias=alias, **kw)
    assert r.status_code == 200, r.text
    recs = list(ET.fromstring(r.content).iter(q("records")))
    assert len(recs) == 1 and recs[0].get(q("type", XSI)) == mtype
    return {c.tag.split("}")[1]: c.text for c in recs[0]}


def save(client, mtype, full_name, elements, op="updateMetadata", alias=ORG):
    inner = "".join("<%s>%s</%s>" % (k, v, k) for k, v in elements.items())
    body = ('<%s xmlns="%s"><metadata xsi:type="%s"><fullName>%s</fullName>%s</metadata></%s>'
            % (op, MD, mtype, full_name, inner, op))
    r = soap(client, body, alias=alias)
    if r.status_code != 200:
        return r
    res = ET.fromstring(r.content).find(".//" + q("result"))
    return {"success": res.findtext(q("success")), "fullName": res.findtext(q("fullName")),
            "created": res.findtext(q("created")),
            "errors": [(e.findtext(q("statusCode")), e.findtext(q("message"))) for e in res.findall(q("errors"))]}


def list_md(client, *types, alias=ORG, **kw):
    queries = "".join("<queries><type>%s</type></queries>" % t for t in types)
    r = soap(client, '<listMetadata xmlns="%s">%s<asOfVersion>%s</asOfVersion></listMetadata>' % (MD, queries, API),
             alias=alias, **kw)
    assert r.status_code == 200, r.text
    return [{c.tag.split("}")[1]: c.text for c in res} for res in ET.fromstring(r.content).iter(q("result"))]


def install(client, name=VENDOR, alias=ORG, **extra):
    return client.control("POST", "orgs/%s/install_app" % alias, json={"name": name, "kind": "external_client_app",
                                                                         **extra})


def policy_row(client, alias=ORG):
    rows = client.query("SELECT ExternalClientApplication.DeveloperName, PermittedUsersPolicyType FROM "
                        "ExtlClntAppOauthPlcyCnfg", alias=alias)["records"]
    return {r["ExternalClientApplication"]["DeveloperName"]: r["PermittedUsersPolicyType"] for r in rows}


def user_id(client, local, alias=ORG):
    return client.query("SELECT Id FROM User WHERE Username = '%s@%s.sfemu.example'" % (local, alias),
                        alias=alias)["records"][0]["Id"]


def permission_set(client, name, alias=ORG, assign_to=None, **perms):
    r = client.rest("POST", "sobjects/PermissionSet", alias, json={"Name": name, "Label": name, **perms})
    assert r.status_code == 201, r.text
    ps = r.json()["id"]
    for uid in assign_to or ():
        a = client.rest("POST", "sobjects/PermissionSetAssignment", alias, json={"AssigneeId": uid,
                                                                                  "PermissionSetId": ps})
        assert a.status_code == 201, a.text
    return ps


def authorize(client, local, alias=ORG, app=VENDOR):
    """The user clicks Allow for the vendor app and the vendor redeems the code (control API)."""
    return client.request("POST", "/__sfemu/orgs/%s/authorize" % alias,
                          json={"username": "%s@%s.sfemu.example" % (local, alias), "app": app})


# installed ECAs ---------------------------------------------------------------------------------------------------
def test_install_external_client_app_is_seen_by_list_read_and_soql(clean):
    res = install(clean)
    assert res["kind"] == "external_client_app" and res["developer_name"] == VENDOR
    assert install(clean)["result"] == res["result"]  # idempotent
    apps = list_md(clean, "ExternalClientApplication")
    assert [(a["fullName"], a["fileName"], a["manageableState"]) for a in apps] == [
        (VENDOR, "externalClientApps/Planhat.eca", "installed")]
    rows = clean.query("SELECT Id, MasterLabel, DeveloperName, DistributionState FROM ExternalClientApplication",
                       alias=ORG)["records"]
    assert [(r["Id"], r["MasterLabel"], r["DistributionState"]) for r in rows] == [(res["result"], VENDOR, "Packaged")]
    assert apps[0]["id"] == res["result"]
    # An ECA is not a connected app: no ConnectedApplication row, no ConnectedApp component
    assert clean.query("SELECT Id FROM ConnectedApplication WHERE Name = 'Planhat'", alias=ORG)["totalSize"] == 0
    assert read(clean, "ConnectedApp", VENDOR) == {}
    # Salesforce generates the OAuth policies with the app; a new ECA lets every user self-authorize
    policies = list_md(clean, OAUTH, PLUGINS)
    assert {(p["type"], p["fullName"], p["fileName"]) for p in policies} == {
        (OAUTH, "Planhat_oauthPlcy", "extlClntAppOauthPolicies/Planhat_oauthPlcy.ecaOauthPlcy"),
        (PLUGINS, "Planhat_plcy", "extlClntAppPolicies/Planhat_plcy.ecaPlcy")}
    assert policy_row(clean) == {VENDOR: "AllSelfAuthorized"}
    header = read(clean, "ExternalClientApplication", VENDOR)
    assert header["distributionState"] == "Packaged" and header["label"] == VENDOR


def test_connected_app_install_stays_the_default_and_kinds_do_not_mix(clean):
    # org1 has Planhat installed as a connected app: it cannot also be an ECA there
    r = clean.request("POST", "/__sfemu/orgs/org1/install_app", json={"name": VENDOR, "kind": "external_client_app"})
    assert r.status_code == 400 and "connected app" in r.text
    r = clean.request("POST", "/__sfemu/orgs/%s/install_app" % ORG, json={"name": VENDOR, "kind": "plugin"})
    assert r.status_code == 400
    # without a kind it is the connected-app Install click, as before
    clean.control("POST", "orgs/%s/install_app" % ORG, json={"name": VENDOR})
    assert clean.query("SELECT Id FROM ConnectedApplication WHERE Name = 'Planhat'", alias=ORG)["totalSize"] == 1
    assert list_md(clean, "ExternalClientApplication") == []


def test_local_eca_is_unmanaged(clean):
    install(clean, "Local Sync", distribution_state="Local")
    apps = {a["fullName"]: a["manageableState"] for a in list_md(clean, "ExternalClientApplication")}
    assert apps == {"Local_Sync": "unmanaged"}


# read / update / upsert -------------------------------------------------------------------------------------------
def test_read_defaults_in_wsdl_order(clean):
    install(clean)
    rec = read(clean, OAUTH, "Planhat_oauthPlcy")
    assert rec["fullName"] == "Planhat_oauthPlcy" and rec["externalClientApplication"] == VENDOR
    assert rec["permittedUsersPolicyType"] == "AllSelfAuthorized"
    assert rec["ipRelaxationPolicyType"] == "Enforce" and rec["refreshTokenPolicyType"] == "Infinite"
    assert "commaSeparatedPermissionSet" not in rec
    tags = list(rec)
    assert tags[0] == "fullName" and tags[1:] == sorted(tags[1:])
    plugins = read(clean, PLUGINS, "planhat_PLCY")  # names match case-insensitively
    assert plugins["isEnabled"] == "true" and plugins["isOauthPluginEnabled"] == "true"
    assert read(clean, OAUTH, "Nope_oauthPlcy") == {}  # a missing name is an empty record, not an error


def test_update_sets_admin_approved_and_permission_sets(clean):
    install(clean)
    permission_set(clean, "Planhat_Integration")
    permission_set(clean, "Planhat_Readers")
    res = save(clean, OAUTH, "Planhat_oauthPlcy", {
        "externalClientApplication": VENDOR, "permittedUsersPolicyType": "AdminApprovedPreAuthorized",
        "commaSeparatedPermissionSet": "Planhat_Integration,Planhat_Readers", "ipRelaxationPolicyType": "Bypass",
        "refreshTokenPolicyType": "SpecificLifetime", "refreshTokenValidityPeriod": "30",
        "refreshTokenValidityUnit": "Days"})
    assert res == {"success": "true", "fullName": "Planhat_oauthPlcy", "created": None, "errors": []}
    rec = read(clean, OAUTH, "Planhat_oauthPlcy")
    assert rec["permittedUsersPolicyType"] == "AdminApprovedPreAuthorized"
    assert rec["commaSeparatedPermissionSet"] == "Planhat_Integration,Planhat_Readers"
    assert (rec["ipRelaxationPolicyType"], rec["refreshTokenValidityPeriod"]) == ("Bypass", "30")
    assert policy_row(clean) == {VENDOR: "AdminApprovedPreAuthorized"}


def test_update_replaces_the_whole_component(clean):
    install(clean)
    save(clean, OAUTH, "Planhat_oauthPlcy", {"externalClientApplication": VENDOR, "ipRelaxationPolicyType": "Bypass",
                                             "permittedUsersPolicyType": "AdminApprovedPreAuthorized"})
    # the next write leaves ipRelaxationPolicyType out: it goes back to its default
    save(clean, OAUTH, "Planhat_oauthPlcy", {"externalClientApplication": VENDOR,
                                             "permittedUsersPolicyType": "AdminApprovedPreAuthorized"})
    rec = read(clean, OAUTH, "Planhat_oauthPlcy")
    assert rec["ipRelaxationPolicyType"] == "Enforce"
    assert rec["permittedUsersPolicyType"] == "AdminApprovedPreAuthorized"


def test_unknown_permission_set_or_an_id_is_refused_and_nothing_changes(clean):
    install(clean)
    ps_id = permission_set(clean, "Planhat_Integration")
    for value in ("No_Such_Set", ps_id):
        res = save(clean, OAUTH, "Planhat_oauthPlcy", {
            "externalClientApplication": VENDOR, "permittedUsersPolicyType": "AdminApprovedPreAuthorized",
            "commaSeparatedPermissionSet": value})
        assert res["success"] == "false"
        assert res["errors"] == [("INVALID_FIELD", "We couldn't find permission sets called %s" % value)]
    assert read(clean, OAUTH, "Planhat_oauthPlcy")["permittedUsersPolicyType"] == "AllSelfAuthorized"
    res = save(clean, OAUTH, "Planhat_oauthPlcy", {"externalClientApplication": VENDOR,
                                                   "commaSeparatedProfile": "No Such Profile"})
    assert res["errors"] == [("INVALID_FIELD", "We couldn't find profiles called No Such Profile")]


def test_bad_enum_value_faults_the_whole_call(clean):
    install(clean)
    r = save(clean, OAUTH, "Planhat_oauthPlcy", {"externalClientApplication": VENDOR,
                                                 "permittedUsersPolicyType": "Everybody"})
    assert fault(r) == ("soapenv:Client", "'Everybody' is not a valid value for the enum 'PermittedUsersPolicyType'")
    r = save(clean, OAUTH, "Planhat_oauthPlcy", {"externalClientApplication": VENDOR,
                                                 "refreshTokenPolicyType": "forever"})
    assert fault(r)[1] == "'forever' is not a valid value for the enum 'RefreshTokenPolicyType'"
    r = save(clean, OAUTH, "Planhat_oauthPlcy", {"externalClientApplication": VENDOR, "colour": "blue"})
    assert fault(r) == ("soapenv:Client", "Element {%s}colour invalid at this location" % MD)
    # a string field with documented values is a per-component error instead
    res = save(clean, OAUTH, "Planhat_oauthPlcy", {"externalClientApplication": VENDOR,
                                                   "ipRelaxationPolicyType": "BYPASS"})
    assert res["errors"][0][0] == "FIELD_INTEGRITY_EXCEPTION"
    assert read(clean, OAUTH, "Planhat_oauthPlcy")["ipRelaxationPolicyType"] == "Enforce"


def test_other_validation_errors(clean):
    install(clean)
    res = save(clean, OAUTH, "Planhat_oauthPlcy", {"label": "x"})
    assert res["errors"][0][0] == "REQUIRED_FIELD_MISSING"
    res = save(clean, OAUTH, "Planhat_oauthPlcy", {"externalClientApplication": VENDOR,
                                                   "refreshTokenPolicyType": "SpecificInactivity"})
    assert res["errors"][0][0] == "FIELD_INTEGRITY_EXCEPTION"
    res = save(clean, OAUTH, "Other_oauthPlcy", {"externalClientApplication": VENDOR})
    assert res["errors"][0][0] == "INVALID_CROSS_REFERENCE_KEY"
    res = save(clean, PLUGINS, "Planhat_plcy", {"externalClientApplication": VENDOR})
    assert res["errors"] == [("REQUIRED_FIELD_MISSING", "Required field is missing: isEnabled")]


def test_upsert_updates_the_generated_component_and_refuses_a_second_one(clean):
    install(clean)
    res = save(clean, OAUTH, "Planhat_oauthPlcy", {"externalClientApplication": VENDOR,
                                                   "permittedUsersPolicyType": "AdminApprovedPreAuthorized"},
               op="upsertMetadata")
    assert (res["success"], res["created"]) == ("true", "false")
    res = save(clean, OAUTH, "Planhat_policy2", {"externalClientApplication": VENDOR}, op="upsertMetadata")
    assert res["errors"] == [("DUPLICATE_VALUE", "duplicate value found: ExternalClientApplicationId duplicates "
                                                 "value on Planhat_oauthPlcy")]
    assert [p["fullName"] for p in list_md(clean, OAUTH)] == ["Planhat_oauthPlcy"]


def test_types_are_gated_by_api_version(clean):
    install(clean)
    r = soap(clean, '<readMetadata xmlns="%s"><type>%s</type><fullNames>Planhat_oauthPlcy</fullNames></readMetadata>'
             % (MD, OAUTH), version="58.0")
    assert fault(r) == ("sf:INVALID_TYPE", "INVALID_TYPE: Cannot use: %s in this version" % OAUTH)
    r = soap(clean, '<readMetadata xmlns="%s"><type>%s</type><fullNames>Planhat_plcy</fullNames></readMetadata>'
             % (MD, PLUGINS), version="59.0")
    assert fault(r)[0] == "sf:INVALID_TYPE"
    assert read(clean, OAUTH, "Planhat_oauthPlcy", version="59.0")["externalClientApplication"] == VENDOR


def test_policy_calls_need_the_eca_admin_permission(clean):
    """A Metadata API user (Modify Metadata) without "View all External Client Apps, view their settings, and edit
    their policies" can neither read nor write the policies."""
    install(clean)
    std = user_id(clean, "standard.user")
    ps = permission_set(clean, "Metadata_Deployer", assign_to=[std], PermissionsModifyMetadata=True)
    app = clean.query("SELECT Id FROM ConnectedApplication WHERE Name = 'sfops Automation'", alias=ORG)["records"][0]
    assert clean.rest("POST", "sobjects/SetupEntityAccess", ORG, json={"ParentId": ps, "SetupEntityId": app["Id"]}
                      ).status_code == 201
    password = "Deployer-Passw0rd!"
    assert clean.rest("POST", "sobjects/User/%s/password" % std, ORG, json={"NewPassword": password}
                      ).status_code == 204
    c = clean.conn(ORG)
    login = clean.token_request(grant_type="password", client_id=c["client_id"], client_secret=c["client_secret"],
                                username="standard.user@%s.sfemu.example" % ORG, password=password)
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    r = soap(clean, '<readMetadata xmlns="%s"><type>%s</type><fullNames>Planhat_oauthPlcy</fullNames></readMetadata>'
             % (MD, OAUTH), token=token)
    code, text = fault(r)
    assert code == "sf:INSUFFICIENT_ACCESS" and "edit their policies" in text
    # ConnectedApp reads still work for this user: only the ECA types need the permission
    r = soap(clean, '<readMetadata xmlns="%s"><type>ConnectedApp</type><fullNames>x</fullNames></readMetadata>' % MD,
             token=token)
    assert r.status_code == 200
    assert clean.rest("PATCH", "sobjects/PermissionSet/" + ps, ORG, json={"PermissionsExternalClientAppAdmin": True}
                      ).status_code == 204
    assert read(clean, OAUTH, "Planhat_oauthPlcy", token=token)["externalClientApplication"] == VENDOR


def test_the_setup_save_changes_only_what_it_names(clean):
    install(clean)
    permission_set(clean, "Planhat_Integration")
    save(clean, OAUTH, "Planhat_oauthPlcy", {"externalClientApplication": VENDOR, "ipRelaxationPolicyType": "Bypass",
                                             "permittedUsersPolicyType": "AdminApprovedPreAuthorized",
                                             "commaSeparatedPermissionSet": "Planhat_Integration"})
    # someone sets "All users may self-authorize" by hand
    clean.control("POST", "orgs/%s/app_policy" % ORG, json={"name": VENDOR, "admin_approved": False})
    rec = read(clean, OAUTH, "Planhat_oauthPlcy")
    assert rec["permittedUsersPolicyType"] == "AllSelfAuthorized"
    assert (rec["ipRelaxationPolicyType"], rec["commaSeparatedPermissionSet"]) == ("Bypass", "Planhat_Integration")
    assert policy_row(clean) == {VENDOR: "AllSelfAuthorized"}
    # ... or adds a permission set; the Setup save validates like the API
    permission_set(clean, "Sales_Ops")
    clean.control("POST", "orgs/%s/app_policy" % ORG, json={
        "name": VENDOR, "oauth_policy": {"commaSeparatedPermissionSet": "Planhat_Integration,Sales_Ops"}})
    assert read(clean, OAUTH, "Planhat_oauthPlcy")["commaSeparatedPermissionSet"] == "Planhat_Integration,Sales_Ops"
    r = clean.request("POST", "/__sfemu/orgs/%s/app_policy" % ORG, json={
        "name": VENDOR, "oauth_policy": {"commaSeparatedPermissionSet": "Ghost"}})
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "INVALID_FIELD"


# token endpoint -----------------------------------------------------------------------------------------------------
def test_self_authorized_eca_lets_any_user_authorize(clean):
    install(clean)
    r = authorize(clean, "standard.user")
    assert r.status_code == 200, r.text
    assert clean.rest("GET", "limits/", ORG, token=r.json()["access_token"]).status_code == 200


def test_admin_approved_eca_refuses_users_without_a_listed_permission_set(clean):
    install(clean)
    std = user_id(clean, "standard.user")
    earlier = authorize(clean, "standard.user").json()  # authorised while the app was self-authorize
    permission_set(clean, "Planhat_Integration")
    assert save(clean, OAUTH, "Planhat_oauthPlcy", {
        "externalClientApplication": VENDOR, "permittedUsersPolicyType": "AdminApprovedPreAuthorized",
        "commaSeparatedPermissionSet": "Planhat_Integration"})["success"] == "true"
    r = authorize(clean, "standard.user")
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_app_access", "error_description": "user is not admin approved to access "
                                                                            "this app"}
    # the earlier refresh token is refused too: the policy applies on every refresh
    secrets = install(clean)
    r = clean.token_request(grant_type="refresh_token", client_id=secrets["client_id"],
                            client_secret=secrets["client_secret"], refresh_token=earlier["refresh_token"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_app_access"
    # holding a permission set of the list lets the user in; so does a listed profile
    ps = clean.query("SELECT Id FROM PermissionSet WHERE Name = 'Planhat_Integration'", alias=ORG)["records"][0]["Id"]
    clean.rest("POST", "sobjects/PermissionSetAssignment", ORG, json={"AssigneeId": std, "PermissionSetId": ps})
    assert authorize(clean, "standard.user").status_code == 200
    assert authorize(clean, "readonly.user").status_code == 400
    clean.control("POST", "orgs/%s/app_policy" % ORG, json={"name": VENDOR, "oauth_policy": {
        "commaSeparatedProfile": "Read Only"}})
    assert authorize(clean, "readonly.user").status_code == 200


def test_password_flow_is_not_supported_and_oauth_plugin_can_be_switched_off(clean):
    app = install(clean)
    c = clean.conn(ORG)
    r = clean.token_request(grant_type="password", client_id=app["client_id"], client_secret=app["client_secret"],
                            username=c["username"], password=c["password"])
    assert r.json() == {"error": "invalid_grant", "error_description": "authentication failure"}
    assert save(clean, PLUGINS, "Planhat_plcy", {"externalClientApplication": VENDOR, "isEnabled": "true",
                                                 "isOauthPluginEnabled": "false"})["success"] == "true"
    assert read(clean, PLUGINS, "Planhat_plcy")["isOauthPluginEnabled"] == "false"
    r = authorize(clean, "standard.user")
    assert r.status_code == 400 and r.json()["error"] == "invalid_client_id"


def test_client_credentials_flow_runs_as_the_policy_user(clean):
    app = install(clean)
    form = {"grant_type": "client_credentials", "client_id": app["client_id"], "client_secret": app["client_secret"]}
    r = clean.token_request(**form)
    assert r.json()["error"] == "invalid_grant"  # not enabled on a new ECA
    user = "standard.user@%s.sfemu.example" % ORG
    assert save(clean, OAUTH, "Planhat_oauthPlcy", {
        "externalClientApplication": VENDOR, "isClientCredentialsFlowEnabled": "true",
        "clientCredentialsFlowUser": user})["success"] == "true"
    r = clean.token_request(**form)
    assert r.status_code == 200, r.text
    me = clean.request("GET", "/services/oauth2/userinfo", token=r.json()["access_token"]).json()
    assert me["preferred_username"] == user
    res = save(clean, OAUTH, "Planhat_oauthPlcy", {"externalClientApplication": VENDOR,
                                                   "isClientCredentialsFlowEnabled": "true",
                                                   "clientCredentialsFlowUser": "ghost@example.com"})
    assert res["errors"][0][0] == "INVALID_CROSS_REFERENCE_KEY"


@pytest.mark.parametrize("alias", ["org1", "org3"])
def test_odd_orgs_keep_planhat_as_a_connected_app(clean, alias):
    """The connected-app path is unchanged where the vendor ships a connected app."""
    assert list_md(clean, "ExternalClientApplication", alias=alias) == []
    assert policy_row(clean, alias) == {}


def test_list_connected_apps_shows_only_local_ones_by_default(clean):
    names = [a["fullName"] for a in list_md(clean, "ConnectedApp", alias="org1")]
    assert names == ["sfops_Automation"]  # the installed third-party Planhat is not this org's component


def test_installed_eca_and_its_policies_survive_a_restart(clean):
    import pathlib

    from sfemu.org import Emulator

    app = install(clean)
    permission_set(clean, "Planhat_Integration")
    save(clean, OAUTH, "Planhat_oauthPlcy", {"externalClientApplication": VENDOR,
                                             "permittedUsersPolicyType": "AdminApprovedPreAuthorized",
                                             "commaSeparatedPermissionSet": "Planhat_Integration"})
    reloaded = Emulator(pathlib.Path(clean.data_dir), orgs=3, settings={"fsync": False}).orgs[ORG]
    [eca_app] = reloaded.external_client_apps()
    assert eca_app["client_id"] == app["client_id"]
    assert eca_app["oauth_policy"]["commaSeparatedPermissionSet"] == "Planhat_Integration"

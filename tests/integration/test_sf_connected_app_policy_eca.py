"""sf_connected_app_policy against the emulator when the vendor app is an External Client App (ECA).

"Planhat" is used but not installed in org2; here the vendor ships it as an ECA, installed through the control API.
The module sets its OAuth policies through the Metadata API; every result is checked with an independent raw SOAP
readMetadata made here (its own password-flow session, not the module's code), and the token endpoint shows that the
policy is in force. The connected-app path: test_sf_connected_app_policy.py.
"""

import uuid
import xml.etree.ElementTree as ET

import pytest

from conftest import automation_user
from test_sf_connected_app_policy import make_permission_set, task, writes

MD = "http://soap.sforce.com/2006/04/metadata"
POLICY_TYPE = "ExtlClntAppOauthConfigurablePolicies"
# The name sfemu gives the generated OAuth policies of "Planhat" (sfemu/docs/external-client-apps.md "fullName").
POLICY_NAME = "Planhat_oauthPlcy"
ALIAS, APP = "org2", "Planhat"
READ = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        '<soapenv:Header><SessionHeader xmlns="%s"><sessionId>%%s</sessionId></SessionHeader></soapenv:Header><soapenv:Body>'
        '<readMetadata xmlns="%s"><type>%s</type><fullNames>%%s</fullNames></readMetadata></soapenv:Body></soapenv:Envelope>'
        % (MD, MD, POLICY_TYPE))


def raw_eca_policy(emulator, alias=ALIAS, full_name=POLICY_NAME):
    """{element: text} of the OAuth policies as the Metadata API returns them, read with the fixture's own session."""
    instance, token = emulator._token(alias)
    resp = emulator._session.post(instance + "/services/Soap/m/67.0", data=READ % (token, full_name), timeout=30,
                                  verify=emulator.verify, headers={"Content-Type": "text/xml", "SOAPAction": '""'})
    assert resp.status_code == 200, resp.text
    record = ET.fromstring(resp.text).find(".//{%s}records" % MD)
    return dict((child.tag.split("}")[1], child.text) for child in record)


def consent(emulator, username, alias=ALIAS, app=APP):
    """A user allows the app (web server flow) and the vendor redeems the code: (HTTP status, body)."""
    resp = emulator._session.post(emulator.url + "/__sfemu/orgs/%s/authorize" % alias, json={"username": username, "app": app},
                                  timeout=30, verify=emulator.verify)
    return resp.status_code, resp.json()


def setup_change(emulator, **oauth_policy):
    """An admin's save in Setup > External Client App Manager > Edit Policies (only the given elements change)."""
    return emulator.control("POST", "orgs/%s/app_policy" % ALIAS, json={"name": APP, "oauth_policy": oauth_policy})


@pytest.fixture(scope="module")
def eca(emulator, seeded_orgs):
    installed = emulator.control("POST", "orgs/%s/install_app" % ALIAS, json={"name": APP, "kind": "external_client_app"})
    assert installed["kind"] == "external_client_app"
    # Elements this module does not manage, set by hand: an update must send them back as read.
    setup_change(emulator, sessionTimeoutInMinutes=90, startUrl="https://app.planhat.example/start")
    return installed


def test_eca_admin_approved_with_exactly_the_integration_permission_set(emulator, run_tasks, eca):
    ps = make_permission_set(emulator, ALIAS)
    admin = emulator.conn(ALIAS)["username"]
    before = raw_eca_policy(emulator)
    assert before["permittedUsersPolicyType"] == "AllSelfAuthorized" and "commaSeparatedPermissionSet" not in before
    spec = dict(name=APP, permitted_users="admin_approved", ip_relaxation="enforce", refresh_token_policy="specific_inactivity:90:days",
                permission_sets=[ps], purge_permission_sets=True)

    emulator.reset_stats()
    res = run_tasks([task(**spec)], alias=ALIAS, check=True)
    assert res.rc == 0, res
    result = res.results[0]
    assert result["changed"] is True and result["manual_steps"] == []
    assert result["connected_app"]["kind"] == "external_client_app"
    assert result["diff"]["after"] == {"permitted_users": "admin_approved", "permission_sets": {ps: True},
                                       "refresh_token_policy": "specific_inactivity:90:DAYS"}
    assert writes(emulator.stats(ALIAS)) == 0 and raw_eca_policy(emulator) == before

    res = run_tasks([task(**spec)], alias=ALIAS)
    assert res.rc == 0, res
    result = res.results[0]
    assert result["changed"] is True and result["manual_steps"] == []
    after = raw_eca_policy(emulator)
    assert after["permittedUsersPolicyType"] == "AdminApprovedPreAuthorized"
    assert after["commaSeparatedPermissionSet"] == ps
    assert (after["refreshTokenPolicyType"], after["refreshTokenValidityPeriod"], after["refreshTokenValidityUnit"]) == \
        ("SpecificInactivity", "90", "Days")
    # every element the module does not manage is as it was (updateMetadata replaces the whole component)
    unmanaged = ("permittedUsersPolicyType", "commaSeparatedPermissionSet", "refreshTokenPolicyType", "refreshTokenValidityPeriod",
                 "refreshTokenValidityUnit")
    assert dict((k, v) for k, v in after.items() if k not in unmanaged) == \
        dict((k, v) for k, v in before.items() if k not in unmanaged)
    assert after["sessionTimeoutInMinutes"] == "90" and after["startUrl"] == "https://app.planhat.example/start"
    assert result["connected_app"] == {"id": eca["result"], "name": APP, "kind": "external_client_app", "installed": True,
                                       "permitted_users": "admin_approved", "ip_relaxation": "enforce",
                                       "refresh_token_policy": "specific_inactivity:90:DAYS", "permission_sets": [ps]}

    # the policy is in force: the admin holds no listed permission set and is refused; with it, allowed
    status, body = consent(emulator, admin)
    assert status == 400 and body["error"] == "invalid_app_access", body
    user_id = emulator.raw_query(ALIAS, "SELECT Id FROM User WHERE Username = '%s'" % admin)[0]["Id"]
    ps_id = emulator.raw_query(ALIAS, "SELECT Id FROM PermissionSet WHERE Name = '%s'" % ps)[0]["Id"]
    assignment = emulator.raw(ALIAS, "POST", "sobjects/PermissionSetAssignment", json={"AssigneeId": user_id, "PermissionSetId": ps_id})
    try:
        status, body = consent(emulator, admin)
        assert status == 200 and "access_token" in body
    finally:
        emulator.raw(ALIAS, "DELETE", "sobjects/PermissionSetAssignment/%s" % assignment.json()["id"])

    emulator.reset_stats()
    res = run_tasks([task(**spec)], alias=ALIAS)
    assert res.rc == 0 and res.results[0]["changed"] is False and res.results[0]["manual_steps"] == []
    stats = emulator.stats(ALIAS)
    print("sf_connected_app_policy converged on an ECA: api_requests=%s token_requests=%s" % (stats["api_requests"],
                                                                                             stats["token_requests"]))
    # the composite read, one listMetadata (the kind), one readMetadata (the policies): one more than a connected app
    assert stats["by_resource"] == {"composite": 1, "metadata/listMetadata": 1, "metadata/readMetadata": 1}
    assert stats["token_requests"] <= 1 and writes(stats) == 0

    # A hand-made Setup change (another permission set, All users may self-authorize) is drift and is repaired.
    other = make_permission_set(emulator, ALIAS)
    setup_change(emulator, permittedUsersPolicyType="AllSelfAuthorized", commaSeparatedPermissionSet="%s,%s" % (ps, other))
    res = run_tasks([task(**spec)], alias=ALIAS, check=True)
    assert res.rc == 0 and res.results[0]["changed"] is True
    assert res.results[0]["diff"]["before"] == {"permitted_users": "all_self_authorize", "permission_sets": {other: True}}
    assert res.results[0]["removed"] == {"permission_sets": [other]}
    res = run_tasks([task(**spec)], alias=ALIAS)
    assert res.rc == 0 and res.results[0]["changed"] is True
    repaired = raw_eca_policy(emulator)
    assert repaired["permittedUsersPolicyType"] == "AdminApprovedPreAuthorized" and repaired["commaSeparatedPermissionSet"] == ps


def test_eca_unknown_permission_set_is_refused_before_any_write(emulator, run_tasks, eca):
    before = raw_eca_policy(emulator)
    emulator.reset_stats()
    res = run_tasks([task(name=APP, permitted_users="admin_approved", permission_sets=["No_Such_Set_%s" % uuid.uuid4().hex[:6]])],
                    alias=ALIAS)
    assert res.rc != 0
    assert "Unknown permission set(s)" in res.results[0]["msg"] and "sf_permission_set" in res.results[0]["msg"]
    assert writes(emulator.stats(ALIAS)) == 0 and raw_eca_policy(emulator) == before


def automation_user_without_eca_permission(emulator):
    """A user who may use the Metadata API (Modify Metadata) but lacks the External Client App permissions."""
    return automation_user(emulator, ALIAS, "No_Eca", ["PermissionsApiEnabled", "PermissionsViewSetup",
                                                       "PermissionsViewRoles", "PermissionsModifyMetadata"])[0]


def test_eca_without_the_permission_says_which_permission_to_give(emulator, run_tasks, eca):
    username = automation_user_without_eca_permission(emulator)
    before = raw_eca_policy(emulator)
    emulator.reset_stats()
    spec = dict(name=APP, permitted_users="admin_approved", login_username=username)
    res = run_tasks([task(**spec)], alias=ALIAS)
    assert res.rc != 0, res
    msg = res.results[0]["msg"]
    assert "INSUFFICIENT_ACCESS" in msg and "View all External Client Apps, view their settings, and edit their policies" in msg, msg
    assert "Give the automation user" in msg
    assert writes(emulator.stats(ALIAS)) == 0 and raw_eca_policy(emulator) == before

    # in a role over many orgs (require_installed false) it is a manual step and the run goes on
    res = run_tasks([task(require_installed=False, **spec)], alias=ALIAS)
    assert res.rc == 0 and res.results[0]["changed"] is False
    assert "Could not check whether \"Planhat\" is an External Client App" in res.results[0]["manual_steps"][0]

"""OAuth 2.0 token endpoint, userinfo, identity URL, revoke, sessions (ref §7.6)."""

import base64
import hashlib
import hmac
import time

import jwt
import pytest

from conftest import API, start_inprocess
from sfemu.oauth import JWT_CLOCK_SKEW

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def assertion(client, alias="org1", **over):
    c = client.conn(alias)
    claims = {"iss": c["client_id"], "sub": c["username"], "aud": c["login_url"], "exp": int(time.time()) + 180}
    claims.update(over)
    claims = {k: v for k, v in claims.items() if v is not None}
    with open(c["private_key_file"], "rb") as fh:
        key = fh.read()
    return jwt.encode(claims, key, algorithm="RS256")


def jwt_login(client, alias="org1", **over):
    return client.token_request(grant_type=JWT_GRANT, assertion=assertion(client, alias, **over))


def _oauth_error(r, error, description=None):
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error
    if description is not None:
        assert body["error_description"] == description


# success shapes -------------------------------------------------------------------------------------------------
def test_jwt_bearer_success_shape_and_no_refresh_token(clean):
    r = jwt_login(clean)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "signature", "scope", "instance_url", "id", "token_type", "issued_at"}
    org_id = clean.conn()["org_id"]
    assert body["access_token"].startswith(org_id[:15] + "!")
    assert body["token_type"] == "Bearer" and body["instance_url"] == clean.url
    assert body["id"].startswith(clean.url + "/id/" + org_id + "/005")
    assert abs(int(body["issued_at"]) / 1000 - time.time()) < 60
    secret = clean.conn()["client_secret"].encode()
    expected = base64.b64encode(hmac.new(secret, (body["id"] + body["issued_at"]).encode(), hashlib.sha256).digest())
    assert body["signature"] == expected.decode()
    assert clean.rest("GET", "limits/", token=body["access_token"]).status_code == 200


@pytest.mark.parametrize("aud", ["https://login.salesforce.com", "https://test.salesforce.com"])
def test_jwt_accepts_public_login_audiences(clean, aud):
    assert jwt_login(clean, aud=aud).status_code == 200


def test_client_credentials_runs_as_admin(clean):
    c = clean.conn()
    r = clean.token_request(grant_type="client_credentials", client_id=c["client_id"], client_secret=c["client_secret"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert "refresh_token" not in body
    me = clean.request("GET", "/services/oauth2/userinfo", token=body["access_token"]).json()
    assert me["preferred_username"] == c["username"]


def test_password_flow_issues_no_refresh_token(clean):
    body = clean.password_login()
    assert "refresh_token" not in body  # "No refresh token is issued" (username-password flow doc)


def test_refresh_token_from_connections_and_authorization_code(clean):
    c = clean.conn()
    r = clean.token_request(grant_type="refresh_token", client_id=c["client_id"], client_secret=c["client_secret"],
                            refresh_token=c["refresh_token"])
    assert r.status_code == 200, r.text
    assert "refresh_token" not in r.json()
    code = clean.control("POST", "orgs/org1/authorize", json={"username": c["username"]})["code"]
    r = clean.token_request(grant_type="authorization_code", code=code, client_id=c["client_id"],
                            client_secret=c["client_secret"], redirect_uri="https://localhost/cb")
    assert r.status_code == 200
    rt = r.json()["refresh_token"]
    again = clean.token_request(grant_type="authorization_code", code=code, client_id=c["client_id"],
                                client_secret=c["client_secret"])
    _oauth_error(again, "invalid_grant", "invalid authorization code")  # codes are single use
    r = clean.token_request(grant_type="refresh_token", client_id=c["client_id"], refresh_token=rt)
    assert r.status_code == 200


# errors ------------------------------------------------------------------------------------------------------------
def test_jwt_errors(clean):
    c = clean.conn()
    _oauth_error(jwt_login(clean, iss="3MVG9unknown"), "invalid_client_id", "client identifier invalid")
    _oauth_error(jwt_login(clean, aud="https://evil.example.com"), "invalid_grant")
    _oauth_error(jwt_login(clean, sub="nobody@nowhere.example"), "invalid_grant")
    _oauth_error(clean.token_request(grant_type=JWT_GRANT, assertion="not.a.jwt"), "invalid_grant",
                 "invalid assertion")
    # signed by org2's key but claiming org1's app: signature check fails
    with open(clean.conn("org2")["private_key_file"], "rb") as fh:
        other = jwt.encode({"iss": c["client_id"], "sub": c["username"], "aud": c["login_url"],
                            "exp": int(time.time()) + 100}, fh.read(), algorithm="RS256")
    _oauth_error(clean.token_request(grant_type=JWT_GRANT, assertion=other), "invalid_grant")
    # HS256 with the secret is not accepted
    hs = jwt.encode({"iss": c["client_id"], "sub": c["username"], "aud": c["login_url"],
                     "exp": int(time.time()) + 100}, c["client_secret"], algorithm="HS256")
    _oauth_error(clean.token_request(grant_type=JWT_GRANT, assertion=hs), "invalid_grant")


# JWT time claims: what real clients send (rules.md "JWT bearer time claims") --------------------------------------
@pytest.mark.parametrize("claims", [
    pytest.param(lambda now: {"exp": now}, id="exp-now-as-CumulusCI-jwt_session"),
    pytest.param(lambda now: {"exp": now - JWT_CLOCK_SKEW + 20}, id="exp-passed-within-clock-skew"),
    pytest.param(lambda now: {"exp": str(now + 180)}, id="exp-decimal-string-as-simple-salesforce"),
    pytest.param(lambda now: {"exp": now * 1000 + 300, "iat": now}, id="exp-in-milliseconds-as-Salesforce-CLI"),
    pytest.param(lambda now: {"nbf": now + JWT_CLOCK_SKEW - 20}, id="nbf-ahead-within-clock-skew"),
    pytest.param(lambda now: {"iat": now - 86400}, id="iat-a-day-old"),
])
def test_jwt_time_claims_real_clients_send_are_accepted(clean, claims):
    r = jwt_login(clean, **claims(int(time.time())))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("claims, description", [
    (lambda now: {"exp": now - JWT_CLOCK_SKEW - 20}, "expired authorization code"),
    (lambda now: {"exp": None}, "expired authorization code"),
    (lambda now: {"exp": "soon"}, "expired authorization code"),
    (lambda now: {"exp": "nan"}, "expired authorization code"),
    (lambda now: {"nbf": now + JWT_CLOCK_SKEW + 20}, "invalid assertion"),
    (lambda now: {"nbf": "later"}, "invalid assertion"),
], ids=["exp-passed-beyond-skew", "exp-missing", "exp-not-a-number", "exp-nan", "nbf-beyond-skew", "nbf-not-a-number"])
def test_jwt_time_claims_out_of_range_are_refused(clean, claims, description):
    _oauth_error(jwt_login(clean, **claims(int(time.time()))), "invalid_grant", description)


def test_jwt_user_of_another_org_is_rejected(clean):
    _oauth_error(jwt_login(clean, sub=clean.conn("org2")["username"]), "invalid_grant")


def test_password_and_client_errors(clean):
    c = clean.conn()
    base = dict(grant_type="password", client_id=c["client_id"], client_secret=c["client_secret"],
                username=c["username"], password=c["password"])
    _oauth_error(clean.token_request(**dict(base, password="wrong")), "invalid_grant", "authentication failure")
    _oauth_error(clean.token_request(**dict(base, username="nobody@x.example")), "invalid_grant",
                 "authentication failure")
    _oauth_error(clean.token_request(**dict(base, client_secret="nope")), "invalid_client",
                 "invalid client credentials")
    _oauth_error(clean.token_request(**dict(base, client_id="3MVG9nope")), "invalid_client_id",
                 "client identifier invalid")
    _oauth_error(clean.token_request(**dict(base, grant_type="magic")), "unsupported_grant_type")
    _oauth_error(clean.token_request(client_id=c["client_id"]), "unsupported_grant_type")
    _oauth_error(clean.token_request(**dict(base, scope="api")), "invalid_request", "scope parameter not supported")
    r = clean.http.get(clean.url + "/services/oauth2/token", timeout=10)
    _oauth_error(r, "invalid_request")
    _oauth_error(clean.token_request(grant_type="refresh_token", client_id=c["client_id"], refresh_token="5Aepnope"),
                 "invalid_grant", "expired access/refresh token")


def test_inactive_and_frozen_users_cannot_log_in(clean):
    c = clean.conn()
    user = clean.query("SELECT Id FROM User WHERE Username = '%s'" % c["username"])["records"][0]["Id"]
    # Create a second admin-like user through the API and deactivate it: same rule as for any user.
    prof = clean.query("SELECT Id FROM Profile WHERE Name = 'System Administrator'")["records"][0]["Id"]
    r = clean.rest("POST", "sobjects/User/", json={
        "Username": "second@org1.sfemu.example", "LastName": "Second", "Email": "second@example.com",
        "Alias": "second", "TimeZoneSidKey": "America/Los_Angeles", "LocaleSidKey": "en_US",
        "EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US", "ProfileId": prof})
    assert r.status_code == 201, r.text
    uid = r.json()["id"]
    assert clean.rest("POST", "sobjects/User/%s/password" % uid, json={"NewPassword": "Second-Passw0rd!"}).status_code \
        == 204
    login = dict(grant_type="password", client_id=c["client_id"], client_secret=c["client_secret"],
                 username="second@org1.sfemu.example", password="Second-Passw0rd!")
    assert clean.token_request(**login).status_code == 200
    login_row = clean.query("SELECT Id FROM UserLogin WHERE UserId = '%s'" % uid)["records"][0]["Id"]
    assert clean.rest("PATCH", "sobjects/UserLogin/" + login_row, json={"IsFrozen": True}).status_code == 204
    _oauth_error(clean.token_request(**login), "invalid_grant")
    clean.rest("PATCH", "sobjects/UserLogin/" + login_row, json={"IsFrozen": False})
    assert clean.rest("PATCH", "sobjects/User/" + uid, json={"IsActive": False}).status_code == 204
    _oauth_error(clean.token_request(**login), "invalid_grant", "inactive user")
    assert user


def test_admin_approved_app_requires_access(clean):
    """Switching the app to admin-approved (Metadata API) locks out users without profile/permission-set access."""
    c = clean.conn()
    from test_metadata import app_full_name, update_policy

    assert update_policy(clean, app_full_name(clean), is_admin_approved=True)["success"] == "true"
    rows = clean.query("SELECT Id, OptionsAllowAdminApprovedUsersOnly FROM ConnectedApplication WHERE Name = "
                       "'sfops Automation'")["records"]
    assert rows[0]["OptionsAllowAdminApprovedUsersOnly"] is True
    prof_ps = clean.query("SELECT PermissionSetId FROM PermissionSetAssignment WHERE Assignee.Username = '%s' AND "
                          "PermissionSet.IsOwnedByProfile = true" % c["username"])["records"][0]["PermissionSetId"]
    access = clean.query("SELECT Id FROM SetupEntityAccess WHERE ParentId = '%s' AND SetupEntityId = '%s'"
                         % (prof_ps, rows[0]["Id"]))["records"]
    # The admin's profile is granted the app in the seed (pre-authorised admin): JWT still works.
    if access:
        assert jwt_login(clean).status_code == 200
        for row in access:
            clean.rest("DELETE", "sobjects/SetupEntityAccess/" + row["Id"])
    _oauth_error(jwt_login(clean), "invalid_app_access", "user is not admin approved to access this app")


# sessions ------------------------------------------------------------------------------------------------------
def test_revoke_access_and_refresh_tokens(clean):
    tok = clean.password_login()["access_token"]
    assert clean.rest("GET", "limits/", token=tok).status_code == 200
    r = clean.http.post(clean.url + "/services/oauth2/revoke", data={"token": tok}, timeout=10)
    assert r.status_code == 200
    assert clean.rest("GET", "limits/", token=tok).status_code == 401
    c = clean.conn()
    code = clean.control("POST", "orgs/org1/authorize", json={"username": c["username"]})["code"]
    body = clean.token_request(grant_type="authorization_code", code=code, client_id=c["client_id"],
                               client_secret=c["client_secret"]).json()
    r = clean.http.post(clean.url + "/services/oauth2/revoke", data={"token": body["refresh_token"]}, timeout=10)
    assert r.status_code == 200
    assert clean.rest("GET", "limits/", token=body["access_token"]).status_code == 401
    _oauth_error(clean.token_request(grant_type="refresh_token", client_id=c["client_id"],
                                     refresh_token=body["refresh_token"]), "invalid_grant")
    bad = clean.http.post(clean.url + "/services/oauth2/revoke", data={"token": "nope"}, timeout=10)
    _oauth_error(bad, "unsupported_token_type")


def test_userinfo_and_identity_url(clean):
    body = clean.password_login()
    tok = body["access_token"]
    info = clean.request("GET", "/services/oauth2/userinfo", token=tok).json()
    assert info["preferred_username"] == clean.conn()["username"]
    assert info["organization_id"] == clean.conn()["org_id"]
    assert info["user_id"] == body["id"].rsplit("/", 1)[1]
    for key in ("sub", "email", "name", "zoneinfo", "locale", "urls", "active", "user_type"):
        assert key in info
    ident = clean.request("GET", body["id"], token=tok)
    assert ident.status_code == 200 and ident.json()["username"] == clean.conn()["username"]
    bad = clean.request("GET", "/services/oauth2/userinfo", token="00Dbad!x")
    assert bad.status_code == 403 and bad.text == "Bad_OAuth_Token"


def test_token_requests_are_not_api_requests(clean):
    clean.control("DELETE", "stats")
    clean.password_login()
    jwt_login(clean)
    st = clean.stats()
    assert st["token_requests"] == 2 and st["api_requests"] == 0


def test_session_timeout_and_restart_keeps_sessions(tmp_path):
    client = start_inprocess(tmp_path, orgs=1, session_timeout=2)
    try:
        tok = client.password_login()["access_token"]
        assert client.rest("GET", "limits/", token=tok).status_code == 200
        time.sleep(2.2)
        r = client.rest("GET", "limits/", token=tok)
        assert r.status_code == 401 and r.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    finally:
        client.server.shutdown()
    client = start_inprocess(tmp_path, orgs=1)
    try:
        tok = client.password_login()["access_token"]
        acc = client.rest("POST", "sobjects/Account/", token=tok, json={"Name": "Survivor"}).json()["id"]
    finally:
        client.server.shutdown()
    client = start_inprocess(tmp_path, orgs=1)
    try:
        # same token and same data after a restart (state persisted in DIR)
        r = client.rest("GET", "sobjects/Account/" + acc, token=tok)
        assert r.status_code == 200 and r.json()["Name"] == "Survivor"
    finally:
        client.server.shutdown()


def test_version_path_irrelevant_for_oauth(clean):
    # The token endpoint lives outside /services/data; a REST path with a token issued by any flow works at any
    # supported version.
    tok = jwt_login(clean).json()["access_token"]
    for v in ("31.0", API, "68.0"):
        assert clean.request("GET", "/services/data/v%s/sobjects/" % v, token=tok).status_code == 200

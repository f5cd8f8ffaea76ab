"""OauthToken rows from the token endpoint, their revocation, and User.LastLoginDate (sfemu/docs/rules.md "OAuth
tokens"). Each test reads the result back through SOQL or a REST call with the token, never through the path that
made the change."""

import pathlib

from conftest import API
from sfemu.org import Emulator

APP = "sfops Automation"


def tokens(client, alias="org1", app=APP):
    """OauthToken rows of ``app``. The query itself runs on the admin's password login (client.token), whose own
    row is the first one of the sfops Automation app."""
    return client.query("SELECT Id, AppName, User.Username, UseCount, LastUsedDate, CreatedDate, DeleteToken, "
                        "AccessToken FROM OauthToken WHERE AppName = '%s' ORDER BY CreatedDate" % app,
                        alias=alias)["records"]


def revoke(client, token):
    return client.http.post(client.url + "/services/oauth2/revoke", data={"token": token}, timeout=10)


def code_login(client, username, alias="org1"):
    c = client.conn(alias)
    code = client.control("POST", "orgs/%s/authorize" % alias, json={"username": username})["code"]
    r = client.token_request(grant_type="authorization_code", code=code, client_id=c["client_id"],
                             client_secret=c["client_secret"])
    assert r.status_code == 200, r.text
    return r.json()


def last_login(client, username, alias="org1"):
    return client.query("SELECT LastLoginDate FROM User WHERE Username = '%s'" % username,
                        alias=alias)["records"][0]["LastLoginDate"]


def test_logins_without_refresh_token_count_on_one_row_per_user_and_app(clean):
    user = clean.conn()["username"]
    assert last_login(clean, user) is not None  # the query's own password login (client.token)
    [first] = tokens(clean)
    assert (first["User"]["Username"], first["UseCount"]) == (user, 1)
    assert first["LastUsedDate"] and first["DeleteToken"] and first["AccessToken"] is None
    assert last_login(clean, user) == first["LastUsedDate"]
    clean.password_login()
    c = clean.conn()
    r = clean.token_request(grant_type="client_credentials", client_id=c["client_id"], client_secret=c["client_secret"])
    assert r.status_code == 200
    [again] = tokens(clean)
    assert (again["Id"], again["UseCount"]) == (first["Id"], 3)
    assert again["LastUsedDate"] >= first["LastUsedDate"]
    assert last_login(clean, user) == again["LastUsedDate"]
    # SOQL can filter and count them like any setup object
    assert clean.query("SELECT COUNT() FROM OauthToken WHERE User.Username = '%s' AND UseCount >= 3" % user
                       )["totalSize"] == 1


def test_each_authorization_is_a_row_and_its_refreshes_count_on_it(clean):
    user = clean.conn()["username"]
    [session_row] = tokens(clean)
    one = code_login(clean, user)
    code_login(clean, user)
    rows = [r for r in tokens(clean) if r["Id"] != session_row["Id"]]
    assert len(rows) == 2 and [r["UseCount"] for r in rows] == [1, 1]
    login_before = last_login(clean, user)
    c = clean.conn()
    for _ in range(2):
        r = clean.token_request(grant_type="refresh_token", client_id=c["client_id"], refresh_token=one["refresh_token"])
        assert r.status_code == 200
    counts = sorted(r["UseCount"] for r in tokens(clean) if r["Id"] != session_row["Id"])
    assert counts == [1, 3]
    assert last_login(clean, user) == login_before  # a refresh is not a login


def test_revoking_a_refresh_token_removes_its_row_and_access_tokens(clean):
    before = tokens(clean)
    grant = code_login(clean, clean.conn()["username"])
    assert len(tokens(clean)) == len(before) + 1
    assert revoke(clean, grant["refresh_token"]).status_code == 200
    assert tokens(clean) == before
    assert clean.rest("GET", "limits/", token=grant["access_token"]).status_code == 401


def test_revoking_an_access_token_ends_only_that_session(clean):
    before = tokens(clean)
    login = clean.password_login()
    assert revoke(clean, login["access_token"]).status_code == 200
    assert clean.rest("GET", "limits/", token=login["access_token"]).status_code == 401
    assert [r["Id"] for r in tokens(clean)] == [r["Id"] for r in before]  # the authorization itself stays


def test_delete_token_revokes_the_row_and_every_token_from_it(clean):
    [session_row] = tokens(clean)
    grant = code_login(clean, clean.conn()["username"])
    [authorization] = [r for r in tokens(clean) if r["Id"] != session_row["Id"]]
    session = clean.password_login()["access_token"]  # counts on the session row
    assert revoke(clean, authorization["DeleteToken"]).status_code == 200
    left = tokens(clean)
    assert [r["Id"] for r in left] == [session_row["Id"]]
    assert clean.rest("GET", "limits/", token=grant["access_token"]).status_code == 401
    c = clean.conn()
    r = clean.token_request(grant_type="refresh_token", client_id=c["client_id"], refresh_token=grant["refresh_token"])
    assert r.status_code == 400
    assert clean.rest("GET", "limits/", token=session).status_code == 200
    # the row of the password login: its DeleteToken ends its session
    assert revoke(clean, left[0]["DeleteToken"]).status_code == 200
    assert clean.rest("GET", "limits/", token=session).status_code == 401
    assert revoke(clean, left[0]["DeleteToken"]).status_code == 400  # gone: unsupported_token_type


def test_seeded_vendor_usage_can_be_revoked_and_rest_delete_is_not_supported(clean):
    rows = tokens(clean, app="Planhat")
    assert [r["User"]["Username"] for r in rows] == ["standard.user@org1.sfemu.example"]
    r = clean.rest("DELETE", "sobjects/OauthToken/" + rows[0]["Id"])
    assert r.status_code == 405 and r.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"
    assert tokens(clean, app="Planhat") == rows
    before = clean.stats()
    assert revoke(clean, rows[0]["DeleteToken"]).status_code == 200
    assert tokens(clean, app="Planhat") == []
    after = clean.stats()
    assert after["api_requests"] == before["api_requests"] + 1  # the SOQL above; the revoke is a token request
    assert after["token_requests"] == before["token_requests"] + 1


def test_a_second_user_authorises_the_vendor_app(clean):
    """The control API's full consent creates the vendor-app row a drift check must find."""
    alias = "org2"
    clean.control("POST", "orgs/%s/install_app" % alias, json={"name": "Planhat", "kind": "external_client_app"})
    user = "readonly.user@%s.sfemu.example" % alias
    r = clean.request("POST", "/__sfemu/orgs/%s/authorize" % alias, json={"username": user, "app": "Planhat"})
    assert r.status_code == 200, r.text
    rows = {t["User"]["Username"]: t for t in tokens(clean, alias, app="Planhat")}
    assert rows[user]["UseCount"] == 1
    assert last_login(clean, user, alias) == rows[user]["LastUsedDate"]
    counted = clean.stats(alias)["token_requests"]
    clean.request("POST", "/__sfemu/orgs/%s/authorize" % alias, json={"username": user, "app": "Planhat"})
    assert clean.stats(alias)["token_requests"] == counted  # the vendor's requests are not the client's under test
    r = clean.request("POST", "/__sfemu/orgs/%s/authorize" % alias, json={"username": "ghost@example.com",
                                                                          "app": "Planhat"})
    assert r.status_code == 404


def test_rows_survive_a_restart(clean):
    code_login(clean, clean.conn()["username"])
    rows = tokens(clean)
    reloaded = Emulator(pathlib.Path(clean.data_dir), orgs=3, settings={"fsync": False})
    _, recs = reloaded.orgs["org1"].query("SELECT Id, UseCount FROM OauthToken WHERE AppName = '%s'" % APP, API)
    assert sorted((r["Id"], r["UseCount"]) for r in recs) == sorted((r["Id"], r["UseCount"]) for r in rows)
    assert len(rows) == 2

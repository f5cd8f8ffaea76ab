"""REST API over HTTPS: versions, auth, errors, CRUD, query pagination, limits and headers.

Each expectation names the Salesforce behaviour it checks (ref = shared/reference/salesforce-api.md).
"""

import re

import pytest

from conftest import API

NOT_FOUND = [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


# versions / resources ----------------------------------------------------------------------------------------
def test_versions_need_no_auth_and_list_31_to_68(clean):
    r = clean.request("GET", "/services/data/")
    assert r.status_code == 200
    body = r.json()
    assert body[0] == {"label": "Summer '14", "url": "/services/data/v31.0", "version": "31.0"}  # ref §7.5
    assert body[-1] == {"label": "Winter '27", "url": "/services/data/v68.0", "version": "68.0"}  # ref §0
    labels = {v["version"]: v["label"] for v in body}
    assert labels["66.0"] == "Spring '26" and labels["67.0"] == "Summer '26"
    assert len(body) == 38


def test_resources_by_version_and_latest_alias(clean):
    r = clean.rest("GET", "/services/data/v%s/" % API)
    assert r.status_code == 200
    assert r.json()["sobjects"] == "/services/data/v%s/sobjects" % API
    latest = clean.rest("GET", "/services/data/latest/")
    assert latest.status_code == 200
    assert latest.json()["query"] == "/services/data/v68.0/query"


@pytest.mark.parametrize("version", ["v30.0", "v69.0", "v67", "67.0", "vX.0"])
def test_version_out_of_range_is_404_not_found(clean, version):
    r = clean.rest("GET", "/services/data/%s/sobjects/" % version)
    assert r.status_code == 404
    assert r.json() == NOT_FOUND


# authentication ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("header", [None, "Bearer", "Bearer 00Dxx0000001gPL!AQbogus", "Basic abc",
                                    "Bearer not-a-token"])
def test_missing_or_bad_token_is_401_invalid_session_id(clean, header):
    headers = {"Authorization": header} if header else {}
    r = clean.request("GET", "/services/data/v%s/limits/" % API, headers=headers)
    assert r.status_code == 401
    assert r.json() == INVALID_SESSION


def test_oauth_scheme_is_accepted_like_bearer(clean):
    r = clean.request("GET", "/services/data/v%s/limits/" % API,
                      headers={"Authorization": "OAuth " + clean.token()})
    assert r.status_code == 200


def test_token_of_one_org_does_not_open_another(clean):
    # Tokens are tied to their org: org1's token works, a forged prefix for org2 fails.
    tok = clean.token("org1")
    org2 = clean.conn("org2")["org_id"]
    forged = org2[:15] + tok[15:]
    r = clean.request("GET", "/services/data/v%s/limits/" % API, token=forged)
    assert r.status_code == 401


# errors --------------------------------------------------------------------------------------------------------
def test_unknown_path_is_404_json(clean):
    r = clean.rest("GET", "nosuchresource/")
    assert r.status_code == 404 and r.json() == NOT_FOUND
    r = clean.request("GET", "/nowhere", token=clean.token())
    assert r.status_code == 404 and r.json()[0]["errorCode"] == "NOT_FOUND"


def test_wrong_method_is_405(clean):
    r = clean.rest("PUT", "sobjects/Account/")
    assert r.status_code == 405
    body = r.json()
    assert body[0]["errorCode"] == "METHOD_NOT_ALLOWED"
    assert "Allowed are HEAD,GET,POST" in body[0]["message"]
    assert clean.rest("DELETE", "limits/").status_code == 405


@pytest.mark.parametrize("payload", [b"{bad", b"", b"[1,2", b"\xff\xfe", b"null x"])
def test_malformed_json_is_400_json_parser_error(clean, payload):
    r = clean.rest("POST", "sobjects/Account/", data=payload, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_unknown_sobject_is_404(clean):
    r = clean.rest("GET", "sobjects/NoSuchThing__c/describe/")
    assert r.status_code == 404
    assert r.json()[0]["errorCode"] == "NOT_FOUND"


def test_bad_soql_is_400_with_salesforce_code(clean):
    r = clean.rest("GET", "query/", params={"q": "SELECT Id FROM"})
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "MALFORMED_QUERY"
    r = clean.rest("GET", "query/", params={"q": "SELECT Id FROM XYZZY"})
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "INVALID_TYPE"
    r = clean.rest("GET", "query/", params={"q": "SELECT Nope__x FROM Account"})
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "INVALID_FIELD"
    r = clean.rest("GET", "query/")
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "MALFORMED_QUERY"


@pytest.mark.parametrize("method,path,body", [
    ("POST", "sobjects/Account/", b'{"Name": {"nested": [1, 2]}}'),
    ("POST", "sobjects/Account/", b'[{"Name": "x"}]'),
    ("PATCH", "sobjects/Account/001000000000000AAA", b'"just a string"'),
    ("GET", "sobjects/Account/xyz", None),
    ("GET", "sobjects/Account/001000000000000AAA", None),
    ("DELETE", "sobjects/Account/!!", None),
    ("POST", "composite/", b'{"compositeRequest": "no"}'),
    ("POST", "composite/", b'{"compositeRequest": [{"method": "GET"}]}'),
    ("POST", "composite/sobjects", b'{"records": [1, "x", null]}'),
    ("DELETE", "composite/sobjects?ids=", None),
    ("GET", "composite/sobjects/Account?ids=a,b", None),
    ("GET", "query/zz-abc", None),
    ("GET", "query/?q=%00", None),
    ("GET", "sobjects/Account/Name/%2F..%2F", None),
    ("PATCH", "sobjects/Account/NotAField__c/1", b"{}"),
])
def test_bad_input_never_500(clean, method, path, body):
    r = clean.rest(method, path, data=body, headers={"Content-Type": "application/json"})
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert isinstance(r.json(), list) and "errorCode" in r.json()[0]


# CRUD ----------------------------------------------------------------------------------------------------------
def test_crud_with_simple_salesforce(sf):
    created = sf.Account.create({"Name": "Acme HTTP"})
    assert created["success"] is True and created["errors"] == []  # ref §7.1 [real CCI]
    acc_id = created["id"]
    assert re.fullmatch(r"001[0-9A-Za-z]{15}", acc_id)
    got = sf.Account.get(acc_id)
    assert got["Name"] == "Acme HTTP"
    assert got["attributes"] == {"type": "Account", "url": "/services/data/v%s/sobjects/Account/%s" % (API, acc_id)}
    assert sf.Account.update(acc_id, {"Name": "Acme Renamed"}) == 204
    assert sf.Account.get(acc_id)["Name"] == "Acme Renamed"
    assert sf.Account.delete(acc_id) == 204
    from simple_salesforce.exceptions import SalesforceResourceNotFound

    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get(acc_id)


def test_create_returns_201_with_location_and_fields_param(clean):
    r = clean.rest("POST", "sobjects/Account/", json={"Name": "Raw Co"})
    assert r.status_code == 201
    body = r.json()
    assert body == {"id": body["id"], "success": True, "errors": []}
    assert r.headers["Location"].endswith("/sobjects/Account/" + body["id"])
    got = clean.rest("GET", "sobjects/Account/%s" % body["id"], params={"fields": "Name"})
    assert got.status_code == 200
    assert got.json()["Name"] == "Raw Co"
    assert "Id" not in got.json() or got.json()["Id"] == body["id"]


def test_required_field_error_is_400_with_fields(clean):
    r = clean.rest("POST", "sobjects/Account/", json={})
    assert r.status_code == 400
    err = r.json()[0]
    assert err["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert err["fields"] == ["Name"]


def test_patch_and_delete_return_204_without_body(clean):
    acc = clean.rest("POST", "sobjects/Account/", json={"Name": "Temp"}).json()["id"]
    r = clean.rest("PATCH", "sobjects/Account/" + acc, json={"Name": "Temp2"})
    assert r.status_code == 204 and r.content == b""
    r = clean.rest("DELETE", "sobjects/Account/" + acc)
    assert r.status_code == 204 and r.content == b""
    assert clean.rest("GET", "sobjects/Account/" + acc).status_code == 404


def test_head_returns_headers_only(clean):
    r = clean.rest("HEAD", "limits/")
    assert r.status_code == 200 and r.content == b""
    assert int(r.headers["Content-Length"]) > 0


def test_describe_global_and_object(sf):
    g = sf.describe()
    assert g["encoding"] == "UTF-8" and g["maxBatchSize"] == 200
    assert any(o["name"] == "PermissionSet" for o in g["sobjects"])
    d = sf.PermissionSet.describe()
    assert d["name"] == "PermissionSet"
    assert any(f["name"] == "PermissionsApiEnabled" for f in d["fields"])


# query ---------------------------------------------------------------------------------------------------------
def _make_accounts(client, n):
    recs = [{"attributes": {"type": "Account"}, "Name": "Page %04d" % i} for i in range(n)]
    for i in range(0, n, 200):
        r = client.rest("POST", "composite/sobjects", json={"allOrNone": True, "records": recs[i:i + 200]})
        assert r.status_code == 200 and all(x["success"] for x in r.json()), r.text


def test_query_pagination_with_batch_size_and_locator(clean):
    _make_accounts(clean, 450)
    soql = "SELECT Id, Name FROM Account WHERE Name LIKE 'Page %' ORDER BY Name"
    r = clean.rest("GET", "query/", params={"q": soql}, headers={"Sforce-Query-Options": "batchSize=200"})
    body = r.json()
    assert body["totalSize"] == 450 and body["done"] is False and len(body["records"]) == 200
    m = re.fullmatch(r"/services/data/v%s/query/(01g[0-9A-Za-z]{15})-200" % re.escape(API), body["nextRecordsUrl"])
    assert m, body["nextRecordsUrl"]
    names = [x["Name"] for x in body["records"]]
    while not body["done"]:
        body = clean.rest("GET", body["nextRecordsUrl"]).json()
        names += [x["Name"] for x in body["records"]]
    assert names == ["Page %04d" % i for i in range(450)]
    assert "nextRecordsUrl" not in body


def test_default_batch_is_2000(clean):
    _make_accounts(clean, 2100)
    body = clean.query("SELECT Id FROM Account WHERE Name LIKE 'Page %'")
    assert body["totalSize"] == 2100 and len(body["records"]) == 2000 and not body["done"]
    rest = clean.rest("GET", body["nextRecordsUrl"]).json()
    assert len(rest["records"]) == 100 and rest["done"] is True


def test_simple_salesforce_query_all_follows_locators(sf, clean):
    _make_accounts(clean, 2300)
    res = sf.query_all("SELECT Id FROM Account WHERE Name LIKE 'Page %'")
    assert res["totalSize"] == 2300 and len(res["records"]) == 2300


@pytest.mark.parametrize("locator", ["01gAAAAAAAAAAAAAAA-200", "nonsense", "01g-abc", "-1"])
def test_bad_locator_is_404_invalid_query_locator(clean, locator):
    r = clean.rest("GET", "query/" + locator)
    assert r.status_code == 404
    assert r.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_locator_of_another_org_is_invalid(clean):
    _make_accounts(clean, 300)
    body = clean.rest("GET", "query/", params={"q": "SELECT Id FROM Account WHERE Name LIKE 'Page %'"},
                      headers={"Sforce-Query-Options": "batchSize=200"}).json()
    r = clean.rest("GET", body["nextRecordsUrl"], alias="org2")
    assert r.status_code == 404 and r.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_count_query_and_query_all_sees_deleted(clean):
    acc = clean.rest("POST", "sobjects/Account/", json={"Name": "Gone Soon"}).json()["id"]
    before = clean.query("SELECT COUNT() FROM Account")
    assert before["records"] == [] and before["done"] is True
    clean.rest("DELETE", "sobjects/Account/" + acc)
    after = clean.query("SELECT COUNT() FROM Account")
    assert after["totalSize"] == before["totalSize"] - 1
    r = clean.rest("GET", "queryAll/", params={"q": "SELECT Id, IsDeleted FROM Account WHERE Id = '%s'" % acc})
    assert r.status_code == 200
    assert [x["IsDeleted"] for x in r.json()["records"]] == [True]


# limits and headers -------------------------------------------------------------------------------------------
def test_limits_decrease_with_use_and_header_matches(clean):
    tok = clean.token()
    r1 = clean.rest("GET", "limits/", token=tok)
    first = r1.json()["DailyApiRequests"]
    assert first["Max"] == 15000
    used1 = int(re.fullmatch(r"api-usage=(\d+)/15000", r1.headers["Sforce-Limit-Info"]).group(1))
    assert first["Remaining"] == 15000 - used1
    for _ in range(3):
        clean.rest("GET", "sobjects/", token=tok)
    r2 = clean.rest("GET", "limits/", token=tok)
    second = r2.json()["DailyApiRequests"]
    assert second["Remaining"] == first["Remaining"] - 4
    for key in ("DataStorageMB", "FileStorageMB", "DailyAsyncApexExecutions"):
        assert set(r2.json()[key]) >= {"Max", "Remaining"}


def test_every_rest_response_carries_limit_info_even_errors(clean):
    for method, path in [("GET", "sobjects/"), ("GET", "nosuch/"), ("POST", "query/"),
                         ("GET", "query/", )]:
        r = clean.rest(method, path)
        assert re.fullmatch(r"api-usage=\d+/15000", r.headers.get("Sforce-Limit-Info", "")), (path, r.headers)


def test_json_content_type_and_keep_alive(clean):
    import http.client
    import ssl

    tok = clean.token()
    host, port = clean.url.split("//")[1].split(":")
    conn = http.client.HTTPSConnection(host, int(port), context=ssl.create_default_context(cafile=clean.ca))
    for _ in range(5):  # five requests on one TCP connection: the server keeps it open (HTTP/1.1)
        conn.request("GET", "/services/data/v%s/limits/" % API, headers={"Authorization": "Bearer " + tok})
        r = conn.getresponse()
        body = r.read()
        assert r.status == 200 and r.getheader("Content-Type") == "application/json;charset=UTF-8"
        assert int(r.getheader("Content-Length")) == len(body)
        assert (r.getheader("Connection") or "").lower() != "close"
    conn.close()


def test_user_password_resource(clean):
    c = clean.conn("org1")
    uid = clean.password_login("org1")["id"].rsplit("/", 1)[1]
    assert clean.rest("GET", "sobjects/User/%s/password" % uid).json() == {"isExpired": False}
    r = clean.rest("POST", "sobjects/User/%s/password" % uid, json={"NewPassword": "An0ther-Secret!"})
    assert r.status_code == 204
    old = clean.token_request(grant_type="password", client_id=c["client_id"], client_secret=c["client_secret"],
                              username=c["username"], password=c["password"])
    assert old.status_code == 400 and old.json()["error"] == "invalid_grant"
    new = clean.token_request(grant_type="password", client_id=c["client_id"], client_secret=c["client_secret"],
                              username=c["username"], password="An0ther-Secret!")
    assert new.status_code == 200
    r = clean.rest("POST", "sobjects/User/%s/password" % uid, json={"NewPassword": "short"})
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "INVALID_NEW_PASSWORD"

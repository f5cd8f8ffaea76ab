"""composite/ and composite/sobjects over HTTPS (ref §7.3, §7.4; recorded CCI cassettes for shapes)."""

import pytest

from conftest import API

V = "/services/data/v%s" % API
HALTED = "PROCESSING_HALTED"


def _composite(client, subs, all_or_none=False, alias="org1"):
    r = client.rest("POST", "composite/", alias=alias, json={"allOrNone": all_or_none, "compositeRequest": subs})
    return r


def _count_accounts(client, name):
    return client.query("SELECT COUNT() FROM Account WHERE Name = '%s'" % name)["totalSize"]


def test_composite_references_id_and_query_records(clean):
    r = _composite(clean, [
        {"method": "POST", "url": V + "/sobjects/Account", "referenceId": "newAcc", "body": {"Name": "Comp One"}},
        {"method": "GET", "url": V + "/sobjects/Account/@{newAcc.id}?fields=Name", "referenceId": "readBack"},
        {"method": "GET", "url": V + "/query/?q=SELECT+Id,Name+FROM+Account+WHERE+Name='Comp One'",
         "referenceId": "q"},
        {"method": "PATCH", "url": V + "/sobjects/Account/@{q.records[0].Id}", "referenceId": "upd",
         "body": {"Name": "Comp Two"}},
    ])
    assert r.status_code == 200
    res = r.json()["compositeResponse"]
    assert [x["referenceId"] for x in res] == ["newAcc", "readBack", "q", "upd"]
    assert [x["httpStatusCode"] for x in res] == [201, 200, 200, 204]
    assert res[0]["body"]["success"] is True
    assert res[1]["body"]["Name"] == "Comp One"
    assert res[2]["body"]["records"][0]["Id"] == res[0]["body"]["id"]
    assert res[3]["body"] is None
    assert _count_accounts(clean, "Comp Two") == 1


def test_composite_error_subrequest_shape_matches_recording(clean):
    # Recorded: TestCompositeParallelSalesforce.test_errors (404 NOT_FOUND inside a 200)
    r = _composite(clean, [{"method": "GET", "url": V + "/sobjects/Foo", "referenceId": "CCI__RefId__0__"}])
    assert r.status_code == 200
    assert r.json() == {"compositeResponse": [{
        "body": [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}],
        "httpHeaders": {}, "httpStatusCode": 404, "referenceId": "CCI__RefId__0__"}]}


def test_all_or_none_rolls_back_and_halts_others(clean):
    r = _composite(clean, [
        {"method": "POST", "url": V + "/sobjects/Account", "referenceId": "a", "body": {"Name": "AON Keep?"}},
        {"method": "POST", "url": V + "/sobjects/Account", "referenceId": "bad", "body": {}},
        {"method": "POST", "url": V + "/sobjects/Account", "referenceId": "c", "body": {"Name": "AON Later"}},
    ], all_or_none=True)
    assert r.status_code == 200
    res = r.json()["compositeResponse"]
    assert res[1]["httpStatusCode"] == 400 and res[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    for other in (res[0], res[2]):
        assert other["httpStatusCode"] == 400
        assert other["body"][0]["errorCode"] == HALTED
    assert _count_accounts(clean, "AON Keep?") == 0
    assert _count_accounts(clean, "AON Later") == 0


def test_without_all_or_none_independent_ones_commit_dependents_halt(clean):
    r = _composite(clean, [
        {"method": "POST", "url": V + "/sobjects/Account", "referenceId": "bad", "body": {}},
        {"method": "GET", "url": V + "/sobjects/Account/@{bad.id}", "referenceId": "dep"},
        {"method": "POST", "url": V + "/sobjects/Account", "referenceId": "ok", "body": {"Name": "Indep"}},
    ])
    res = r.json()["compositeResponse"]
    assert [x["httpStatusCode"] for x in res] == [400, 400, 201]
    assert res[1]["body"][0]["errorCode"] == HALTED
    assert _count_accounts(clean, "Indep") == 1


def test_composite_counts_as_one_api_request(clean):
    clean.token()
    clean.control("DELETE", "stats")
    _composite(clean, [{"method": "GET", "url": V + "/limits", "referenceId": "r%d" % i} for i in range(10)])
    st = clean.stats()
    assert st["api_requests"] == 1 and st["by_resource"] == {"composite": 1}


@pytest.mark.parametrize("subs,code", [
    ([{"method": "GET", "url": V + "/limits", "referenceId": "r%d" % i} for i in range(26)], None),
    ([{"method": "GET", "url": V + "/query/?q=SELECT+Id+FROM+Account", "referenceId": "q%d" % i}
      for i in range(6)], None),
    ([{"method": "GET", "url": "/services/other/limits", "referenceId": "x"}], None),
    ([{"method": "GET", "url": V + "/limits", "referenceId": "bad-ref"}], None),
    ([{"method": "GET", "url": V + "/limits", "referenceId": "h", "httpHeaders": {"Authorization": "x"}}], None),
    ([{"method": "GET", "url": V + "/limits", "referenceId": "d"},
      {"method": "GET", "url": V + "/limits", "referenceId": "d"}], None),
])
def test_invalid_composite_requests_fail_whole_request_400(clean, subs, code):
    r = _composite(clean, subs)
    assert r.status_code == 400, r.text
    assert isinstance(r.json(), list) and r.json()[0]["errorCode"]


def test_twenty_five_subrequests_and_five_queries_are_fine(clean):
    subs = [{"method": "GET", "url": V + "/query/?q=SELECT+Id+FROM+Account+LIMIT+1", "referenceId": "q%d" % i}
            for i in range(5)]
    subs += [{"method": "GET", "url": V + "/limits", "referenceId": "l%d" % i} for i in range(20)]
    r = _composite(clean, subs)
    assert r.status_code == 200
    assert all(x["httpStatusCode"] == 200 for x in r.json()["compositeResponse"])


# collections --------------------------------------------------------------------------------------------------
def test_collections_create_update_get_delete(clean):
    recs = [{"attributes": {"type": "Account"}, "Name": "Coll %d" % i} for i in range(3)]
    r = clean.rest("POST", "composite/sobjects", json={"allOrNone": False, "records": recs})
    assert r.status_code == 200
    res = r.json()
    assert [set(x) for x in res] == [{"id", "success", "errors"}] * 3  # recorded TestUpsert cassette shape
    ids_ = [x["id"] for x in res]
    upd = [{"attributes": {"type": "Account"}, "Id": i, "Name": "Coll upd"} for i in ids_]
    r = clean.rest("PATCH", "composite/sobjects", json={"records": upd})
    assert [x["success"] for x in r.json()] == [True] * 3
    got = clean.rest("GET", "composite/sobjects/Account", params={"ids": ",".join(ids_ + ["001000000000000AAA"]),
                                                                   "fields": "Id,Name"})
    assert got.status_code == 200
    body = got.json()
    assert [x["Name"] for x in body[:3]] == ["Coll upd"] * 3 and body[3] is None
    r = clean.rest("DELETE", "composite/sobjects", params={"ids": ",".join(ids_), "allOrNone": "true"})
    assert [x == {"id": i, "success": True, "errors": []} for x, i in zip(r.json(), ids_)] == [True] * 3
    assert _count_accounts(clean, "Coll upd") == 0


def test_collections_partial_success_uses_status_code(clean):
    recs = [{"attributes": {"type": "Account"}, "Name": "Part OK"}, {"attributes": {"type": "Account"}}]
    res = clean.rest("POST", "composite/sobjects", json={"allOrNone": False, "records": recs}).json()
    assert res[0]["success"] is True
    assert res[1]["success"] is False
    err = res[1]["errors"][0]
    assert err["statusCode"] == "REQUIRED_FIELD_MISSING" and "errorCode" not in err
    assert _count_accounts(clean, "Part OK") == 1


def test_collections_all_or_none_rolls_back(clean):
    recs = [{"attributes": {"type": "Account"}, "Name": "AON Coll"}, {"attributes": {"type": "Account"}}]
    res = clean.rest("POST", "composite/sobjects", json={"allOrNone": True, "records": recs}).json()
    assert res[0] == {"success": False, "errors": [{
        "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "message": "Record rolled back because not all records were valid and the request was using AllOrNone "
                   "header", "fields": []}]}
    assert res[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert _count_accounts(clean, "AON Coll") == 0


def test_collections_limits_and_per_record_checks(clean):
    too_many = [{"attributes": {"type": "Account"}, "Name": "x"}] * 201
    r = clean.rest("POST", "composite/sobjects", json={"records": too_many})
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    res = clean.rest("POST", "composite/sobjects", json={"records": [
        {"Name": "no type"}, {"attributes": {"type": "Account"}, "Id": "001000000000000AAA", "Name": "with id"}]}).json()
    assert [x["success"] for x in res] == [False, False]
    res = clean.rest("PATCH", "composite/sobjects", json={"records": [{"attributes": {"type": "Account"}}]}).json()
    assert res[0]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    res = clean.rest("DELETE", "composite/sobjects", params={"ids": "notanid,001000000000000AAA"}).json()
    assert res[0]["errors"][0]["statusCode"] == "MALFORMED_ID"
    assert res[1]["success"] is False


def test_collections_count_one_request_and_persist_once(clean, monkeypatch):
    clean.token()
    clean.control("DELETE", "stats")
    org = clean.server.app.emulator.orgs["org1"]
    saves = []
    real_save = org.save
    monkeypatch.setattr(org, "save", lambda: (saves.append(1), real_save())[1])
    recs = [{"attributes": {"type": "Account"}, "Name": "Bulk %d" % i} for i in range(200)]
    r = clean.rest("POST", "composite/sobjects", json={"records": recs})
    assert all(x["success"] for x in r.json())
    assert clean.stats()["api_requests"] == 1
    assert len(saves) == 1  # 200 records, one write of the org file
    saves.clear()
    _composite(clean, [{"method": "POST", "url": V + "/sobjects/Account", "referenceId": "a%d" % i,
                        "body": {"Name": "Comp %d" % i}} for i in range(10)])
    assert len(saves) == 1
    saves.clear()
    clean.rest("GET", "query/", params={"q": "SELECT Id FROM Account"})
    assert saves == []  # reads never write


def test_collections_inside_composite(clean):
    r = _composite(clean, [
        {"method": "POST", "url": V + "/composite/sobjects", "referenceId": "c",
         "body": {"records": [{"attributes": {"type": "Account"}, "Name": "Nested %d" % i} for i in range(2)]}},
        {"method": "GET", "url": V + "/sobjects/Account/@{c[0].id}", "referenceId": "g"},
    ])
    res = r.json()["compositeResponse"]
    assert res[0]["httpStatusCode"] == 200 and len(res[0]["body"]) == 2
    assert res[1]["httpStatusCode"] == 200 and res[1]["body"]["Name"] == "Nested 0"

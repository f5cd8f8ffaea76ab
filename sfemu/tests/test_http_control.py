"""Control API (/__sfemu/...): stats, faults, reset, install_app, app_policy, latency."""

import socket
import ssl
import time

import pytest
import requests

from conftest import API, start_inprocess

V = "/services/data/v%s" % API


def test_stats_count_api_and_token_requests_per_org(clean):
    clean.control("DELETE", "stats")
    tok = clean.password_login("org2")["access_token"]
    clean.rest("GET", "limits/", token=tok)
    clean.rest("GET", "query/", token=tok, params={"q": "SELECT Id FROM Account"})
    clean.rest("POST", "sobjects/Account/", token=tok, json={"Name": "Stats"})
    clean.rest("GET", "nosuch/", token=tok)  # errors count too: Salesforce counts every call
    st = clean.control("GET", "stats")["orgs"]
    assert st["org2"]["api_requests"] == 4 and st["org2"]["token_requests"] == 1
    assert st["org2"]["by_method"] == {"GET": 3, "POST": 1}
    assert st["org2"]["by_resource"] == {"limits": 1, "query": 1, "sobjects/Account": 1, "nosuch": 1}
    assert st["org1"]["api_requests"] == 0
    # control calls and unauthenticated calls are not counted
    clean.request("GET", V + "/limits/")
    clean.request("GET", "/services/data/")
    assert clean.control("GET", "stats")["orgs"]["org2"]["api_requests"] == 4
    clean.control("DELETE", "stats")
    assert clean.control("GET", "stats")["orgs"]["org2"]["api_requests"] == 0


def test_fault_server_unavailable_is_503_html(clean):
    tok = clean.token()
    clean.control("POST", "faults", json={"org": "org1", "fault": "server_unavailable", "count": 1})
    r = clean.rest("GET", "limits/", token=tok)
    assert r.status_code == 503
    assert r.headers["Content-Type"].startswith("text/html")
    assert b"down for maintenance" in r.content
    assert clean.rest("GET", "limits/", token=tok).status_code == 200  # count exhausted


def test_fault_only_hits_its_org(clean):
    t1, t2 = clean.token("org1"), clean.token("org2")
    clean.control("POST", "faults", json={"org": "org2", "fault": "request_limit"})
    assert clean.rest("GET", "limits/", token=t1).status_code == 200
    r = clean.rest("GET", "limits/", token=t2)
    assert r.status_code == 403
    assert r.json() == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]


def test_fault_row_lock_only_on_writes(clean):
    tok = clean.token()
    clean.control("POST", "faults", json={"org": "*", "fault": "row_lock", "count": 1})
    assert clean.rest("GET", "query/", token=tok, params={"q": "SELECT Id FROM Account"}).status_code == 200
    r = clean.rest("POST", "sobjects/Account/", token=tok, json={"Name": "Locked"})
    assert r.status_code == 400
    assert r.json()[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    assert clean.rest("POST", "sobjects/Account/", token=tok, json={"Name": "Free"}).status_code == 201


def test_fault_row_lock_in_collections_is_per_record(clean):
    tok = clean.token()
    clean.control("POST", "faults", json={"fault": "row_lock", "count": 1})
    res = clean.rest("POST", "composite/sobjects", token=tok, json={"records": [
        {"attributes": {"type": "Account"}, "Name": "L1"}, {"attributes": {"type": "Account"}, "Name": "L2"}]}).json()
    assert res[0]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    assert res[1]["success"] is True


def test_fault_session_expired_kills_token(clean):
    tok = clean.token(fresh=True)
    clean.control("POST", "faults", json={"org": "org1", "fault": "session_expired", "count": 1})
    r = clean.rest("GET", "limits/", token=tok)
    assert r.status_code == 401 and r.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    assert clean.rest("GET", "limits/", token=tok).status_code == 401  # the token is really dead
    assert clean.rest("GET", "limits/", token=clean.token(fresh=True)).status_code == 200


def test_fault_connection_reset_drops_the_socket(clean):
    tok = clean.token()
    clean.control("POST", "faults", json={"fault": "connection_reset", "count": 1})
    with pytest.raises(requests.exceptions.ConnectionError):
        clean.http.get(clean.url + V + "/limits/", headers={"Authorization": "Bearer " + tok}, timeout=10)
    assert clean.rest("GET", "limits/", token=tok).status_code == 200


def test_fault_slow_and_probability(clean):
    tok = clean.token()
    clean.control("POST", "faults", json={"fault": "slow", "delay_ms": 300, "count": 1})
    t0 = time.monotonic()
    assert clean.rest("GET", "limits/", token=tok).status_code == 200
    assert time.monotonic() - t0 >= 0.3
    clean.control("DELETE", "faults")
    clean.control("POST", "faults", json={"fault": "request_limit", "probability": 0.5})
    codes = [clean.rest("GET", "limits/", token=tok).status_code for _ in range(80)]
    assert 10 < codes.count(403) < 70 and codes.count(200) + codes.count(403) == 80
    clean.control("DELETE", "faults")
    assert clean.rest("GET", "limits/", token=tok).status_code == 200


def test_per_org_faults_reach_token_requests(clean):
    c1, c2 = clean.conn("org1"), clean.conn("org2")
    clean.control("POST", "faults", json={"org": "org2", "fault": "server_unavailable"})
    assert clean.password_login("org1")["access_token"]
    r = clean.token_request(grant_type="password", client_id=c2["client_id"], client_secret=c2["client_secret"],
                            username=c2["username"], password=c2["password"])
    assert r.status_code == 503
    from test_oauth import jwt_login

    assert jwt_login(clean, "org2").status_code == 503
    assert jwt_login(clean, "org1").status_code == 200
    assert c1 != c2


def test_fault_validation(clean):
    for bad in ({"fault": "meteor"}, {"fault": "slow", "probability": 3}, {"fault": "slow", "count": -1}, []):
        r = clean.request("POST", "/__sfemu/faults", json=bad)
        assert r.status_code == 400


def test_reset_restores_seed_and_kills_sessions(clean):
    tok = clean.token()
    acc = clean.rest("POST", "sobjects/Account/", token=tok, json={"Name": "Before Reset"}).json()["id"]
    clean.control("POST", "reset")
    assert clean.rest("GET", "limits/", token=tok).status_code == 401
    clean.forget_tokens()
    assert clean.rest("GET", "sobjects/Account/" + acc).status_code == 404
    # connections.json stays valid after a reset
    c = clean.conn()
    r = clean.token_request(grant_type="refresh_token", client_id=c["client_id"], refresh_token=c["refresh_token"])
    assert r.status_code == 200


def test_install_app_makes_it_visible(clean):
    q = "SELECT Id, Name FROM ConnectedApplication WHERE Name = 'Planhat'"
    assert clean.query(q, alias="org2")["records"] == []
    clean.control("POST", "orgs/org2/install_app", json={"name": "Planhat"})
    rows = clean.query(q, alias="org2")["records"]
    assert [r["Name"] for r in rows] == ["Planhat"]
    # idempotent
    clean.control("POST", "orgs/org2/install_app", json={"name": "Planhat"})
    assert len(clean.query(q, alias="org2")["records"]) == 1
    assert clean.request("POST", "/__sfemu/orgs/org9/install_app", json={"name": "Planhat"}).status_code == 404
    assert clean.request("POST", "/__sfemu/orgs/org2/install_app", json={}).status_code == 400


def test_app_policy_is_the_setup_edit_policies_save(clean):
    q = "SELECT Id, OptionsAllowAdminApprovedUsersOnly FROM ConnectedApplication WHERE Name = 'Planhat'"
    # org2 only used the app: Setup shows no policy to edit before it is installed.
    r = clean.request("POST", "/__sfemu/orgs/org2/app_policy", json={"name": "Planhat", "admin_approved": True})
    assert r.status_code == 404 and r.json()[0]["errorCode"] == "NOT_FOUND"
    assert clean.query(q, alias="org1")["records"][0]["OptionsAllowAdminApprovedUsersOnly"] is False
    clean.control("POST", "orgs/org1/app_policy", json={"name": "Planhat", "admin_approved": True})
    # Read back over the REST API, as any client sees it.
    assert clean.query(q, alias="org1")["records"][0]["OptionsAllowAdminApprovedUsersOnly"] is True
    r = clean.request("POST", "/__sfemu/orgs/org1/app_policy", json={"name": "Planhat", "ip_relaxation": "LOOSE"})
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert clean.request("POST", "/__sfemu/orgs/org1/app_policy", json={}).status_code == 400
    assert clean.request("POST", "/__sfemu/orgs/org9/app_policy", json={"name": "Planhat"}).status_code == 404


def test_latency_applies_to_api_and_token_not_control(tmp_path):
    client = start_inprocess(tmp_path, orgs=1, latency_ms=150)
    try:
        t0 = time.monotonic()
        tok = client.password_login()["access_token"]
        client.rest("GET", "limits/", token=tok)
        assert time.monotonic() - t0 >= 0.3
        t0 = time.monotonic()
        client.control("GET", "stats")
        assert time.monotonic() - t0 < 0.1
    finally:
        client.server.shutdown()


def test_daily_limit_exhaustion(tmp_path):
    client = start_inprocess(tmp_path, orgs=1, daily_api_limit=5)
    try:
        tok = client.password_login()["access_token"]
        codes = [client.rest("GET", "limits/", token=tok).status_code for _ in range(7)]
        assert codes == [200] * 5 + [403] * 2
        r = client.rest("GET", "limits/", token=tok)
        assert r.json() == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
        # token requests are not API requests: login still works
        assert client.token_request(grant_type="password", client_id=client.conn()["client_id"],
                                    client_secret=client.conn()["client_secret"], username=client.conn()["username"],
                                    password=client.conn()["password"]).status_code == 200
    finally:
        client.server.shutdown()


def test_half_open_and_plain_http_clients_do_not_hurt(clean):
    host, port = clean.url.split("//")[1].split(":")
    # plain HTTP to the TLS port, and a client that connects and goes away
    s = socket.create_connection((host, int(port)))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    s.close()
    s = socket.create_connection((host, int(port)))
    s.close()
    ctx = ssl.create_default_context(cafile=clean.ca)
    with socket.create_connection((host, int(port))) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as tls:
            tls.sendall(b"GARBAGE\r\n\r\n")
            tls.recv(100)
    assert clean.request("GET", "/services/data/").status_code == 200

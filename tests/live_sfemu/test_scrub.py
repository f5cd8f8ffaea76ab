"""The recorder's hook and the scrubber on hand-made exchanges: each rule of tests/live/scrub.py, and that it fails
closed (nothing written) when it cannot account for every exchange or every known secret."""

import http.server
import json
import threading

import pytest
import requests
import requests.adapters

import scrub
from shared import REPO, load_module

ORG = "00D5g000004XyZaEAK"        # ids with valid case-safe suffixes (scrub.id_suffix)
USER = "0055g00000AbCdEAAV"
PERMSET = "0PS5g000001QwErGAK"
PROFILE = "00e5g000001AbCdAAK"
TOKEN = "00D5g000004XyZa!AQ4AQMxYzSecretTokenValue.abc_DEF"
HOST = "acme--uat.sandbox.my.salesforce.com"
ADMIN = "admin@acme.com.uat"


def test_the_ids_here_are_real_ids():
    assert all(scrub.is_id18(i) for i in (ORG, USER, PERMSET))
    assert not scrub.is_id18("0055g00000AbCdEAAA")


def record(step, method, url, status, body, request_body=None, request_headers=None, response_headers=None):
    return {"started_ns": 0, "pid": 1, "step": step,
            "request": {"method": method, "url": url, "body": request_body,
                        "headers": request_headers or {"Authorization": "Bearer " + TOKEN,
                                                       "User-Agent": "sfops.salesforce"}},
            "response": {"status": status, "reason": "OK", "headers": response_headers or {
                "Content-Type": "application/json;charset=UTF-8", "Set-Cookie": "BrowserId=secret-cookie",
                "Sforce-Limit-Info": "api-usage=12/15000"}, "body": body}}


def exchanges():
    login = record("connect", "POST", "https://test.salesforce.com/services/oauth2/token", 200, json.dumps({
        "access_token": TOKEN, "signature": "c2lnbmF0dXJl", "instance_url": "https://" + HOST,
        "id": "https://test.salesforce.com/id/%s/%s" % (ORG, USER), "token_type": "Bearer"}),
        request_body="grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=eyJhbGciOi.secret.jwt",
        request_headers={"Content-Type": "application/x-www-form-urlencoded"})
    composite = record("apply", "POST", "https://%s/services/data/v67.0/composite" % HOST, 200, json.dumps({
        "compositeResponse": [{"referenceId": "org", "httpStatusCode": 200, "body": {"records": [{
            "attributes": {"type": "Organization", "url": "/services/data/v67.0/sobjects/Organization/" + ORG},
            "Id": ORG, "Name": "Acme Corp", "InstanceName": "CS42", "OrganizationType": "Enterprise Edition"}]}},
            {"referenceId": "user", "httpStatusCode": 200, "body": {"records": [{
                "attributes": {"type": "User"}, "Id": USER, "Username": ADMIN, "FirstName": "Ada",
                "LastName": "Lovelace", "Email": "ada@acme.com", "IsActive": True}]}}]}),
        request_body=json.dumps({"compositeRequest": [{"method": "GET", "referenceId": "user",
                                                       "url": "/services/data/v67.0/query?q=SELECT%20Id%20FROM%20User"
                                                              "%20WHERE%20Username%20%3D%20%27admin%40acme.com.uat%27"
                                                              "%20OR%20Id%20%3D%20%27" + USER[:15] + "%27"}]}))
    query = record("apply", "GET", "https://%s/services/data/v67.0/query?q=SELECT+Id+FROM+PermissionSetAssignment"
                   "+WHERE+AssigneeId+%%3D+%%27%s%%27" % (HOST, USER), 201,
                   json.dumps({"id": PERMSET, "success": True, "errors": []}),
                   response_headers={"Location": "https://%s/services/data/v67.0/sobjects/PermissionSet/%s"
                                                 % (HOST, PERMSET)})
    soap = record("apply", "POST", "https://%s/services/Soap/m/67.0" % HOST, 200,
                  "<soapenv:Envelope><result><consumerSecret>ABC123SECRET</consumerSecret><fullName>Planhat"
                  "</fullName></result></soapenv:Envelope>",
                  request_body="<env:Header><met:SessionHeader><met:sessionId>%s</met:sessionId></met:SessionHeader>"
                               "</env:Header>" % TOKEN,
                  request_headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'})
    profile_set = record("apply", "GET", "https://%s/services/data/v67.0/sobjects/PermissionSet/%s" % (HOST, PERMSET),
                         200, json.dumps({"attributes": {"type": "PermissionSet"}, "Id": PERMSET, "ProfileId": PROFILE,
                                          "Name": "X%s_128_09_04_12_1" % PROFILE[:15]}))
    return [login, composite, query, soap, profile_set]


def write(tmp_path, records, ctx=None):
    raw = tmp_path / "raw"
    raw.mkdir()
    for n, rec in enumerate(records):
        rec = dict(rec, started_ns=n)
        (raw / ("%020d-1-%d.json" % (n, n))).write_text(json.dumps(rec))
    out = tmp_path / "out"
    ctx = ctx or scrub.Context("https://test.salesforce.com", ADMIN, "3MVGconsumerkey")
    return scrub.write_run(raw, out, ctx, {"preset": "planhat"}), out


def test_every_rule_scrubs_and_keeps_the_shape(tmp_path):
    count, out = write(tmp_path, exchanges())
    assert count == 5
    assert sorted(p.name for p in out.iterdir()) == ["01-connect.yaml", "02-apply.yaml", "run.yaml"]
    text = "\n".join(p.read_text() for p in out.iterdir())
    for secret in (TOKEN, "c2lnbmF0dXJl", "eyJhbGciOi", "ABC123SECRET", "secret-cookie", HOST, "acme.com", "Acme Corp",
                   "CS42", "Ada", "Lovelace", ORG, USER, USER[:15], PERMSET, PROFILE[:15], "Authorization"):
        assert secret not in text, secret
    login, = scrub.load(out / "01-connect.yaml")["interactions"]
    assert login["request"]["body"] == "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer" \
                                       "&assertion=SCRUBBED"
    answer = json.loads(login["response"]["body"]["string"])
    assert answer["access_token"] == answer["signature"] == "SCRUBBED"
    assert answer["instance_url"] == "https://orgname.my.salesforce.com"
    org_part, user_part = answer["id"].split("/")[-2:]
    assert org_part == scrub.ORG_ID_PLACEHOLDER
    assert user_part.startswith("005") and scrub.is_id18(user_part)
    assert login["response"]["headers"] == {"Content-Type": ["application/json;charset=UTF-8"],
                                            "Sforce-Limit-Info": ["api-usage=12/15000"]}

    composite, query, soap, profile_set = scrub.load(out / "02-apply.yaml")["interactions"]
    sub = json.loads(composite["request"]["body"])["compositeRequest"][0]["url"]
    # The same user id, 18 or 15 characters, percent-encoded or not, gets the same placeholder everywhere.
    assert "automation.user%40example.com" in sub and "%27" + user_part[:15] + "%27" in sub
    assert user_part in query["request"]["uri"]
    parts = json.loads(composite["response"]["body"]["string"])["compositeResponse"]
    organization = parts[0]["body"]["records"][0]
    assert organization["Name"] == organization["InstanceName"] == "SCRUBBED"
    assert organization["OrganizationType"] == "Enterprise Edition"
    person = parts[1]["body"]["records"][0]
    assert (person["Username"], person["FirstName"], person["LastName"], person["IsActive"]) == (
        scrub.AUTOMATION_USER, "SCRUBBED", "SCRUBBED", True)
    assert person["Email"].endswith("@example.com") and person["Id"] == user_part
    assert query["response"]["headers"]["Location"][0].startswith("https://orgname.my.salesforce.com/")
    assert "<met:sessionId>SCRUBBED</met:sessionId>" in soap["request"]["body"]
    assert "<consumerSecret>SCRUBBED</consumerSecret>" in soap["response"]["body"]["string"]
    profile_row = json.loads(profile_set["response"]["body"]["string"])
    assert profile_row["Name"] == "X%s_128_09_04_12_1" % profile_row["ProfileId"][:15]
    assert scrub.load(out / "run.yaml")["steps"] == ["connect", "apply"]


def test_a_value_left_unscrubbed_writes_nothing(tmp_path):
    class Careless(scrub.Context):
        def text(self, text):
            return text

    with pytest.raises(RuntimeError, match="nothing written"):
        write(tmp_path, exchanges(), Careless("https://test.salesforce.com", ADMIN, "3MVGconsumerkey"))
    assert not (tmp_path / "out").exists()


def test_an_exchange_without_an_answer_is_listed_and_one_the_hook_could_not_write_writes_nothing(tmp_path):
    lost = exchanges()[:1] + [dict(exchanges()[1], response=None, error="ConnectionError")]
    assert write(tmp_path, lost)[0] == 1
    assert scrub.load(tmp_path / "out" / "run.yaml")["unanswered"] == [
        "POST /services/data/v67.0/composite: ConnectionError"]
    (tmp_path / "raw" / "00000000000000000009-1.failed").write_text("OSError")
    with pytest.raises(RuntimeError, match="could not write"):
        scrub.write_run(tmp_path / "raw", tmp_path / "again", scrub.Context())
    assert not (tmp_path / "again").exists()


class _Answer(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers["Content-Length"])
        body = json.dumps({"echo": json.loads(self.rfile.read(length))}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_the_hook_records_each_exchange_of_any_session(tmp_path, monkeypatch):
    # Restored after the test: the hook replaces requests' adapter send for the whole process.
    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", requests.adapters.HTTPAdapter.send)
    monkeypatch.setenv("SFOPS_LIVE_RECORD_STEP", "probe")
    server = http.server.HTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        hook = load_module("sfops_live_recorder_probe", REPO / "tests" / "live" / "recorder" / "sitecustomize.py")
        hook.install(str(tmp_path))
        hook.install(str(tmp_path))  # twice: still one record per exchange
        url = "http://127.0.0.1:%d/services/data/v67.0/sobjects/Account" % server.server_port
        assert requests.Session().post(url, json={"Name": "x"}).json() == {"echo": {"Name": "x"}}
        requests.post(url, json={"Name": "y"})
    finally:
        server.shutdown()
    records = scrub.read_raw(tmp_path)
    assert [(r["step"], r["request"]["method"], r["request"]["url"], r["response"]["status"]) for r in records] == [
        ("probe", "POST", url, 201), ("probe", "POST", url, 201)]
    assert json.loads(records[0]["request"]["body"]) == {"Name": "x"}
    assert json.loads(records[1]["response"]["body"]) == {"echo": {"Name": "y"}}
    assert records[0]["response"]["headers"]["Content-Type"] == "application/json"

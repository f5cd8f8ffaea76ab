"""SOAP Metadata API subset: readMetadata / updateMetadata / upsertMetadata of ConnectedApp."""

import xml.etree.ElementTree as ET

import pytest

from conftest import API

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
MD = "http://soap.sforce.com/2006/04/metadata"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def q(name, ns=MD):
    return "{%s}%s" % (ns, name)


def soap(client, body, token=None, alias="org1", version=API):
    token = client.token(alias) if token is None else token
    env = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="%s" xmlns:xsi="%s">'
           '<soapenv:Header><SessionHeader xmlns="%s"><sessionId>%s</sessionId></SessionHeader></soapenv:Header>'
           '<soapenv:Body>%s</soapenv:Body></soapenv:Envelope>' % (SOAP, XSI, MD, token, body))
    return client.request("POST", "/services/Soap/m/%s" % version, data=env.encode(),
                          headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'})


def read(client, name, alias="org1"):
    r = soap(client, '<readMetadata xmlns="%s"><type>ConnectedApp</type><fullNames>%s</fullNames></readMetadata>'
             % (MD, name), alias=alias)
    assert r.status_code == 200, r.text
    root = ET.fromstring(r.content)
    recs = list(root.iter(q("records")))
    assert len(recs) == 1
    assert recs[0].get(q("type", XSI)) == "ConnectedApp"
    return recs[0]


def app_full_name(client, alias="org1"):
    # The Metadata fullName of "sfops Automation" is its API name
    return "sfops_Automation"


def update_policy(client, name, is_admin_approved=None, ip=None, refresh=None, alias="org1", op="updateMetadata"):
    cfg = "" if is_admin_approved is None else "<oauthConfig><isAdminApproved>%s</isAdminApproved></oauthConfig>" % (
        "true" if is_admin_approved else "false")
    pol = ""
    if ip or refresh:
        pol = "<oauthPolicy>%s%s</oauthPolicy>" % ("<ipRelaxation>%s</ipRelaxation>" % ip if ip else "",
                                                   "<refreshTokenPolicy>%s</refreshTokenPolicy>" % refresh
                                                   if refresh else "")
    body = ('<%s xmlns="%s"><metadata xsi:type="ConnectedApp"><fullName>%s</fullName><label>x</label>%s%s'
            '</metadata></%s>' % (op, MD, name, cfg, pol, op))
    r = soap(client, body, alias=alias)
    assert r.status_code == 200, r.text
    res = ET.fromstring(r.content).find(".//" + q("result"))
    out = {"success": res.findtext(q("success")), "fullName": res.findtext(q("fullName")),
           "created": res.findtext(q("created")),
           "errors": [(e.findtext(q("statusCode")), e.findtext(q("message"))) for e in res.findall(q("errors"))]}
    return out


def rest_app(client, name, alias="org1"):
    rows = client.query("SELECT Id, Name, OptionsAllowAdminApprovedUsersOnly, RefreshTokenValidityPeriod FROM "
                        "ConnectedApplication WHERE Name = '%s'" % name, alias=alias)["records"]
    return rows[0] if rows else None


def test_read_local_app(clean):
    rec = read(clean, app_full_name(clean))
    assert rec.findtext(q("fullName")) == app_full_name(clean)
    assert rec.find(q("oauthConfig")).findtext(q("isAdminApproved")) in ("true", "false")
    assert rec.find(q("oauthPolicy")).findtext(q("ipRelaxation")) in ("ENFORCE", "BYPASS_2FACTOR", "BYPASS",
                                                                       "ENFORCE_RELAXREFRESH")
    # children in WSDL order: fullName first, then alphabetical
    tags = [c.tag.split("}")[1] for c in rec]
    assert tags[0] == "fullName" and tags[1:] == sorted(tags[1:])


def test_round_trip_visible_over_rest(clean):
    before = rest_app(clean, "sfops Automation")
    target = not before["OptionsAllowAdminApprovedUsersOnly"]
    res = update_policy(clean, app_full_name(clean), is_admin_approved=target, ip="BYPASS",
                        refresh="specific_lifetime:90:DAYS")
    assert res["success"] == "true" and res["errors"] == [] and res["created"] is None
    after = rest_app(clean, "sfops Automation")
    assert after["OptionsAllowAdminApprovedUsersOnly"] is target
    rec = read(clean, app_full_name(clean))
    assert rec.find(q("oauthConfig")).findtext(q("isAdminApproved")) == ("true" if target else "false")
    pol = rec.find(q("oauthPolicy"))
    assert pol.findtext(q("ipRelaxation")) == "BYPASS"
    assert pol.findtext(q("refreshTokenPolicy")) == "specific_lifetime:90:DAYS"


def test_upsert_existing_reports_created_false(clean):
    res = update_policy(clean, app_full_name(clean), ip="ENFORCE", op="upsertMetadata")
    assert res["success"] == "true" and res["created"] == "false"


def test_missing_app_is_empty_record_and_update_fails(clean):
    rec = read(clean, "No_Such_App")
    assert len(list(rec)) == 0
    res = update_policy(clean, "No_Such_App", is_admin_approved=True)
    assert res["success"] == "false"
    assert res["errors"][0][0] == "INVALID_CROSS_REFERENCE_KEY"


@pytest.mark.parametrize("alias", ["org1", "org2"])
def test_third_party_app_not_editable_through_metadata(clean, alias):
    # Planhat is installed in odd orgs, only used in even orgs: either way not a metadata component of the org.
    assert len(list(read(clean, "Planhat", alias=alias))) == 0
    res = update_policy(clean, "Planhat", is_admin_approved=True, alias=alias)
    assert res["success"] == "false"


def test_bad_values_are_rejected(clean):
    res = update_policy(clean, app_full_name(clean), ip="SOMETIMES")
    assert res["success"] == "false" and res["errors"][0][0] == "FIELD_INTEGRITY_EXCEPTION"
    res = update_policy(clean, app_full_name(clean), refresh="forever")
    assert res["success"] == "false"


def test_invalid_session_is_soap_fault(clean):
    r = soap(clean, '<readMetadata xmlns="%s"><type>ConnectedApp</type></readMetadata>' % MD, token="00Dbogus!x")
    assert r.status_code == 500
    assert r.headers["Content-Type"].startswith("text/xml")
    fault = ET.fromstring(r.content).find(".//" + q("Fault", SOAP))
    assert fault.findtext("faultcode") == "sf:INVALID_SESSION_ID"
    assert fault.findtext("faultstring").startswith("INVALID_SESSION_ID")


@pytest.mark.parametrize("payload", [b"", b"not xml", b"<a/>",
                                     b'<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>'])
def test_garbage_is_a_client_fault_not_a_crash(clean, payload):
    r = clean.request("POST", "/services/Soap/m/%s" % API, data=payload, headers={"Content-Type": "text/xml"})
    assert r.status_code == 500
    assert ET.fromstring(r.content).find(".//" + q("Fault", SOAP)) is not None


def test_metadata_call_is_one_api_request(clean):
    clean.token()
    clean.control("DELETE", "stats")
    read(clean, app_full_name(clean))
    st = clean.stats()
    assert st["api_requests"] == 1 and st["by_resource"] == {"metadata/readMetadata": 1}

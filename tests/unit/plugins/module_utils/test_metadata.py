# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SOAP envelope building and parsing of the Metadata API helper (no network)."""

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.sfops.salesforce.plugins.module_utils import metadata as md
from ansible_collections.sfops.salesforce.plugins.module_utils.errors import SalesforceError

READ_ANSWER = '''<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="http://soap.sforce.com/2006/04/metadata"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><readMetadataResponse><result>
<records xsi:type="ConnectedApp"><fullName>Planhat</fullName><contactEmail>a@b.example</contactEmail><label>Planhat</label>
<oauthConfig><callbackUrl>https://app.planhat.example/cb</callbackUrl><consumerKey>3MVG9KEY</consumerKey>
<consumerSecret>SECRET123456</consumerSecret><scopes>Api</scopes></oauthConfig>
<permissionSetName>Old_Set</permissionSetName></records>
</result></readMetadataResponse></soapenv:Body></soapenv:Envelope>'''

EMPTY_READ = '''<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="http://soap.sforce.com/2006/04/metadata"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><readMetadataResponse><result><records xsi:nil="true"/>
</result></readMetadataResponse></soapenv:Body></soapenv:Envelope>'''

FAULT = '''<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com">
<soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_SESSION_ID</faultcode><faultstring>INVALID_SESSION_ID: Invalid Session ID
</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>'''

SAVE_REFUSED = '''<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="http://soap.sforce.com/2006/04/metadata">
<soapenv:Body><updateMetadataResponse><result><errors><message>You cannot edit a packaged connected app</message>
<statusCode>INSUFFICIENT_ACCESS</statusCode></errors><fullName>Planhat</fullName><success>false</success></result>
</updateMetadataResponse></soapenv:Body></soapenv:Envelope>'''


def test_read_envelope_escapes_names_and_session():
    text = md.envelope('00D!a<b&c', md.read_body('ConnectedApp', ['Tom & "Jerry" <app>']))
    root = ET.fromstring(text)  # well-formed despite the special characters
    assert root.find('.//' + md.q('sessionId')).text == '00D!a<b&c'
    assert root.find('.//' + md.q('fullNames')).text == 'Tom & "Jerry" <app>'
    assert root.find('.//' + md.q('type')).text == 'ConnectedApp'
    assert '<app>' not in text


def test_parse_read_returns_the_component_and_skips_nil_records():
    assert [r.findtext(md.q('fullName')) for r in md.parse_read(md.parse_xml(READ_ANSWER))] == ['Planhat']
    assert md.parse_read(md.parse_xml(EMPTY_READ)) == []


def test_secret_values_found_for_no_log():
    rec = md.parse_read(md.parse_xml(READ_ANSWER))[0]
    assert md.secret_values(rec) == ['SECRET123456']


def test_update_body_keeps_all_read_fields_and_sets_xsi_type():
    rec = md.parse_read(md.parse_xml(READ_ANSWER))[0]
    oauth = rec.find(md.q('oauthConfig'))
    md.set_child(oauth, 'isAdminApproved', 'true')
    body = md.update_body([rec])
    root = ET.fromstring(body)
    comp = root.find(md.q('metadata'))
    assert comp.get('{%s}type' % md.XSI_NS) == 'ConnectedApp'
    names = [md.local(c.tag) for c in comp]
    assert names == ['fullName', 'contactEmail', 'label', 'oauthConfig', 'permissionSetName']
    oauth_names = [md.local(c.tag) for c in comp.find(md.q('oauthConfig'))]
    # isAdminApproved goes between consumerSecret and scopes (the WSDL sequence is alphabetical)
    assert oauth_names == ['callbackUrl', 'consumerKey', 'consumerSecret', 'isAdminApproved', 'scopes']
    # the default namespace makes the unprefixed xsi:type QName resolve to the Metadata namespace
    assert 'xmlns="%s"' % md.MD_NS in body


@pytest.mark.parametrize('existing, name, expected', [
    ([], 'oauthPolicy', ['oauthPolicy']),
    (['fullName', 'label', 'permissionSetName'], 'oauthPolicy', ['fullName', 'label', 'oauthPolicy', 'permissionSetName']),
    (['fullName', 'startUrl'], 'oauthConfig', ['fullName', 'oauthConfig', 'startUrl']),
    (['fullName'], 'contactEmail', ['fullName', 'contactEmail']),
    (['fullName', 'oauthPolicy'], 'oauthPolicy', ['fullName', 'oauthPolicy']),
])
def test_set_child_inserts_in_schema_order(existing, name, expected):
    parent = ET.Element(md.q('records'))
    for child in existing:
        ET.SubElement(parent, md.q(child))
    md.set_child(parent, name, 'x')
    assert [md.local(c.tag) for c in parent] == expected
    assert parent.find(md.q(name)).text == 'x'


def test_fault_becomes_salesforce_error():
    err = md.fault_of(md.parse_xml(FAULT), 500)
    assert err.error_code == 'INVALID_SESSION_ID' and err.status == 500


def test_refused_save_result_is_parsed():
    res = md.parse_save_results(md.parse_xml(SAVE_REFUSED))
    assert res == [{'full_name': 'Planhat', 'success': False,
                    'errors': [{'error_code': 'INSUFFICIENT_ACCESS', 'message': 'You cannot edit a packaged connected app'}]}]


def test_dtd_is_refused():
    with pytest.raises(SalesforceError) as exc:
        md.parse_xml('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')
    assert exc.value.error_code == 'INVALID_RESPONSE'


def test_not_xml_is_a_clean_error():
    with pytest.raises(SalesforceError):
        md.parse_xml('<html><body>Bad gateway')


class FakeResp(object):
    def __init__(self, status, text):
        self.status_code, self.text = status, text


class FakeSession(object):
    def __init__(self, answers):
        self.answers = list(answers)
        self.sent = []

    verify = '/ca.pem'

    def post(self, url, data=None, headers=None, timeout=None, verify=None):
        assert verify == '/ca.pem'  # passed explicitly, never left to environment variables
        self.sent.append((url, data.decode('utf-8'), headers))
        return self.answers.pop(0)


class FakeAuth(object):
    def __init__(self, token):
        self.instance_url, self.api_version, self.access_token, self.can_reauthenticate = 'https://x.example', '67.0', token, True


class FakeClient(object):
    def __init__(self, answers):
        self.http = FakeSession(answers)
        self.timeout = 5
        self.api_requests = 0
        self.calls = []
        self.session = None
        self.logins = 0

    def login(self):
        if self.session is None:
            self.logins += 1
            self.session = FakeAuth('TOKEN%d' % self.logins)
        return self.session

    def relogin(self):  # as SalesforceClient.relogin
        if self.session is None or not self.session.can_reauthenticate:
            return False
        self.session = None
        self.login()
        return True


def test_client_read_registers_secrets_and_counts_requests():
    secrets = []
    client = FakeClient([FakeResp(200, READ_ANSWER)])
    comp = md.MetadataClient(client, register_secret=secrets.append).read('ConnectedApp', 'Planhat')
    assert comp.findtext(md.q('fullName')) == 'Planhat'
    assert secrets == ['SECRET123456']
    assert client.api_requests == 1
    url, body, headers = client.http.sent[0]
    assert url == 'https://x.example/services/Soap/m/67.0'
    assert headers['SOAPAction'] == '""' and headers['Content-Type'].startswith('text/xml')


def test_client_read_missing_component_is_none():
    client = FakeClient([FakeResp(200, EMPTY_READ)])
    assert md.MetadataClient(client).read('ConnectedApp', 'Nope') is None


def test_client_relogs_once_on_invalid_session():
    client = FakeClient([FakeResp(500, FAULT), FakeResp(200, READ_ANSWER)])
    assert md.MetadataClient(client).read('ConnectedApp', 'Planhat') is not None
    assert client.logins == 2 and 'TOKEN2' in client.http.sent[1][1]


def test_client_update_refusal_raises_with_status_code():
    client = FakeClient([FakeResp(200, SAVE_REFUSED)])
    rec = md.parse_read(md.parse_xml(READ_ANSWER))[0]
    with pytest.raises(SalesforceError) as exc:
        md.MetadataClient(client).update(rec, 'ConnectedApp')
    assert exc.value.error_code == 'INSUFFICIENT_ACCESS'
    # the request carried the secret back (full replace) but the error does not mention it
    assert 'SECRET123456' not in str(exc.value)


LIST_ANSWER = '''<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="http://soap.sforce.com/2006/04/metadata">
<soapenv:Body><listMetadataResponse><result><fileName>externalClientApps/Planhat.eca</fileName><fullName>Planhat</fullName>
<id>0xE000000000001</id><manageableState>installed</manageableState><type>ExternalClientApplication</type></result>
<result><fullName>Planhat_oauthPlcy</fullName><type>ExtlClntAppOauthConfigurablePolicies</type></result>
</listMetadataResponse></soapenv:Body></soapenv:Envelope>'''


def test_list_body_has_one_query_per_type():
    root = ET.fromstring(md.list_body(['ExternalClientApplication', 'A&B']))
    assert [q.findtext(md.q('type')) for q in root.findall(md.q('queries'))] == ['ExternalClientApplication', 'A&B']


def test_client_list_returns_file_properties():
    client = FakeClient([FakeResp(200, LIST_ANSWER)])
    listing = md.MetadataClient(client).list(['ExternalClientApplication', 'ExtlClntAppOauthConfigurablePolicies'])
    assert listing[0] == {'fileName': 'externalClientApps/Planhat.eca', 'fullName': 'Planhat', 'id': '0xE000000000001',
                          'manageableState': 'installed', 'type': 'ExternalClientApplication'}
    assert listing[1]['type'] == 'ExtlClntAppOauthConfigurablePolicies'
    assert client.api_requests == 1 and '<listMetadata ' in client.http.sent[0][1]


def test_client_read_all_returns_every_record():
    client = FakeClient([FakeResp(200, READ_ANSWER)])
    records = md.MetadataClient(client).read_all('ConnectedApp', ['Other', 'Planhat'])
    assert [r.findtext(md.q('fullName')) for r in records] == ['Planhat']


def test_remove_child_is_quiet_when_absent():
    rec = md.parse_read(md.parse_xml(READ_ANSWER))[0]
    md.remove_child(rec, 'permissionSetName')
    md.remove_child(rec, 'permissionSetName')
    assert rec.find(md.q('permissionSetName')) is None and rec.find(md.q('label')) is not None

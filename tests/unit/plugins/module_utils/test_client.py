# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import json
import re

import pytest
import requests

from ansible_collections.sfops.salesforce.plugins.module_utils import retry
from ansible_collections.sfops.salesforce.plugins.module_utils.client import SalesforceClient, parse_errors, row_failures, soql_quote
from ansible_collections.sfops.salesforce.plugins.module_utils.errors import SalesforceError
from ansible_collections.sfops.salesforce.tests.unit.fake_salesforce import Resp

PARAMS = {'auth_method': 'client_credentials', 'client_id': 'C', 'client_secret': 'S', 'login_url': 'https://login.example',
          'api_version': '67.0', 'retries': 2, 'validate_certs': True, 'timeout': 5}
TOKEN = {'access_token': 'TOKEN-1', 'instance_url': 'https://i.example', 'id': 'https://login.example/id/00D/005'}


class Script(object):
    """Answers requests from a list; records (method, path, params, body)."""

    def __init__(self, answers, tokens=None):
        self.answers = list(answers)
        self.tokens = list(tokens or [TOKEN])
        self.sent = []
        self.token_posts = 0
        self.forms = []
        self.verify = []

    def request(self, method, url, params=None, data=None, headers=None, timeout=None, verify=None):
        self.verify.append(verify)
        self.sent.append((method, url.replace('https://i.example', ''), params, json.loads(data) if data else None, headers))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def post(self, url, data=None, timeout=None, verify=None):
        self.verify.append(verify)
        self.token_posts += 1
        self.forms.append(dict(data or {}))
        return Resp(200, self.tokens.pop(0) if len(self.tokens) > 1 else self.tokens[0])


def make(answers, tokens=None, **params):
    script = Script(answers, tokens)
    client = SalesforceClient(dict(PARAMS, **params), register_secret=registered.append)
    client.http.request = script.request
    client.http.post = script.post
    client.sleep = sleeps.append
    return client, script


registered, sleeps = [], []


@pytest.fixture(autouse=True)
def _clear():
    del registered[:]
    del sleeps[:]


def err(status, code, message='m'):
    return Resp(status, [{'errorCode': code, 'message': message}])


def test_verify_maps_validate_certs_and_ca_path():
    assert SalesforceClient(dict(PARAMS, ca_path='/ca.pem')).verify == '/ca.pem'
    assert SalesforceClient(dict(PARAMS, validate_certs=False, ca_path='/ca.pem')).verify is False
    assert SalesforceClient(PARAMS).verify is True


class Wire(object):
    """requests' transport adapter replaced: what reaches the connection (after requests merged the session, the
    environment and the call's own settings), answered per resource."""

    def __init__(self):
        self.sent = []

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.sent.append({'method': request.method, 'url': request.url, 'verify': verify, 'timeout': timeout,
                          'headers': dict(request.headers)})
        path = request.path_url.split('?')[0]
        if path.endswith('/oauth2/token'):
            return self.answer(request, 200, TOKEN)
        if request.method in ('PATCH', 'DELETE') and '/sobjects/' in path and '/composite/' not in path:
            return self.answer(request, 204)
        if request.method == 'POST' and re.search(r'/sobjects/\w+/?$', path):
            return self.answer(request, 201, {'id': '001new', 'success': True, 'errors': []})
        if path.endswith('/composite/sobjects'):
            return self.answer(request, 200, [{'id': r['Id'], 'success': True, 'errors': []} for r in json.loads(request.body)['records']])
        if path.endswith('/composite'):
            subs = json.loads(request.body)['compositeRequest']
            return self.answer(request, 200, {'compositeResponse': [{'referenceId': sub['referenceId'], 'httpStatusCode': 200, 'body': {}}
                                                                    for sub in subs]})
        if '/query' in path:
            return self.answer(request, 200, {'totalSize': 0, 'done': True, 'records': []})
        return self.answer(request, 200, {'ok': 1})

    @staticmethod
    def answer(request, status, body=None):
        resp = requests.Response()
        resp.status_code, resp.url, resp.request = status, request.url, request
        resp._content = b'' if body is None else json.dumps(body).encode()  # pylint: disable=protected-access
        resp.headers['Content-Type'] = 'application/json;charset=UTF-8'
        return resp


def every_kind_of_call(client):
    client.query('SELECT Id FROM PermissionSet')
    client.describe('Account')
    client.create('Account', {'Name': 'A'})
    client.update('Account', '001x', {'Name': 'B'})
    client.delete('Account', '001x')
    client.get('limits')
    client.get('/services/oauth2/userinfo')
    client.composite([client.sub_query('q', 'SELECT Id FROM User')])
    client.collections_update([{'attributes': {'type': 'User'}, 'Id': '005x', 'IsActive': True}])


@pytest.mark.parametrize('options, verify', [(dict(ca_path='/ca.pem'), '/ca.pem'), (dict(validate_certs=False, ca_path='/ca.pem'), False)])
def test_ca_path_and_timeout_reach_every_connection_whatever_the_environment_says(monkeypatch, options, verify):
    """REQUESTS_CA_BUNDLE overrides a Session's verify when a call leaves verify unset (psf/requests#3829), and
    simple-salesforce leaves it unset on every call: the client's session fills in verify and timeout."""
    wire = Wire()
    monkeypatch.setattr(requests.adapters.HTTPAdapter, 'send', wire.send)
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', '/env/bundle.pem')
    monkeypatch.setenv('CURL_CA_BUNDLE', '/env/curl.pem')
    client = SalesforceClient(dict(PARAMS, **options))
    every_kind_of_call(client)
    assert len(wire.sent) == 10 and client.api_requests == 9 and client.token_requests == 1
    assert [(s['verify'], s['timeout']) for s in wire.sent] == [(verify, 5)] * 10
    # simple-salesforce asks for pretty-printed JSON by default: only bytes to parse, so the header is dropped.
    assert not any('X-PrettyPrint' in s['headers'] for s in wire.sent)
    assert all(s['headers']['Authorization'] == 'Bearer TOKEN-1' for s in wire.sent[1:])


def test_an_http_instance_url_is_kept_for_every_call(monkeypatch):
    """simple-salesforce writes https:// before the host; allow_http's local endpoints must still be reached."""
    wire = Wire()
    monkeypatch.setattr(requests.adapters.HTTPAdapter, 'send', wire.send)
    client = SalesforceClient(dict(PARAMS, auth_method='access_token', access_token='GIVEN', instance_url='http://127.0.0.1:8080',
                                   allow_http=True))
    every_kind_of_call(client)
    client.composite([{'method': 'GET', 'url': '/x', 'referenceId': 'r'}], allow_errors=True)
    urls = [s['url'] for s in wire.sent]
    assert len(urls) == 10 and all(u.startswith('http://127.0.0.1:8080/services/') for u in urls), urls
    assert urls[1] == 'http://127.0.0.1:8080/services/data/v67.0/sobjects/Account/describe'


@pytest.mark.parametrize('status, code, raised', [
    (300, 'MULTIPLE_CHOICES', 'SalesforceMoreThanOneRecord'),
    (400, 'INVALID_FIELD', 'SalesforceMalformedRequest'),
    (401, 'INVALID_AUTH_HEADER', 'SalesforceExpiredSession'),
    (403, 'INSUFFICIENT_ACCESS', 'SalesforceRefusedRequest'),
    (404, 'NOT_FOUND', 'SalesforceResourceNotFound'),
    (500, 'UNKNOWN_EXCEPTION', 'SalesforceGeneralError'),
])
@pytest.mark.parametrize('call', ['query', 'describe', 'create', 'update', 'delete', 'get', 'composite', 'userinfo'])
def test_typed_errors_of_simple_salesforce_keep_status_code_message_and_fields(status, code, raised, call):
    answer = Resp(status, [{'errorCode': code, 'message': 'No such column Foo', 'fields': ['Foo']}])
    # A 404 before any answer makes the client ask whether the org offers api_version at all: it does.
    client, script = make([answer, Resp(200, [{'version': '66.0'}, {'version': '67.0'}])], retries=0)
    calls = {'query': lambda: client.query('SELECT Foo FROM Account'), 'describe': lambda: client.describe('Account'),
             'create': lambda: client.create('Account', {'Name': 'A'}), 'update': lambda: client.update('Account', '001x', {'Foo': 1}),
             'delete': lambda: client.delete('Account', '001x'), 'get': lambda: client.get('sobjects/Account/001x'),
             'composite': lambda: client.collections_create([{'attributes': {'type': 'Account'}, 'Name': 'A'}]),
             'userinfo': lambda: client.get('/services/oauth2/userinfo')}
    with pytest.raises(SalesforceError) as exc:
        calls[call]()
    assert (exc.value.status, exc.value.error_code, exc.value.message, exc.value.fields) == (status, code, 'No such column Foo', ['Foo'])
    assert type(exc.value.__cause__).__name__ == raised
    assert client.api_requests == 1


def test_an_html_error_page_is_described_not_dumped():
    page = Resp(500)
    page.text = '<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body>...</body></html>'
    client = make([page], retries=0)[0]
    client._version_checked = True
    with pytest.raises(SalesforceError) as exc:
        client.describe('Account')
    assert (exc.value.status, exc.value.error_code) == (500, 'HTTP_500')
    assert exc.value.message == 'HTTP 500 (HTML page "Service Unavailable")'


def test_a_2xx_answer_that_is_not_json_is_an_invalid_response():
    page = Resp(200)
    page.text = 'OK'
    client = make([page])[0]
    with pytest.raises(SalesforceError) as exc:
        client.get('limits')
    assert exc.value.error_code == 'INVALID_RESPONSE' and exc.value.message == 'GET limits returned a body that is not JSON.'


def test_token_registered_and_sent_as_bearer():
    client, script = make([Resp(200, {'ok': 1})])
    assert client.get('limits') == {'ok': 1}
    assert registered == ['TOKEN-1']
    method, path, _p, _b, headers = script.sent[0]
    assert (method, path) == ('GET', '/services/data/v67.0/limits')
    assert headers['Authorization'] == 'Bearer TOKEN-1'
    assert client.token_requests == 1 and client.api_requests == 1


def test_query_follows_next_records_url():
    client, script = make([Resp(200, {'done': False, 'nextRecordsUrl': '/services/data/v67.0/query/01g-2', 'records': [{'Id': 1}]}),
                           Resp(200, {'done': True, 'records': [{'Id': 2}]})])
    assert client.query('SELECT Id FROM X') == [{'Id': 1}, {'Id': 2}]
    assert script.sent[0][2] == {'q': 'SELECT Id FROM X'} and script.sent[1][1] == '/services/data/v67.0/query/01g-2'


@pytest.mark.parametrize('answers, method, idempotent, expect_calls, ok', [
    ([err(503, 'SERVER_UNAVAILABLE'), Resp(200, {})], 'GET', None, 2, True),
    ([Resp(502), Resp(504), Resp(200, {})], 'GET', None, 3, True),
    ([Resp(502), Resp(200, {})], 'POST', False, 1, False),          # a 502 may hide an applied create
    ([Resp(503), Resp(200, {})], 'POST', False, 2, True),           # 503: not processed
    ([err(400, 'UNABLE_TO_LOCK_ROW'), Resp(200, {})], 'POST', False, 2, True),
    ([err(403, 'REQUEST_LIMIT_EXCEEDED')], 'GET', None, 1, False),   # never retried
    ([Resp(503), Resp(503), Resp(503)], 'GET', None, 3, False),     # bounded: retries=2
    ([err(400, 'MALFORMED_QUERY')], 'GET', None, 1, False),
    # connection refused: the request never left, so even a create is sent again
    ([requests.exceptions.ConnectionError(ConnectionRefusedError(111, 'refused')), Resp(200, {})], 'POST', False, 2, True),
    # a bare connection error may have been sent: a create is not repeated blindly
    ([requests.exceptions.ConnectionError('reset'), Resp(200, {})], 'POST', False, 1, False),
    ([requests.exceptions.ReadTimeout('slow'), Resp(200, {})], 'POST', False, 1, False),
    ([requests.exceptions.ReadTimeout('slow'), Resp(200, {})], 'GET', None, 2, True),
])
def test_retry_policy(answers, method, idempotent, expect_calls, ok):
    client, script = make(answers)
    if ok:
        client.request(method, 'x', body={} if method != 'GET' else None, idempotent=idempotent)
    else:
        with pytest.raises(SalesforceError):
            client.request(method, 'x', body={} if method != 'GET' else None, idempotent=idempotent)
    assert len(script.sent) == expect_calls
    assert len(sleeps) == expect_calls - 1
    assert all(0 <= s <= retry.DEFAULT_MAX_DELAY for s in sleeps)


@pytest.mark.parametrize('call, answer', [
    (lambda c: c.update('Account', '001x', {'Name': 'B'}), Resp(204)),                                 # SFType
    (lambda c: c.query('SELECT Id FROM User'), Resp(200, {'done': True, 'records': []})),             # query
    (lambda c: c.collections_delete(['001x']), Resp(200, [{'id': '001x', 'success': True, 'errors': []}])),  # restful
])
def test_after_a_relogin_simple_salesforce_sends_the_new_session_id(call, answer):
    tokens = [TOKEN, dict(TOKEN, access_token='TOKEN-2')]
    client, script = make([err(401, 'INVALID_SESSION_ID'), answer], tokens=tokens)
    call(client)
    assert [sent[4]['Authorization'] for sent in script.sent] == ['Bearer TOKEN-1', 'Bearer TOKEN-2']
    assert script.token_posts == 2 and client.policy.log[0][0] == retry.RELOGIN


def test_one_relogin_on_invalid_session():
    tokens = [TOKEN, dict(TOKEN, access_token='TOKEN-2')]
    client, script = make([err(401, 'INVALID_SESSION_ID'), Resp(200, {'ok': 1})], tokens=tokens)
    assert client.get('x') == {'ok': 1}
    assert script.token_posts == 2 and script.sent[1][4]['Authorization'] == 'Bearer TOKEN-2'
    assert registered == ['TOKEN-1', 'TOKEN-2']
    client, script = make([err(401, 'INVALID_SESSION_ID'), err(401, 'INVALID_SESSION_ID')], tokens=tokens)
    with pytest.raises(SalesforceError) as exc:
        client.get('x')
    assert exc.value.error_code == 'INVALID_SESSION_ID' and script.token_posts == 2


def test_no_relogin_with_a_given_access_token():
    client, script = make([err(401, 'INVALID_SESSION_ID')], auth_method='access_token', access_token='GIVEN', instance_url='https://i.example')
    with pytest.raises(SalesforceError):
        client.get('x')
    assert script.token_posts == 0 and len(script.sent) == 1


def test_connection_error_message_has_no_secret():
    client = make([requests.exceptions.ConnectionError('boom TOKEN-1')] * 3)[0]
    with pytest.raises(SalesforceError) as exc:
        client.get('x')
    assert 'TOKEN-1' not in str(exc.value) and exc.value.error_code == 'CONNECTION_ERROR'
    assert 'gave up after 3 attempts' in str(exc.value)


def test_tls_error_not_retried_and_named():
    client = make([requests.exceptions.SSLError('CERTIFICATE_VERIFY_FAILED')] * 3)[0]
    with pytest.raises(SalesforceError) as exc:
        client.get('x')
    assert 'TLS certificate verification failed' in exc.value.message
    assert client.api_requests == 1


def test_lost_create_answer_is_verified_before_resending():
    client, script = make([Resp(502), Resp(200, {'id': 'new'})])
    found = client.request('POST', 'sobjects/PermissionSet', body={'Name': 'X'}, verify=lambda: {'id': 'found'})
    assert found == {'id': 'found'} and len(script.sent) == 1


@pytest.mark.parametrize('status, payload, code, fields, message', [
    (400, [{'errorCode': 'INVALID_FIELD', 'message': 'No such column', 'fields': ['X']}], 'INVALID_FIELD', ['X'], 'No such column'),
    (400, [{'errorCode': 'A', 'message': 'one'}, {'errorCode': 'B', 'message': 'two'}], 'A', [], 'one; two'),
    (400, [{'statusCode': 'DUPLICATE_VALUE', 'message': 'dup'}], 'DUPLICATE_VALUE', [], 'dup'),
    (400, {'error': 'invalid_grant', 'error_description': 'bad'}, 'invalid_grant', [], 'bad'),
    (500, None, 'HTTP_500', [], 'HTTP 500'),
])
def test_parse_errors(status, payload, code, fields, message):
    error = parse_errors(status, payload, 'text')
    assert (error.status, error.error_code, error.fields) == (status, code, fields)
    assert message in error.message


def test_row_failures_put_culprits_first():
    results = [{'success': False, 'errors': [{'statusCode': 'ALL_OR_NONE_OPERATION_ROLLED_BACK', 'message': 'rolled back'}]},
               {'success': False, 'errors': [{'statusCode': 'FIELD_INTEGRITY_EXCEPTION', 'message': 'depends', 'fields': ['F']}]},
               {'success': True, 'id': 'x'}]
    failures = row_failures(results, ['a', 'b', 'c'])
    assert [f['error_code'] for f in failures] == ['FIELD_INTEGRITY_EXCEPTION', 'ALL_OR_NONE_OPERATION_ROLLED_BACK']
    assert failures[0]['id'] == 'b' and failures[0]['index'] == 1


def test_collections_chunk_by_200_and_raise_on_row_failure():
    rows = [{'attributes': {'type': 'FieldPermissions'}, 'Field': 'A.F%d' % i} for i in range(450)]
    answers = [Resp(200, [{'id': 'id%d' % i, 'success': True, 'errors': []} for i in range(n)]) for n in (200, 200, 50)]
    client, script = make(answers)
    assert len(client.collections_create(rows)) == 450
    assert [len(s[3]['records']) for s in script.sent] == [200, 200, 50]
    assert all(s[3]['allOrNone'] is True for s in script.sent)
    client, script = make([Resp(200, [{'success': False, 'errors': [{'statusCode': 'DUPLICATE_VALUE', 'message': 'dup'}]}])])
    with pytest.raises(SalesforceError) as exc:
        client.collections_delete(['x'])
    assert exc.value.error_code == 'DUPLICATE_VALUE' and exc.value.records[0]['id'] == 'x'
    assert script.sent[0][2] == {'ids': 'x', 'allOrNone': 'true'}


def test_composite_batches_respect_25_and_5_queries():
    client = make([Resp(200, {'access': 1})])[0]
    client.login()
    subs = [client.sub_query('q%d' % i, 'SELECT Id FROM X') for i in range(7)] + [client.sub_describe('d%d' % i, 'X') for i in range(30)]
    batches = list(client._composite_batches(subs))
    assert all(len(b) <= 25 for b in batches)
    assert all(sum('/query' in s['url'] for s in b) <= 5 for b in batches)
    assert sum(len(b) for b in batches) == 37


def test_composite_results_errors_and_paging():
    body = {'compositeResponse': [
        {'referenceId': 'q', 'httpStatusCode': 200, 'body': {'done': False, 'nextRecordsUrl': '/services/data/v67.0/query/n', 'records': [{'Id': 1}]}},
        {'referenceId': 'd', 'httpStatusCode': 404, 'body': [{'errorCode': 'NOT_FOUND', 'message': 'gone'}]},
    ]}
    client, script = make([Resp(200, body), Resp(200, {'done': True, 'records': [{'Id': 2}]})])
    res = client.composite([client.sub_query('q', "SELECT Id FROM X WHERE Name = 'a b'"), client.sub_describe('d', 'Nope')], allow_errors=True)
    assert [r['Id'] for r in res['q']['records']] == [1, 2]
    assert isinstance(res['d'], SalesforceError) and res['d'].error_code == 'NOT_FOUND'
    assert script.sent[0][3]['compositeRequest'][0]['url'] == '/services/data/v67.0/query?q=SELECT%20Id%20FROM%20X%20WHERE%20Name%20%3D%20%27a%20b%27'
    client = make([Resp(200, body), Resp(200, {'done': True, 'records': []})])[0]
    with pytest.raises(SalesforceError):
        client.composite([{'method': 'GET', 'url': '/x', 'referenceId': 'd'}])


def test_describe_cached():
    client, script = make([Resp(200, {'name': 'Account'})])
    assert client.describe('Account') == client.describe('account') == {'name': 'Account'}
    assert len(script.sent) == 1


@pytest.mark.parametrize('value, expected', [("O'Brien", "'O\\'Brien'"), ('a\\b', "'a\\\\b'"), ('plain', "'plain'")])
def test_soql_quote(value, expected):
    assert soql_quote(value) == expected


def test_lost_collections_create_found_by_natural_key_is_not_sent_again():
    rows = [{'attributes': {'type': 'ObjectPermissions'}, 'ParentId': '0PS000000000001AAA', 'SobjectType': 'Account', 'PermissionsRead': True},
            {'attributes': {'type': 'ObjectPermissions'}, 'ParentId': '0PS000000000001AAA', 'SobjectType': 'Contact', 'PermissionsRead': True}]
    existing = {'done': True, 'records': [{'Id': '110A', 'ParentId': '0PS000000000001AAA', 'SobjectType': 'Contact'},
                                          {'Id': '110B', 'ParentId': '0PS000000000001AAA', 'SobjectType': 'Account'}]}
    client, script = make([Resp(502), Resp(200, existing)])
    assert client.collections_create(rows) == ['110B', '110A']
    assert [s[0] for s in script.sent] == ['POST', 'GET']  # the create was not repeated
    assert "SobjectType IN ('Account', 'Contact')" in script.sent[1][2]['q']


def test_lost_create_not_found_is_sent_again():
    client, script = make([Resp(504), Resp(200, {'done': True, 'records': []}), Resp(201, {'id': '0PSnew', 'success': True})])
    assert client.create('PermissionSet', {'Name': 'X', 'Label': 'X'}) == '0PSnew'
    assert [s[0] for s in script.sent] == ['POST', 'GET', 'POST']


def test_lost_create_partially_found_fails():
    rows = [{'attributes': {'type': 'FieldPermissions'}, 'ParentId': '0PS1', 'Field': 'Account.%s' % f} for f in ('A', 'B')]
    client = make([Resp(502), Resp(200, {'done': True, 'records': [{'Id': '01k1', 'ParentId': '0PS1', 'Field': 'Account.A'}]})])[0]
    with pytest.raises(SalesforceError) as exc:
        client.collections_create(rows)
    assert exc.value.error_code == 'OUTCOME_UNKNOWN'


# --- a given token with a login method (issue #7) ---------------------------------------------------------------------
@pytest.fixture(scope='module')
def rsa_pem():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def _login_method(name, rsa_pem):
    """Options of a login method plus the token an earlier sf_login returned."""
    given = dict(access_token='GIVEN', instance_url='https://i.example')
    if name == 'jwt_bearer':
        return dict(given, auth_method='jwt_bearer', client_id='C', login_username='admin@x.example', private_key=rsa_pem,
                    client_secret=None), 'urn:ietf:params:oauth:grant-type:jwt-bearer'
    return dict(given, auth_method='password', client_id='C', client_secret='S', login_username='admin@x.example',
                login_password='P'), 'password'


@pytest.mark.parametrize('method', ['jwt_bearer', 'password'])
def test_given_token_first_then_one_relogin_on_invalid_session(method, rsa_pem):
    params, grant = _login_method(method, rsa_pem)
    client, script = make([Resp(200, {'a': 1}), Resp(200, {'b': 2}), err(401, 'INVALID_SESSION_ID'), Resp(200, {'c': 3}),
                           Resp(200, {'d': 4})], **params)
    # The token is used as given: no token request while it is accepted.
    assert client.get('one') == {'a': 1} and client.get('two') == {'b': 2}
    assert script.token_posts == 0 and client.token_requests == 0
    # Revoked: one new login with the method, the request is sent again with the new token, and the run goes on.
    assert client.get('three') == {'c': 3}
    assert script.token_posts == 1 and client.token_requests == 1
    assert script.forms[0]['grant_type'] == grant
    assert client.get('four') == {'d': 4}
    bearers = [sent[4]['Authorization'] for sent in script.sent]
    assert bearers == ['Bearer GIVEN'] * 3 + ['Bearer TOKEN-1'] * 2
    assert 'GIVEN' in registered and 'TOKEN-1' in registered  # both masked in the module's output
    assert client.api_requests == 5 and client.policy.log[0][0] == retry.RELOGIN


@pytest.mark.parametrize('method', ['jwt_bearer', 'password'])
def test_given_token_relogin_happens_once_per_request(method, rsa_pem):
    params, _grant = _login_method(method, rsa_pem)
    client, script = make([err(401, 'INVALID_SESSION_ID'), err(401, 'INVALID_SESSION_ID')], **params)
    with pytest.raises(SalesforceError) as exc:
        client.get('x')
    assert exc.value.error_code == 'INVALID_SESSION_ID'
    assert script.token_posts == 1 and len(script.sent) == 2


def test_given_token_dropped_session_logs_in_with_the_method_not_the_token(rsa_pem):
    """What metadata.py does after a SOAP INVALID_SESSION_ID: drop the session, log in again."""
    params, grant = _login_method('password', rsa_pem)
    client, script = make([], **params)
    assert client.login().access_token == 'GIVEN' and client.login().can_reauthenticate is True
    client.session = None
    assert client.login().access_token == 'TOKEN-1'
    assert script.token_posts == 1 and script.forms[0]['grant_type'] == grant


def test_given_token_refused_relogin_is_an_auth_error_without_secrets(rsa_pem):
    params, _grant = _login_method('password', rsa_pem)
    params.update(access_token='GIVEN-SECRET-TOKEN', client_secret='CLIENT-SECRET-VALUE', login_password='PASSWORD-VALUE')
    client, script = make([err(401, 'INVALID_SESSION_ID')], **params)
    client.http.post = lambda url, data=None, timeout=None, verify=None: Resp(400, {'error': 'invalid_grant',
                                                                                    'error_description': 'authentication failure'})
    with pytest.raises(SalesforceError) as exc:
        client.get('x')
    assert exc.value.error_code == 'invalid_grant' and len(script.sent) == 1
    text = '%s %s' % (exc.value, exc.value.message)
    for secret in ('GIVEN-SECRET-TOKEN', 'CLIENT-SECRET-VALUE', 'PASSWORD-VALUE'):
        assert secret not in text


def test_access_token_method_still_fails_clearly_on_invalid_session():
    client, script = make([err(401, 'INVALID_SESSION_ID', 'Session expired or invalid')], auth_method='access_token',
                          access_token='GIVEN', instance_url='https://i.example', client_id='C', client_secret='S')
    with pytest.raises(SalesforceError) as exc:
        client.get('x')
    assert exc.value.error_code == 'INVALID_SESSION_ID' and exc.value.status == 401
    assert script.token_posts == 0 and len(script.sent) == 1 and client.policy.log == []


def _revoking(answers):
    """A client whose POSTs to /services/oauth2/revoke are answered from ``answers`` (token requests as usual)."""
    client, script = make([])
    token_post = script.post
    revokes = []

    def post(url, data=None, timeout=None, verify=None):
        if not url.endswith('/services/oauth2/revoke'):
            return token_post(url, data=data, timeout=timeout, verify=verify)
        revokes.append((url, dict(data)))
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer
    client.http.post = post
    return client, revokes


def test_revoke_posts_the_token_as_a_form_to_the_instance():
    client, revokes = _revoking([Resp(200, None)])
    client.revoke('DT-SECRET')
    assert revokes == [('https://i.example/services/oauth2/revoke', {'token': 'DT-SECRET'})]
    assert client.calls == [('POST', '/services/oauth2/revoke')]


def test_revoke_sent_again_after_a_lost_answer_takes_unknown_token_as_done():
    unknown = Resp(400, {'error': 'unsupported_token_type', 'error_description': 'this token type is not supported'})
    client, revokes = _revoking([requests.exceptions.ReadTimeout('lost'), unknown])
    client.revoke('DT-SECRET')
    assert len(revokes) == 2


def test_revoke_of_an_unknown_token_fails_with_its_code():
    unknown = Resp(400, {'error': 'unsupported_token_type', 'error_description': 'this token type is not supported'})
    client, _revokes = _revoking([unknown])
    with pytest.raises(SalesforceError) as exc:
        client.revoke('DT-SECRET')
    assert exc.value.error_code == 'unsupported_token_type' and 'DT-SECRET' not in str(exc.value)

# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Table-driven tests of the retry policy, with a fake clock and a deterministic jitter."""

from __future__ import absolute_import, division, print_function

import socket
import ssl

import pytest

from ansible_collections.sfops.salesforce.plugins.module_utils import retry
from ansible_collections.sfops.salesforce.plugins.module_utils.errors import SalesforceError
from ansible_collections.sfops.salesforce.plugins.module_utils.retry import (
    FAIL, RELOGIN, RETRY, STOP, VERIFY, RetryPolicy, lookup_soql, match_existing, natural_key)

try:
    import requests
    import urllib3
except ImportError:  # pragma: no cover - the unit environment has requests (collection requirement)
    requests = None
    urllib3 = None

needs_requests = pytest.mark.skipif(requests is None, reason='requests is not installed')


def err(status, code, message='boom'):
    return SalesforceError(status, code, message)


class FakeClock(object):
    """Records sleeps instead of sleeping."""

    def __init__(self):
        self.slept = []

    def __call__(self, seconds):
        self.slept.append(seconds)


def upper(low, high):
    """Deterministic 'jitter' that always picks the upper bound, so delays are the exponential envelope."""
    return high


def policy(retries=3, backoff=0.5, max_delay=8.0, rand=upper):
    clock = FakeClock()
    return RetryPolicy(retries=retries, backoff=backoff, max_delay=max_delay, sleep=clock, rand=rand), clock


# --- classification of HTTP answers ------------------------------------------------------------------------------
HTTP_CASES = [
    # status, errorCode, retryable, may_have_applied (for a write)
    (503, 'SERVER_UNAVAILABLE', True, False),
    (503, 'HTTP_503', True, False),
    (502, 'HTTP_502', True, True),
    (504, 'HTTP_504', True, True),
    (400, 'UNABLE_TO_LOCK_ROW', True, False),
    (500, 'UNABLE_TO_LOCK_ROW', True, False),
    (403, 'REQUEST_LIMIT_EXCEEDED', False, False),
    (401, 'INVALID_SESSION_ID', False, False),
    (400, 'INVALID_FIELD', False, False),
    (400, 'FIELD_INTEGRITY_EXCEPTION', False, False),
    (404, 'NOT_FOUND', False, False),
    (500, 'UNKNOWN_EXCEPTION', False, False),
    (400, 'DUPLICATE_VALUE', False, False),
    (403, 'INSUFFICIENT_ACCESS', False, False),
]


@pytest.mark.parametrize('status,code,retryable,applied', HTTP_CASES)
def test_http_classification(status, code, retryable, applied):
    assert RetryPolicy.is_retryable(status, code) is retryable
    assert RetryPolicy.is_retryable(exc=err(status, code)) is retryable
    if retryable:
        assert RetryPolicy.may_have_applied(status, code) is applied


DECIDE_CASES = [
    # status, errorCode, idempotent, decision
    (503, 'SERVER_UNAVAILABLE', False, RETRY),
    (503, 'SERVER_UNAVAILABLE', True, RETRY),
    (504, 'HTTP_504', True, RETRY),
    (504, 'HTTP_504', False, VERIFY),
    (502, 'HTTP_502', False, VERIFY),
    (400, 'UNABLE_TO_LOCK_ROW', False, RETRY),
    (401, 'INVALID_SESSION_ID', False, RELOGIN),
    (401, 'INVALID_SESSION_ID', True, RELOGIN),
    (403, 'REQUEST_LIMIT_EXCEEDED', True, STOP),
    (403, 'REQUEST_LIMIT_EXCEEDED', False, STOP),
    (400, 'INVALID_FIELD', True, FAIL),
    (500, 'UNKNOWN_EXCEPTION', True, FAIL),
]


@pytest.mark.parametrize('status,code,idempotent,decision', DECIDE_CASES)
def test_decide(status, code, idempotent, decision):
    pol, dummy = policy()
    assert pol.decide(err(status, code), idempotent) == decision


# --- classification of transport exceptions ----------------------------------------------------------------------
def builtin_cases():
    gai = socket.gaierror(socket.EAI_NONAME, 'Name or service not known')
    return [
        # exception, retryable, may_have_applied
        (ConnectionResetError(104, 'Connection reset by peer'), True, True),
        (ConnectionRefusedError(111, 'Connection refused'), True, False),
        (TimeoutError('timed out'), True, True),
        (BrokenPipeError(32, 'Broken pipe'), True, True),
        (gai, False, False),
        (ssl.SSLCertVerificationError(1, 'certificate verify failed: unable to get local issuer certificate'), False, False),
        (ValueError('not a transport error'), False, True),
        (KeyError('x'), False, True),
    ]


@pytest.mark.parametrize('index', range(len(builtin_cases())))
def test_builtin_exceptions(index):
    exc, retryable, applied = builtin_cases()[index]
    assert RetryPolicy.is_retryable(exc=exc) is retryable
    if retryable:
        assert RetryPolicy.may_have_applied(exc=exc) is applied


def requests_cases():
    if requests is None:
        return []
    proto = urllib3.exceptions.ProtocolError('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))
    refused = urllib3.exceptions.NewConnectionError(None, 'Failed to establish a new connection: [Errno 111] Connection refused')
    cert = urllib3.exceptions.SSLError(ssl.SSLCertVerificationError(1, 'certificate verify failed'))
    return [
        # name, exception, retryable, may_have_applied, decision for a create
        ('reset after send', requests.exceptions.ConnectionError(proto), True, True, VERIFY),
        ('refused', requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, '/x', refused)), True, False, RETRY),
        ('connect timeout', requests.exceptions.ConnectTimeout('connect timed out'), True, False, RETRY),
        ('read timeout', requests.exceptions.ReadTimeout('read timed out'), True, True, VERIFY),
        ('truncated body', requests.exceptions.ChunkedEncodingError(proto), True, True, VERIFY),
        ('certificate', requests.exceptions.SSLError(urllib3.exceptions.MaxRetryError(None, '/x', cert)), False, None, FAIL),
        ('bad url', requests.exceptions.InvalidURL('bad'), False, None, FAIL),
        ('no schema', requests.exceptions.MissingSchema('no schema'), False, None, FAIL),
    ]


@needs_requests
@pytest.mark.parametrize('index', range(8))
def test_requests_exceptions(index):
    name, exc, retryable, applied, decision = requests_cases()[index]
    assert RetryPolicy.is_retryable(exc=exc) is retryable, name
    if applied is not None:
        assert RetryPolicy.may_have_applied(exc=exc) is applied, name
    pol, dummy = policy()
    assert pol.decide(exc, idempotent=False) == decision, name
    # A read is never verified: it is simply sent again (or fails).
    assert pol.decide(exc, idempotent=True) == (RETRY if retryable else FAIL), name


@needs_requests
def test_wrapped_connection_error_is_classified_by_its_cause():
    cause = requests.exceptions.ConnectionError(
        urllib3.exceptions.ProtocolError('Connection aborted.', ConnectionResetError(104, 'reset')))
    wrapped = SalesforceError(None, 'CONNECTION_ERROR', 'POST composite/sobjects failed')
    wrapped.__cause__ = cause
    pol, dummy = policy()
    assert pol.decide(wrapped, idempotent=True) == RETRY
    assert pol.decide(wrapped, idempotent=False) == VERIFY
    tls = SalesforceError(None, 'CONNECTION_ERROR', 'GET query failed')
    tls.__cause__ = requests.exceptions.SSLError('certificate verify failed')
    assert pol.decide(tls, idempotent=True) == FAIL


def test_transport_messages_never_echo_the_exception_text():
    # Exception texts can hold URLs with query strings; the message only names the class.
    exc = ConnectionResetError(104, 'reset on https://x.example/?token=00Dxx!secret')
    text = retry.transport_error_message(exc)
    assert 'secret' not in text and 'ConnectionResetError' in text
    assert 'certificate' in retry.transport_error_message(ssl.SSLCertVerificationError(1, 'certificate verify failed'))


# --- delays ----------------------------------------------------------------------------------------------------
DELAY_CASES = [
    # retries, backoff, max_delay, envelope
    (3, 0.5, 8.0, [0.5, 1.0, 2.0]),
    (6, 0.5, 8.0, [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]),
    (4, 1.0, 3.0, [1.0, 2.0, 3.0, 3.0]),
    (0, 0.5, 8.0, []),
    (2, 0.0, 8.0, [0.0, 0.0]),
]


@pytest.mark.parametrize('retries,backoff,max_delay,envelope', DELAY_CASES)
def test_delays_follow_the_capped_exponential(retries, backoff, max_delay, envelope):
    pol, dummy = policy(retries, backoff, max_delay)
    assert list(pol.delays()) == envelope


def test_full_jitter_draws_between_zero_and_the_envelope():
    calls = []

    def rand(low, high):
        calls.append((low, high))
        return (low + high) / 2.0

    pol, dummy = policy(4, 0.5, 1.5, rand=rand)
    assert list(pol.delays()) == [0.25, 0.5, 0.75, 0.75]
    assert calls == [(0, 0.5), (0, 1.0), (0, 1.5), (0, 1.5)]


def test_real_jitter_stays_in_bounds():
    pol = RetryPolicy(retries=5, backoff=0.5, max_delay=2.0)
    for dummy in range(200):
        for attempt, delay in enumerate(pol.delays()):
            assert 0 <= delay <= min(2.0, 0.5 * 2 ** attempt)


@pytest.mark.parametrize('params,expected', [
    ({}, (3, 0.5, 8.0)),
    ({'retries': None, 'retry_backoff': None, 'retry_max_delay': None}, (3, 0.5, 8.0)),
    ({'retries': 0, 'retry_backoff': 2, 'retry_max_delay': 30}, (0, 2.0, 30.0)),
    ({'retries': 5, 'retry_backoff': 0.1, 'retry_max_delay': 1}, (5, 0.1, 1.0)),
    ({'retries': -1}, (0, 0.5, 8.0)),
])
def test_from_params(params, expected):
    pol = RetryPolicy.from_params(params)
    assert (pol.retries, pol.backoff, pol.max_delay) == expected


# --- the loop ----------------------------------------------------------------------------------------------------
class Script(object):
    """``send`` that raises the scripted exceptions in order, then returns 'OK'."""

    def __init__(self, outcomes):
        self.outcomes = list(outcomes)
        self.sends = 0

    def __call__(self):
        self.sends += 1
        outcome = self.outcomes.pop(0) if self.outcomes else 'OK'
        if isinstance(outcome, BaseException):
            raise outcome  # pylint: disable=raising-bad-type
        return outcome


def e503():
    return err(503, 'SERVER_UNAVAILABLE', 'We are down for maintenance.')


def e504():
    return err(504, 'HTTP_504', 'HTTP 504 gateway timeout')


def elock():
    return err(400, 'UNABLE_TO_LOCK_ROW', 'unable to obtain exclusive access to this record or 1 records')


def esession():
    return err(401, 'INVALID_SESSION_ID', 'Session expired or invalid')


def elimit():
    return err(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.')


# name, outcomes, idempotent, verify results (None = no verify), relogin result, retries,
#   expected: (result or error code, sends, sleeps, verify calls, relogin calls)
LOOP_CASES = [
    ('clean', [], True, None, True, 3, ('OK', 1, 0, 0, 0)),
    ('503 then ok', [e503(), e503()], True, None, True, 3, ('OK', 3, 2, 0, 0)),
    ('lock on a create is resent without lookup', [elock()], False, None, True, 3, ('OK', 2, 1, 0, 0)),
    ('503 on a create is resent without lookup', [e503()], False, [], True, 3, ('OK', 2, 1, 0, 0)),
    ('503 until retries are spent', [e503()] * 4, True, None, True, 3, ('SERVER_UNAVAILABLE', 4, 3, 0, 0)),
    ('no retries', [e503()], True, None, True, 0, ('SERVER_UNAVAILABLE', 1, 0, 0, 0)),
    ('request limit stops at once', [elimit(), e503()], True, None, True, 3, ('REQUEST_LIMIT_EXCEEDED', 1, 0, 0, 0)),
    ('request limit after a retry', [e503(), elimit()], True, None, True, 3, ('REQUEST_LIMIT_EXCEEDED', 2, 1, 0, 0)),
    ('expired session: one re-login', [esession()], True, None, True, 3, ('OK', 2, 0, 0, 1)),
    ('expired twice: fails', [esession(), esession()], True, None, True, 3, ('INVALID_SESSION_ID', 2, 0, 0, 1)),
    ('cannot re-login', [esession()], True, None, False, 3, ('INVALID_SESSION_ID', 1, 0, 0, 1)),
    ('re-login then 503', [esession(), e503()], True, None, True, 3, ('OK', 3, 1, 0, 1)),
    ('504 on a create: found by lookup, not resent', [e504()], False, ['FOUND'], True, 3, ('FOUND', 1, 1, 1, 0)),
    ('504 on a create: absent, resent', [e504()], False, [None], True, 3, ('OK', 2, 1, 1, 0)),
    ('504 twice on a create: absent, absent, resent', [e504(), e504()], False, [None, None], True, 3, ('OK', 3, 2, 2, 0)),
    ('504 on a create without lookup: outcome unknown', [e504()], False, None, True, 3, ('OUTCOME_UNKNOWN', 1, 0, 0, 0)),
    ('504 on an update is resent', [e504()], True, None, True, 3, ('OK', 2, 1, 0, 0)),
    ('not transient', [err(400, 'INVALID_FIELD')], True, None, True, 3, ('INVALID_FIELD', 1, 0, 0, 0)),
    ('reset after send on a read', [ConnectionResetError(104, 'reset')], True, None, True, 3, ('OK', 2, 1, 0, 0)),
    ('reset after send on a create: found', [ConnectionResetError(104, 'reset')], False, ['FOUND'], True, 3,
     ('FOUND', 1, 1, 1, 0)),
    ('refused before send on a create: resent', [ConnectionRefusedError(111, 'refused')], False, [], True, 3,
     ('OK', 2, 1, 0, 0)),
]


@pytest.mark.parametrize('case', LOOP_CASES, ids=[c[0] for c in LOOP_CASES])
def test_call(case):
    name, outcomes, idempotent, verify_results, relogin_result, retries, expected = case
    pol, clock = policy(retries=retries)
    send = Script(outcomes)
    verify_calls = []
    relogin_calls = []

    def verify():
        verify_calls.append(len(clock.slept))
        return verify_results.pop(0)

    def relogin():
        relogin_calls.append(1)
        return relogin_result

    want_result, want_sends, want_sleeps, want_verifies, want_relogins = expected
    try:
        result = pol.call(send, idempotent=idempotent, verify=verify if verify_results is not None else None,
                          relogin=relogin, what='POST composite/sobjects')
    except SalesforceError as exc:
        result = exc.error_code
    except OSError as exc:  # a transport exception that was not retried
        result = type(exc).__name__
    assert (result, send.sends, len(clock.slept), len(verify_calls), len(relogin_calls)) == \
        (want_result, want_sends, want_sleeps, want_verifies, want_relogins), name
    # The lookup happens after the delay, never before it.
    assert all(slept >= 1 for slept in verify_calls)
    assert clock.slept == [0.5, 1.0, 2.0][:want_sleeps]


def edup():
    return SalesforceError(400, 'DUPLICATE_VALUE', 'create failed for 1 row(s): duplicate value found',
                           records=[{'index': 0, 'id': None, 'error_code': 'DUPLICATE_VALUE', 'message': 'duplicate'}])


@pytest.mark.parametrize('outcomes,lookups,expected', [
    # lost answer, lookup finds nothing, resent, refused as duplicate: the late row is the result
    ([e504(), edup()], [None, 'FOUND'], ('FOUND', 2, 2)),
    # the second lookup finds nothing either: the duplicate error is not hidden
    ([e504(), edup()], [None, None], ('DUPLICATE_VALUE', 2, 2)),
    # a duplicate without any lost answer before it is a plain error (no lookup)
    ([edup()], [], ('DUPLICATE_VALUE', 1, 0)),
])
def test_duplicate_after_a_resend_is_looked_up(outcomes, lookups, expected):
    pol, dummy = policy()
    send = Script(outcomes)
    calls = []

    def verify():
        calls.append(1)
        return lookups.pop(0)

    try:
        result = pol.call(send, idempotent=False, verify=verify)
    except SalesforceError as exc:
        result = exc.error_code
    assert (result, send.sends, len(calls)) == expected


def test_messages_say_what_happened():
    pol, dummy = policy(retries=2)
    with pytest.raises(SalesforceError) as info:
        pol.call(Script([e503()] * 5))
    assert 'gave up after 3 attempts' in info.value.message
    with pytest.raises(SalesforceError) as info:
        pol.call(Script([elimit()]))
    assert 'not retried' in info.value.message and 'API allowance' in info.value.message
    with pytest.raises(SalesforceError) as info:
        pol.call(Script([e504()]), idempotent=False, what='POST composite/sobjects')
    assert info.value.error_code == 'OUTCOME_UNKNOWN'
    assert 'POST composite/sobjects' in info.value.message and 'not sent again' in info.value.message
    assert 'Re-run' in info.value.hint


def test_log_records_each_retry():
    pol, dummy = policy()
    pol.call(Script([e503(), esession()]), relogin=lambda: True, what='GET query')
    assert [d for d, dummy_what, dummy_text in pol.log] == [RETRY, RELOGIN]


def test_unknown_exceptions_are_not_swallowed():
    pol, clock = policy()
    with pytest.raises(KeyError):
        pol.call(Script([KeyError('bug')]))
    assert clock.slept == []


# --- natural keys ------------------------------------------------------------------------------------------------
PS = '0PS000000000001AAA'
PS15 = PS[:15]
USER = '005000000000001AAA'


@pytest.mark.parametrize('sobject,record,key', [
    ('PermissionSet', {'Name': 'Planhat_Integration', 'Label': 'x'}, ('planhat_integration',)),
    ('ObjectPermissions', {'ParentId': PS, 'SobjectType': 'Account'}, (PS15, 'account')),
    ('ObjectPermissions', {'ParentId': PS15, 'SobjectType': 'account'}, (PS15, 'account')),
    ('FieldPermissions', {'ParentId': PS, 'SobjectType': 'Account', 'Field': 'Account.Industry'}, (PS15, 'account.industry')),
    ('PermissionSetAssignment', {'AssigneeId': USER, 'PermissionSetId': PS}, (USER[:15], PS15)),
    ('User', {'Username': 'Planhat.Integration@Example.com'}, ('planhat.integration@example.com',)),
    ('Account', {'Name': 'x'}, None),
])
def test_natural_key(sobject, record, key):
    assert natural_key(sobject, record) == key


def test_lookup_and_match():
    records = [{'attributes': {'type': 'ObjectPermissions'}, 'ParentId': PS, 'SobjectType': 'Account'},
               {'attributes': {'type': 'ObjectPermissions'}, 'ParentId': PS, 'SobjectType': 'Contact'},
               {'attributes': {'type': 'ObjectPermissions'}, 'ParentId': PS, 'SobjectType': "O'Brien__c"}]
    soql = lookup_soql('ObjectPermissions', records)
    assert soql == ("SELECT Id, ParentId, SobjectType FROM ObjectPermissions WHERE ParentId IN ('%s') AND "
                    "SobjectType IN ('Account', 'Contact', 'O\\'Brien__c')" % PS)
    rows = [{'Id': '110000000000001AAA', 'ParentId': PS, 'SobjectType': 'Contact'},
            {'Id': '110000000000002AAA', 'ParentId': '0PS000000000009AAA', 'SobjectType': 'Account'}]
    assert match_existing('ObjectPermissions', records, rows) == [None, '110000000000001AAA', None]
    assert lookup_soql('Account', records) is None
    assert lookup_soql('ObjectPermissions', []) is None


# --- the policy wired into the client ------------------------------------------------------------------------------
class HtmlResp(object):
    """A non-JSON answer, like Salesforce's maintenance page."""

    def __init__(self, status, text):
        self.status_code = status
        self.text = text
        self.content = text.encode()
        self.url = 'https://i.example/'
        self.headers = {'Content-Type': 'text/html'}

    def json(self, **kwargs):
        raise ValueError('not JSON')


MAINTENANCE = HtmlResp(503, '<!DOCTYPE HTML><html><head><title>Down for maintenance</title></head><body>We are down</body></html>')
TOKEN_BODY = {'access_token': 'TOKEN-1', 'instance_url': 'https://i.example', 'id': 'https://login.example/id/00D/005'}
CLIENT_PARAMS = {'auth_method': 'client_credentials', 'client_id': 'C', 'client_secret': 'S', 'login_url': 'https://login.example',
                 'api_version': '67.0', 'retries': 2, 'validate_certs': True, 'timeout': 5}


class FakeHttp(object):
    """Scripted answers for the client's requests.Session: token POSTs, API requests and GETs apart."""

    def __init__(self, answers=(), tokens=(), gets=()):
        self.answers, self.tokens, self.gets = list(answers), list(tokens), list(gets)
        self.sent, self.token_posts = [], 0

    @staticmethod
    def _give(answer):
        if isinstance(answer, BaseException):
            raise answer  # pylint: disable=raising-bad-type
        return answer

    def request(self, method, url, params=None, data=None, headers=None, timeout=None, verify=None):
        self.sent.append((method, url.replace('https://i.example', ''), params, data))
        return self._give(self.answers.pop(0))

    def post(self, url, data=None, timeout=None, verify=None, headers=None):
        if '/services/Soap/' in url:
            self.sent.append(('POST', url.replace('https://i.example', ''), None, data))
            return self._give(self.answers.pop(0))
        self.token_posts += 1
        return self._give(self.tokens.pop(0) if self.tokens else _resp(200, TOKEN_BODY))

    def get(self, url, timeout=None, verify=None):
        return self._give(self.gets.pop(0))


def _resp(status, body):
    from ansible_collections.sfops.salesforce.tests.unit.fake_salesforce import Resp
    return Resp(status, body)


def client_with(http, **params):
    from ansible_collections.sfops.salesforce.plugins.module_utils.client import SalesforceClient
    client = SalesforceClient(dict(CLIENT_PARAMS, **params))
    # The session's own post sits behind the client's wrapper (which gives SOAP calls the retry policy).
    client.http.request, client._session_post, client.http.get = http.request, http.post, http.get
    client.policy.rand = upper
    slept = []
    client.sleep = slept.append
    return client, slept


def reset_after_send():
    if requests is None:
        return ConnectionResetError(104, 'reset')
    return requests.exceptions.ConnectionError(urllib3.exceptions.ProtocolError('Connection aborted.', ConnectionResetError(104, 'reset')))


def test_token_request_is_retried_on_503():
    http = FakeHttp([_resp(200, {'ok': 1})], tokens=[MAINTENANCE, MAINTENANCE, _resp(200, TOKEN_BODY)])
    client, slept = client_with(http)
    assert client.get('limits') == {'ok': 1}
    assert http.token_posts == 3 and slept == [0.5, 1.0]


def test_token_request_gives_up_with_a_readable_message():
    http = FakeHttp(tokens=[MAINTENANCE] * 5)
    client, slept = client_with(http)
    with pytest.raises(SalesforceError) as info:
        client.get('limits')
    assert http.token_posts == 3 and len(slept) == 2
    msg = info.value.message
    assert 'HTTP 503' in msg and 'Down for maintenance' in msg and 'gave up after 3 attempts' in msg and 'DOCTYPE' not in msg


def test_row_lock_in_a_collections_answer_is_retried():
    locked = _resp(200, [{'success': False, 'errors': [{'statusCode': 'UNABLE_TO_LOCK_ROW', 'message': 'unable to obtain exclusive access'}]},
                         {'success': False, 'errors': [{'statusCode': 'ALL_OR_NONE_OPERATION_ROLLED_BACK', 'message': 'rolled back'}]}])
    http = FakeHttp([locked, _resp(200, [{'success': True, 'id': 'A'}, {'success': True, 'id': 'B'}])])
    client, slept = client_with(http)
    rows = [{'attributes': {'type': 'ObjectPermissions'}, 'ParentId': PS, 'SobjectType': 'Account', 'PermissionsRead': True},
            {'attributes': {'type': 'ObjectPermissions'}, 'ParentId': PS, 'SobjectType': 'Contact', 'PermissionsRead': True}]
    assert client.collections_create(rows) == ['A', 'B']
    assert [s[0] for s in http.sent] == ['POST', 'POST'] and slept == [0.5]


def test_lost_create_answer_found_by_natural_key_is_not_sent_again():
    rows = [{'attributes': {'type': 'PermissionSetAssignment'}, 'AssigneeId': USER, 'PermissionSetId': PS}]
    found = _resp(200, {'totalSize': 1, 'done': True, 'records': [{'Id': '0Pa000000000001AAA', 'AssigneeId': USER, 'PermissionSetId': PS}]})
    http = FakeHttp([reset_after_send(), found])
    client, dummy = client_with(http)
    assert client.collections_create(rows) == ['0Pa000000000001AAA']
    sent = [(s[0], s[1].split('?')[0]) for s in http.sent]
    assert sent == [('POST', '/services/data/v67.0/composite/sobjects'), ('GET', '/services/data/v67.0/query/')]


def test_delete_sent_again_after_a_lost_answer_accepts_rows_already_gone():
    gone = _resp(200, [{'success': False, 'id': 'X1', 'errors': [{'statusCode': 'INVALID_CROSS_REFERENCE_KEY', 'message': 'invalid cross reference id'}]}])
    http = FakeHttp([reset_after_send(), gone])
    client, dummy = client_with(http)
    client.collections_delete(['X1'])
    assert [s[2]['allOrNone'] for s in http.sent] == ['true', 'false']


def test_single_delete_sent_again_accepts_not_found():
    http = FakeHttp([reset_after_send(), _resp(404, [{'errorCode': 'NOT_FOUND', 'message': 'The requested resource does not exist'}])],
                    gets=[_resp(200, [{'version': '67.0'}])])
    client, dummy = client_with(http)
    client.delete('PermissionSet', PS)
    assert len(http.sent) == 2


def test_a_first_delete_that_finds_nothing_still_fails():
    gone = _resp(200, [{'success': False, 'id': 'X1', 'errors': [{'statusCode': 'INVALID_CROSS_REFERENCE_KEY', 'message': 'invalid cross reference id'}]}])
    client, dummy = client_with(FakeHttp([gone]))
    with pytest.raises(SalesforceError) as info:
        client.collections_delete(['X1'])
    assert info.value.error_code == 'INVALID_CROSS_REFERENCE_KEY'


def test_missing_write_permission_is_named():
    refused = _resp(200, [{'success': False, 'errors': [{'statusCode': 'INSUFFICIENT_ACCESS_OR_READONLY',
                                                         'message': 'insufficient access rights on object id'}]}])
    client, dummy = client_with(FakeHttp([refused]))
    with pytest.raises(SalesforceError) as info:
        client.collections_create([{'attributes': {'type': 'PermissionSetAssignment'}, 'AssigneeId': USER, 'PermissionSetId': PS}])
    assert 'Assign Permission Sets' in info.value.hint


def test_api_version_the_org_does_not_offer():
    from ansible_collections.sfops.salesforce.plugins.module_utils.errors import InputError
    versions = _resp(200, [{'version': '65.0'}, {'version': '66.0'}, {'version': '67.0'}])
    http = FakeHttp([_resp(404, [{'errorCode': 'NOT_FOUND', 'message': 'The requested resource does not exist'}])], gets=[versions])
    client, dummy = client_with(http, api_version='99.0')
    with pytest.raises(InputError) as info:
        client.get('limits')
    assert '99.0' in info.value.message and '67.0' in info.value.hint


def test_a_plain_not_found_stays_not_found():
    versions = _resp(200, [{'version': '67.0'}])
    http = FakeHttp([_resp(404, [{'errorCode': 'NOT_FOUND', 'message': 'The requested resource does not exist'}])], gets=[versions])
    client, dummy = client_with(http)
    with pytest.raises(SalesforceError) as info:
        client.get('sobjects/Account/001000000000001AAA')
    assert info.value.error_code == 'NOT_FOUND'


def test_missing_ca_path_is_named(tmp_path):
    from ansible_collections.sfops.salesforce.plugins.module_utils.errors import InputError
    missing = str(tmp_path / 'no-ca.pem')
    http = FakeHttp(tokens=[OSError('Could not find a suitable TLS CA certificate bundle, invalid path: %s' % missing)])
    client, dummy = client_with(http, ca_path=missing)
    with pytest.raises(InputError) as info:
        client.get('limits')
    assert missing in info.value.message and 'ca_path' in info.value.message


COMPOSITE_CREATE = [{'method': 'POST', 'url': '/services/data/v67.0/sobjects/User', 'referenceId': 'newUser',
                     'body': {'Username': 'planhat.integration@example.com', 'LastName': 'Integration'}},
                    {'method': 'POST', 'url': '/services/data/v67.0/sobjects/PermissionSetLicenseAssign', 'referenceId': 'psl0',
                     'body': {'AssigneeId': '@{newUser.id}', 'PermissionSetLicenseId': '0PL000000000001AAA'}}]


def test_lost_composite_create_not_applied_is_sent_again():
    none = _resp(200, {'totalSize': 0, 'done': True, 'records': []})
    ok = _resp(200, {'compositeResponse': [{'referenceId': 'newUser', 'httpStatusCode': 201, 'body': {'id': USER}},
                                           {'referenceId': 'psl0', 'httpStatusCode': 201, 'body': {'id': '2LA000000000001AAA'}}]})
    http = FakeHttp([reset_after_send(), none, ok])
    client, dummy = client_with(http)
    assert client.composite(COMPOSITE_CREATE, all_or_none=True)['newUser'] == {'id': USER}
    assert [s[0] for s in http.sent] == ['POST', 'GET', 'POST']


def test_lost_composite_create_that_was_applied_stops_and_says_so():
    found = _resp(200, {'totalSize': 1, 'done': True, 'records': [{'Id': USER, 'Username': 'planhat.integration@example.com'}]})
    http = FakeHttp([reset_after_send(), found])
    client, dummy = client_with(http)
    with pytest.raises(SalesforceError) as info:
        client.composite(COMPOSITE_CREATE, all_or_none=True)
    assert info.value.error_code == 'OUTCOME_UNKNOWN' and 'was created' in info.value.message
    assert [s[0] for s in http.sent] == ['POST', 'GET']


def test_soap_calls_get_the_retry_policy():
    soap_ok = HtmlResp(200, '<soapenv:Envelope/>')
    http = FakeHttp([MAINTENANCE, reset_after_send(), soap_ok])
    client, slept = client_with(http)
    resp = client.http.post('https://i.example/services/Soap/m/67.0', data='<readMetadata/>', timeout=5, verify=True,
                            headers={'SOAPAction': '""'})
    assert resp is soap_ok and len(http.sent) == 3 and slept == [0.5, 1.0]


def test_soap_call_gives_up_with_a_readable_message():
    client, dummy = client_with(FakeHttp([MAINTENANCE] * 3))
    with pytest.raises(SalesforceError) as info:
        client.http.post('https://i.example/services/Soap/m/67.0', data='<readMetadata/>')
    assert 'Down for maintenance' in info.value.message and 'gave up after 3 attempts' in info.value.message

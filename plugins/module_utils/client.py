# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""REST transport: simple-salesforce on one ``requests.Session`` per module run, bounded retries, typed errors.

FOR INTERNAL COLLECTION USE ONLY: the interface may change in any release.

What simple-salesforce carries: a ``simple_salesforce.Salesforce`` built on this client's session (``session_id`` +
``instance_url``: it never logs in itself) sends SOQL (``query``/``query_more``), sObject create/update/delete and
describe (``SFType``) and every other REST call under ``/services/data/vXX.X/`` (``restful``, composite and sObject
Collections included); its typed exceptions become the collection's ``SalesforceError``.  What stays here, because
simple-salesforce lacks it: the composite and sObject Collections bodies (batching into 25/5 and 200, per-row
failures, paging inside composite answers), the retry policy (retry.py: simple-salesforce retries nothing but a
re-login of its own flows), the login flows (auth.py: its helpers build ``https://{domain}.salesforce.com`` URLs, so
they cannot reach a custom login URL) and the SOAP Metadata envelope (metadata.py: its ``mdapi`` parses the WSDL with
zeep).  One keep-alive session makes the token request, the SOAP calls and the REST calls share a TLS connection.

Request budget: reads are batched into child-relationship subqueries or one ``composite`` call, writes into sObject
Collections calls of 200 rows.  ``api_requests`` and ``token_requests`` count what was sent (tests and the
benchmark read them).
"""

import functools
import json
import os
import re
import time
from urllib.parse import quote

try:
    import requests
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised by the sanity import test
    requests = None
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = exc

try:
    import simple_salesforce
    from simple_salesforce.api import SFType
    from simple_salesforce.util import call_salesforce
    HAS_SIMPLE_SALESFORCE = True
    SIMPLE_SALESFORCE_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised by the sanity import test
    simple_salesforce = None
    HAS_SIMPLE_SALESFORCE = False
    SIMPLE_SALESFORCE_IMPORT_ERROR = exc

from .auth import authenticate
from .errors import InputError, SalesforceError
from .retry import RETRY_STATUS, RetryPolicy, lookup_soql, match_existing, transport_error_message

COLLECTION_CHUNK = 200  # sObject Collections limit per call (REST API Developer Guide, sObject Collections)
COMPOSITE_MAX = 25  # subrequests per composite call
COMPOSITE_MAX_QUERIES = 5  # of which at most 5 query/queryAll/collections subrequests
# What the automation user needs to write each setup object (docs/security.md section 1); named in the hint of an
# INSUFFICIENT_ACCESS_OR_READONLY refusal so the operator knows what to grant.
WRITE_PERMISSION = {
    'User': 'Manage Internal Users',
    'UserLogin': 'Manage Users',
    'PermissionSetLicenseAssign': 'Manage Users',
    'PermissionSetAssignment': 'Assign Permission Sets',
    'PermissionSet': 'Manage Profiles and Permission Sets',
    'PermissionSetGroup': 'Manage Profiles and Permission Sets',
    'ObjectPermissions': 'Manage Profiles and Permission Sets',
    'FieldPermissions': 'Manage Profiles and Permission Sets',
    'SetupEntityAccess': 'Manage Profiles and Permission Sets',
}
# A row that is already gone when a delete is sent again after a lost answer: the first attempt deleted it.
GONE_ERROR_CODES = ('ENTITY_IS_DELETED', 'INVALID_CROSS_REFERENCE_KEY', 'NOT_FOUND')
_TITLE = re.compile(r'<title>\s*([^<]{1,120}?)\s*</title>', re.IGNORECASE)
_SOBJECT_POST = re.compile(r'/sobjects/(\w+)/?$')
# simple-salesforce asks for pretty-printed JSON on every call (X-PrettyPrint: 1); the indentation only adds bytes to
# parse (a describe is hundreds of kB).  A None header is dropped by requests when it merges the request's headers.
PLAIN_JSON = {'X-PrettyPrint': None}
# requests.exceptions.JSONDecodeError derives from the decoder requests uses (json's or simplejson's): a 2xx answer
# whose body is not JSON; the other ValueErrors of requests (InvalidURL, ...) are transport errors.
_NOT_JSON = (json.JSONDecodeError, requests.exceptions.JSONDecodeError) if requests else (json.JSONDecodeError,)


def parse_errors(status, payload, text=''):
    """Build a SalesforceError from a REST error body (a JSON array of ``{message, errorCode, fields}``)."""
    items = payload if isinstance(payload, list) else [payload] if isinstance(payload, dict) else []
    items = [i for i in items if isinstance(i, dict)]
    if not items:
        return SalesforceError(status, 'HTTP_%s' % status, 'HTTP %s %s' % (status, describe_body(text)))
    first = items[0]
    code = first.get('errorCode') or first.get('statusCode') or first.get('error') or 'HTTP_%s' % status
    messages = []
    fields = []
    for item in items:
        msg = item.get('message') or item.get('error_description') or ''
        if msg and msg not in messages:
            messages.append(msg)
        fields.extend(f for f in item.get('fields') or [] if f not in fields)
    return SalesforceError(status, code, '; '.join(messages) or code, fields)


def from_simple_salesforce(exc):
    """The collection's SalesforceError for an error simple-salesforce raised.

    It raises one class per status (SalesforceMoreThanOneRecord 300, SalesforceMalformedRequest 400,
    SalesforceExpiredSession 401, SalesforceRefusedRequest 403, SalesforceResourceNotFound 404, SalesforceGeneralError
    for the rest) with the answer's decoded JSON, or its text, in ``content``: errorCode, message and fields come from
    that body exactly as from any other answer, so the messages, hints and retry decisions stay the same.
    """
    content = exc.content
    if isinstance(content, bytes):
        content = content.decode('utf-8', 'replace')
    if isinstance(content, str):
        return parse_errors(exc.status, None, content)
    return parse_errors(exc.status, content, json.dumps(content))


def describe_body(text):
    """A short, single-line description of a non-JSON answer: the title of an HTML page (Salesforce's maintenance
    page for a 503), else the start of the text."""
    text = (text or '').strip()
    title = _TITLE.search(text)
    if title:
        return '(HTML page "%s")' % title.group(1)
    if text.lower().startswith(('<!doctype', '<html')):
        return '(an HTML page)'
    return text.replace('\n', ' ')[:200]


def row_failures(results, ids=None):
    """Per-row failures of an sObject Collections answer (SaveResults use ``statusCode``)."""
    failures = []
    for index, result in enumerate(results or []):
        if result.get('success'):
            continue
        for err in result.get('errors') or [{}]:
            # With allOrNone the innocent rows only say "rolled back": report the real culprits first.
            failures.append({'index': index, 'id': result.get('id') or (ids[index] if ids and index < len(ids) else None),
                             'error_code': err.get('statusCode') or err.get('errorCode'), 'message': err.get('message'),
                             'fields': err.get('fields') or []})
    failures.sort(key=lambda f: f['error_code'] == 'ALL_OR_NONE_OPERATION_ROLLED_BACK')
    return failures


def chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def soql_quote(value):
    """Quote a string literal for SOQL (backslash and single quote are the characters that need escaping)."""
    return "'%s'" % str(value).replace('\\', '\\\\').replace("'", "\\'")


def soql_in(values):
    return '(%s)' % ', '.join(soql_quote(v) for v in values)


class SalesforceClient(object):
    """Authenticated REST client.

    :param params: the module params (auth + connection options, see ``auth.AUTH_ARGSPEC``).
    :param register_secret: callable receiving every token obtained at run time (``module.no_log_values.add``).
    """

    def __init__(self, params, register_secret=None):
        self.params = params
        self.register_secret = register_secret or (lambda value: None)
        self.http = requests.Session()
        verify = bool(params.get('validate_certs', True))
        if verify and params.get('ca_path'):
            verify = params['ca_path']
        # Passed on every call, not only set on the session: requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override
        # Session.verify when a call leaves verify unset (psf/requests#3829), which would silently drop ca_path and
        # validate_certs=false in execution environments that export those variables.
        self.verify = verify
        self.http.verify = verify
        self.timeout = params.get('timeout') or 30
        # simple-salesforce sends on this session but passes neither verify nor timeout (its SFType calls take no
        # requests arguments): the session fills them in for every call that leaves them unset.
        self._session_request = self.http.request
        self.http.request = self._request
        # SOAP Metadata API calls (module_utils/metadata.py) post on this session: give them the retry policy too.
        self._session_post = self.http.post
        self.http.post = self._post
        self.http.headers.update({'Accept': 'application/json', 'User-Agent': 'sfops.salesforce'})
        # retries/backoff come from the module params; sleep goes through self.sleep so tests can replace it.
        self.policy = RetryPolicy.from_params(params, sleep=self._sleep)
        self.session = None
        self._given_token_used = False  # see login()
        self.api_requests = 0
        self.token_requests = 0
        self.calls = []  # (method, resource) of every API request, for tests and the benchmark
        self._describes = {}
        self._version_checked = False
        self._salesforce = None  # (session, the simple_salesforce.Salesforce on it): see _sf()
        self.sleep = time.sleep  # replaced by tests

    def _sleep(self, seconds):
        self.sleep(seconds)

    def _request(self, method, url, **kwargs):
        kwargs.setdefault('timeout', self.timeout)
        kwargs.setdefault('verify', self.verify)
        return self._session_request(method, url, **kwargs)

    # --- authentication ---------------------------------------------------------------------------------------
    def _post_token(self, url, form):
        """POST the token request under the retry policy (a token request is harmless to repeat: each issues a new
        session); 502/503/504 and transport errors are retried, an OAuth refusal is returned to auth.py."""

        def send():
            self.token_requests += 1
            try:
                resp = self.http.post(url, data=form, timeout=self.timeout, verify=self.verify)
            except requests.exceptions.RequestException as exc:
                error = SalesforceError(None, 'CONNECTION_ERROR', 'Cannot reach the token endpoint %s: %s.' % (url, transport_error_message(exc)))
                error.cause = exc
                raise error from exc
            except OSError as exc:
                raise self._local_error(exc) from exc
            if resp.status_code in RETRY_STATUS:
                raise SalesforceError(resp.status_code, 'HTTP_%s' % resp.status_code, 'The token endpoint %s answered HTTP %s %s.'
                                      % (url, resp.status_code, describe_body(resp.text)))
            try:
                payload = resp.json()
            except ValueError:
                payload = None
            return resp.status_code, payload

        return self.policy.call(send, idempotent=True, what='POST /services/oauth2/token')

    def _local_error(self, exc):
        """An OSError raised before anything was sent (requests' own exceptions are handled by the caller): a ca_path
        that does not exist is the one an operator causes."""
        ca_path = self.params.get('ca_path')
        if isinstance(self.verify, str) and ca_path and not os.path.exists(ca_path):
            return InputError('ca_path %s does not exist.' % ca_path,
                              hint='Give a PEM file (or a directory of hashed PEM files) of the certificate authorities to trust, '
                                   'or leave ca_path unset to use the system ones.')
        return SalesforceError(None, 'CONNECTION_ERROR', 'The request could not be prepared (%s); check ca_path and the URLs.'
                               % type(exc).__name__)

    def _post(self, url, data=None, **kwargs):
        """``http.post`` for everyone: SOAP calls are retried under the policy (readMetadata and updateMetadata set
        absolute values, so repeating them is harmless); anything else goes straight through."""
        if '/services/Soap/' not in url:
            return self._session_post(url, data=data, **kwargs)
        what = 'POST /services/Soap/m'

        def send():
            try:
                resp = self._session_post(url, data=data, **kwargs)
            except requests.exceptions.RequestException as exc:
                error = SalesforceError(None, 'CONNECTION_ERROR', 'The Metadata API call failed: %s.' % transport_error_message(exc))
                error.cause = exc
                raise error from exc
            if resp.status_code in RETRY_STATUS:
                raise SalesforceError(resp.status_code, 'HTTP_%s' % resp.status_code, 'The Metadata API answered HTTP %s %s.'
                                      % (resp.status_code, describe_body(resp.text)))
            return resp

        return self.policy.call(send, idempotent=True, what=what)

    def login(self):
        """Authenticate (once) and return the ``auth.Session``.

        A token given with a login method (``access_token`` + ``instance_url``, e.g. sf_login's) is used first,
        without a token request; once ``relogin`` has dropped a session after INVALID_SESSION_ID, the next call logs
        in with the method, never with the given token again.
        """
        if self.session is None:
            self.session = authenticate(self.params, self._post_token, use_given_token=not self._given_token_used)
            self._given_token_used = True
            # Every token, given or obtained here, is masked in the module's output (no_log_values).
            self.register_secret(self.session.access_token)
        return self.session

    @property
    def api_version(self):
        return self.login().api_version

    @property
    def base(self):
        return '/services/data/v%s' % self.api_version

    def _sf(self):
        """The ``simple_salesforce.Salesforce`` of the current session, on this client's requests.Session.

        Given ``session_id`` and ``instance_url`` it never logs in by itself (logins are auth.py's); it is built again
        once ``relogin`` has replaced the session, so every request after a re-login carries the new session id.
        """
        session = self.login()
        if self._salesforce is None or self._salesforce[0] is not session:
            sf = simple_salesforce.Salesforce(instance_url=session.instance_url, session_id=session.access_token,
                                              version=session.api_version, session=self.http, object_pairs_hook=None)
            # simple-salesforce writes https://<host>/ before every path; the instance_url as given is the same URL for
            # https:// and keeps a local http:// endpoint (allow_http) reachable.
            sf.base_url = '%s%s/' % (session.instance_url, self.base)
            self._salesforce = (session, sf)
        return self._salesforce[1]

    @staticmethod
    def _sobject(sf, sobject):
        """simple-salesforce's SFType of ``sobject``, on the base URL of ``sf``."""
        handle = SFType(sobject, None, sf.sf_instance, sf_version=sf.sf_version, session=sf.session, salesforce=sf,
                        object_pairs_hook=None)
        handle.base_url = '%ssobjects/%s/' % (sf.base_url, sobject)
        return handle

    def _rest_path(self, path):
        """``path`` relative to /services/data/vXX.X/, or None for a resource outside it or an absolute URL."""
        if path.startswith(('http://', 'https://')):
            return None
        if not path.startswith('/services/'):
            return path.lstrip('/')
        base = self.base + '/'
        return path[len(base):] if path.startswith(base) else None

    # --- the one place that sends API requests; retry decisions come from retry.RetryPolicy ---------------------
    def request(self, method, path, params=None, body=None, idempotent=None, verify=None):
        """Send one API request under the retry policy; return the decoded JSON (None for 204).

        :param idempotent: whether repeating the request is harmless; defaults to True for GET/HEAD.
        :param verify: for a create whose answer was lost, ``verify() -> result or None`` looks the rows up
            before the request is sent again (see retry.RetryPolicy.call); without it such a create fails as
            "outcome unknown" rather than risk a duplicate.
        Retried per retry.py: 502/503/504, UNABLE_TO_LOCK_ROW and transport errors with backoff and jitter;
        one new login on INVALID_SESSION_ID when the auth method can log in again; REQUEST_LIMIT_EXCEEDED never.
        Sent with simple-salesforce's ``restful`` (paths under /services/data/vXX.X/) or its ``call_salesforce``.
        """
        method = method.upper()
        return self._call(method, path, functools.partial(self._rest, method, path, params, body), idempotent, verify)

    def _call(self, method, path, call, idempotent=None, verify=None):
        """Run ``call(sf)``, one API request through simple-salesforce, under the retry policy (see ``request``)."""
        if idempotent is None:
            idempotent = method in ('GET', 'HEAD')
        what = '%s %s' % (method, path.split('?')[0])
        # Log in first, outside this request's retries: the token request has its own (see _post_token), and a
        # login that fails must not be repeated once more for every retry of the request.
        self.login()
        return self.policy.call(lambda: self._send(method, path, what, call), idempotent=idempotent,
                                verify=verify, relogin=self.relogin, what=what)

    def relogin(self):
        """Drop the session and log in again, when the auth options allow it; False when they do not.  The one
        re-login path of REST (retry.RetryPolicy) and SOAP (metadata.py) calls."""
        if self.session is None or not self.session.can_reauthenticate:
            return False
        self.session = None
        self.login()
        return True

    def _rest(self, method, path, params, body, sf):
        """A generic REST call: ``restful`` under /services/data/vXX.X/; ``call_salesforce`` for the few resources
        outside it (the version list ``/services/data/``, ``/services/oauth2/userinfo``), which restful cannot name."""
        data = json.dumps(body) if body is not None else None
        rest_path = self._rest_path(path)
        if rest_path is not None:
            return sf.restful(rest_path, params=params, method=method, data=data, headers=PLAIN_JSON)
        url = path if path.startswith(('http://', 'https://')) else self.session.instance_url + path
        resp = call_salesforce(url, method, self.http, dict(sf.headers, **PLAIN_JSON), params=params, data=data)
        return resp.json() if resp.status_code != 204 and resp.content else None

    def _send_rest(self, method, path, params, body, what):
        return self._send(method, path, what, functools.partial(self._rest, method, path, params, body))

    def _send(self, method, path, what, call):
        """One attempt: ``call(sf)`` on the session's simple_salesforce.Salesforce.  Raises SalesforceError for every
        non-2xx answer and every transport failure."""
        self.api_requests += 1
        self.calls.append((method, path.split('?')[0]))
        try:
            result = call(self._sf())
        except _NOT_JSON as exc:  # before RequestException: requests' JSONDecodeError is one
            raise SalesforceError(None, 'INVALID_RESPONSE', '%s returned a body that is not JSON.' % what) from exc
        except simple_salesforce.SalesforceError as exc:
            error = from_simple_salesforce(exc)
            if exc.status == 404 and error.error_code == 'NOT_FOUND' and not self._version_checked:
                raise (self._unsupported_version() or error) from exc
            raise error from exc
        except requests.exceptions.RequestException as exc:
            # The message is built from the exception class only: its text may hold URLs and is never needed.
            error = SalesforceError(None, 'CONNECTION_ERROR', '%s failed: %s.' % (what, transport_error_message(exc)))
            error.cause = exc  # retry.py classifies the wrapped transport error (sent or not, TLS, DNS)
            raise error from exc
        except OSError as exc:
            raise self._local_error(exc) from exc
        self._version_checked = True  # the org answered at this api_version
        return result

    def _unsupported_version(self):
        """After a 404: an InputError when the org does not offer api_version at all (GET /services/data/ needs no
        session and is not an API request), else None."""
        self._version_checked = True
        try:
            resp = self.http.get(self.login().instance_url + '/services/data/', timeout=self.timeout, verify=self.verify)
            versions = [str(v.get('version')) for v in resp.json()]
        except (requests.exceptions.RequestException, ValueError, TypeError, AttributeError):
            return None
        if not versions or self.api_version in versions:
            return None
        return InputError('api_version %s is not offered by this org (it offers %s to %s).' % (self.api_version, versions[0], versions[-1]),
                          hint='Set api_version to %s or another version the org offers.' % versions[-1])

    # --- convenience ------------------------------------------------------------------------------------------
    def get(self, path, params=None):
        return self.request('GET', path, params=params)

    def query(self, soql):
        """All records of ``soql``: simple-salesforce's ``query``, then ``query_more`` per further page.  Not
        ``query_all``: each page is one request under the retry policy, so a failed page is sent again alone."""
        page = self._call('GET', 'query', lambda sf: sf.query(soql, headers=PLAIN_JSON))
        records = list(page.get('records') or [])
        while not page.get('done', True) and page.get('nextRecordsUrl'):
            page = self._next_page(page['nextRecordsUrl'])
            records.extend(page.get('records') or [])
        return records

    def _next_page(self, next_records_url):
        """The page at ``nextRecordsUrl`` (of a query or a composite query subrequest) through ``query_more``, given
        its cursor: from a URL, query_more would build an https://<host> URL instead of using the base URL."""
        cursor = next_records_url.rstrip('/').rsplit('/', 1)[-1]
        deleted = '/queryAll/' in next_records_url
        return self._call('GET', next_records_url, lambda sf: sf.query_more(cursor, include_deleted=deleted, headers=PLAIN_JSON))

    def describe(self, sobject):
        """Full describe of ``sobject`` (cached for the run)."""
        key = sobject.lower()
        if key not in self._describes:
            self._describes[key] = self._call('GET', 'sobjects/%s/describe' % sobject,
                                              lambda sf: self._sobject(sf, sobject).describe(headers=PLAIN_JSON))
        return self._describes[key]

    def cached_describe(self, sobject):
        return self._describes.get(sobject.lower())

    def remember_describe(self, sobject, describe):
        self._describes[sobject.lower()] = describe

    def limits(self):
        return self._call('GET', 'limits', lambda sf: sf.limits(headers=PLAIN_JSON))

    def create(self, sobject, fields):
        verify = None
        if lookup_soql(sobject, [fields]):
            def verify():
                found = self._verify_created([dict(fields, attributes={'type': sobject})])
                return {'id': found[0]['id']} if found else None
        return self._call('POST', 'sobjects/%s' % sobject, lambda sf: self._sobject(sf, sobject).create(fields, headers=PLAIN_JSON),
                          verify=verify)['id']

    def _verify_created(self, records):
        """After a create whose answer was lost: SaveResults when every row now exists, None when none does.

        Rows are found by their natural key (retry.NATURAL_KEYS).  A partial match cannot come from one allOrNone
        call, so it means someone else is writing too: fail rather than guess.
        """
        ids = [None] * len(records)
        groups = {}
        for index, rec in enumerate(records):
            groups.setdefault(rec['attributes']['type'], []).append(index)
        for sobject, indexes in groups.items():
            rows = [records[i] for i in indexes]
            for index, found in zip(indexes, match_existing(sobject, rows, self.query(lookup_soql(sobject, rows)))):
                ids[index] = found
        if all(ids):
            return [{'id': rec_id, 'success': True, 'errors': [], 'created': True} for rec_id in ids]
        if not any(ids):
            return None
        raise SalesforceError(None, 'OUTCOME_UNKNOWN', 'A create was interrupted and only %d of %d rows exist now.'
                              % (len([i for i in ids if i]), len(ids)))

    def update(self, sobject, record_id, fields):
        self._call('PATCH', 'sobjects/%s/%s' % (sobject, record_id),
                   lambda sf: self._sobject(sf, sobject).update(record_id, fields, headers=PLAIN_JSON))

    def delete(self, sobject, record_id):
        path = 'sobjects/%s/%s' % (sobject, record_id)
        what = 'DELETE %s' % path
        attempts = []

        def send():
            attempts.append(1)
            try:
                return self._send('DELETE', path, what, lambda sf: self._sobject(sf, sobject).delete(record_id, headers=PLAIN_JSON))
            except SalesforceError as err:
                # Sent again after a lost answer: the record being gone means the first attempt deleted it.
                if len(attempts) > 1 and err.error_code in GONE_ERROR_CODES:
                    return None
                raise

        self.login()
        self.policy.call(send, idempotent=True, relogin=self.relogin, what=what)

    def revoke(self, token):
        """Revoke an OAuth token at ``/services/oauth2/revoke`` (Help "Revoke OAuth Tokens": a form POST of
        ``token``, answered 200; a refresh token takes every access token issued from it along).  ``token`` is a
        refresh token or the ``DeleteToken`` of an OauthToken row, and must already be a no_log value.

        Repeating it is harmless: sent again after a lost answer, the token being unknown (400
        ``unsupported_token_type``) means the first attempt revoked it.
        """
        url = self.login().instance_url + '/services/oauth2/revoke'
        what = 'POST /services/oauth2/revoke'
        attempts = []

        def send():
            attempts.append(1)
            self.api_requests += 1
            self.calls.append(('POST', '/services/oauth2/revoke'))
            try:
                resp = self.http.post(url, data={'token': token}, timeout=self.timeout, verify=self.verify)
            except requests.exceptions.RequestException as exc:
                error = SalesforceError(None, 'CONNECTION_ERROR', '%s failed: %s.' % (what, transport_error_message(exc)))
                error.cause = exc
                raise error from exc
            if resp.status_code < 300:
                return None
            try:
                payload = resp.json()
            except ValueError:
                payload = None
            error = parse_errors(resp.status_code, payload, resp.text)
            if len(attempts) > 1 and error.error_code == 'unsupported_token_type':
                return None
            raise error

        return self.policy.call(send, idempotent=True, what=what)

    # --- composite --------------------------------------------------------------------------------------------
    def sub_query(self, ref, soql):
        return {'method': 'GET', 'url': '%s/query?q=%s' % (self.base, quote(soql, safe='')), 'referenceId': ref}

    def sub_get(self, ref, path):
        return {'method': 'GET', 'url': '%s/%s' % (self.base, path.lstrip('/')), 'referenceId': ref}

    def sub_describe(self, ref, sobject):
        return self.sub_get(ref, 'sobjects/%s/describe' % sobject)

    @staticmethod
    def _composite_batches(subrequests):
        """Split into calls of <= 25 subrequests with <= 5 query/collections ones (no cross-call references)."""
        batch, heavy = [], 0
        for sub in subrequests:
            is_heavy = '/query' in sub['url'] or '/queryAll' in sub['url'] or '/composite/sobjects' in sub['url']
            if batch and (len(batch) == COMPOSITE_MAX or (is_heavy and heavy == COMPOSITE_MAX_QUERIES)):
                yield batch
                batch, heavy = [], 0
            batch.append(sub)
            heavy += 1 if is_heavy else 0
        if batch:
            yield batch

    def composite(self, subrequests, all_or_none=False, allow_errors=False):
        """Run subrequests through ``/composite``; return ``{referenceId: body}``.

        A query subrequest body is the query result; a paged one is completed with extra GETs.  A failed subrequest
        raises SalesforceError, or with ``allow_errors`` its value is the SalesforceError instance.
        Only GET subrequests make the call idempotent (safe to retry).
        """
        results = {}
        for batch in self._composite_batches(subrequests):
            idempotent = all(s['method'] == 'GET' for s in batch)
            verify = None if idempotent or not all_or_none else self._composite_verify(batch)
            answer = self.request('POST', 'composite', body={'allOrNone': all_or_none, 'compositeRequest': batch}, idempotent=idempotent,
                                  verify=verify)
            for item in answer.get('compositeResponse') or []:
                ref, status, body = item.get('referenceId'), item.get('httpStatusCode'), item.get('body')
                if status >= 300:
                    error = parse_errors(status, body)
                    if not allow_errors:
                        raise error
                    results[ref] = error
                    continue
                if isinstance(body, dict) and 'records' in body and not body.get('done', True) and body.get('nextRecordsUrl'):
                    records = list(body['records'])
                    page = body
                    while not page.get('done', True) and page.get('nextRecordsUrl'):
                        page = self._next_page(page['nextRecordsUrl'])
                        records.extend(page.get('records') or [])
                    body = dict(body, records=records, done=True)
                results[ref] = body
        return results

    def _composite_verify(self, batch):
        """For an allOrNone composite whose answer was lost: look up its first create by natural key.

        Not there: nothing of the all-or-none transaction was applied, so it is sent again (returns None).  There: it
        was applied, but the answers the caller needs (ids, ...) are lost, so the run stops and says so.  None when
        the first create has no natural key to look up (the policy then reports an unknown outcome).
        """
        for sub in batch:
            match = _SOBJECT_POST.search(sub['url']) if sub['method'] == 'POST' else None
            if not match:
                continue
            body = sub.get('body') or {}
            rec = dict(body, attributes={'type': match.group(1)})
            if '@{' in json.dumps(body) or not lookup_soql(match.group(1), [rec]):
                return None
            return functools.partial(self._verify_composite_create, rec)
        return None

    def _verify_composite_create(self, rec):
        if self._verify_created([rec]) is None:
            return None
        err = SalesforceError(None, 'OUTCOME_UNKNOWN', 'The %s was created, but the answer of the request was lost.' % rec['attributes']['type'])
        err.hint = 'Re-run the task: it finds the record and completes what is missing.'
        raise err

    # --- sObject Collections ----------------------------------------------------------------------------------
    def _check_rows(self, results, ids=None, what='write', records=None, gone_ok=False):
        failures = row_failures(results, ids)
        if gone_ok:
            failures = [f for f in failures if f['error_code'] not in GONE_ERROR_CODES + ('ALL_OR_NONE_OPERATION_ROLLED_BACK',)]
        if failures:
            first = failures[0]
            error = SalesforceError(400, first['error_code'], '%s failed for %d row(s): %s' % (what, len(failures), first['message']),
                                    first['fields'], records=failures)
            if first['error_code'] == 'INSUFFICIENT_ACCESS_OR_READONLY' and records:
                sobject = (records[first['index']].get('attributes') or {}).get('type') if first['index'] < len(records) else None
                if sobject in WRITE_PERMISSION:
                    error.hint = ('The user the automation logs in as cannot write %s: it needs the "%s" permission (see docs/security.md '
                                  'of the collection), or the record is read-only (for example a profile-owned permission set).'
                                  % (sobject, WRITE_PERMISSION[sobject]))
            raise error

    def _collections(self, method, body, params, what, check, idempotent, verify=None):
        """One sObject Collections call under the retry policy; the per-row check is part of the attempt, so a row
        refused with UNABLE_TO_LOCK_ROW (the whole allOrNone call rolled back) is retried like a locked request."""
        attempts = []

        def send():
            attempts.append(1)
            results = self._send_rest(method, 'composite/sobjects', params, body, what)
            check(results, len(attempts) > 1)
            return results

        self.login()
        return self.policy.call(send, idempotent=idempotent, verify=verify, relogin=self.relogin, what=what)

    def collections_create(self, records, all_or_none=True):
        """Create rows (dicts with ``attributes.type``) in calls of 200; return the new ids in input order."""
        ids = []
        for chunk in chunks(records, COLLECTION_CHUNK):
            verify = None
            # Only rows with a known natural key can be looked up after a lost answer; otherwise the policy fails
            # the run as "outcome unknown" instead of risking duplicates.
            if all(lookup_soql(r['attributes']['type'], [r]) for r in chunk):
                verify = functools.partial(self._verify_created, chunk)
            results = self._collections('POST', {'allOrNone': all_or_none, 'records': chunk}, None, 'POST composite/sobjects',
                                        lambda res, retry, chunk=chunk: self._check_rows(res, what='create', records=chunk),
                                        idempotent=False, verify=verify)
            ids.extend(r.get('id') for r in results)
        return ids

    def collections_update(self, records, all_or_none=True):
        """Update rows (dicts with ``attributes.type`` and ``Id``) in calls of 200."""
        for chunk in chunks(records, COLLECTION_CHUNK):
            # An update sets absolute values, so repeating it is harmless: retry like a read.
            self._collections('PATCH', {'allOrNone': all_or_none, 'records': chunk}, None, 'PATCH composite/sobjects',
                              lambda res, retry, chunk=chunk: self._check_rows(res, [r.get('Id') for r in chunk], what='update',
                                                                               records=chunk),
                              idempotent=True)

    def collections_delete(self, ids, all_or_none=True):
        """Delete rows by id in calls of 200.

        Sent again after a lost answer, a delete runs without allOrNone and rows that are already gone count as
        deleted: the first (allOrNone) attempt deleted either all of them or none.
        """
        for chunk in chunks(list(ids), COLLECTION_CHUNK):
            self.login()
            self.policy.call(functools.partial(self._delete_chunk, chunk, all_or_none, []), idempotent=True,
                             relogin=self.relogin, what='DELETE composite/sobjects')

    def _delete_chunk(self, chunk, all_or_none, attempts):
        attempts.append(1)
        retry = len(attempts) > 1
        flag = 'false' if retry or not all_or_none else 'true'
        results = self._send_rest('DELETE', 'composite/sobjects', {'ids': ','.join(chunk), 'allOrNone': flag}, None, 'DELETE composite/sobjects')
        self._check_rows(results, chunk, what='delete', gone_ok=retry)
        return results

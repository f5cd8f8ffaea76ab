# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""REST transport: one ``requests.Session`` per module run, JSON in/out, bounded retries, typed errors.

FOR INTERNAL COLLECTION USE ONLY: the interface may change in any release.

Why ``requests`` and not simple-salesforce: measured on this project, ``import simple_salesforce`` costs about 130 ms
more than ``import requests`` on every module run (it pulls in zeep and lxml), its login helpers hard-code
``*.salesforce.com`` hosts so they cannot reach a My Domain or custom login URL, and these modules need composite
and sObject Collections anyway, which it only wraps thinly.  One keep-alive session makes the token request and
the API calls share a TLS connection.

Request budget: reads are batched into child-relationship subqueries or one ``composite`` call, writes into sObject
Collections calls of 200 rows.  ``api_requests`` and ``token_requests`` count what was sent (tests and the
benchmark read them).
"""

import functools
import json
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

from .auth import authenticate
from .errors import SalesforceError
from .retry import RetryPolicy, lookup_soql, match_existing, transport_error_message

COLLECTION_CHUNK = 200  # sObject Collections limit per call (REST API Developer Guide, sObject Collections)
COMPOSITE_MAX = 25  # subrequests per composite call
COMPOSITE_MAX_QUERIES = 5  # of which at most 5 query/queryAll/collections subrequests


def parse_errors(status, payload, text=''):
    """Build a SalesforceError from a REST error body (a JSON array of ``{message, errorCode, fields}``)."""
    items = payload if isinstance(payload, list) else [payload] if isinstance(payload, dict) else []
    items = [i for i in items if isinstance(i, dict)]
    if not items:
        snippet = (text or '').strip().replace('\n', ' ')[:200]
        return SalesforceError(status, 'HTTP_%s' % status, 'HTTP %s %s' % (status, snippet))
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
        self.http.headers.update({'Accept': 'application/json', 'User-Agent': 'sfops.salesforce'})
        self.timeout = params.get('timeout') or 30
        # retries/backoff come from the module params; sleep goes through self.sleep so tests can replace it.
        self.policy = RetryPolicy.from_params(params, sleep=self._sleep)
        self.session = None
        self.api_requests = 0
        self.token_requests = 0
        self.calls = []  # (method, resource) of every API request, for tests and the benchmark
        self._describes = {}
        self.sleep = time.sleep  # replaced by tests

    def _sleep(self, seconds):
        self.sleep(seconds)

    # --- authentication ---------------------------------------------------------------------------------------
    def _post_token(self, url, form):
        self.token_requests += 1
        try:
            resp = self.http.post(url, data=form, timeout=self.timeout, verify=self.verify)
        except requests.exceptions.RequestException as exc:
            error = SalesforceError(None, 'CONNECTION_ERROR', 'Cannot reach the token endpoint %s: %s.' % (url, transport_error_message(exc)))
            error.cause = exc
            raise error from exc
        try:
            payload = resp.json()
        except ValueError:
            payload = None
        return resp.status_code, payload

    def login(self):
        """Authenticate (once) and return the ``auth.Session``."""
        if self.session is None:
            self.session = authenticate(self.params, self._post_token)
            self.register_secret(self.session.access_token)
        return self.session

    @property
    def api_version(self):
        return self.login().api_version

    @property
    def base(self):
        return '/services/data/v%s' % self.api_version

    def _url(self, path):
        if path.startswith('http://') or path.startswith('https://'):
            return path
        if not path.startswith('/services/'):
            path = '%s/%s' % (self.base, path.lstrip('/'))
        return self.login().instance_url + path

    # --- the one place that sends API requests; retry decisions come from retry.RetryPolicy ---------------------
    def request(self, method, path, params=None, body=None, idempotent=None, verify=None):
        """Send one API request under the retry policy; return the decoded JSON (None for 204).

        :param idempotent: whether repeating the request is harmless; defaults to True for GET/HEAD.
        :param verify: for a create whose answer was lost, ``verify() -> result or None`` looks the rows up
            before the request is sent again (see retry.RetryPolicy.call); without it such a create fails as
            "outcome unknown" rather than risk a duplicate.
        Retried per retry.py: 502/503/504, UNABLE_TO_LOCK_ROW and transport errors with backoff and jitter;
        one new login on INVALID_SESSION_ID when the auth method can log in again; REQUEST_LIMIT_EXCEEDED never.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in ('GET', 'HEAD')
        what = '%s %s' % (method, path.split('?')[0])
        return self.policy.call(lambda: self._send(method, path, params, body, what), idempotent=idempotent,
                                verify=verify, relogin=self._relogin, what=what)

    def _relogin(self):
        if self.session is None or not self.session.can_reauthenticate:
            return False
        self.session = None
        self.login()
        return True

    def _send(self, method, path, params, body, what):
        """One attempt: raises SalesforceError for every non-2xx answer and every transport failure."""
        url = self._url(path)
        headers = {'Authorization': 'Bearer %s' % self.session.access_token}
        if body is not None:
            headers['Content-Type'] = 'application/json'
        self.api_requests += 1
        self.calls.append((method, path.split('?')[0]))
        try:
            resp = self.http.request(method, url, params=params, data=json.dumps(body) if body is not None else None,
                                     headers=headers, timeout=self.timeout, verify=self.verify)
        except requests.exceptions.RequestException as exc:
            # The message is built from the exception class only: its text may hold URLs and is never needed.
            error = SalesforceError(None, 'CONNECTION_ERROR', '%s failed: %s.' % (what, transport_error_message(exc)))
            error.cause = exc  # retry.py classifies the wrapped transport error (sent or not, TLS, DNS)
            raise error from exc
        if resp.status_code < 300:
            if resp.status_code == 204 or not resp.content:
                return None
            try:
                return resp.json()
            except ValueError:
                raise SalesforceError(resp.status_code, 'INVALID_RESPONSE', '%s returned a body that is not JSON.' % what)
        try:
            payload = resp.json()
        except ValueError:
            payload = None
        raise parse_errors(resp.status_code, payload, resp.text)

    # --- convenience ------------------------------------------------------------------------------------------
    def get(self, path, params=None):
        return self.request('GET', path, params=params)

    def query(self, soql):
        """All records of ``soql`` (follows nextRecordsUrl)."""
        page = self.request('GET', 'query', params={'q': soql})
        records = list(page.get('records') or [])
        while not page.get('done', True) and page.get('nextRecordsUrl'):
            page = self.request('GET', page['nextRecordsUrl'])
            records.extend(page.get('records') or [])
        return records

    def describe(self, sobject):
        """Full describe of ``sobject`` (cached for the run)."""
        key = sobject.lower()
        if key not in self._describes:
            self._describes[key] = self.request('GET', 'sobjects/%s/describe' % sobject)
        return self._describes[key]

    def cached_describe(self, sobject):
        return self._describes.get(sobject.lower())

    def remember_describe(self, sobject, describe):
        self._describes[sobject.lower()] = describe

    def limits(self):
        return self.request('GET', 'limits')

    def create(self, sobject, fields):
        verify = None
        if lookup_soql(sobject, [fields]):
            def verify():
                found = self._verify_created([dict(fields, attributes={'type': sobject})])
                return {'id': found[0]['id']} if found else None
        return self.request('POST', 'sobjects/%s' % sobject, body=fields, verify=verify)['id']

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
        self.request('PATCH', 'sobjects/%s/%s' % (sobject, record_id), body=fields)

    def delete(self, sobject, record_id):
        self.request('DELETE', 'sobjects/%s/%s' % (sobject, record_id), idempotent=True)

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
            answer = self.request('POST', 'composite', body={'allOrNone': all_or_none, 'compositeRequest': batch}, idempotent=idempotent)
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
                        page = self.request('GET', page['nextRecordsUrl'])
                        records.extend(page.get('records') or [])
                    body = dict(body, records=records, done=True)
                results[ref] = body
        return results

    # --- sObject Collections ----------------------------------------------------------------------------------
    def _check_rows(self, results, ids=None, what='write'):
        failures = row_failures(results, ids)
        if failures:
            first = failures[0]
            raise SalesforceError(400, first['error_code'], '%s failed for %d row(s): %s' % (what, len(failures), first['message']),
                                  first['fields'], records=failures)

    def collections_create(self, records, all_or_none=True):
        """Create rows (dicts with ``attributes.type``) in calls of 200; return the new ids in input order."""
        ids = []
        for chunk in chunks(records, COLLECTION_CHUNK):
            verify = None
            # Only rows with a known natural key can be looked up after a lost answer; otherwise the policy fails
            # the run as "outcome unknown" instead of risking duplicates.
            if all(lookup_soql(r['attributes']['type'], [r]) for r in chunk):
                verify = functools.partial(self._verify_created, chunk)
            results = self.request('POST', 'composite/sobjects', body={'allOrNone': all_or_none, 'records': chunk}, verify=verify)
            self._check_rows(results, what='create')
            ids.extend(r.get('id') for r in results)
        return ids

    def collections_update(self, records, all_or_none=True):
        """Update rows (dicts with ``attributes.type`` and ``Id``) in calls of 200."""
        for chunk in chunks(records, COLLECTION_CHUNK):
            # An update sets absolute values, so repeating it is harmless: retry like a read.
            results = self.request('PATCH', 'composite/sobjects', body={'allOrNone': all_or_none, 'records': chunk}, idempotent=True)
            self._check_rows(results, [r.get('Id') for r in chunk], what='update')

    def collections_delete(self, ids, all_or_none=True):
        """Delete rows by id in calls of 200."""
        for chunk in chunks(list(ids), COLLECTION_CHUNK):
            results = self.request('DELETE', 'composite/sobjects',
                                   params={'ids': ','.join(chunk), 'allOrNone': 'true' if all_or_none else 'false'})
            self._check_rows(results, chunk, what='delete')

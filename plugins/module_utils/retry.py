# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one retry policy of the collection: which failures are repeated, how long to wait, and when a write must be
looked up before it is sent again.

FOR INTERNAL COLLECTION USE ONLY: the interface may change in any release.

=============================================  ==========  ==========================================================
failure                                        decision    why
=============================================  ==========  ==========================================================
HTTP 503 (and ``SERVER_UNAVAILABLE``)          retry       Salesforce did not process the request (maintenance, busy)
``UNABLE_TO_LOCK_ROW``                         retry       the transaction was rolled back; another one held the lock
HTTP 502 / 504                                 retry [1]_  a gateway gave up; the request may still have been applied
connection refused / DNS / connect timeout     retry       the request never reached Salesforce
connection reset / read timeout / truncated    retry [1]_  the request was sent, the answer was lost
``INVALID_SESSION_ID``                         re-login    once per request, when the auth method can log in again
``REQUEST_LIMIT_EXCEEDED``                     stop        retrying would burn what is left of the org's 24 h allowance
TLS certificate errors, 4xx, other 5xx         fail        repeating cannot help
=============================================  ==========  ==========================================================

.. [1] A read or an idempotent write (an update that sets absolute values, a delete) is simply sent again.  A create
   ("write that may have happened") is only sent again after ``verify()`` looked the record up by its natural key
   and did not find it; without a ``verify`` the run fails and says the outcome is unknown, rather than risk a
   duplicate.

Delays: exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"):
attempt *n* (0-based) waits ``uniform(0, min(max_delay, backoff * 2 ** n))`` seconds, so parallel forks against one
org do not retry in lockstep.  At most ``retries`` repetitions per request.

This file imports nothing outside the standard library and the collection, and runs on Python 3.9+.
"""

import random
import socket
import time

from .errors import SalesforceError

DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 0.5
DEFAULT_MAX_DELAY = 8.0

RETRY_STATUS = (502, 503, 504)
# 503: Salesforce answers it before processing anything (maintenance page, "server busy"), so even a create can be
# sent again.  502/504 come from a proxy or gateway that may have passed the request on.
NOT_APPLIED_STATUS = (503,)
RETRY_ERROR_CODES = ('UNABLE_TO_LOCK_ROW', 'SERVER_UNAVAILABLE')
NOT_APPLIED_ERROR_CODES = ('UNABLE_TO_LOCK_ROW', 'SERVER_UNAVAILABLE')
RELOGIN_ERROR_CODES = ('INVALID_SESSION_ID',)
STOP_ERROR_CODES = ('REQUEST_LIMIT_EXCEEDED',)
# A create sent again after a lost answer may meet the row the first attempt made after all (the first request was
# still being processed when the lookup ran): Salesforce's unique keys refuse it with one of these.
DUPLICATE_ERROR_CODES = ('DUPLICATE_VALUE', 'DUPLICATE_DEVELOPER_NAME', 'DUPLICATE_MASTER_LABEL', 'DUPLICATE_USERNAME')

# Decisions of RetryPolicy.decide()
RETRY = 'retry'      # transient and surely not applied (or harmless to repeat): send again after a delay
VERIFY = 'verify'    # transient, but a non-idempotent write may have been applied: look it up before sending again
RELOGIN = 'relogin'  # the session expired: log in again (once) and send again at once
STOP = 'stop'        # stop at once, never retry (API limit)
FAIL = 'fail'        # not transient: raise

# Exceptions by class name (their modules are third-party: requests, urllib3, ssl).  Names are matched anywhere in
# the exception's class hierarchy and in its chain of causes (requests wraps urllib3 which wraps socket errors).
_TLS_NAMES = ('SSLError', 'SSLCertVerificationError', 'CertificateError')
_NOT_SENT_NAMES = ('ConnectTimeout', 'NewConnectionError', 'NameResolutionError', 'ConnectionRefusedError',
                   'gaierror')
_TRANSPORT_NAMES = ('ConnectionError', 'Timeout', 'ReadTimeout', 'ReadTimeoutError', 'ChunkedEncodingError',
                    'ProtocolError', 'RemoteDisconnected', 'ConnectionResetError', 'ConnectionAbortedError',
                    'BrokenPipeError', 'IncompleteRead', 'timeout', 'TimeoutError') + _NOT_SENT_NAMES

# Natural keys of the rows this collection creates: what identifies a row independently of its Id, so that a create
# whose answer was lost can be looked up before it is sent again.  Sources: shared/reference/salesforce-api.md
# sections 1-6 (unique Name of PermissionSet, one ObjectPermissions row per (ParentId, SobjectType), one
# FieldPermissions row per (ParentId, Field), one assignment per (AssigneeId, PermissionSetId), global Username).
NATURAL_KEYS = {
    'PermissionSet': ('Name',),
    'PermissionSetGroup': ('DeveloperName',),
    'ObjectPermissions': ('ParentId', 'SobjectType'),
    'FieldPermissions': ('ParentId', 'Field'),
    'PermissionSetAssignment': ('AssigneeId', 'PermissionSetId'),
    'PermissionSetLicenseAssign': ('AssigneeId', 'PermissionSetLicenseId'),
    'SetupEntityAccess': ('ParentId', 'SetupEntityId'),
    'User': ('Username',),
}


def _chain(exc, depth=0):
    """``exc`` and what it wraps: ``__cause__``, ``__context__``, urllib3's ``reason`` and exception ``args``."""
    if exc is None or depth > 6:
        return
    yield exc
    seen = [exc]
    for nxt in (getattr(exc, '__cause__', None), getattr(exc, '__context__', None), getattr(exc, 'reason', None)) + \
            tuple(a for a in getattr(exc, 'args', ()) if isinstance(a, BaseException)):
        if isinstance(nxt, BaseException) and all(nxt is not s for s in seen):
            seen.append(nxt)
            yield from _chain(nxt, depth + 1)


def _names(exc):
    names = set()
    for item in _chain(exc):
        names.update(klass.__name__ for klass in type(item).__mro__)
    return names


def _unknown_host(exc):
    """DNS said the name does not exist (a typo, not an outage): retrying cannot help."""
    for item in _chain(exc):
        if isinstance(item, socket.gaierror) and item.errno in (getattr(socket, 'EAI_NONAME', -2), getattr(socket, 'EAI_NODATA', -5)):
            return True
        if type(item).__name__ == 'NameResolutionError' and 'Name or service not known' in str(item):
            return True
    return False


def is_tls_error(exc):
    """A certificate or TLS handshake failure (never retried)."""
    return exc is not None and bool(_names(exc) & set(_TLS_NAMES))


def is_transport_error(exc):
    """A connection-level failure (no HTTP answer), as opposed to an error Salesforce answered."""
    return exc is not None and not isinstance(exc, SalesforceError) and bool(_names(exc) & set(_TRANSPORT_NAMES))


def transport_error_message(exc):
    """Short, secret-free description of a transport exception (its text can hold URLs, never the headers)."""
    if is_tls_error(exc):
        return 'TLS certificate verification failed (%s)' % type(exc).__name__
    if _unknown_host(exc):
        return 'the host name does not resolve (%s)' % type(exc).__name__
    names = _names(exc)
    if names & set(_NOT_SENT_NAMES):
        return 'the connection could not be opened (%s)' % type(exc).__name__
    if names & {'ReadTimeout', 'ReadTimeoutError', 'timeout', 'TimeoutError'}:
        return 'no answer within the timeout (%s)' % type(exc).__name__
    return 'the connection was lost before the answer arrived (%s)' % type(exc).__name__


def _status_code(status, error_code, exc):
    if exc is not None:
        status = status if status is not None else getattr(exc, 'status', None)
        error_code = error_code if error_code is not None else getattr(exc, 'error_code', None)
    return status, error_code


class RetryPolicy(object):
    """Bounded retries with exponential backoff and full jitter.

    :param retries: how many times one request may be repeated (0 = never).
    :param backoff: base delay in seconds (attempt n waits up to ``backoff * 2 ** n``).
    :param max_delay: cap of a single delay in seconds.
    :param sleep: ``sleep(seconds)``; tests pass a fake clock.
    :param rand: ``rand(low, high) -> float``; tests pass a deterministic one.
    """

    def __init__(self, retries=DEFAULT_RETRIES, backoff=DEFAULT_BACKOFF, max_delay=DEFAULT_MAX_DELAY, sleep=None, rand=None):
        self.retries = max(0, int(retries if retries is not None else DEFAULT_RETRIES))
        self.backoff = max(0.0, float(backoff if backoff is not None else DEFAULT_BACKOFF))
        self.max_delay = max(0.0, float(max_delay if max_delay is not None else DEFAULT_MAX_DELAY))
        self.sleep = sleep or time.sleep
        self.rand = rand or random.uniform
        self.log = []  # (decision, what, error text) of every retry taken, for results and tests

    @classmethod
    def from_params(cls, params, sleep=None, rand=None):
        """Build the policy from module params (``retries``, ``retry_backoff``, ``retry_max_delay``)."""
        return cls(params.get('retries'), params.get('retry_backoff'), params.get('retry_max_delay'), sleep=sleep, rand=rand)

    # --- classification ---------------------------------------------------------------------------------------
    @staticmethod
    def is_retryable(status=None, error_code=None, exc=None):
        """Whether the failure is transient (worth repeating the same request after a delay).

        ``status``/``error_code`` describe an HTTP answer; ``exc`` a raised exception (a SalesforceError carries
        both, a transport exception neither).  INVALID_SESSION_ID is not "retryable" here: it needs a new login.
        """
        status, error_code = _status_code(status, error_code, exc)
        if error_code in STOP_ERROR_CODES or error_code in RELOGIN_ERROR_CODES:
            return False
        if status in RETRY_STATUS or error_code in RETRY_ERROR_CODES:
            return True
        if error_code == 'CONNECTION_ERROR' and exc is not None:
            # The client's wrapper of a transport error: classify what it wraps.
            cause = getattr(exc, 'cause', None) or getattr(exc, '__cause__', None)
            return cause is not None and RetryPolicy.is_retryable(exc=cause)
        if exc is not None and not isinstance(exc, SalesforceError):
            if is_tls_error(exc) or _unknown_host(exc):
                return False
            return is_transport_error(exc)
        return False

    @staticmethod
    def may_have_applied(status=None, error_code=None, exc=None):
        """Whether a write that failed this way may nevertheless have been applied by Salesforce."""
        status, error_code = _status_code(status, error_code, exc)
        if error_code in NOT_APPLIED_ERROR_CODES or status in NOT_APPLIED_STATUS:
            return False
        if error_code in STOP_ERROR_CODES or error_code in RELOGIN_ERROR_CODES:
            return False  # refused before processing
        if error_code == 'CONNECTION_ERROR' and exc is not None:
            cause = getattr(exc, 'cause', None) or getattr(exc, '__cause__', None)
            return cause is None or RetryPolicy.may_have_applied(exc=cause)
        if exc is not None and not isinstance(exc, SalesforceError):
            # Only a connection that was never opened proves the request was not sent.
            return not (_names(exc) & set(_NOT_SENT_NAMES))
        return status in (502, 504) or status is None

    def decide(self, exc, idempotent=True):
        """One of RETRY, VERIFY, RELOGIN, STOP, FAIL for a failed attempt."""
        status, error_code = _status_code(None, None, exc)
        if error_code in STOP_ERROR_CODES:
            return STOP
        if error_code in RELOGIN_ERROR_CODES:
            return RELOGIN
        if not self.is_retryable(exc=exc):
            return FAIL
        if idempotent or not self.may_have_applied(status, error_code, exc):
            return RETRY
        return VERIFY

    # --- delays -----------------------------------------------------------------------------------------------
    def delay(self, attempt):
        """Delay before repetition ``attempt`` (0-based): full jitter over the capped exponential."""
        return self.rand(0, min(self.max_delay, self.backoff * (2 ** attempt)))

    def delays(self):
        """The delays of one request's repetitions: ``retries`` values, then the iterator ends."""
        for attempt in range(self.retries):
            yield self.delay(attempt)

    # --- the loop ---------------------------------------------------------------------------------------------
    def call(self, send, idempotent=True, verify=None, relogin=None, what='request'):
        """Run ``send()`` under the policy and return its result.

        :param send: performs one attempt; returns the result or raises (SalesforceError or a transport exception).
        :param idempotent: repeating the request is harmless (reads, absolute updates, deletes).
        :param verify: for a non-idempotent write ("write that may have happened"): called after the delay, before
            sending again; returns the result of the write when it finds the write applied (the request is then
            not sent again) or None when it is not there (the request is sent again).
        :param relogin: called on INVALID_SESSION_ID; returns True when a new session was obtained.  At most once.
        :param what: words for messages, e.g. ``POST composite/sobjects``.

        A create sent again after ``verify()`` found nothing, and then refused as a duplicate, is looked up once more:
        the first attempt was applied late, and its row is the result.
        """
        delays = self.delays()
        relogged = False
        resent = False
        attempts = 0
        while True:
            attempts += 1
            try:
                return send()
            except Exception as exc:  # pylint: disable=broad-except
                # Classified below; what the policy does not know is re-raised unchanged.
                if resent and verify is not None and is_duplicate(exc):
                    found = verify()
                    if found is not None:
                        self.log.append(('duplicate', what, str(exc)))
                        return found
                decision = self.decide(exc, idempotent)
                if decision == RELOGIN:
                    if relogged or relogin is None or not relogin():
                        raise
                    relogged = True
                    self.log.append((RELOGIN, what, str(exc)))
                    continue
                if decision == STOP:
                    _annotate(exc, 'not retried: every further request would use up what is left of the org\'s API allowance')
                    raise
                if decision == FAIL:
                    raise
                wait = next(delays, None)
                if wait is None:
                    _annotate(exc, 'gave up after %d attempt%s' % (attempts, '' if attempts == 1 else 's'))
                    raise
                if decision == VERIFY and verify is None:
                    raise _unknown_outcome(exc, what)
                self.log.append((decision, what, str(exc)))
                self.sleep(wait)
                if decision == VERIFY:
                    found = verify()
                    if found is not None:
                        return found
                    resent = True


def is_duplicate(exc):
    """Whether ``exc`` is Salesforce refusing a row because its unique key exists (also as a per-row failure)."""
    codes = [getattr(exc, 'error_code', None)] + [r.get('error_code') for r in getattr(exc, 'records', None) or []]
    return any(code in DUPLICATE_ERROR_CODES for code in codes)


def _annotate(exc, note):
    """Add ``note`` to a SalesforceError's message (other exceptions are left alone)."""
    if isinstance(exc, SalesforceError) and note not in exc.message:
        exc.message = '%s (%s)' % (exc.message.rstrip('.'), note)
        exc.args = (exc.message,)


def _unknown_outcome(exc, what):
    detail = exc.message if isinstance(exc, SalesforceError) else transport_error_message(exc)
    err = SalesforceError(getattr(exc, 'status', None), 'OUTCOME_UNKNOWN',
                          '%s failed with %s; the write may or may not have been applied, so it was not sent again '
                          '(that could create a duplicate)' % (what, detail))
    err.hint = 'Re-run the task: every module reads the current state first and only sends what is still missing.'
    return err


# --- natural keys ---------------------------------------------------------------------------------------------
def natural_key(sobject, record):
    """The natural key of a row to create, as a tuple of values (None when the object has no known key)."""
    fields = NATURAL_KEYS.get(sobject)
    if not fields:
        return None
    return tuple(_norm(f, record.get(f)) for f in fields)


def _norm(field, value):
    """Ids compare on their case-sensitive 15-character form, names case-insensitively (as Salesforce compares them)."""
    if value is None:
        return None
    text = str(value)
    if field.endswith('Id'):
        return text[:15]
    return text.lower()


def _quote(value):
    return "'%s'" % str(value).replace('\\', '\\\\').replace("'", "\\'")


def lookup_soql(sobject, records):
    """A query that finds the rows among ``records`` (dicts to be created) that already exist, or None.

    The query selects Id and the key fields; match the answer with ``natural_key``.
    """
    fields = NATURAL_KEYS.get(sobject)
    if not fields or not records:
        return None
    clauses = []
    for name in fields:
        values = sorted(set(str(r[name]) for r in records if r.get(name) is not None))
        if values:
            clauses.append('%s IN (%s)' % (name, ', '.join(_quote(v) for v in values)))
    if not clauses:
        return None
    return 'SELECT Id, %s FROM %s WHERE %s' % (', '.join(fields), sobject, ' AND '.join(clauses))


def match_existing(sobject, records, rows):
    """Map each record to create onto the Id of an existing row with the same natural key (or None)."""
    found = {}
    for row in rows or []:
        key = natural_key(sobject, row)
        if key is not None:
            found.setdefault(key, row.get('Id'))
    return [found.get(natural_key(sobject, r)) for r in records]

"""The emulator's HTTP face: Salesforce REST API, routing to OAuth/SOAP, control API, stats, faults, latency.

Sources for behaviour that imitates Salesforce are named next to the code; the short names refer to
/work/shared/reference/salesforce-api.md ("ref §7.1" ...) and to the REST API Developer Guide (REST67).
[infer] marks behaviour where no source was found: it is our best guess, kept consistent and documented in
sfemu/README.md.

Concurrency model: ``ThreadingHTTPServer`` (one daemon thread per connection, HTTP/1.1 keep-alive). The TLS handshake
runs in the connection's thread (``do_handshake_on_connect=False``) so a slow client never blocks ``accept()``.
Every REST request of one org runs under ``org.lock``: requests on different orgs run in parallel, requests on the
same org are serialised, which is what makes allOrNone rollback (snapshot/restore) and "persist once per write
request" correct.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import http.server
import json
import logging
import random
import re
import secrets
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from collections import OrderedDict

from sfemu import LATEST_API_VERSION, OLDEST_API_VERSION, eca, ids

log = logging.getLogger("sfemu.server")

JSON_CT = "application/json;charset=UTF-8"  # what Salesforce sends (recorded-cumulusci cassettes)
MIN_VERSION = int(float(OLDEST_API_VERSION))
MAX_VERSION = int(float(LATEST_API_VERSION))
DEFAULT_BATCH = 2000  # REST67 resources_query: "up to 2,000 records per batch"
MAX_BODY = 50 * 1024 * 1024
DEFAULT_DAILY_API_LIMIT = 15000
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
NOT_FOUND_MSG = "The requested resource does not exist"  # REST67 error example; recorded CCI composite 404


# --------------------------------------------------------------------------------------------------------------
# errors


class ApiError(Exception):
    """Raised inside the HTTP layer. org.ApiError instances are handled the same way (duck typing on attributes)."""

    def __init__(self, status, error_code, message, fields=None):
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields


def _org_api_error_types():
    try:
        from sfemu.org import ApiError as OrgApiError  # noqa: PLC0415 - colleague's module, may not exist yet
    except Exception:  # pragma: no cover - only while org.py is missing
        return (ApiError,)
    return (ApiError, OrgApiError)


def _soql_error_type():
    try:
        from sfemu.soql import SoqlError  # noqa: PLC0415
    except Exception:  # pragma: no cover
        return ()
    return (SoqlError,)


# Errors that are not DML results: their bodies carry no "fields" key (REST67 examples for NOT_FOUND; recorded CCI
# INVALID_TYPE from a query; METHOD_NOT_ALLOWED, INVALID_SESSION_ID, REQUEST_LIMIT_EXCEEDED as quoted in ref §7.1).
NO_FIELDS_CODES = frozenset({
    "NOT_FOUND", "METHOD_NOT_ALLOWED", "INVALID_SESSION_ID", "REQUEST_LIMIT_EXCEEDED", "JSON_PARSER_ERROR",
    "MALFORMED_QUERY", "INVALID_TYPE", "INVALID_QUERY_LOCATOR", "INVALID_QUERY_FILTER_OPERATOR",
    "NUMBER_OUTSIDE_VALID_RANGE", "LIMIT_EXCEEDED", "EXCEEDED_ID_LIMIT", "INVALID_INPUT", "UNKNOWN_EXCEPTION",
    "SERVER_UNAVAILABLE", "MULTIPLE_CHOICES", "MISSING_ARGUMENT",
})


def error_body(err, with_fields=False):
    """Salesforce REST error body: a JSON array of {message, errorCode, fields?} (ref §7.1, REST67 errors page).

    Every error of the response is listed (org.ApiError.errors, e.g. DUPLICATE_MASTER_LABEL + DUPLICATE_DEVELOPER_
    NAME). ``fields`` appears when it names fields, and on DML errors (``with_fields``) where Salesforce sends
    ``"fields": []`` even when empty (e.g. DUPLICATE_VALUE) [3rd, common client logs]."""
    entries = getattr(err, "errors", None) or [(err.error_code, err.message, getattr(err, "fields", None) or [])]
    out = []
    for code, msg, fields in entries:
        item = {"message": msg, "errorCode": code}
        if fields or (with_fields and code not in NO_FIELDS_CODES):
            item["fields"] = list(fields or [])
        out.append(item)
    return out


def save_result_errors(err):
    """Per-record errors inside SaveResults: ``statusCode`` instead of ``errorCode``, ``fields`` always present
    (ref §7.1 note, REST67 collections pages)."""
    entries = getattr(err, "errors", None) or [(err.error_code, err.message, getattr(err, "fields", None) or [])]
    return [{"statusCode": c, "message": m, "fields": list(f or [])} for c, m, f in entries]


# --------------------------------------------------------------------------------------------------------------
# versions


def release_label(version: int) -> str:
    """31 -> "Summer '14"; three releases a year: Summer (y), Winter (y+1), Spring (y+1). Checked against ref §0:
    66 Spring '26, 67 Summer '26, 68 Winter '27 (REST67 dome_versions lists 31.0 Summer '14)."""
    k = version - 31
    season = ("Summer", "Winter", "Spring")[k % 3]
    year = 14 + k // 3 + (0 if season == "Summer" else 1)
    return "%s '%02d" % (season, year)


def versions_list():
    return [{"label": release_label(v), "url": "/services/data/v%d.0" % v, "version": "%d.0" % v}
            for v in range(MIN_VERSION, MAX_VERSION + 1)]


def parse_version(seg):
    """'v67.0' -> '67.0'; 'latest' -> newest (ref §0: /services/data/latest alias); anything else -> None."""
    if seg == "latest":
        return LATEST_API_VERSION
    m = re.fullmatch(r"v(\d{2,3})\.0", seg or "")
    if not m:
        return None
    v = int(m.group(1))
    if MIN_VERSION <= v <= MAX_VERSION:
        return "%d.0" % v
    return None


# --------------------------------------------------------------------------------------------------------------
# stats and faults


class Stats:
    """Per-org request counters for the control API (sfemu/docs/internals.md "Control API")."""

    def __init__(self):
        self._lock = threading.Lock()
        self._orgs = {}

    def _entry(self, alias):
        e = self._orgs.get(alias)
        if e is None:
            e = self._orgs[alias] = {"api_requests": 0, "token_requests": 0, "by_method": {}, "by_resource": {}}
        return e

    def api(self, alias, method, resource):
        with self._lock:
            e = self._entry(alias)
            e["api_requests"] += 1
            e["by_method"][method] = e["by_method"].get(method, 0) + 1
            e["by_resource"][resource] = e["by_resource"].get(resource, 0) + 1

    def token(self, alias):
        with self._lock:
            self._entry(alias)["token_requests"] += 1

    def snapshot(self, aliases):
        with self._lock:
            out = {}
            for a in aliases:
                e = self._orgs.get(a) or {"api_requests": 0, "token_requests": 0, "by_method": {}, "by_resource": {}}
                out[a] = json.loads(json.dumps(e))
            return out

    def clear(self):
        with self._lock:
            self._orgs.clear()


FAULT_KINDS = ("server_unavailable", "row_lock", "session_expired", "request_limit", "connection_reset", "slow")


class Faults:
    """Injected faults. Each: org alias or '*', kind, probability, remaining count (None = unlimited), delay_ms."""

    def __init__(self):
        self._lock = threading.Lock()
        self._items = []
        self._rand = random.Random()

    def add(self, spec):
        if not isinstance(spec, dict):
            raise ApiError(400, "INVALID_INPUT", "fault must be a JSON object")
        kind = spec.get("fault")
        if kind not in FAULT_KINDS:
            raise ApiError(400, "INVALID_INPUT", "fault must be one of %s" % ", ".join(FAULT_KINDS))
        try:
            prob = float(spec.get("probability", 1.0))
            count = spec.get("count")
            count = None if count is None else int(count)
            delay = int(spec.get("delay_ms", 1000 if kind == "slow" else 0))
        except (TypeError, ValueError):
            raise ApiError(400, "INVALID_INPUT", "probability, count and delay_ms must be numbers") from None
        if not 0.0 <= prob <= 1.0 or (count is not None and count < 0) or delay < 0:
            raise ApiError(400, "INVALID_INPUT", "probability must be in 0..1, count and delay_ms >= 0")
        item = {"org": str(spec.get("org", "*")), "fault": kind, "probability": prob, "count": count,
                "delay_ms": delay, "id": len(self._items) + 1}
        with self._lock:
            self._items.append(item)
        return item

    def clear(self):
        with self._lock:
            self._items.clear()

    def list(self):
        with self._lock:
            return [dict(i) for i in self._items]

    def take(self, alias, kinds):
        """The first armed fault of one of ``kinds`` that applies to ``alias`` and fires (probability), or None.
        Firing consumes one unit of its count."""
        with self._lock:
            for item in self._items:
                if item["fault"] not in kinds or item["org"] not in ("*", alias):
                    continue
                if item["count"] is not None and item["count"] <= 0:
                    continue
                if item["probability"] < 1.0 and self._rand.random() >= item["probability"]:
                    continue
                if item["count"] is not None:
                    item["count"] -= 1
                return dict(item)
        return None


class ConnectionResetFault(Exception):
    """Raised to make the handler drop the connection without answering."""


# Body of a 503 during maintenance: Salesforce answers with an HTML page, not JSON. Source: recorded page in
# github.com/wadewegner/Force.com-Toolkit-for-NET/issues/160 ("We are down for maintenance.") and
# forcedotcom/SalesforceMobileSDK-CordovaPlugin#621 (503 text/html on /services/data/v55.0/queryAll).
# The emulator's schema (describe) is as old as the seed: 2026-01-05T09:00:00Z (seed.SEED_TIME) [infer].
_SCHEMA_LM_DT = _dt.datetime(2026, 1, 5, 9, 0, 0, tzinfo=_dt.timezone.utc)
SCHEMA_LAST_MODIFIED = "Mon, 05 Jan 2026 09:00:00 GMT"

MAINTENANCE_HTML = (
    b"<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\" \"http://www.w3.org/TR/html4/loose.dtd\">\n"
    b"<html><head><title>Down for maintenance</title></head><body><center><table><tr><td>"
    b"<span style=\"font-family: Verdana; font-weight: bold;\">We are down for maintenance.</span><br><br>"
    b"Sorry for the inconvenience. We'll be back shortly.</td></tr></table></center></body></html>\n"
)


# --------------------------------------------------------------------------------------------------------------
# request context


class Ctx:
    """One authenticated REST request (or composite subrequest family)."""

    __slots__ = ("org", "session", "token", "user_id", "version", "dirty", "row_lock", "headers", "alias")

    def __init__(self, org, session, token, version, headers):
        self.org = org
        self.alias = org.alias
        self.session = session
        self.token = token
        self.user_id = session.get("user_id")
        self.version = version
        self.dirty = False
        self.row_lock = False
        self.headers = headers


class Response:
    __slots__ = ("status", "body", "headers", "raw", "content_type")

    def __init__(self, status, body=None, headers=None, raw=None, content_type=JSON_CT):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.raw = raw
        self.content_type = content_type


def _json_error_message(text, exc):
    """Jackson-style message like Salesforce's JSON_PARSER_ERROR (e.g. "Unexpected character ('x' (code 120)):
    expected a valid value ... at [line:1, column:2]") [infer on the exact wording; errorCode is documented]."""
    if isinstance(exc, json.JSONDecodeError):
        return "Unexpected character: %s at [line:%d, column:%d]" % (exc.msg, exc.lineno, exc.colno)
    return "Unexpected end-of-input"


def parse_json_body(raw: bytes):
    if not raw or not raw.strip():
        # Salesforce answers a POST/PATCH without body with JSON_PARSER_ERROR "No content to map due to
        # end-of-input" [3rd: common forum reports; infer for the exact status 400].
        raise ApiError(400, "JSON_PARSER_ERROR", "No content to map due to end-of-input")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, "JSON_PARSER_ERROR", _json_error_message(raw, exc)) from None


def _method_not_allowed(method, allowed):
    # Real message shape: "HTTP Method 'PUT' not allowed. Allowed are HEAD,GET,POST" [3rd, many client logs]
    return ApiError(405, "METHOD_NOT_ALLOWED", "HTTP Method '%s' not allowed. Allowed are %s" % (method, allowed))


def _not_found():
    return ApiError(404, "NOT_FOUND", NOT_FOUND_MSG)


# --------------------------------------------------------------------------------------------------------------
# the application


class App:
    """Everything behind the socket: the emulator, sessions, counters, faults. Handlers call ``App`` methods."""

    def __init__(self, emulator, data_dir, latency_ms=0, daily_api_limit=DEFAULT_DAILY_API_LIMIT,
                 session_timeout=7200, access_log=False, jwt_key_count=8):
        from sfemu import oauth as _oauth  # noqa: PLC0415 - avoid import cycle at module import time

        self.emulator = emulator
        self.data_dir = data_dir
        self.latency = max(0, int(latency_ms or 0)) / 1000.0
        self.daily_api_limit = int(daily_api_limit)
        self.session_timeout = int(session_timeout)
        self.access_log = access_log
        self.jwt_key_count = jwt_key_count
        self.stats = Stats()
        self.faults = Faults()
        self.base_url = None  # set once the port is known
        self.oauth = _oauth.OAuth(self)
        self._org_by_prefix = {}
        self._locators = OrderedDict()  # locator -> dict(org_id, user_id, records, batch, version)
        self._locator_lock = threading.Lock()
        self._api_errors = _org_api_error_types()
        self._soql_errors = _soql_error_type()
        self.index_orgs()

    # orgs ---------------------------------------------------------------------------------------------------
    def index_orgs(self):
        self._org_by_prefix = {org.org_id[:15]: org for org in self.emulator.orgs.values()}

    def org_for_token(self, token):
        """Access tokens start with the 15-character org id and '!' like real ones (ref §7.6 "00D…!AR…")."""
        if not token or "!" not in token:
            return None
        return self._org_by_prefix.get(token.split("!", 1)[0])

    def org_by_alias(self, alias):
        return self.emulator.orgs.get(alias)

    # API usage (DailyApiRequests is a rolling 24-hour window: REST67 resources_limits, "Monitoring API usage")
    @staticmethod
    def _hour():
        return int(time.time() // 3600)

    def _usage_buckets(self, org):
        usage = org.meta.get("api_usage")
        if not isinstance(usage, dict):
            usage = org.meta["api_usage"] = {}
        return usage

    def api_used(self, org):
        now = self._hour()
        usage = self._usage_buckets(org)
        total = 0
        for k in list(usage):
            try:
                h = int(k)
            except ValueError:
                usage.pop(k, None)
                continue
            if h <= now - 24:
                usage.pop(k, None)
            else:
                total += usage[k]
        return total

    def count_api(self, org, method, resource):
        key = str(self._hour())
        with org.lock:
            usage = self._usage_buckets(org)
            usage[key] = usage.get(key, 0) + 1
        self.stats.api(org.alias, method, resource)

    def limit_header(self, org):
        with org.lock:
            used = self.api_used(org)
        # REST67 headers_api_usage: "Sforce-Limit-Info: api-usage=18/5000"
        return "api-usage=%d/%d" % (used, self.daily_api_limit)

    def simulate_latency(self):
        if self.latency:
            time.sleep(self.latency)

    # query locators ------------------------------------------------------------------------------------------
    def new_locator(self, org, user_id, records, batch, version):
        # Locator ids look like real ones ("01gRO0000016PIAYA2-500": ref §7.2). A user keeps at most 10 open
        # cursors; opening an 11th releases the oldest (SOAP API guide, QueryLocator limits) [doc].
        loc = ids.to18("01g" + "".join(secrets.choice(ids.BASE62) for _ in range(12)))
        with self._locator_lock:
            mine = [k for k, v in self._locators.items() if v["org_id"] == org.org_id and v["user_id"] == user_id]
            while len(mine) >= 10:
                self._locators.pop(mine.pop(0), None)
            self._locators[loc] = {"org_id": org.org_id, "user_id": user_id, "records": records, "batch": batch,
                                   "version": version, "at": time.monotonic()}
        return loc

    def get_locator(self, org, loc):
        with self._locator_lock:
            item = self._locators.get(loc)
            # Cursors expire after 15 minutes of inactivity (REST67 resources_query_more_results) [doc].
            if item and time.monotonic() - item["at"] > 900:
                self._locators.pop(loc, None)
                item = None
            if item is None or item["org_id"] != org.org_id:
                return None
            item["at"] = time.monotonic()
            return item

    def clear_locators(self):
        with self._locator_lock:
            self._locators.clear()

    def reset(self):
        """POST /__sfemu/reset: every org back to its seeded state; tokens die with it (they live in org.meta)."""
        self.emulator.reset()
        reindex = getattr(self.emulator, "_reindex_org", None)
        if reindex is not None:
            # Defensive: the username index must match the reseeded users (find_user drives every login).
            for org in self.emulator.orgs.values():
                reindex(org)
        self.clear_locators()
        self.stats.clear()
        self.faults.clear()
        self.index_orgs()
        self.oauth.prepare_orgs()

    def save_all(self):
        for org in list(self.emulator.orgs.values()):
            try:
                with org.lock:
                    org.save()
            except Exception:  # noqa: BLE001 - best effort at shutdown; one bad org must not lose the others
                log.exception("could not save %s", org.alias)

    # exceptions -> responses ------------------------------------------------------------------------------
    def is_api_error(self, exc):
        """org.ApiError, our ApiError, or anything shaped like them (status, error_code, message)."""
        return isinstance(exc, self._api_errors) or (
            isinstance(getattr(exc, "status", None), int) and isinstance(getattr(exc, "error_code", None), str)
            and hasattr(exc, "message"))

    def as_api_error(self, exc):
        """Turn org/soql errors into ApiError; anything else is re-raised."""
        if self.is_api_error(exc):
            return exc
        if self._soql_errors and isinstance(exc, self._soql_errors):
            return ApiError(400, getattr(exc, "error_code", "MALFORMED_QUERY"), getattr(exc, "message", str(exc)))
        raise exc

    # ----------------------------------------------------------------------------------------------------
    # REST entry point

    def handle_rest(self, method, path, query, headers, raw_body):
        """/services/data/... -> Response. ``path`` is the part after /services/data/."""
        parts = [p for p in path.split("/")]
        while parts and parts[-1] == "":
            parts.pop()
        if not parts:
            # GET /services/data/ needs no authentication (REST67 dome_versions).
            if method not in ("GET", "HEAD"):
                raise _method_not_allowed(method, "HEAD,GET")
            return Response(200, versions_list())

        org, session, token = self.authenticate(headers)
        ctx_version = parse_version(parts[0])
        self._api_faults(org, token, method)
        self._check_limit(org)
        resource = resource_name(parts[1:]) if ctx_version else "invalid_version"
        self.count_api(org, method, resource)
        if ctx_version is None:
            # Unsupported version -> 404 NOT_FOUND (REST67 errors page; ref §7.1 example)
            return Response(404, error_body(_not_found()))
        ctx = Ctx(org, session, token, ctx_version, headers)
        # org.batch(): the org file is written once when the request ends, however many records it touched
        with org.lock, (org.batch() if hasattr(org, "batch") else contextlib.nullcontext()):
            # row_lock only hits writes (a read never needs a row lock)
            if method in WRITE_METHODS and self.faults.take(org.alias, ("row_lock",)):
                ctx.row_lock = True
            try:
                resp = self.dispatch(ctx, method, parts[1:], query, raw_body, top=True)
            except Exception as exc:  # noqa: BLE001 - counted request: answer with the error and the usage header
                err = self.as_api_error(exc)
                resp = Response(err.status, error_body(err, with_fields=method in WRITE_METHODS))
            finally:
                if ctx.dirty and not hasattr(org, "batch"):
                    org.save()  # once per write request, not per record
        return resp

    def authenticate(self, headers):
        """Bearer/OAuth token -> (org, session, token); 401 INVALID_SESSION_ID otherwise (ref §7.1, SSF util.py
        reads errorCode == 'INVALID_SESSION_ID' to refresh)."""
        auth = headers.get("Authorization") or ""
        scheme, _, token = auth.strip().partition(" ")
        token = token.strip()
        if scheme.lower() not in ("bearer", "oauth") or not token:
            raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        org = self.org_for_token(token)
        session = self.oauth.session_for(org, token) if org else None
        if session is None:
            raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        return org, session, token

    def _api_faults(self, org, token, method):
        f = self.faults.take(org.alias, ("session_expired", "request_limit"))
        if f is None:
            return
        if f["fault"] == "session_expired":
            self.oauth.kill_session(org, token)
            raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")

    def _check_limit(self, org):
        with org.lock:
            used = self.api_used(org)
        if used >= self.daily_api_limit:
            # 403 REQUEST_LIMIT_EXCEEDED "TotalRequests Limit exceeded." (ref §7.1 [3rd many]; REST67 status 403)
            raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")

    # ----------------------------------------------------------------------------------------------------
    # REST routing (rest = path segments after the version)

    def dispatch(self, ctx, method, rest, query, raw_body, top=False, sub_body=None):
        """Route one REST call. ``raw_body`` (bytes) for top-level requests, ``sub_body`` (parsed) for composite
        subrequests. Returns Response; raises ApiError (or org.ApiError)."""
        try:
            return self._dispatch(ctx, method, rest, query, raw_body, top, sub_body)
        except Exception as exc:  # noqa: BLE001 - org/soql errors become ApiError, others propagate
            raise self.as_api_error(exc) from None

    def _body(self, raw_body, sub_body, top):
        if not top:
            if sub_body is None:
                raise ApiError(400, "JSON_PARSER_ERROR", "No content to map due to end-of-input")
            return sub_body
        return parse_json_body(raw_body)

    def _dispatch(self, ctx, method, rest, query, raw_body, top, sub_body):
        if method == "HEAD":
            method = "GET"
        if not rest:
            if method != "GET":
                raise _method_not_allowed(method, "HEAD,GET")
            return Response(200, self.resources(ctx))
        head = rest[0]
        n = len(rest)
        if head == "limits" and n == 1:
            if method != "GET":
                raise _method_not_allowed(method, "HEAD,GET")
            return Response(200, self.limits(ctx))
        if head == "limits" and n == 2 and rest[1] == "recordCount":
            if method != "GET":
                raise _method_not_allowed(method, "HEAD,GET")
            return Response(200, self.record_count(ctx, _csv(query, "sObjects")))
        if head == "sobjects":
            return self._sobjects(ctx, method, rest[1:], query, raw_body, top, sub_body)
        if head in ("query", "queryAll") and n <= 2:
            if method != "GET":
                raise _method_not_allowed(method, "HEAD,GET")
            if n == 2:
                return self.query_more(ctx, rest[1])
            return self.query(ctx, query, include_deleted=(head == "queryAll"))
        if head == "composite":
            if n == 1:
                if not top:
                    # Composite can't nest itself: only the listed resources are subrequest targets (REST67
                    # resources_composite_composite "Subrequest resources") [doc; error shape infer]
                    raise _not_found()
                if method != "POST":
                    raise _method_not_allowed(method, "POST")
                return self.composite(ctx, self._body(raw_body, sub_body, top))
            if rest[1] == "sobjects":
                return self._collections(ctx, method, rest[2:], query, raw_body, top, sub_body)
        raise _not_found()

    # resources -----------------------------------------------------------------------------------------------
    def resources(self, ctx):
        """GET /services/data/vXX.X/ (REST67 resources_discoveryresource). Only resources this emulator serves
        are advertised, plus identity (the /id URL, REST67 + OAuth identity URL)."""
        base = "/services/data/v%s" % ctx.version
        return {
            "limits": base + "/limits",
            "sobjects": base + "/sobjects",
            "query": base + "/query",
            "queryAll": base + "/queryAll",
            "composite": base + "/composite",
            "identity": "%s/id/%s/%s" % (self.base_url, ctx.org.org_id, ctx.user_id),
        }

    def limits(self, ctx):
        """GET limits/ (REST67 resources_limits; shape {"Name": {"Max": n, "Remaining": n}}). DailyApiRequests
        reflects real use; the others are realistic constant values for an Enterprise Edition org [infer]."""
        used = self.api_used(ctx.org)
        out = {
            "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
            "ConcurrentSyncReportRuns": {"Max": 20, "Remaining": 20},
            "DailyApiRequests": {"Max": self.daily_api_limit, "Remaining": max(0, self.daily_api_limit - used)},
            "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            "DailyGenericStreamingApiEvents": {"Max": 10000, "Remaining": 10000},
            "DailyStreamingApiEvents": {"Max": 1000000, "Remaining": 1000000},
            "DailyWorkflowEmails": {"Max": 390, "Remaining": 390},
            "DataStorageMB": {"Max": 5, "Remaining": 5},
            "FileStorageMB": {"Max": 20, "Remaining": 20},
            "HourlyTimeBasedWorkflow": {"Max": 50, "Remaining": 50},
            "MassEmail": {"Max": 10, "Remaining": 10},
            "SingleEmail": {"Max": 15, "Remaining": 15},
        }
        ps = self._permission_set_limit(ctx)
        if ps:
            out["PermissionSets"] = ps
        return out

    def record_count(self, ctx, names):
        """GET limits/recordCount[?sObjects=A,B] -> {"sObjects": [{"count": n, "name": "A"}]} (REST67
        resources_record_count; shape from the recorded CCI TestUpsert cassette). Unknown names are left out; without
        sObjects every object with records is listed [doc]. Salesforce's counts are estimates refreshed
        periodically; ours are exact [infer]."""
        org = ctx.org
        if names:
            infos = [org.object_info(n) for n in names]
            objs = [i.name for i in infos if i is not None]
        else:
            objs = sorted(org.describe_global(ctx.version)["sobjects"], key=lambda o: o["name"])
            objs = [o["name"] for o in objs]
        out = []
        for name in objs:
            count = len(org.rows(name))
            if names or count:
                out.append({"count": count, "name": name})
        return {"sObjects": out}

    def _permission_set_limit(self, ctx):
        # PermissionSets {"Max":1500,"Remaining":…,"CreateCustom":{"Max":1000,"Remaining":…}} is in real limits
        # responses (REST67 resources_limits list) [doc]; custom = not owned by a profile.
        try:
            total, _ = ctx.org.query("SELECT COUNT() FROM PermissionSet WHERE IsOwnedByProfile = false", ctx.version)
        except Exception:  # noqa: BLE001 - schema without PermissionSet: simply leave the key out
            return None
        return {"Max": 1500, "Remaining": max(0, 1500 - total),
                "CreateCustom": {"Max": 1000, "Remaining": max(0, 1000 - total)}}

    # sobjects ------------------------------------------------------------------------------------------------
    def _dml(self, ctx):
        """Called before every write: the row_lock fault fails the first DML of the request like Salesforce's
        UNABLE_TO_LOCK_ROW (message per ref §7.1 [3rd]; status 400 like other DML errors [infer])."""
        if ctx.row_lock:
            ctx.row_lock = False
            raise ApiError(400, "UNABLE_TO_LOCK_ROW",
                           "unable to obtain exclusive access to this record or 1 records", [])
        ctx.dirty = True

    def _sobjects(self, ctx, method, rest, query, raw_body, top, sub_body):
        org, ver = ctx.org, ctx.version
        n = len(rest)
        if n == 0:
            if method != "GET":
                raise _method_not_allowed(method, "HEAD,GET")
            return self._conditional(ctx, org.describe_global(ver))
        sobject = rest[0]
        if n == 1:
            if method == "GET":
                return Response(200, org.basic_info(sobject, ver))
            if method == "POST":
                body = self._body(raw_body, sub_body, top)
                if not isinstance(body, dict):
                    raise ApiError(400, "JSON_PARSER_ERROR",
                                   "Cannot deserialize instance of %s from START_ARRAY value" % sobject)
                fields = {k: v for k, v in body.items() if k != "attributes"}
                self._dml(ctx)
                new_id = org.create(sobject, fields, ver, ctx.user_id)
                name = self._canonical(org, sobject)
                # 201 {"id","success":true,"errors":[]} (ref §7.1 [real CCI cassette]); Location per REST67
                # composite subrequest result example.
                return Response(201, {"id": new_id, "success": True, "errors": []},
                                {"Location": "/services/data/v%s/sobjects/%s/%s" % (ver, name, new_id)})
            raise _method_not_allowed(method, "HEAD,GET,POST")
        if n == 2 and rest[1] == "describe":
            if method != "GET":
                raise _method_not_allowed(method, "HEAD,GET")
            return self._conditional(ctx, org.describe(sobject, ver))
        if n == 2:
            rec_id = rest[1]
            if method == "GET":
                fields = _fields_param(query)
                return Response(200, org.retrieve(sobject, rec_id, fields, ver))
            if method == "PATCH":
                body = self._body(raw_body, sub_body, top)
                if not isinstance(body, dict):
                    raise ApiError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of %s" % sobject)
                fields = {k: v for k, v in body.items() if k != "attributes"}
                self._dml(ctx)
                org.update(sobject, rec_id, fields, ver, ctx.user_id)
                return Response(204)
            if method == "DELETE":
                self._dml(ctx)
                org.delete(sobject, rec_id, ver, ctx.user_id)
                return Response(204)
            raise _method_not_allowed(method, "HEAD,GET,PATCH,DELETE")
        if n == 3 and rest[2] == "password" and sobject.lower() == "user":
            return self._user_password(ctx, method, rest[1], raw_body, sub_body, top)
        if n == 3:
            # sobjects/T/ExternalIdField/value (REST67 dome_upsert, resources_sobject_upsert)
            field, value = rest[1], urllib.parse.unquote(rest[2])
            if method == "GET":
                rec_id = self._find_by_field(ctx, sobject, field, value, must_exist=True)
                return Response(200, org.retrieve(sobject, rec_id, _fields_param(query), ver))
            if method == "PATCH":
                body = self._body(raw_body, sub_body, top)
                if not isinstance(body, dict):
                    raise ApiError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of %s" % sobject)
                rec_id, created = self._upsert(ctx, sobject, field, value, body)
                # 201 created; 200 {"created": false} on update for v46+ (REST67 dome_upsert) [doc]
                status = 201 if created else (200 if float(ver) >= 46.0 else 204)
                if status == 204:
                    return Response(204)
                return Response(status, {"id": rec_id, "success": True, "errors": [], "created": created})
            if method == "DELETE":
                rec_id = self._find_by_field(ctx, sobject, field, value, must_exist=True)
                self._dml(ctx)
                org.delete(sobject, rec_id, ver, ctx.user_id)
                return Response(204)
            raise _method_not_allowed(method, "HEAD,GET,PATCH,DELETE")
        raise _not_found()

    def _conditional(self, ctx, body):
        """Describe resources honour If-Modified-Since and If-None-Match and send ETag + Last-Modified (REST67
        "Conditional requests" / headers_ifmodifiedsince; recorded CCI ManualEditTestCompositeParallelSalesforce.
        test_http_headers: 304, body null, headers ETag "\"baf7f695\"" and Last-Modified). The schema changes only
        with the emulator itself, so Last-Modified is the seed time [infer]; the ETag is a CRC-32 of the body
        (8 hex digits like the recorded one) [infer]."""
        import email.utils  # noqa: PLC0415
        import zlib  # noqa: PLC0415

        etag = '"%08x"' % (zlib.crc32(json.dumps(body, sort_keys=True).encode()) & 0xFFFFFFFF)
        headers = {"ETag": etag, "Last-Modified": SCHEMA_LAST_MODIFIED}
        inm = ctx.headers.get("If-None-Match") if ctx.headers is not None else None
        ims = ctx.headers.get("If-Modified-Since") if ctx.headers is not None else None
        if inm and etag in [t.strip() for t in inm.split(",")]:
            return Response(304, None, headers)
        if ims and not inm:
            try:
                since = email.utils.parsedate_to_datetime(ims)
            except (TypeError, ValueError):
                since = None
            if since is not None and since.tzinfo is not None and since >= _SCHEMA_LM_DT:
                return Response(304, None, headers)
        return Response(200, body, headers)

    def _user_password(self, ctx, method, user_id, raw_body, sub_body, top):
        """sobjects/User/ID/password (REST67 dome_sobject_user_password): GET -> {"isExpired": bool}; POST
        {"NewPassword"} -> 204 sets it silently; DELETE -> 200 {"NewPassword": generated} resets it [doc]."""
        found = ctx.org.row_by_id(ids.normalize_id(user_id) or "")
        if found is None or found[0] != "User":
            raise _not_found()
        uid = found[1]["Id"]
        if method == "GET":
            return Response(200, {"isExpired": False})
        if method == "POST":
            body = self._body(raw_body, sub_body, top)
            pw = body.get("NewPassword") if isinstance(body, dict) else None
            if not isinstance(pw, str) or len(pw) < 8:
                # Default password policy: at least 8 characters, letters and numbers (Help "Password Policies")
                raise ApiError(400, "INVALID_NEW_PASSWORD",
                               "Your password must be at least 8 characters long.")
            self._dml(ctx)
            ctx.org.set_password(uid, pw)
            return Response(204)
        if method == "DELETE":
            from sfemu.oauth import new_password  # noqa: PLC0415

            pw = new_password()
            self._dml(ctx)
            ctx.org.set_password(uid, pw)
            return Response(200, {"NewPassword": pw})
        raise _method_not_allowed(method, "HEAD,GET,POST,DELETE")

    @staticmethod
    def _canonical(org, sobject):
        info = org.object_info(sobject)
        return info.name if info else sobject

    def _find_by_field(self, ctx, sobject, field, value, must_exist):
        """Ids of records whose ``field`` equals ``value`` (through SOQL, so field/type errors are the engine's)."""
        info = ctx.org.object_info(sobject)
        if info is None:
            raise _not_found()
        finfo = info.field(field)
        if finfo is None:
            # REST67 dome_upsert: unknown external id field -> 404 NOT_FOUND "Provided external ID field does not
            # exist or is not accessible: X" [doc]
            raise ApiError(404, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: %s"
                           % field)
        if finfo.name == "Id":
            norm = ids.normalize_id(value)
            rows = [norm] if norm and ctx.org.row_by_id(norm) else []
        else:
            lit = "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"
            _, recs = ctx.org.query("SELECT Id FROM %s WHERE %s = %s" % (info.name, finfo.name, lit), ctx.version)
            rows = [r["Id"] for r in recs]
        if len(rows) > 1:
            # 300 Multiple Choices with the matching record URLs (REST67 status codes: "300 ... external ID
            # exists in more than one record") [doc]
            raise ApiError(300, "MULTIPLE_CHOICES",
                           "Multiple records found for %s: %s" % (field, ", ".join(rows)))
        if not rows:
            if must_exist:
                raise _not_found()
            return None
        return rows[0]

    def _upsert(self, ctx, sobject, field, value, body):
        fields = {k: v for k, v in body.items() if k != "attributes"}
        rec_id = self._find_by_field(ctx, sobject, field, value, must_exist=False)
        self._dml(ctx)
        if rec_id is None:
            info = ctx.org.object_info(sobject)
            fname = info.field(field).name
            if fname == "Id":
                # An Id that matches no record cannot be inserted under that Id [infer: NOT_FOUND]
                raise ApiError(404, "NOT_FOUND", NOT_FOUND_MSG)
            fields[fname] = value
            new_id = ctx.org.create(sobject, fields, ctx.version, ctx.user_id)
            return new_id, True
        ctx.org.update(sobject, rec_id, fields, ctx.version, ctx.user_id)
        return rec_id, False

    # query ---------------------------------------------------------------------------------------------------
    def _batch_size(self, ctx):
        # Sforce-Query-Options: batchSize=N, 200..2000; the batch size is a hint (REST67 headers_queryoptions).
        # Values out of range are clamped [infer].
        hdr = ctx.headers.get("Sforce-Query-Options") or "" if ctx.headers is not None else ""
        m = re.search(r"batchSize\s*=\s*(\d+)", hdr)
        if not m:
            return DEFAULT_BATCH
        return min(2000, max(200, int(m.group(1))))

    def query(self, ctx, query, include_deleted):
        q = (query.get("q") or [None])[0]
        if not q:
            # GET query/ without q [infer: Salesforce answers 400 MALFORMED_QUERY]
            raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        if (query.get("columns") or [""])[0].lower() == "true":
            # columns=true: the selected columns, not the records (soql.query_columns has the sources) [3rd]
            return Response(200, ctx.org.query_columns(q, ctx.version))
        total, records = ctx.org.query(q, ctx.version, include_deleted)
        batch = self._batch_size(ctx)
        return Response(200, self._page(ctx, "queryAll" if include_deleted else "query", total, records, 0, batch,
                                        None))

    def _page(self, ctx, kind, total, records, offset, batch, loc):
        chunk = records[offset:offset + batch]
        end = offset + len(chunk)
        body = {"totalSize": total, "done": end >= len(records)}
        if not body["done"]:
            if loc is None:
                loc = self.new_locator(ctx.org, ctx.user_id, records, batch, ctx.version)
            body["nextRecordsUrl"] = "/services/data/v%s/%s/%s-%d" % (ctx.version, kind, loc, end)
        body["records"] = chunk
        return body

    def query_more(self, ctx, token):
        # /query/<locator>-<offset> (ref §7.2). Unknown/expired -> 404 INVALID_QUERY_LOCATOR (ref §7.1).
        loc, _, off = token.rpartition("-")
        item = self.get_locator(ctx.org, loc) if loc and off.isdigit() else None
        if item is None or int(off) > len(item["records"]):
            raise ApiError(404, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return Response(200, self._page(ctx, "query", len(item["records"]), item["records"], int(off),
                                        item["batch"], loc) | {"totalSize": len(item["records"])})

    # composite -------------------------------------------------------------------------------------------------
    def composite(self, ctx, body):
        """POST composite/ (REST67 resources_composite_composite; ref §7.3). Always HTTP 200 with per-subrequest
        results unless the request itself is invalid."""
        if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
            raise ApiError(400, "JSON_PARSER_ERROR", "compositeRequest is required and must be an array")
        subs = body["compositeRequest"]
        all_or_none = bool(body.get("allOrNone", False))
        if not subs:
            raise ApiError(400, "INVALID_INPUT", "compositeRequest must contain at least one subrequest")
        if len(subs) > 25:
            # Limit 25 subrequests (ref §7.3 [doc]); message [infer]
            raise ApiError(400, "LIMIT_EXCEEDED", "Composite request exceeds the limit of 25 subrequests")
        seen = set()
        heavy = 0
        parsed = []
        for i, sub in enumerate(subs):
            if not isinstance(sub, dict):
                raise ApiError(400, "JSON_PARSER_ERROR", "compositeRequest[%d] must be an object" % i)
            ref = sub.get("referenceId")
            meth = str(sub.get("method") or "").upper()
            url = sub.get("url")
            if not isinstance(ref, str) or not ref or not isinstance(url, str) or not meth:
                raise ApiError(400, "INVALID_INPUT", "Each subrequest needs method, url and referenceId")
            if not re.fullmatch(r"[A-Za-z0-9_]+", ref):
                # v52+: illegal characters fail the whole request (REST67 composite subrequest result page) [doc]
                raise ApiError(400, "JSON_PARSER_ERROR",
                               "The referenceId %s contains an illegal character. Use only alphanumeric characters "
                               "and underscores." % ref)
            if ref in seen:
                raise ApiError(400, "INVALID_INPUT", "Duplicate referenceId %s" % ref)  # [infer]
            seen.add(ref)
            hdrs = sub.get("httpHeaders") or {}
            if not isinstance(hdrs, dict):
                raise ApiError(400, "JSON_PARSER_ERROR", "httpHeaders must be an object")
            bad = [h for h in hdrs if h.lower() in ("accept", "authorization", "content-type")]
            if bad:
                # Accept/Authorization/Content-Type in a subrequest fail the request (ref §7.3 [doc])
                raise ApiError(400, "INVALID_INPUT", "Header %s is not allowed in a subrequest" % bad[0])
            m = re.match(r"^/services/data/(v\d+\.\d|latest)(/[^?]*)?(\?.*)?$", url)
            if not m:
                # url must begin with /services/data/vXX.X/ (ref §7.3 [doc]); error shape [infer]
                raise ApiError(400, "INVALID_INPUT", "The URL %s is not valid: it must begin with "
                               "/services/data/vXX.X/" % url)
            tail = (m.group(2) or "").strip("/").split("/")
            if tail and tail[0] in ("query", "queryAll") or tail[:2] == ["composite", "sobjects"]:
                heavy += 1
            parsed.append((ref, meth, url, sub.get("body"), hdrs))
        if heavy > 5:
            raise ApiError(400, "LIMIT_EXCEEDED",
                           "Composite request exceeds the limit of 5 sObject Collections or query subrequests")

        results = {}
        out = []
        snap = ctx.org.snapshot() if all_or_none else None
        failed_at = None
        for idx, (ref, meth, url, sub_body, hdrs) in enumerate(parsed):
            try:
                url_r = resolve_refs(url, results, in_url=True)
                body_r = resolve_refs(sub_body, results) if sub_body is not None else None
            except _RefError as exc:
                res = {"body": [{"errorCode": "PROCESSING_HALTED", "message": str(exc)}], "httpHeaders": {},
                       "httpStatusCode": 400, "referenceId": ref}
            else:
                res = self._run_sub(ctx, meth, url_r, body_r, hdrs, ref)
            out.append(res)
            if res["httpStatusCode"] < 400:
                results[ref] = res["body"]
            elif all_or_none:
                failed_at = idx
                break
        if failed_at is not None:
            ctx.org.restore(snap)
            # Others -> 400 PROCESSING_HALTED "The transaction was rolled back since another operation in the same
            # transaction failed." (ref §7.3 [doc + 3rd]); the failing one keeps its own error.
            halted = [{"errorCode": "PROCESSING_HALTED",
                       "message": "The transaction was rolled back since another operation in the same transaction "
                                  "failed."}]
            final = []
            for idx, (ref, *_rest) in enumerate(parsed):
                if idx == failed_at:
                    final.append(out[idx])
                else:
                    final.append({"body": halted, "httpHeaders": {}, "httpStatusCode": 400, "referenceId": ref})
            out = final
        return Response(200, {"compositeResponse": out})

    def _run_sub(self, ctx, meth, url, body, hdrs, ref):
        parsed_url = urllib.parse.urlsplit(url)
        segs = parsed_url.path.split("/")  # ['', 'services', 'data', 'vXX.X', ...]
        version = parse_version(segs[3]) if len(segs) > 3 else None
        sub_headers = dict(ctx.headers.items()) if ctx.headers is not None else {}
        sub_headers.update(hdrs)
        sub_ctx = Ctx(ctx.org, ctx.session, ctx.token, version or ctx.version, _CIHeaders(sub_headers))
        sub_ctx.row_lock = ctx.row_lock
        try:
            if version is None:
                raise _not_found()
            rest = [p for p in segs[4:]]
            while rest and rest[-1] == "":
                rest.pop()
            query = urllib.parse.parse_qs(parsed_url.query, keep_blank_values=True)
            resp = self.dispatch(sub_ctx, meth, rest, query, None, top=False, sub_body=body)
            res = {"body": resp.body, "httpHeaders": resp.headers, "httpStatusCode": resp.status, "referenceId": ref}
        except Exception as exc:  # noqa: BLE001
            err = self.as_api_error(exc)
            res = {"body": error_body(err, with_fields=meth in WRITE_METHODS), "httpHeaders": {},
                   "httpStatusCode": err.status, "referenceId": ref}
        finally:
            ctx.dirty = ctx.dirty or sub_ctx.dirty
            ctx.row_lock = sub_ctx.row_lock
        return res

    # collections ---------------------------------------------------------------------------------------------
    def _collections(self, ctx, method, rest, query, raw_body, top, sub_body):
        """composite/sobjects (REST67 resources_composite_sobjects_collections_*; ref §7.4). A collections request
        is one API request whatever the record count (REST67 "API Request Limits": composite resources count as
        one call)."""
        n = len(rest)
        if n == 0:
            if method == "POST":
                return Response(200, self._coll_save(ctx, self._body(raw_body, sub_body, top), "create"))
            if method == "PATCH":
                return Response(200, self._coll_save(ctx, self._body(raw_body, sub_body, top), "update"))
            if method == "DELETE":
                return Response(200, self._coll_delete(ctx, query))
            raise _method_not_allowed(method, "POST,PATCH,DELETE")
        if n == 1:
            if method in ("GET", "POST"):
                # GET …?ids=&fields= ; POST with {"ids":[…],"fields":[…]} for long lists (REST67
                # resources_composite_sobjects_collections_retrieve)
                if method == "POST":
                    b = self._body(raw_body, sub_body, top)
                    if not isinstance(b, dict):
                        raise ApiError(400, "JSON_PARSER_ERROR", "Expected an object with ids and fields")
                    id_list, field_list = b.get("ids") or [], b.get("fields") or []
                else:
                    id_list = _csv(query, "ids")
                    field_list = _csv(query, "fields")
                return Response(200, self._coll_retrieve(ctx, rest[0], id_list, field_list))
            raise _method_not_allowed(method, "GET,POST")
        if n == 2 and method == "PATCH":
            return Response(200, self._coll_upsert(ctx, rest[0], rest[1], self._body(raw_body, sub_body, top)))
        if n == 2:
            raise _method_not_allowed(method, "PATCH")
        raise _not_found()

    def _records_arg(self, body):
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body must contain a records array")
        records = body["records"]
        if not all(isinstance(r, dict) for r in records):
            # A record that is not a JSON object cannot be deserialised into an SObject [infer: Jackson error]
            raise ApiError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of SObject from a non-object value")
        if len(records) > 200:
            # EXCEEDED_ID_LIMIT "record limit reached. cannot submit more than 200 records into this call"
            # (SOAP/REST DML limit 200; message [3rd, frequently quoted])
            raise ApiError(400, "EXCEEDED_ID_LIMIT",
                           "record limit reached. cannot submit more than 200 records into this call")
        return records, bool(body.get("allOrNone", False))

    def _each(self, ctx, items, all_or_none, fn):
        """Run fn per item; collect SaveResults; allOrNone rolls everything back when any failed: failing items keep
        their error, the others get ALL_OR_NONE_OPERATION_ROLLED_BACK (ref §7.1 note [3rd recorded])."""
        snap = ctx.org.snapshot() if all_or_none else None
        results, ok = [], []
        for item in items:
            try:
                res = fn(item)
                results.append(res)
                ok.append(True)
            except Exception as exc:  # noqa: BLE001
                err = self.as_api_error(exc)
                res = {"success": False, "errors": save_result_errors(err)}
                rid = getattr(err, "_record_id", None)
                if rid:
                    res = {"id": rid, **res}
                results.append(res)
                ok.append(False)
        if all_or_none and not all(ok):
            ctx.org.restore(snap)
            rolled = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                      "message": "Record rolled back because not all records were valid and the request was using "
                                 "AllOrNone header", "fields": []}
            results = [r if not good else {"success": False, "errors": [rolled]}
                       for r, good in zip(results, ok)]
        return results

    def _coll_save(self, ctx, body, mode):
        records, all_or_none = self._records_arg(body)
        org, ver = ctx.org, ctx.version

        def one(rec):
            if not isinstance(rec, dict):
                raise ApiError(400, "INVALID_FIELD", "Each record must be a JSON object")
            sobject = (rec.get("attributes") or {}).get("type") if isinstance(rec.get("attributes"), dict) else None
            if not sobject:
                # attributes.type is required on each record (REST67 collections create) [doc]; code [infer]
                raise ApiError(400, "INVALID_TYPE", "Must specify a type for each record in attributes")
            fields = {k: v for k, v in rec.items() if k != "attributes"}
            if mode == "create":
                if fields.get("Id"):
                    # "cannot specify Id in an insert call" (SOAP create errors; REST collections: no Id) [doc]
                    raise ApiError(400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
                self._dml(ctx)
                return {"id": org.create(sobject, fields, ver, ctx.user_id), "success": True, "errors": []}
            rid = fields.pop("Id", None)
            if not rid:
                raise ApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
            self._dml(ctx)
            try:
                org.update(sobject, rid, fields, ver, ctx.user_id)
            except Exception as exc:  # noqa: BLE001 - keep the id on the failed SaveResult like Salesforce
                err = self.as_api_error(exc)
                err._record_id = rid
                raise err from None
            return {"id": rid, "success": True, "errors": []}

        return self._each(ctx, records, all_or_none, one)

    def _coll_delete(self, ctx, query):
        id_list = _csv(query, "ids")
        all_or_none = (query.get("allOrNone") or ["false"])[0].lower() == "true"
        if not id_list:
            raise ApiError(400, "MISSING_ARGUMENT", "ids parameter is required")  # [infer]
        if len(id_list) > 200:
            raise ApiError(400, "EXCEEDED_ID_LIMIT",
                           "record limit reached. cannot submit more than 200 records into this call")
        org = ctx.org

        def one(raw_id):
            norm = ids.normalize_id(raw_id)
            if norm is None:
                err = ApiError(400, "MALFORMED_ID", "malformed id %s" % raw_id, [])
                err._record_id = raw_id
                raise err
            found = org.row_by_id(norm)
            if found is None:
                # Deleting a missing id: INVALID_CROSS_REFERENCE_KEY "invalid cross reference id" (SOAP delete()
                # result for an unknown id) [infer: ENTITY_IS_DELETED when it sits in the recycle bin]
                err = ApiError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
                err._record_id = norm
                raise err
            sobject = found[0]
            self._dml(ctx)
            try:
                org.delete(sobject, norm, ctx.version, ctx.user_id)
            except Exception as exc:  # noqa: BLE001
                err = self.as_api_error(exc)
                err._record_id = norm
                raise err from None
            return {"id": norm, "success": True, "errors": []}

        return self._each(ctx, id_list, all_or_none, one)

    def _coll_retrieve(self, ctx, sobject, id_list, field_list):
        if not id_list or not field_list:
            raise ApiError(400, "MISSING_ARGUMENT", "ids and fields are required")  # [infer]
        if len(id_list) > 2000:
            raise ApiError(400, "EXCEEDED_ID_LIMIT", "Number of ids exceeds the limit of 2000")  # REST67 [doc]
        out = []
        for rid in id_list:
            try:
                out.append(ctx.org.retrieve(sobject, rid, field_list, ctx.version))
            except Exception as exc:  # noqa: BLE001
                err = self.as_api_error(exc)
                if err.status == 404:
                    out.append(None)  # missing ids come back as null, in order (REST67 collections retrieve)
                else:
                    raise
        return out

    def _coll_upsert(self, ctx, sobject, field, body):
        records, all_or_none = self._records_arg(body)

        def one(rec):
            if not isinstance(rec, dict):
                raise ApiError(400, "INVALID_FIELD", "Each record must be a JSON object")
            info = ctx.org.object_info(sobject)
            finfo = info.field(field) if info else None
            if finfo is None:
                raise ApiError(400, "INVALID_FIELD", "Field name provided, %s is not an External ID or indexed "
                               "field for %s" % (field, sobject))  # [3rd: common client logs]
            value = None
            for k, v in rec.items():
                if k.lower() == finfo.name.lower():
                    value = v
            body = {k: v for k, v in rec.items() if k.lower() != finfo.name.lower()}
            if value in (None, "") and finfo.name == "Id":
                # Upsert on Id without an Id inserts (recorded CCI cassette test_upsert_complex_external_id_field_
                # rest__duplicate_error: {"Id": null} -> created: true)
                self._dml(ctx)
                new_id = ctx.org.create(sobject, {k: v for k, v in body.items() if k != "attributes"}, ctx.version,
                                        ctx.user_id)
                return {"id": new_id, "success": True, "errors": [], "created": True}
            if value in (None, ""):
                raise ApiError(400, "MISSING_ARGUMENT", "%s not specified" % finfo.name, [finfo.name])
            rid, created = self._upsert(ctx, sobject, finfo.name, value, body)
            return {"id": rid, "success": True, "errors": [], "created": created}

        return self._each(ctx, records, all_or_none, one)


# --------------------------------------------------------------------------------------------------------------
# composite references


class _RefError(Exception):
    pass


_REF_RE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")


def _lookup_ref(results, ref, path):
    if ref not in results:
        raise _RefError("Invalid reference specified. No value for %s%s found in %s. Provided referenceId ('%s') "
                        "must refer to a prior successful subrequest." % (ref, path, ref, ref))  # [infer] wording
    value = results[ref]
    for key, idx in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        try:
            if key:
                value = value[key]
            else:
                value = value[int(idx)]
        except (KeyError, IndexError, TypeError):
            raise _RefError("Invalid reference specified. No value for %s%s found in %s." % (ref, path, ref)) \
                from None
    return value


def resolve_refs(obj, results, in_url=False):
    """Replace @{ref.path} in strings (URL and body) with values from earlier subrequest bodies (REST67 composite:
    "@{refId.id}", "@{refId.records[0].Id}"). A string that is exactly one reference keeps the referenced value's
    JSON type [infer]."""
    if isinstance(obj, str):
        m = _REF_RE.fullmatch(obj)
        if m and not in_url:
            return _lookup_ref(results, m.group(1), m.group(2))

        def rep(mm):
            v = _lookup_ref(results, mm.group(1), mm.group(2))
            s = v if isinstance(v, str) else json.dumps(v)
            return urllib.parse.quote(s, safe="") if in_url and "?" in obj[:mm.start()] else s

        return _REF_RE.sub(rep, obj)
    if isinstance(obj, dict):
        return {k: resolve_refs(v, results) for k, v in obj.items()}
    if isinstance(obj, list):
        return [resolve_refs(v, results) for v in obj]
    return obj


# --------------------------------------------------------------------------------------------------------------
# helpers


class _CIHeaders(dict):
    """Case-insensitive header mapping for composite subrequests."""

    def __init__(self, d):
        super().__init__({k.lower(): v for k, v in d.items()})

    def get(self, key, default=None):
        return super().get(key.lower(), default)


def _fields_param(query):
    vals = query.get("fields")
    if not vals:
        return None
    return [f.strip() for f in ",".join(vals).split(",") if f.strip()]


def _csv(query, name):
    vals = query.get(name)
    if not vals:
        return []
    return [v.strip() for v in ",".join(vals).split(",") if v.strip()]


def resource_name(rest):
    """Key of stats by_resource: 'sobjects/<Type>', 'composite/sobjects', 'query', 'composite', 'limits', ..."""
    if not rest:
        return "resources"
    head = rest[0]
    if head == "sobjects":
        return "sobjects/" + rest[1] if len(rest) > 1 else "sobjects"
    if head == "composite" and len(rest) > 1 and rest[1] == "sobjects":
        return "composite/sobjects"
    return head


# --------------------------------------------------------------------------------------------------------------
# HTTP plumbing


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024
    block_on_close = False

    def handle_error(self, request, client_address):
        # Client disconnects and TLS errors are normal for a test server; log anything else at debug level only.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, socket.timeout, TimeoutError, OSError)):
            return
        log.debug("error serving %s", client_address, exc_info=True)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sfemu"
    sys_version = ""
    timeout = 300  # idle keep-alive connections release their thread eventually

    def log_message(self, fmt, *args):  # noqa: D401 - no default access log (query strings can carry tokens)
        return

    def setup(self):
        super().setup()
        try:
            # Answers go out in one write; no Nagle delay waiting for the client's delayed ACK (40 ms on Linux).
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def handle(self):
        try:
            super().handle()
        except (ConnectionError, ssl.SSLError, socket.timeout, TimeoutError, ConnectionResetFault):
            self.close_connection = True

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_PATCH(self):
        self._serve("PATCH")

    def do_PUT(self):
        self._serve("PUT")

    def do_DELETE(self):
        self._serve("DELETE")

    def do_HEAD(self):
        self._serve("HEAD")

    def do_OPTIONS(self):
        self._serve("OPTIONS")

    # ----------------------------------------------------------------------------------------------------
    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise ApiError(413, "REQUEST_ENTITY_TOO_LARGE", "Request body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)
            return b"".join(chunks)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise ApiError(400, "INVALID_INPUT", "Invalid Content-Length") from None
        if length < 0 or length > MAX_BODY:
            raise ApiError(413, "REQUEST_ENTITY_TOO_LARGE", "Request body too large")
        return self.rfile.read(length) if length else b""

    def _serve(self, method):
        app: App = self.server.app
        started = time.perf_counter()
        status = 0
        try:
            body = self._read_body()
            resp = self._route(app, method, body)
        except ConnectionResetFault:
            self._reset()
            return
        except Exception as exc:  # noqa: BLE001 - never a traceback to the client
            if isinstance(exc, _Unavailable):
                resp = Response(503, raw=MAINTENANCE_HTML, content_type="text/html;charset=UTF-8")
            elif app.is_api_error(exc) or isinstance(exc, ApiError):
                resp = Response(exc.status, error_body(exc))
            else:
                log.exception("internal error on %s %s", method, self.path.split("?", 1)[0])
                # Salesforce's own 500 shape: UNKNOWN_EXCEPTION (REST67 errors page) [doc]
                resp = Response(500, [{"message": "An unexpected error occurred. Please include this ErrorId if "
                                                  "you contact support: %s" % secrets.token_hex(8),
                                       "errorCode": "UNKNOWN_EXCEPTION"}])
        status = resp.status
        self._send(method, resp)
        if app.access_log:
            print("%s %s %d %.1fms" % (method, self.path.split("?", 1)[0], status,
                                       (time.perf_counter() - started) * 1000), file=sys.stderr, flush=True)

    def _reset(self):
        """Drop the connection without an answer (fault connection_reset): RST via SO_LINGER 0."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def _route(self, app, method, body):
        split = urllib.parse.urlsplit(self.path)
        path = split.path
        query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        if path.startswith("/__sfemu/") or path == "/__sfemu":
            return control(app, method, path[len("/__sfemu/"):], query, body)
        infra = path.startswith(("/services/", "/id/"))
        if infra:
            app.simulate_latency()
            self._infra_faults(app, path, body)
        if path.startswith("/services/data/") or path == "/services/data":
            resp = app.handle_rest(method, path[len("/services/data/"):], query, self.headers, body)
            org = app.org_for_token(_bearer(self.headers))
            if org is not None and path.rstrip("/") != "/services/data":
                resp.headers.setdefault("Sforce-Limit-Info", app.limit_header(org))
            return resp
        if path.startswith("/services/oauth2/") or path.startswith("/id/"):
            return app.oauth.handle(method, path, query, self.headers, body)
        if path.startswith("/services/Soap/m/"):
            from sfemu import metadata  # noqa: PLC0415

            return metadata.handle(app, method, path, self.headers, body)
        raise _not_found()

    def _infra_faults(self, app, path, body):
        """Faults that hit any API or token request: the org comes from the access token (REST, identity), the SOAP
        SessionHeader, or the token request's client_id / JWT issuer, so per-org faults reach logins too."""
        alias = "*"
        token = _bearer(self.headers)
        org = app.org_for_token(token) if token else None
        if org is None and path.startswith("/services/oauth2/"):
            org = app.oauth.org_of_token_request(body)
        elif org is None and path.startswith("/services/Soap/") and body:
            m = re.search(rb"<(?:\w+:)?sessionId>([^<]+)</", body[:8192])
            org = app.org_for_token(m.group(1).decode("ascii", "replace").strip()) if m else None
        if org is not None:
            alias = org.alias
        f = app.faults.take(alias, ("slow", "server_unavailable", "connection_reset"))
        if f is None:
            return
        if f["fault"] == "slow":
            time.sleep(f["delay_ms"] / 1000.0)
        elif f["fault"] == "connection_reset":
            raise ConnectionResetFault()
        else:
            raise _Unavailable()

    def _send(self, method, resp):
        if resp.raw is not None:
            payload = resp.raw
        elif resp.body is None and resp.status in (204, 304):
            payload = b""
        else:
            payload = json.dumps(resp.body, separators=(",", ":")).encode("utf-8")
        self.send_response(resp.status)
        if payload or resp.status not in (204, 304):
            self.send_header("Content-Type", resp.content_type)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        # end_headers() + body in a single write (one TLS record, one TCP segment for small answers)
        self._headers_buffer.append(b"\r\n")
        data = b"".join(self._headers_buffer)
        self._headers_buffer = []
        if method != "HEAD":
            data += payload
        self.wfile.write(data)


class _Unavailable(ApiError):
    """server_unavailable fault: 503 with the maintenance HTML page."""

    def __init__(self):
        super().__init__(503, "SERVER_UNAVAILABLE", "We are down for maintenance.")


def _bearer(headers):
    auth = (headers.get("Authorization") or "").strip()
    scheme, _, token = auth.partition(" ")
    return token.strip() if scheme.lower() in ("bearer", "oauth") else None


# --------------------------------------------------------------------------------------------------------------
# control API (/__sfemu/...; never counted, never delayed)


def control(app, method, path, query, body):
    path = path.strip("/")
    parts = path.split("/") if path else []

    def need(m):
        if method != m:
            raise _method_not_allowed(method, m)

    def jbody():
        return parse_json_body(body) if body and body.strip() else {}

    if parts == ["stats"]:
        if method == "GET":
            return Response(200, {"orgs": app.stats.snapshot(list(app.emulator.orgs))})
        if method == "DELETE":
            app.stats.clear()
            return Response(200, {"ok": True})
        raise _method_not_allowed(method, "GET,DELETE")
    if parts == ["faults"]:
        if method == "POST":
            return Response(200, {"ok": True, "fault": app.faults.add(jbody())})
        if method == "DELETE":
            app.faults.clear()
            return Response(200, {"ok": True})
        if method == "GET":
            return Response(200, {"faults": app.faults.list()})
        raise _method_not_allowed(method, "GET,POST,DELETE")
    if parts == ["reset"]:
        need("POST")
        app.reset()
        return Response(200, {"ok": True})
    if parts == ["health"]:
        return Response(200, {"ok": True, "orgs": len(app.emulator.orgs)})
    if len(parts) == 3 and parts[0] == "orgs" and parts[2] == "install_app":
        need("POST")
        org = app.org_by_alias(parts[1])
        if org is None:
            raise ApiError(404, "NOT_FOUND", "no org %s" % parts[1])
        data = jbody()
        name, kind = data.get("name"), data.get("kind") or "connected_app"
        if not isinstance(name, str) or not name:
            raise ApiError(400, "INVALID_INPUT", "name is required")
        if kind == "connected_app":
            with org.lock:
                result = org.install_connected_app(name)
            return Response(200, {"ok": True, "result": result})
        if kind != "external_client_app":
            raise ApiError(400, "INVALID_INPUT", "kind must be connected_app or external_client_app")
        # A vendor's packaged External Client App installed in this org (or a local one): docs/external-client-apps.md
        eca_app = org.install_external_client_app(name, data.get("distribution_state") or "Packaged")
        app.oauth.index_client(org, eca_app["client_id"])
        # The consumer key and secret are the vendor's; a test acting as the vendor needs them (like connections.json)
        secret = org.find_connected_app(eca_app["client_id"])["client_secret"]
        return Response(200, {"ok": True, "result": eca_app["id"], "kind": kind, "client_id": eca_app["client_id"],
                              "client_secret": secret, "developer_name": eca_app["developer_name"]})
    if len(parts) == 3 and parts[0] == "orgs" and parts[2] == "app_policy":
        # The manual Setup > Manage Connected Apps > Edit Policies save: what an admin does for an app installed from
        # another org, whose policy the Metadata API does not expose (docs/connected-apps.md). Same rules as the
        # Metadata API path: the app must be installed (org.set_connected_app_policy).
        need("POST")
        org = app.org_by_alias(parts[1])
        if org is None:
            raise ApiError(404, "NOT_FOUND", "no org %s" % parts[1])
        data = jbody()
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise ApiError(400, "INVALID_INPUT", "name is required")
        if any(eca_app["name"].lower() == name.lower() for eca_app in org.external_client_apps()):
            return Response(200, {"ok": True, "policy": _eca_setup_save(org, name, data)})
        policy = org.set_connected_app_policy(name, is_admin_approved=data.get("admin_approved"),
                                              ip_relaxation=data.get("ip_relaxation"),
                                              refresh_token_policy=data.get("refresh_token_policy"))
        return Response(200, {"ok": True, "policy": policy})  # get_connected_app_policy leaves the secret out
    if len(parts) == 3 and parts[0] == "orgs" and parts[2] == "authorize":
        # The user clicking "Allow" in the web server flow: returns an authorization code for the token endpoint
        # (grant_type=authorization_code), which then issues a refresh token.
        need("POST")
        org = app.org_by_alias(parts[1])
        if org is None:
            raise ApiError(404, "NOT_FOUND", "no org %s" % parts[1])
        data = jbody()
        if data.get("app"):
            # The whole consent for an app whose secret the test does not hold (a vendor's app): the user allows it
            # and the vendor redeems the code. The app's policy applies (400 with the token endpoint's error).
            from sfemu.oauth import OAuthError  # noqa: PLC0415

            try:
                body = app.oauth.authorize_app(org, data.get("username"), data["app"])
            except OAuthError as exc:
                return Response(exc.status, {"error": exc.error, "error_description": exc.description})
            if body is None:
                raise ApiError(404, "NOT_FOUND", "no such user in %s" % parts[1])
            return Response(200, body)
        code = app.oauth.mint_code(org, data.get("username"))
        if code is None:
            raise ApiError(404, "NOT_FOUND", "no such user in %s" % parts[1])
        return Response(200, {"code": code})
    if len(parts) == 2 and parts[0] == "orgs" and method == "GET":
        org = app.org_by_alias(parts[1])
        if org is None:
            raise ApiError(404, "NOT_FOUND", "no org %s" % parts[1])
        return Response(200, {"alias": org.alias, "org_id": org.org_id, "api_used": app.api_used(org),
                              "api_max": app.daily_api_limit})
    raise ApiError(404, "NOT_FOUND", "unknown control resource /__sfemu/%s" % path)


def _eca_setup_save(org, name, data):
    """Setup > External Client App Manager > Edit Policies > Save, by hand: only the given elements change (unlike
    the Metadata API's update, which replaces the component). ``oauth_policy`` / ``policies``: ExtlClntAppOauth-
    ConfigurablePolicies / ExtlClntAppConfigurablePolicies elements with their Metadata names and values;
    ``admin_approved`` (bool) is short for permittedUsersPolicyType. Same validation as the Metadata API."""
    changes = {"oauth_policy": dict(data.get("oauth_policy") or {}), "policies": dict(data.get("policies") or {})}
    if data.get("admin_approved") is not None:
        changes["oauth_policy"]["permittedUsersPolicyType"] = (
            eca.ADMIN_APPROVED if data["admin_approved"] else eca.SELF_AUTHORIZED)
    for kind, spec in (("oauth_policy", eca.OAUTH_ELEMENTS), ("policies", eca.POLICY_ELEMENTS)):
        unknown = sorted(set(changes[kind]) - set(spec))
        if unknown:
            raise ApiError(400, "INVALID_INPUT", "unknown %s element(s): %s" % (kind, ", ".join(unknown)))
        for element, value in changes[kind].items():
            enum = spec[element][0].startswith("enum:")
            if enum and value is not None and value not in spec[element][1]:
                raise ApiError(400, "INVALID_INPUT", "%s must be one of %s" % (element, ", ".join(spec[element][1])))
        if changes[kind]:
            errors = org.save_eca_component(name, kind, changes[kind], replace=False)
            if errors:
                code, message, _ = errors[0]
                raise ApiError(400, code, message)
    return org.get_external_client_app(name)


# --------------------------------------------------------------------------------------------------------------
# server object


class EmulatorServer:
    """HTTPS server around an ``org.Emulator``. ``start()`` runs it in a background thread (tests);
    ``serve_forever()`` in the calling thread (CLI)."""

    def __init__(self, emulator, data_dir, host="127.0.0.1", port=0, latency_ms=0,
                 daily_api_limit=DEFAULT_DAILY_API_LIMIT, session_timeout=7200, access_log=False, cert=None,
                 jwt_key_count=8):
        import pathlib  # noqa: PLC0415

        self.data_dir = pathlib.Path(data_dir)
        self.app = App(emulator, self.data_dir, latency_ms=latency_ms, daily_api_limit=daily_api_limit,
                       session_timeout=session_timeout, access_log=access_log, jwt_key_count=jwt_key_count)
        self.httpd = _Server((host, port), Handler)
        self.httpd.app = self.app
        if cert is None:
            from sfemu import tls  # noqa: PLC0415

            ca, crt, key = tls.ensure_ca_and_server_cert(self.data_dir)
        else:
            ca, crt, key = cert
        self.ca_file = str(ca)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2  # Salesforce requires TLS 1.2+ [doc: TLS 1.0 disabled 2017]
        ctx.load_cert_chain(crt, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True, do_handshake_on_connect=False)
        self.host = host
        self.port = self.httpd.server_address[1]
        self.url = "https://%s:%d" % (host, self.port)
        self.app.base_url = self.url
        self.app.oauth.prepare_orgs()
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="sfemu-server", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self):
        self.httpd.serve_forever(poll_interval=0.2)

    def shutdown(self):
        """Stop accepting, then persist every org (sessions and API usage live in org.meta)."""
        try:
            self.httpd.shutdown()
        finally:
            self.httpd.server_close()
            self.app.save_all()
            if self._thread:
                self._thread.join(timeout=5)




def utc_now_iso():
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000")

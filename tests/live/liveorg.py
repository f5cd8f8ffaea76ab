"""The org of the live suite, read and cleaned through raw REST calls that never go through the collection.

The org is named by environment variables (see VARIABLES); the suite logs in with its own JWT bearer request (PyJWT
and requests, not plugins/module_utils/auth.py), so a bug in the collection's login or transport cannot hide a
wrong state or a failed cleanup. `raw` and `raw_query` have the signatures of tests/integration/conftest.py's
Emulator, so the raw read helpers of tests/integration/test_role_support.py work on a live org unchanged.
"""

import os
import sys
import time
from urllib.parse import quote, urlencode

import requests

# (variable, what it holds); the first four are required.
VARIABLES = [
    ("SFOPS_LIVE_LOGIN_URL", "https://test.salesforce.com for a sandbox, https://login.salesforce.com or the "
                             "org's My Domain URL otherwise"),
    ("SFOPS_LIVE_CLIENT_ID", "consumer key of the connected app that has your certificate (JWT bearer flow)"),
    ("SFOPS_LIVE_USERNAME", "username of the automation user, pre-authorised on that connected app"),
    ("SFOPS_LIVE_PRIVATE_KEY_FILE", "PEM private key matching the connected app's certificate"),
]
OPTIONAL = [
    ("SFOPS_LIVE_CA_PATH", "CA bundle to trust instead of the system ones (a proxy, or sfemu)"),
    ("SFOPS_LIVE_API_VERSION", "API version to use; default: the newest the org offers, at most the collection's"),
    ("SFOPS_LIVE_PRESET", "role preset to apply (planhat or read_only_sync; default planhat)"),
    ("SFOPS_LIVE_RECORD", "1: save every response as scrubbed fixtures (make record-live)"),
    ("SFOPS_LIVE_RECORD_DIR", "where recordings go (default tests/fixtures/recorded)"),
]
# The collection's default API version (plugins/module_utils/auth.py DEFAULT_API_VERSION): the newest it is tested with.
NEWEST_TESTED_VERSION = 67.0
USER_AGENT = "sfops-live-suite"
# Salesforce refuses a request whose URI and headers pass 16,384 bytes (431, or 414 for the URI alone) and advises a
# composite subrequest for a longer SOQL (Help article 000386264); room is left for the headers.
URI_BUDGET = 16384 - 2048


def missing_variables(environ=None):
    environ = os.environ if environ is None else environ
    return [name for name, _ in VARIABLES if not environ.get(name)]


def explain(missing):
    """What to set, for the message printed when the suite does not run."""
    lines = ["The live-org suite needs a Salesforce sandbox or scratch org named by these variables%s:" %
             ("" if len(missing) == len(VARIABLES) else " (missing: %s)" % ", ".join(missing))]
    lines += ["  %-28s %s" % (name, text) for name, text in VARIABLES]
    lines += ["optional:"] + ["  %-28s %s" % (name, text) for name, text in OPTIONAL]
    lines += ["See README.md, \"Have a sandbox or scratch org? Run this\", for the connected app and permissions."]
    return "\n".join(lines)


def jwt_login(login_url, client_id, username, private_key_file, verify=True, session=None):
    """One OAuth 2.0 JWT bearer token request (Salesforce Help "OAuth 2.0 JWT Bearer Flow for Server-to-Server
    Integration"): returns the token response (access_token, instance_url, id, ...)."""
    import jwt  # PyJWT, a requirement of the collection's jwt_bearer login too

    with open(private_key_file) as handle:
        key = handle.read()
    claims = {"iss": client_id, "sub": username, "aud": login_url.rstrip("/"), "exp": int(time.time()) + 180}
    assertion = jwt.encode(claims, key, algorithm="RS256")
    http = session or requests.Session()
    resp = http.post(login_url.rstrip("/") + "/services/oauth2/token", timeout=60, verify=verify,
                     headers={"User-Agent": USER_AGENT},
                     data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion})
    if resp.status_code != 200:
        # The body is an OAuth error (error, error_description): no secret in it.
        raise AssertionError("JWT login to %s as %s failed: HTTP %s %s" % (login_url, username, resp.status_code,
                                                                           resp.text[:500]))
    return resp.json()


class LiveOrg:
    """Raw REST access to the org of SFOPS_LIVE_*; `alias` arguments exist for the shared helpers and are ignored."""

    alias = "live"

    def __init__(self, environ=None):
        env = os.environ if environ is None else environ
        self.login_url = env["SFOPS_LIVE_LOGIN_URL"].rstrip("/")
        self.client_id = env["SFOPS_LIVE_CLIENT_ID"]
        self.username = env["SFOPS_LIVE_USERNAME"]
        self.private_key_file = env["SFOPS_LIVE_PRIVATE_KEY_FILE"]
        self.ca_path = env.get("SFOPS_LIVE_CA_PATH") or None
        # Passed on every call: a Session's verify loses against REQUESTS_CA_BUNDLE (psf/requests#3829).
        self.verify = self.ca_path or True
        self._requested_version = env.get("SFOPS_LIVE_API_VERSION")
        self.http = requests.Session()
        self.http.headers["User-Agent"] = USER_AGENT
        self.instance_url = None
        self.org_id = None
        self.api_version = None
        self._token = None

    def connect(self):
        body = jwt_login(self.login_url, self.client_id, self.username, self.private_key_file, self.verify, self.http)
        self.instance_url = body["instance_url"].rstrip("/")
        self._token = body["access_token"]
        self.org_id = body["id"].rstrip("/").split("/")[-2]
        self.api_version = self._requested_version or self._newest_version()
        return self

    def _newest_version(self):
        resp = self.http.get(self.instance_url + "/services/data/", timeout=60, verify=self.verify)
        resp.raise_for_status()
        offered = [float(v["version"]) for v in resp.json()]
        usable = [v for v in offered if v <= NEWEST_TESTED_VERSION]
        return "%.1f" % max(usable or offered)

    # the Emulator-compatible raw API ---------------------------------------------------------------------------
    def raw(self, alias, method, path, json=None, expect_ok=True, **kwargs):
        """A raw REST call; `path` is relative to /services/data/vXX.X/ unless it starts with '/'."""
        if not path.startswith("/"):
            path = "/services/data/v%s/%s" % (self.api_version, path)
        resp = self.http.request(method, self.instance_url + path, json=json, timeout=120, verify=self.verify,
                                 headers={"Authorization": "Bearer " + self._token}, **kwargs)
        if expect_ok and resp.status_code >= 300:
            raise AssertionError("%s %s -> %s %s" % (method, path, resp.status_code, resp.text[:2000]))
        return resp

    def raw_query(self, alias, soql):
        """All records of a SOQL query, following nextRecordsUrl. A query too long for a URI (the shared helpers
        select every Permissions* field of PermissionSet) goes in the body of a composite request instead."""
        path = "/services/data/v%s/query?%s" % (self.api_version, urlencode({"q": soql}, quote_via=quote))
        if len(self.instance_url + path) <= URI_BUDGET:
            body = self.raw(alias, "GET", path).json()
        else:
            part = self.raw(alias, "POST", "composite", json={"compositeRequest": [
                {"method": "GET", "url": path, "referenceId": "query"}]}).json()["compositeResponse"][0]
            if part["httpStatusCode"] >= 300:
                raise AssertionError("query in a composite -> %s %s" % (part["httpStatusCode"], part["body"]))
            body = part["body"]
        records = list(body["records"])
        while not body.get("done", True):
            body = self.raw(alias, "GET", body["nextRecordsUrl"]).json()
            records.extend(body["records"])
        return records

    def count(self, soql_where_from):
        """`SELECT COUNT() FROM ...`: totalSize."""
        return self.raw(self.alias, "GET", "query", params={"q": "SELECT COUNT() FROM " + soql_where_from}).json()[
            "totalSize"]

    # inventory for ansible-playbook --------------------------------------------------------------------------
    def host_vars(self):
        """The sf_* variables the role and playbooks read (as in inventory/example), for the JWT bearer flow."""
        hv = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "sf_auth_method": "jwt_bearer",
            "sf_login_url": self.login_url,
            "sf_client_id": self.client_id,
            "sf_username": self.username,
            "sf_private_key_file": self.private_key_file,
            "sf_api_version": self.api_version,
        }
        if self.ca_path:
            hv["sf_ca_path"] = self.ca_path
        return hv

    def module_auth(self):
        """The same connection as module options (a module_defaults entry)."""
        hv = self.host_vars()
        opts = {"auth_method": "jwt_bearer", "login_url": self.login_url, "client_id": self.client_id,
                "login_username": self.username, "private_key_file": self.private_key_file,
                "api_version": self.api_version}
        if self.ca_path:
            opts["ca_path"] = hv["sf_ca_path"]
        return opts

    # what the suite may leave behind ----------------------------------------------------------------------------
    def like(self, run_id):
        return "'%%%s%%'" % run_id

    def run_rows(self, run_id):
        """Rows that carry the run id, per kind; all must be 0 after the cleanup. A deactivated user stays (Salesforce
        never deletes users), and so do its login and its profile's permission set assignment: audit data."""
        like = self.like(run_id)
        return {
            "PermissionSet": self.count("PermissionSet WHERE Name LIKE %s" % like),
            "PermissionSetAssignment of the run's sets": self.count(
                "PermissionSetAssignment WHERE PermissionSet.Name LIKE %s" % like),
            "PermissionSetAssignment of the run's users (not the profile's)": self.count(
                "PermissionSetAssignment WHERE Assignee.Username LIKE %s AND PermissionSet.IsOwnedByProfile = false"
                % like),
            "ObjectPermissions": self.count("ObjectPermissions WHERE Parent.Name LIKE %s" % like),
            "FieldPermissions": self.count("FieldPermissions WHERE Parent.Name LIKE %s" % like),
            "SetupEntityAccess": self.count("SetupEntityAccess WHERE Parent.Name LIKE %s" % like),
            "PermissionSetLicenseAssign": self.count("PermissionSetLicenseAssign WHERE Assignee.Username LIKE %s"
                                                     % like),
            "active User": self.count("User WHERE Username LIKE %s AND IsActive = true" % like),
        }

    def snapshot(self):
        """Org-wide counts and licence use that the run must give back exactly (the org as the suite found it)."""
        counts = {
            "PermissionSet": self.count("PermissionSet"),
            "PermissionSetAssignment (not the profiles')": self.count(
                "PermissionSetAssignment WHERE PermissionSet.IsOwnedByProfile = false"),
            "ObjectPermissions": self.count("ObjectPermissions"),
            "FieldPermissions": self.count("FieldPermissions"),
            "SetupEntityAccess": self.count("SetupEntityAccess"),
            "PermissionSetLicenseAssign": self.count("PermissionSetLicenseAssign"),
            "active User": self.count("User WHERE IsActive = true"),
        }
        for row in self.raw_query(self.alias, "SELECT Name, UsedLicenses FROM UserLicense"):
            counts["UserLicense %s used" % row["Name"]] = row["UsedLicenses"]
        for row in self.raw_query(self.alias, "SELECT DeveloperName, UsedLicenses FROM PermissionSetLicense"):
            counts["PermissionSetLicense %s used" % row["DeveloperName"]] = row["UsedLicenses"]
        return counts

    def cleanup(self, run_id):
        """Remove what the run created, whatever state a failed run left: assignments, permission sets (their object,
        field and app access rows go with them), then deactivate the users and give back their permission set
        licences. Returns the problems (an empty list when all went)."""
        like = self.like(run_id)
        problems = []
        steps = [
            ("delete", "SELECT Id FROM PermissionSetAssignment WHERE PermissionSet.Name LIKE %s" % like),
            ("delete", "SELECT Id FROM PermissionSetAssignment WHERE Assignee.Username LIKE %s "
                       "AND PermissionSet.IsOwnedByProfile = false" % like),
            ("delete", "SELECT Id FROM PermissionSet WHERE Name LIKE %s AND IsOwnedByProfile = false" % like),
            ("deactivate", "SELECT Id FROM User WHERE Username LIKE %s AND IsActive = true" % like),
            ("delete", "SELECT Id FROM PermissionSetLicenseAssign WHERE Assignee.Username LIKE %s" % like),
        ]
        for action, soql in steps:
            try:
                ids = [r["Id"] for r in self.raw_query(self.alias, soql)]
                for start in range(0, len(ids), 200):  # sObject Collections take 200 rows per call
                    chunk = ids[start:start + 200]
                    if action == "delete":
                        resp = self.raw(self.alias, "DELETE", "composite/sobjects",
                                        params={"ids": ",".join(chunk), "allOrNone": "false"})
                    else:
                        resp = self.raw(self.alias, "PATCH", "composite/sobjects", json={
                            "allOrNone": False,
                            "records": [{"attributes": {"type": "User"}, "id": i, "IsActive": False} for i in chunk]})
                    problems += ["%s %s: %s" % (action, r.get("id"), r.get("errors")) for r in resp.json()
                                 if not r.get("success")]
            except AssertionError as exc:
                problems.append("%s (%s): %s" % (action, soql, exc))
        return problems

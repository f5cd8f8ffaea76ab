"""Turn the recorder's raw exchanges into fixtures that keep every shape and no secret or identity.

Output: one cassette per scenario step, `NN-<step>.yaml`, in the vcrpy layout of the CumulusCI cassettes in
/work/shared/fixtures (`interactions: [{request: {method, uri, headers, body}, response: {status: {code, message},
headers, body: {string}}}]`), so sfemu/tests/test_fixtures_replay.py's Replayer and shape comparison read them
as they read those; plus `run.yaml` (what was recorded, against what kind of org).

What is scrubbed, everywhere (URL, headers, bodies), in two passes over the whole run so a value is replaced the
same way in every file:
- tokens and credentials: Authorization and Cookie headers are not kept; OAuth form fields other than grant_type,
  JSON keys such as access_token/refresh_token/signature, SOAP sessionId and consumer secrets become SCRUBBED,
  and each such value seen anywhere else too; anything shaped like a Salesforce session id as a backstop;
- ids: every 18-character Salesforce id (recognised by its case-safe checksum) and its 15-character form become a
  stable placeholder with the same key prefix (`005` stays a user), also where a profile's own permission set
  carries its profile id in its name, and the org id becomes 00D0xORGID00000000 (the placeholder the CumulusCI
  cassettes use);
- usernames and e-mail addresses: the automation user becomes automation.user@example.com, every other address
  userN@example.com;
- hosts: the org's login and instance hosts, and any other *.salesforce.com / *.force.com host that is not a public
  Salesforce one, become orgname.my.salesforce.com;
- people and the organisation: names, addresses and phone numbers in User and Organization records, the identity
  service's names, the instance name.
Values are not compared by the shape test, so placeholders cost nothing; the run fails closed: `write_run` refuses
to write when a known secret or identity is still in its output.
"""

import json
import pathlib
import re
from urllib.parse import parse_qsl, quote, unquote, unquote_plus, urlencode, urlsplit, urlunsplit

import yaml

SCRUBBED = "SCRUBBED"  # plain letters: valid as JSON text, a form value and XML element content
ORG_ID_PLACEHOLDER = "00D0xORGID00000000"
AUTOMATION_USER = "automation.user@example.com"
HOST_PLACEHOLDER = "orgname.my.salesforce.com"
PUBLIC_HOSTS = {"login.salesforce.com", "test.salesforce.com", "help.salesforce.com", "developer.salesforce.com",
                "www.salesforce.com", "soap.sforce.com"}
REQUEST_HEADERS = {"content-type", "accept", "user-agent", "if-modified-since", "soapaction", "sforce-query-options",
                   "sforce-call-options", "sforce-auto-assign", "sforce-duplicate-rule-header"}
RESPONSE_HEADERS = {"content-type", "sforce-limit-info", "location", "retry-after", "last-modified", "etag",
                    "warning", "www-authenticate"}
SECRET_KEYS = {"access_token", "refresh_token", "id_token", "signature", "sessionId", "session_id", "client_secret",
               "password", "assertion", "code", "code_verifier", "consumerSecret", "consumerKey", "client_id"}
FORM_KEEP = {"grant_type"}
SECRET_XML = ("sessionId", "consumerSecret", "consumerKey", "password", "certificate", "privateKey")
PERSONAL_KEYS = {
    "User": {"Name", "FirstName", "LastName", "MiddleName", "Suffix", "Alias", "CommunityNickname", "Title",
             "CompanyName", "Department", "Division", "Phone", "MobilePhone", "Fax", "Extension", "Street", "City",
             "State", "PostalCode", "Country", "Address", "FederationIdentifier", "EmployeeNumber", "AboutMe",
             "Signature", "SenderName", "Latitude", "Longitude"},
    "Organization": {"Name", "Division", "Street", "City", "State", "PostalCode", "Country", "Address", "Phone",
                     "Fax", "PrimaryContact", "InstanceName", "NamespacePrefix", "Latitude", "Longitude"},
}
# The identity service and the token response (keys of any object).
PERSONAL_ANYWHERE = {"display_name", "nick_name", "first_name", "last_name", "InstanceName", "instanceName"}

# An id stands alone, or right after a percent-escape (`%27<id>%27` in a query string inside a JSON body).
_ID = re.compile(r"(?:(?<![A-Za-z0-9])|(?<=%[0-9A-Fa-f]{2}))([A-Za-z0-9]{15})([A-Za-z0-9]{3})?(?![A-Za-z0-9])")
# A profile's own permission set is named X<15-character profile id>_<digits>_..., in real orgs as in sfemu.
_PROFILE_SET_NAME = re.compile(r"(?<=\bX)([A-Za-z0-9]{15})(?=_\d)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_SF_HOST = re.compile(r"(?<![A-Za-z0-9.\-])((?:[A-Za-z0-9\-]+\.)+(?:salesforce|force|visualforce|salesforce-setup|"
                      r"documentforce|salesforce-sites|cloudforce)\.com)(?![A-Za-z0-9\-])", re.IGNORECASE)
_SESSION_ID = re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._\-]+")
_SECRET_XML = re.compile(r"<((?:\w+:)?(?:%s))>[^<]*</\1>" % "|".join(SECRET_XML))
_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def id_suffix(id15):
    """The 3-character case-safe suffix of a 15-character id (each character encodes which of 5 are upper case)."""
    out = ""
    for chunk in range(3):
        bits = sum(1 << i for i, ch in enumerate(id15[chunk * 5:chunk * 5 + 5]) if "A" <= ch <= "Z")
        out += _CHECKSUM_ALPHABET[bits]
    return out


def is_id18(text):
    return len(text) == 18 and text.isalnum() and text.isascii() and id_suffix(text[:15]) == text[15:]


class Context:
    """What is known to be secret or identifying before the run is read, plus what the run reveals (pass 1)."""

    def __init__(self, login_url="", username="", client_id=""):
        self.secrets = {v for v in (client_id,) if v}
        self.hosts = set()
        if login_url:
            self.hosts.add(urlsplit(login_url).netloc)
        self.emails = {}
        if username:
            self.emails[username.lower()] = AUTOMATION_USER
        self.ids = {}
        self.org_ids = set()

    @classmethod
    def from_environ(cls, environ):
        return cls(environ.get("SFOPS_LIVE_LOGIN_URL", ""), environ.get("SFOPS_LIVE_USERNAME", ""),
                   environ.get("SFOPS_LIVE_CLIENT_ID", ""))

    # pass 1 ----------------------------------------------------------------------------------------------------
    def learn(self, record):
        rq, rs = record["request"], record.get("response") or {}
        self.hosts.add(urlsplit(rq["url"]).netloc)
        for name, value in (rq.get("headers") or {}).items():
            if name.lower() == "authorization" and " " in value:
                self.secrets.add(value.split(" ", 1)[1])
        if _is_form(rq):
            for key, value in parse_qsl(rq.get("body") or "", keep_blank_values=True):
                if key not in FORM_KEEP and value:
                    self.secrets.add(value)
        for text in (rq.get("body"), rs.get("body")):
            data = _json(text)
            if data is not None:
                self._learn_json(data)
            for match in _SECRET_XML.finditer(text or ""):
                inner = re.sub(r"^<[^>]+>|</[^>]+>$", "", match.group(0))
                if inner:
                    self.secrets.add(inner)
        for text in (rq["url"], rq.get("body"), rs.get("body"), json.dumps(rs.get("headers") or {})):
            for match in _ID.finditer(_decoded(text or "")):
                if match.group(2) and is_id18(match.group(0)):
                    self._learn_id(match.group(0))
            for match in _EMAIL.finditer(_decoded(text or "")):
                self._learn_email(match.group(0))

    def _learn_json(self, data, key=None):
        if isinstance(data, dict):
            if key is None and isinstance(data.get("instance_url"), str):
                self.hosts.add(urlsplit(data["instance_url"]).netloc)
            if isinstance(data.get("id"), str) and "/id/" in data["id"]:  # the identity URL: /id/<org id>/<user id>
                parts = data["id"].rstrip("/").split("/")
                if len(parts) >= 2 and is_id18(parts[-2]):
                    self.org_ids.add(parts[-2])
            for k, v in data.items():
                if k in SECRET_KEYS and isinstance(v, str) and v:
                    self.secrets.add(v)
                else:
                    self._learn_json(v, k)
        elif isinstance(data, list):
            for item in data:
                self._learn_json(item, key)

    def _learn_id(self, value):
        if value in self.ids:
            return
        if value.startswith("00D") and (not self.org_ids or value in self.org_ids):
            self.org_ids.add(value)
            self.ids[value] = ORG_ID_PLACEHOLDER
            return
        base = "%s0Z%010d" % (value[:3], len(self.ids) + 1)
        self.ids[value] = base + id_suffix(base)

    def _learn_email(self, value):
        if value.lower() not in self.emails:
            self.emails[value.lower()] = "user%d@example.com" % len(self.emails)

    # pass 2 ----------------------------------------------------------------------------------------------------
    def text(self, text):
        if not text:
            return text
        text = _SECRET_XML.sub(lambda m: "<%s>%s</%s>" % (m.group(1), SCRUBBED, m.group(1)), text)
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, SCRUBBED)
        text = _SESSION_ID.sub(SCRUBBED, text)
        hosts = self.private_hosts()
        for host in hosts:
            text = text.replace(host, HOST_PLACEHOLDER)
        text = _SF_HOST.sub(lambda m: m.group(0) if m.group(0).lower() in PUBLIC_HOSTS else HOST_PLACEHOLDER, text)
        text = _EMAIL.sub(lambda m: self.emails.get(m.group(0).lower(), "user@example.com"), text)
        # Percent-encoded, as in the query strings of composite subrequests inside a JSON body.
        for value, placeholder in list(self.emails.items()) + [(h, HOST_PLACEHOLDER) for h in hosts]:
            for form in {quote(value, safe=""), quote(value, safe="+"), value.replace("@", "%40")} - {value}:
                text = re.sub(re.escape(form), quote(placeholder, safe=""), text, flags=re.IGNORECASE)
        id15 = {k[:15]: v[:15] for k, v in self.ids.items()}
        text = _PROFILE_SET_NAME.sub(lambda m: id15.get(m.group(1), m.group(1)), text)
        return _ID.sub(lambda m: self.ids.get(m.group(0)) or (id15.get(m.group(0)) if not m.group(2) else None)
                       or m.group(0), text)

    def private_hosts(self):
        """The org's own hosts (with port, as in URLs), longest first."""
        return sorted((h for h in self.hosts if h and h.lower() not in PUBLIC_HOSTS), key=len, reverse=True)

    def url(self, url):
        parts = urlsplit(url)
        query = urlencode([(k, self.text(v)) for k, v in parse_qsl(parts.query, keep_blank_values=True)],
                          quote_via=quote)
        return urlunsplit((parts.scheme, self.text(parts.netloc), self.text(parts.path), query, ""))

    def body(self, text, form=False):
        if text is None:
            return None
        if form:
            return urlencode([(k, v if k in FORM_KEEP else SCRUBBED)
                              for k, v in parse_qsl(text, keep_blank_values=True)])
        data = _json(text)
        if data is not None:
            return self.text(json.dumps(_scrub_json(data), ensure_ascii=False))
        return self.text(text)

    def leaks(self, text):
        """(kind, value) of the known secrets and identities still in `text`, also percent-decoded: the check
        write_run makes before it writes anything."""
        return sorted(set(self._leaks(text) + self._leaks(unquote(text)) + self._leaks(unquote_plus(text))))

    def _leaks(self, text):
        found = [("secret", s) for s in self.secrets if s in text]
        found += [("host", h) for h in self.private_hosts() if h in text]
        placeholders = set(self.emails.values())
        found += [("e-mail", e) for e in self.emails if e not in placeholders and e in text.lower()]
        found += [("id", i[:15]) for i in self.ids if i[:15] in text and self.ids[i] != i]
        found += [("session id", v) for v in _SESSION_ID.findall(text)]
        return found


def _masked_context(text, value, ctx):
    """A little text around a leaked value, with that value and any other leak in it masked."""
    for form in (value, quote(value, safe="")):
        at = text.find(form)
        if at >= 0:
            near = text[max(0, at - 40):at + len(form) + 20]
            for _, other in sorted(ctx.leaks(near), key=lambda leak: -len(leak[1])):
                near = near.replace(other, "<...>").replace(quote(other, safe=""), "<...>")
            return near
    return "(percent-decoded)"


def _json(text):
    if not text or text[:1] not in "{[":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _decoded(text):
    """URL-decoded as well, so a username in a query string is found as in a body."""
    return text + "\n" + unquote_plus(text) if "%" in text else text


def _is_form(request):
    ctype = {k.lower(): v for k, v in (request.get("headers") or {}).items()}.get("content-type", "")
    return "application/x-www-form-urlencoded" in ctype


def _scrub_json(data):
    if isinstance(data, list):
        return [_scrub_json(item) for item in data]
    if not isinstance(data, dict):
        return data
    attributes = data.get("attributes")
    kind = attributes.get("type") if isinstance(attributes, dict) else None
    personal = PERSONAL_KEYS.get(kind, set()) | PERSONAL_ANYWHERE
    out = {}
    for key, value in data.items():
        if key in SECRET_KEYS and isinstance(value, str) and value:
            out[key] = SCRUBBED
        elif key in personal and value is not None:
            out[key] = _blank(value)
        else:
            out[key] = _scrub_json(value)
    return out


def _blank(value):
    """The same JSON type with no content: a string becomes SCRUBBED, an address object keeps its keys."""
    if isinstance(value, str):
        return SCRUBBED
    if isinstance(value, dict):
        return {k: _blank(v) for k, v in value.items()}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return 0
    return value


def read_raw(raw_dir):
    raw_dir = pathlib.Path(raw_dir)
    failed = sorted(p.name for p in raw_dir.glob("*.failed"))
    if failed:
        raise RuntimeError("the recorder could not write %d exchange(s) (%s): no fixtures written" % (len(failed),
                                                                                                      failed[0]))
    records = [json.loads(p.read_text()) for p in raw_dir.glob("*.json")]
    return sorted(records, key=lambda r: (r["started_ns"], r["pid"]))


def interaction(record, ctx):
    rq, rs = record["request"], record["response"]
    return {
        "request": {
            "method": rq["method"],
            "uri": ctx.url(rq["url"]),
            "headers": {k: [ctx.text(v)] for k, v in sorted((rq.get("headers") or {}).items())
                        if k.lower() in REQUEST_HEADERS},
            "body": ctx.body(rq.get("body"), form=_is_form(rq)),
        },
        "response": {
            "status": {"code": rs["status"], "message": rs.get("reason") or ""},
            "headers": {k: [ctx.text(v)] for k, v in sorted((rs.get("headers") or {}).items())
                        if k.lower() in RESPONSE_HEADERS},
            "body": {"string": ctx.body(rs.get("body"))},
        },
    }


# libyaml when PyYAML has it: a run is 10-20 MB of YAML (every describe is in it), 30 times faster than pure Python.
YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _dump(data):
    # Wide lines: a JSON body stays one quoted scalar, byte for byte, instead of being folded.
    return yaml.dump(data, Dumper=YAML_DUMPER, sort_keys=False, allow_unicode=True, width=1 << 20)


def load(path):
    return yaml.load(pathlib.Path(path).read_text(), Loader=YAML_LOADER)


def write_run(raw_dir, out_dir, ctx, meta=None):
    """Scrub every raw exchange of the run into out_dir; returns how many were written."""
    records = read_raw(raw_dir)
    for record in records:
        ctx.learn(record)
    # A request that got no answer (a reset connection the client retried) has no shape to compare: listed only.
    answered = [r for r in records if r.get("response") is not None]
    unanswered = ["%s %s: %s" % (r["request"]["method"], ctx.text(urlsplit(r["request"]["url"]).path), r.get("error"))
                  for r in records if r.get("response") is None]
    steps = []
    by_step = {}
    for record in answered:
        if record["step"] not in by_step:
            steps.append(record["step"])
            by_step[record["step"]] = []
        by_step[record["step"]].append(interaction(record, ctx))
    files = {}
    for index, name in enumerate(steps, 1):
        files["%02d-%s.yaml" % (index, re.sub(r"[^A-Za-z0-9_.-]+", "-", name))] = _dump(
            {"interactions": by_step[name]})
    info = dict(meta or {})
    info.update({"format": "vcrpy cassette per step (see tests/live/scrub.py)", "steps": steps,
                 "exchanges": len(answered), "unanswered": unanswered})
    files["run.yaml"] = _dump(info)
    leaks = sorted({(name, kind, _masked_context(text, value, ctx)) for name, text in files.items()
                    for kind, value in ctx.leaks(text)})
    if leaks:
        # Where and what kind, never the value: this message goes to the test log.
        raise RuntimeError("scrubbing left %d known secret or identifying value(s) in the fixtures, nothing written: %s"
                           % (len(leaks), "; ".join("%s in %s near %r" % (kind, name, near)
                                                    for name, kind, near in leaks[:10])))
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out_dir / name).write_text(text)
    return len(answered)

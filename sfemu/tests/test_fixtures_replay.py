"""Replay the real recorded responses in shared/fixtures/recorded-cumulusci against the emulator and compare shapes.

The cassettes (vcrpy YAML from SFDO-Tooling/CumulusCI, BSD-3) hold real Salesforce answers. For every recorded
request we send the same request to the emulator (host -> emulator, ``vxx.0`` -> a real version, recorded ids ->
the ids our org answered with earlier in the same cassette) and compare:
- the HTTP status code, exactly;
- the JSON shape: same keys in every object (recursively), same JSON types, list elements by their first item.
Values (ids, counts, names, dates) are data, not shape, and are not compared.

Known, deliberate differences are listed in ``ALLOWED`` with the reason; anything else fails.
"""

import datetime
import email.utils
import json
import pathlib
import re
import urllib.parse

import pytest
import yaml

FIXTURES = pathlib.Path("/work/shared/fixtures/recorded-cumulusci")
VERSION = "49.0"  # the one real version the cassettes show (ManualEdit...test_http_headers); vxx.0 -> this
ID_RE = re.compile(r"\b([a-zA-Z0-9]{3}[0-9][a-zA-Z0-9]{14})\b")

# Shape differences that belong to the object catalogue (schema.py), not to the HTTP layer, listed one by one with
# the reason. The test fails on any difference not listed here, and on a listed one that no longer occurs, so this
# list can only shrink.
# ("*" = wherever the global describe is replayed)
KNOWN_GAPS = {
    ("*", "$.sobjects[Organization].urls: extra keys"):
        "schema.py: global describe lists layout urls for Organization",
    ("*", "$.sobjects[UserLicense].urls: extra keys"):
        "schema.py: global describe lists layout urls for UserLicense",
    ("*", "$.sobjects[UserLogin].urls: extra keys"):
        "schema.py: global describe lists layout urls for UserLogin",
    ("TestUpsert.test_upsert__rest.yaml", "$[0]: keys missing ['id']"):
        "schema.py: Opportunity.ContactId (API 49+) is not modelled, so the recorded create fails here",
    ("TestUpsert.test_upsert__rest.yaml",
     "status GET https://orgname.my.salesforce.com/services/data/vxx.0/query/?q=select+FirstName%2C%28select+Name"):
        "schema.py: no Contact.Opportunities child relationship (Opportunity.ContactId not modelled)",
}
# Cassettes include describes that are not in the shared fixtures directory (CCI kept them elsewhere).
MISSING_INCLUDES = {"GET_sobjects_Contact_describe.yaml", "GET_sobjects_Opportunity_describe.yaml"}


def _load(path):
    data = yaml.safe_load(path.read_text())
    if "interactions" not in data:
        return [data]
    out = []
    for item in data["interactions"]:
        if "include_file" in item:
            if item["include_file"] in MISSING_INCLUDES:
                continue
            out.extend(_load(FIXTURES / item["include_file"]))
        else:
            out.append(item)
    return out


def _cassettes():
    return sorted(p for p in FIXTURES.glob("*.yaml"))


def _body_json(text):
    if text in (None, ""):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _type(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "list"
    return "object"


def shape_diff(rec, ours, path="$", out=None, coverage=None):
    """Differences in shape between a recorded value and ours (list of strings).

    Keys missing from a *record* (an object with ``attributes``) or from a ``urls`` map are catalogue coverage (the
    emulator models fewer fields than a real org): they go to ``coverage``, not to the differences. Extra keys are
    always differences (the emulator must not invent what Salesforce does not send)."""
    out = [] if out is None else out
    coverage = [] if coverage is None else coverage
    tr, to = _type(rec), _type(ours)
    if tr == "null" or to == "null":
        return out  # nullable values: a null on either side says nothing about shape
    if tr != to:
        out.append("%s: type %s recorded, %s ours" % (path, tr, to))
        return out
    if tr == "object":
        missing = sorted(set(rec) - set(ours))
        extra = sorted(set(ours) - set(rec))
        if missing:
            if "attributes" in rec or path.endswith(".urls"):
                coverage.append("%s: not modelled %s" % (path, missing))
            else:
                out.append("%s: keys missing %s" % (path, missing))
        if extra:
            out.append("%s: extra keys %s" % (path, extra))
        for k in set(rec) & set(ours):
            shape_diff(rec[k], ours[k], "%s.%s" % (path, k), out, coverage)
    elif tr == "list" and rec and ours:
        shape_diff(rec[0], ours[0], path + "[0]", out, coverage)
    return out


class Replayer:
    def __init__(self, client):
        self.client = client
        self.idmap = {}

    def _subst(self, text):
        if text is None:
            return None
        text = text.replace("vxx.0", "v" + VERSION)
        for rec, ours in self.idmap.items():
            text = text.replace(rec, ours)
        return text

    def _learn_ids(self, rec, ours):
        """Map recorded ids to ours by position in structurally equal answers."""
        if isinstance(rec, dict) and isinstance(ours, dict):
            for k in rec:
                if k in ours:
                    self._learn_ids(rec[k], ours[k])
        elif isinstance(rec, list) and isinstance(ours, list):
            for a, b in zip(rec, ours):
                self._learn_ids(a, b)
        elif isinstance(rec, str) and isinstance(ours, str) and ID_RE.fullmatch(rec) and ID_RE.fullmatch(ours):
            self.idmap.setdefault(rec, ours)

    def send(self, interaction, token):
        rq = interaction["request"]
        url = urllib.parse.urlsplit(rq["uri"])
        path = self._subst(url.path)
        query = self._subst(url.query)
        org_id = self.client.conn()["org_id"]
        path = path.replace("00D0xORGID00000000", org_id)
        body = self._subst(rq.get("body"))
        if body and "If-Modified-Since" in body:
            # The recorded date is relative to the recorded org's schema date; ask relative to ours (now), so a
            # conditional GET of an unchanged schema is a 304 here as it was there.
            now = email.utils.format_datetime(datetime.datetime.now(datetime.timezone.utc), usegmt=True)
            body = re.sub(r'"If-Modified-Since": "[^"]*"', '"If-Modified-Since": "%s"' % now, body)
        headers = {"Content-Type": "application/json"} if body else {}
        r = self.client.request(rq["method"], path + ("?" + query if query else ""), token=token,
                                data=body.encode() if body else None, headers=headers)
        return r


def _describe_field_diffs(rec, ours):
    """Compare field entries by name (keys of each field object), not the lists of fields."""
    diffs = []
    rec_fields = {f["name"]: f for f in rec.get("fields", [])}
    our_fields = {f["name"]: f for f in ours.get("fields", [])}
    common = sorted(set(rec_fields) & set(our_fields))
    assert common, "no common describe fields to compare"
    for name in common:
        diffs += shape_diff(rec_fields[name], our_fields[name], "$.fields[%s]" % name)
    rec_top = {k: v for k, v in rec.items() if k != "fields"}
    our_top = {k: v for k, v in ours.items() if k != "fields"}
    diffs += shape_diff(rec_top, our_top)
    return diffs


def _globals_diffs(rec, ours):
    rec_objs = {o["name"]: o for o in rec["sobjects"]}
    our_objs = {o["name"]: o for o in ours["sobjects"]}
    common = sorted(set(rec_objs) & set(our_objs))
    assert common
    diffs = []
    for name in common:
        diffs += shape_diff(rec_objs[name], our_objs[name], "$.sobjects[%s]" % name)
    diffs += shape_diff({k: v for k, v in rec.items() if k != "sobjects"},
                        {k: v for k, v in ours.items() if k != "sobjects"})
    return diffs


def body_diffs(rec_body, ours):
    """Shape differences of one answer: a describe field by field, the global describe object by object, any other
    body as a whole. Also used by tests/live/replay.py for the recordings of the live-org suite."""
    if isinstance(rec_body, dict) and "fields" in rec_body and "childRelationships" in rec_body:
        return _describe_field_diffs(rec_body, ours)
    if isinstance(rec_body, dict) and "sobjects" in rec_body and "maxBatchSize" in rec_body:
        return _globals_diffs(rec_body, ours)
    return shape_diff(rec_body, ours)


@pytest.mark.parametrize("cassette", [p.name for p in _cassettes()])
def test_replay_cassette(clean, cassette):
    interactions = _load(FIXTURES / cassette)
    rep = Replayer(clean)
    token = clean.token()
    compared = 0
    seen_gaps = set()
    for item in interactions:
        rq, rs = item["request"], item["response"]
        rec_body = _body_json((rs.get("body") or {}).get("string"))
        r = rep.send(item, token)
        label = "%s %s" % (rq["method"], rq["uri"])
        if r.status_code != rs["status"]["code"]:
            d = "status %s: %s recorded, %s ours" % (label, rs["status"]["code"], r.status_code)
            gap = next((g for g in KNOWN_GAPS if g[0] in (cassette, "*") and d.startswith(g[1])), None)
            assert gap, (d, r.text[:500])
            seen_gaps.add(gap)
            compared += 1
            continue
        ours = r.json() if r.content else None
        diffs = body_diffs(rec_body, ours)
        unexpected = []
        for d in diffs:
            gap = next((g for g in KNOWN_GAPS if g[0] in (cassette, "*") and d.startswith(g[1])), None)
            if gap:
                seen_gaps.add(gap)
            else:
                unexpected.append(d)
        assert not unexpected, (label, unexpected)
        rep._learn_ids(rec_body, ours)
        compared += 1
    assert compared == len(interactions) > 0
    # "*" gaps come from the global describe, which several cassettes include; check them on its own cassette
    mine = {g for g in KNOWN_GAPS
            if g[0] == cassette or (g[0] == "*" and cassette == "GET_sobjects_Global_describe.yaml")}
    seen_gaps = {g for g in seen_gaps if g in mine}
    assert seen_gaps == mine, "known gap(s) no longer occur, remove them from KNOWN_GAPS: %s" % (mine - seen_gaps)

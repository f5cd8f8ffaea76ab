"""Send the requests of a recorded live run to sfemu and compare the answers' shapes with the recorded ones.

The comparison is sfemu/tests/test_fixtures_replay.py's, the one the CumulusCI cassettes go through: its Replayer
(recorded ids -> the ids sfemu answered with earlier in the run), `body_diffs` (same keys, same JSON types,
describes field by field) and the exact status code. Two things are added for this collection's traffic: the
subrequests of a composite answer are compared one by one (the shared comparison looks at the first element of a
list only), and error codes (errorCode, statusCode, OAuth error) are compared as values, since which refusal
Salesforce gives is what a rule of the emulator is about.

Token requests are not replayed (their form is scrubbed): each is replaced by a JWT login of our own to the target,
whose answer is compared like any other. SOAP calls are counted and left out: their bodies are XML.
"""

import pathlib
from urllib.parse import quote, urlsplit

import requests

import liveorg
import scrub
from shared import fixtures_replay

ERROR_KEYS = ("errorCode", "statusCode", "error")


class Target:
    """An org to replay against (sfemu), with the interface the shared Replayer calls: conn() and request()."""

    def __init__(self, connection):
        self.connection = connection
        self.http = requests.Session()
        self.http.trust_env = False
        self.verify = connection["ca_file"]

    def conn(self):
        return self.connection

    def request(self, method, path, token=None, **kwargs):
        headers = dict(kwargs.pop("headers", None) or {})
        if token:
            headers["Authorization"] = "Bearer " + token
        return self.http.request(method, self.connection["instance_url"] + path, headers=headers, timeout=120,
                                 verify=self.verify, **kwargs)

    def login(self):
        c = self.connection
        return liveorg.jwt_login(c["login_url"], c["client_id"], c["username"], c["private_key_file"], self.verify,
                                 self.http)


def load_run(run_dir):
    """[(step, interactions)] in the order they were recorded."""
    out = []
    for path in sorted(pathlib.Path(run_dir).glob("[0-9][0-9]-*.yaml")):
        out.append((path.stem.split("-", 1)[1], scrub.load(path)["interactions"]))
    return out


def error_codes(body):
    """Error codes in a body, in document order."""
    found = []
    if isinstance(body, dict):
        for key, value in body.items():
            if key in ERROR_KEYS and isinstance(value, str):
                found.append(value)
            else:
                found += error_codes(value)
    elif isinstance(body, list):
        for item in body:
            found += error_codes(item)
    return found


def answer_diffs(recorded, ours):
    """Shape and error-code differences of one answer; composite answers subrequest by subrequest."""
    if isinstance(recorded, dict) and isinstance(ours, dict) and "compositeResponse" in recorded \
            and "compositeResponse" in ours:
        diffs = []
        our_parts = {p.get("referenceId"): p for p in ours["compositeResponse"]}
        for part in recorded["compositeResponse"]:
            ref = part.get("referenceId")
            mine = our_parts.get(ref)
            if mine is None:
                diffs.append("subrequest %s: no answer" % ref)
            elif part.get("httpStatusCode") != mine.get("httpStatusCode"):
                diffs.append("subrequest %s: status %s recorded, %s ours" % (ref, part.get("httpStatusCode"),
                                                                            mine.get("httpStatusCode")))
            else:
                diffs += ["subrequest %s: %s" % (ref, d) for d in answer_diffs(part.get("body"), mine.get("body"))]
                diffs += ["subrequest %s: %s" % (ref, d) for d in fixtures_replay.shape_diff(
                    {k: v for k, v in part.items() if k != "body"}, {k: v for k, v in mine.items() if k != "body"})]
        return diffs
    diffs = list(fixtures_replay.body_diffs(recorded, ours))
    if error_codes(recorded) != error_codes(ours):
        diffs.append("error codes %s recorded, %s ours" % (error_codes(recorded), error_codes(ours)))
    return diffs


class Result:
    def __init__(self):
        self.compared = 0
        self.skipped = []
        self.differences = []  # "step METHOD path: difference"


def replay_run(run_dir, target):
    """Replay every recorded exchange of a run, in order, against `target` (a fresh org in its seeded state)."""
    replayer = fixtures_replay.Replayer(target)
    conn = target.conn()
    # Fixed placeholders of scrub.py, back to the target's values (Replayer substitutes them in paths and bodies).
    for placeholder, value in ((scrub.AUTOMATION_USER, conn["username"]), (scrub.ORG_ID_PLACEHOLDER, conn["org_id"])):
        replayer.idmap[placeholder] = value
        replayer.idmap[quote(placeholder, safe="")] = quote(value, safe="")
    result = Result()
    token = None
    for step, interactions in load_run(run_dir):
        for item in interactions:
            rq, rs = item["request"], item["response"]
            path = urlsplit(rq["uri"]).path
            label = "%s %s %s" % (step, rq["method"], path)
            recorded = fixtures_replay._body_json((rs.get("body") or {}).get("string"))
            if path.startswith("/services/Soap/"):
                result.skipped.append(label + " (SOAP)")
                continue
            if path == "/services/oauth2/token":
                ours = target.login()
                token = ours["access_token"]
                status = 200
            else:
                answer = replayer.send(item, token)
                status = answer.status_code
                ours = answer.json() if answer.content else None
            result.compared += 1
            if status != rs["status"]["code"]:
                result.differences.append("%s: status %s recorded, %s ours" % (label, rs["status"]["code"], status))
                continue
            result.differences += ["%s: %s" % (label, d) for d in answer_diffs(recorded, ours)]
            replayer._learn_ids(recorded, ours)
    return result

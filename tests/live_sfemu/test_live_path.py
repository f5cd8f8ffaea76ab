"""The live path itself, with sfemu as the org: the suite runs, leaves the org as it found it, records every
exchange without a secret, and its recording replays against sfemu with the same shapes."""

import json
import re
import shutil
from urllib.parse import unquote, urlsplit

import liveorg
import replay
import scrub
from stand_in import live_environment, run_live_suite

STEPS = ["connect", "before", "check", "apply", "converge", "hand-made-change", "drift-check", "repair", "removal",
         "removal-again", "cleanup", "after"]
# Fields sfemu stamps when it recounts a licence: audit data, like a LastModifiedDate.
AUDIT_FIELDS = {"UserLicense": {"UsedLicensesLastUpdated"}, "PermissionSetLicense": {"UsedLicensesLastUpdated"}}


def interactions_of(run):
    return [item for _, items in replay.load_run(run) for item in items]


def path_of(item):
    return urlsplit(item["request"]["uri"]).path


def test_without_the_variables_it_says_what_to_set_and_exits_0():
    proc = run_live_suite(live_environment())
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    for name, _ in liveorg.VARIABLES + liveorg.OPTIONAL:
        assert name in out
    assert "Not run." in out and "passed" not in out


def test_with_only_some_of_the_variables_it_stops_with_a_usage_error():
    proc = run_live_suite(live_environment(SFOPS_LIVE_LOGIN_URL="https://test.salesforce.com"))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 4, out  # pytest's usage error: a misspelt variable must not pass as "not run"
    assert "missing: SFOPS_LIVE_CLIENT_ID, SFOPS_LIVE_USERNAME, SFOPS_LIVE_PRIVATE_KEY_FILE" in out


def test_the_live_suite_passes_against_sfemu(stand_in):
    assert stand_in.proc.returncode == 0, stand_in
    cases = list(stand_in.junit.iter("testcase"))
    assert [c.get("name") for c in cases] == ["test_integration_user_lifecycle"], stand_in
    assert all(not list(c) or [e.tag for e in c] == ["system-out"] for c in cases), stand_in


def test_the_org_keeps_its_records_except_audit_data(stand_in):
    """Read from the emulator's state file, not through any API: every record is as before, except the run's
    user (deactivated: Salesforce never deletes users), its login record and its profile's permission set
    assignment, and the licence recount stamps."""
    before, after = stand_in.before, stand_in.after
    new_users = {i: r for i, r in after["User"].items() if i not in before["User"]}
    assert new_users, "the run created no user"
    assert all(not r["IsActive"] and r["Username"].startswith("sfops.live.sfl") for r in new_users.values())
    profile_sets = {i for i, r in after["PermissionSet"].items() if r.get("IsOwnedByProfile")}
    audit_rows = {
        "User": set(new_users),
        "UserLogin": {i for i, r in after.get("UserLogin", {}).items() if r["UserId"] in new_users},
        "PermissionSetAssignment": {i for i, r in after["PermissionSetAssignment"].items()
                                    if r["AssigneeId"] in new_users and r["PermissionSetId"] in profile_sets},
    }
    problems = []
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table, {}), after.get(table, {})
        added = set(new) - set(old) - audit_rows.get(table, set())
        removed = set(old) - set(new)
        changed = {i: sorted(k for k in set(old[i]) | set(new[i])
                             if old[i].get(k) != new[i].get(k) and k not in AUDIT_FIELDS.get(table, ()))
                   for i in set(old) & set(new)}
        changed = {i: keys for i, keys in changed.items() if keys}
        if added or removed or changed:
            problems.append("%s: added %s, removed %s, changed %s" % (table, sorted(added), sorted(removed), changed))
    assert problems == []


def test_the_recording_holds_every_exchange_of_every_process(stand_in):
    run = stand_in.recording
    assert run is not None, stand_in
    meta = scrub.load(run / "run.yaml")
    assert meta["steps"] == STEPS and meta["unanswered"] == []
    assert meta["preset"] == "planhat" and meta["api_version"] == "67.0" and meta["is_sandbox"] is False
    items = interactions_of(run)
    tokens = [i for i in items if path_of(i) == "/services/oauth2/token"]
    # GET /services/data/ (the version list) is not an API request, for Salesforce as for sfemu's counters.
    versions = [i for i in items if path_of(i) == "/services/data/"]
    assert len(tokens) == stand_in.stats["token_requests"]
    assert len(items) - len(tokens) - len(versions) == stand_in.stats["api_requests"]
    # The suite's own requests and the collection's; the removal steps ran the modules as processes.
    agents = {tuple(i["request"]["headers"].get("User-Agent", [])) for i in items}
    assert {("sfops.salesforce",), ("sfops-live-suite",)} <= agents
    removal = dict(replay.load_run(run))["removal"]
    assert any(i["request"]["headers"].get("User-Agent") == ["sfops.salesforce"] for i in removal)


def test_the_recording_holds_no_secret_username_id_or_host(stand_in):
    run = stand_in.recording
    text = "\n".join(p.read_text() for p in sorted(run.iterdir()))
    texts = (text, unquote(text))
    conn = stand_in.emulator.conn("org1")
    with open(conn["private_key_file"]) as handle:
        key_lines = [line for line in handle.read().splitlines() if line and not line.startswith("-----")]
    forbidden = [conn["client_secret"], conn["password"], conn["client_id"], conn["refresh_token"],
                 conn["username"], conn["org_id"], conn["org_id"][:15], urlsplit(conn["instance_url"]).netloc,
                 "Bearer "] + key_lines
    for table in stand_in.after.values():
        for row in table.values():
            forbidden += [row["Id"], row["Id"][:15]]
            forbidden += [row[k] for k in ("Username", "Email") if row.get(k)]
    leaks = sorted({f for f in forbidden if any(f in t for t in texts)})
    assert leaks == []
    assert not re.search(r"00D[A-Za-z0-9]{12}!", text)  # a session id of sfemu's (or Salesforce's) shape
    # Replaced, not dropped: the placeholders are where the values were.
    for placeholder in (scrub.AUTOMATION_USER, scrub.ORG_ID_PLACEHOLDER, scrub.HOST_PLACEHOLDER, scrub.SCRUBBED):
        assert placeholder in text
    token_answer = json.loads(next(i for i in interactions_of(run) if path_of(i) == "/services/oauth2/token")[
        "response"]["body"]["string"])
    assert token_answer["access_token"] == scrub.SCRUBBED
    assert scrub.is_id18(token_answer["id"].rsplit("/", 1)[1])  # the user id placeholder is still an id


def test_the_recording_replays_against_sfemu_with_the_same_shapes(stand_in):
    stand_in.emulator.reset()  # the seeded org the recorded run started from
    result = replay.replay_run(stand_in.recording, replay.Target(stand_in.emulator.conn("org1")))
    assert result.differences == []
    assert result.compared == len(interactions_of(stand_in.recording)) and result.skipped == []


def test_the_replay_reports_a_different_status_key_or_error_code(stand_in, tmp_path):
    """The comparison is not blind: three recorded answers of the first steps, edited, give three differences."""
    for name in ("01-connect.yaml", "02-before.yaml"):
        shutil.copy(stand_in.recording / name, tmp_path / name)
    cassette = scrub.load(tmp_path / "02-before.yaml")
    queries = [i for i in cassette["interactions"] if path_of(i).endswith("/query")]
    queries[0]["response"]["status"]["code"] = 201
    body = json.loads(queries[1]["response"]["body"]["string"])
    body["nextRecordsUrl"] = "/services/data/v1.0/query/x"
    queries[1]["response"]["body"]["string"] = json.dumps(body)
    queries[2]["request"]["uri"] = queries[2]["request"]["uri"].split("?")[0] + "?q=SELECT%20Nope%20FROM%20User"
    queries[2]["response"] = {"status": {"code": 400, "message": "Bad Request"}, "headers": {}, "body": {
        "string": json.dumps([{"message": "sObject type 'User' is not supported.", "errorCode": "INVALID_TYPE"}])}}
    (tmp_path / "02-before.yaml").write_text(scrub._dump(cassette))
    stand_in.emulator.reset()
    result = replay.replay_run(tmp_path, replay.Target(stand_in.emulator.conn("org1")))
    assert [d.split(": ", 1)[1] for d in result.differences] == [
        "status 201 recorded, 200 ours",
        "$: keys missing ['nextRecordsUrl']",
        "error codes ['INVALID_TYPE'] recorded, ['INVALID_FIELD'] ours",
    ]

"""Issue #7: the role survives a session Salesforce revokes in the middle of a run.

The role logs in once per org (sf_login) and passes the token to the later tasks through module_defaults together
with the login method and its credentials, so a task whose token is refused (401 INVALID_SESSION_ID) logs in once
more and carries on.  The revocation is injected at a known task boundary: a small callback, written here into the
test's temporary directory, arms the emulator's `session_expired` fault (the request's token is deleted, 401
INVALID_SESSION_ID) for the org when the named task starts, so the fault hits that task's first API request after
the earlier tasks have used the token successfully.  The org's state is then checked by raw queries with the test's
own login (conftest.Emulator.raw), never through the modules, and the emulator's counters give the token requests.
"""

import json
import pathlib

import pytest

from test_role_planhat import assert_baseline
from test_role_support import app, counts, deactivate, preset, role_vars, unique, username_of

from conftest import REPO, run_ansible_playbook

SETUP = REPO / "playbooks/setup_integration.yml"
# The role's tasks that talk to Salesforce after the login (each a new module process that starts with the token
# of "Log in once"). The preflight's sf_org_info runs before the permission set.
MODULE_TASKS = ("Read the API budget, licences, the integration user and the app", "Integration user", "Permission set",
                "Object and field permissions", "Permission set assignment", "Connected app policy",
                "Other users' OAuth tokens of the connected app")
# A first run in a seeded org revokes the Planhat token the seed gives standard.user (the purge of other users'
# tokens): one request to the revoke endpoint, which sfemu counts as a token request.
SEEDED_REVOCATIONS = 1

CALLBACK = '''
import json
import os
import ssl
import urllib.request

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: sfops_revoke_at
type: aggregate
short_description: test only, arm the emulator's session_expired fault when a named task starts
description: Posts one session_expired fault for SFOPS_REVOKE_ORG when the task SFOPS_REVOKE_AT_TASK starts.
requirements: [enable in callbacks_enabled]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "sfops_revoke_at"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.armed = False

    def v2_playbook_on_task_start(self, task, is_conditional):
        if self.armed or task.get_name().split(" : ")[-1] != os.environ["SFOPS_REVOKE_AT_TASK"]:
            return
        self.armed = True
        body = json.dumps({"org": os.environ["SFOPS_REVOKE_ORG"], "fault": "session_expired", "probability": 1.0,
                           "count": 1}).encode()
        request = urllib.request.Request(os.environ["SFOPS_REVOKE_URL"] + "/__sfemu/faults", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        context = ssl.create_default_context(cafile=os.environ["SFOPS_REVOKE_CA"])
        with urllib.request.urlopen(request, context=context, timeout=30) as answer:
            fault = json.loads(answer.read())["fault"]
        with open(os.environ["SFOPS_REVOKE_LOG"], "w") as handle:
            json.dump({"task": task.get_name(), "fault": fault}, handle)
'''


def short(name):
    return name.split(" : ")[-1]


def run_role(emulator, tmp_path, alias, auth, rv, revoke_at=None):
    """One role run on one org; with ``revoke_at``, the org's session is revoked when that task starts.
    Returns (result, emulator stats of the org for this run, the armed fault or None)."""
    inventory = emulator.inventory([alias], auth, path=tmp_path / ("inventory-%s.yml" % alias))
    env = None
    log = tmp_path / ("revoked-%s.json" % alias)
    if revoke_at:
        plugins = tmp_path / "callbacks"
        plugins.mkdir(exist_ok=True)
        (plugins / "sfops_revoke_at.py").write_text(CALLBACK)
        env = {
            "ANSIBLE_CALLBACK_PLUGINS": "%s:%s" % (pathlib.Path(__file__).parent / "callback_plugins", plugins),
            "ANSIBLE_CALLBACKS_ENABLED": "sfops_revoke_at",
            "SFOPS_REVOKE_AT_TASK": revoke_at, "SFOPS_REVOKE_ORG": alias, "SFOPS_REVOKE_URL": emulator.url,
            "SFOPS_REVOKE_CA": str(emulator.verify), "SFOPS_REVOKE_LOG": str(log),
        }
    emulator.clear_faults()
    emulator.reset_stats()
    try:
        result = run_ansible_playbook(SETUP, inventory, extra_vars=rv, env=env)
        armed = json.loads(log.read_text()) if revoke_at and log.exists() else None
        left = dict((f["id"], f["count"]) for f in emulator.control("GET", "faults")["faults"])
    finally:
        emulator.clear_faults()
    stats = counts(emulator, alias, "%s run (%s, revoke at %s)" % (alias, auth, revoke_at))
    if armed:
        armed["left"] = left.get(armed["fault"]["id"])
    return result, stats, armed


def failed_tasks(result, alias):
    return [(r["task"], r.get("msg")) for r in result.host_results(alias) if r.get("failed") and not r.get("ignore_errors")]


def module_tasks_from(result, alias, first):
    """The role's Salesforce tasks that ran (not skipped) from task ``first`` on, in order."""
    names = [short(r["task"]) for r in result.host_results(alias) if not r.get("skipped")]
    assert first in names, names
    return [n for n in names[names.index(first):] if n in MODULE_TASKS]


def assert_converged(emulator, alias, rv, installed):
    """Independent raw queries: the planhat baseline for this run's user and permission set."""
    ps = assert_baseline(emulator, alias, rv, preset("planhat"))
    found = app(emulator, alias)
    if installed:
        assert found is not None and rv["integration_user_permission_set_name"] in found["permission_sets"], found
    else:
        assert found is None, found  # even orgs use Planhat without having it installed
    return ps


@pytest.fixture
def cleanup(emulator):
    """Give the integration user licences back (the seeded orgs have 5 and the suites share them)."""
    made = []
    yield made
    for alias, rv in made:
        deactivate(emulator, alias, username_of(rv, alias))


def test_normal_run_logs_in_once_and_revoked_last_step_logs_in_once_more(emulator, tmp_path, cleanup):
    """A normal run: one token request for the org, every later task reuses the token. A run whose session is
    revoked when its last Salesforce step starts: converges, with exactly one more token request (the re-login) and
    the same number of counted API requests (the refused request is not counted, its repetition is)."""
    # org1 and org3 are both odd orgs (Planhat installed) seeded alike, so their first runs do the same work.
    rv_normal = role_vars(unique())
    cleanup.append(("org1", rv_normal))
    normal, normal_stats, _ = run_role(emulator, tmp_path, "org1", "jwt_bearer", rv_normal)
    assert normal.rc == 0, normal
    assert failed_tasks(normal, "org1") == []
    assert normal_stats["token_requests"] == 1 + SEEDED_REVOCATIONS, normal_stats
    assert_converged(emulator, "org1", rv_normal, installed=True)

    rv = role_vars(unique())
    cleanup.append(("org3", rv))
    revoked, stats, armed = run_role(emulator, tmp_path, "org3", "jwt_bearer", rv, revoke_at="Connected app policy")
    assert armed is not None, "the callback never armed the fault: %r" % revoked
    assert armed["left"] == 0, "the session_expired fault never fired: the run proves nothing (%s)" % armed
    assert revoked.rc == 0, revoked
    assert failed_tasks(revoked, "org3") == []
    after = module_tasks_from(revoked, "org3", "Connected app policy")
    assert after == ["Connected app policy", "Other users' OAuth tokens of the connected app"]
    # The login + one re-login per task from the revocation on (each starts with the login's token).
    assert stats["token_requests"] == 1 + len(after) + SEEDED_REVOCATIONS, stats
    assert stats["api_requests"] == normal_stats["api_requests"], (stats, normal_stats)
    assert_converged(emulator, "org3", rv, installed=True)
    # The re-run is clean: nothing left to do, one login.
    again, again_stats, _ = run_role(emulator, tmp_path, "org3", "jwt_bearer", rv)
    assert again.rc == 0, again
    assert [short(r["task"]) for r in again.host_results("org3") if r.get("changed") and short(r["task"]) in MODULE_TASKS] == []
    assert again_stats["token_requests"] == 1, again_stats


def test_session_revoked_mid_run_converges(emulator, tmp_path, cleanup):
    """Revoked when the permission set step starts (after preflight and the user have used the token), with the
    password flow on an even org: the run converges. Each Salesforce task from there on starts with the login's
    token, which is now revoked, so each logs in once more: one re-login per remaining task, never more."""
    alias = "org2"
    rv = role_vars(unique())
    cleanup.append((alias, rv))
    result, stats, armed = run_role(emulator, tmp_path, alias, "password", rv, revoke_at="Permission set")
    assert armed is not None, "the callback never armed the fault: %r" % result
    assert armed["left"] == 0, "the session_expired fault never fired: the run proves nothing (%s)" % armed
    assert result.rc == 0, result
    assert failed_tasks(result, alias) == []
    before = [short(r["task"]) for r in result.host_results(alias)]
    assert "Integration user" in before[:before.index("Permission set")], before  # the token was used before
    after = module_tasks_from(result, alias, "Permission set")
    assert len(after) >= 3, after  # mid-run: several Salesforce steps follow the revocation
    assert stats["token_requests"] == 1 + len(after) + SEEDED_REVOCATIONS, (stats, after)
    assert_converged(emulator, alias, rv, installed=False)

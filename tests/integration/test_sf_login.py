"""sf_login against the emulator: every auth method, one token request, a token that later tasks can use, and
clear failures without secrets."""

import pytest

ALIAS = "org1"


@pytest.mark.parametrize("auth", ["jwt_bearer", "client_credentials", "password"])
def test_login_returns_a_usable_token(emulator, run_tasks, auth):
    emulator.reset_stats()
    res = run_tasks([{"name": "login", "sfops.salesforce.sf_login": {}, "register": "s", "no_log": True}], auth=auth)
    assert res.rc == 0, res
    stats = emulator.stats(ALIAS)
    assert stats["token_requests"] == 1 and stats["api_requests"] == 0

    # The registered token works for a later task through auth_method=access_token (proves it is real).
    tasks = [
        {"name": "login", "sfops.salesforce.sf_login": {}, "register": "s", "no_log": True},
        {"name": "use token", "sfops.salesforce.sf_org_info": {
            "gather": ["organization"], "auth_method": "access_token",
            "instance_url": "{{ s.instance_url }}", "access_token": "{{ s.access_token }}"}, "register": "i"},
        {"name": "facts", "ansible.builtin.debug": {"msg": "{{ {'org_id': s.org_id, 'user_id': s.user_id, 'changed': s.changed, "
                                                              "'api_version': s.api_version, 'token_len': s.access_token | length} }}"}},
    ]
    emulator.reset_stats()
    res = run_tasks(tasks, auth=auth)
    assert res.rc == 0, res
    # Read the counters before the raw queries below, which log in on their own.
    stats = emulator.stats(ALIAS)
    assert stats["token_requests"] == 1  # the second task reused the token
    facts = res.results[2]["msg"]
    org = emulator.raw_query(ALIAS, "SELECT Id FROM Organization")[0]["Id"]
    user = emulator.raw_query(ALIAS, "SELECT Id FROM User WHERE Username = '%s'" % emulator.conn(ALIAS)["username"])[0]["Id"]
    assert facts["org_id"][:15] == org[:15] and facts["user_id"][:15] == user[:15]
    assert facts["changed"] is False and facts["api_version"] == "67.0" and facts["token_len"] > 20
    assert res.results[1]["org"]["organization"]["id"][:15] == org[:15]


def test_access_token_method_checks_the_token(emulator, run_tasks):
    conn = emulator.conn(ALIAS)
    res = run_tasks([{"name": "login", "sfops.salesforce.sf_login": {
        "auth_method": "access_token", "instance_url": conn["instance_url"], "access_token": "00Dbogus!notatoken"}}])
    assert res.rc != 0
    msg = res.results[0]["msg"]
    assert "INVALID_SESSION_ID" in msg and "notatoken" not in res.stdout


def test_wrong_key_or_user_fails_with_oauth_hint(emulator, run_tasks):
    res = run_tasks([{"name": "login", "sfops.salesforce.sf_login": {"username": "nobody@nowhere.example"}}])
    assert res.rc != 0
    msg = res.results[0]["msg"]
    assert "invalid_grant" in msg and "What to do" in msg


def test_wrong_secret_is_not_echoed(emulator, run_tasks):
    res = run_tasks([{"name": "login", "sfops.salesforce.sf_login": {"client_secret": "WRONG-SECRET-1234"}}], auth="client_credentials")
    assert res.rc != 0
    assert "WRONG-SECRET-1234" not in res.stdout
    assert res.results[0]["error_code"] in ("invalid_client", "invalid_grant", "invalid_client_id")


def test_http_url_refused_before_any_request(emulator, run_tasks):
    emulator.reset_stats()
    res = run_tasks([{"name": "login", "sfops.salesforce.sf_login": {"login_url": "http://login.example.com"}}])
    assert res.rc != 0
    assert "allow_http" in res.results[0]["msg"]
    assert emulator.stats(ALIAS)["token_requests"] == 0


def test_missing_options_named(emulator, run_tasks):
    res = run_tasks([{"name": "login", "sfops.salesforce.sf_login": {"auth_method": "refresh_token"}}])
    assert res.rc != 0
    assert "refresh_token" in res.results[0]["msg"] and "SF_REFRESH_TOKEN" in res.results[0]["msg"]

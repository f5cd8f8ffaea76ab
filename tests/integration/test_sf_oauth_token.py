"""sf_oauth_token against the emulator: list, check mode, revoke, idempotency, concurrency with another revoker and
bad input, every state verified through raw OauthToken queries (the emulator's REST API with its own login)."""

import json

ALIAS = "org1"  # Planhat is installed there and lets users self-authorise (seed); standard.user holds a token


def task(**args):
    return {"name": "tokens", "sfops.salesforce.sf_oauth_token": dict({"app": "Planhat"}, **args)}


def username(emulator, who):
    return "%s@%s.sfemu.example" % (who, ALIAS)


def raw_tokens(emulator, app="Planhat"):
    """{OauthToken Id: username} of the app, read with the emulator's own admin login."""
    rows = emulator.raw_query(ALIAS, "SELECT Id, User.Username, DeleteToken FROM OauthToken WHERE AppName = '%s'" % app)
    return {r["Id"]: r["User"]["Username"] for r in rows}, [r["DeleteToken"] for r in rows]


def authorize(emulator, who):
    """``who`` clicks Allow for Planhat (the vendor redeems the code): one more OauthToken row."""
    return emulator.control("POST", "orgs/%s/authorize" % ALIAS, json={"username": username(emulator, who), "app": "Planhat"})


def test_list_revoke_and_converge(emulator, run_tasks):
    standard, readonly = username(emulator, "standard.user"), username(emulator, "readonly.user")
    authorize(emulator, "readonly.user")
    authorize(emulator, "readonly.user")  # two authorisations: two rows
    before, delete_tokens = raw_tokens(emulator)
    ours = sorted(i for i, u in before.items() if u == readonly)
    assert len(ours) == 2 and standard in before.values()

    # Listing (state=present) changes nothing and never returns a DeleteToken.
    res = run_tasks([task(all_users=True)])
    assert res.rc == 0, res
    listed = res.results[0]
    assert listed["changed"] is False and sorted(t["id"] for t in listed["oauth_tokens"]) == sorted(before)
    assert {t["user"] for t in listed["oauth_tokens"]} == set(before.values())
    for secret in delete_tokens:
        assert secret not in res.stdout + res.stderr + json.dumps(res.report)

    # Check mode: exactly what would go, nothing revoked.
    args = dict(all_users=True, except_users=[standard], state="absent")
    res = run_tasks([task(**args)], check=True)
    assert res.rc == 0, res
    result = res.results[0]
    assert result["changed"] is True and result["removed"] == {"oauth_tokens": ours}
    assert sorted(t["id"] for t in result["revoked"]) == ours and {t["user"] for t in result["revoked"]} == {readonly}
    assert result["diff"]["after"] == {"oauth_tokens": []}
    assert raw_tokens(emulator)[0] == before

    res = run_tasks([task(**args)])
    assert res.rc == 0, res
    assert res.results[0]["changed"] is True and res.results[0]["oauth_tokens"] == []
    after = raw_tokens(emulator)[0]
    assert after == {i: u for i, u in before.items() if u != readonly}
    for secret in delete_tokens:
        assert secret not in res.stdout + res.stderr + json.dumps(res.report)

    res = run_tasks([task(**args)])
    assert res.rc == 0 and res.results[0]["changed"] is False, res
    assert res.results[0]["msg"].startswith("No change")

    # Named users; one that does not exist holds nothing (a warning, not a failure).
    res = run_tasks([task(users=[standard, "nobody@%s.sfemu.example" % ALIAS], state="absent")])
    assert res.rc == 0, res
    assert [t["user"] for t in res.results[0]["revoked"]] == [standard]
    assert any("No user nobody@" in w for w in res.results[0].get("warnings", []))
    assert standard not in raw_tokens(emulator)[0].values()


def test_bad_input_fails_before_any_request(emulator, run_tasks):
    cases = [
        (dict(users=["a@example.com"], all_users=True), "exclude each other"),
        (dict(), "Say whose tokens are meant"),
        (dict(users=["a@example.com"], except_users=["b@example.com"]), "except_users only narrows all_users=true"),
    ]
    for args, expected in cases:
        emulator.reset_stats()
        res = run_tasks([task(**args)])
        assert res.rc != 0 and expected in res.results[0]["msg"], res.results[0]["msg"]
        assert emulator.stats(ALIAS)["api_requests"] == 0

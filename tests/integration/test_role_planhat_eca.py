"""The planhat preset, unchanged, when the vendor ships Planhat as an External Client App (ECA) in one org and as a
connected app in another: one setup run hardens the ECA entirely through the API, the next run changes nothing, a
hand-made Setup change of the ECA's policy is drift of exactly that org (JSON and JUnit) and the next setup run
repairs it. Every state is checked with an independent raw Metadata API read (test_sf_connected_app_policy_eca.py).

One test function: the steps depend on each other and must not be split across pytest-xdist workers.
"""

from test_role_support import (changed_count, changed_tasks, counts, create_permission_set, deactivate, junit_failures,
                               read_drift_reports, report_of, role_vars, unique, username_of)
from test_sf_connected_app_policy_eca import raw_eca_policy, setup_change

SETUP = "playbooks/setup_integration.yml"
DRIFT = "playbooks/drift_check.yml"
ECA_ORG, CONNECTED_APP_ORG = "org2", "org1"  # org2 only used Planhat; org1 has it installed as a connected app


def test_planhat_preset_on_an_eca_and_a_connected_app_drift_of_one_org_and_repair(emulator, run_playbook):
    emulator.control("POST", "orgs/%s/install_app" % ECA_ORG, json={"name": "Planhat", "kind": "external_client_app"})
    tag = unique()
    rv = role_vars(tag)
    ps_name = rv["integration_user_permission_set_name"]
    aliases = [CONNECTED_APP_ORG, ECA_ORG]
    try:
        # 1. One setup run: the ECA is admin-approved with exactly the integration permission set, nothing to click.
        emulator.reset_stats()
        res = run_playbook(SETUP, aliases=aliases, extra_vars=rv)
        assert res.rc == 0, res
        counts(emulator, ECA_ORG, "planhat setup on an ECA")
        policy = raw_eca_policy(emulator, ECA_ORG)
        assert policy["permittedUsersPolicyType"] == "AdminApprovedPreAuthorized"
        assert policy["commaSeparatedPermissionSet"] == ps_name
        report = report_of(res, ECA_ORG)
        assert report["connected_app_kind"] == "external_client_app" and report["connected_app_installed"] is True
        assert report["connected_app_status"] == ("Planhat is an External Client App: its policy and access are set "
                                                  "through the API, nothing is left to click.")
        # What is left is about the new user (its e-mail, the vendor's OAuth handshake), nothing about the app policy.
        assert [s.split(" ")[0] for s in report["manual_steps"]] == ["Verify", "In"], report["manual_steps"]
        assert "OAuth handshake" in report["manual_steps"][1]
        other = report_of(res, CONNECTED_APP_ORG)
        assert other["connected_app_kind"] == "connected_app"
        assert other["connected_app_status"] == "Planhat is a connected app: its policy needs the manual steps."
        assert any("Edit Policies" in s for s in other["manual_steps"])

        # 2. Converged: no change in either org, no manual step for the ECA's policy.
        emulator.reset_stats()
        res = run_playbook(SETUP, aliases=aliases, extra_vars=rv)
        assert res.rc == 0, res
        for alias in aliases:
            assert changed_count(res, alias) == 0, changed_tasks(res, alias)
        converged = counts(emulator, ECA_ORG, "planhat converged re-run on an ECA")
        # the preflight (one composite, the exposure check included), the five steps, and the app step's
        # listMetadata and readMetadata
        assert converged["token_requests"] == 1 and converged["api_requests"] <= 8
        assert converged["by_resource"].get("metadata/updateMetadata") is None

        # 3. An admin edits the ECA's policies by hand: All users may self-authorize, and one more permission set.
        handmade = "Handmade_%s" % tag
        create_permission_set(emulator, ECA_ORG, handmade)
        setup_change(emulator, permittedUsersPolicyType="AllSelfAuthorized",
                     commaSeparatedPermissionSet="%s,%s" % (ps_name, handmade))
        drifted = raw_eca_policy(emulator, ECA_ORG)

        # 4. The drift check names exactly that org and step, with the module's diff, and writes nothing.
        report_dir = emulator.data_dir / ("drift-eca-" + tag)
        res = run_playbook(DRIFT, aliases=aliases, extra_vars=dict(rv, drift_report_dir=str(report_dir), fail_on_drift=True))
        assert res.rc != 0, res                                      # fail_on_drift
        data, junit = read_drift_reports(report_dir)
        assert data["summary"]["drifted_orgs"] == [ECA_ORG]
        assert data["summary"]["converged_orgs"] == [CONNECTED_APP_ORG]
        org = data["orgs"][ECA_ORG]
        assert org["changed_steps"] == ["connected_app"] and org["connected_app_kind"] == "external_client_app"
        assert org["diffs"] == {"connected_app": {
            "before": {"permitted_users": "all_self_authorize", "permission_sets": {handmade: True}},
            "after": {"permitted_users": "admin_approved", "permission_sets": {handmade: False}}}}
        assert junit_failures(junit) == {(ECA_ORG, "connected_app")}
        assert raw_eca_policy(emulator, ECA_ORG) == drifted

        # 5. The next setup run repairs it, and the one after changes nothing.
        res = run_playbook(SETUP, aliases=aliases, extra_vars=rv)
        assert res.rc == 0, res
        assert report_of(res, ECA_ORG)["changed_steps"] == ["connected_app"]
        assert report_of(res, CONNECTED_APP_ORG)["changed_steps"] == []
        repaired = raw_eca_policy(emulator, ECA_ORG)
        assert repaired["permittedUsersPolicyType"] == "AdminApprovedPreAuthorized"
        assert repaired["commaSeparatedPermissionSet"] == ps_name
        res = run_playbook(SETUP, aliases=aliases, extra_vars=rv)
        assert res.rc == 0, res
        for alias in aliases:
            assert changed_count(res, alias) == 0, changed_tasks(res, alias)
    finally:
        for alias in aliases:
            deactivate(emulator, alias, username_of(rv, alias))

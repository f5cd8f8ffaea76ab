"""Emulator/Org behaviour: seeded state, CRUD, derived fields, query, transactions, persistence, threads, scale."""

from __future__ import annotations

import json
import threading
import time

import pytest

from sfemu import ids
from sfemu.org import ApiError, Emulator
from sfemu.seed import APP_NAME, VENDOR_APP_NAME

V = "67.0"


@pytest.fixture()
def emu(tmp_path):
    return Emulator(tmp_path, orgs=2, settings={"fsync": False})


def admin_id(org):
    return org.user_by_username(f"admin@{org.alias}.sfemu.example")["Id"]


def q(org, soql, version=V):
    return org.query(soql, version)[1]


# ---------------------------------------------------------------------------------------------------------------------
# seeded state
# ---------------------------------------------------------------------------------------------------------------------

def test_seeded_org_contents(emu):
    org = emu.orgs["org1"]
    assert ids.is_valid_id(org.org_id) and org.org_id.startswith("00D")
    orgrow = q(org, "SELECT Id, Name, OrganizationType, IsSandbox, InstanceName FROM Organization")[0]
    assert orgrow["Id"] == org.org_id and orgrow["IsSandbox"] is False
    assert orgrow["OrganizationType"] == "Developer Edition"
    assert q(emu.orgs["org2"], "SELECT OrganizationType FROM Organization")[0]["OrganizationType"] == \
        "Enterprise Edition"
    profiles = {r["Name"]: r["UserLicense"]["Name"] for r in q(org, "SELECT Name, UserLicense.Name FROM Profile")}
    assert profiles == {
        "System Administrator": "Salesforce", "Standard User": "Salesforce", "Read Only": "Salesforce",
        "Minimum Access - Salesforce": "Salesforce",
        "Minimum Access - API Only Integrations": "Salesforce Integration",
    }
    lic = {r["Name"]: (r["TotalLicenses"], r["UsedLicenses"])
           for r in q(org, "SELECT Name, TotalLicenses, UsedLicenses FROM UserLicense")}
    assert lic == {"Salesforce": (20, 3), "Salesforce Integration": (5, 0), "Salesforce Platform": (10, 0)}
    psl = q(org, "SELECT DeveloperName, MasterLabel, TotalLicenses, UsedLicenses FROM PermissionSetLicense")
    assert psl == [{"attributes": psl[0]["attributes"], "DeveloperName": "SalesforceAPIIntegrationPsl",
                    "MasterLabel": "Salesforce API Integration", "TotalLicenses": 5, "UsedLicenses": 0}]
    admin = q(org, "SELECT Id, Profile.Name, IsActive FROM User WHERE Username = 'admin@org1.sfemu.example'")[0]
    assert admin["Profile"]["Name"] == "System Administrator" and admin["IsActive"] is True


def test_profile_permission_sets(emu):
    org = emu.orgs["org1"]
    rows = q(org, "SELECT Profile.Name, IsOwnedByProfile, Type, PermissionsModifyAllData, PermissionsApiEnabled, "
                  "PermissionsApiUserOnly, PermissionsCanApproveUninstalledApps FROM PermissionSet "
                  "WHERE IsOwnedByProfile = true")
    by = {r["Profile"]["Name"]: r for r in rows}
    assert all(r["Type"] == "Profile" for r in rows) and len(rows) == 5
    sa = by["System Administrator"]
    assert sa["PermissionsModifyAllData"] and sa["PermissionsApiEnabled"] and sa["PermissionsCanApproveUninstalledApps"]
    api = by["Minimum Access - API Only Integrations"]
    assert api["PermissionsApiUserOnly"] and api["PermissionsApiEnabled"] and not api["PermissionsModifyAllData"]
    # Profile mirrors its permission set
    prof = q(org, "SELECT PermissionsApiUserOnly FROM Profile WHERE Name = 'Minimum Access - API Only Integrations'")
    assert prof[0]["PermissionsApiUserOnly"] is True
    # every seeded permission set satisfies the dependency rules the API enforces
    for ps in org._tables["PermissionSet"].values():
        org._check_system_permissions(ps, V)
    for op in org._tables["ObjectPermissions"].values():
        org._check_object_flags(op)


def test_every_user_has_login_and_profile_assignment(emu):
    org = emu.orgs["org1"]
    users = q(org, "SELECT Id FROM User")
    for u in users:
        assert len(q(org, f"SELECT Id FROM UserLogin WHERE UserId = '{u['Id']}'")) == 1
        psa = q(org, f"SELECT PermissionSet.IsOwnedByProfile FROM PermissionSetAssignment "
                     f"WHERE AssigneeId = '{u['Id']}'")
        assert [r["PermissionSet"]["IsOwnedByProfile"] for r in psa] == [True]


def test_connected_apps_seeded(emu):
    odd, even = emu.orgs["org1"], emu.orgs["org2"]
    assert {r["Name"] for r in q(odd, "SELECT Name FROM ConnectedApplication")} == {APP_NAME, VENDOR_APP_NAME}
    assert {r["Name"] for r in q(even, "SELECT Name FROM ConnectedApplication")} == {APP_NAME}
    vendor = q(odd, f"SELECT OptionsAllowAdminApprovedUsersOnly FROM ConnectedApplication "
                    f"WHERE Name = '{VENDOR_APP_NAME}'")[0]
    assert vendor["OptionsAllowAdminApprovedUsersOnly"] is False
    for org in (odd, even):
        tok = q(org, "SELECT AppName, User.Username FROM OauthToken")
        assert [t["AppName"] for t in tok] == [VENDOR_APP_NAME]
    pol = odd.get_connected_app_policy(APP_NAME)
    assert pol["installed"] and pol["is_admin_approved"] and pol["profile_names"] == ["System Administrator"]
    assert "client_secret" not in pol
    assert pol["client_credentials_user_id"] == admin_id(odd)
    assert odd.user_has_app_access(admin_id(odd), APP_NAME)
    std = odd.user_by_username("standard.user@org1.sfemu.example")["Id"]
    assert not odd.user_has_app_access(std, APP_NAME)
    assert even.get_connected_app_policy(VENDOR_APP_NAME)["installed"] is False


def test_credentials(emu):
    org = emu.orgs["org1"]
    c = org.credentials
    assert c["username"] == "admin@org1.sfemu.example"
    assert c["client_id"].startswith("3MVG9") and len(c["client_id"]) == 85
    assert len(c["client_secret"]) == 64 and len(c["password"]) >= 8
    assert c["client_id"] != emu.orgs["org2"].credentials["client_id"]
    assert org.check_password(admin_id(org), c["password"])
    assert not org.check_password(admin_id(org), c["password"] + "x")
    assert org.find_connected_app(c["client_id"])["client_secret"] == c["client_secret"]
    org.set_password(admin_id(org), "N3w-password!")
    assert org.check_password(admin_id(org), "N3w-password!")


def test_seed_is_deterministic_apart_from_credentials(tmp_path):
    a = Emulator(tmp_path / "a", orgs=1, settings={"fsync": False}).orgs["org1"]
    b = Emulator(tmp_path / "b", orgs=1, settings={"fsync": False}).orgs["org1"]

    def without_delete_tokens(org):
        # OauthToken.DeleteToken is derived from the org's credentials (a revocation capability, org.delete_token_for)
        return {t: {i: {k: v for k, v in r.items() if k != "DeleteToken"} for i, r in rows.items()}
                for t, rows in org._tables.items()}

    assert without_delete_tokens(a) == without_delete_tokens(b)
    assert a.credentials["password"] != b.credentials["password"]
    [token_a], [token_b] = a._tables["OauthToken"].values(), b._tables["OauthToken"].values()
    assert token_a["DeleteToken"] != token_b["DeleteToken"]
    a.reset()
    assert next(iter(a._tables["OauthToken"].values()))["DeleteToken"] == token_a["DeleteToken"]


# ---------------------------------------------------------------------------------------------------------------------
# CRUD, derived fields, describe
# ---------------------------------------------------------------------------------------------------------------------

def test_create_retrieve_update_delete_with_audit_fields(emu):
    org = emu.orgs["org1"]
    me = admin_id(org)
    acc = org.create("Account", {"Name": "Crud Co", "Industry": "Retail"}, V, me)
    assert ids.is_valid_id(acc) and acc.startswith("001")
    rec = org.retrieve("Account", acc, None, V)
    assert rec["attributes"] == {"type": "Account", "url": f"/services/data/v{V}/sobjects/Account/{acc}"}
    assert rec["OwnerId"] == me and rec["CreatedById"] == me and rec["IsDeleted"] is False
    assert rec["CreatedDate"].endswith("+0000") and rec["CreatedDate"] == rec["LastModifiedDate"]
    assert rec["Phone"] is None  # every field present, null when empty
    time.sleep(0.002)
    std = org.user_by_username("standard.user@org1.sfemu.example")["Id"]
    org.update("Account", acc, {"Industry": "Banking"}, V, std)
    rec2 = org.retrieve("Account", acc, ["Industry", "LastModifiedById", "LastModifiedDate", "CreatedDate"], V)
    assert rec2["Industry"] == "Banking" and rec2["LastModifiedById"] == std
    assert rec2["LastModifiedDate"] >= rec2["CreatedDate"]
    assert list(rec2) == ["attributes", "Industry", "LastModifiedById", "LastModifiedDate", "CreatedDate"]
    org.delete("Account", acc, V, me)
    assert q(org, f"SELECT COUNT() FROM Account WHERE Id = '{acc}'") == []


def test_retrieve_unknown_field(emu):
    org = emu.orgs["org1"]
    e = pytest.raises(ApiError, org.retrieve, "User", admin_id(org), ["Nope"], V).value
    assert e.error_code == "INVALID_FIELD" and e.message.startswith("No such column 'Nope' on entity 'User'.")


def test_describe_and_basic_info(emu):
    org = emu.orgs["org1"]
    d = org.describe("permissionset", V)
    assert d["name"] == "PermissionSet" and d["keyPrefix"] == "0PS"
    bi = org.basic_info("Account", V)
    assert bi["objectDescribe"]["name"] == "Account" and bi["recentItems"]
    assert bi["recentItems"][0]["attributes"]["type"] == "Account"
    assert len(org.describe_global(V)["sobjects"]) >= 29


def test_user_defaults(emu):
    org = emu.orgs["org1"]
    prof = q(org, "SELECT Id FROM Profile WHERE Name = 'Standard User'")[0]["Id"]
    u = org.create("User", {"Username": "new.person@example.com", "LastName": "Person", "FirstName": "New",
                            "Email": "p@example.com", "Alias": "np", "TimeZoneSidKey": "GMT",
                            "LocaleSidKey": "en_GB", "EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US",
                            "ProfileId": prof}, V, admin_id(org))
    rec = org.retrieve("User", u, ["Name", "IsActive", "CommunityNickname", "UserType"], V)
    assert rec["Name"] == "New Person" and rec["IsActive"] is True and rec["UserType"] == "Standard"
    assert rec["CommunityNickname"] == "new.person"


# ---------------------------------------------------------------------------------------------------------------------
# connected apps
# ---------------------------------------------------------------------------------------------------------------------

def test_install_and_policy_mirrored_in_connected_application(emu):
    org = emu.orgs["org2"]
    with pytest.raises(ApiError) as exc:
        org.set_connected_app_policy(VENDOR_APP_NAME, is_admin_approved=True)
    assert exc.value.status == 404
    app_id = org.install_connected_app(VENDOR_APP_NAME)
    assert org.install_connected_app(VENDOR_APP_NAME) == app_id  # idempotent
    row = q(org, f"SELECT Id, OptionsAllowAdminApprovedUsersOnly FROM ConnectedApplication "
                 f"WHERE Name = '{VENDOR_APP_NAME}'")[0]
    assert row["Id"] == app_id and row["OptionsAllowAdminApprovedUsersOnly"] is False
    pol = org.set_connected_app_policy(VENDOR_APP_NAME, is_admin_approved=True, ip_relaxation="BYPASS",
                                       refresh_token_policy="specific_inactivity:30:DAYS")
    assert pol["is_admin_approved"] and pol["ip_relaxation"] == "BYPASS"
    row = org.retrieve("ConnectedApplication", app_id, None, V)
    assert row["OptionsAllowAdminApprovedUsersOnly"] is True
    assert row["RefreshTokenValidityPeriod"] == 30 and row["OptionsRefreshTokenValidityMetric"] is True
    with pytest.raises(ApiError):
        org.set_connected_app_policy(VENDOR_APP_NAME, ip_relaxation="SOMETIMES")
    with pytest.raises(ApiError):
        org.set_connected_app_policy(VENDOR_APP_NAME, refresh_token_policy="forever")
    # access through a permission set
    ps = org.create("PermissionSet", {"Name": "Planhat_Access", "Label": "Planhat Access"}, V, admin_id(org))
    std = org.user_by_username("standard.user@org2.sfemu.example")["Id"]
    assert not org.user_has_app_access(std, app_id)
    org.create("PermissionSetAssignment", {"AssigneeId": std, "PermissionSetId": ps}, V, admin_id(org))
    org.create("SetupEntityAccess", {"ParentId": ps, "SetupEntityId": app_id}, V, admin_id(org))
    assert org.user_has_app_access(std, app_id) and org.user_has_app_access(std, VENDOR_APP_NAME)
    assert org.get_connected_app_policy(VENDOR_APP_NAME)["permission_set_ids"] == [ps]


# ---------------------------------------------------------------------------------------------------------------------
# transactions, persistence, reset
# ---------------------------------------------------------------------------------------------------------------------

def test_snapshot_restore_undoes_everything_including_usernames(emu):
    org = emu.orgs["org1"]
    snap = org.snapshot()
    prof = q(org, "SELECT Id FROM Profile WHERE Name = 'Standard User'")[0]["Id"]
    org.create("User", {"Username": "rollback@example.com", "LastName": "R", "Email": "r@example.com", "Alias": "r",
                        "TimeZoneSidKey": "GMT", "LocaleSidKey": "en_US", "EmailEncodingKey": "UTF-8",
                        "LanguageLocaleKey": "en_US", "ProfileId": prof}, V, admin_id(org))
    acc = org.create("Account", {"Name": "Rolled back"}, V, admin_id(org))
    assert emu.find_user("rollback@example.com") is not None
    org.restore(snap)
    assert emu.find_user("rollback@example.com") is None
    assert q(org, f"SELECT Id FROM Account WHERE Id = '{acc}'") == []
    assert q(org, "SELECT UsedLicenses FROM UserLicense WHERE Name = 'Salesforce'")[0]["UsedLicenses"] == 3
    # ids are never handed out twice, even after a rollback
    assert org.create("Account", {"Name": "Again"}, V, admin_id(org)) != acc


def test_state_survives_a_restart(tmp_path):
    emu = Emulator(tmp_path, orgs=2, settings={"fsync": True})
    org = emu.orgs["org2"]
    creds = dict(org.credentials)
    acc = org.create("Account", {"Name": "Persisted"}, V, admin_id(org))
    org.meta["oauth"] = {"sessions": {"tok": {"user": "x"}}}
    org.save()
    ps = org.create("PermissionSet", {"Name": "Persisted_PS", "Label": "Persisted PS", "PermissionsViewSetup": True,
                                      "PermissionsViewRoles": True}, V, admin_id(org))
    org.delete("Account", acc, V, admin_id(org))
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary files
    del emu, org

    emu2 = Emulator(tmp_path, orgs=2, settings={"fsync": True})
    org2 = emu2.orgs["org2"]
    assert org2.credentials == creds
    assert org2.meta["oauth"]["sessions"] == {"tok": {"user": "x"}}
    rec = org2.retrieve("PermissionSet", ps, ["PermissionsViewSetup", "PermissionsModifyAllData"], V)
    assert rec["PermissionsViewSetup"] is True and rec["PermissionsModifyAllData"] is False
    assert org2.query(f"SELECT Id FROM Account WHERE Id = '{acc}'", V, include_deleted=True)[0] == 1
    assert emu2.find_user("admin@org2.sfemu.example")[0] is org2
    # new ids continue after the persisted counter
    assert org2.create("Account", {"Name": "Next"}, V, admin_id(org2)) not in (acc, ps)


def test_batch_writes_once(tmp_path, monkeypatch):
    emu = Emulator(tmp_path, orgs=1, settings={"fsync": False})
    org = emu.orgs["org1"]
    saves = []
    real_save = org.save
    monkeypatch.setattr(org, "save", lambda: (saves.append(1), real_save()))
    with org.batch():
        for i in range(5):
            org.create("Account", {"Name": f"B{i}"}, V, admin_id(org))
    assert len(saves) == 1
    org.create("Account", {"Name": "single"}, V, admin_id(org))
    assert len(saves) == 2
    data = json.loads(org.path.read_text())
    assert sum(1 for r in data["tables"]["Account"] if r["Name"].startswith("B")) == 5


def test_reset_restores_seed_and_keeps_credentials(emu):
    org = emu.orgs["org1"]
    before = {k: dict(v) for k, v in org._tables["PermissionSet"].items()}
    creds = dict(org.credentials)
    prof = q(org, "SELECT Id FROM Profile WHERE Name = 'Standard User'")[0]["Id"]
    org.create("User", {"Username": "temp@example.com", "LastName": "T", "Email": "t@example.com", "Alias": "t",
                        "TimeZoneSidKey": "GMT", "LocaleSidKey": "en_US", "EmailEncodingKey": "UTF-8",
                        "LanguageLocaleKey": "en_US", "ProfileId": prof}, V, admin_id(org))
    org.create("PermissionSet", {"Name": "Temp", "Label": "Temp"}, V, admin_id(org))
    org.install_connected_app(VENDOR_APP_NAME)
    emu.reset()
    assert org.credentials == creds
    assert org._tables["PermissionSet"] == before
    assert emu.find_user("temp@example.com") is None
    assert emu.find_user("admin@org1.sfemu.example")[0] is org
    assert org.check_password(admin_id(org), creds["password"])


def test_org_lookup(emu):
    org = emu.orgs["org2"]
    assert emu.org_by_id(org.org_id) is org
    assert emu.org_by_id(org.org_id[:15]) is org
    assert emu.org_by_id("00D000000000000") is None
    assert emu.find_user("nobody@example.com") is None


# ---------------------------------------------------------------------------------------------------------------------
# concurrency and scale
# ---------------------------------------------------------------------------------------------------------------------

def test_concurrent_creates_in_one_org(emu):
    org = emu.orgs["org1"]
    me = admin_id(org)
    out, errors = [], []

    def work(n):
        try:
            for i in range(25):
                out.append(org.create("Account", {"Name": f"T{n}-{i}"}, V, me))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(out) == len(set(out)) == 200
    assert org.query("SELECT COUNT() FROM Account WHERE Name LIKE 'T%'", V)[0] == 200


def test_concurrent_same_username_in_two_orgs_only_one_wins(emu):
    results = []

    def make(org):
        prof = q(org, "SELECT Id FROM Profile WHERE Name = 'Standard User'")[0]["Id"]
        try:
            org.create("User", {"Username": "race@example.com", "LastName": "R", "Email": "r@example.com",
                                "Alias": "r", "TimeZoneSidKey": "GMT", "LocaleSidKey": "en_US",
                                "EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US", "ProfileId": prof}, V,
                       admin_id(org))
            results.append("ok")
        except ApiError as exc:
            results.append(exc.error_code)

    for _ in range(10):
        results.clear()
        threads = [threading.Thread(target=make, args=(o,)) for o in emu.orgs.values()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == ["DUPLICATE_USERNAME", "ok"]
        owner, user = emu.find_user("race@example.com")
        owner.update("User", user["Id"], {"Username": f"race.{time.monotonic_ns()}@example.com"}, V,
                     admin_id(owner))



def test_two_hundred_orgs_are_quick_to_create_and_load(tmp_path):
    t0 = time.perf_counter()
    emu = Emulator(tmp_path, orgs=200)
    created = time.perf_counter() - t0
    t0 = time.perf_counter()
    emu2 = Emulator(tmp_path, orgs=200)
    loaded = time.perf_counter() - t0
    assert len(emu2.orgs) == 200 and len(list(tmp_path.glob("org*.json"))) == 200
    assert emu2.find_user("admin@org200.sfemu.example")[0].alias == "org200"
    assert emu2.orgs["org200"].credentials == emu.orgs["org200"].credentials
    assert len({o.org_id for o in emu2.orgs.values()}) == 200
    # generous bounds for slow CI machines; typical: ~3 s to create (with fsync), ~1 s to load
    assert created < 30, created
    assert loaded < 15, loaded


def test_concurrent_writes_to_several_orgs_all_persist(tmp_path):
    emu = Emulator(tmp_path, orgs=4, settings={"fsync": False})
    errors = []

    def work(org):
        try:
            me = admin_id(org)
            for i in range(20):
                with org.batch():
                    acc = org.create("Account", {"Name": f"P{i}"}, V, me)
                    org.create("Contact", {"LastName": f"C{i}", "AccountId": acc}, V, me)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(o,)) for o in emu.orgs.values()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    again = Emulator(tmp_path, orgs=4, settings={"fsync": False})
    for org in again.orgs.values():
        assert org.query("SELECT COUNT() FROM Contact WHERE Account.Name LIKE 'P%'", V)[0] == 20

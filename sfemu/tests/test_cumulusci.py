"""CumulusCI, a real client nobody here wrote, run unchanged against sfemu.

`make venv-cci` installs CumulusCI from PyPI into .venv-cci (pinned by requirements/cumulusci-constraints.txt). The
tests run its `cci` command the way CumulusCI documents for CI pipelines (docs/headless.md "JWT Flow
Authorization"): CUMULUSCI_ORG_<name> holds username and instance_url, SFDX_CLIENT_ID the consumer key and
SFDX_HUB_KEY the private key. No password, client secret or token is given to it, so every command must log in
with CumulusCI's own jwt_session, whose assertion carries exp = the current second.

What a `cci task run` sends (sfemu access log): POST /services/oauth2/token (JWT bearer); GET
/services/oauth2/userinfo; GET /services/data (the last entry is the "latest" version); GET
/services/data/v<latest>/sobjects/Organization/<org id> (OrganizationType, IsSandbox, InstanceName,
NamespacePrefix); then the task's own calls at the project's api_version through simple-salesforce: sobjects
create (create_permission_set), query and composite/sobjects (assign_*).

Every result is checked by a raw query with the test's own session (password flow), never through CumulusCI.
"""

import json
import os
import pathlib
import secrets
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CCI = ROOT / ".venv-cci" / "bin" / "cci"
PROJECT_API = "62.0"  # the project's package api_version: the tasks' own requests use it
ORG = "emu"


@pytest.fixture(scope="module")
def cci_dirs(tmp_path_factory):
    """(HOME, project directory, keychain key) for cci: a git repository with a minimal cumulusci.yml."""
    if not CCI.exists():
        pytest.fail("CumulusCI is not installed at %s: run `make venv-cci`" % CCI, pytrace=False)
    home = tmp_path_factory.mktemp("cci-home")
    project = tmp_path_factory.mktemp("cci-project")
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    (project / "cumulusci.yml").write_text(
        "project:\n    name: SfemuProbe\n    package:\n        api_version: '%s'\n" % PROJECT_API)
    # cci asks PyPI for a newer release unless it did within the hour (cumulusci/cli/utils.py
    # check_latest_version); a fresh timestamp keeps the tests off the network.
    (home / ".cumulusci").mkdir()
    (home / ".cumulusci" / "cumulus_timestamp").write_text(str(time.time()))
    # The key of CumulusCI's encrypted keychain files (it saves the org config between commands); without it cci
    # tries the desktop keyring.
    return home, project, secrets.token_hex(8)


def run_cci(emu, cci_dirs, *args):
    home, project, keychain_key = cci_dirs
    c = emu.conn("org1")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LC_ALL": "C.UTF-8",
        # requests (CumulusCI's and simple-salesforce's) reads the CA bundle from here for every request
        "REQUESTS_CA_BUNDLE": emu.ca,
        "CUMULUSCI_KEY": keychain_key,
        "CUMULUSCI_ORG_" + ORG: json.dumps({"username": c["username"], "instance_url": c["instance_url"]}),
        "SFDX_CLIENT_ID": c["client_id"],
        "SFDX_HUB_KEY": pathlib.Path(c["private_key_file"]).read_text(),
    }
    return subprocess.run([str(CCI), *args], cwd=project, env=env, capture_output=True, text=True, timeout=180)


def task(emu, cci_dirs, name, **options):
    args = ["task", "run", name, "--org", ORG]
    for key, value in options.items():
        args += ["-o", key, value]
    return run_cci(emu, cci_dirs, *args)


def output(result):
    return "exit %s\n%s\n%s" % (result.returncode, result.stdout[-3000:], result.stderr[-3000:])


def printed(result):
    """What cci printed (its log lines go to stdout, its errors to stderr), rich's line wrapping undone."""
    return " ".join((result.stdout + " " + result.stderr).split())


def one(emu, soql):
    records = emu.query(soql)["records"]
    assert len(records) == 1, records
    return records[0]


def user_id(emu):
    """The Id of org1's admin, the user CumulusCI logs in as."""
    return one(emu, "SELECT Id FROM User WHERE Username = '%s'" % emu.conn()["username"])["Id"]


def granted_permissions(emu, permission_set_id):
    record = emu.rest("GET", "sobjects/PermissionSet/%s" % permission_set_id).json()
    return {k for k, v in record.items() if k.startswith("Permissions") and v is True}


def make_permission_set(emu, name):
    r = emu.rest("POST", "sobjects/PermissionSet/", json={"Name": name, "Label": name.replace("_", " ")})
    assert r.status_code == 201, r.text
    return r.json()["id"]


# login -----------------------------------------------------------------------------------------------------------
def test_cci_logs_in_with_its_jwt_flow(clean, cci_dirs):
    result = run_cci(clean, cci_dirs, "org", "info", ORG, "--json")
    assert result.returncode == 0, output(result)
    info = json.loads(result.stdout)
    conn = clean.conn()
    assert info["username"] == conn["username"]
    assert info["id"] == "%s/id/%s/%s" % (clean.url, conn["org_id"], user_id(clean))
    organization = one(clean, "SELECT OrganizationType, IsSandbox, InstanceName FROM Organization")
    assert (info["org_type"], info["is_sandbox"], info["instance_name"]) == (
        organization["OrganizationType"], organization["IsSandbox"], organization["InstanceName"])
    assert info["userinfo"]["preferred_username"] == conn["username"]
    # The token CumulusCI obtained is a live session of the admin (it had no password or secret to get one otherwise).
    me = clean.request("GET", "/services/oauth2/userinfo", token=info["access_token"])
    assert me.status_code == 200 and me.json()["user_id"] == user_id(clean)


# create_permission_set -------------------------------------------------------------------------------------------
def test_create_permission_set_creates_and_assigns_it(clean, cci_dirs):
    # View Setup and Configuration depends on View Roles (sfemu/docs/rules.md), so a real org needs both named.
    result = task(clean, cci_dirs, "create_permission_set", api_name="CCI_Probe", label="CCI Probe",
                  user_permissions="PermissionsApiEnabled,PermissionsViewSetup,PermissionsViewRoles")
    assert result.returncode == 0, output(result)
    ps = one(clean, "SELECT Id, Label FROM PermissionSet WHERE Name = 'CCI_Probe'")
    assert ps["Label"] == "CCI Probe"
    assert granted_permissions(clean, ps["Id"]) == {"PermissionsApiEnabled", "PermissionsViewSetup", "PermissionsViewRoles"}
    assignment = one(clean, "SELECT AssigneeId FROM PermissionSetAssignment WHERE PermissionSetId = '%s'" % ps["Id"])
    assert assignment["AssigneeId"] == user_id(clean)


def test_create_permission_set_without_a_dependency_is_refused_as_a_real_org_refuses_it(clean, cci_dirs):
    result = task(clean, cci_dirs, "create_permission_set", api_name="CCI_No_Roles",
                  user_permissions="PermissionsApiEnabled,PermissionsViewSetup")
    assert result.returncode != 0 and "Permission ViewSetup depends on permission(s): ViewRoles" in printed(result)
    assert clean.query("SELECT Id FROM PermissionSet WHERE Name = 'CCI_No_Roles'")["totalSize"] == 0


def test_create_permission_set_twice_fails_like_a_real_org(clean, cci_dirs):
    options = {"api_name": "CCI_Twice", "user_permissions": "PermissionsApiEnabled"}
    assert task(clean, cci_dirs, "create_permission_set", **options).returncode == 0
    again = task(clean, cci_dirs, "create_permission_set", **options)
    assert again.returncode != 0
    # The body a real org answered to CumulusCI's second run (SFDO-Tooling/CumulusCI#3045), as CumulusCI prints it.
    real_body = ("[{'message': 'The label you entered is in use. Enter a unique label.', 'errorCode': "
                 "'DUPLICATE_MASTER_LABEL', 'fields': ['Label']}, {'message': 'The API name you entered is already "
                 "in use. Enter a unique API name.', 'errorCode': 'DUPLICATE_DEVELOPER_NAME', 'fields': ['Name']}]")
    assert real_body in printed(again), output(again)
    assert clean.query("SELECT Id FROM PermissionSet WHERE Name = 'CCI_Twice'")["totalSize"] == 1


# assign_permission_sets ------------------------------------------------------------------------------------------
def test_assign_permission_sets_to_users_by_alias_once(clean, cci_dirs):
    ids = [make_permission_set(clean, "CCI_Assign_A"), make_permission_set(clean, "CCI_Assign_B")]
    others = clean.query("SELECT Id, Alias FROM User WHERE Username LIKE 'standard.user@%' "
                         "OR Username LIKE 'readonly.user@%'")["records"]
    users = {u["Alias"]: u["Id"] for u in others}
    assert len(users) == 2
    options = {"api_names": "CCI_Assign_A,CCI_Assign_B", "user_alias": ",".join(sorted(users))}

    def assignments():
        rows = clean.query("SELECT AssigneeId, PermissionSetId FROM PermissionSetAssignment WHERE PermissionSetId "
                           "IN ('%s')" % "','".join(ids))["records"]
        return sorted((r["AssigneeId"], r["PermissionSetId"]) for r in rows)

    expected = sorted((u, p) for u in users.values() for p in ids)
    result = task(clean, cci_dirs, "assign_permission_sets", **options)
    assert result.returncode == 0, output(result)
    assert assignments() == expected
    # A second run finds every assignment in place and inserts nothing.
    again = task(clean, cci_dirs, "assign_permission_sets", **options)
    assert again.returncode == 0, output(again)
    assert printed(again).count("is already assigned to") == 4, output(again)
    assert assignments() == expected


def test_assign_permission_sets_defaults_to_the_running_user(clean, cci_dirs):
    ps = make_permission_set(clean, "CCI_Assign_Me")
    result = task(clean, cci_dirs, "assign_permission_sets", api_names="CCI_Assign_Me")
    assert result.returncode == 0, output(result)
    assignment = one(clean, "SELECT AssigneeId FROM PermissionSetAssignment WHERE PermissionSetId = '%s'" % ps)
    assert assignment["AssigneeId"] == user_id(clean)


# assign_permission_set_licenses ----------------------------------------------------------------------------------
def test_assign_permission_set_license_to_an_integration_user(clean, cci_dirs):
    profile = one(clean, "SELECT Id FROM Profile WHERE Name = 'Minimum Access - API Only Integrations'")
    r = clean.rest("POST", "sobjects/User/", json={
        "Username": "cci.integration@org1.sfemu.example", "LastName": "Integration", "Alias": "cciint",
        "Email": "cci.integration@example.com", "ProfileId": profile["Id"], "TimeZoneSidKey": "America/Los_Angeles",
        "LocaleSidKey": "en_US", "EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US"})
    assert r.status_code == 201, r.text
    integration_user = r.json()["id"]
    psl = one(clean, "SELECT Id FROM PermissionSetLicense WHERE DeveloperName = 'SalesforceAPIIntegrationPsl'")

    result = task(clean, cci_dirs, "assign_permission_set_licenses", api_names="SalesforceAPIIntegrationPsl",
                  user_alias="cciint")
    assert result.returncode == 0, output(result)
    rows = clean.query("SELECT AssigneeId FROM PermissionSetLicenseAssign WHERE PermissionSetLicenseId = '%s'"
                       % psl["Id"])["records"]
    assert [row["AssigneeId"] for row in rows] == [integration_user]


def test_assign_permission_set_license_the_user_licence_refuses(clean, cci_dirs):
    # The Salesforce API Integration PSL goes only to Salesforce Integration users (Help platform.integration_user.htm);
    # the admin has a Salesforce licence, so the org refuses the row and the task reports the failure.
    result = task(clean, cci_dirs, "assign_permission_set_licenses", api_names="SalesforceAPIIntegrationPsl")
    assert result.returncode != 0
    assert "Not all PermissionSetLicenseAssignments were saved." in printed(result), output(result)
    assert clean.query("SELECT Id FROM PermissionSetLicenseAssign WHERE AssigneeId = '%s'"
                       % user_id(clean))["totalSize"] == 0

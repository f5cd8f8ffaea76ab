"""The catalogue and its describes: shape against recorded describes, permissions, Salesforce's FLS rules."""

from __future__ import annotations

import json
import pathlib

import pytest
import yaml

from sfemu import schema, shared_rules
from sfemu.schema import Catalog

FIXTURES = pathlib.Path("/work/shared/fixtures/recorded-cumulusci")


def _recorded(name):
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"recorded fixture {name} not available")
    data = yaml.safe_load(path.read_text())
    return json.loads(data["response"]["body"]["string"])


@pytest.fixture(scope="module")
def cat():
    return Catalog()


def test_full_describe_has_the_keys_and_types_of_a_real_describe(cat):
    real = _recorded("GET_sobjects_Account_describe.yaml")
    ours = cat.describe("Account", "67.0")
    assert set(ours) == set(real)
    for key, val in real.items():
        if val is not None and ours[key] is not None:
            assert type(ours[key]) is type(val), key
    real_field = real["fields"][0]
    for f in ours["fields"]:
        assert set(f) == set(real_field), f["name"]
    assert set(ours["childRelationships"][0]) == set(real["childRelationships"][0])


def test_account_fields_match_recorded_properties(cat):
    real = {f["name"]: f for f in _recorded("GET_sobjects_Account_describe.yaml")["fields"]}
    ours = {f["name"]: f for f in cat.describe("Account", "67.0")["fields"]}
    for name in ("Id", "Name", "Type", "ParentId", "OwnerId", "CreatedDate"):
        for key in ("type", "createable", "updateable", "nillable", "permissionable", "defaultedOnCreate",
                    "referenceTo", "relationshipName", "soapType", "idLookup", "nameField"):
            assert ours[name][key] == real[name][key], (name, key)
    assert [p["value"] for p in ours["Type"]["picklistValues"]] == [p["value"] for p in real["Type"]["picklistValues"]]
    # Every Account field the emulator has: same type, permissionable flag and compound as the real describe
    # (address parts and BillingAddress permissionable, compoundFieldName BillingAddress).
    shared = set(ours) & set(real)
    assert {"BillingCity", "BillingCountry", "BillingAddress", "Phone", "Description"} <= shared
    for name in shared:
        for key in ("type", "permissionable", "compoundFieldName"):
            assert ours[name][key] == real[name][key], (name, key)


def test_global_describe_entries_have_the_recorded_keys(cat):
    real = _recorded("GET_sobjects_Global_describe.yaml")
    ours = cat.describe_global("67.0")
    assert set(ours) == set(real)
    assert ours["maxBatchSize"] == 200 and ours["encoding"] == "UTF-8"
    assert set(ours["sobjects"][0]) == set(real["sobjects"][0])
    real_user = next(s for s in real["sobjects"] if s["name"] == "User")
    our_user = next(s for s in ours["sobjects"] if s["name"] == "User")
    for key in ("createable", "deletable", "updateable", "keyPrefix", "queryable"):
        assert our_user[key] == real_user[key], key
    assert set(our_user["urls"]) == set(real_user["urls"])


def test_catalogue_has_every_required_object(cat):
    names = set(cat.sobject_names("67.0"))
    required = {
        "Organization", "User", "UserLogin", "Profile", "UserLicense", "PermissionSetLicense",
        "PermissionSetLicenseAssign", "PermissionSet", "PermissionSetGroup", "PermissionSetAssignment",
        "ObjectPermissions", "FieldPermissions", "SetupEntityAccess", "ConnectedApplication", "OauthToken",
        "Account", "Contact", "Opportunity", "OpportunityLineItem", "Order", "Case", "CaseComment", "Task", "Event",
        "Note", "ContentNote", "ContentDocumentLink", "FeedItem", "Health_Score__c",
    }
    assert required <= names
    prefixes = [o.key_prefix for o in cat.objects]
    assert len(prefixes) == len(set(prefixes))
    # key prefixes from real ids (shared ref 8)
    assert cat.object_def("PermissionSet").key_prefix == "0PS"
    assert cat.object_def("ObjectPermissions").key_prefix == "110"
    assert cat.object_def("PermissionSetAssignment").key_prefix == "0Pa"
    assert cat.object_def("ConnectedApplication").key_prefix == "0H4"


def test_permission_set_has_the_real_permission_list_with_setup_labels(cat):
    fields = {f["name"]: f for f in cat.describe("PermissionSet", "67.0")["fields"]}
    perms = {n: f for n, f in fields.items() if n.startswith("Permissions")}
    # A real v63 describe has 418 Permissions* fields (fidelity-evidence.md row 12); from 67.0 on the emulator adds
    # Approve Uninstalled Connected Apps, nothing else.
    assert len(perms) == 419
    v63 = {f["name"] for f in cat.describe("PermissionSet", "63.0")["fields"] if f["name"].startswith("Permissions")}
    assert len(v63) == 418 and set(perms) - v63 == {"PermissionsCanApproveUninstalledApps"}
    # In the real v63 describe but not on the Summer '26 MutingPermissionSet page (the old source): present.
    assert {"PermissionsDebugApex", "PermissionsBypassEmailApproval", "PermissionsSlackAppAdministrator"} <= set(perms)
    # On that page but not in the real describe: absent, like in that org.
    assert not {"PermissionsAECommunityAccess", "PermissionsAIWorkbenchUser", "PermissionsManageTerritories"} & set(perms)
    assert cat.object_def("Profile").field("PermissionsDebugApex") is not None
    labels = {
        "PermissionsApiEnabled": "API Enabled",
        "PermissionsViewSetup": "View Setup and Configuration",
        "PermissionsViewRoles": "View Roles and Role Hierarchy",
        "PermissionsCanApproveUninstalledApps": "Approve Uninstalled Connected Apps",
        "PermissionsViewAllData": "View All Data",
        "PermissionsViewAllUsers": "View All Users",
        "PermissionsModifyAllData": "Modify All Data",
        "PermissionsManageUsers": "Manage Users",
        "PermissionsApiUserOnly": "API Only User",
        "PermissionsUseAnyApiClient": "Use Any API Client",
        "PermissionsForceTwoFactor": "Multi-Factor Authentication for User Interface Logins",
        "PermissionsManageProfilesPermissionsets": "Manage Profiles and Permission Sets",
        "PermissionsAssignPermissionSets": "Assign Permission Sets",
        "PermissionsManageInternalUsers": "Manage Internal Users",
        "PermissionsCustomizeApplication": "Customize Application",
        "PermissionsAuthorApex": "Author Apex",
    }
    for name, label in labels.items():
        assert perms[name]["label"] == label
        f = perms[name]
        assert (f["type"], f["nillable"], f["createable"], f["updateable"]) == ("boolean", False, True, True)


def test_approve_uninstalled_apps_is_version_gated():
    cat = Catalog()
    assert "CanApproveUninstalledApps" in cat.permission_names("67.0")
    assert "CanApproveUninstalledApps" not in cat.permission_names("66.0")
    names66 = {f["name"] for f in cat.describe("PermissionSet", "66.0")["fields"]}
    assert "PermissionsCanApproveUninstalledApps" not in names66
    assert cat.object_info("PermissionSet", "66.0").field("PermissionsCanApproveUninstalledApps") is None
    early = Catalog({"approve_uninstalled_apps_since": "64.0"})
    assert "CanApproveUninstalledApps" in early.permission_names("65.0")
    assert "CanApproveUninstalledApps" not in early.permission_names("63.0")


def test_permission_dependency_table_names_real_permissions(cat):
    known = set(cat.permission_names("67.0"))
    for perm, deps in schema.SYSTEM_PERMISSION_DEPENDENCIES.items():
        assert perm in known
        assert set(deps) <= known


def test_rules_are_the_collections_table():
    """One table: sfemu enforces what plugins/module_utils/permissions.py says, read from that file."""
    import ast
    tree = ast.parse(shared_rules.COLLECTION_RULES_FILE.read_text())
    literals = {n.targets[0].id: ast.literal_eval(n.value) for n in tree.body
                if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)
                and n.targets[0].id in ("SYSTEM_DEPENDENCIES", "OBJECT_REQUIRES", "OBJECT_FLAGS", "INTRODUCED_IN")}
    assert schema.SYSTEM_PERMISSION_DEPENDENCIES == literals["SYSTEM_DEPENDENCIES"]
    fields = dict(literals["OBJECT_FLAGS"])
    assert schema.OBJECT_PERMISSION_DEPENDENCIES == {
        fields[k]: tuple(fields[d] for d in v) for k, v in literals["OBJECT_REQUIRES"].items()}
    assert schema.DEFAULT_SETTINGS["approve_uninstalled_apps_since"] == literals["INTRODUCED_IN"][
        "CanApproveUninstalledApps"][1]
    # Evidence-driven entries (fidelity-evidence.md rows 9 and 11).
    assert schema.SYSTEM_PERMISSION_DEPENDENCIES["ViewSetup"] == ("ViewRoles",)
    assert "PermissionsViewAllFields" not in schema.OBJECT_PERMISSION_DEPENDENCIES
    assert {flag for flag, _verb in schema.OBJECT_PERMISSION_FLAGS} >= set(fields.values())


def test_shared_rules_missing_file_says_where(tmp_path):
    with pytest.raises(RuntimeError) as exc:
        shared_rules.load(tmp_path / "permissions.py")
    assert "permissions.py" in str(exc.value) and "pip install -e sfemu" in str(exc.value)


def test_permissionable_follows_salesforce_rules(cat):
    hs = {f["name"]: f for f in cat.describe("Health_Score__c", "67.0")["fields"]}
    assert hs["Id"]["permissionable"] is False
    assert hs["CreatedDate"]["permissionable"] is False
    assert hs["Account__c"]["permissionable"] is False  # master-detail
    assert hs["Account__c"]["relationshipOrder"] == 0
    assert hs["Score__c"]["permissionable"] is False  # universally required
    assert hs["Score__c"]["nillable"] is False
    assert hs["Trend__c"]["calculated"] is True and hs["Trend__c"]["permissionable"] is True
    assert hs["Trend__c"]["createable"] is False and hs["Trend__c"]["updateable"] is False
    assert hs["Reference__c"]["autoNumber"] is True and hs["Reference__c"]["permissionable"] is True
    assert hs["Status__c"]["permissionable"] is True and hs["Status__c"]["custom"] is True
    assert "OwnerId" not in hs  # a master-detail child has no owner
    acc = {f["name"]: f for f in cat.describe("Account", "67.0")["fields"]}
    assert acc["OwnerId"]["permissionable"] is False
    assert acc["Name"]["permissionable"] is False
    assert acc["Industry"]["permissionable"] is True
    # setup objects have no field-level security, except custom fields on User (fidelity-evidence.md row 13)
    assert not any(f["permissionable"] for f in cat.describe("PermissionSet", "67.0")["fields"])
    user = [f["name"] for f in cat.describe("User", "67.0")["fields"] if f["permissionable"]]
    assert user == ["Cost_Center__c"]


def test_object_and_field_permission_picklists(cat):
    op = {f["name"]: f for f in cat.describe("ObjectPermissions", "67.0")["fields"]}
    values = [p["value"] for p in op["SobjectType"]["picklistValues"]]
    assert values == list(schema.OBJECT_PERMISSION_OBJECTS)
    assert op["SobjectType"]["restrictedPicklist"] is True
    assert "User" not in values and "Profile" not in values
    fp = {f["name"]: f for f in cat.describe("FieldPermissions", "67.0")["fields"]}
    fields = [p["value"] for p in fp["Field"]["picklistValues"]]
    assert "Account.Industry" in fields and "Health_Score__c.Trend__c" in fields
    assert "Account.Name" not in fields and "Account.OwnerId" not in fields
    assert "Health_Score__c.Account__c" not in fields and "Health_Score__c.Score__c" not in fields
    sobject_types = [p["value"] for p in fp["SobjectType"]["picklistValues"]]
    # Field permissions without object permissions: Task, Event, OpportunityLineItem, OrderItem, User.
    assert set(sobject_types) - set(values) == {"Event", "OpportunityLineItem", "OrderItem", "Task", "User"}
    # Address parts are stored under the compound: only the compound is a value.
    assert "Account.BillingAddress" in fields and "Account.BillingCity" not in fields


def test_child_relationship_names(cat):
    ps = {c["relationshipName"]: c for c in cat.describe("PermissionSet", "67.0")["childRelationships"]}
    assert {"Assignments", "ObjectPerms", "FieldPerms", "SetupEntityAccessItems"} <= set(ps)
    assert ps["ObjectPerms"]["cascadeDelete"] is True and ps["Assignments"]["cascadeDelete"] is False
    user = {c["relationshipName"] for c in cat.describe("User", "67.0")["childRelationships"]}
    assert {"PermissionSetAssignments", "PermissionSetLicenseAssignments"} <= user
    acc = {c["relationshipName"]: c for c in cat.describe("Account", "67.0")["childRelationships"]}
    assert acc["Cases"]["restrictedDelete"] is True and acc["Contacts"]["cascadeDelete"] is True
    assert "Health_Scores__r" in acc
    info = cat.object_info("user", "67.0")
    assert info.child_relationship("permissionsetassignments") == ("PermissionSetAssignment", "AssigneeId")
    assert info.field("username").name == "Username"


def test_object_versions(cat):
    assert "PermissionSetGroup" not in cat.sobject_names("44.0")
    assert "PermissionSetGroup" in cat.sobject_names("45.0")
    assert cat.describe("PermissionSetGroup", "44.0") is None
    psa = {f["name"] for f in cat.describe("PermissionSetAssignment", "51.0")["fields"]}
    assert "ExpirationDate" not in psa and "PermissionSetGroupId" in psa

"""Every Salesforce rule the emulator enforces (sfemu/docs/rules.md): status, errorCode, message, fields."""

from __future__ import annotations

import pytest

from sfemu.org import ApiError, Emulator

V = "67.0"


@pytest.fixture()
def emu(tmp_path):
    return Emulator(tmp_path, orgs=2, settings={"fsync": False})


@pytest.fixture()
def org(emu):
    return emu.orgs["org1"]


def err(fn, *args, **kw) -> ApiError:
    with pytest.raises(ApiError) as exc:
        fn(*args, **kw)
    return exc.value


def admin(org):
    return org.user_by_username(f"admin@{org.alias}.sfemu.example")["Id"]


def one(org, soql):
    total, recs = org.query(soql, V)
    assert total == 1, (soql, recs)
    return recs[0]


def profile_id(org, name):
    return one(org, f"SELECT Id FROM Profile WHERE Name = '{name}'")["Id"]


def new_user(org, username, profile="Standard User", **extra):
    fields = {
        "Username": username, "LastName": "Tester", "Email": "tester@example.com", "Alias": "tester",
        "TimeZoneSidKey": "Europe/Berlin", "LocaleSidKey": "de_DE", "EmailEncodingKey": "UTF-8",
        "LanguageLocaleKey": "en_US", "ProfileId": profile_id(org, profile),
    }
    fields.update(extra)
    return org.create("User", fields, V, admin(org))


def new_ps(org, name="Sync_Access", label=None, **perms):
    fields = {"Name": name, "Label": label or name.replace("_", " ")}
    fields.update({"Permissions" + k: v for k, v in perms.items()})
    return org.create("PermissionSet", fields, V, admin(org))


def grant(org, ps, obj, **flags):
    fields = {"ParentId": ps, "SobjectType": obj}
    fields.update({"Permissions" + k: v for k, v in flags.items()})
    return org.create("ObjectPermissions", fields, V, admin(org))


# ---------------------------------------------------------------------------------------------------------------------
# generic field rules
# ---------------------------------------------------------------------------------------------------------------------

def test_required_fields_missing_lists_every_field(org):
    e = err(org.create, "User", {"Username": "x@example.com"}, V, admin(org))
    assert (e.status, e.error_code) == (400, "REQUIRED_FIELD_MISSING")
    assert e.fields == ["LastName", "Email", "Alias", "TimeZoneSidKey", "LocaleSidKey", "EmailEncodingKey",
                        "LanguageLocaleKey", "ProfileId"]
    assert e.message == ("Required fields are missing: [LastName, Email, Alias, TimeZoneSidKey, LocaleSidKey, "
                         "EmailEncodingKey, LanguageLocaleKey, ProfileId]")


def test_required_field_cannot_be_cleared_on_update(org):
    acc = org.create("Account", {"Name": "Tmp"}, V, admin(org))
    e = err(org.update, "Account", acc, {"Name": None}, V, admin(org))
    assert (e.error_code, e.fields) == ("REQUIRED_FIELD_MISSING", ["Name"])


def test_read_only_fields_are_refused_on_create_and_update(org):
    e = err(org.create, "Account", {"Name": "A", "CreatedDate": "2020-01-01T00:00:00Z", "IsDeleted": True}, V,
            admin(org))
    assert (e.status, e.error_code, e.fields) == (400, "INVALID_FIELD_FOR_INSERT_UPDATE", ["CreatedDate", "IsDeleted"])
    assert e.message.startswith("Unable to create/update fields: CreatedDate, IsDeleted. Please check the security")
    ps = new_ps(org)
    lic = one(org, "SELECT Id FROM UserLicense WHERE Name = 'Salesforce'")["Id"]
    e = err(org.update, "PermissionSet", ps, {"LicenseId": lic}, V, admin(org))
    assert (e.error_code, e.fields) == ("INVALID_FIELD_FOR_INSERT_UPDATE", ["LicenseId"])


def test_unknown_field(org):
    e = err(org.create, "Account", {"Name": "A", "Colour__c": "red"}, V, admin(org))
    assert (e.status, e.error_code) == (400, "INVALID_FIELD")
    assert e.message == "No such column 'Colour__c' on sobject of type Account"


def test_field_names_are_case_insensitive(org):
    acc = org.create("Account", {"name": "lower", "INDUSTRY": "Banking"}, V, admin(org))
    rec = org.retrieve("Account", acc, ["Name", "Industry"], V)
    assert (rec["Name"], rec["Industry"]) == ("lower", "Banking")


def test_approve_uninstalled_apps_field_depends_on_api_version(org):
    fields = {"Name": "Approvers", "Label": "Approvers", "PermissionsCanApproveUninstalledApps": True}
    e = err(org.create, "PermissionSet", fields, "66.0", admin(org))
    assert (e.status, e.error_code) == (400, "INVALID_FIELD")
    assert e.message == "No such column 'PermissionsCanApproveUninstalledApps' on sobject of type PermissionSet"
    ps = org.create("PermissionSet", fields, "67.0", admin(org))
    assert org.retrieve("PermissionSet", ps, None, "67.0")["PermissionsCanApproveUninstalledApps"] is True
    assert "PermissionsCanApproveUninstalledApps" not in org.retrieve("PermissionSet", ps, None, "66.0")
    with pytest.raises(Exception) as exc:
        org.query("SELECT PermissionsCanApproveUninstalledApps FROM PermissionSet", "66.0")
    assert getattr(exc.value, "error_code", None) == "INVALID_FIELD"


def test_approve_uninstalled_apps_since_is_configurable(tmp_path):
    emu = Emulator(tmp_path, orgs=1, settings={"fsync": False, "approve_uninstalled_apps_since": "64.0"})
    org = emu.orgs["org1"]
    ps = org.create("PermissionSet", {"Name": "A1", "Label": "A1", "PermissionsCanApproveUninstalledApps": True},
                    "65.0", admin(org))
    assert org.retrieve("PermissionSet", ps, ["PermissionsCanApproveUninstalledApps"], "65.0")[
        "PermissionsCanApproveUninstalledApps"] is True


def test_restricted_picklist_string_length_email(org):
    e = err(new_user, org, "tz@example.com", TimeZoneSidKey="Mars/Olympus")
    assert (e.error_code, e.fields) == ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["TimeZoneSidKey"])
    assert e.message == "Time Zone: bad value for restricted picklist field: Mars/Olympus"
    e = err(new_user, org, "alias@example.com", Alias="muchtoolong")
    assert (e.error_code, e.fields) == ("STRING_TOO_LONG", ["Alias"])
    assert e.message == "Alias: data value too large: muchtoolong (max length=8)"
    e = err(new_user, org, "mail@example.com", Email="not-an-email")
    assert (e.error_code, e.fields, e.message) == ("INVALID_EMAIL_ADDRESS", ["Email"],
                                                   "Email: invalid email address: not-an-email")


def test_wrong_json_types(org):
    e = err(org.create, "PermissionSet", {"Name": "T1", "Label": "T1", "PermissionsApiEnabled": "yes"}, V, admin(org))
    assert e.error_code == "JSON_PARSER_ERROR"
    e = err(org.create, "Opportunity", {"Name": "O", "StageName": "Prospecting", "CloseDate": "31/12/2026"}, V,
            admin(org))
    assert e.error_code == "JSON_PARSER_ERROR"


def test_reference_fields(org):
    e = err(org.create, "Contact", {"LastName": "X", "AccountId": "nonsense"}, V, admin(org))
    assert (e.error_code, e.fields, e.message) == ("MALFORMED_ID", ["AccountId"],
                                                   "Account ID: id value of incorrect type: nonsense")
    user_id = admin(org)
    e = err(org.create, "Contact", {"LastName": "X", "AccountId": user_id}, V, admin(org))
    assert (e.error_code, e.fields) == ("FIELD_INTEGRITY_EXCEPTION", ["AccountId"])
    missing = "001" + org.org_id[3:5] + "ZZZZZZZZZZ"
    e = err(org.create, "Contact", {"LastName": "X", "AccountId": missing}, V, admin(org))
    assert (e.error_code, e.fields, e.message) == ("INVALID_CROSS_REFERENCE_KEY", ["AccountId"],
                                                   "invalid cross reference id")
    acc = one(org, "SELECT Id FROM Account LIMIT 1")["Id"]
    c = org.create("Contact", {"LastName": "X", "AccountId": acc[:15]}, V, admin(org))  # 15-char ids accepted
    assert org.retrieve("Contact", c, ["AccountId"], V)["AccountId"] == acc


# ---------------------------------------------------------------------------------------------------------------------
# ids and unsupported calls
# ---------------------------------------------------------------------------------------------------------------------

def test_malformed_id_and_not_found(org):
    e = err(org.retrieve, "Account", "001900K0001pPuOAAU", None, V)  # the REST guide's example (bad checksum)
    assert (e.status, e.error_code, e.fields) == (400, "MALFORMED_ID", ["Id"])
    assert e.message == "Account ID: id value of incorrect type: 001900K0001pPuOAAU"
    user = admin(org)
    e = err(org.retrieve, "Account", user, None, V)  # valid id of another object
    assert (e.status, e.error_code) == (400, "MALFORMED_ID")
    gone = "001" + org.org_id[3:5] + "ZZZZZZZZZZ"
    e = err(org.retrieve, "Account", gone, None, V)
    assert (e.status, e.error_code, e.message) == (404, "NOT_FOUND", "The requested resource does not exist")
    assert e.to_list() == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
    e = err(org.describe, "Nope__c", V)
    assert (e.status, e.error_code) == (404, "NOT_FOUND")


def test_deleted_record_is_entity_is_deleted(org):
    acc = org.create("Account", {"Name": "Bye"}, V, admin(org))
    org.delete("Account", acc, V, admin(org))
    e = err(org.retrieve, "Account", acc, None, V)
    assert (e.status, e.error_code, e.message) == (404, "ENTITY_IS_DELETED", "entity is deleted")
    assert org.query(f"SELECT Id FROM Account WHERE Id = '{acc}'", V)[0] == 0
    total, recs = org.query(f"SELECT Id, IsDeleted FROM Account WHERE Id = '{acc}'", V, include_deleted=True)
    assert total == 1 and recs[0]["IsDeleted"] is True


def test_users_cannot_be_deleted(org):
    e = err(org.delete, "User", admin(org), V, admin(org))
    assert (e.status, e.error_code) == (405, "METHOD_NOT_ALLOWED")
    assert e.message == "HTTP Method 'DELETE' not allowed. Allowed are HEAD,GET,PATCH"


def test_connected_application_is_read_only(org):
    app = one(org, "SELECT Id FROM ConnectedApplication WHERE Name = 'sfops Automation'")["Id"]
    e = err(org.create, "ConnectedApplication", {"Name": "Mine"}, V, admin(org))
    assert (e.status, e.error_code) == (405, "METHOD_NOT_ALLOWED")
    e = err(org.update, "ConnectedApplication", app, {"OptionsAllowAdminApprovedUsersOnly": False}, V, admin(org))
    assert (e.status, e.message) == (405, "HTTP Method 'PATCH' not allowed. Allowed are HEAD,GET")
    e = err(org.delete, "ConnectedApplication", app, V, admin(org))
    assert e.status == 405


def test_user_login_only_freezes(org):
    user = new_user(org, "frozen@example.com")
    login = one(org, f"SELECT Id, IsFrozen FROM UserLogin WHERE UserId = '{user}'")
    assert login["IsFrozen"] is False
    org.update("UserLogin", login["Id"], {"IsFrozen": True}, V, admin(org))
    assert one(org, f"SELECT IsFrozen FROM UserLogin WHERE UserId = '{user}'")["IsFrozen"] is True
    e = err(org.update, "UserLogin", login["Id"], {"UserId": admin(org)}, V, admin(org))
    assert e.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"
    e = err(org.update, "UserLogin", login["Id"], {"IsPasswordLocked": True}, V, admin(org))
    assert (e.error_code, e.fields) == ("FIELD_INTEGRITY_EXCEPTION", ["IsPasswordLocked"])
    org.update("UserLogin", login["Id"], {"IsPasswordLocked": False}, V, admin(org))
    assert err(org.create, "UserLogin", {"UserId": user}, V, admin(org)).status == 405
    assert err(org.delete, "UserLogin", login["Id"], V, admin(org)).status == 405


def test_setup_entity_access_cannot_be_updated(org):
    sea = one(org, "SELECT Id FROM SetupEntityAccess LIMIT 1")["Id"]
    e = err(org.update, "SetupEntityAccess", sea, {}, V, admin(org))
    assert (e.status, e.message) == (405, "HTTP Method 'PATCH' not allowed. Allowed are HEAD,GET,DELETE")


# ---------------------------------------------------------------------------------------------------------------------
# PermissionSet
# ---------------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["1Sync", "Sync_", "Sync__Access", "Sync Access", "Sync-Access", ""])
def test_permission_set_api_name_rules(org, bad):
    e = err(org.create, "PermissionSet", {"Name": bad, "Label": "Whatever"}, V, admin(org))
    assert e.error_code in ("FIELD_INTEGRITY_EXCEPTION", "REQUIRED_FIELD_MISSING")
    assert e.fields == ["Name"]


def test_duplicate_permission_set_reports_label_and_name(org):
    new_ps(org, "Sync_Access", "Sync Access")
    e = err(new_ps, org, "sync_access", "Sync Access")
    assert (e.status, e.error_code, e.fields) == (400, "DUPLICATE_MASTER_LABEL", ["Label"])
    assert e.to_list() == [
        {"message": "The label you entered is in use. Enter a unique label.", "errorCode": "DUPLICATE_MASTER_LABEL",
         "fields": ["Label"]},
        {"message": "The API name you entered is already in use. Enter a unique API name.",
         "errorCode": "DUPLICATE_DEVELOPER_NAME", "fields": ["Name"]},
    ]
    e = err(new_ps, org, "Sync_Access", "Another Label")
    assert (e.error_code, len(e.errors)) == ("DUPLICATE_DEVELOPER_NAME", 1)
    other = new_ps(org, "Other_Set", "Other Set")
    e = err(org.update, "PermissionSet", other, {"Name": "Sync_Access"}, V, admin(org))
    assert e.error_code == "DUPLICATE_DEVELOPER_NAME"


def test_profile_owned_permission_sets_are_read_only(org):
    ps = one(org, "SELECT Id FROM PermissionSet WHERE Profile.Name = 'Standard User'")["Id"]
    e = err(org.update, "PermissionSet", ps, {"PermissionsViewSetup": True}, V, admin(org))
    assert (e.status, e.error_code) == (400, "INSUFFICIENT_ACCESS_OR_READONLY")
    assert err(org.delete, "PermissionSet", ps, V, admin(org)).error_code == "INSUFFICIENT_ACCESS_OR_READONLY"
    e = err(grant, org, ps, "Account", Read=True)
    assert e.error_code == "INSUFFICIENT_ACCESS_OR_READONLY"
    e = err(org.create, "PermissionSetAssignment", {"AssigneeId": admin(org), "PermissionSetId": ps}, V, admin(org))
    assert e.error_code == "FIELD_INTEGRITY_EXCEPTION"
    psa = one(org, f"SELECT Id FROM PermissionSetAssignment WHERE PermissionSetId = '{ps}' LIMIT 1")["Id"]
    e = err(org.delete, "PermissionSetAssignment", psa, V, admin(org))
    assert e.error_code == "FIELD_INTEGRITY_EXCEPTION"


def test_assigned_permission_set_cannot_be_deleted(org):
    ps = new_ps(org)
    grant(org, ps, "Account", Read=True)
    user = new_user(org, "assigned@example.com")
    psa = org.create("PermissionSetAssignment", {"AssigneeId": user, "PermissionSetId": ps}, V, admin(org))
    e = err(org.delete, "PermissionSet", ps, V, admin(org))
    assert (e.status, e.error_code) == (400, "DELETE_FAILED")
    org.delete("PermissionSetAssignment", psa, V, admin(org))
    org.delete("PermissionSet", ps, V, admin(org))
    # child permission rows go with the permission set (cascadeDelete)
    assert org.query(f"SELECT COUNT() FROM ObjectPermissions WHERE ParentId = '{ps}'", V)[0] == 0


def test_system_permission_dependencies(org):
    e = err(new_ps, org, ManageUsers=True)
    assert (e.status, e.error_code) == (400, "FIELD_INTEGRITY_EXCEPTION")
    assert e.message == "Permission ManageUsers depends on permission(s): ViewRoles"
    e = err(new_ps, org, ModifyAllData=True, ManageUsers=True, ViewRoles=True)
    assert e.message == "Permission ModifyAllData depends on permission(s): ViewAllData"
    e = err(new_ps, org, ViewAllData=True, ViewPublicReports=True)
    assert e.message == "Permission ViewAllData depends on permission(s): ViewEventLogFiles, ViewPublicDashboards"
    e = err(new_ps, org, ManageUsers=True, ApiUserOnly=True)
    assert e.message == ("Permission ManageUsers depends on permission(s): ViewRoles; "
                         "Permission ApiUserOnly depends on permission(s): ApiEnabled")
    ps = new_ps(org, ManageUsers=True, ViewRoles=True)
    e = err(org.update, "PermissionSet", ps, {"PermissionsViewRoles": False}, V, admin(org))
    assert e.message == "Permission ManageUsers depends on permission(s): ViewRoles"
    org.update("PermissionSet", ps, {"PermissionsViewRoles": False, "PermissionsManageUsers": False}, V, admin(org))


def test_view_setup_needs_view_roles_and_customize_application_needs_custom_permissions(org):
    # fidelity-evidence.md row 9 (vendor guides + every real profile with ViewSetup also has ViewRoles); Pendula's
    # guide for CustomizeApplication -> ManageCustomPermissions.
    e = err(new_ps, org, ViewSetup=True)
    assert (e.error_code, e.message) == ("FIELD_INTEGRITY_EXCEPTION",
                                         "Permission ViewSetup depends on permission(s): ViewRoles")
    e = err(new_ps, org, "Customizer", CustomizeApplication=True)
    assert e.message == "Permission CustomizeApplication depends on permission(s): ManageCustomPermissions"
    ps = new_ps(org, ViewSetup=True, ViewRoles=True)
    e = err(org.update, "PermissionSet", ps, {"PermissionsViewRoles": False}, V, admin(org))
    assert e.message == "Permission ViewSetup depends on permission(s): ViewRoles"
    # Translation Workbench is off in the emulated orgs: CustomizeApplication needs no ManageTranslation.
    new_ps(org, "Customizer_OK", CustomizeApplication=True, ManageCustomPermissions=True)


# ---------------------------------------------------------------------------------------------------------------------
# ObjectPermissions / FieldPermissions
# ---------------------------------------------------------------------------------------------------------------------

def test_object_permission_dependencies(org):
    ps = new_ps(org)
    e = err(grant, org, ps, "Account", Edit=True)
    assert (e.error_code, e.message) == ("FIELD_INTEGRITY_EXCEPTION",
                                         "Permission Edit Account depends on permission(s): Read Account")
    e = err(grant, org, ps, "Account", Read=True, Delete=True)
    assert e.message == "Permission Delete Account depends on permission(s): Edit Account"
    e = err(grant, org, ps, "Account", Read=True, ModifyAllRecords=True)
    assert e.message == ("Permission Modify All Account depends on permission(s): Edit Account, Delete Account, "
                         "Read All Account")
    e = err(grant, org, ps, "Account", Create=True, ViewAllRecords=True)
    assert e.message == ("Permission Create Account depends on permission(s): Read Account; "
                         "Permission Read All Account depends on permission(s): Read Account")
    op = grant(org, ps, "Account", Read=True, Edit=True)
    e = err(org.update, "ObjectPermissions", op, {"PermissionsRead": False}, V, admin(org))
    assert e.message == "Permission Edit Account depends on permission(s): Read Account"


def test_object_permission_all_false(org):
    ps = new_ps(org)
    e = err(grant, org, ps, "Account", Read=False)
    assert (e.status, e.error_code) == (400, "FIELD_INTEGRITY_EXCEPTION")
    op = grant(org, ps, "Account", Read=True, Create=True)
    org.update("ObjectPermissions", op, {"PermissionsRead": False, "PermissionsCreate": False}, V, admin(org))
    # the update that clears every flag deletes the record (OBJREF67)
    assert org.query(f"SELECT COUNT() FROM ObjectPermissions WHERE Id = '{op}'", V)[0] == 0
    assert err(org.retrieve, "ObjectPermissions", op, None, V).error_code == "NOT_FOUND"


def test_object_permission_duplicates_and_objects(org):
    ps = new_ps(org)
    grant(org, ps, "Account", Read=True)
    e = err(grant, org, ps, "account", Read=True)
    assert (e.status, e.error_code) == (400, "DUPLICATE_VALUE")
    assert e.message == "duplicate value found: <unknown> duplicates value on record with id: <unknown>"
    # Field permissions but no object permissions (Task, Event, OpportunityLineItem, OrderItem, User), or neither:
    # none of them is ever an objectPermissions entry of a real profile (fidelity-evidence.md row 1).
    for bad in ("User", "Profile", "Task", "Event", "OpportunityLineItem", "OrderItem", "CaseComment", "Note",
                "ContentNote", "ContentDocumentLink", "FeedItem", "Object_Name__c"):
        e = err(grant, org, ps, bad, Read=True)
        assert (e.error_code, e.fields) == ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["SobjectType"])
        assert e.message == f"Sobject Type Name: bad value for restricted picklist field: {bad}"
    for good in ("Lead", "Campaign", "Product2"):
        grant(org, ps, good, Read=True)


def test_view_all_fields_needs_no_other_flag(org):
    # [3rd] Jetstream's permission editor gives View All Fields no dependency (fidelity-evidence.md row 11).
    ps = new_ps(org)
    op = grant(org, ps, "Account", ViewAllFields=True)
    rec = org.retrieve("ObjectPermissions", op, ["PermissionsRead", "PermissionsViewAllFields"], V)
    assert (rec["PermissionsRead"], rec["PermissionsViewAllFields"]) == (False, True)


def test_master_detail_child_read_needs_master_read(org):
    ps = new_ps(org)
    e = err(grant, org, ps, "Health_Score__c", Read=True)
    assert e.message == "Permission Read Health_Score__c depends on permission(s): Read Account"
    acc = grant(org, ps, "Account", Read=True)
    grant(org, ps, "Health_Score__c", Read=True, Create=True)
    e = err(org.delete, "ObjectPermissions", acc, V, admin(org))
    assert e.message == "Permission Read Health_Score__c depends on permission(s): Read Account"
    e = err(org.update, "ObjectPermissions", acc, {"PermissionsRead": False}, V, admin(org))
    assert e.error_code == "FIELD_INTEGRITY_EXCEPTION"


def fls(org, ps, field, read=True, edit=False, **extra):
    fields = {"ParentId": ps, "Field": field, "PermissionsRead": read, "PermissionsEdit": edit}
    fields.update(extra)
    return org.create("FieldPermissions", fields, V, admin(org))


def test_field_permission_rules(org):
    ps = new_ps(org)
    fp = fls(org, ps, "Account.Industry", edit=True)
    rec = org.retrieve("FieldPermissions", fp, ["SobjectType", "Field"], V)
    assert (rec["SobjectType"], rec["Field"]) == ("Account", "Account.Industry")  # SobjectType derived
    for bad in ("Account.Name", "Account.OwnerId", "Account.CreatedDate", "Account.Nope__c",
                "Health_Score__c.Account__c", "Health_Score__c.Score__c", "Nope.Field", "Industry"):
        e = err(fls, org, ps, bad)
        assert (e.error_code, e.fields) == ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["Field"]), bad
        assert e.message == f"Field Name: bad value for restricted picklist field: {bad}"
    e = err(fls, org, ps, "Account.Phone", read=False, edit=True)
    assert e.error_code == "FIELD_INTEGRITY_EXCEPTION"
    e = err(fls, org, ps, "Account.Website", read=False, edit=False)
    assert e.error_code == "FIELD_INTEGRITY_EXCEPTION"
    e = err(fls, org, ps, "Health_Score__c.Trend__c", edit=True)  # formula
    assert (e.error_code, e.fields) == ("FIELD_INTEGRITY_EXCEPTION", ["PermissionsEdit"])
    e = err(fls, org, ps, "Health_Score__c.Reference__c", edit=True)  # auto-number
    assert e.error_code == "FIELD_INTEGRITY_EXCEPTION"
    fls(org, ps, "Health_Score__c.Trend__c")
    e = err(fls, org, ps, "Account.Industry")
    assert e.error_code == "DUPLICATE_VALUE"
    e = err(fls, org, ps, "Account.Phone", SobjectType="Contact")
    assert e.error_code == "FIELD_INTEGRITY_EXCEPTION"
    # v50+: a lookup may be named by its relationship, it is stored with the field name
    fp2 = fls(org, ps, "Contact.Account")
    assert org.retrieve("FieldPermissions", fp2, ["Field"], V)["Field"] == "Contact.AccountId"
    # Read cleared -> row deleted
    org.update("FieldPermissions", fp, {"PermissionsRead": False, "PermissionsEdit": False}, V, admin(org))
    assert org.query(f"SELECT COUNT() FROM FieldPermissions WHERE Id = '{fp}'", V)[0] == 0


# Fields real orgs secure and fields they do not (permissionable in CCI's recorded describes, and the FieldPermissions
# of the real "Minimum Access - API Only Integrations" profile, fidelity-evidence.md rows 1-5 and 13).
NOT_PERMISSIONABLE = ("Case.Status", "Case.CaseNumber", "Contact.FirstName", "Contact.LastName", "Contact.Salutation",
                      "Contact.Name", "Lead.FirstName", "Lead.Status", "Lead.Company", "Task.Subject", "Task.Status",
                      "Task.Priority", "Event.Subject", "Event.StartDateTime", "Event.ActivityDateTime",
                      "Opportunity.StageName", "Opportunity.IsClosed", "OpportunityLineItem.UnitPrice",
                      "Order.AccountId", "Product2.IsActive", "User.Email", "User.FirstName", "Note.Title",
                      "CaseComment.CommentBody", "FeedItem.Body", "Profile.Name")
PERMISSIONABLE = ("Task.ActivityDate", "Task.Description", "Task.Type", "Task.WhatId", "Task.WhoId",
                  "Event.Location", "Case.Priority", "Case.Subject", "Contact.Email", "Lead.Email", "Campaign.Status",
                  "OpportunityLineItem.TotalPrice", "OrderItem.ServiceDate", "User.Cost_Center__c",
                  "Account.BillingAddress", "Contact.MailingAddress", "Lead.Address")


@pytest.mark.parametrize("field", NOT_PERMISSIONABLE)
def test_fields_real_orgs_do_not_secure_are_refused(org, field):
    e = err(fls, org, new_ps(org), field)
    assert (e.status, e.error_code, e.fields) == (400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["Field"])
    assert e.message == f"Field Name: bad value for restricted picklist field: {field}"


@pytest.mark.parametrize("field", PERMISSIONABLE)
def test_fields_real_orgs_secure_are_accepted(org, field):
    ps = new_ps(org)
    fp = fls(org, ps, field)
    assert org.retrieve("FieldPermissions", fp, ["Field"], V)["Field"] == field


def test_address_parts_are_stored_under_their_compound(org):
    ps = new_ps(org)
    # Edit on the compound: it is what lets a user write the parts ([3rd] Jetstream PR #1260).
    fp = fls(org, ps, "Account.BillingCountry", edit=True)
    rec = org.retrieve("FieldPermissions", fp, ["Field", "PermissionsEdit"], V)
    assert (rec["Field"], rec["PermissionsEdit"]) == ("Account.BillingAddress", True)
    e = err(fls, org, ps, "Account.BillingAddress")
    assert e.error_code == "DUPLICATE_VALUE"
    e = err(fls, org, ps, "Account.BillingCity")
    assert e.error_code == "DUPLICATE_VALUE"
    assert org.query(f"SELECT COUNT() FROM FieldPermissions WHERE ParentId = '{ps}'", V)[0] == 1


def test_describe_permissionable_agrees_with_field_permissions(org):
    """For every object, a field is permissionable in its describe exactly when a FieldPermissions row can name it
    (the row then holds the field itself or, for an address part, its compound)."""
    ps = new_ps(org)
    picklist = set(org.catalog.permissionable_fields(V))
    for odef in org.catalog.objects:
        describe = org.catalog.describe(odef.name, V)
        for f in describe["fields"]:
            full = f"{odef.name}.{f['name']}"
            if f["permissionable"]:
                target = f"{odef.name}.{f['compoundFieldName']}" if f["compoundFieldName"] else full
                assert target in picklist, full
            else:
                assert full not in picklist, full
                e = err(fls, org, ps, full)
                assert e.error_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", full


# ---------------------------------------------------------------------------------------------------------------------
# assignments, users, licences
# ---------------------------------------------------------------------------------------------------------------------

def test_duplicate_assignments(org):
    ps = new_ps(org)
    user = new_user(org, "dup@example.com")
    org.create("PermissionSetAssignment", {"AssigneeId": user, "PermissionSetId": ps}, V, admin(org))
    e = err(org.create, "PermissionSetAssignment", {"AssigneeId": user, "PermissionSetId": ps}, V, admin(org))
    assert (e.status, e.error_code) == (400, "DUPLICATE_VALUE")
    assert e.message == f"Duplicate PermissionSetAssignment. Assignee: {user}; Permission Set: {ps}"
    e = err(org.create, "PermissionSetAssignment", {"AssigneeId": user}, V, admin(org))
    assert e.error_code == "REQUIRED_FIELD_MISSING"


def test_duplicate_username_across_orgs(emu):
    org1, org2 = emu.orgs["org1"], emu.orgs["org2"]
    e = err(new_user, org2, "ADMIN@org1.sfemu.example")
    assert (e.status, e.error_code, e.fields) == (400, "DUPLICATE_USERNAME", ["Username"])
    assert e.message.startswith("Duplicate Username.<br>The username already exists in this or another Salesforce "
                                "organization.")
    u = new_user(org2, "unique@example.com")
    assert emu.find_user("Unique@Example.com")[0] is org2
    e = err(new_user, org1, "unique@example.com")
    assert e.error_code == "DUPLICATE_USERNAME"
    # renames are checked too, and free the old name
    org2.update("User", u, {"Username": "renamed@example.com"}, V, admin(org2))
    assert emu.find_user("unique@example.com") is None
    new_user(org1, "unique@example.com")
    e = err(org1.update, "User", admin(org1), {"Username": "renamed@example.com"}, V, admin(org1))
    assert e.error_code == "DUPLICATE_USERNAME"


def test_user_license_limit(org):
    lic = one(org, "SELECT Id, TotalLicenses, UsedLicenses FROM UserLicense WHERE Name = 'Salesforce Integration'")
    assert (lic["TotalLicenses"], lic["UsedLicenses"]) == (5, 0)
    users = [new_user(org, f"int{i}@example.com", "Minimum Access - API Only Integrations") for i in range(5)]
    assert one(org, "SELECT UsedLicenses FROM UserLicense WHERE Name = 'Salesforce Integration'")["UsedLicenses"] == 5
    e = err(new_user, org, "int6@example.com", "Minimum Access - API Only Integrations")
    assert (e.status, e.error_code) == (400, "LICENSE_LIMIT_EXCEEDED")
    inactive = new_user(org, "int6@example.com", "Minimum Access - API Only Integrations", IsActive=False)
    org.update("User", users[0], {"IsActive": False}, V, admin(org))
    assert one(org, "SELECT UsedLicenses FROM UserLicense WHERE Name = 'Salesforce Integration'")["UsedLicenses"] == 4
    org.update("User", inactive, {"IsActive": True}, V, admin(org))
    e = err(org.update, "User", users[0], {"IsActive": True}, V, admin(org))
    assert e.error_code == "LICENSE_LIMIT_EXCEEDED"


def test_integration_user_needs_the_api_integration_psl(org):
    ps = new_ps(org, ApiEnabled=True)
    grant(org, ps, "Account", Read=True)
    user = new_user(org, "svc@example.com", "Minimum Access - API Only Integrations", FirstName="Sync")
    e = err(org.create, "PermissionSetAssignment", {"AssigneeId": user, "PermissionSetId": ps}, V, admin(org))
    assert (e.status, e.error_code) == (400, "FIELD_INTEGRITY_EXCEPTION")
    assert e.message == ('Can\'t assign permission set "Sync Access" to user "Sync Tester". The user license '
                         "doesn't allow the permission: Read Accounts")
    psl = one(org, "SELECT Id FROM PermissionSetLicense WHERE DeveloperName = 'SalesforceAPIIntegrationPsl'")["Id"]
    org.create("PermissionSetLicenseAssign", {"AssigneeId": user, "PermissionSetLicenseId": psl}, V, admin(org))
    assert one(org, f"SELECT UsedLicenses FROM PermissionSetLicense WHERE Id = '{psl}'")["UsedLicenses"] == 1
    org.create("PermissionSetAssignment", {"AssigneeId": user, "PermissionSetId": ps}, V, admin(org))
    e = err(org.create, "PermissionSetLicenseAssign", {"AssigneeId": user, "PermissionSetLicenseId": psl}, V,
            admin(org))
    assert e.error_code == "DUPLICATE_VALUE"
    std = new_user(org, "std@example.com")
    e = err(org.create, "PermissionSetLicenseAssign", {"AssigneeId": std, "PermissionSetLicenseId": psl}, V,
            admin(org))
    assert (e.error_code, e.fields) == ("FIELD_INTEGRITY_EXCEPTION", ["PermissionSetLicenseId"])


def test_object_access_added_later_to_an_integration_users_set(org):
    ps = new_ps(org, ApiEnabled=True)
    user = new_user(org, "svc2@example.com", "Minimum Access - API Only Integrations")
    org.create("PermissionSetAssignment", {"AssigneeId": user, "PermissionSetId": ps}, V, admin(org))  # no data grant
    e = err(grant, org, ps, "Contact", Read=True)
    assert e.error_code == "FIELD_INTEGRITY_EXCEPTION" and "Read Contacts" in e.message


def test_psl_limit(org):
    psl = one(org, "SELECT Id FROM PermissionSetLicense WHERE DeveloperName = 'SalesforceAPIIntegrationPsl'")["Id"]
    users = [new_user(org, f"p{i}@example.com", "Minimum Access - API Only Integrations") for i in range(5)]
    for u in users:
        org.create("PermissionSetLicenseAssign", {"AssigneeId": u, "PermissionSetLicenseId": psl}, V, admin(org))
    org.update("User", users[0], {"IsActive": False}, V, admin(org))
    extra = new_user(org, "p5@example.com", "Minimum Access - API Only Integrations")
    e = err(org.create, "PermissionSetLicenseAssign", {"AssigneeId": extra, "PermissionSetLicenseId": psl}, V,
            admin(org))
    assert e.error_code == "LICENSE_LIMIT_EXCEEDED"


def test_permission_set_licence_must_match_user(org):
    lic = one(org, "SELECT Id FROM UserLicense WHERE Name = 'Salesforce Platform'")["Id"]
    ps = org.create("PermissionSet", {"Name": "Platform_Only", "Label": "Platform Only", "LicenseId": lic}, V,
                    admin(org))
    user = new_user(org, "lic@example.com")
    e = err(org.create, "PermissionSetAssignment", {"AssigneeId": user, "PermissionSetId": ps}, V, admin(org))
    assert (e.error_code, e.fields) == ("FIELD_INTEGRITY_EXCEPTION", ["PermissionSetId"])


def test_integration_user_keeps_its_licence(org):
    user = new_user(org, "svc3@example.com", "Minimum Access - API Only Integrations")
    e = err(org.update, "User", user, {"ProfileId": profile_id(org, "Standard User")}, V, admin(org))
    assert (e.error_code, e.fields) == ("FIELD_INTEGRITY_EXCEPTION", ["ProfileId"])
    std = new_user(org, "std3@example.com")
    e = err(org.update, "User", std, {"ProfileId": profile_id(org, "Minimum Access - API Only Integrations")}, V,
            admin(org))
    assert e.error_code == "FIELD_INTEGRITY_EXCEPTION"


def test_profile_change_moves_the_profile_assignment(org):
    user = new_user(org, "mover@example.com")
    org.update("User", user, {"ProfileId": profile_id(org, "Read Only")}, V, admin(org))
    _, recs = org.query(f"SELECT PermissionSet.Profile.Name FROM PermissionSetAssignment WHERE AssigneeId = '{user}'",
                        V)
    assert [r["PermissionSet"]["Profile"]["Name"] for r in recs] == ["Read Only"]


def test_setup_entity_access(org):
    ps = new_ps(org)
    app = one(org, "SELECT Id FROM ConnectedApplication WHERE Name = 'sfops Automation'")["Id"]
    sea = org.create("SetupEntityAccess", {"ParentId": ps, "SetupEntityId": app}, V, admin(org))
    assert org.retrieve("SetupEntityAccess", sea, ["SetupEntityType"], V)["SetupEntityType"] == "ConnectedApplication"
    e = err(org.create, "SetupEntityAccess", {"ParentId": ps, "SetupEntityId": app}, V, admin(org))
    assert e.error_code == "DUPLICATE_VALUE"
    e = err(org.create, "SetupEntityAccess", {"ParentId": ps, "SetupEntityId": app, "SetupEntityType": "TabSet"}, V,
            admin(org))
    assert (e.error_code, e.fields) == ("INVALID_FIELD_FOR_INSERT_UPDATE", ["SetupEntityType"])
    e = err(org.create, "SetupEntityAccess", {"ParentId": ps, "SetupEntityId": "01p000000000001AAA"}, V, admin(org))
    assert e.error_code in ("FIELD_INTEGRITY_EXCEPTION", "MALFORMED_ID")
    e = err(org.create, "SetupEntityAccess", {"ParentId": app, "SetupEntityId": app}, V, admin(org))
    assert (e.error_code, e.fields) == ("FIELD_INTEGRITY_EXCEPTION", ["ParentId"])
    missing_ps = "0PS" + org.org_id[3:5] + "ZZZZZZZZZZ"
    e = err(org.create, "SetupEntityAccess", {"ParentId": missing_ps, "SetupEntityId": app}, V, admin(org))
    assert e.error_code == "INVALID_CROSS_REFERENCE_KEY"
    org.delete("SetupEntityAccess", sea, V, admin(org))


def test_account_with_cases_cannot_be_deleted_but_contacts_cascade(org):
    acc = org.create("Account", {"Name": "Parent"}, V, admin(org))
    con = org.create("Contact", {"LastName": "Kid", "AccountId": acc}, V, admin(org))
    case = org.create("Case", {"Subject": "S", "AccountId": acc}, V, admin(org))
    e = err(org.delete, "Account", acc, V, admin(org))
    assert (e.status, e.error_code) == (400, "DELETE_FAILED")
    org.delete("Case", case, V, admin(org))
    org.delete("Account", acc, V, admin(org))
    assert err(org.retrieve, "Contact", con, None, V).error_code == "ENTITY_IS_DELETED"


def test_master_detail_child_needs_its_master_and_goes_with_it(org):
    e = err(org.create, "Health_Score__c", {"Score__c": 50}, V, admin(org))
    assert (e.error_code, e.fields) == ("REQUIRED_FIELD_MISSING", ["Account__c"])
    acc = org.create("Account", {"Name": "Scored"}, V, admin(org))
    hs = org.create("Health_Score__c", {"Account__c": acc, "Score__c": 35}, V, admin(org))
    rec = org.retrieve("Health_Score__c", hs, None, V)
    assert rec["Trend__c"] == "Critical" and rec["Reference__c"].startswith("HS-") and rec["Name"] == hs
    org.update("Health_Score__c", hs, {"Score__c": 90}, V, admin(org))
    assert org.retrieve("Health_Score__c", hs, ["Trend__c"], V)["Trend__c"] == "Healthy"
    e = err(org.update, "Health_Score__c", hs, {"Account__c": acc}, V, admin(org))
    assert e.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"
    org.delete("Account", acc, V, admin(org))
    assert err(org.retrieve, "Health_Score__c", hs, None, V).error_code == "ENTITY_IS_DELETED"


def test_permission_set_groups(org):
    g = org.create("PermissionSetGroup", {"DeveloperName": "Integration_Bundle", "MasterLabel": "Integration Bundle"},
                   V, admin(org))
    assert org.retrieve("PermissionSetGroup", g, ["Status"], V)["Status"] == "Updated"
    e = err(org.create, "PermissionSetGroup", {"DeveloperName": "integration_bundle", "MasterLabel": "Other"}, V,
            admin(org))
    assert (e.error_code, e.fields) == ("DUPLICATE_DEVELOPER_NAME", ["DeveloperName"])
    e = err(org.create, "PermissionSetGroup", {"DeveloperName": "Bad__Name", "MasterLabel": "Bad"}, V, admin(org))
    assert e.error_code == "FIELD_INTEGRITY_EXCEPTION"
    user = new_user(org, "grouped@example.com")
    psa = org.create("PermissionSetAssignment", {"AssigneeId": user, "PermissionSetGroupId": g}, V, admin(org))
    rec = org.retrieve("PermissionSetAssignment", psa, ["IsActive", "PermissionSetId"], V)
    assert rec == {"attributes": rec["attributes"], "IsActive": True, "PermissionSetId": None}
    e = err(org.create, "PermissionSetAssignment", {"AssigneeId": user, "PermissionSetGroupId": g}, V, admin(org))
    assert e.error_code == "DUPLICATE_VALUE"
    e = err(org.create, "PermissionSetAssignment", {"AssigneeId": user, "PermissionSetGroupId": g,
                                                    "PermissionSetId": new_ps(org)}, V, admin(org))
    assert e.error_code == "FIELD_INTEGRITY_EXCEPTION"
    assert err(org.delete, "PermissionSetGroup", g, V, admin(org)).error_code == "DELETE_FAILED"
    org.delete("PermissionSetAssignment", psa, V, admin(org))
    org.delete("PermissionSetGroup", g, V, admin(org))


def test_setup_writes_need_the_acting_users_permission(org):
    std = org.user_by_username("standard.user@org1.sfemu.example")["Id"]
    for call in (
        lambda: org.create("PermissionSet", {"Name": "By_Std", "Label": "By Std"}, V, std),
        lambda: org.create("User", {
            "Username": "by.std@example.com", "LastName": "S", "Email": "s@example.com", "Alias": "s",
            "TimeZoneSidKey": "GMT", "LocaleSidKey": "en_US", "EmailEncodingKey": "UTF-8",
            "LanguageLocaleKey": "en_US", "ProfileId": profile_id(org, "Standard User")}, V, std),
        lambda: org.update("UserLogin", one(org, f"SELECT Id FROM UserLogin WHERE UserId = '{admin(org)}'")["Id"],
                           {"IsFrozen": True}, V, std),
    ):
        e = err(call)
        assert (e.status, e.error_code) == (400, "INSUFFICIENT_ACCESS_OR_READONLY")
    # own personal details are fine, own profile is not
    org.update("User", std, {"Title": "Analyst"}, V, std)
    e = err(org.update, "User", std, {"ProfileId": profile_id(org, "System Administrator")}, V, std)
    assert e.error_code == "INSUFFICIENT_ACCESS_OR_READONLY"
    # granting the permission through a permission set is enough
    ps = new_ps(org, "Perm_Admin", ManageProfilesPermissionsets=True)
    org.create("PermissionSetAssignment", {"AssigneeId": std, "PermissionSetId": ps}, V, admin(org))
    assert org.user_has_permission(std, "ManageProfilesPermissionsets")
    org.create("PermissionSet", {"Name": "By_Std", "Label": "By Std"}, V, std)
    # data objects are not checked
    org.create("Account", {"Name": "Std account"}, V, std)


def test_permission_checks_can_be_switched_off(tmp_path):
    emu = Emulator(tmp_path, orgs=1, settings={"fsync": False, "enforce_user_permissions": False})
    org = emu.orgs["org1"]
    std = org.user_by_username("standard.user@org1.sfemu.example")["Id"]
    org.create("PermissionSet", {"Name": "Free", "Label": "Free"}, V, std)

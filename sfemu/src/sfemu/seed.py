"""The seeded state of org N (sfemu/docs/internals.md "Seeded orgs").

Deterministic: ids come from a per-org counter and timestamps from a fixed clock, so org N looks the same after every
seed and every reset. Only the credentials (admin password, consumer key and secret) are random; they are generated
at the first seed and kept across resets.

What a fresh org contains:
- Organization row (Developer Edition for odd N, Enterprise Edition for even N; IsSandbox false).
- UserLicense "Salesforce" (20), "Salesforce Integration" (5), "Salesforce Platform" (10); PermissionSetLicense
  "Salesforce API Integration" (SalesforceAPIIntegrationPsl, 5). UsedLicenses are derived (org._recount_licenses).
- Profiles System Administrator, Standard User, Read Only, Minimum Access - Salesforce (licence Salesforce) and
  Minimum Access - API Only Integrations (licence Salesforce Integration), each with its profile-owned permission set
  (IsOwnedByProfile, Type Profile) and object permissions.
- Users admin@orgN.sfemu.example (System Administrator), standard.user@..., readonly.user@..., with UserLogin rows
  and the profile permission-set assignment Salesforce lists for every user.
- Connected app "sfops Automation" (installed, admin approved, System Administrator profile pre-authorised through
  SetupEntityAccess, client-credentials run-as = admin); vendor app "Planhat": installed (ConnectedApplication row,
  OptionsAllowAdminApprovedUsersOnly false) in odd orgs, used but not installed (OauthToken row only) in even orgs.
- A little business data (accounts, contacts, opportunities, a case, a health score, a task).
"""

from __future__ import annotations

import secrets
import string

from .schema import OBJECT_PERMISSION_FLAGS, OBJECT_PERMISSION_OBJECTS

__all__ = ["seed_org", "SEED_TIME", "PROFILES", "LICENSES", "APP_NAME", "VENDOR_APP_NAME"]

SEED_TIME = "2026-01-05T09:00:00.000+0000"
APP_NAME = "sfops Automation"
VENDOR_APP_NAME = "Planhat"

# UserLicense rows: (Name, LicenseDefinitionKey, TotalLicenses). Names and totals from sfemu/docs/internals.md; keys: "SFDC"
# and "AUL" (Salesforce Platform) are the real keys seen in many repos [3rd]; the Integration key [infer].
LICENSES = (
    ("Salesforce", "SFDC", 20),
    ("Salesforce Integration", "SFDC_INTEGRATION", 5),
    ("Salesforce Platform", "AUL", 10),
)

# System permissions of the standard profiles (each one in the real v63 permission list, data/permissions.json).
# Chosen from the permissions these profiles have in a fresh org
# (System Administrator has Modify All Data, View All Data, Customize Application, Author Apex, Manage Users... and,
# since Sept 2025, "Approve Uninstalled Connected Apps" [doc help 005132365, ref 1.2]; the three External Client App
# permissions, which Help 005197683 says a *custom* admin profile must be given [doc]); every set is closed under
# schema.SYSTEM_PERMISSION_DEPENDENCIES (tested). "Use Any API Client" is left off: it is an API Access Control
# permission that is not on by default [infer].
_ADMIN_PERMS = (
    "ApiEnabled", "ViewSetup", "ViewRoles", "ViewAllData", "ViewAllUsers", "ModifyAllData", "CustomizeApplication",
    "AuthorApex", "ManageUsers", "ManageInternalUsers", "ManageProfilesPermissionsets", "AssignPermissionSets",
    "ManageRoles", "ManageSharing", "ResetPasswords", "FreezeUsers", "ManageRemoteAccess", "CanApproveUninstalledApps",
    "ModifyMetadata", "ViewEventLogFiles", "ViewPublicDashboards", "ViewPublicReports",
    "ManagePasswordPolicies", "ManageIpAddresses", "MonitorLoginHistory", "ManageDataIntegrations",
    "ManageCustomPermissions", "ManageSessionPermissionSets", "ViewHealthCheck", "ManageHealthCheck",
    "ManageSandboxes", "ManageCertificates", "ManageNamedCredentials", "ManageAuthProviders", "ExportReport",
    "RunReports", "ScheduleReports", "CreateCustomizeReports", "CreateCustomizeDashboards", "EditTask", "EditEvent",
    "ConvertLeads", "ImportLeads", "ManageLeads", "TransferAnyEntity", "TransferAnyLead", "TransferAnyCase",
    "EmailSingle", "EmailMass", "EditPublicFilters", "EditPublicTemplates", "ChatterInternalUser", "ViewHelpLink",
    "ViewAllActivities", "ViewAllProfiles", "ViewAllForecasts", "ManageCases", "ActivateContract", "ActivateOrder",
    "EditActivatedOrders", "DataExport", "InstallPackaging", "PasswordNeverExpires", "LightningExperienceUser",
    "ApexRestServices", "ManageTranslation", "ViewDeveloperName", "ManageReleaseUpdates",
    "ExternalClientAppAdmin", "ExternalClientAppViewer", "ExternalClientAppDeveloper",
)
_STANDARD_PERMS = (
    "ApiEnabled", "EditTask", "EditEvent", "ConvertLeads", "ImportPersonal", "RunReports", "ExportReport",
    "CreateCustomizeReports", "CreateCustomizeDashboards", "CreateCustomizeFilters", "EmailSingle", "EmailMass",
    "ChatterInternalUser", "ViewHelpLink", "LightningExperienceUser", "ActivitiesAccess", "ShowCompanyNameAsUserBadge",
)
_READ_ONLY_PERMS = ("ApiEnabled", "RunReports", "ExportReport", "ViewHelpLink", "ChatterInternalUser",
                    "LightningExperienceUser")
_MINIMUM_PERMS = ("ViewHelpLink",)
# Minimum Access - API Only Integrations: API only (ref 5 [doc]: "The profile forces API-only"); [real] the profile
# retrieved from real orgs has exactly ApiEnabled, ApiUserOnly and ChatterInternalUser on (fidelity-evidence.md P1;
# AlexShmellyoff/Arbutus@4d7b8a6 profiles/Minimum Access - API Only Integrations.profile-meta.xml).
_API_ONLY_PERMS = ("ApiEnabled", "ApiUserOnly", "ChatterInternalUser")

_ALL = tuple(flag for flag, _ in OBJECT_PERMISSION_FLAGS if flag != "PermissionsViewAllFields")
_CRUD = ("PermissionsRead", "PermissionsCreate", "PermissionsEdit", "PermissionsDelete")
_READ = ("PermissionsRead",)

# (Name, licence name, description, permissions, object permissions {object: flags})
PROFILES = (
    ("System Administrator", "Salesforce", None, _ADMIN_PERMS, {o: _ALL for o in OBJECT_PERMISSION_OBJECTS}),
    ("Standard User", "Salesforce", None, _STANDARD_PERMS,
     {"Account": _CRUD, "Contact": _CRUD, "Opportunity": _CRUD, "Case": _CRUD, "Order": _CRUD, "Lead": _CRUD,
      "Campaign": _READ, "Product2": _READ,
      "Health_Score__c": ("PermissionsRead", "PermissionsCreate", "PermissionsEdit")}),
    ("Read Only", "Salesforce", None, _READ_ONLY_PERMS, {o: _READ for o in OBJECT_PERMISSION_OBJECTS}),
    ("Minimum Access - Salesforce", "Salesforce",
     "Minimum access profile for Salesforce users; grant access through permission sets.", _MINIMUM_PERMS, {}),
    ("Minimum Access - API Only Integrations", "Salesforce Integration",
     "Minimum access profile for API-only integration users with the Salesforce Integration license.",
     _API_ONLY_PERMS, {}),
)

_USERS = (
    # (username local part, first, last, alias, profile)
    ("admin", "Ada", "Admin", "aadmin", "System Administrator"),
    ("standard.user", "Sam", "Standard", "sstan", "Standard User"),
    ("readonly.user", "Riley", "Reader", "rread", "Read Only"),
)


def _random_password() -> str:
    # Meets the default password policy (8+ characters, letters and numbers [doc Help "Password Policies"]).
    alphabet = string.ascii_letters + string.digits
    core = "".join(secrets.choice(alphabet) for _ in range(14))
    return "Sf" + core + "7q"


def _consumer_key() -> str:
    # Real consumer keys start "3MVG9" and are 85 characters of [A-Za-z0-9._] [3rd: many public examples].
    alphabet = string.ascii_letters + string.digits + "._"
    return "3MVG9" + "".join(secrets.choice(alphabet) for _ in range(80))


def _consumer_secret() -> str:
    return secrets.token_hex(32).upper()


def seed_org(org, keep_credentials: bool = False) -> None:
    """(Re)build ``org`` from scratch. Called by Emulator for a new org and by Org.reset()."""
    from .org import _hash_password  # noqa: PLC0415 - circular at import time

    n = org.seq
    creds = dict(org.credentials) if keep_credentials and org.credentials else {}
    if not creds:
        creds = {
            "username": f"admin@{org.alias}.sfemu.example",
            "password": _random_password(),
            "client_id": _consumer_key(),
            "client_secret": _consumer_secret(),
            "vendor_client_id": _consumer_key(),
            "vendor_client_secret": _consumer_secret(),
        }
    org.credentials = creds
    org._tables = {}
    org._deleted = {}
    org._counter = 1
    org._autonum = {}
    org._apps = {}
    org._passwords = {}
    jwt_cert = org.meta.get("jwt_cert_pem") if keep_credentials else None
    # meta belongs to the HTTP layer (sessions, tokens, JWT certificate): a reset starts it afresh, keeping only the
    # certificate so configured JWT clients keep working.
    org.meta = {}
    if jwt_cert:
        org.meta["jwt_cert_pem"] = jwt_cert
    org._clock = lambda: SEED_TIME
    try:
        _seed(org, n, creds, _hash_password)
    finally:
        org._clock = None


def _seed(org, n, creds, hash_password):
    ins = org._insert_raw

    # ---- Organization ------------------------------------------------------------------------------------------
    orow = org._new_row(org.catalog.object_def("Organization"), {
        "Name": f"sfemu Org {n}",
        "OrganizationType": "Developer Edition" if n % 2 else "Enterprise Edition",
        "IsSandbox": False,
        "InstanceName": f"EMU{10 + n % 80}",
        "NamespacePrefix": None,
        "Country": "US",
        "DefaultLocaleSidKey": "en_US",
        "LanguageLocaleKey": "en_US",
        "TimeZoneSidKey": "America/Los_Angeles",
        "TrialExpirationDate": None,
        "IsReadOnly": False,
    }, None)
    orow["Id"] = org.org_id
    org._store("Organization", orow)

    # ---- Licences ----------------------------------------------------------------------------------------------
    lic_ids = {}
    for name, key, total in LICENSES:
        row = ins("UserLicense", {"Name": name, "MasterLabel": name, "LicenseDefinitionKey": key, "Status": "Active",
                                  "TotalLicenses": total, "UsedLicenses": 0, "UsedLicensesLastUpdated": SEED_TIME})
        lic_ids[name] = row["Id"]
    ins("PermissionSetLicense", {
        "DeveloperName": "SalesforceAPIIntegrationPsl", "MasterLabel": "Salesforce API Integration",
        "Language": "en_US", "PermissionSetLicenseKey": "SalesforceAPIIntegrationPsl", "Status": "Active",
        "TotalLicenses": 5, "UsedLicenses": 0, "IsSupplementLicense": False, "IsAvailableForIntegrations": True,
    })

    # ---- Profiles and their permission sets ----------------------------------------------------------------------
    perm_names = [f.name for f in org.catalog.object_def("PermissionSet").fields if f.name.startswith("Permissions")]
    profile_ids, owned_ps = {}, {}
    for i, (pname, lic, desc, perms, objperms) in enumerate(PROFILES, start=1):
        flags = dict.fromkeys(perm_names, False)
        for p in perms:
            flags["Permissions" + p] = True
        prow = ins("Profile", dict(flags, Name=pname, UserLicenseId=lic_ids[lic], UserType="Standard",
                                   Description=desc, IsSsoEnabled=False))
        profile_ids[pname] = prow["Id"]
        # Profile-owned permission set: opaque Name/Label such as "X00ex00000018ozh_128_09_04_12_1" (ref 1 [real]).
        opaque = f"X{prow['Id'][:15]}_{128 + i}_09_04_12_1"
        psrow = ins("PermissionSet", dict(flags, Name=opaque, Label=opaque[1:], Description=None,
                                          LicenseId=lic_ids[lic], HasActivationRequired=False, IsOwnedByProfile=True,
                                          ProfileId=prow["Id"], IsCustom=False, NamespacePrefix=None, Type="Profile",
                                          PsgCount=0))
        owned_ps[pname] = psrow["Id"]
        for obj in sorted(objperms):
            vals = {flag: (flag in objperms[obj]) for flag, _ in OBJECT_PERMISSION_FLAGS}
            ins("ObjectPermissions", dict(vals, ParentId=psrow["Id"], SobjectType=obj))

    # ---- Users ---------------------------------------------------------------------------------------------------
    users = {}
    admin_id = None
    for local, first, last, alias, pname in _USERS:
        uname = f"{local}@{org.alias}.sfemu.example"
        urow = ins("User", {
            "Username": uname, "FirstName": first, "LastName": last, "Email": uname, "Alias": alias,
            "CommunityNickname": f"{local.replace('.', '')}{n}", "TimeZoneSidKey": "America/Los_Angeles",
            "LocaleSidKey": "en_US", "EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US",
            "ProfileId": profile_ids[pname], "IsActive": True, "UserType": "Standard", "Title": None,
        }, admin_id)
        users[local] = urow
        if admin_id is None:
            admin_id = urow["Id"]
            urow["CreatedById"] = urow["LastModifiedById"] = admin_id
        org._after_create_User(urow, admin_id)
    org._passwords[admin_id] = hash_password(creds["password"])

    # Records created before the admin existed are "created by" the admin too.
    for table in org._tables.values():
        for row in table.values():
            for key in ("CreatedById", "LastModifiedById"):
                if key in row and row[key] is None:
                    row[key] = admin_id

    # ---- Connected apps -----------------------------------------------------------------------------------------
    app_row = ins("ConnectedApplication", {
        "Name": APP_NAME, "OptionsAllowAdminApprovedUsersOnly": True, "OptionsRefreshTokenValidityMetric": False,
        "RefreshTokenValidityPeriod": None, "OptionsHasSessionLevelPolicy": False, "OptionsIsInternal": False,
        "OptionsFullContentPushNotifications": False, "MobileSessionTimeout": "Never", "PinLength": "4",
        "StartUrl": None, "MobileStartUrl": None,
    }, admin_id)
    org._apps[APP_NAME] = {
        "name": APP_NAME, "id": app_row["Id"], "installed": True, "local": True,
        "client_id": creds["client_id"], "client_secret": creds["client_secret"],
        "is_admin_approved": True, "ip_relaxation": "ENFORCE", "refresh_token_policy": "infinite",
        "client_credentials_user_id": admin_id, "callback_url": "http://localhost:1717/OauthRedirect",
        "scopes": ["api", "refresh_token", "web"],
    }
    # The admin is pre-authorised: the System Administrator profile has access to the app (ref 6.4).
    ins("SetupEntityAccess", {"ParentId": owned_ps["System Administrator"], "SetupEntityId": app_row["Id"],
                              "SetupEntityType": "ConnectedApplication"}, admin_id)

    vendor = {
        "name": VENDOR_APP_NAME, "id": None, "installed": False, "local": False,
        "client_id": creds["vendor_client_id"], "client_secret": creds["vendor_client_secret"],
        "is_admin_approved": False, "ip_relaxation": "ENFORCE", "refresh_token_policy": "infinite",
        "client_credentials_user_id": None, "callback_url": "https://app.planhat.com/oauth/salesforce/callback",
        "scopes": ["api", "refresh_token"],
    }
    org._apps[VENDOR_APP_NAME] = vendor
    if n % 2 == 1:
        vrow = ins("ConnectedApplication", {
            "Name": VENDOR_APP_NAME, "OptionsAllowAdminApprovedUsersOnly": False,
            "OptionsRefreshTokenValidityMetric": False, "RefreshTokenValidityPeriod": None,
            "OptionsHasSessionLevelPolicy": False, "OptionsIsInternal": False,
            "OptionsFullContentPushNotifications": False, "MobileSessionTimeout": "Never", "PinLength": "4",
        }, admin_id)
        vendor["id"] = vrow["Id"]
        vendor["installed"] = True
    # OAuth usage of the vendor app by the standard user (visible in OauthToken whether installed or not).
    usage = ins("OauthToken", {"AppName": VENDOR_APP_NAME, "UserId": users["standard.user"]["Id"], "UseCount": 17 + n,
                               "LastUsedDate": "2026-01-04T22:15:00.000+0000", "RequestToken": None}, admin_id)
    usage["DeleteToken"] = org.delete_token_for(usage["Id"])  # revocable like any other (org.record_oauth_grant)

    # ---- Business data ------------------------------------------------------------------------------------------
    std = users["standard.user"]["Id"]
    accounts = []
    for name, typ, ind in (("Acme Corporation", "Customer - Direct", "Manufacturing"),
                           ("Globex", "Prospect", "Technology"),
                           ("Initech", "Customer - Channel", "Finance")):
        accounts.append(ins("Account", {"Name": f"{name} {n}", "Type": typ, "Industry": ind, "OwnerId": std,
                                        "BillingCountry": "US"}, std))
    contacts = []
    for i, (first, last) in enumerate((("Wile", "Coyote"), ("Hank", "Scorpio"), ("Peter", "Gibbons"))):
        contacts.append(ins("Contact", {"FirstName": first, "LastName": last, "AccountId": accounts[i]["Id"],
                                        "Email": f"{first.lower()}.{last.lower()}@example.com", "OwnerId": std}, std))
    ins("Opportunity", {"Name": f"Acme renewal {n}", "StageName": "Negotiation/Review", "CloseDate": "2026-03-31",
                        "Amount": 120000.0, "AccountId": accounts[0]["Id"], "OwnerId": std}, std)
    ins("Opportunity", {"Name": f"Globex pilot {n}", "StageName": "Closed Won", "CloseDate": "2025-12-15",
                        "Amount": 15000.0, "AccountId": accounts[1]["Id"], "OwnerId": std}, std)
    case = ins("Case", {"Subject": "Sync errors in nightly job", "AccountId": accounts[0]["Id"],
                        "ContactId": contacts[0]["Id"], "Origin": "Email", "OwnerId": std}, std)
    ins("CaseComment", {"ParentId": case["Id"], "CommentBody": "Investigating.", "IsPublished": False}, std)
    ins("Health_Score__c", {"Name": f"Acme {n} Q1", "Account__c": accounts[0]["Id"], "Score__c": 82.0,
                            "Status__c": "Green", "Last_Reviewed__c": "2026-01-02"}, std)
    ins("Task", {"Subject": "Call about renewal", "WhatId": accounts[0]["Id"], "WhoId": contacts[0]["Id"],
                 "ActivityDate": "2026-01-12", "OwnerId": std}, std)
    org._recount_licenses()


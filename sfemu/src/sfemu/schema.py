"""The emulator's object catalogue: sObjects, fields, key prefixes, child relationships and describe JSON.

Objects are declared compactly (``_obj`` / ``F``) and the describe payloads are generated from those declarations,
with the same keys and value types as real describes:
- full describe: shared/fixtures/recorded-cumulusci/GET_sobjects_Account_describe.yaml (CumulusCI cassette, v48);
- global describe entries: shared/fixtures/recorded-cumulusci/GET_sobjects_Global_describe.yaml (v52).

Sources for individual objects and fields are named next to their declaration. Abbreviations as in
shared/reference/salesforce-api.md (OBJREF67 = Object Reference Summer '26, FIELDREF67 = Field Reference Summer '26).
``[infer]`` marks a choice the sources do not settle.

Version gating: a field or object may carry ``since`` (an API version); ``describe``/``ObjectInfo`` for an older
version do not contain it, so reads and writes of it fail like any unknown column (shared ref 1.2).
``PermissionsCanApproveUninstalledApps`` takes its ``since`` from the Emulator setting
``approve_uninstalled_apps_since`` (default ``"67.0"``).
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass, field as dc_field
from pathlib import Path

from . import shared_rules

__all__ = [
    "AUDIT_FIELDS",
    "DEFAULT_SETTINGS",
    "FieldDef",
    "ObjectDef",
    "ObjectInfo",
    "FieldInfo",
    "Catalog",
    "PERMISSIONS",
    "SYSTEM_PERMISSION_DEPENDENCIES",
    "OBJECT_PERMISSION_FLAGS",
    "OBJECT_PERMISSION_DEPENDENCIES",
    "OBJECT_PERMISSION_OBJECTS",
    "FLS_OBJECTS",
    "parse_version",
]

# The permission rules shared with the collection (plugins/module_utils/permissions.py, the one copy; see
# shared_rules.py). Everything below that comes from it says so.
_SHARED = shared_rules.load()

DEFAULT_SETTINGS = {
    # shared ref 1.2: the sObject field appears in describes from this version on (configurable, CLI
    # --approve-uninstalled-apps-since); the default is the collection's INTRODUCED_IN entry for it.
    "approve_uninstalled_apps_since": _SHARED["INTRODUCED_IN"]["CanApproveUninstalledApps"][1],
}

# Fields Salesforce maintains itself. Never createable/updateable, never permissionable (FieldPermissions rows do not
# exist for them: OBJREF67 FieldPermissions "Usage", shared ref 3).
AUDIT_FIELDS = ("CreatedById", "CreatedDate", "LastModifiedById", "LastModifiedDate", "SystemModstamp", "IsDeleted")

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "datetime": "xsd:dateTime",
    "date": "xsd:date",
    "int": "xsd:int",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "address": "urn:address",
}
_STRINGISH = {"string", "picklist", "multipicklist", "textarea", "email", "phone", "url", "combobox", "encryptedstring"}


def parse_version(version) -> tuple[int, int]:
    """'67.0' / 'v67.0' / 67 -> (67, 0). Raises ValueError for anything else."""
    s = str(version).strip()
    if s[:1] in ("v", "V"):
        s = s[1:]
    major, _, minor = s.partition(".")
    return int(major), int(minor or 0)


# --------------------------------------------------------------------------------------------------------------------
# Permissions (PermissionSet / Profile ``Permissions*`` fields)
# --------------------------------------------------------------------------------------------------------------------

_DATA_DIR = Path(__file__).with_name("data")


def _load_permissions() -> list[dict]:
    with open(_DATA_DIR / "permissions.json", encoding="utf-8") as fh:
        return json.load(fh)["permissions"]


# [{"name": "ApiEnabled", "label": "API Enabled", "since"?: ..., "source"?: ...}], sorted by name.
PERMISSIONS: list[dict] = _load_permissions()

# System-permission dependencies enforced on PermissionSet writes: permission -> permissions it requires (API names
# without the "Permissions" prefix). Salesforce rejects the write instead of enabling them (shared ref 1.3). The
# collection's SYSTEM_DEPENDENCIES, with its sources; the feature-dependent pairs it leaves out are not enforced here
# either (the emulated orgs have Translation Workbench and territory management off).
SYSTEM_PERMISSION_DEPENDENCIES: dict[str, tuple[str, ...]] = {
    perm: tuple(deps) for perm, deps in _SHARED["SYSTEM_DEPENDENCIES"].items()
}

# ObjectPermissions flags in dependency order, with the verbs Salesforce uses in dependency messages (FIELDREF67
# labels "Read Records"... are not what messages show). [3rd, shared ref 2]: "Permission Read SerializedProduct depends
# on permission(s): Read Product2", "Permission Read All Asset depends on permission(s): Read All Account"
# (ViewAllRecords = "Read All"); deploy error "Permission Modify All Approval_Chain_Step__c depends on ...";
# "View All Fields" [infer].
OBJECT_PERMISSION_FLAGS: tuple[tuple[str, str], ...] = (
    ("PermissionsRead", "Read"),
    ("PermissionsCreate", "Create"),
    ("PermissionsEdit", "Edit"),
    ("PermissionsDelete", "Delete"),
    ("PermissionsViewAllRecords", "Read All"),
    ("PermissionsModifyAllRecords", "Modify All"),
    ("PermissionsViewAllFields", "View All Fields"),
)
# The collection's OBJECT_REQUIRES, by field name ([doc] OBJREF ObjectPermissions field descriptions, shared ref 2:
# Create/Edit need Read; Delete needs Read+Edit; ViewAllRecords needs Read; ModifyAllRecords needs
# Read+Edit+Delete+ViewAllRecords). PermissionsViewAllFields has none: [3rd] Jetstream's permission editor sets no
# dependency for it (libs/features/manage-permissions/src/utils/permission-manager-table-utils.tsx) and no
# Salesforce text names one; the collection does not manage that flag.
_FLAG_FIELD = dict(_SHARED["OBJECT_FLAGS"])
OBJECT_PERMISSION_DEPENDENCIES: dict[str, tuple[str, ...]] = {
    _FLAG_FIELD[flag]: tuple(_FLAG_FIELD[d] for d in deps) for flag, deps in _SHARED["OBJECT_REQUIRES"].items()
}

# Objects that accept ObjectPermissions rows (= the ObjectPermissions.SobjectType restricted picklist). [real] every
# one of them carries objectPermissions in real profiles and permission sets (AlexShmellyoff/Arbutus@4d7b8a6 Admin
# profile, 168 objects; Epic-ATS/NightlyBackup@75e301d); none of the objects sfemu leaves out ever does: User,
# Profile, Task, Event, OpportunityLineItem, OrderItem, CaseComment, Note, ContentNote, ContentDocumentLink, FeedItem
# (same profiles; [3rd] Jetstream reads the org's own picklist: "children whose access rolls up to a parent").
OBJECT_PERMISSION_OBJECTS = ("Account", "Campaign", "Case", "Contact", "Health_Score__c", "Lead", "Opportunity",
                             "Order", "Product2")

# Objects whose fields take field-level security (= the FieldPermissions.SobjectType restricted picklist): those with
# object permissions plus Task, Event, OpportunityLineItem, OrderItem and User, which take FieldPermissions but no
# ObjectPermissions ([real] their FieldPermissions in the profiles above; [3rd] Jetstream: "PricebookEntry, Task,
# Event, OpportunityLineItem, OrderItem and User accept FieldPermissions but have no ObjectPermissions record"). On
# User only custom fields do (is_permissionable). Other setup objects, CaseComment, Note, ContentNote,
# ContentDocumentLink and FeedItem have no field permissions in any real profile.
FLS_OBJECTS = tuple(sorted(OBJECT_PERMISSION_OBJECTS + ("Event", "OpportunityLineItem", "OrderItem", "Task", "User")))


# --------------------------------------------------------------------------------------------------------------------
# Declarations
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class FieldDef:
    name: str
    type: str
    label: str
    length: int = 0
    createable: bool = True
    updateable: bool = True
    nillable: bool = True
    defaulted: bool = False
    default: object = None  # value set on create when the field is omitted
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    master_detail: bool = False  # relationshipOrder 0, cascadeDelete, writeRequiresMasterRead
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    unique: bool = False
    id_lookup: bool = False
    external_id: bool = False
    name_field: bool = False
    formula: str | None = None  # calculatedFormula; value computed by ``compute``
    compute: object = None  # callable(row) -> value, for formula fields
    auto_number: str | None = None  # display format, e.g. "HS-{0000}"
    precision: int = 0
    scale: int = 0
    digits: int = 0
    since: str | None = None
    permissionable: bool | None = None  # None = derive from Salesforce's rules (see ``is_permissionable``)
    compound: str | None = None  # describe compoundFieldName: the compound field this one is a part of
    polymorphic: bool = False
    cascade_delete: bool = False
    restricted_delete: bool = False
    child_relationship: str | None = None  # the relationship name on the parent side (e.g. Contacts)
    html: bool = False

    @property
    def custom(self) -> bool:
        return self.name.endswith("__c")

    @property
    def calculated(self) -> bool:
        return self.formula is not None

    @property
    def required(self) -> bool:
        """Must be given on create (describe: createable, not nillable, not defaulted on create)."""
        return self.createable and not self.nillable and not self.defaulted and self.type != "boolean"


@dataclass
class ObjectDef:
    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: list[FieldDef]
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    queryable: bool = True
    retrieveable: bool = True
    searchable: bool = True
    custom: bool = False
    setup: bool = False  # setup object (cannot be mixed with data objects in one collections call)
    since: str | None = None
    layoutable: bool = True
    feed_enabled: bool = False
    audit: tuple[str, ...] = AUDIT_FIELDS
    record_name: str = "Name"

    def field(self, name: str) -> FieldDef | None:
        return self._by_lower.get(name.lower())

    def __post_init__(self):
        self._by_lower = {f.name.lower(): f for f in self.fields}


def F(name, type_, label=None, **kw) -> FieldDef:
    if label is None:
        label = name
    if type_ in ("id", "reference") and "length" not in kw:
        kw["length"] = 18
    return FieldDef(name=name, type=type_, label=label, **kw)


def _ro(name, type_, label=None, **kw) -> FieldDef:
    kw.setdefault("createable", False)
    kw.setdefault("updateable", False)
    return F(name, type_, label, **kw)


def _id(label: str) -> FieldDef:
    return F("Id", "id", label, createable=False, updateable=False, nillable=False, defaulted=True, id_lookup=True)


def _audit(names=AUDIT_FIELDS) -> list[FieldDef]:
    out = []
    for n in names:
        if n == "IsDeleted":
            out.append(_ro(n, "boolean", "Deleted", nillable=False, defaulted=True))
        elif n.endswith("ById"):
            rel = n[:-2]
            lab = "Created By ID" if n.startswith("Created") else "Last Modified By ID"
            out.append(
                _ro(n, "reference", lab, nillable=False, defaulted=True, reference_to=("User",), relationship_name=rel)
            )
        else:
            lab = {"CreatedDate": "Created Date", "LastModifiedDate": "Last Modified Date",
                   "SystemModstamp": "System Modstamp"}[n]
            out.append(_ro(n, "datetime", lab, nillable=False, defaulted=True))
    return out


def _owner(label="Owner ID") -> FieldDef:
    # OwnerId: defaulted to the creating user; never permissionable (OBJREF67 FieldPermissions; Account describe fixture
    # has permissionable false).
    return F("OwnerId", "reference", label, nillable=False, defaulted=True, reference_to=("User",),
             relationship_name="Owner")


def _address(prefix: str, label: str) -> list[FieldDef]:
    """An address: its parts and the compound field (Account describe fixture: BillingStreet ... BillingCountry with
    compoundFieldName BillingAddress, and BillingAddress of type address, createable/updateable false). Every part
    and the compound are permissionable in real describes, but field-level security is stored on the compound only:
    real profiles and permission sets hold Account.BillingAddress, never Account.BillingCity (fidelity-evidence.md
    row 4), so a FieldPermissions row naming a part is stored under the compound (org._derive_FieldPermissions)."""
    compound = f"{prefix}Address"
    lead = f"{label} " if label else ""
    names = [(f"{prefix}Street", "textarea", "Street", 255), (f"{prefix}City", "string", "City", 40),
             (f"{prefix}State", "string", "State/Province", 80),
             (f"{prefix}PostalCode", "string", "Zip/Postal Code", 20), (f"{prefix}Country", "string", "Country", 80)]
    parts = [F(name, type_, lead + part_label, length=length, compound=compound)
             for name, type_, part_label, length in names]
    keys = ("street", "city", "state", "postalCode", "country")

    def compose(row):
        # REST returns the compound as an object of its parts; null when every part is empty [infer].
        values = {key: row.get(name) for key, (name, _t, _l, _n) in zip(keys, names)}
        if not any(v is not None for v in values.values()):
            return None
        return dict(values, geocodeAccuracy=None, latitude=None, longitude=None)

    return parts + [_ro(compound, "address", f"{lead}Address".strip(), compute=compose)]


# User picklists. Real orgs list hundreds of values; these are common real values (sfdx-core REQUIRED_FIELDS docs
# and shared ref 5 "Typical values"). Restricted, so a bad value fails like in Salesforce.
_TIME_ZONES = (
    "America/Los_Angeles", "America/Denver", "America/Phoenix", "America/Chicago", "America/New_York",
    "America/Sao_Paulo", "America/Toronto", "Europe/London", "Europe/Dublin", "Europe/Paris", "Europe/Berlin",
    "Europe/Amsterdam", "Europe/Madrid", "Europe/Rome", "Europe/Zurich", "Europe/Helsinki", "Asia/Dubai",
    "Asia/Kolkata", "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland", "GMT",
)
_LOCALES = (
    "en_US", "en_GB", "en_AU", "en_CA", "en_IE", "de_DE", "de_CH", "fr_FR", "fr_CA", "es_ES", "it_IT", "nl_NL",
    "pt_BR", "ja_JP", "sv_SE", "fi_FI", "da_DK", "no_NO",
)
_LANGUAGES = ("en_US", "en_GB", "de", "fr", "es", "it", "ja", "nl_NL", "pt_BR", "sv", "fi", "da", "no")
_ENCODINGS = ("UTF-8", "ISO-8859-1", "Shift_JIS", "ISO-2022-JP", "EUC-JP", "ks_c_5601-1987", "Big5", "GB2312")

# Account.Type values: from the recorded Account describe (fixture).
_ACCOUNT_TYPES = (
    "Prospect", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller", "Installation Partner",
    "Technology Partner", "Other",
)
_INDUSTRIES = (
    "Agriculture", "Banking", "Communications", "Education", "Energy", "Finance", "Healthcare", "Manufacturing",
    "Media", "Retail", "Technology", "Other",
)
_STAGES = (
    "Prospecting", "Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers",
    "Perception Analysis", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost",
)


def _health_trend(row: dict):
    # Formula of Health_Score__c.Trend__c (see its calculatedFormula).
    score = row.get("Score__c")
    if score is None:
        return None
    if score >= 70:
        return "Healthy"
    if score >= 40:
        return "At Risk"
    return "Critical"


def _opp_closed(row: dict):
    return row.get("StageName") in ("Closed Won", "Closed Lost")


def _opp_won(row: dict):
    return row.get("StageName") == "Closed Won"


def _name_of(row: dict):
    parts = [row.get("FirstName"), row.get("LastName")]
    return " ".join(p for p in parts if p) or None


def _build_objects() -> list[ObjectDef]:
    objs: list[ObjectDef] = []

    def obj(name, label, plural, prefix, fields, *, audit=AUDIT_FIELDS, **kw):
        id_label = kw.pop("id_label", f"{label} ID")
        o = ObjectDef(name=name, label=label, label_plural=plural, key_prefix=prefix,
                      fields=[_id(id_label)] + list(fields) + _audit(audit), audit=audit, **kw)
        objs.append(o)
        return o

    setup_audit = ("CreatedById", "CreatedDate", "LastModifiedById", "LastModifiedDate", "SystemModstamp")

    # ---- Organization (00D) ----------------------------------------------------------------------------------------
    # Fields as in the recorded GET_sobjects_Organization.yaml (subset). Read-only through the emulator [infer: the
    # real object allows update() of a few preferences only].
    obj("Organization", "Organization", "Organizations", "00D", [
        _ro("Name", "string", "Name", length=80, nillable=False, name_field=True),
        _ro("OrganizationType", "picklist", "Edition", length=40, picklist=(
            "Team Edition", "Professional Edition", "Enterprise Edition", "Developer Edition",
            "Personal Edition", "Unlimited Edition", "Contact Manager Edition", "Base Edition")),
        _ro("IsSandbox", "boolean", "Is Sandbox", nillable=False, defaulted=True),
        _ro("InstanceName", "string", "Instance Name", length=5),
        _ro("NamespacePrefix", "string", "Namespace Prefix", length=15),
        _ro("Country", "string", "Country", length=80),
        _ro("DefaultLocaleSidKey", "picklist", "Locale", length=40, picklist=_LOCALES),
        _ro("LanguageLocaleKey", "picklist", "Language", length=40, picklist=_LANGUAGES),
        _ro("TimeZoneSidKey", "picklist", "Time Zone", length=40, picklist=_TIME_ZONES),
        _ro("TrialExpirationDate", "datetime", "Trial Expiration Date"),
        _ro("IsReadOnly", "boolean", "Is Read Only", nillable=False, defaulted=True),
    ], audit=setup_audit, createable=False, updateable=False, deletable=False, setup=True, searchable=False)

    # ---- UserLicense (100 [infer]) --------------------------------------------------------------------------------
    obj("UserLicense", "User License", "User Licenses", "100", [
        _ro("LicenseDefinitionKey", "string", "License Definition Key", length=40, nillable=False),
        _ro("Name", "string", "Name", length=40, nillable=False, name_field=True),
        _ro("MasterLabel", "string", "Master Label", length=80, nillable=False),
        _ro("Status", "picklist", "Status", length=40, picklist=("Active", "Disabled")),
        _ro("TotalLicenses", "int", "Total Licenses", nillable=False, digits=9),
        _ro("UsedLicenses", "int", "Used Licenses", nillable=False, digits=9),
        _ro("UsedLicensesLastUpdated", "datetime", "Used Licenses Last Updated", nillable=False),
    ], audit=setup_audit, createable=False, updateable=False, deletable=False, setup=True, searchable=False)

    # ---- PermissionSetLicense (0PL [real XSOAR]) -------------------------------------------------------------------
    obj("PermissionSetLicense", "Permission Set License", "Permission Set Licenses", "0PL", [
        _ro("DeveloperName", "string", "Permission Set License Name", length=80, nillable=False),
        _ro("MasterLabel", "string", "Label", length=80, nillable=False, name_field=True),
        _ro("Language", "picklist", "Master Language", length=40, picklist=_LANGUAGES),
        _ro("PermissionSetLicenseKey", "string", "Permission Set License Key", length=80),
        _ro("Status", "picklist", "Status", length=40, picklist=("Active", "Disabled", "Expired")),
        _ro("ExpirationDate", "date", "Expiration Date"),
        _ro("TotalLicenses", "int", "Total Licenses", nillable=False, digits=9),
        _ro("UsedLicenses", "int", "Used Licenses", nillable=False, digits=9),
        _ro("IsSupplementLicense", "boolean", "Is Supplement License", nillable=False, defaulted=True),
        _ro("IsAvailableForIntegrations", "boolean", "Available for Integrations", nillable=False, defaulted=True),
    ], audit=setup_audit + ("IsDeleted",), createable=False, updateable=False, deletable=False, setup=True,
        searchable=False, record_name="MasterLabel")

    # ---- Profile (00e) ---------------------------------------------------------------------------------------------
    # Permissions* mirror the profile's owned permission set (OBJREF67 PermissionSet "Associated Profiles"). The
    # emulator keeps profiles read-only through REST [infer: profiles are maintained in Setup / Metadata API].
    obj("Profile", "Profile", "Profiles", "00e", [
        _ro("Name", "string", "Name", length=255, nillable=False, name_field=True),
        _ro("UserLicenseId", "reference", "User License ID", nillable=False, reference_to=("UserLicense",),
            relationship_name="UserLicense"),
        _ro("UserType", "picklist", "User Type", length=40,
            picklist=("Standard", "PowerPartner", "CsnOnly", "Guest", "CspLitePortal")),
        _ro("Description", "string", "Description", length=255),
        _ro("IsSsoEnabled", "boolean", "Is Single Sign-On Enabled", nillable=False, defaulted=True),
    ] + [_perm_field(p, createable=False, updateable=False) for p in PERMISSIONS],
        audit=setup_audit, createable=False, updateable=False, deletable=False, setup=True, searchable=False)

    # ---- User (005) ------------------------------------------------------------------------------------------------
    # Calls: no delete [doc OBJREF]. Required on create: sfdx-core REQUIRED_FIELDS (shared ref 5).
    obj("User", "User", "Users", "005", [
        F("Username", "string", "Username", length=80, nillable=False, unique=True, id_lookup=True),
        F("LastName", "string", "Last Name", length=80, nillable=False, compound="Name"),
        F("FirstName", "string", "First Name", length=40, compound="Name"),
        _ro("Name", "string", "Full Name", length=121, nillable=False, name_field=True, compute=_name_of),
        F("Email", "email", "Email", length=128, nillable=False),
        F("Alias", "string", "Alias", length=8, nillable=False),
        F("CommunityNickname", "string", "Nickname", length=40, nillable=False, defaulted=True, unique=True),
        F("Title", "string", "Title", length=80),
        F("Department", "string", "Department", length=80),
        F("CompanyName", "string", "Company Name", length=80),
        F("Phone", "phone", "Phone", length=40),
        F("TimeZoneSidKey", "picklist", "Time Zone", length=40, nillable=False, picklist=_TIME_ZONES, restricted=True),
        F("LocaleSidKey", "picklist", "Locale", length=40, nillable=False, picklist=_LOCALES, restricted=True),
        F("EmailEncodingKey", "picklist", "Email Encoding", length=40, nillable=False, picklist=_ENCODINGS,
          restricted=True),
        F("LanguageLocaleKey", "picklist", "Language", length=40, nillable=False, picklist=_LANGUAGES, restricted=True),
        F("ProfileId", "reference", "Profile ID", nillable=False, reference_to=("Profile",),
          relationship_name="Profile", child_relationship="Users"),
        F("ManagerId", "reference", "Manager ID", reference_to=("User",), relationship_name="Manager"),
        F("IsActive", "boolean", "Active", nillable=False, defaulted=True, default=True),
        _ro("UserType", "picklist", "User Type", length=40, defaulted=True,
            picklist=("Standard", "PowerPartner", "CsnOnly", "Guest", "CspLitePortal")),
        F("FederationIdentifier", "string", "SAML Federation ID", length=512),
        _ro("LastLoginDate", "datetime", "Last Login"),
        _ro("LastPasswordChangeDate", "datetime", "Last Password Change or Reset"),
        # A custom field: on User only custom fields take field-level security (fidelity-evidence.md row 13: User.*__c
        # rows in real profiles and permission sets, no standard User field in any of them).
        F("Cost_Center__c", "string", "Cost Center", length=40),
    ], audit=setup_audit, deletable=False, setup=True, feed_enabled=True)

    # ---- UserLogin (0Yw [real XSOAR]) -------------------------------------------------------------------------------
    # Calls: describeSObjects, query, retrieve, update; only IsFrozen and IsPasswordLocked (false only) are updateable
    # [doc OBJREF userlogin, shared ref 5].
    obj("UserLogin", "User Login", "User Logins", "0Yw", [
        _ro("UserId", "reference", "User ID", nillable=False, reference_to=("User",), relationship_name=None),
        F("IsFrozen", "boolean", "Is Frozen", createable=False, nillable=False, defaulted=True, default=False),
        F("IsPasswordLocked", "boolean", "Is Password Locked", createable=False, nillable=False, defaulted=True,
          default=False),
        _ro("LastModifiedById", "reference", "Last Modified By ID", nillable=False, defaulted=True,
            reference_to=("User",), relationship_name="LastModifiedBy"),
        _ro("LastModifiedDate", "datetime", "Last Modified Date", nillable=False, defaulted=True),
    ], audit=(), createable=False, deletable=False, setup=True, searchable=False, layoutable=False,
        record_name="UserId")

    # ---- PermissionSetGroup (0PG, v45+ [doc, shared ref 1]) -------------------------------------------------------
    obj("PermissionSetGroup", "Permission Set Group", "Permission Set Groups", "0PG", [
        F("DeveloperName", "string", "Permission Set Group Name", length=80, nillable=False),
        F("MasterLabel", "string", "Label", length=80, nillable=False, name_field=True),
        F("Language", "picklist", "Master Language", length=40, picklist=_LANGUAGES, defaulted=True, default="en_US"),
        F("Description", "textarea", "Description", length=1000),
        F("HasActivationRequired", "boolean", "Session Activation Required", nillable=False, defaulted=True,
          default=False),
        _ro("NamespacePrefix", "string", "Namespace Prefix", length=15),
        _ro("Status", "picklist", "Status", length=40, defaulted=True,
            picklist=("Updated", "Outdated", "Updating", "Failed")),
    ], audit=setup_audit + ("IsDeleted",), setup=True, since="45.0", searchable=False, record_name="MasterLabel")

    # ---- PermissionSet (0PS) ---------------------------------------------------------------------------------------
    # Field table: shared ref 1 (OBJREF67 + real v63 describe in AUDIT).
    obj("PermissionSet", "Permission Set", "Permission Sets", "0PS", [
        F("Name", "string", "Name", length=80, nillable=False),
        F("Label", "string", "Label", length=80, nillable=False, name_field=True),
        F("Description", "string", "Description", length=255),
        # real describe: updateable=false (shared ref 1).
        F("LicenseId", "reference", "License ID", updateable=False,
          reference_to=("PermissionSetLicense", "UserLicense"), relationship_name="License", polymorphic=True,
          since="38.0"),
        F("HasActivationRequired", "boolean", "Session Activation Required", nillable=False, defaulted=True,
          default=False),
        _ro("IsOwnedByProfile", "boolean", "Is Owned by Profile", nillable=False, defaulted=True),
        _ro("ProfileId", "reference", "Profile ID", reference_to=("Profile",), relationship_name="Profile"),
        _ro("IsCustom", "boolean", "Custom", nillable=False, defaulted=True),
        _ro("NamespacePrefix", "string", "Namespace Prefix", length=15),
        _ro("PermissionSetGroupId", "reference", "Permission Set Group ID", reference_to=("PermissionSetGroup",),
            relationship_name="PermissionSetGroup", since="45.0"),
        _ro("Type", "picklist", "Type", length=40, defaulted=True, restricted=True,
            picklist=("Regular", "Profile", "Group", "Session", "Integration", "Standard"), since="46.0"),
        F("PsgCount", "int", "Permission Set Groups Count", digits=9, defaulted=True),
    ] + [_perm_field(p) for p in PERMISSIONS], audit=setup_audit, setup=True, searchable=False, record_name="Label")

    # ---- PermissionSetAssignment (0Pa [real]) ----------------------------------------------------------------------
    # Fields: OBJREF67 (shared ref 4). Only SystemModstamp as audit field [infer from the OBJREF field list].
    # Update is listed but only ExpirationDate changes; "To update an assignment, delete ... and insert a new one."
    obj("PermissionSetAssignment", "Permission Set Assignment", "Permission Set Assignments", "0Pa", [
        F("AssigneeId", "reference", "Assignee ID", updateable=False, nillable=False, reference_to=("User",),
          relationship_name="Assignee", child_relationship="PermissionSetAssignments"),
        F("PermissionSetId", "reference", "Permission Set ID", updateable=False, reference_to=("PermissionSet",),
          relationship_name="PermissionSet", child_relationship="Assignments"),
        F("PermissionSetGroupId", "reference", "Permission Set Group ID", updateable=False,
          reference_to=("PermissionSetGroup",), relationship_name="PermissionSetGroup",
          child_relationship="Assignments", since="45.0"),
        F("ExpirationDate", "datetime", "Expiration Date", since="52.0"),
        _ro("IsActive", "boolean", "Is Active", nillable=False, defaulted=True, since="52.0"),
        _ro("IsRevoked", "boolean", "Is Revoked", nillable=False, defaulted=True, since="57.0"),
    ], audit=("SystemModstamp",), setup=True, searchable=False, layoutable=False, record_name="Id",
        id_label="Permission Set Assignment ID")

    # ---- PermissionSetLicenseAssign (2LA [real XSOAR]) -------------------------------------------------------------
    # child relationship on User "PermissionSetLicenseAssignments" [real: CumulusCI PR #2193 queries it as a User
    # sub-query]; on PermissionSetLicense [infer] same name.
    obj("PermissionSetLicenseAssign", "Permission Set License Assignment", "Permission Set License Assignments",
        "2LA", [
        F("AssigneeId", "reference", "Assignee ID", updateable=False, nillable=False, reference_to=("User",),
          relationship_name="Assignee", child_relationship="PermissionSetLicenseAssignments"),
        F("PermissionSetLicenseId", "reference", "Permission Set License ID", updateable=False, nillable=False,
          reference_to=("PermissionSetLicense",), relationship_name="PermissionSetLicense",
          child_relationship="PermissionSetLicenseAssignments"),
    ], audit=setup_audit + ("IsDeleted",), updateable=False, setup=True, searchable=False, layoutable=False,
        record_name="Id")

    # ---- ObjectPermissions (110 [real]) ----------------------------------------------------------------------------
    # FIELDREF67 + OBJREF (shared ref 2). ParentId polymorphic in reality (MutingPermissionSet, PermissionSet,
    # PermissionSetLicense, UserLicense); only PermissionSet is writable here [infer].
    obj("ObjectPermissions", "Object Permissions", "Object Permissions", "110", [
        F("ParentId", "reference", "Parent ID", updateable=False, nillable=False, reference_to=("PermissionSet",),
          relationship_name="Parent", child_relationship="ObjectPerms", cascade_delete=True),
        F("SobjectType", "picklist", "Sobject Type Name", length=40, updateable=False, nillable=False,
          picklist=OBJECT_PERMISSION_OBJECTS, restricted=True),
        F("PermissionsRead", "boolean", "Read Records", nillable=False, defaulted=True, default=False),
        F("PermissionsCreate", "boolean", "Create Records", nillable=False, defaulted=True, default=False),
        F("PermissionsEdit", "boolean", "Edit Records", nillable=False, defaulted=True, default=False),
        F("PermissionsDelete", "boolean", "Delete Records", nillable=False, defaulted=True, default=False),
        F("PermissionsViewAllRecords", "boolean", "Read All Records", nillable=False, defaulted=True, default=False),
        F("PermissionsModifyAllRecords", "boolean", "Edit All Records", nillable=False, defaulted=True, default=False),
        F("PermissionsViewAllFields", "boolean", "ViewAllFields", nillable=False, defaulted=True, default=False),
    ], audit=setup_audit, setup=True, searchable=False, layoutable=False, record_name="Id")

    # ---- FieldPermissions (01k [infer]) ----------------------------------------------------------------------------
    # OBJREF67 FieldPermissions (shared ref 3). Field picklist values = "<Object>.<Field>" of permissionable fields;
    # filled in by Catalog (it depends on the version).
    obj("FieldPermissions", "Field Permissions", "Field Permissions", "01k", [
        F("ParentId", "reference", "Parent ID", updateable=False, nillable=False, reference_to=("PermissionSet",),
          relationship_name="Parent", child_relationship="FieldPerms", cascade_delete=True),
        F("SobjectType", "picklist", "Sobject Type Name", length=40, updateable=False, nillable=False,
          picklist=FLS_OBJECTS, restricted=True),
        F("Field", "picklist", "Field Name", length=255, updateable=False, nillable=False, restricted=True),
        F("PermissionsRead", "boolean", "Read Field", nillable=False, defaulted=True, default=False),
        F("PermissionsEdit", "boolean", "Edit Field", nillable=False, defaulted=True, default=False),
    ], audit=("SystemModstamp",), setup=True, searchable=False, layoutable=False, record_name="Id")

    # ---- SetupEntityAccess (0J0 [infer]) ---------------------------------------------------------------------------
    # Calls create, delete, describeSObjects, query, retrieve (no update) [doc OBJREF67]. SetupEntityType is not
    # createable, derived from SetupEntityId. Parent side relationship "SetupEntityAccessItems" [infer: the name the
    # same object carries under ApexClass/CustomPermission in OBJREF examples]. ConnectedApplication has no such child
    # relationship: OBJREF "it's not possible to return permission sets that have access to these SetupEntityType
    # fields by any other ... attribute".
    obj("SetupEntityAccess", "Setup Entity Access", "Setup Entity Access", "0J0", [
        F("ParentId", "reference", "Parent ID", updateable=False, nillable=False, reference_to=("PermissionSet",),
          relationship_name="Parent", child_relationship="SetupEntityAccessItems", cascade_delete=True),
        F("SetupEntityId", "reference", "Setup Entity ID", updateable=False, nillable=False,
          reference_to=("ConnectedApplication",), relationship_name=None, polymorphic=True),
        _ro("SetupEntityType", "picklist", "Setup Entity Type", length=40, restricted=True, picklist=(
            "ApexClass", "ApexPage", "ConnectedApplication", "CustomEntityDefinition", "CustomPermission",
            "EmailRoutingAddress", "ExternalClientApplication", "ExternalCredentialParameter", "FlowDefinition",
            "MessagingChannel", "OrgWideEmailAddress", "ServiceProvider", "StandardInvocableActionType", "TabSet")),
    ], audit=("SystemModstamp",), updateable=False, setup=True, searchable=False, layoutable=False, record_name="Id")

    # ---- ConnectedApplication (0H4 [real AUDIT]) -------------------------------------------------------------------
    # "all fields are read-only"; calls describeSObjects, query, retrieve [doc OBJREF67, shared ref 6.1].
    obj("ConnectedApplication", "Connected App", "Connected Apps", "0H4", [
        _ro("Name", "string", "Connected App Name", length=80, nillable=False, name_field=True, id_lookup=True),
        _ro("OptionsAllowAdminApprovedUsersOnly", "boolean", "Admin Approved Users Are Pre-Authorized", nillable=False,
            defaulted=True),
        _ro("OptionsRefreshTokenValidityMetric", "boolean", "Refresh Token Validity By Inactivity", nillable=False,
            defaulted=True),
        _ro("RefreshTokenValidityPeriod", "int", "Refresh Token Validity Period", digits=9),
        _ro("OptionsHasSessionLevelPolicy", "boolean", "High Assurance Session Required", nillable=False,
            defaulted=True),
        _ro("OptionsIsInternal", "boolean", "Is Internal", nillable=False, defaulted=True),
        _ro("OptionsFullContentPushNotifications", "boolean", "Full Content Push Notifications", nillable=False,
            defaulted=True),
        _ro("MobileSessionTimeout", "picklist", "Mobile Session Timeout", length=40,
            picklist=("Never", "M1", "M5", "M10", "M15", "M30")),
        _ro("MobileStartUrl", "url", "Mobile Start URL", length=255),
        _ro("StartUrl", "url", "Start URL", length=255),
        _ro("PinLength", "picklist", "PIN Length", length=40, picklist=("4", "5", "6", "7", "8")),
        _ro("UvidTimeout", "picklist", "UVID Timeout", length=40, picklist=("M1", "M5", "M10", "M15", "M30", "M60"),
            since="59.0"),
    ], audit=setup_audit, createable=False, updateable=False, deletable=False, setup=True, searchable=False)

    # ---- OauthToken (0CQ [infer]) ----------------------------------------------------------------------------------
    # One row per OAuth grant of an app to a user (OBJREF OauthToken: "Each time that a user grants access to an
    # application, the application obtains a new access token"); queried for OAuth usage (AUDIT queries.ts, sfdx-hardis
    # unsecure-connected-apps.ts). Supported calls describeSObjects() and query() only [doc OBJREF OauthToken]: no
    # REST delete; a token is revoked by sending its DeleteToken to /services/oauth2/revoke ("Usage" [doc]).
    # AccessToken ("The refresh token for authorization" [doc]) stays null: the emulator never hands out a credential
    # in a query [infer]. AppMenuItemId is not emulated (no AppMenuItem object).
    obj("OauthToken", "OAuth Token", "OAuth Tokens", "0CQ", [
        _ro("AccessToken", "string", "Access Token", length=255),
        _ro("AppName", "string", "Application Name", length=255),
        _ro("DeleteToken", "string", "Delete Token", length=255),
        _ro("UserId", "reference", "User ID", nillable=False, reference_to=("User",), relationship_name="User"),
        _ro("UseCount", "int", "Use Count", digits=9),
        _ro("LastUsedDate", "datetime", "Last Used Date"),
        _ro("RequestToken", "string", "Request Token", length=255),
    ], audit=("CreatedDate",), createable=False, updateable=False, deletable=False, setup=True, searchable=False,
        layoutable=False, record_name="AppName")

    # ---- ExternalClientApplication (0xE [infer]) -------------------------------------------------------------------
    # Installed External Client Apps, read-only: AUDIT queries.ts "SELECT Id,MasterLabel,DeveloperName,
    # DistributionState FROM ExternalClientApplication" with real-shaped results [3rd]; DistributionState values from
    # the Metadata type ExternalClientApplication (Local, Packaged; AutoInstalled, Managed "for internal use") [doc].
    obj("ExternalClientApplication", "External Client App", "External Client Apps", "0xE", [
        _ro("MasterLabel", "string", "Label", length=80, nillable=False, name_field=True),
        _ro("DeveloperName", "string", "Name", length=80, nillable=False),
        _ro("DistributionState", "picklist", "Distribution State", length=40, restricted=True,
            picklist=("Local", "Packaged", "AutoInstalled", "Managed")),
    ], audit=setup_audit, createable=False, updateable=False, deletable=False, setup=True, searchable=False,
        layoutable=False, since="59.0", record_name="MasterLabel")

    # ---- ExtlClntAppOauthPlcyCnfg (0xO [infer]) --------------------------------------------------------------------
    # The OAuth policies of an ECA as a queryable row: AUDIT queries.ts "SELECT ExternalClientApplicationId,
    # PermittedUsersPolicyType FROM ExtlClntAppOauthPlcyCnfg", sfdx-hardis reads PermittedUsersPolicyType (peers.md
    # HD-2) [3rd]. Mirrors the Metadata component ExtlClntAppOauthConfigurablePolicies.
    obj("ExtlClntAppOauthPlcyCnfg", "External Client App OAuth Policy", "External Client App OAuth Policies", "0xO", [
        _ro("ExternalClientApplicationId", "reference", "External Client App ID", nillable=False,
            reference_to=("ExternalClientApplication",), relationship_name="ExternalClientApplication"),
        _ro("PermittedUsersPolicyType", "picklist", "Permitted Users", length=40, restricted=True,
            picklist=("AdminApprovedPreAuthorized", "AllSelfAuthorized")),
    ], audit=setup_audit, createable=False, updateable=False, deletable=False, setup=True, searchable=False,
        layoutable=False, since="59.0", record_name="Id")

    # ---- Data objects ----------------------------------------------------------------------------------------------
    # Field properties as in the recorded real describes where present (CumulusCI cassettes, fidelity-evidence.md
    # "CCI": Account in shared/fixtures, Contact, Case, Event, Lead, Opportunity). Which fields take field-level
    # security follows real orgs: the describe `permissionable` flag of those cassettes, and the FieldPermissions of
    # the real "Minimum Access - API Only Integrations" profile in AlexShmellyoff/Arbutus@4d7b8a6
    # (force-app/main/default/profiles/, 2025-08, every permissionable field of the org, readable=false included;
    # "ARB" below). `permissionable=...` on a field marks where the real value departs from is_permissionable's rules.
    obj("Account", "Account", "Accounts", "001", [
        # Account fixture: compoundFieldName "Name" on Name itself (the person-account name) [real].
        F("Name", "string", "Account Name", length=255, nillable=False, name_field=True, compound="Name"),
        F("Type", "picklist", "Account Type", length=40, picklist=_ACCOUNT_TYPES),
        F("Industry", "picklist", "Industry", length=40, picklist=_INDUSTRIES),
        F("Rating", "picklist", "Account Rating", length=40, picklist=("Hot", "Warm", "Cold")),
        F("AccountNumber", "string", "Account Number", length=40),
        F("ParentId", "reference", "Parent Account ID", reference_to=("Account",), relationship_name="Parent",
          child_relationship="ChildAccounts"),
        F("Phone", "phone", "Account Phone", length=40),
        F("Website", "url", "Website", length=255),
        *_address("Billing", "Billing"),
        F("AnnualRevenue", "currency", "Annual Revenue", precision=18, scale=0),
        F("NumberOfEmployees", "int", "Employees", digits=8),
        F("Description", "textarea", "Account Description", length=32000),
        _owner(),
    ], feed_enabled=True)

    obj("Contact", "Contact", "Contacts", "003", [
        F("LastName", "string", "Last Name", length=80, nillable=False, compound="Name"),
        F("FirstName", "string", "First Name", length=40, compound="Name"),
        F("Salutation", "picklist", "Salutation", length=40, picklist=("Mr.", "Ms.", "Mrs.", "Dr.", "Prof."),
          compound="Name"),
        _ro("Name", "string", "Full Name", length=121, nillable=False, name_field=True, compute=_name_of),
        # Account describe fixture: Contacts (cascadeDelete true).
        F("AccountId", "reference", "Account ID", reference_to=("Account",), relationship_name="Account",
          child_relationship="Contacts", cascade_delete=True),
        F("Email", "email", "Email", length=80),
        F("Phone", "phone", "Business Phone", length=40),
        F("Title", "string", "Title", length=128),
        *_address("Mailing", "Mailing"),
        F("Birthdate", "date", "Birthdate"),
        F("Description", "textarea", "Contact Description", length=32000),
        _owner(),
    ], feed_enabled=True)

    obj("Lead", "Lead", "Leads", "00Q", [
        F("LastName", "string", "Last Name", length=80, nillable=False, compound="Name"),
        F("FirstName", "string", "First Name", length=40, compound="Name"),
        F("Salutation", "picklist", "Salutation", length=40, picklist=("Mr.", "Ms.", "Mrs.", "Dr.", "Prof."),
          compound="Name"),
        _ro("Name", "string", "Full Name", length=121, nillable=False, name_field=True, compute=_name_of),
        F("Company", "string", "Company", length=255, nillable=False),
        F("Title", "string", "Title", length=128),
        F("Email", "email", "Email", length=80),
        F("Phone", "phone", "Phone", length=40),
        F("Website", "url", "Website", length=255),
        *_address("", ""),
        # CCI Lead describe: Status nillable=false, defaulted, permissionable=false (unlike Campaign.Status, ARB).
        F("Status", "picklist", "Status", length=40, nillable=False, defaulted=True, default="Open - Not Contacted",
          picklist=("Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"),
          permissionable=False),
        F("LeadSource", "picklist", "Lead Source", length=40, picklist=("Web", "Phone Inquiry", "Partner Referral",
                                                                        "Purchased List", "Other")),
        F("Industry", "picklist", "Industry", length=40, picklist=_INDUSTRIES),
        F("Rating", "picklist", "Rating", length=40, picklist=("Hot", "Warm", "Cold")),
        F("AnnualRevenue", "currency", "Annual Revenue", precision=18, scale=0),
        F("NumberOfEmployees", "int", "Employees", digits=8),
        F("Description", "textarea", "Description", length=32000),
        # CCI Lead describe: createable, not updateable, defaulted, permissionable=false.
        F("IsConverted", "boolean", "Converted", updateable=False, nillable=False, defaulted=True, default=False,
          permissionable=False),
        _owner(),
    ], feed_enabled=True)

    obj("Campaign", "Campaign", "Campaigns", "701", [
        F("Name", "string", "Name", length=80, nillable=False, name_field=True),
        F("ParentId", "reference", "Parent Campaign ID", reference_to=("Campaign",), relationship_name="Parent",
          child_relationship="ChildCampaigns"),
        F("Type", "picklist", "Type", length=40, picklist=("Conference", "Webinar", "Email", "Advertisement",
                                                           "Other")),
        F("Status", "picklist", "Status", length=40, picklist=("Planned", "In Progress", "Completed", "Aborted")),
        F("StartDate", "date", "Start Date"),
        F("EndDate", "date", "End Date"),
        F("IsActive", "boolean", "Active", nillable=False, defaulted=True, default=False),
        F("BudgetedCost", "currency", "Budgeted Cost in Campaign", precision=18, scale=0),
        F("ActualCost", "currency", "Actual Cost in Campaign", precision=18, scale=0),
        F("ExpectedRevenue", "currency", "Expected Revenue in Campaign", precision=18, scale=0),
        # Read-only roll-up that ARB still lists with field permissions (read only, like formula fields).
        _ro("NumberOfLeads", "int", "Leads in Campaign", digits=9, permissionable=True),
        F("Description", "textarea", "Description", length=32000),
        _owner(),
    ], feed_enabled=True)

    obj("Product2", "Product", "Products", "01t", [
        F("Name", "string", "Product Name", length=255, nillable=False, name_field=True),
        F("ProductCode", "string", "Product Code", length=255),
        F("Description", "textarea", "Product Description", length=4000),
        F("Family", "picklist", "Product Family", length=40, picklist=("Hardware", "Software", "Services")),
        # Absent from ARB's field permissions: Active takes no field-level security.
        F("IsActive", "boolean", "Active", nillable=False, defaulted=True, default=False, permissionable=False),
        F("QuantityUnitOfMeasure", "picklist", "Quantity Unit Of Measure", length=255, picklist=("Each",)),
    ], feed_enabled=True)

    obj("Opportunity", "Opportunity", "Opportunities", "006", [
        F("Name", "string", "Name", length=120, nillable=False, name_field=True),
        F("StageName", "picklist", "Stage", length=255, nillable=False, picklist=_STAGES),
        F("CloseDate", "date", "Close Date", nillable=False),
        F("Amount", "currency", "Amount", precision=18, scale=2),
        F("Probability", "percent", "Probability (%)", precision=3, scale=0),
        F("AccountId", "reference", "Account ID", reference_to=("Account",), relationship_name="Account",
          child_relationship="Opportunities", cascade_delete=True),
        F("Type", "picklist", "Opportunity Type", length=40, picklist=("Existing Business", "New Business")),
        F("LeadSource", "picklist", "Lead Source", length=40, picklist=("Web", "Phone Inquiry", "Partner Referral",
                                                                        "Purchased List", "Other")),
        F("Description", "textarea", "Description", length=32000),
        _ro("IsClosed", "boolean", "Closed", nillable=False, defaulted=True, compute=_opp_closed),
        _ro("IsWon", "boolean", "Won", nillable=False, defaulted=True, compute=_opp_won),
        _owner(),
    ], feed_enabled=True)

    obj("OpportunityLineItem", "Opportunity Product", "Opportunity Product", "00k", [
        # Master-detail to Opportunity [infer: "controlled by parent"]; no PricebookEntry in the catalogue.
        F("OpportunityId", "reference", "Opportunity ID", updateable=False, nillable=False,
          reference_to=("Opportunity",), relationship_name="Opportunity", child_relationship="OpportunityLineItems",
          master_detail=True, cascade_delete=True),
        _ro("Name", "string", "Opportunity Product Name", length=376, name_field=True),
        F("Quantity", "double", "Quantity", nillable=False, precision=12, scale=2),
        # Absent from ARB's field permissions (Sales Price is always accessible).
        F("UnitPrice", "currency", "Sales Price", precision=18, scale=2, permissionable=False),
        F("TotalPrice", "currency", "Total Price", precision=18, scale=2),
        F("ServiceDate", "date", "Date"),
        F("Description", "string", "Line Description", length=255),
    ])

    obj("Order", "Order", "Orders", "801", [
        # Account describe fixture: Orders (restrictedDelete true). Not in ARB's field permissions.
        F("AccountId", "reference", "Account ID", reference_to=("Account",), relationship_name="Account",
          child_relationship="Orders", restricted_delete=True, permissionable=False),
        F("Name", "string", "Order Name", length=80),
        F("EffectiveDate", "date", "Order Start Date", nillable=False),
        F("Status", "picklist", "Status", length=40, nillable=False, picklist=("Draft", "Activated"), restricted=True),
        _ro("OrderNumber", "string", "Order Number", length=30, nillable=False, defaulted=True, name_field=True,
            auto_number="{00000000}"),
        F("Type", "picklist", "Order Type", length=40, picklist=("New", "Renewal")),
        F("Description", "textarea", "Description", length=32000),
        _owner(),
    ], feed_enabled=True, record_name="OrderNumber")

    obj("OrderItem", "Order Product", "Order Products", "802", [
        # Master-detail to Order; like OpportunityLineItem it has field permissions but no object permissions
        # (fidelity-evidence.md row 1: Jetstream reads both picklists; ARB has OrderItem fields, no OrderItem object).
        F("OrderId", "reference", "Order ID", updateable=False, nillable=False, reference_to=("Order",),
          relationship_name="Order", child_relationship="OrderItems", master_detail=True, cascade_delete=True),
        _ro("OrderItemNumber", "string", "Order Product Number", length=10, nillable=False, defaulted=True,
            name_field=True, auto_number="{0000000000}"),
        F("Quantity", "double", "Quantity", nillable=False, precision=18, scale=2),
        F("UnitPrice", "currency", "Unit Price", nillable=False, precision=18, scale=2),
        _ro("ListPrice", "currency", "List Price", precision=18, scale=2, permissionable=True),
        F("ServiceDate", "date", "Start Date"),
        F("EndDate", "date", "End Date"),
        F("Description", "string", "Line Description", length=255),
    ], record_name="OrderItemNumber")

    obj("Case", "Case", "Cases", "500", [
        _ro("CaseNumber", "string", "Case Number", length=30, nillable=False, defaulted=True, name_field=True,
            auto_number="{00000000}"),
        # Account describe fixture: Cases (restrictedDelete true).
        F("AccountId", "reference", "Account ID", reference_to=("Account",), relationship_name="Account",
          child_relationship="Cases", restricted_delete=True),
        F("ContactId", "reference", "Contact ID", reference_to=("Contact",), relationship_name="Contact",
          child_relationship="Cases"),
        F("Subject", "string", "Subject", length=255),
        F("Description", "textarea", "Description", length=32000),
        # CCI Case describe: Status permissionable=false (always readable), Priority permissionable=true.
        F("Status", "picklist", "Status", length=40, defaulted=True, default="New",
          picklist=("New", "Working", "Escalated", "Closed"), permissionable=False),
        F("Priority", "picklist", "Priority", length=40, defaulted=True, default="Medium",
          picklist=("High", "Medium", "Low")),
        F("Origin", "picklist", "Case Origin", length=40, picklist=("Phone", "Email", "Web")),
        _owner(),
    ], feed_enabled=True, record_name="CaseNumber")

    obj("CaseComment", "Case Comment", "Case Comments", "00a", [
        F("ParentId", "reference", "Parent Case ID", updateable=False, nillable=False, reference_to=("Case",),
          relationship_name="Parent", child_relationship="CaseComments", cascade_delete=True),
        F("CommentBody", "textarea", "Body", length=4000),
        F("IsPublished", "boolean", "Published", nillable=False, defaulted=True, default=False),
    ], record_name="Id")

    activity_parents = ("Account", "Opportunity", "Case", "Order", "Health_Score__c")
    # Account describe fixture: Tasks via WhatId (cascadeDelete true).
    # Field-level security on Task (ARB and every real profile in fidelity-evidence.md P1-P3): ActivityDate,
    # Description, Type, WhatId, WhoId only; Subject, Status and Priority take none (always readable).
    obj("Task", "Task", "Tasks", "00T", [
        F("Subject", "combobox", "Subject", length=255, permissionable=False),
        F("Status", "picklist", "Status", length=40, nillable=False, defaulted=True, default="Not Started",
          picklist=("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"),
          permissionable=False),
        F("Priority", "picklist", "Priority", length=40, nillable=False, defaulted=True, default="Normal",
          picklist=("High", "Normal", "Low"), permissionable=False),
        F("ActivityDate", "date", "Due Date Only"),
        F("Type", "picklist", "Type", length=40, picklist=("Call", "Email", "Meeting", "Other")),
        F("WhoId", "reference", "Name ID", reference_to=("Contact", "Lead"), relationship_name="Who",
          polymorphic=True, child_relationship="Tasks", cascade_delete=True),
        F("WhatId", "reference", "Related To ID", reference_to=activity_parents, relationship_name="What",
          polymorphic=True, child_relationship="Tasks", cascade_delete=True),
        F("Description", "textarea", "Description", length=32000),
        _owner("Assigned To ID"),
    ], record_name="Subject")

    # CCI Event describe: Subject (name field), ActivityDateTime, StartDateTime, EndDateTime and DurationInMinutes
    # are not permissionable; Location, Description, WhoId, WhatId are (ARB adds Type, IsAllDayEvent).
    obj("Event", "Event", "Events", "00U", [
        F("Subject", "combobox", "Subject", length=255, name_field=True),
        F("StartDateTime", "datetime", "Start Date Time", permissionable=False),
        F("EndDateTime", "datetime", "End Date Time", permissionable=False),
        F("DurationInMinutes", "int", "Duration", digits=8, permissionable=False),
        F("ActivityDateTime", "datetime", "Due Date Time", permissionable=False),
        F("Location", "string", "Location", length=255),
        F("WhoId", "reference", "Name ID", reference_to=("Contact", "Lead"), relationship_name="Who",
          polymorphic=True, child_relationship="Events", cascade_delete=True),
        F("WhatId", "reference", "Related To ID", reference_to=activity_parents, relationship_name="What",
          polymorphic=True, child_relationship="Events", cascade_delete=True),
        F("Description", "textarea", "Description", length=32000),
        _owner("Assigned To ID"),
    ], record_name="Subject")

    # Account describe fixture: Notes via ParentId (cascadeDelete true).
    obj("Note", "Note", "Notes", "002", [
        F("ParentId", "reference", "Parent ID", updateable=False, nillable=False,
          reference_to=("Account", "Contact", "Opportunity", "Case", "Order", "Health_Score__c"),
          relationship_name="Parent", polymorphic=True, child_relationship="Notes", cascade_delete=True),
        F("Title", "string", "Title", length=80, nillable=False, name_field=True),
        F("Body", "textarea", "Body", length=32000),
        F("IsPrivate", "boolean", "Private", nillable=False, defaulted=True, default=False),
        _owner(),
    ], record_name="Title")

    obj("ContentNote", "Note", "Notes", "069", [
        F("Title", "string", "Title", length=255, nillable=False, name_field=True),
        F("Content", "textarea", "Content", length=131072),
        _ro("TextPreview", "string", "Text Preview", length=300),
        _owner(),
    ], record_name="Title")

    obj("ContentDocumentLink", "Content Document Link", "Content Document Link", "06A", [
        # Real object references ContentDocument; ContentNote shares its key prefix 069 [infer].
        F("ContentDocumentId", "reference", "ContentDocument ID", updateable=False, nillable=False,
          reference_to=("ContentNote",), relationship_name="ContentDocument", child_relationship="ContentDocumentLinks",
          cascade_delete=True),
        F("LinkedEntityId", "reference", "Linked Entity ID", updateable=False, nillable=False,
          reference_to=("Account", "Contact", "Opportunity", "Case", "User", "Health_Score__c"),
          relationship_name="LinkedEntity", polymorphic=True, child_relationship="ContentDocumentLinks",
          cascade_delete=True),
        F("ShareType", "picklist", "Share Type", length=40, defaulted=True, default="V", picklist=("V", "C", "I"),
          restricted=True),
        F("Visibility", "picklist", "Visibility", length=40, defaulted=True, default="AllUsers",
          picklist=("AllUsers", "InternalUsers", "SharedUsers"), restricted=True),
    ], audit=("IsDeleted", "SystemModstamp"), record_name="Id")

    obj("FeedItem", "Feed Item", "Feed Items", "0D5", [
        F("ParentId", "reference", "Parent ID", updateable=False, nillable=False,
          reference_to=("Account", "Contact", "Opportunity", "Case", "User", "Health_Score__c"),
          relationship_name="Parent", polymorphic=True, child_relationship="Feeds", cascade_delete=True),
        F("Body", "textarea", "Body", length=10000, html=True),
        F("Title", "string", "Title", length=255),
        F("LinkUrl", "url", "Link Url", length=1000),
        F("Type", "picklist", "Feed Item Type", length=40, defaulted=True, default="TextPost",
          picklist=("TextPost", "LinkPost", "ContentPost"), restricted=True),
    ], record_name="Id")

    # ---- Custom object Health_Score__c ------------------------------------------------------------------------------
    # The sync job's custom object: master-detail to Account, a universally required field (Score__c), a formula
    # field (Trend__c), an auto-number (Reference__c) and an external id.
    obj("Health_Score__c", "Health Score", "Health Scores", "a01", [
        # Text name field of a custom object: optional, Salesforce fills in the record id when omitted [infer].
        F("Name", "string", "Health Score Name", length=80, nillable=True, defaulted=True, name_field=True),
        F("Account__c", "reference", "Account", updateable=False, nillable=False, reference_to=("Account",),
          relationship_name="Account__r", child_relationship="Health_Scores__r", master_detail=True,
          cascade_delete=True),
        F("Score__c", "double", "Score", nillable=False, precision=3, scale=0),
        F("Status__c", "picklist", "Status", length=255, picklist=("Green", "Yellow", "Red"), restricted=True),
        F("Last_Reviewed__c", "date", "Last Reviewed"),
        F("Notes__c", "textarea", "Notes", length=32768),
        F("Assessment_Id__c", "string", "Assessment Id", length=40, unique=True, external_id=True, id_lookup=True),
        _ro("Trend__c", "string", "Trend", length=1300, formula='IF(Score__c >= 70, "Healthy", IF(Score__c >= 40, '
            '"At Risk", "Critical"))', compute=_health_trend),
        _ro("Reference__c", "string", "Reference", length=30, nillable=False, defaulted=True,
            auto_number="HS-{00000}"),
        _owner(),
    ], custom=True)

    # A master-detail child has no OwnerId in Salesforce (it inherits from the master) [doc: master-detail behaviour].
    hs = next(o for o in objs if o.name == "Health_Score__c")
    hs.fields = [f for f in hs.fields if f.name != "OwnerId"]
    hs.__post_init__()
    return objs


def _perm_field(p: dict, *, createable=True, updateable=True) -> FieldDef:
    # Permissions* are boolean, nillable=false, createable/updateable on PermissionSet (shared ref 1 table).
    return F("Permissions" + p["name"], "boolean", p["label"], createable=createable, updateable=updateable,
             nillable=False, defaulted=True, default=False, since=p.get("since"), permissionable=False)


def is_permissionable(obj: ObjectDef, f: FieldDef) -> bool:
    """The describe ``permissionable`` flag: whether a FieldPermissions row can name the field (OBJREF67
    FieldPermissions "Usage", shared ref 3; checked against the real describes and profiles named at the objects)."""
    if f.permissionable is not None:
        return f.permissionable
    if obj.name not in FLS_OBJECTS:
        return False
    if obj.setup and not f.custom:
        return False  # User: only custom fields take field-level security (fidelity-evidence.md row 13)
    if f.type == "id" or f.name in AUDIT_FIELDS or f.name == "OwnerId":
        return False  # Id and audit fields are always readable; OwnerId has no FLS (Account fixture: false)
    if f.master_detail:
        return False  # master-detail fields are always read/write
    if f.compound == "Name":
        return False  # parts of a person's name (CCI Contact/Lead: FirstName, LastName, Salutation false)
    if f.type == "address":
        return True  # the compound holds the address's field-level security (Account fixture: BillingAddress true)
    if f.required:
        return False  # universally required fields are always read/write (Account.Name: permissionable false)
    if f.name_field:
        return False  # record name fields (Account.Name in the fixture: permissionable false)
    if not f.createable and not f.updateable and not f.calculated and not f.auto_number:
        return False  # system-maintained values (CCI Opportunity: IsClosed, IsWon false)
    return True


def fls_field(obj: ObjectDef, f: FieldDef) -> FieldDef:
    """The field whose FieldPermissions row governs ``f``: its address compound for an address part, else itself."""
    if f.compound:
        compound = obj.field(f.compound)
        if compound is not None and compound.type == "address":
            return compound
    return f


def read_only_for_fls(f: FieldDef) -> bool:
    """Formula and auto-number fields (and values nobody writes): only PermissionsRead may be set (OBJREF67
    FieldPermissions). An address compound is not written itself, but its Edit is what lets a user write the parts:
    it takes Edit ([3rd] Jetstream PR #1260: "Account.BillingAddress shows up as if it is not updateable, but in
    reality permission edit can be modified")."""
    if f.type == "address":
        return False
    return f.calculated or bool(f.auto_number) or (not f.createable and not f.updateable)


# --------------------------------------------------------------------------------------------------------------------
# Catalog protocol objects (used by soql.py) and describe generation
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class FieldInfo:
    name: str
    type: str
    reference_to: list
    relationship_name: str | None
    defn: FieldDef = dc_field(repr=False, default=None)


class ObjectInfo:
    """One object as seen at one API version (the soql catalog protocol, sfemu/docs/internals.md)."""

    def __init__(self, odef: ObjectDef, fields: list[FieldDef], children: dict[str, tuple[str, str]]):
        self.defn = odef
        self.name = odef.name
        self.fields = [FieldInfo(f.name, f.type, list(f.reference_to), f.relationship_name, f) for f in fields]
        self._by_lower = {fi.name.lower(): fi for fi in self.fields}
        self._children = {k.lower(): v for k, v in children.items()}
        self.field_names = [fi.name for fi in self.fields]

    def field(self, name: str) -> FieldInfo | None:
        return self._by_lower.get(str(name).lower())

    def child_relationship(self, rel_name: str):
        return self._children.get(str(rel_name).lower())


class Catalog:
    """All objects, per API version, with cached describes. One per Emulator (settings decide version gates)."""

    def __init__(self, settings: dict | None = None):
        self.settings = dict(DEFAULT_SETTINGS)
        self.settings.update(settings or {})
        self.objects: list[ObjectDef] = _build_objects()
        for o in self.objects:
            for f in o.fields:
                if f.since and f.since.startswith("settings:"):
                    f.since = str(self.settings[f.since.split(":", 1)[1]])
        self._by_lower = {o.name.lower(): o for o in self.objects}
        self._by_prefix = {o.key_prefix: o for o in self.objects}
        self._lock = threading.Lock()
        self._info_cache: dict = {}
        self._describe_cache: dict = {}
        # child relationships: parent -> [(rel_name, child_obj, child_field, FieldDef)]
        self._children: dict[str, list] = {o.name: [] for o in self.objects}
        for o in self.objects:
            for f in o.fields:
                if f.type == "reference" and f.child_relationship:
                    for parent in f.reference_to:
                        if parent in self._children:
                            self._children[parent].append((f.child_relationship, o.name, f.name, f))

    # -- lookup --------------------------------------------------------------------------------------------------
    def object_def(self, name: str) -> ObjectDef | None:
        return self._by_lower.get(str(name).lower())

    def object_for_prefix(self, prefix: str) -> ObjectDef | None:
        return self._by_prefix.get(prefix)

    @staticmethod
    def available(since: str | None, version) -> bool:
        return since is None or parse_version(version) >= parse_version(since)

    def fields_at(self, odef: ObjectDef, version) -> list[FieldDef]:
        return [f for f in odef.fields if self.available(f.since, version)]

    def children_of(self, name: str, version=None) -> list:
        """[(relationship_name, child_object, child_field, FieldDef)] visible at ``version``."""
        out = []
        for rel, child, fname, fdef in self._children.get(name, []):
            cdef = self._by_lower[child.lower()]
            if version is None or (self.available(cdef.since, version) and self.available(fdef.since, version)):
                out.append((rel, child, fname, fdef))
        return out

    def object_info(self, name: str, version) -> ObjectInfo | None:
        odef = self.object_def(name)
        if odef is None or not self.available(odef.since, version):
            return None
        key = (odef.name, parse_version(version))
        with self._lock:
            info = self._info_cache.get(key)
            if info is None:
                children = {rel: (child, fname) for rel, child, fname, _ in self.children_of(odef.name, version)}
                info = ObjectInfo(odef, self.fields_at(odef, version), children)
                self._info_cache[key] = info
            return info

    def sobject_names(self, version) -> list[str]:
        return sorted((o.name for o in self.objects if self.available(o.since, version)), key=str.lower)

    def permission_names(self, version) -> list[str]:
        """Permission API names (without prefix) visible at ``version``."""
        odef = self.object_def("PermissionSet")
        return [f.name[len("Permissions"):] for f in self.fields_at(odef, version) if f.name.startswith("Permissions")]

    def permissionable_fields(self, version) -> list[str]:
        """FieldPermissions.Field picklist: ``Object.Field`` for every field a FieldPermissions row can hold."""
        key = ("__fls__", parse_version(version))
        with self._lock:
            cached = self._info_cache.get(key)
        if cached is not None:
            return list(cached)
        out = []
        for oname in FLS_OBJECTS:
            odef = self.object_def(oname)
            for f in self.fields_at(odef, version):
                # Address parts are permissionable, but their rows are stored under the compound (_address): the
                # picklist lists the values a row can hold [infer: real orgs only ever show compound rows].
                if is_permissionable(odef, f) and fls_field(odef, f) is f:
                    out.append(f"{odef.name}.{f.name}")
        with self._lock:
            self._info_cache[key] = tuple(out)
        return out

    # -- describe ------------------------------------------------------------------------------------------------
    def _urls(self, name: str, version: str) -> dict:
        base = f"/services/data/v{version}/sobjects/{name}"
        urls = {
            "compactLayouts": f"{base}/describe/compactLayouts",
            "rowTemplate": f"{base}/{{ID}}",
            "approvalLayouts": f"{base}/describe/approvalLayouts",
            "listviews": f"{base}/listviews",
            "describe": f"{base}/describe",
            "quickActions": f"{base}/quickActions",
            "layouts": f"{base}/describe/layouts",
            "sobject": base,
        }
        if name == "User":
            # Global describe fixture: User has passwordUtilities instead of listviews/approvalLayouts.
            urls.pop("listviews")
            urls.pop("approvalLayouts")
            urls["passwordUtilities"] = f"{base}/{{ID}}/password"
            urls["namedLayouts"] = f"{base}/describe/namedLayouts/{{LayoutName}}"
        return urls

    def global_entry(self, odef: ObjectDef, version: str) -> dict:
        # Keys exactly as in GET_sobjects_Global_describe.yaml.
        return {
            "activateable": False,
            "associateEntityType": None,
            "associateParentEntity": None,
            "createable": odef.createable,
            "custom": odef.custom,
            "customSetting": False,
            "deepCloneable": False,
            "deletable": odef.deletable,
            "deprecatedAndHidden": False,
            "feedEnabled": odef.feed_enabled,
            "hasSubtypes": False,
            "isInterface": False,
            "isSubtype": False,
            "keyPrefix": odef.key_prefix,
            "label": odef.label,
            "labelPlural": odef.label_plural,
            "layoutable": odef.layoutable,
            "mergeable": odef.name in ("Account", "Contact"),
            "mruEnabled": odef.layoutable,
            "name": odef.name,
            "queryable": odef.queryable,
            "replicateable": True,
            "retrieveable": odef.retrieveable,
            "searchable": odef.searchable,
            "triggerable": not odef.setup or odef.name == "User",
            "undeletable": odef.deletable and not odef.setup,
            "updateable": odef.updateable,
            "urls": self._urls(odef.name, version),
        }

    def describe_global(self, version: str) -> dict:
        v = "%d.%d" % parse_version(version)
        key = ("__global__", v)
        with self._lock:
            cached = self._describe_cache.get(key)
        if cached is None:
            cached = {
                "encoding": "UTF-8",
                "maxBatchSize": 200,
                "sobjects": [self.global_entry(self.object_def(n), v) for n in self.sobject_names(v)],
            }
            with self._lock:
                self._describe_cache[key] = cached
        return copy.deepcopy(cached)

    def describe(self, name: str, version: str) -> dict | None:
        odef = self.object_def(name)
        if odef is None or not self.available(odef.since, version):
            return None
        v = "%d.%d" % parse_version(version)
        key = (odef.name, v)
        with self._lock:
            cached = self._describe_cache.get(key)
        if cached is None:
            cached = self._build_describe(odef, v)
            with self._lock:
                self._describe_cache[key] = cached
        # Describes are large (PermissionSet ~0.6 MB); callers get a shallow copy of the top level and must not mutate
        # nested structures. The server only serialises them.
        return dict(cached)

    def _build_describe(self, odef: ObjectDef, v: str) -> dict:
        d = self.global_entry(odef, v)
        d.pop("associateEntityType")
        d.pop("associateParentEntity")
        d.update({
            "actionOverrides": [],
            "childRelationships": [
                {
                    "cascadeDelete": fdef.cascade_delete or fdef.master_detail,
                    "childSObject": child,
                    "deprecatedAndHidden": False,
                    "field": fname,
                    "junctionIdListNames": [],
                    "junctionReferenceTo": [],
                    "relationshipName": rel,
                    "restrictedDelete": fdef.restricted_delete,
                }
                for rel, child, fname, fdef in sorted(self.children_of(odef.name, v), key=lambda c: (c[1], c[2]))
            ],
            "compactLayoutable": odef.layoutable,
            "defaultImplementation": None,
            "extendedBy": None,
            "extendsInterfaces": None,
            "fields": [self._field_describe(odef, f, v) for f in self.fields_at(odef, v)],
            "implementedBy": None,
            "implementsInterfaces": None,
            "listviewable": None,
            "lookupLayoutable": None,
            "namedLayoutInfos": [],
            "networkScopeFieldName": None,
            "recordTypeInfos": [
                {
                    "active": True,
                    "available": True,
                    "defaultRecordTypeMapping": True,
                    "developerName": "Master",
                    "master": True,
                    "name": "Master",
                    "recordTypeId": "012000000000000AAA",
                    "urls": {"layout": f"/services/data/v{v}/sobjects/{odef.name}/describe/layouts/012000000000000AAA"},
                }
            ] if odef.layoutable and not odef.setup else [],
            "searchLayoutable": odef.searchable,
            "supportedScopes": [
                {"label": f"All {odef.label_plural.lower()}", "name": "everything"},
            ] + ([{"label": f"My {odef.label_plural.lower()}", "name": "mine"}] if odef.field("OwnerId") else []),
        })
        return dict(sorted(d.items()))

    def _field_describe(self, odef: ObjectDef, f: FieldDef, v: str) -> dict:
        t = f.type
        stringish = t in _STRINGISH
        length = f.length if (stringish or t in ("id", "reference")) else 0
        picklist_values = list(f.picklist)
        if odef.name == "FieldPermissions" and f.name == "Field":
            picklist_values = self.permissionable_fields(v)
        is_picklist = t in ("picklist", "multipicklist", "combobox")
        return {
            "aggregatable": t not in ("textarea", "address", "boolean"),
            "aiPredictionField": False,
            "autoNumber": bool(f.auto_number),
            "byteLength": length * 3 if stringish else (18 if t in ("id", "reference") else 0),
            "calculated": f.calculated,
            "calculatedFormula": f.formula,
            "cascadeDelete": False,
            "caseSensitive": False,
            "compoundFieldName": f.compound,
            "controllerName": None,
            "createable": f.createable,
            "custom": f.custom,
            "defaultValue": f.default if (t == "boolean" and f.defaulted and isinstance(f.default, bool)) else None,
            "defaultValueFormula": None,
            "defaultedOnCreate": f.defaulted,
            "dependentPicklist": False,
            "deprecatedAndHidden": False,
            "digits": f.digits,
            "displayLocationInDecimal": False,
            "encrypted": False,
            "externalId": f.external_id,
            "extraTypeInfo": ("richtextarea" if f.html else "plaintextarea") if t == "textarea" else None,
            "filterable": t not in ("textarea", "address"),
            "filteredLookupInfo": None,
            "formulaTreatNullNumberAsZero": False,
            "groupable": t in ("id", "reference", "string", "picklist", "boolean", "date", "email", "phone", "url",
                               "int", "combobox"),
            "highScaleNumber": False,
            "htmlFormatted": f.html,
            "idLookup": f.id_lookup,
            "inlineHelpText": None,
            "label": f.label,
            "length": length,
            "mask": None,
            "maskType": None,
            "name": f.name,
            "nameField": f.name_field,
            "namePointing": f.polymorphic and t == "reference",
            "nillable": f.nillable,
            "permissionable": is_permissionable(odef, f),
            "picklistValues": [
                {"active": True, "defaultValue": val == f.default, "label": val, "validFor": None, "value": val}
                for val in picklist_values
            ] if is_picklist else [],
            "polymorphicForeignKey": f.polymorphic and t == "reference",
            "precision": f.precision,
            "queryByDistance": False,
            "referenceTargetField": None,
            "referenceTo": [r for r in f.reference_to
                            if self.object_def(r) is not None and self.available(self.object_def(r).since, v)],
            "relationshipName": f.relationship_name,
            "relationshipOrder": 0 if f.master_detail else None,
            "restrictedDelete": False,
            "restrictedPicklist": f.restricted,
            "scale": f.scale,
            "searchPrefilterable": t == "reference",
            "soapType": _SOAP_TYPES.get(t, "xsd:string"),
            "sortable": t not in ("textarea", "address"),
            "type": t,
            "unique": f.unique,
            "updateable": f.updateable,
            "writeRequiresMasterRead": False,
        }

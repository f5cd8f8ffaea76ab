"""Table-driven tests for sfemu.soql against a small in-test catalog implementing the design.md protocol."""

from __future__ import annotations

import datetime as dt
import random
import time

import pytest

from sfemu import ids
from sfemu.soql import SoqlError, parse, run_query

# ----------------------------------------------------------------------------------------------------------------
# Fake catalog (the protocol of sfemu/docs/internals.md "soql.py contract")
# ----------------------------------------------------------------------------------------------------------------


class F:
    def __init__(self, name, type_="string", reference_to=(), relationship_name=None):
        self.name = name
        self.type = type_
        self.reference_to = list(reference_to)
        self.relationship_name = relationship_name


class O:
    def __init__(self, name, fields, children=None):
        self.name = name
        self.fields = fields
        self._by = {f.name.lower(): f for f in fields}
        self._children = {k.lower(): v for k, v in (children or {}).items()}

    def field(self, name):
        return self._by.get(name.lower())

    def child_relationship(self, rel_name):
        hit = self._children.get(rel_name.lower())
        if hit is None:
            return None
        canonical = next(k for k in self._childnames if k.lower() == rel_name.lower())
        return (hit[0], hit[1], canonical)

    @property
    def _childnames(self):
        return [k for k in CHILD_NAMES.get(self.name, [])]


def ref(name, to, rel):
    return F(name, "reference", to if isinstance(to, list) else [to], rel)


CHILD_NAMES = {
    "PermissionSet": ["ObjectPerms", "FieldPerms", "Assignments"],
    "User": ["PermissionSetAssignments"],
    "Profile": ["Users"],
}

OBJECTS = {
    "PermissionSet": O(
        "PermissionSet",
        [F("Id", "id"), F("Name"), F("Label"), F("IsOwnedByProfile", "boolean"), ref("ProfileId", "Profile", "Profile"),
         F("PermissionsApiEnabled", "boolean"), F("CreatedDate", "datetime"), F("NamespacePrefix"),
         F("Description", "textarea")],
        {"ObjectPerms": ("ObjectPermissions", "ParentId"), "FieldPerms": ("FieldPermissions", "ParentId"),
         "Assignments": ("PermissionSetAssignment", "PermissionSetId")},
    ),
    "ObjectPermissions": O(
        "ObjectPermissions",
        [F("Id", "id"), ref("ParentId", ["PermissionSet", "PermissionSetLicense", "MutingPermissionSet"], "Parent"),
         F("SobjectType", "picklist"), F("PermissionsRead", "boolean"), F("PermissionsCreate", "boolean"),
         F("PermissionsEdit", "boolean"), F("PermissionsDelete", "boolean"),
         F("PermissionsViewAllRecords", "boolean"), F("PermissionsModifyAllRecords", "boolean")],
    ),
    "FieldPermissions": O(
        "FieldPermissions",
        [F("Id", "id"), ref("ParentId", "PermissionSet", "Parent"), F("SobjectType", "picklist"),
         F("Field", "picklist"), F("PermissionsRead", "boolean"), F("PermissionsEdit", "boolean")],
    ),
    "PermissionSetAssignment": O(
        "PermissionSetAssignment",
        [F("Id", "id"), ref("AssigneeId", "User", "Assignee"), ref("PermissionSetId", "PermissionSet", "PermissionSet"),
         F("ExpirationDate", "datetime"), F("IsActive", "boolean")],
    ),
    "User": O(
        "User",
        [F("Id", "id"), F("Username"), F("Email", "email"), F("IsActive", "boolean"),
         ref("ProfileId", "Profile", "Profile"), ref("ManagerId", "User", "Manager"), F("LastLoginDate", "datetime"),
         F("FirstName")],
        {"PermissionSetAssignments": ("PermissionSetAssignment", "AssigneeId")},
    ),
    "Profile": O("Profile", [F("Id", "id"), F("Name")], {"Users": ("User", "ProfileId")}),
    "PermissionSetLicense": O(
        "PermissionSetLicense",
        [F("Id", "id"), F("DeveloperName"), F("MasterLabel"), F("TotalLicenses", "int"), F("UsedLicenses", "int"),
         F("ExpirationDate", "date")],
    ),
}
PREFIX = {"PermissionSet": "0PS", "ObjectPermissions": "110", "FieldPermissions": "01k", "PermissionSetAssignment": "0Pa",
          "User": "005", "Profile": "00e", "PermissionSetLicense": "0PL"}


class Catalog:
    def __init__(self):
        self.data = {k: [] for k in OBJECTS}
        self.by_id = {}
        self.counter = 0

    def add(self, obj, **fields):
        self.counter += 1
        rid = ids.new_id(PREFIX[obj], 1, self.counter)
        row = {"Id": rid, **fields}
        self.data[obj].append(row)
        self.by_id[rid] = (obj, row)
        return rid

    # protocol
    def object_info(self, name):
        for k, v in OBJECTS.items():
            if k.lower() == name.lower():
                return v
        return None

    def rows(self, object_name):
        return self.data[object_name]

    def row_by_id(self, rid):
        if not isinstance(rid, str):
            return None
        return self.by_id.get(ids.normalize_id(rid) or rid)


def build():
    c = Catalog()
    p_admin = c.add("Profile", Name="System Administrator")
    p_api = c.add("Profile", Name="Minimum Access - API Only Integrations")
    boss = c.add("User", Username="admin@org1.sfemu.example", Email="admin@example.com", IsActive=True,
                 ProfileId=p_admin, LastLoginDate="2026-11-20T10:00:00.000+0000", FirstName="Ada")
    integ = c.add("User", Username="integration@org1.sfemu.example", Email="integ@example.com", IsActive=True,
                  ProfileId=p_api, ManagerId=boss, FirstName=None)
    old = c.add("User", Username="old@org1.sfemu.example", Email="old@example.com", IsActive=False, ProfileId=p_admin,
                ManagerId=integ, LastLoginDate="2020-01-01T00:00:00.000+0000", FirstName="bob")
    ps_api = c.add("PermissionSet", Name="Planhat_Integration", Label="Planhat Integration", IsOwnedByProfile=False,
                   PermissionsApiEnabled=True, CreatedDate="2026-11-24T08:00:00.000+0000", Description="It's \\ fine")
    ps_ro = c.add("PermissionSet", Name="read_only_50%", Label="Read Only 50% off", IsOwnedByProfile=False,
                  PermissionsApiEnabled=False, CreatedDate="2026-11-01T08:00:00.000+0000", NamespacePrefix="ns")
    ps_prof = c.add("PermissionSet", Name="X00ex00000018ozh_128_09_04_12_1", Label="00ex00000018ozh_128_09_04_12_1",
                    IsOwnedByProfile=True, ProfileId=p_admin, PermissionsApiEnabled=True,
                    CreatedDate="2020-01-01T00:00:00.000+0000")
    psl = c.add("PermissionSetLicense", DeveloperName="SalesforceAPIIntegrationPsl",
                MasterLabel="Salesforce API Integration", TotalLicenses=5, UsedLicenses=1, ExpirationDate="2027-01-31")
    op1 = c.add("ObjectPermissions", ParentId=ps_api, SobjectType="Account", PermissionsRead=True,
                PermissionsCreate=False, PermissionsEdit=True, PermissionsDelete=False, PermissionsViewAllRecords=False,
                PermissionsModifyAllRecords=False)
    op2 = c.add("ObjectPermissions", ParentId=ps_api, SobjectType="Contact", PermissionsRead=True,
                PermissionsCreate=True, PermissionsEdit=True, PermissionsDelete=True, PermissionsViewAllRecords=True,
                PermissionsModifyAllRecords=False)
    op3 = c.add("ObjectPermissions", ParentId=ps_ro, SobjectType="account", PermissionsRead=True)
    op4 = c.add("ObjectPermissions", ParentId=psl, SobjectType="Case", PermissionsRead=True)
    fp1 = c.add("FieldPermissions", ParentId=ps_api, SobjectType="Account", Field="Account.Name", PermissionsRead=True,
                PermissionsEdit=True)
    fp2 = c.add("FieldPermissions", ParentId=ps_api, SobjectType="Account", Field="Account.Phone",
                PermissionsRead=True, PermissionsEdit=False)
    a1 = c.add("PermissionSetAssignment", AssigneeId=integ, PermissionSetId=ps_api, IsActive=True)
    a2 = c.add("PermissionSetAssignment", AssigneeId=boss, PermissionSetId=ps_prof, IsActive=True)
    a3 = c.add("PermissionSetAssignment", AssigneeId=old, PermissionSetId=ps_ro, IsActive=True,
               ExpirationDate="2026-12-01T00:00:00.000+0000")
    a_del = c.add("PermissionSetAssignment", AssigneeId=integ, PermissionSetId=ps_ro, IsActive=True, IsDeleted=True)
    return c, dict(p_admin=p_admin, p_api=p_api, boss=boss, integ=integ, old=old, ps_api=ps_api, ps_ro=ps_ro,
                   ps_prof=ps_prof, psl=psl, op1=op1, op2=op2, op3=op3, op4=op4, fp1=fp1, fp2=fp2, a1=a1, a2=a2,
                   a3=a3, a_del=a_del)


@pytest.fixture(scope="module")
def cat():
    return build()


V = "67.0"


def q(cat, soql, **kw):
    return run_query(soql, cat[0], V, **kw)


def names(cat, soql, field="Name", **kw):
    return [r[field] for r in q(cat, soql, **kw)[1]]


def err(cat, soql, **kw) -> SoqlError:
    with pytest.raises(SoqlError) as ei:
        q(cat, soql, **kw)
    return ei.value


# ----------------------------------------------------------------------------------------------------------------
# SELECT and record shape
# ----------------------------------------------------------------------------------------------------------------


def test_record_shape_and_canonical_names(cat):
    c, k = cat
    total, recs = q(cat, "select id, NAME, isownedbyprofile from permissionset where name = 'planhat_integration'")
    assert total == 1
    assert recs == [{
        "attributes": {"type": "PermissionSet", "url": f"/services/data/v67.0/sobjects/PermissionSet/{k['ps_api']}"},
        "Id": k["ps_api"], "Name": "Planhat_Integration", "IsOwnedByProfile": False,
    }]
    assert list(recs[0]) == ["attributes", "Id", "Name", "IsOwnedByProfile"]  # SELECT order


def test_version_with_v_prefix_and_absent_fields_are_null(cat):
    _, recs = run_query("SELECT NamespacePrefix FROM PermissionSet WHERE Name = 'Planhat_Integration'", cat[0], "v60.0")
    assert recs[0]["attributes"]["url"].startswith("/services/data/v60.0/sobjects/PermissionSet/")
    assert recs[0]["NamespacePrefix"] is None


def test_fields_in_select_order(cat):
    _, recs = q(cat, "SELECT Label, Id, Name FROM PermissionSet LIMIT 1")
    assert list(recs[0]) == ["attributes", "Label", "Id", "Name"]


# ----------------------------------------------------------------------------------------------------------------
# WHERE: table of conditions -> expected PermissionSet names (insertion order)
# ----------------------------------------------------------------------------------------------------------------

API, RO, PROF = "Planhat_Integration", "read_only_50%", "X00ex00000018ozh_128_09_04_12_1"

WHERE_CASES = [
    ("Name = 'Planhat_Integration'", [API]),
    ("Name = 'PLANHAT_INTEGRATION'", [API]),  # = is case-insensitive on text
    ("Name != 'planhat_integration'", [RO, PROF]),
    ("Name <> 'planhat_integration'", [RO, PROF]),
    ("Name < 'r'", [API]),
    ("Name <= 'READ_ONLY_50%'", [API, RO]),
    ("Name > 'read'", [RO, PROF]),
    ("Name >= 'x'", [PROF]),
    ("Name IN ('planhat_integration', 'nope')", [API]),
    ("Name NOT IN ('planhat_integration')", [RO, PROF]),
    ("Name LIKE 'planhat%'", [API]),
    ("Name LIKE '%\\_50\\%'", [RO]),  # escaped wildcards are literal
    ("Name LIKE '%50_'", [RO]),
    ("Name LIKE 'read_only_50'", []),  # LIKE matches the whole value
    ("Name LIKE '_lanhat_integration'", [API]),
    ("Label LIKE '%50\\%%'", [RO]),
    ("IsOwnedByProfile = false", [API, RO]),
    ("IsOwnedByProfile = TRUE", [PROF]),
    ("IsOwnedByProfile != true", [API, RO]),
    ("NamespacePrefix = null", [API, PROF]),
    ("NamespacePrefix != NULL", [RO]),
    ("NamespacePrefix != 'ns'", [API, PROF]),  # != keeps nulls
    ("NamespacePrefix IN ('ns', null)", [API, RO, PROF]),
    ("NamespacePrefix NOT IN ('ns')", [API, PROF]),
    ("ProfileId = null", [API, RO]),
    ("Profile.Name = 'System Administrator'", [PROF]),
    ("Name = 'x' OR Name = 'read_only_50%' OR IsOwnedByProfile = true", [RO, PROF]),
    ("IsOwnedByProfile = false AND PermissionsApiEnabled = true", [API]),
    ("(IsOwnedByProfile = false AND PermissionsApiEnabled = true) OR Name LIKE 'x%'", [API, PROF]),
    ("IsOwnedByProfile = false AND (PermissionsApiEnabled = true OR Name LIKE 'read%')", [API, RO]),
    ("NOT Name = 'planhat_integration'", [RO, PROF]),
    ("NOT (IsOwnedByProfile = true OR Name LIKE 'read%')", [API]),
    ("(NOT Name LIKE 'p%') AND IsOwnedByProfile = false", [RO]),
    ("CreatedDate > 2026-11-10T00:00:00Z", [API]),
    ("CreatedDate >= 2026-11-01T08:00:00.000+0000", [API, RO]),
    ("CreatedDate < 2026-11-01T09:00:00+01:00", [PROF]),  # 08:00Z is not before 08:00Z
    ("CreatedDate = 2026-11-01T08:00:00Z", [RO]),
    ("Description = 'It\\'s \\\\ fine'", [API]),  # \' and \\ escapes
    ("Description = 'It\\u0027s \\\\ fine'", [API]),  # \\uXXXX escape
    ("Label LIKE 'Planhat\\u0020Integration'", [API]),
    ("Name IN ('\\N', '\\t', 'x\\\"y', 'read_only_50%')", [RO]),  # upper-case and quote escapes parse
    ("Name='read_only_50%'AND(IsOwnedByProfile=false)", [RO]),  # no whitespace needed around punctuation
    ("permissionset.name = 'read_only_50%'", [RO]),  # object-name qualified field
]


@pytest.mark.parametrize("where,expected", WHERE_CASES)
def test_where(cat, where, expected):
    assert names(cat, f"SELECT Name FROM PermissionSet WHERE {where}") == expected


def test_where_multiline_and_tabs(cat):
    assert names(cat, "SELECT Name\n\tFROM PermissionSet\n WHERE\n  Name = 'Planhat_Integration'") == [API]


def test_numbers_and_dates(cat):
    assert names(cat, "SELECT DeveloperName FROM PermissionSetLicense WHERE TotalLicenses > 4.5 AND UsedLicenses < 2",
                 "DeveloperName") == ["SalesforceAPIIntegrationPsl"]
    assert names(cat, "SELECT DeveloperName FROM PermissionSetLicense WHERE UsedLicenses > -1", "DeveloperName")
    assert names(cat, "SELECT DeveloperName FROM PermissionSetLicense WHERE ExpirationDate = 2027-01-31",
                 "DeveloperName") == ["SalesforceAPIIntegrationPsl"]
    assert names(cat, "SELECT DeveloperName FROM PermissionSetLicense WHERE ExpirationDate < 2027-01-31",
                 "DeveloperName") == []


DATE_LITERAL_CASES = [
    # today = 2026-11-24
    ("LastLoginDate = LAST_N_DAYS:7", ["admin@org1.sfemu.example"]),
    ("LastLoginDate = LAST_N_DAYS:3", []),
    ("LastLoginDate < LAST_N_DAYS:7", ["old@org1.sfemu.example"]),
    ("LastLoginDate = N_DAYS_AGO:4", ["admin@org1.sfemu.example"]),
    ("LastLoginDate != TODAY", ["admin@org1.sfemu.example", "integration@org1.sfemu.example", "old@org1.sfemu.example"]),
    ("LastLoginDate = TODAY", []),
    ("LastLoginDate < TODAY", ["admin@org1.sfemu.example", "old@org1.sfemu.example"]),
    ("LastLoginDate > YESTERDAY", []),
    ("LastLoginDate >= NEXT_N_DAYS:2", []),
]


@pytest.mark.parametrize("where,expected", DATE_LITERAL_CASES)
def test_date_literals(cat, where, expected):
    got = names(cat, f"SELECT Username FROM User WHERE {where}", "Username", today=dt.date(2026, 11, 24))
    assert got == expected


def test_date_literal_on_date_field(cat):
    got = names(cat, "SELECT DeveloperName FROM PermissionSetLicense WHERE ExpirationDate = NEXT_N_DAYS:90",
                "DeveloperName", today=dt.date(2026, 11, 24))
    assert got == ["SalesforceAPIIntegrationPsl"]
    got = names(cat, "SELECT DeveloperName FROM PermissionSetLicense WHERE ExpirationDate = TOMORROW",
                "DeveloperName", today=dt.date(2027, 1, 30))
    assert got == ["SalesforceAPIIntegrationPsl"]


def test_ids_15_and_18_compare_equal(cat):
    _, k = cat
    ps = k["ps_api"]
    for lit in (ps, ps[:15], ps.lower(), ps.upper()):
        assert names(cat, f"SELECT Name FROM PermissionSet WHERE Id = '{lit}'") == [API], lit
    assert names(cat, f"SELECT Name FROM PermissionSet WHERE Id IN ('{ps[:15]}', '{k['ps_ro']}')") == [API, RO]
    assert names(cat, f"SELECT Name FROM PermissionSet WHERE Id != '{ps[:15]}'") == [RO, PROF]
    # a 15-char id is case-sensitive: different case = different record
    assert names(cat, f"SELECT Name FROM PermissionSet WHERE Id = '{ps[:15].swapcase()}'") == []
    got = names(cat, f"SELECT Username FROM User WHERE ManagerId = '{k['boss'][:15]}'", "Username")
    assert got == ["integration@org1.sfemu.example"]


# ----------------------------------------------------------------------------------------------------------------
# Relationships
# ----------------------------------------------------------------------------------------------------------------


def test_parent_paths_nested_and_merged(cat):
    _, k = cat
    _, recs = q(cat, "SELECT Id, assignee.username, PermissionSet.Name, PermissionSet.Label, PermissionSetId "
                     f"FROM PermissionSetAssignment WHERE Id = '{k['a1']}'")
    assert recs == [{
        "attributes": {"type": "PermissionSetAssignment",
                       "url": f"/services/data/v67.0/sobjects/PermissionSetAssignment/{k['a1']}"},
        "Id": k["a1"],
        "Assignee": {"attributes": {"type": "User", "url": f"/services/data/v67.0/sobjects/User/{k['integ']}"},
                     "Username": "integration@org1.sfemu.example"},
        "PermissionSet": {"attributes": {"type": "PermissionSet",
                                         "url": f"/services/data/v67.0/sobjects/PermissionSet/{k['ps_api']}"},
                          "Name": "Planhat_Integration", "Label": "Planhat Integration"},
        "PermissionSetId": k["ps_api"],
    }]


def test_parent_path_depth_and_null(cat):
    _, k = cat
    _, recs = q(cat, "SELECT Username, Manager.Manager.Username, Manager.Profile.Name FROM User ORDER BY Username")
    by = {r["Username"]: r for r in recs}
    assert by["admin@org1.sfemu.example"]["Manager"] is None
    integ = by["integration@org1.sfemu.example"]["Manager"]
    assert integ["attributes"]["type"] == "User"
    assert integ["Manager"] is None  # boss has no manager
    assert integ["Profile"]["Name"] == "System Administrator"
    old = by["old@org1.sfemu.example"]["Manager"]
    assert old["Manager"]["Username"] == "admin@org1.sfemu.example"
    assert old["Profile"]["Name"] == "Minimum Access - API Only Integrations"
    assert list(old) == ["attributes", "Manager", "Profile"]


def test_polymorphic_parent_resolved_by_id(cat):
    _, k = cat
    _, recs = q(cat, "SELECT SobjectType, Parent.Name, Parent.DeveloperName, Parent.IsOwnedByProfile "
                     "FROM ObjectPermissions WHERE SobjectType = 'case'")
    assert len(recs) == 1
    parent = recs[0]["Parent"]
    assert parent["attributes"] == {"type": "PermissionSetLicense",
                                    "url": f"/services/data/v67.0/sobjects/PermissionSetLicense/{k['psl']}"}
    assert parent["DeveloperName"] == "SalesforceAPIIntegrationPsl"
    assert parent["Name"] is None  # field of another possible target: null on this one
    # filter through the polymorphic relationship
    got = names(cat, "SELECT SobjectType FROM ObjectPermissions WHERE Parent.Name = 'planhat_integration' "
                     "ORDER BY SobjectType", "SobjectType")
    assert got == ["Account", "Contact"]
    got = names(cat, "SELECT SobjectType FROM ObjectPermissions WHERE Parent.IsOwnedByProfile = false "
                     "ORDER BY SobjectType", "SobjectType")
    assert got == ["Account", "account", "Case", "Contact"]  # checkbox on a row without it reads false


def test_child_subquery_shape_filters_and_null(cat):
    _, k = cat
    _, recs = q(cat, "SELECT Name, (SELECT Id, SobjectType FROM objectperms WHERE PermissionsEdit = true "
                     "ORDER BY SobjectType DESC LIMIT 5), (SELECT Field FROM FieldPerms WHERE PermissionsEdit = true) "
                     "FROM PermissionSet ORDER BY Name")
    by = {r["Name"]: r for r in recs}
    api = by[API]
    assert list(api) == ["attributes", "Name", "ObjectPerms", "FieldPerms"]
    assert api["ObjectPerms"] == {
        "totalSize": 2, "done": True,
        "records": [
            {"attributes": {"type": "ObjectPermissions", "url": f"/services/data/v67.0/sobjects/ObjectPermissions/{k['op2']}"},
             "Id": k["op2"], "SobjectType": "Contact"},
            {"attributes": {"type": "ObjectPermissions", "url": f"/services/data/v67.0/sobjects/ObjectPermissions/{k['op1']}"},
             "Id": k["op1"], "SobjectType": "Account"},
        ],
    }
    assert [r["Field"] for r in api["FieldPerms"]["records"]] == ["Account.Name"]
    assert by[RO]["ObjectPerms"] is None  # its one row has PermissionsEdit unset (false)
    assert by[PROF]["FieldPerms"] is None


def test_child_subquery_limit_offset_and_parent_path_inside(cat):
    _, recs = q(cat, "SELECT Name, (SELECT SobjectType, Parent.Label FROM ObjectPerms ORDER BY SobjectType "
                     "LIMIT 1 OFFSET 1) FROM PermissionSet WHERE Name = 'Planhat_Integration'")
    sub = recs[0]["ObjectPerms"]
    assert sub["totalSize"] == 1
    assert sub["records"][0]["SobjectType"] == "Contact"
    assert sub["records"][0]["Parent"]["Label"] == "Planhat Integration"


def test_child_subquery_skips_deleted_unless_query_all(cat):
    _, k = cat
    soql = f"SELECT Username, (SELECT PermissionSet.Name FROM PermissionSetAssignments) FROM User WHERE Id = '{k['integ']}'"
    _, recs = q(cat, soql)
    assert [r["PermissionSet"]["Name"] for r in recs[0]["PermissionSetAssignments"]["records"]] == [API]
    _, recs = q(cat, soql, include_deleted=True)
    assert [r["PermissionSet"]["Name"] for r in recs[0]["PermissionSetAssignments"]["records"]] == [API, RO]


def test_semi_join_and_anti_join(cat):
    got = names(cat, "SELECT Username FROM User WHERE Id IN (SELECT AssigneeId FROM PermissionSetAssignment "
                     "WHERE PermissionSet.IsOwnedByProfile = false) ORDER BY Username", "Username")
    assert got == ["integration@org1.sfemu.example", "old@org1.sfemu.example"]
    got = names(cat, "SELECT Username FROM User WHERE Id NOT IN (SELECT AssigneeId FROM PermissionSetAssignment "
                     "WHERE PermissionSet.IsOwnedByProfile = false)", "Username")
    assert got == ["admin@org1.sfemu.example"]
    got = names(cat, "SELECT Name FROM PermissionSet WHERE Id IN (SELECT ParentId FROM ObjectPermissions "
                     "WHERE SobjectType = 'Account') AND IsOwnedByProfile = false")
    assert got == [API, RO]


def test_alias(cat):
    got = names(cat, "SELECT u.Username FROM User u WHERE u.IsActive = true AND u.Profile.Name LIKE 'System%'",
                "Username")
    assert got == ["admin@org1.sfemu.example"]


# ----------------------------------------------------------------------------------------------------------------
# ORDER BY, LIMIT, OFFSET, COUNT, queryAll
# ----------------------------------------------------------------------------------------------------------------

ORDER_CASES = [
    ("Name", [API, RO, PROF]),
    ("Name DESC", [PROF, RO, API]),
    ("NamespacePrefix, Name DESC", [PROF, API, RO]),  # nulls first by default
    ("NamespacePrefix NULLS LAST, Name", [RO, API, PROF]),
    ("NamespacePrefix DESC, Name", [API, PROF, RO]),  # default NULLS FIRST also for DESC
    ("NamespacePrefix DESC NULLS LAST, Name", [RO, API, PROF]),
    ("IsOwnedByProfile DESC, CreatedDate ASC", [PROF, RO, API]),
    ("Profile.Name NULLS LAST, Name DESC", [PROF, RO, API]),
]


@pytest.mark.parametrize("order,expected", ORDER_CASES)
def test_order_by(cat, order, expected):
    assert names(cat, f"SELECT Name FROM PermissionSet ORDER BY {order}") == expected


def test_order_by_is_case_insensitive(cat):
    got = names(cat, "SELECT SobjectType FROM ObjectPermissions ORDER BY SobjectType, Id", "SobjectType")
    assert got == ["Account", "account", "Case", "Contact"]


def test_limit_offset(cat):
    assert names(cat, "SELECT Name FROM PermissionSet ORDER BY Name LIMIT 2") == [API, RO]
    assert names(cat, "SELECT Name FROM PermissionSet ORDER BY Name LIMIT 2 OFFSET 2") == [PROF]
    assert names(cat, "SELECT Name FROM PermissionSet ORDER BY Name OFFSET 1") == [RO, PROF]
    assert q(cat, "SELECT Name FROM PermissionSet LIMIT 0") == (0, [])


def test_count(cat):
    assert q(cat, "SELECT COUNT() FROM PermissionSet") == (3, [])
    assert q(cat, "select count() from PermissionSet where IsOwnedByProfile = false") == (2, [])
    assert q(cat, "SELECT COUNT() FROM PermissionSetAssignment") == (3, [])
    assert q(cat, "SELECT COUNT() FROM PermissionSetAssignment", include_deleted=True) == (4, [])
    assert q(cat, "SELECT COUNT(Id) FROM PermissionSet") == (
        1, [{"attributes": {"type": "AggregateResult"}, "expr0": 3}])
    assert q(cat, "SELECT COUNT(NamespacePrefix) n FROM PermissionSet") == (
        1, [{"attributes": {"type": "AggregateResult"}, "n": 1}])
    assert q(cat, "SELECT COUNT(Id), COUNT(NamespacePrefix) ns, COUNT(ProfileId) FROM PermissionSet") == (
        1, [{"attributes": {"type": "AggregateResult"}, "expr0": 3, "ns": 1, "expr1": 1}])
    assert q(cat, "SELECT COUNT() FROM PermissionSet LIMIT 2") == (2, [])  # "You can use COUNT() with a LIMIT clause"


def test_query_all_returns_deleted(cat):
    _, k = cat
    soql = "SELECT Id FROM PermissionSetAssignment ORDER BY Id"
    normal = [r["Id"] for r in q(cat, soql)[1]]
    everything = [r["Id"] for r in q(cat, soql, include_deleted=True)[1]]
    assert k["a_del"] not in normal and k["a_del"] in everything
    assert len(everything) == len(normal) + 1


def test_with_and_for_clauses_accepted(cat):
    assert names(cat, "SELECT Name FROM PermissionSet WITH SECURITY_ENFORCED ORDER BY Name LIMIT 1") == [API]
    assert names(cat, "SELECT Name FROM PermissionSet ORDER BY Name LIMIT 1 FOR VIEW") == [API]


# ----------------------------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------------------------

SOBJECT_NOT_SUPPORTED = ("sObject type 'XYZZY' is not supported. If you are attempting to use a custom object, be sure "
                         "to append the '__c' after the entity name. Please reference your WSDL or the describe call "
                         "for the appropriate names.")


def test_invalid_type_exact_message(cat):
    e = err(cat, "SELECT Id FROM XYZZY")
    assert e.error_code == "INVALID_TYPE"
    assert e.message == "\nSELECT Id FROM XYZZY\n               ^\nERROR at Row:1:Column:16\n" + SOBJECT_NOT_SUPPORTED


def test_invalid_type_matches_recorded_cumulusci_response(cat):
    # TestCountSObjects.test_count_sobjects__errors.yaml, refXYZZY body
    e = err(cat, "select count() from XYZZY")
    assert (e.error_code, e.message) == (
        "INVALID_TYPE",
        "\nselect count() from XYZZY\n                    ^\nERROR at Row:1:Column:21\n" + SOBJECT_NOT_SUPPORTED,
    )


def test_invalid_field_exact_message(cat):
    e = err(cat, "SELECT Id, Foo FROM PermissionSet")
    assert e.error_code == "INVALID_FIELD"
    assert e.message == (
        "\nSELECT Id, Foo FROM PermissionSet\n           ^\nERROR at Row:1:Column:12\nNo such column 'Foo' on entity "
        "'PermissionSet'. If you are attempting to use a custom field, be sure to append the '__c' after the custom "
        "field name. Please reference your WSDL or the describe call for the appropriate names."
    )


def test_long_query_message_shows_a_window_around_the_error(cat):
    cols = ", ".join(["Name", "Label", "IsOwnedByProfile", "PermissionsApiEnabled", "CreatedDate"] * 1)
    soql = f"SELECT {cols}, Bogus__c, NamespacePrefix, Description, ProfileId, Id FROM PermissionSet WHERE Name = 'x'"
    e = err(cat, soql)
    lines = e.message.split("\n")
    assert lines[0] == ""
    snippet, caret, where = lines[1], lines[2], lines[3]
    assert len(snippet) <= 72 and "Bogus__c" in snippet
    assert snippet[len(caret) - 1:].startswith("Bogus__c")  # caret under the field
    assert where == f"ERROR at Row:1:Column:{soql.index('Bogus__c') + 1}"


def test_error_row_and_column_on_second_line(cat):
    e = err(cat, "SELECT Id\nFROM PermissionSet\nWHERE Nme = 'x'")
    assert e.error_code == "INVALID_FIELD"
    assert "\nWHERE Nme = 'x'\n      ^\nERROR at Row:3:Column:7\nNo such column 'Nme'" in e.message


def test_mixing_and_or_without_parentheses(cat):
    soql = "SELECT Id FROM PermissionSet WHERE Name = 'a' AND Label = 'b' OR Name = 'c'"
    e = err(cat, soql)
    assert e.error_code == "MALFORMED_QUERY"
    assert e.message.endswith(f"ERROR at Row:1:Column:{soql.index('OR') + 1}\nunexpected token: 'OR'")


UNSUPPORTED = "; see sfemu/docs/soql.md for the supported SOQL subset"

ERROR_CASES = [
    # (soql, error_code, text the message must end with)
    ("SELECT Id FROM", "MALFORMED_QUERY", "unexpected token: '<EOF>'"),
    ("SELECT FROM PermissionSet", "MALFORMED_QUERY", "unexpected token: 'FROM'"),
    ("SELECT Id, FROM PermissionSet", "MALFORMED_QUERY", "unexpected token: 'FROM'"),
    ("SELECT Id PermissionSet", "MALFORMED_QUERY", "unexpected token: 'PermissionSet'"),
    ("SELECT Id FROM PermissionSet WHERE", "MALFORMED_QUERY", "unexpected token: '<EOF>'"),
    ("SELECT Id FROM PermissionSet WHERE Name = 'x", "MALFORMED_QUERY", "the closing quote (') is missing"),
    ("SELECT Id FROM PermissionSet WHERE Name = 'a\\qb'", "MALFORMED_QUERY",
     "Illegal character sequence '\\q' in string literal."),
    ("SELECT Id FROM PermissionSet WHERE Name = 'a\\u00zz'", "MALFORMED_QUERY",
     "Illegal character sequence '\\u' in string literal."),
    ("SELECT Id FROM PermissionSet WHERE Name = \"x\"", "MALFORMED_QUERY", "unexpected token: '\"'"),
    ("SELECT Id FROM PermissionSet WHERE Name = 'a' AND NOT Name = 'b'", "MALFORMED_QUERY", "unexpected token: 'NOT'"),
    ("SELECT Id FROM PermissionSet WHERE Name = 'a' OR Name = 'b' AND Name = 'c'", "MALFORMED_QUERY",
     "unexpected token: 'AND'"),
    ("SELECT Id FROM PermissionSet WHERE (Name = 'a'", "MALFORMED_QUERY", "unexpected token: '<EOF>'"),
    ("SELECT Id FROM PermissionSet LIMIT x", "MALFORMED_QUERY", "unexpected token: 'x'"),
    ("SELECT Id FROM PermissionSet LIMIT 1.5", "MALFORMED_QUERY", "unexpected token: '1.5'"),
    ("SELECT Id FROM PermissionSet ORDER Name", "MALFORMED_QUERY", "unexpected token: 'Name'"),
    ("SELECT Id FROM PermissionSet extra tokens", "MALFORMED_QUERY", "unexpected token: 'tokens'"),
    ("SELECT Id FROM PermissionSet WHERE Name LIKE 5", "MALFORMED_QUERY", "unexpected token: '5'"),
    ("SELECT Id FROM PermissionSet WHERE Name = :bind", "MALFORMED_QUERY", "sfemu does not support bind variables (Apex only)" + UNSUPPORTED),
    ("SELECT Id FROM PermissionSet GROUP BY Name", "MALFORMED_QUERY", "sfemu does not support GROUP BY" + UNSUPPORTED),
    ("SELECT MAX(CreatedDate) FROM PermissionSet", "MALFORMED_QUERY", "sfemu does not support the function MAX()" + UNSUPPORTED),
    ("SELECT Id, Name, id FROM PermissionSet", "MALFORMED_QUERY", "duplicate field selected: id"),
    ("SELECT COUNT(), Id FROM PermissionSet", "MALFORMED_QUERY", "COUNT() must be the only element in the SELECT list"),
    ("SELECT COUNT(Id), Name FROM PermissionSet", "MALFORMED_QUERY", "Field must be grouped or aggregated: Name"),
    ("SELECT COUNT() FROM PermissionSet ORDER BY Name", "MALFORMED_QUERY",
     "COUNT() can not be used with ORDER BY; use COUNT(fieldName) instead"),
    ("SELECT COUNT(Id) FROM PermissionSet ORDER BY Name", "MALFORMED_QUERY",
     "Ordered field must be grouped or aggregated: Name"),
    ("SELECT COUNT(Id), COUNT() FROM PermissionSet", "MALFORMED_QUERY",
     "COUNT() must be the only element in the SELECT list"),
    ("SELECT COUNT(Id) n, COUNT(Name) N FROM PermissionSet", "MALFORMED_QUERY", "duplicate alias: N"),
    ("SELECT Id, (SELECT COUNT() FROM ObjectPerms) FROM PermissionSet", "MALFORMED_QUERY", "unexpected token: 'COUNT'"),
    ("SELECT Id FROM PermissionSet OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000"),
    ("SELECT Id FROM PermissionSet WHERE Foo = 1", "INVALID_FIELD", "No such column 'Foo' on entity 'PermissionSet'. "
     "If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please "
     "reference your WSDL or the describe call for the appropriate names."),
    ("SELECT Id FROM PermissionSet ORDER BY Foo", "INVALID_FIELD", "No such column 'Foo' on entity 'PermissionSet'."
     " If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please"
     " reference your WSDL or the describe call for the appropriate names."),
    ("SELECT Assignee.Foo FROM PermissionSetAssignment", "INVALID_FIELD", "No such column 'Foo' on entity 'User'. If "
     "you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please "
     "reference your WSDL or the describe call for the appropriate names."),
    ("SELECT Assignee FROM PermissionSetAssignment", "INVALID_FIELD", "No such column 'Assignee' on entity "
     "'PermissionSetAssignment'. If you are attempting to use a custom field, be sure to append the '__c' after the "
     "custom field name. Please reference your WSDL or the describe call for the appropriate names."),
    ("SELECT Asignee.Username FROM PermissionSetAssignment", "INVALID_FIELD", "Didn't understand relationship "
     "'Asignee' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after "
     "the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."),
    ("SELECT Name.Foo FROM PermissionSet", "INVALID_FIELD", "Didn't understand relationship 'Name' in field path."
     " If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship"
     " name. Please reference your WSDL or the describe call for the appropriate names."),
    ("SELECT Id, (SELECT Id FROM ObjectPermissions) FROM PermissionSet", "INVALID_TYPE", "Didn't understand "
     "relationship 'ObjectPermissions' in FROM part of query call. If you are attempting to use a custom relationship,"
     " be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe "
     "call for the appropriate names."),
    ("SELECT Id, (SELECT Foo FROM ObjectPerms) FROM PermissionSet", "INVALID_FIELD",
     "No such column 'Foo' on entity 'ObjectPermissions'."
     " If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please"
     " reference your WSDL or the describe call for the appropriate names."),
    ("SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = 'false'", "INVALID_FIELD",
     "value of filter criterion for field 'IsOwnedByProfile' must be of type boolean and should not be enclosed in "
     "quotes"),
    ("SELECT Id FROM PermissionSet WHERE Name = 5", "INVALID_FIELD",
     "value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes"),
    ("SELECT Id FROM PermissionSetLicense WHERE TotalLicenses = '5'", "INVALID_FIELD",
     "value of filter criterion for field 'TotalLicenses' must be of type int and should not be enclosed in quotes"),
    ("SELECT Id FROM PermissionSet WHERE CreatedDate > '2020-01-01'", "INVALID_FIELD",
     "value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in quotes"),
    ("SELECT Id FROM PermissionSet WHERE CreatedDate > 2020-01-01", "INVALID_FIELD",
     "value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in quotes"),
    ("SELECT Id FROM PermissionSet WHERE Id = 'abc'", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: abc"),
    ("SELECT Id FROM PermissionSet WHERE ProfileId IN ('00e000000000001AAA', 'nope')", "INVALID_QUERY_FILTER_OPERATOR",
     "invalid ID field: nope"),
    ("SELECT Id FROM PermissionSet WHERE Name IN (SELECT Name FROM Profile)", "MALFORMED_QUERY",
     "semi join sub-selects need an ID or reference field on the left, 'Name' is of type string"),
    ("SELECT Id FROM PermissionSet WHERE Id IN (SELECT Id, Name FROM Profile)", "MALFORMED_QUERY",
     "semi join sub-selects can only select one ID or reference field"),
    ("SELECT Id FROM PermissionSet WHERE Name = TODAY", "INVALID_FIELD", "should not be a date literal"),
    ("SELECT Id FROM PermissionSet WHERE IsOwnedByProfile > true", "INVALID_FIELD",
     "invalid operator on boolean field 'IsOwnedByProfile'"),
    ("SELECT Id FROM PermissionSet WHERE PermissionsApiEnabled LIKE 'x'", "INVALID_FIELD",
     "invalid operator on field 'PermissionsApiEnabled': LIKE needs a text field"),
    ("SELECT Id FROM Foo WHERE Bar = 1", "INVALID_TYPE", "sObject type 'Foo' is not supported. If you are attempting to "
     "use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the "
     "describe call for the appropriate names."),
    ("", "MALFORMED_QUERY", "unexpected token: '<EOF>'"),
    ("DELETE FROM PermissionSet", "MALFORMED_QUERY", "unexpected token: 'DELETE'"),
    ("SELECT Id FROM PermissionSet WHERE Name = 'x' ALL ROWS", "MALFORMED_QUERY",
     "sfemu does not support ALL ROWS (use the queryAll resource)" + UNSUPPORTED),
    ("SELECT Id FROM PermissionSet WHERE CreatedDate = 2020-13-45", "MALFORMED_QUERY", "unexpected token: '2020-13-45'"),
]


@pytest.mark.parametrize("soql,code,tail", ERROR_CASES)
def test_errors(cat, soql, code, tail):
    e = err(cat, soql)
    assert e.error_code == code, e.message
    assert e.message.endswith(tail), e.message
    assert str(e).startswith(code + ": ")


def test_error_caret_points_at_offending_token(cat):
    soql = "SELECT Id FROM PermissionSet WHERE Id = 'abc'"
    e = err(cat, soql)
    assert f"ERROR at Row:1:Column:{soql.index('Id =') + 1}" in e.message


def test_non_string_query_is_a_soql_error(cat):
    with pytest.raises(SoqlError):
        run_query(None, cat[0], V)


# ----------------------------------------------------------------------------------------------------------------
# Robustness: only SoqlError, whatever the input
# ----------------------------------------------------------------------------------------------------------------

SEED_QUERIES = [
    "SELECT Id, Name, (SELECT Id, SobjectType FROM ObjectPerms WHERE PermissionsRead = true ORDER BY SobjectType "
    "LIMIT 2) FROM PermissionSet WHERE (Name LIKE 'p%' OR Name IN ('a','b')) AND IsOwnedByProfile = false "
    "ORDER BY Name DESC NULLS LAST LIMIT 10 OFFSET 0",
    "SELECT Assignee.Username, PermissionSet.Profile.Name FROM PermissionSetAssignment WHERE AssigneeId IN "
    "(SELECT Id FROM User WHERE LastLoginDate = LAST_N_DAYS:30) AND ExpirationDate > 2026-01-01T00:00:00Z",
    "SELECT COUNT() FROM User WHERE NOT (Username = 'a\\'b\\\\c' OR Email != null)",
    "SELECT TotalLicenses FROM PermissionSetLicense WHERE UsedLicenses >= -3.5 AND ExpirationDate <= 2027-01-01",
]
ALPHABET = list("()',.:=<>!%_\\\"-+ \n\tabcXYZ019") + ["SELECT", "FROM", "WHERE", " AND ", " OR ", " NOT ", " IN ",
                                                       "LIKE", "NULL", "TODAY", "LAST_N_DAYS:", "2026-01-01", "COUNT()",
                                                       "ORDER BY", "LIMIT", "é", "\x00", "Ω"]


def _mutate(rnd: random.Random, s: str) -> str:
    for _ in range(rnd.randint(1, 4)):
        i = rnd.randrange(len(s) + 1)
        r = rnd.random()
        if r < 0.35 and s:
            s = s[:i] + s[i + rnd.randint(1, 8):]
        elif r < 0.7:
            s = s[:i] + rnd.choice(ALPHABET) + s[i:]
        elif r < 0.85:
            j = rnd.randrange(len(s) + 1)
            s = s[:min(i, j)] + s[max(i, j):] + s[min(i, j):max(i, j)]
        else:
            s = s[:i] + s[i:].upper() if rnd.random() < 0.5 else s[:i] + s[i:].lower()
    return s


def test_fuzz_only_soql_errors(cat):
    rnd = random.Random(20261124)
    ok = failed = 0
    for n in range(4000):
        base = rnd.choice(SEED_QUERIES)
        soql = _mutate(rnd, base) if n % 10 else "".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(0, 40)))
        try:
            total, recs = run_query(soql, cat[0], V, include_deleted=bool(n % 2))
            assert isinstance(total, int) and isinstance(recs, list)
            ok += 1
        except SoqlError as e:
            assert e.error_code in {"MALFORMED_QUERY", "INVALID_FIELD", "INVALID_TYPE",
                                    "INVALID_QUERY_FILTER_OPERATOR", "NUMBER_OUTSIDE_VALID_RANGE"}
            assert isinstance(e.message, str) and e.message
            failed += 1
    # the mutations must exercise both paths, or the test proves nothing
    assert ok > 50 and failed > 1000


def test_deep_nesting_is_a_soql_error(cat):
    soql = "SELECT Id FROM PermissionSet WHERE " + "(" * 5000 + "Name = 'x'" + ")" * 5000
    e = err(cat, soql)
    assert e.error_code == "MALFORMED_QUERY"


def test_too_long_query(cat):
    soql = "SELECT Id FROM PermissionSet WHERE Name = '" + "x" * 100_001 + "'"
    assert err(cat, soql).error_code == "MALFORMED_QUERY"


# ----------------------------------------------------------------------------------------------------------------
# Caching and performance
# ----------------------------------------------------------------------------------------------------------------


def test_parse_is_cached():
    s = "SELECT Id FROM PermissionSet WHERE Name = 'cached'"
    assert parse(s) is parse(s)


def test_results_are_independent_copies(cat):
    c, _ = cat
    _, recs = q(cat, "SELECT Name FROM PermissionSet ORDER BY Name LIMIT 1")
    recs[0]["Name"] = "mutated"
    assert names(cat, "SELECT Name FROM PermissionSet ORDER BY Name LIMIT 1") == [API]


def _big_catalog(n):
    c = Catalog()
    ps = [c.add("PermissionSet", Name=f"ps_{i}", Label=f"PS {i}", IsOwnedByProfile=i % 5 == 0) for i in range(20)]
    objs = ["Account", "Contact", "Case", "Lead", "Opportunity"]
    for i in range(n):
        c.add("ObjectPermissions", ParentId=ps[i % 20], SobjectType=f"{objs[i % 5]}{i}", PermissionsRead=True,
              PermissionsEdit=i % 2 == 0)
    return c


def _best_ms(fn, repeat=15):
    # CPU time of this thread, not wall time: the cost of evaluation must not depend on how many other processes
    # share the machine (parallel test workers, CI neighbours).
    best = float("inf")
    for _ in range(repeat):
        t0 = time.thread_time()
        fn()
        best = min(best, time.thread_time() - t0)
    return best * 1000


def test_performance_simple_query_on_thousands_of_rows():
    c = _big_catalog(3000)
    soql = "SELECT Id, SobjectType, PermissionsRead FROM ObjectPermissions WHERE PermissionsEdit = true"
    total, _ = run_query(soql, c, V)
    assert total == 1500
    ms = _best_ms(lambda: run_query(soql, c, V))
    # Target is "well under 5 ms"; the bound leaves room for slow CI machines (best-of-15 is typically ~1-2 ms).
    assert ms < 10, f"{ms:.2f} ms"


def test_performance_subquery_and_parent_paths():
    c = _big_catalog(3000)
    soql = ("SELECT Name, (SELECT SobjectType, PermissionsEdit FROM ObjectPerms WHERE PermissionsRead = true) "
            "FROM PermissionSet WHERE IsOwnedByProfile = false")
    total, recs = run_query(soql, c, V)
    assert total == 16 and recs[0]["ObjectPerms"]["totalSize"] == 150
    ms = _best_ms(lambda: run_query(soql, c, V))
    assert ms < 40, f"{ms:.2f} ms"
    soql2 = "SELECT Id, Parent.Name FROM ObjectPermissions WHERE Parent.IsOwnedByProfile = true"
    total, recs = run_query(soql2, c, V)
    assert total == 600 and recs[0]["Parent"]["Name"] == "ps_0"
    ms = _best_ms(lambda: run_query(soql2, c, V))
    assert ms < 40, f"{ms:.2f} ms"


def test_child_relationship_two_tuple_echoes_name_as_written(cat):
    # A catalog whose child_relationship returns only (child_object, child_field), the base protocol.
    class TwoTuple:
        def __init__(self, inner):
            self.inner = inner

        def object_info(self, name):
            info = self.inner.object_info(name)
            if info is None or info.name != "PermissionSet":
                return info

            class Wrapped:
                pass

            w = Wrapped()
            w.name, w.fields, w.field = info.name, info.fields, info.field
            w.child_relationship = lambda rel: (lambda r: r and r[:2])(info.child_relationship(rel))
            return w

        def rows(self, name):
            return self.inner.rows(name)

        def row_by_id(self, rid):
            return self.inner.row_by_id(rid)

    _, recs = run_query("SELECT Name, (SELECT SobjectType FROM objectPERMS ORDER BY SobjectType) FROM PermissionSet "
                        "WHERE Name = 'Planhat_Integration'", TwoTuple(cat[0]), V)
    assert [r["SobjectType"] for r in recs[0]["objectPERMS"]["records"]] == ["Account", "Contact"]


def test_object_named_like_a_keyword(cat):
    # Group and Order are real sObjects: they must reach the catalog (here: unknown -> INVALID_TYPE, not a parse error)
    assert err(cat, "SELECT Id FROM Group").error_code == "INVALID_TYPE"
    assert err(cat, "SELECT Id FROM Order WHERE Id != null").error_code == "INVALID_TYPE"


def test_deleted_rows_skipped_with_and_without_where(cat):
    _, k = cat
    for soql in ("SELECT Id FROM PermissionSetAssignment WHERE IsActive = true",
                 "SELECT Id FROM PermissionSetAssignment"):
        got = [r["Id"] for r in q(cat, soql)[1]]
        assert k["a_del"] not in got and len(got) == 3, soql
        got = [r["Id"] for r in q(cat, soql, include_deleted=True)[1]]
        assert k["a_del"] in got and len(got) == 4, soql
    assert q(cat, "SELECT COUNT() FROM PermissionSetAssignment WHERE IsActive = true") == (3, [])


OUTER_JOIN_BOOLEAN_CASES = [
    # "the Boolean field never has a null value. Instead, null is treated as false. Boolean fields on outer-joined
    # objects are treated as false when no records match the query." (SOQL reference, null values in lookups)
    ("Manager.IsActive = false", ["admin@org1.sfemu.example"]),
    ("Manager.IsActive = true", ["integration@org1.sfemu.example", "old@org1.sfemu.example"]),
    ("Manager.IsActive = null", []),
    ("Manager.IsActive != true", ["admin@org1.sfemu.example"]),
    # ...while other parent fields of a missing parent are null
    ("Manager.Username = null", ["admin@org1.sfemu.example"]),
    ("Manager.Username != 'admin@org1.sfemu.example'", ["admin@org1.sfemu.example", "old@org1.sfemu.example"]),
]


@pytest.mark.parametrize("where,expected", OUTER_JOIN_BOOLEAN_CASES)
def test_outer_join_semantics(cat, where, expected):
    assert names(cat, f"SELECT Username FROM User WHERE {where} ORDER BY Username", "Username") == expected


NESTED = ("SELECT Name, (SELECT Username, (SELECT PermissionSet.Name FROM PermissionSetAssignments) FROM Users "
          "ORDER BY Username) FROM Profile WHERE Name = 'System Administrator'")


def test_nested_child_subqueries_from_api_58():
    c, _ = build()
    _, recs = run_query(NESTED, c, "58.0")
    users = recs[0]["Users"]
    assert users["totalSize"] == 2
    admin, old = users["records"]
    assert admin["Username"] == "admin@org1.sfemu.example"
    assert [r["PermissionSet"]["Name"] for r in admin["PermissionSetAssignments"]["records"]] == [PROF]
    assert old["PermissionSetAssignments"]["records"][0]["PermissionSet"]["Name"] == RO
    assert old["PermissionSetAssignments"]["records"][0]["attributes"]["type"] == "PermissionSetAssignment"


def test_nested_child_subqueries_rejected_before_api_58():
    c, _ = build()
    with pytest.raises(SoqlError) as ei:
        run_query(NESTED, c, "57.0")
    assert ei.value.error_code == "MALFORMED_QUERY"
    assert ei.value.message.endswith("nested child relationship subqueries need API version 58.0 or later")

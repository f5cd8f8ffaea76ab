# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest

from ansible_collections.sfops.salesforce.plugins.module_utils import permissions as perms
from ansible_collections.sfops.salesforce.plugins.module_utils.errors import InputError


def describe(*fields, **readonly):
    out = [{'name': 'Name', 'type': 'string', 'label': 'Name', 'updateable': True}]
    for name, label in fields:
        out.append({'name': 'Permissions' + name, 'type': 'boolean', 'label': label, 'updateable': name not in readonly})
    return {'name': 'PermissionSet', 'fields': out}


CAT = perms.SystemPermissionCatalog(describe(('ApiEnabled', 'API Enabled'), ('ManageUsers', 'Manage Users'), ('ViewRoles', 'View Roles and Role Hierarchy'),
                                             ('ViewSetup', 'View Setup and Configuration'), ('Derived', 'Derived Perm'), Derived=True), '66.0')


@pytest.mark.parametrize('name, expected', [
    ('API Enabled', 'ApiEnabled'), ('api enabled', 'ApiEnabled'), ('ApiEnabled', 'ApiEnabled'),
    ('PermissionsApiEnabled', 'ApiEnabled'), ('  Manage Users ', 'ManageUsers'), ('Nope', None), ('Name', None),
])
def test_resolve(name, expected):
    assert CAT.resolve(name) == expected


def test_resolve_all_dedups_and_keeps_order():
    assert CAT.resolve_all(['Manage Users', 'ApiEnabled', 'PermissionsManageUsers']) == ['ManageUsers', 'ApiEnabled']


def test_unknown_lists_every_problem_with_close_matches():
    with pytest.raises(InputError) as exc:
        CAT.resolve_all(['API Enabeld', 'Manage Userz'])
    assert "'API Enabeld'" in exc.value.message and 'API Enabled' in exc.value.message
    assert 'Manage Users' in exc.value.message and '66.0' in exc.value.message


def test_permission_from_a_later_version_says_which():
    with pytest.raises(InputError) as exc:
        CAT.resolve_all(['Approve Uninstalled Connected Apps'])
    assert '67.0' in exc.value.message and 'api_version' in exc.value.message
    with pytest.raises(InputError):
        CAT.resolve_all(['PermissionsCanApproveUninstalledApps'])


def test_read_only_permission_refused():
    with pytest.raises(InputError) as exc:
        CAT.resolve_all(['Derived Perm'])
    assert 'read-only' in exc.value.message


def test_dependencies_only_those_the_org_knows():
    assert CAT.with_dependencies(['ManageUsers']) == (['ManageUsers', 'ViewRoles'], ['ViewRoles'])
    # ViewAllData's dependencies are not in this org's describe: nothing invented.
    cat = perms.SystemPermissionCatalog(describe(('ModifyAllData', 'Modify All Data'), ('ViewAllData', 'View All Data')), '67.0')
    assert cat.with_dependencies(['ModifyAllData']) == (['ModifyAllData', 'ViewAllData'], ['ViewAllData'])


@pytest.mark.parametrize('flags, expected_true, implied', [
    ({'edit': True}, {'read', 'edit'}, ['read']),
    ({'delete': True}, {'read', 'edit', 'delete'}, ['edit', 'read']),
    ({'modify_all': True}, {'read', 'edit', 'delete', 'view_all', 'modify_all'}, ['delete', 'edit', 'read', 'view_all']),
    ({'view_all': True, 'read': True}, {'read', 'view_all'}, []),
    ({'create': True}, {'read', 'create'}, ['read']),
    ({}, set(), []),
])
def test_object_closure(flags, expected_true, implied):
    closed, got_implied = perms.object_closure(flags)
    assert set(k for k, v in closed.items() if v) == expected_true
    assert got_implied == implied


@pytest.mark.parametrize('row, level', [
    ({'PermissionsRead': True, 'PermissionsEdit': True}, 'edit'),
    ({'PermissionsRead': True, 'PermissionsEdit': False}, 'read'),
    ({'PermissionsRead': False, 'PermissionsEdit': False}, 'none'),
])
def test_field_level_roundtrip(row, level):
    assert perms.field_level(row) == level
    if level != 'none':
        assert perms.field_level(perms.field_row_fields(level)) == level


ACCOUNT = {'name': 'Account', 'fields': [
    {'name': 'Industry', 'permissionable': True, 'updateable': True, 'createable': True},
    {'name': 'Score__c', 'permissionable': True, 'calculated': True, 'updateable': False, 'createable': False},
    {'name': 'OwnerId', 'permissionable': False},
]}


@pytest.mark.parametrize('field, level, canonical, problem', [
    ('Industry', 'edit', 'Account.Industry', None),
    ('account.industry', 'read', 'Account.Industry', None),
    ('Account.Industry', 'read', 'Account.Industry', None),
    ('Score__c', 'read', 'Account.Score__c', None),
    ('Score__c', 'edit', 'Account.Score__c', 'read-only'),
    ('OwnerId', 'read', 'Account.OwnerId', 'not permissionable'),
    ('Industy', 'read', 'Account.Industy', 'Did you mean: Industry'),
])
def test_check_field(field, level, canonical, problem):
    got_canonical, got_problem = perms.check_field('Account', field, level, ACCOUNT)
    assert got_canonical == canonical
    if problem is None:
        assert got_problem is None
    else:
        assert problem in got_problem


# --- the checks sf_permission_set, sf_object_permission and sf_org_info share ----------------------------------------
def test_check_system_permissions_returns_closure():
    catalog, requested, needed, implied = perms.check_system_permissions(
        describe(('ApiEnabled', 'API Enabled'), ('ManageUsers', 'Manage Users'), ('ViewRoles', 'View Roles and Role Hierarchy')),
        '67.0', ['Manage Users', 'PermissionsApiEnabled'])
    assert requested == ['ManageUsers', 'ApiEnabled']
    assert needed == ['ApiEnabled', 'ManageUsers', 'ViewRoles'] and implied == ['ViewRoles']
    assert 'ViewRoles' in catalog


def test_check_system_permissions_unknown_names_all_listed():
    with pytest.raises(InputError) as exc:
        perms.check_system_permissions(describe(('ViewAllData', 'View All Data'), ('ViewSetup', 'View Setup and Configuration')),
                                       '67.0', ['View All Dato', 'ViewSetup', 'Fly'])
    msg = exc.value.message
    assert "'View All Dato' is not a PermissionSet permission. Did you mean: View All Data" in msg
    assert "'Fly' is not a PermissionSet permission." in msg and "'ViewSetup'" not in msg
    assert 'Setup label' in exc.value.hint


def test_check_system_permissions_none_is_nothing():
    assert perms.check_system_permissions(describe(), '67.0', None)[1:] == ([], [], [])


TARGETS = {'name': 'ObjectPermissions', 'fields': [{'name': 'SobjectType', 'type': 'picklist', 'picklistValues': [
    {'value': 'Account', 'active': True}, {'value': 'Contact', 'active': True}, {'value': 'Retired__c', 'active': False}]}]}


def test_check_objects_canonical_names_flags_and_fields():
    plan = perms.check_objects([{'name': 'account', 'edit': True, 'fields': {'industry': 'edit', 'Account.Score__c': 'read'}},
                                {'name': 'Contact', 'read': True}], TARGETS, {'account': ACCOUNT})
    (obj, flags, implied, fields), contact = plan
    assert obj == 'Account' and flags['read'] and flags['edit'] and not flags['delete']
    assert implied == ['Account.read'] and fields == {'Account.Industry': 'edit', 'Account.Score__c': 'read'}
    assert contact[0] == 'Contact' and contact[2] == [] and contact[3] == {}


@pytest.mark.parametrize('objects, describes, fragments', [
    ([{'name': 'Acount', 'read': True}], {}, ["object 'Acount' is unknown", 'Did you mean: Account']),
    ([{'name': 'Retired__c', 'read': True}], {}, ["object 'Retired__c' is unknown"]),   # inactive picklist value
    ([{'name': 'Account', 'fields': {'Industy': 'read'}}], {'account': ACCOUNT}, ['Account.Industy does not exist', 'Did you mean: Industry']),
    ([{'name': 'Account', 'fields': {'Industry': 'all'}}], {'account': ACCOUNT}, ["level 'all' must be one of none, read, edit"]),
    ([{'name': 'Contact', 'fields': {'Email': 'read'}}], {}, ['object Contact could not be described']),
    ([{'name': 'Account'}, {'name': 'account'}], {}, ['object Account is listed twice']),
    ([{'name': 'Acount'}, {'name': 'Account', 'fields': {'OwnerId': 'read'}}], {'account': ACCOUNT},
     ["object 'Acount' is unknown", 'Account.OwnerId has no field permissions']),
])
def test_check_objects_problems(objects, describes, fragments):
    with pytest.raises(InputError) as exc:
        perms.check_objects(objects, TARGETS, describes)
    for fragment in fragments:
        assert fragment in exc.value.message
    assert exc.value.message.startswith('Invalid objects or fields: ') and 'Object Manager' in exc.value.hint


def test_check_objects_failed_describe_is_named():
    from ansible_collections.sfops.salesforce.plugins.module_utils.errors import SalesforceError
    err = SalesforceError(404, 'NOT_FOUND', 'The requested resource does not exist')
    with pytest.raises(InputError) as exc:
        perms.check_objects([{'name': 'Contact', 'fields': {'Email': 'read'}}], TARGETS, {'contact': err})
    assert 'object Contact could not be described' in exc.value.message and 'NOT_FOUND' in exc.value.message


def test_check_objects_without_picklist_takes_names_as_given():
    # An ObjectPermissions describe without SobjectType values cannot tell: names pass unchanged (fields still checked).
    plan = perms.check_objects([{'name': 'Whatever__c', 'read': True}], {'fields': []}, {})
    assert plan[0][0] == 'Whatever__c'


# --- objects with field permissions but no object permissions, and compound fields (real-org evidence) ---------------
# Shapes as in real describes: Task (fidelity-evidence.md row 1-2), Account's BillingAddress and its parts (recorded
# Account describe: parts and compound permissionable, parts with compoundFieldName BillingAddress).
TASK = {'name': 'Task', 'fields': [
    {'name': 'Subject', 'type': 'combobox', 'permissionable': False},
    {'name': 'ActivityDate', 'type': 'date', 'permissionable': True, 'updateable': True, 'createable': True},
    {'name': 'Description', 'type': 'textarea', 'permissionable': True, 'updateable': True, 'createable': True},
]}
ACCOUNT_ADDRESS = {'name': 'Account', 'fields': [
    {'name': 'BillingCountry', 'type': 'string', 'permissionable': True, 'compoundFieldName': 'BillingAddress',
     'updateable': True, 'createable': True},
    {'name': 'BillingAddress', 'type': 'address', 'permissionable': True, 'updateable': False, 'createable': False},
]}


def test_check_objects_takes_field_permissions_of_an_object_without_object_permissions():
    plan = perms.check_objects([{'name': 'task', 'fields': {'ActivityDate': 'read', 'Description': 'edit'}}], TARGETS,
                               {'task': TASK})
    assert plan == [('Task', dict((n, False) for n, _f in perms.OBJECT_FLAGS), [],
                     {'Task.ActivityDate': 'read', 'Task.Description': 'edit'})]


@pytest.mark.parametrize('entry, fragments', [
    ({'name': 'Task', 'read': True, 'fields': {'ActivityDate': 'read'}},
     ['object Task cannot carry object permissions', 'parent record', 'drop read']),
    ({'name': 'Task', 'fields': {'Subject': 'read'}}, ['Task.Subject has no field permissions', 'always accessible']),
    ({'name': 'Taks', 'fields': {'ActivityDate': 'read'}}, ["object 'Taks' is unknown"]),
])
def test_check_objects_field_only_object_problems(entry, fragments):
    describes = {'task': TASK, 'taks': None}
    with pytest.raises(InputError) as exc:
        perms.check_objects([entry], TARGETS, describes)
    for fragment in fragments:
        assert fragment in exc.value.message


def test_address_parts_are_refused_for_their_compound_which_takes_edit():
    canonical, problem = perms.check_field('Account', 'BillingCountry', 'read', ACCOUNT_ADDRESS)
    assert canonical == 'Account.BillingCountry' and 'list Account.BillingAddress instead' in problem
    assert perms.check_field('Account', 'BillingAddress', 'edit', ACCOUNT_ADDRESS) == ('Account.BillingAddress', None)

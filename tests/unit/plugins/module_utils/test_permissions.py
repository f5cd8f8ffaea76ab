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

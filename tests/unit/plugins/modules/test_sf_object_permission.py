# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest

from ansible_collections.sfops.salesforce.plugins.modules.sf_object_permission import main


@pytest.fixture
def ps_id(org):
    return org.insert('PermissionSet', {'Name': 'Integration_API', 'Label': 'x'})


OBJECTS = [{'name': 'account', 'edit': True, 'fields': {'Industry': 'read', 'Account.Description': 'edit'}},
           {'name': 'Contact', 'read': True}]


def obj_rows(org, ps_id):
    return dict((r['SobjectType'], r) for r in org.find('ObjectPermissions', ParentId=ps_id))


def fld_rows(org, ps_id):
    return dict((r['Field'], r) for r in org.find('FieldPermissions', ParentId=ps_id))


def test_check_mode_then_apply_then_converged(org, ps_id, run_module):
    res = run_module(main, {'permission_set': 'Integration_API', 'objects': OBJECTS}, check_mode=True)
    assert res['changed'] is True
    assert res['added'] == {'objects': ['Account', 'Contact'], 'fields': ['Account.Description', 'Account.Industry']}
    assert res['removed'] == {'objects': [], 'fields': []}
    assert res['implied'] == ['Account.read']
    assert res['object_permissions']['Account'] == {'read': True, 'create': False, 'edit': True, 'delete': False,
                                                    'view_all': False, 'modify_all': False}
    assert res['field_permissions'] == {'Account.Industry': 'read', 'Account.Description': 'edit'}
    assert org.writes() == [] and obj_rows(org, ps_id) == {}

    org.calls.clear()
    res = run_module(main, {'permission_set': 'Integration_API', 'objects': OBJECTS})
    assert res['changed'] is True
    # one composite read + one collections create carrying all four rows
    assert [c[:2] for c in org.calls] == [('POST', 'composite'), ('POST', 'composite/sobjects')]
    objs = obj_rows(org, ps_id)
    assert objs['Account']['PermissionsRead'] is True and objs['Account']['PermissionsEdit'] is True
    assert fld_rows(org, ps_id)['Account.Description']['PermissionsEdit'] is True

    org.calls.clear()
    org.token_requests = 0
    res = run_module(main, {'permission_set': 'Integration_API', 'objects': OBJECTS})
    assert res['changed'] is False and org.writes() == []
    assert len(org.calls) == 1 and org.token_requests == 1


def test_update_revoke_and_purge_batched(org, ps_id, run_module):
    run_module(main, {'permission_set': 'Integration_API', 'objects': OBJECTS})
    org.insert('ObjectPermissions', {'ParentId': ps_id, 'SobjectType': 'Opportunity', 'PermissionsRead': True})
    org.calls.clear()
    objects = [{'name': 'Account', 'read': True, 'fields': {'Industry': 'edit'}}, {'name': 'Contact'}]
    res = run_module(main, {'permission_set': 'Integration_API', 'objects': objects, 'purge_objects': True, 'purge_fields': True})
    assert res['changed'] is True
    assert res['updated'] == {'objects': ['Account'], 'fields': ['Account.Industry']}
    assert res['removed'] == {'objects': ['Contact', 'Opportunity'], 'fields': ['Account.Description']}
    before, after = res['diff']['before'], res['diff']['after']
    assert before['objects']['Account'] == {'edit': True} and after['objects']['Account'] == {'edit': False}
    assert before['objects']['Contact']['read'] is True and after['objects']['Contact'] is None
    assert before['fields'] == {'Account.Industry': 'read', 'Account.Description': 'edit'}
    assert after['fields'] == {'Account.Industry': 'edit', 'Account.Description': 'none'}
    objs = obj_rows(org, ps_id)
    assert set(objs) == {'Account'} and objs['Account']['PermissionsEdit'] is False
    assert set(fld_rows(org, ps_id)) == {'Account.Industry'}
    writes = [c[:2] for c in org.calls if c[1] == 'composite/sobjects']
    assert writes == [('PATCH', 'composite/sobjects'), ('DELETE', 'composite/sobjects')]


def test_purge_acts_only_on_a_given_list(org, ps_id, run_module):
    """One purge rule: an omitted list is unmanaged whatever purge says; an explicit [] with purge means "none"."""
    run_module(main, {'permission_set': 'Integration_API', 'objects': OBJECTS})
    org.calls.clear()
    res = run_module(main, {'permission_set': 'Integration_API', 'purge_objects': True, 'purge_fields': True})
    assert res['changed'] is False and org.writes() == [] and set(obj_rows(org, ps_id)) == {'Account', 'Contact'}
    # An entry without fields leaves that object's field permissions alone, even with purge_fields.
    res = run_module(main, {'permission_set': 'Integration_API', 'purge_fields': True,
                            'objects': [{'name': 'Account', 'read': True, 'edit': True}]})
    assert res['changed'] is False and set(fld_rows(org, ps_id)) == {'Account.Industry', 'Account.Description'}
    res = run_module(main, {'permission_set': 'Integration_API', 'objects': [], 'purge_objects': True})
    assert res['changed'] is True and res['removed'] == {'objects': ['Account', 'Contact'],
                                                         'fields': ['Account.Description', 'Account.Industry']}
    assert obj_rows(org, ps_id) == {} and fld_rows(org, ps_id) == {}


def test_synthetic_rows_ignored(org, ps_id, run_module):
    org.rows.setdefault('ObjectPermissions', []).append({'Id': '000000000000001AAA', 'ParentId': ps_id, 'SobjectType': 'Opportunity',
                                                         'PermissionsRead': True})
    res = run_module(main, {'permission_set': 'Integration_API', 'objects': [], 'purge_objects': True})
    assert res['changed'] is False and org.writes() == []


@pytest.mark.parametrize('objects, fragment', [
    ([{'name': 'Acount', 'read': True}], 'Did you mean: Account'),
    ([{'name': 'User', 'read': True}], 'cannot carry object permissions'),
    ([{'name': 'Account', 'read': True, 'fields': {'Industy': 'read'}}], 'Did you mean: Industry'),
    ([{'name': 'Account', 'read': True, 'fields': {'OwnerId': 'read'}}], 'not permissionable'),
    ([{'name': 'Account', 'read': True, 'fields': {'Rating__c': 'edit'}}], 'read-only'),
    ([{'name': 'Account', 'read': True, 'fields': {'Industry': 'write'}}], 'must be one of'),
    ([{'name': 'Account', 'read': True}, {'name': 'ACCOUNT'}], 'listed twice'),
    ([{'name': 'Opportunity', 'read': True, 'fields': {'Amount': 'read'}}], 'could not be described'),
])
def test_invalid_input_fails_before_any_write(org, ps_id, run_module, objects, fragment):
    res = run_module(main, {'permission_set': 'Integration_API', 'objects': objects})
    assert res['failed'] is True
    assert fragment in res['msg']
    assert org.writes() == []


def test_missing_permission_set(org, run_module):
    res = run_module(main, {'permission_set': 'Nope', 'objects': [{'name': 'Account', 'read': True}]})
    assert res['failed'] is True and 'does not exist' in res['msg']
    res = run_module(main, {'permission_set': 'Nope', 'objects': [{'name': 'Account', 'read': True}]}, check_mode=True)
    assert res['changed'] is True and res['added']['objects'] == ['Account'] and org.writes() == []
    assert 'does not exist yet' in str(res.get('warnings'))


def test_row_failure_reported_with_code(org, ps_id, run_module):
    org.faults.append((lambda m, p: m == 'POST' and p == 'composite/sobjects', 200,
                       [{'success': False, 'errors': [{'statusCode': 'FIELD_INTEGRITY_EXCEPTION',
                                                       'message': 'Permission Read Contact depends on permission(s): Read Account'}]}]))
    res = run_module(main, {'permission_set': 'Integration_API', 'objects': [{'name': 'Contact', 'read': True}]})
    assert res['failed'] is True and res['error_code'] == 'FIELD_INTEGRITY_EXCEPTION'
    assert 'depends on permission(s): Read Account' in res['msg'] and 'What to do' in res['msg']
    assert res['records'][0]['error_code'] == 'FIELD_INTEGRITY_EXCEPTION'

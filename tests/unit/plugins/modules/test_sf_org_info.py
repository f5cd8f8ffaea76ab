# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest

from ansible_collections.sfops.salesforce.plugins.modules.sf_org_info import main


def test_default_gather_two_requests(org, run_module):
    res = run_module(main, {}, check_mode=True)
    assert res['changed'] is False
    o = res['org']
    assert o['organization'] == {'id': org.org_id, 'name': 'Fake Org', 'edition': 'Developer Edition', 'is_sandbox': False, 'instance': 'FK1'}
    assert o['versions']['latest'] == '67.0' and o['versions']['in_use'] == '67.0'
    assert o['limits']['daily_api_requests'] == {'max': 15000, 'remaining': 14990, 'used': 10}
    psl = o['licenses']['permission_set_licenses'][0]
    assert (psl['developer_name'], psl['total'], psl['available']) == ('SalesforceAPIIntegrationPsl', 5, 5)
    assert len(org.calls) == 2 and org.writes() == []


def test_access_gather(org, run_module):
    ps_id = org.insert('PermissionSet', {'Name': 'Integration_API', 'Label': 'x', 'PermissionsApiEnabled': True})
    org.insert('PermissionSetAssignment', {'PermissionSetId': ps_id, 'AssigneeId': org.admin})
    org.insert('ObjectPermissions', {'ParentId': ps_id, 'SobjectType': 'Account', 'PermissionsRead': True})
    org.insert('FieldPermissions', {'ParentId': ps_id, 'SobjectType': 'Account', 'Field': 'Account.Industry', 'PermissionsRead': True,
                                    'PermissionsEdit': False})
    app = org.insert('ConnectedApplication', {'Name': 'Planhat', 'OptionsAllowAdminApprovedUsersOnly': True})
    org.insert('SetupEntityAccess', {'ParentId': ps_id, 'SetupEntityId': app, 'SetupEntityType': 'ConnectedApplication'})
    org.insert('OauthToken', {'AppName': 'Other App', 'UserId': org.admin, 'UseCount': 3})
    res = run_module(main, {'gather': ['users', 'permission_sets', 'connected_apps'], 'permission_set_names': ['Integration_API']})
    o = res['org']
    assert o['users'][0]['permission_sets'] == ['Integration_API']  # profile-owned set filtered out
    (ps,) = o['permission_sets']
    assert ps['system_permissions'] == ['ApiEnabled'] and ps['assignments'] == ['admin@fake.example']
    assert ps['object_permissions']['Account']['read'] is True and ps['field_permissions'] == {'Account.Industry': 'read'}
    apps = dict((a['name'], a) for a in o['connected_apps'])
    assert apps['Planhat']['installed'] is True and apps['Planhat']['permission_sets'] == ['Integration_API']
    assert apps['Other App']['installed'] is False and apps['Other App']['oauth_users'] == ['admin@fake.example']
    assert org.writes() == []
    assert len(org.calls) <= 3


# --- validate_system_permissions / validate_objects ----------------------------------------------------------------
from ansible_collections.sfops.salesforce.plugins.modules.sf_object_permission import main as object_permission_main  # noqa: E402
from ansible_collections.sfops.salesforce.plugins.modules.sf_permission_set import main as permission_set_main  # noqa: E402


def composite_subrequests(org, monkeypatch):
    """Record the subrequest URLs of every composite call the module sends to ``org``."""
    seen = []
    original = org._composite

    def spy(body):
        seen.append([s['url'] for s in body['compositeRequest']])
        return original(body)

    monkeypatch.setattr(org, '_composite', spy)
    return seen


def after_step(msg):
    """The failure message without 'Failed while <step>: ' (each module names its own step)."""
    return msg.split(': ', 1)[1]


def test_validation_resolves_names_in_the_same_requests(org, run_module, monkeypatch):
    seen = composite_subrequests(org, monkeypatch)
    res = run_module(main, {'gather': ['limits', 'licenses', 'users'],
                            'validate_system_permissions': ['API Enabled', 'PermissionsManageUsers', 'manage users'],
                            'validate_objects': [{'name': 'account', 'read': True, 'view_all': True,
                                                  'fields': {'Industry': 'read', 'Account.Description': 'edit'}},
                                                 {'name': 'Contact', 'edit': True}]})
    assert res['changed'] is False and 'failed' not in res
    v = res['validation']
    assert v['system_permissions'] == ['ApiEnabled', 'ManageUsers'] and v['implied_system_permissions'] == ['ViewRoles']
    assert v['objects']['Account'] == {'read': True, 'create': False, 'edit': False, 'delete': False, 'view_all': True, 'modify_all': False}
    assert v['objects']['Contact']['edit'] is True and v['objects']['Contact']['read'] is True
    assert v['implied_object_permissions'] == ['Contact.read']
    assert v['fields'] == {'Account.Industry': 'read', 'Account.Description': 'edit'}
    # One composite: the describes rode with the queries; Contact has no fields, so it is not described.
    assert len(org.calls) == 1 and org.writes() == []
    (urls,) = seen
    described = sorted(u.split('/sobjects/')[1] for u in urls if u.endswith('/describe'))
    assert described == ['ObjectPermissions/describe', 'PermissionSet/describe', 'account/describe']
    assert sum('/query?' in u for u in urls) == 3


def test_no_validation_no_describe(org, run_module, monkeypatch):
    seen = composite_subrequests(org, monkeypatch)
    res = run_module(main, {'gather': ['limits']})
    assert 'validation' not in res
    assert not any(u.endswith('/describe') for u in seen[0])


def test_empty_lists_are_checked_and_pass(org, run_module):
    res = run_module(main, {'gather': ['limits'], 'validate_system_permissions': [], 'validate_objects': []})
    assert res['validation'] == {'system_permissions': [], 'implied_system_permissions': [], 'objects': {},
                                 'implied_object_permissions': [], 'fields': {}}


def test_unknown_system_permission_same_message_as_sf_permission_set(org, run_module):
    res = run_module(main, {'gather': ['limits'], 'validate_system_permissions': ['API Enabled', 'View All Dato']})
    assert res['failed'] is True and not res.get('changed')
    msg = res['msg']
    assert "'View All Dato' is not a PermissionSet permission" in msg and 'Did you mean: View All Data' in msg
    assert 'nothing was changed' in msg and 'What to do:' in msg
    assert org.writes() == [] and len(org.calls) == 1  # failed after the one read, before the versions GET
    ps = run_module(permission_set_main, {'name': 'Integration_API', 'system_permissions': ['API Enabled', 'View All Dato']})
    assert ps['failed'] is True
    assert after_step(msg) == after_step(ps['msg'])
    assert org.find('PermissionSet', Name='Integration_API') == []


@pytest.mark.parametrize('objects, fragment', [
    ([{'name': 'Acount', 'read': True}], "object 'Acount' is unknown"),
    ([{'name': 'Account', 'read': True, 'fields': {'Industy': 'read'}}], 'Did you mean: Industry'),
    ([{'name': 'Account', 'read': True, 'fields': {'Rating__c': 'edit'}}], 'read-only'),
    ([{'name': 'Account', 'read': True, 'fields': {'Name': 'read'}}], 'not permissionable'),
    ([{'name': 'Account', 'read': True, 'fields': {'Industry': 'write'}}], "level 'write'"),
    ([{'name': 'Account', 'read': True}, {'name': 'ACCOUNT', 'read': True}], 'listed twice'),
    ([{'name': 'Acount', 'read': True, 'fields': {'Industry': 'read'}}], "object 'Acount' is unknown"),
])
def test_bad_objects_same_message_as_sf_object_permission(org, run_module, objects, fragment):
    ps_id = org.insert('PermissionSet', {'Name': 'Integration_API', 'Label': 'Integration API'})
    res = run_module(main, {'gather': ['limits'], 'validate_objects': objects})
    assert res['failed'] is True and not res.get('changed')
    assert fragment in res['msg'] and 'nothing was changed' in res['msg'] and 'What to do: Use API names' in res['msg']
    assert org.writes() == []
    op = run_module(object_permission_main, {'permission_set': 'Integration_API', 'objects': objects})
    assert op['failed'] is True
    assert after_step(res['msg']) == after_step(op['msg'])
    assert org.find('ObjectPermissions', ParentId=ps_id) == [] and org.writes() == []


def test_both_checks_reported_together(org, run_module):
    res = run_module(main, {'gather': ['limits'], 'validate_system_permissions': ['View All Dato'],
                            'validate_objects': [{'name': 'Acount', 'read': True}]})
    assert res['failed'] is True
    msg = res['msg']
    assert 'View All Dato' in msg and 'Did you mean: View All Data' in msg
    assert "'Acount'" in msg and 'Did you mean: Account' in msg
    assert 'Setup label' in msg and 'Object Manager' in msg  # both hints


def test_permission_newer_than_the_api_version(monkeypatch, run_module):
    from ansible_collections.sfops.salesforce.tests.unit.fake_salesforce import FakeOrg, install
    install(monkeypatch, FakeOrg(api_version='66.0'))
    res = run_module(main, {'gather': ['limits'], 'api_version': '66.0',
                            'validate_system_permissions': ['Approve Uninstalled Connected Apps']})
    assert res['failed'] is True and '67.0' in res['msg'] and 'api_version' in res['msg']


def test_validate_objects_rejects_unknown_keys(org, run_module):
    res = run_module(main, {'gather': ['limits'], 'validate_objects': [{'name': 'Account', 'viewall': True}]})
    assert res['failed'] is True and 'viewall' in res['msg']
    assert org.calls == []


def test_api_budget_guard(org, run_module):
    # The fake org has 14990 daily API requests left. Below the minimum the task fails after its one read, naming
    # both numbers and what to do.
    res = run_module(main, {'gather': ['limits', 'users'], 'min_api_requests_remaining': 14991})
    assert res['failed'] is True and not res.get('changed')
    assert 'Only 14990 daily API requests remain in this org, fewer than min_api_requests_remaining (14991)' in res['msg']
    assert 'What to do:' in res['msg'] and len(org.calls) == 1 and org.writes() == []
    # At the minimum it passes.
    res = run_module(main, {'gather': ['limits'], 'min_api_requests_remaining': 14990})
    assert not res.get('failed') and res['org']['limits']['daily_api_requests']['remaining'] == 14990
    # Without the limits it cannot judge: refused before any request.
    calls = len(org.calls)
    res = run_module(main, {'gather': ['users'], 'min_api_requests_remaining': 1})
    assert res['failed'] is True and 'add limits to gather' in res['msg'] and len(org.calls) == calls

# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

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

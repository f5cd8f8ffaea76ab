# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from ansible_collections.sfops.salesforce.plugins.modules.sf_permission_set import main
from ansible_collections.sfops.salesforce.tests.unit.fake_salesforce import TOKEN


def ps(org, name='Integration_API'):
    rows = org.find('PermissionSet', Name=name)
    return rows[0] if rows else None


def test_create_check_mode_makes_no_write(org, run_module):
    res = run_module(main, {'name': 'Integration_API', 'system_permissions': ['API Enabled']}, check_mode=True)
    assert res['changed'] is True
    assert res['permission_set']['id'] is None
    assert res['added']['system_permissions'] == ['ApiEnabled']
    assert res['diff']['before'] == {'state': 'absent'}
    assert ps(org) is None
    assert org.writes() == []
    assert TOKEN not in res.out


def test_create_then_converged(org, run_module):
    args = {'name': 'Integration_API', 'label': 'Integration', 'system_permissions': ['API Enabled', 'PermissionsManageUsers'],
            'license': 'SalesforceAPIIntegrationPsl'}
    res = run_module(main, args)
    row = ps(org)
    assert res['changed'] is True
    assert row['PermissionsApiEnabled'] is True and row['PermissionsManageUsers'] is True
    # ManageUsers depends on ViewRoles: granted and reported, never left for Salesforce to reject.
    assert row['PermissionsViewRoles'] is True
    assert res['implied_permissions'] == ['ViewRoles']
    assert row['LicenseId'] == org.psl
    assert res['permission_set']['id'] == row['Id']
    org.calls.clear()
    org.token_requests = 0
    res = run_module(main, args)
    assert res['changed'] is False
    assert org.writes() == []
    assert len(org.calls) == 1 and org.calls[0][1] == 'composite'
    assert org.token_requests == 1


def test_update_diff_only_changes(org, run_module):
    org.insert('PermissionSet', {'Name': 'Integration_API', 'Label': 'Old', 'PermissionsApiEnabled': True, 'PermissionsViewSetup': True})
    res = run_module(main, {'name': 'Integration_API', 'label': 'New', 'system_permissions': ['ApiEnabled'],
                            'purge_system_permissions': True})
    assert res['changed'] is True
    assert res['removed']['system_permissions'] == ['ViewSetup']
    assert res['diff'] == {'before': {'label': 'Old', 'system_permissions': {'ViewSetup': True}},
                           'after': {'label': 'New', 'system_permissions': {'ViewSetup': False}}}
    row = ps(org)
    assert row['Label'] == 'New' and row['PermissionsViewSetup'] is False and row['PermissionsApiEnabled'] is True


def test_without_purge_extra_permissions_stay(org, run_module):
    org.insert('PermissionSet', {'Name': 'Integration_API', 'Label': 'Integration_API', 'PermissionsApiEnabled': True, 'PermissionsViewSetup': True})
    res = run_module(main, {'name': 'Integration_API', 'system_permissions': ['ApiEnabled']})
    assert res['changed'] is False
    assert org.writes() == []


def test_unknown_permission_fails_before_write_with_close_match(org, run_module):
    res = run_module(main, {'name': 'Integration_API', 'system_permissions': ['API Enabeld']})
    assert res['failed'] is True
    assert 'API Enabled' in res['msg'] and 'Did you mean' in res['msg']
    assert org.writes() == []
    assert 'CLIENT-SECRET-VALUE' not in res.out and TOKEN not in res.out


def test_permission_from_later_api_version_is_named(org, run_module):
    res = run_module(main, {'name': 'Integration_API', 'system_permissions': ['Approve Uninstalled Connected Apps']})
    assert res['failed'] is True
    assert '67.0' in res['msg'] and 'PermissionsCanApproveUninstalledApps' in res['msg']


def test_license_change_on_existing_set_fails_clearly(org, run_module):
    org.insert('PermissionSet', {'Name': 'Integration_API', 'Label': 'x'})
    res = run_module(main, {'name': 'Integration_API', 'license': 'Salesforce API Integration'})
    assert res['failed'] is True
    assert 'LicenseId can only be set when a permission set is created' in res['msg']
    assert org.writes() == []


def test_unknown_license_lists_choices(org, run_module):
    res = run_module(main, {'name': 'Integration_API', 'license': 'Salesforce API Integraton'})
    assert res['failed'] is True and 'Salesforce API Integration' in res['msg']
    assert org.writes() == []


def test_profile_owned_set_refused(org, run_module):
    res = run_module(main, {'name': 'X00ex000001', 'label': 'y'})
    assert res['failed'] is True and 'owned by a profile' in res['msg']


def test_bad_name_fails_before_any_request(org, run_module):
    res = run_module(main, {'name': 'bad name__'})
    assert res['failed'] is True and 'not a valid permission set API name' in res['msg']
    assert org.calls == [] and org.token_requests == 0


def test_absent_refuses_while_assigned(org, run_module):
    ps_id = org.insert('PermissionSet', {'Name': 'Integration_API', 'Label': 'x'})
    org.insert('PermissionSetAssignment', {'PermissionSetId': ps_id, 'AssigneeId': org.admin})
    res = run_module(main, {'name': 'Integration_API', 'state': 'absent'})
    assert res['failed'] is True and 'remove_assignments' in res['msg']
    assert ps(org) is not None and org.writes() == []


def test_absent_with_remove_assignments(org, run_module):
    ps_id = org.insert('PermissionSet', {'Name': 'Integration_API', 'Label': 'x'})
    org.insert('PermissionSetAssignment', {'PermissionSetId': ps_id, 'AssigneeId': org.admin})
    res = run_module(main, {'name': 'Integration_API', 'state': 'absent', 'remove_assignments': True}, check_mode=True)
    assert res['changed'] is True and ps(org) is not None and org.writes() == []
    res = run_module(main, {'name': 'Integration_API', 'state': 'absent', 'remove_assignments': True})
    assert res['changed'] is True and res['removed_assignments'] == 1
    assert ps(org) is None and org.find('PermissionSetAssignment', PermissionSetId=ps_id) == []
    res = run_module(main, {'name': 'Integration_API', 'state': 'absent'})
    assert res['changed'] is False


def test_salesforce_error_is_reported_with_code_and_hint(org, run_module):
    org.faults.append((lambda m, p: m == 'POST' and p.startswith('sobjects/PermissionSet'), 403,
                       [{'errorCode': 'REQUEST_LIMIT_EXCEEDED', 'message': 'TotalRequests Limit exceeded.'}]))
    res = run_module(main, {'name': 'Integration_API'})
    assert res['failed'] is True
    assert res['error_code'] == 'REQUEST_LIMIT_EXCEEDED'
    assert 'creating permission set Integration_API' in res['msg'] and '24 h' in res['msg']
    assert 'Traceback' not in res.out and TOKEN not in res.out


def test_purge_without_the_list_changes_nothing_and_an_empty_list_clears(org, run_module):
    """One purge rule: system_permissions omitted is unmanaged; [] with purge_system_permissions means none."""
    org.insert('PermissionSet', {'Name': 'Integration_API', 'Label': 'Integration_API', 'PermissionsApiEnabled': True,
                                 'PermissionsViewSetup': True})
    res = run_module(main, {'name': 'Integration_API', 'purge_system_permissions': True})
    assert res['changed'] is False and org.writes() == []
    res = run_module(main, {'name': 'Integration_API', 'system_permissions': [], 'purge_system_permissions': True})
    assert res['changed'] is True and res['removed']['system_permissions'] == ['ApiEnabled', 'ViewSetup']
    row = ps(org)
    assert row['PermissionsApiEnabled'] is False and row['PermissionsViewSetup'] is False

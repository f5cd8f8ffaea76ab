# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sf_permission_set_assignment behaviour against an in-memory org."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_sf_user import FakeSalesforce, run_module  # noqa: E402  pylint: disable=wrong-import-position

USER = '005000000000001'


def main():
    from ansible_collections.sfops.salesforce.plugins.modules import sf_permission_set_assignment
    return sf_permission_set_assignment.main()


class PsaJoin(FakeSalesforce):
    """New assignment rows get the pre-joined parents the real relationship query returns."""

    def write(self, method, sobject, rec_id=None, body=None):
        status, res = super().write(method, sobject, rec_id, body)
        if sobject == 'PermissionSetAssignment' and method == 'POST' and status < 300:
            row = self.tables[sobject][-1]
            if row.get('PermissionSetGroupId'):
                grp = next(g for g in self.tables['PermissionSetGroup'] if g['Id'] == row['PermissionSetGroupId'])
                row.update(PermissionSetId='0PS00000000G001', PermissionSet={'Name': 'grp_ps', 'IsOwnedByProfile': False},
                           PermissionSetGroup={'DeveloperName': grp['DeveloperName']})
            else:
                ps = next(p for p in self.tables['PermissionSet'] if p['Id'] == row['PermissionSetId'])
                row.update(PermissionSet={'Name': ps['Name'], 'IsOwnedByProfile': False}, PermissionSetGroupId=None)
        return status, res


def org():
    return PsaJoin({
        'User': [{'Id': USER, 'Username': 'planhat@acme.example', 'IsActive': True}],
        'PermissionSet': [{'Id': '0PS000000000001', 'Name': 'Planhat_Integration', 'IsOwnedByProfile': False},
                          {'Id': '0PS000000000002', 'Name': 'Old_Access', 'IsOwnedByProfile': False},
                          {'Id': '0PS000000000003', 'Name': 'Reports_Reader', 'IsOwnedByProfile': False}],
        'PermissionSetGroup': [{'Id': '0PG000000000001', 'DeveloperName': 'Sales_Ops'}],
        'PermissionSetAssignment': [
            {'Id': '0Pa000000000001', 'AssigneeId': USER, 'PermissionSetId': '0PS000000000002', 'PermissionSetGroupId': None,
             'PermissionSet': {'Name': 'Old_Access', 'IsOwnedByProfile': False}},
            # the profile's own permission set shows up as an assignment and must never be touched
            {'Id': '0Pa000000000009', 'AssigneeId': USER, 'PermissionSetId': '0PS000000000009', 'PermissionSetGroupId': None,
             'PermissionSet': {'Name': 'X00e_profile', 'IsOwnedByProfile': True}},
        ],
    })


def test_check_mode_plans_without_writing():
    fake = org()
    result, failed = run_module(main, fake, {'user': 'planhat@acme.example', 'permission_sets': ['Planhat_Integration'], 'purge_permission_sets': True},
                                check=True)
    assert not failed, result
    assert result['changed'] is True and fake.writes == []
    assert result['added'] == {'permission_sets': ['Planhat_Integration'], 'permission_set_groups': []}
    assert result['removed'] == {'permission_sets': ['Old_Access'], 'permission_set_groups': []}
    # Only the items that flip, as {name: held}.
    assert result['diff'] == {'before': {'permission_sets': {'Old_Access': True, 'Planhat_Integration': False}},
                              'after': {'permission_sets': {'Old_Access': False, 'Planhat_Integration': True}}}


def test_purge_swaps_in_one_create_and_one_delete_and_spares_the_profile():
    fake = org()
    args = {'user': 'planhat@acme.example', 'permission_sets': ['Planhat_Integration'], 'purge_permission_sets': True}
    result, failed = run_module(main, fake, args)
    assert not failed, result
    expected = [('POST', ['composite', 'sobjects']), ('DELETE', ['composite', 'sobjects'])]
    assert [(m, p.rsplit('/', 2)[-2:]) for m, p in fake.requests[1:]] == expected
    ids = [r['Id'] for r in fake.tables['PermissionSetAssignment']]
    assert '0Pa000000000009' in ids and '0Pa000000000001' not in ids
    assert result['assignments'] == {'permission_sets': ['Planhat_Integration'], 'permission_set_groups': []}
    fake.requests, fake.writes = [], []
    again, failed = run_module(main, fake, args)
    assert not failed and again['changed'] is False and len(fake.requests) == 1 and fake.writes == []


def test_without_purge_others_are_kept():
    fake = org()
    result, failed = run_module(main, fake, {'user': 'planhat@acme.example', 'permission_sets': ['Planhat_Integration']})
    assert not failed and result['removed']['permission_sets'] == []
    assert result['assignments']['permission_sets'] == ['Old_Access', 'Planhat_Integration']


def test_groups_are_assigned_by_developer_name():
    fake = org()
    result, failed = run_module(main, fake, {'user': 'planhat@acme.example', 'permission_set_groups': ['Sales_Ops']})
    assert not failed and result['added']['permission_set_groups'] == ['Sales_Ops']
    assert fake.writes[0][3]['PermissionSetGroupId'] == '0PG000000000001' and 'PermissionSetId' not in fake.writes[0][3]
    again, failed = run_module(main, fake, {'user': 'planhat@acme.example', 'permission_set_groups': ['Sales_Ops']})
    assert not failed and again['changed'] is False


def test_absent_removes_only_listed_ones():
    fake = org()
    result, failed = run_module(main, fake, {'user': 'planhat@acme.example', 'permission_sets': ['Old_Access', 'Reports_Reader'],
                                             'state': 'absent'})
    assert not failed and result['removed']['permission_sets'] == ['Old_Access']
    assert [r['Id'] for r in fake.tables['PermissionSetAssignment']] == ['0Pa000000000009']


@pytest.mark.parametrize('args, expect', [
    ({'user': 'nobody@acme.example', 'permission_sets': ['Old_Access']}, 'No user with username nobody@acme.example'),
    ({'user': 'planhat@acme.example', 'permission_sets': ['Planhat_Integraton']}, 'Did you mean: Planhat_Integration?'),
    ({'user': 'planhat@acme.example', 'permission_sets': ['X00e_profile']}, 'Unknown permission set(s): X00e_profile'),
    ({'user': 'planhat@acme.example', 'permission_set_groups': ['Nope']}, 'Unknown permission set group(s): Nope'),
])
def test_bad_names_fail_before_any_write(args, expect):
    fake = org()
    result, failed = run_module(main, fake, args)
    assert failed and expect in result['msg'] and fake.writes == []


def test_check_mode_reports_what_an_earlier_task_would_create():
    # A check run of the whole runbook: the user and the permission set come from earlier tasks that wrote nothing.
    fake = org()
    result, failed = run_module(main, fake, {'user': 'new.user@acme.example', 'permission_sets': ['Planhat_Integraton']},
                                check=True)
    assert not failed, result
    assert result['changed'] is True and fake.writes == []
    assert result['added'] == {'permission_sets': ['Planhat_Integraton'], 'permission_set_groups': []}
    assert result['diff'] == {'before': {'permission_sets': {'Planhat_Integraton': False}},
                              'after': {'permission_sets': {'Planhat_Integraton': True}}}
    (warning,) = [w for w in result['warnings'] if 'Not in the org yet' in w]
    assert 'user new.user@acme.example' in warning and 'Did you mean: Planhat_Integration?' in warning


def test_one_of_the_lists_is_required():
    fake = org()
    result, failed = run_module(main, fake, {'user': 'planhat@acme.example'})
    assert failed and 'permission_sets' in result['msg'] and fake.requests == []


def test_empty_list_with_purge_removes_all_but_the_profile():
    fake = org()
    result, failed = run_module(main, fake, {'user': 'planhat@acme.example', 'permission_sets': [], 'purge_permission_sets': True})
    assert not failed and result['removed']['permission_sets'] == ['Old_Access']


def test_write_failure_is_reported_with_the_row_error():
    fake = org()
    fake.reject[('POST', 'PermissionSetAssignment')] = ('FIELD_INTEGRITY_EXCEPTION', "The user license doesn't allow the permission: Read Accounts")
    result, failed = run_module(main, fake, {'user': 'planhat@acme.example', 'permission_sets': ['Planhat_Integration']})
    assert failed and "license doesn't allow" in result['msg']


def test_purge_without_the_list_leaves_it_alone():
    """purge_permission_set_groups acts only on a given permission_set_groups list."""
    fake = org()
    fake.tables['PermissionSetAssignment'].append(
        {'Id': '0Pa000000000003', 'AssigneeId': USER, 'PermissionSetId': '0PS00000000G001', 'PermissionSetGroupId': '0PG000000000001',
         'PermissionSet': {'Name': 'grp_ps', 'IsOwnedByProfile': False}, 'PermissionSetGroup': {'DeveloperName': 'Sales_Ops'}})
    result, failed = run_module(main, fake, {'user': 'planhat@acme.example', 'permission_sets': ['Old_Access'],
                                             'purge_permission_sets': True, 'purge_permission_set_groups': True})
    assert not failed and result['changed'] is False and fake.writes == []
    assert result['assignments'] == {'permission_sets': ['Old_Access'], 'permission_set_groups': ['Sales_Ops']}
    result, failed = run_module(main, fake, {'user': 'planhat@acme.example', 'permission_set_groups': [],
                                             'purge_permission_set_groups': True})
    assert not failed and result['removed'] == {'permission_sets': [], 'permission_set_groups': ['Sales_Ops']}


def test_absent_of_a_permission_set_or_user_that_is_gone_is_no_change():
    # A second offboarding run: the permission set (or the user) was deleted by the first one.
    fake = org()
    result, failed = run_module(main, fake, {'user': 'planhat@acme.example', 'permission_sets': ['Deleted_Set'], 'state': 'absent'})
    assert not failed and result['changed'] is False and fake.writes == []
    result, failed = run_module(main, fake, {'user': 'gone@acme.example', 'permission_sets': ['Old_Access'], 'state': 'absent'})
    assert not failed and result['changed'] is False and fake.writes == []

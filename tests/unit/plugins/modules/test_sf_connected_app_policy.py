# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sf_connected_app_policy behaviour against an in-memory org with a Metadata API (SOAP) stand-in."""

import json
import os
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_sf_user import FakeSalesforce, run_module  # noqa: E402  pylint: disable=wrong-import-position

MD = 'http://soap.sforce.com/2006/04/metadata'
APP_ID = '0H4000000000001'


def main():
    from ansible_collections.sfops.salesforce.plugins.modules import sf_connected_app_policy
    return sf_connected_app_policy.main()


class Soap(object):
    """readMetadata/updateMetadata of ConnectedApp for apps in ``apps`` (fullName -> policy dict)."""

    def __init__(self, apps, refuse=None):
        self.apps = apps
        self.refuse = refuse
        self.updates = []

    def __call__(self, text):
        root = ET.fromstring(text)
        body = root.find('{http://schemas.xmlsoap.org/soap/envelope/}Body')[0]
        op = body.tag.split('}')[1]
        if op == 'readMetadata':
            recs = []
            for el in body.findall('{%s}fullNames' % MD):
                pol = self.apps.get(el.text)
                if pol is None:
                    recs.append('<records xsi:type="ConnectedApp"/>')
                    continue
                recs.append('<records xsi:type="ConnectedApp"><fullName>%s</fullName><label>%s</label><oauthConfig>'
                            '<callbackUrl>https://x.example/cb</callbackUrl><consumerKey>KEY</consumerKey>'
                            '<consumerSecret>TOPSECRETVALUE</consumerSecret><isAdminApproved>%s</isAdminApproved>'
                            '<scopes>Api</scopes></oauthConfig><oauthPolicy><ipRelaxation>%s</ipRelaxation>'
                            '<refreshTokenPolicy>%s</refreshTokenPolicy></oauthPolicy></records>'
                            % (el.text, el.text, pol['admin'], pol['ip'], pol['rtp']))
            return 200, ('<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="%s" '
                         'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><readMetadataResponse><result>'
                         '%s</result></readMetadataResponse></soapenv:Body></soapenv:Envelope>' % (MD, ''.join(recs)))
        comp = body.find('{%s}metadata' % MD)
        self.updates.append(ET.tostring(comp, encoding='unicode'))
        name = comp.findtext('{%s}fullName' % MD)
        if self.refuse:
            result = '<errors><message>%s</message><statusCode>CANNOT_MODIFY_MANAGED_OBJECT</statusCode></errors>' \
                     '<fullName>%s</fullName><success>false</success>' % (self.refuse, name)
        else:
            pol = self.apps[name]
            pol['admin'] = comp.findtext('{%s}oauthConfig/{%s}isAdminApproved' % (MD, MD))
            pol['ip'] = comp.findtext('{%s}oauthPolicy/{%s}ipRelaxation' % (MD, MD))
            pol['rtp'] = comp.findtext('{%s}oauthPolicy/{%s}refreshTokenPolicy' % (MD, MD))
            self.on_update(pol)
            result = '<fullName>%s</fullName><success>true</success>' % name
        return 200, ('<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="%s"><soapenv:Body>'
                     '<updateMetadataResponse><result>%s</result></updateMetadataResponse></soapenv:Body></soapenv:Envelope>'
                     % (MD, result))

    @staticmethod
    def on_update(pol):
        """Replaced per test: what the org does after a successful update."""


def org(installed=True, used=True, metadata=True, refuse=None, admin=False):
    tables = {
        'ConnectedApplication': [{'Id': APP_ID, 'Name': 'Planhat', 'OptionsAllowAdminApprovedUsersOnly': admin}] if installed else [],
        'OauthToken': [{'Id': '0CQ000000000001', 'AppName': 'Planhat', 'UseCount': 3}] if used else [],
        'PermissionSet': [{'Id': '0PS000000000001', 'Name': 'Planhat_Integration', 'IsOwnedByProfile': False},
                          {'Id': '0PS000000000002', 'Name': 'Old_Access', 'IsOwnedByProfile': False},
                          {'Id': '0PS000000000009', 'Name': 'X00ex_profile', 'IsOwnedByProfile': True}],
        'SetupEntityAccess': [
            {'Id': '0J0000000000001', 'ParentId': '0PS000000000002', 'SetupEntityId': APP_ID, 'SetupEntityType': 'ConnectedApplication',
             'Parent': {'Name': 'Old_Access', 'IsOwnedByProfile': False}},
            {'Id': '0J0000000000002', 'ParentId': '0PS000000000009', 'SetupEntityId': APP_ID, 'SetupEntityType': 'ConnectedApplication',
             'Parent': {'Name': 'X00ex_profile', 'IsOwnedByProfile': True}},
        ] if installed else [],
    }
    soap = Soap({'Planhat': {'admin': 'true' if admin else 'false', 'ip': 'BYPASS', 'rtp': 'infinite'}} if metadata else {}, refuse)
    fake = SeaJoin(tables, soap=soap)

    def on_update(pol):
        fake.tables['ConnectedApplication'][0]['OptionsAllowAdminApprovedUsersOnly'] = pol['admin'] == 'true'
    soap.on_update = on_update
    return fake


class SeaJoin(FakeSalesforce):
    """New SetupEntityAccess rows get their pre-joined Parent and type, like the real relationship query."""

    def write(self, method, sobject, rec_id=None, body=None):
        status, res = super().write(method, sobject, rec_id, body)
        if sobject == 'SetupEntityAccess' and method == 'POST' and status < 300:
            row = self.tables['SetupEntityAccess'][-1]
            parent = next(p for p in self.tables['PermissionSet'] if p['Id'] == row['ParentId'])
            row.update(SetupEntityType='ConnectedApplication', Parent={'Name': parent['Name'], 'IsOwnedByProfile': parent['IsOwnedByProfile']})
        return status, res


FULL = {'name': 'Planhat', 'permitted_users': 'admin_approved', 'ip_relaxation': 'enforce',
        'refresh_token_policy': 'specific_inactivity:90:days', 'permission_sets': ['Planhat_Integration'], 'purge_permission_sets': True}


def test_check_mode_reports_drift_and_writes_nothing():
    fake = org()
    result, failed = run_module(main, fake, FULL, check=True)
    assert not failed, result
    assert result['changed'] is True and fake.writes == [] and fake.soap.updates == []
    flipped = {'Old_Access': True, 'Planhat_Integration': False}
    assert result['diff']['before'] == {'ip_relaxation': 'bypass', 'permission_sets': flipped, 'permitted_users': 'all_self_authorize',
                                        'refresh_token_policy': 'infinite'}
    assert result['diff']['after'] == {'ip_relaxation': 'enforce', 'permission_sets': dict((k, not v) for k, v in flipped.items()),
                                       'permitted_users': 'admin_approved', 'refresh_token_policy': 'specific_inactivity:90:DAYS'}
    assert result['added'] == {'permission_sets': ['Planhat_Integration']} and result['removed'] == {'permission_sets': ['Old_Access']}


def test_apply_then_converged_in_two_requests():
    fake = org()
    result, failed = run_module(main, fake, FULL)
    assert not failed, result
    assert result['changed'] is True
    assert len(fake.soap.updates) == 1
    update = fake.soap.updates[0]
    assert 'TOPSECRETVALUE' in update  # the full component goes back (update replaces it) ...
    assert 'TOPSECRETVALUE' not in json.dumps(result)  # ... but never into the result
    assert [(m, s) for m, s, _i, _b in fake.writes] == [('POST', 'SetupEntityAccess'), ('DELETE', 'SetupEntityAccess')]
    assert fake.writes[0][3]['ParentId'] == '0PS000000000001' and fake.writes[0][3]['SetupEntityId'] == APP_ID
    # the profile's access row is never touched
    assert any(r['Id'] == '0J0000000000002' for r in fake.tables['SetupEntityAccess'])
    app = result['connected_app']
    assert app == {'id': APP_ID, 'name': 'Planhat', 'installed': True, 'permitted_users': 'admin_approved', 'ip_relaxation': 'enforce',
                   'refresh_token_policy': 'specific_inactivity:90:DAYS', 'permission_sets': ['Planhat_Integration']}
    assert result['manual_steps'] == []
    fake.requests, fake.writes = [], []
    again, failed = run_module(main, fake, FULL)
    assert not failed and again['changed'] is False and 'diff' not in again
    assert len(fake.requests) == 2 and fake.writes == []  # composite read + readMetadata


def test_permitted_users_only_converged_costs_one_request():
    fake = org(admin=True)
    result, failed = run_module(main, fake, {'name': 'Planhat', 'permitted_users': 'admin_approved'})
    assert not failed and result['changed'] is False and len(fake.requests) == 1


def test_used_but_not_installed_fails_with_install_step():
    fake = org(installed=False)
    result, failed = run_module(main, fake, FULL)
    assert failed
    assert 'Connected Apps OAuth Usage' in result['msg'] and 'Install' in result['msg']
    assert fake.writes == [] and fake.soap.updates == []


def test_not_installed_in_check_mode_is_a_manual_step_not_a_change():
    # changed means "this run writes (or would write)": installing is for a person, so it is a manual step only.
    fake = org(installed=False)
    result, failed = run_module(main, fake, FULL, check=True)
    assert not failed and result['changed'] is False
    assert len(result['manual_steps']) == 1 and 'Connected Apps OAuth Usage' in result['manual_steps'][0]
    assert result['connected_app']['installed'] is False


def test_not_installed_with_require_installed_false_reports_without_failing():
    fake = org(installed=False)
    result, failed = run_module(main, fake, dict(FULL, require_installed=False))
    assert not failed and result['changed'] is False
    assert 'Connected Apps OAuth Usage' in result['manual_steps'][0]
    assert any('Manual step' in w for w in result.get('warnings', []))


def test_unknown_app_fails_with_close_match():
    fake = org()
    result, failed = run_module(main, fake, dict(FULL, name='Planhatt'))
    assert failed and 'Did you mean: Planhat?' in result['msg']


def test_metadata_not_available_reports_edit_policies_step():
    fake = org(metadata=False)
    result, failed = run_module(main, fake, dict(FULL, require_installed=False))
    assert not failed
    assert 'Edit Policies' in result['manual_steps'][0] and 'Admin approved users are pre-authorized' in result['manual_steps'][0]
    # access rows are still managed through the data API
    assert result['connected_app']['permission_sets'] == ['Planhat_Integration'] and result['changed'] is True
    assert result['connected_app']['permitted_users'] == 'all_self_authorize'


def test_metadata_not_available_fails_before_any_write_when_required():
    fake = org(metadata=False)
    result, failed = run_module(main, fake, FULL)
    assert failed and 'Edit Policies' in result['msg'] and fake.writes == []


def test_refused_update_names_the_manual_step():
    fake = org(refuse='Cannot modify managed object')
    result, failed = run_module(main, fake, FULL)
    assert failed and 'Edit Policies' in result['msg'] and 'Cannot modify managed object' in result['msg']
    assert fake.writes == []


def test_unknown_permission_set_fails_before_any_write():
    fake = org()
    result, failed = run_module(main, fake, dict(FULL, permission_sets=['Nope']))
    assert failed and 'Unknown permission set(s): Nope' in result['msg'] and fake.writes == [] and fake.soap.updates == []


def test_check_mode_reports_access_for_a_permission_set_an_earlier_task_would_create():
    fake = org()
    result, failed = run_module(main, fake, dict(FULL, permission_sets=['Not_Yet_Created']), check=True)
    assert not failed, result
    assert result['changed'] is True and 'Not_Yet_Created' in result['added']['permission_sets']
    assert fake.writes == [] and fake.soap.updates == []
    assert any('Not_Yet_Created not in the org yet' in w for w in result['warnings'])


def test_profile_owned_permission_set_is_not_accepted():
    fake = org()
    result, failed = run_module(main, fake, dict(FULL, permission_sets=['X00ex_profile']))
    assert failed and 'Unknown permission set' in result['msg']


def test_bad_refresh_token_policy_fails_before_reading():
    fake = org()
    result, failed = run_module(main, fake, dict(FULL, refresh_token_policy='forever'))
    assert failed and 'refresh_token_policy' in result['msg'] and fake.requests == []


def test_verification_failure_is_reported():
    fake = org()
    fake.soap.on_update = lambda pol: None  # the org says success but the app does not change (forcedotcom/cli#2203)
    result, failed = run_module(main, fake, {'name': 'Planhat', 'permitted_users': 'admin_approved'})
    assert failed and 'still shows permitted users = all_self_authorize' in result['msg']


def test_check_mode_with_metadata_absent_diff_holds_only_what_a_run_writes():
    fake = org(metadata=False)
    result, failed = run_module(main, fake, dict(FULL, require_installed=False), check=True)
    assert not failed and result['changed'] is True  # the access rows; the policy is a manual step, not in the diff
    assert result['diff'] == {'before': {'permission_sets': {'Old_Access': True, 'Planhat_Integration': False}},
                              'after': {'permission_sets': {'Old_Access': False, 'Planhat_Integration': True}}}
    assert 'Edit Policies' in result['manual_steps'][0]
    assert result['connected_app']['permitted_users'] == 'all_self_authorize'  # not what Setup has to do, what will be
    assert fake.writes == []

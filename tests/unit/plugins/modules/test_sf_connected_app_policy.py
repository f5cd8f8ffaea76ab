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


ENVELOPE = ('<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="%s" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>%%s</soapenv:Body></soapenv:Envelope>' % MD)
ECA_TYPE, ECA_POLICY_TYPE = 'ExternalClientApplication', 'ExtlClntAppOauthConfigurablePolicies'
ECA_ENUMS = {'permittedUsersPolicyType': ('AdminApprovedPreAuthorized', 'AllSelfAuthorized'),
             'refreshTokenPolicyType': ('Infinite', 'SpecificInactivity', 'SpecificLifetime', 'Zero')}


def fault(code, text):
    """A SOAP 1.1 fault as Salesforce sends it (HTTP 500, faultcode without a namespace on its element)."""
    return 500, ('<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault>'
                 '<faultcode>%s</faultcode><faultstring>%s</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>'
                 % (code, text))


def save_result(name, error=None):
    errors = '<errors><message>%s</message><statusCode>%s</statusCode></errors>' % (error[1], error[0]) if error else ''
    return 200, ENVELOPE % ('<updateMetadataResponse><result>%s<fullName>%s</fullName><success>%s</success></result>'
                            '</updateMetadataResponse>' % (errors, name, 'false' if error else 'true'))


class Soap(object):
    """The Metadata API of the fake org.

    ConnectedApp: readMetadata/updateMetadata for apps in ``apps`` (fullName -> policy dict).  External Client Apps
    (sfemu/docs/external-client-apps.md): listMetadata of their two types, readMetadata and updateMetadata (the whole
    component replaced) of the OAuth policies in ``ecas`` (policies fullName -> {element: text}), with the emulator's
    refusals: no ECA permission (fault sf:INSUFFICIENT_ACCESS), a bad enum (fault soapenv:Client), a permission set
    name the org does not have (SaveResult INVALID_FIELD).
    """

    def __init__(self, apps, refuse=None, ecas=None, permission_sets=(), eca_admin=True):
        self.apps = apps
        self.refuse = refuse
        self.ecas = ecas or {}
        self.permission_sets = set(permission_sets)
        self.eca_admin = eca_admin
        self.updates = []
        self.operations = []
        self.store = True  # False: updateMetadata says success and changes nothing
        self.update_fault = None

    def __call__(self, text):
        root = ET.fromstring(text)
        body = root.find('{http://schemas.xmlsoap.org/soap/envelope/}Body')[0]
        op = body.tag.split('}')[1]
        self.operations.append(op)
        if op == 'listMetadata':
            return self.list(body)
        mtype = body.findtext('{%s}type' % MD) or (body.find('{%s}metadata' % MD).get(
            '{http://www.w3.org/2001/XMLSchema-instance}type') if body.find('{%s}metadata' % MD) is not None else '')
        if mtype == ECA_POLICY_TYPE:
            if not self.eca_admin:
                return self.no_eca_permission(mtype)
            return self.read_eca(body) if op == 'readMetadata' else self.update_eca(body)
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
            return 200, ENVELOPE % ('<readMetadataResponse><result>%s</result></readMetadataResponse>' % ''.join(recs))
        comp = body.find('{%s}metadata' % MD)
        self.updates.append(ET.tostring(comp, encoding='unicode'))
        name = comp.findtext('{%s}fullName' % MD)
        if self.refuse:
            return save_result(name, ('CANNOT_MODIFY_MANAGED_OBJECT', self.refuse))
        pol = self.apps[name]
        pol['admin'] = comp.findtext('{%s}oauthConfig/{%s}isAdminApproved' % (MD, MD))
        pol['ip'] = comp.findtext('{%s}oauthPolicy/{%s}ipRelaxation' % (MD, MD))
        pol['rtp'] = comp.findtext('{%s}oauthPolicy/{%s}refreshTokenPolicy' % (MD, MD))
        self.on_update(pol)
        return save_result(name)

    @staticmethod
    def on_update(pol):
        """Replaced per test: what the org does after a successful update."""

    # --- External Client Apps --------------------------------------------------------------------------------
    @staticmethod
    def no_eca_permission(mtype):
        return fault('sf:INSUFFICIENT_ACCESS', 'INSUFFICIENT_ACCESS: %s needs the user permission "View all External Client '
                                               'Apps, view their settings, and edit their policies"' % mtype)

    def list(self, body):
        types = [q.findtext('{%s}type' % MD) for q in body.findall('{%s}queries' % MD)]
        results = []
        for mtype in types:
            if not self.eca_admin:
                return self.no_eca_permission(mtype)
            names = {ECA_TYPE: sorted(p['externalClientApplication'] for p in self.ecas.values()),
                     ECA_POLICY_TYPE: sorted(self.ecas)}.get(mtype, [])
            results += ['<result><fullName>%s</fullName><id>0xE%012d</id><manageableState>installed</manageableState>'
                        '<type>%s</type></result>' % (n, i, mtype) for i, n in enumerate(names)]
        return 200, ENVELOPE % ('<listMetadataResponse>%s</listMetadataResponse>' % ''.join(results))

    def read_eca(self, body):
        recs = []
        for el in body.findall('{%s}fullNames' % MD):
            pol = self.ecas.get(el.text)
            if pol is None:
                recs.append('<records xsi:type="%s"/>' % ECA_POLICY_TYPE)
                continue
            recs.append('<records xsi:type="%s"><fullName>%s</fullName>%s</records>'
                        % (ECA_POLICY_TYPE, el.text, ''.join('<%s>%s</%s>' % (k, pol[k], k) for k in sorted(pol))))
        return 200, ENVELOPE % ('<readMetadataResponse><result>%s</result></readMetadataResponse>' % ''.join(recs))

    def update_eca(self, body):
        comp = body.find('{%s}metadata' % MD)
        self.updates.append(ET.tostring(comp, encoding='unicode'))
        if self.update_fault:
            return fault(*self.update_fault)
        values = dict((c.tag.split('}')[1], c.text) for c in comp)
        name = values.pop('fullName')
        for element, allowed in ECA_ENUMS.items():
            if element in values and values[element] not in allowed:
                return fault('soapenv:Client', "'%s' is not a valid value for the enum '%s'" % (values[element], element))
        missing = [n for n in (values.get('commaSeparatedPermissionSet') or '').split(',') if n and n not in self.permission_sets]
        if missing:
            return save_result(name, ('INVALID_FIELD', "We couldn't find permission sets called %s" % ', '.join(missing)))
        if self.store:
            self.ecas[name] = values  # the whole component is replaced
        return save_result(name)


def eca_policy(name='Planhat', **elements):
    """OAuth policies of a freshly installed ECA, plus elements this module never touches."""
    values = {'externalClientApplication': name, 'label': name + '_oauthPlcy', 'permittedUsersPolicyType': 'AllSelfAuthorized',
              'ipRelaxationPolicyType': 'Enforce', 'refreshTokenPolicyType': 'Infinite', 'commaSeparatedProfile': 'System Administrator',
              'isClientCredentialsFlowEnabled': 'false', 'sessionTimeoutInMinutes': '120'}
    values.update(elements)
    return values


def org(installed=True, used=True, metadata=True, refuse=None, admin=False, eca=None, eca_admin=True):
    """The fake org.  ``eca``: {policies fullName: elements}: "Planhat" is an installed External Client App instead."""
    installed = installed and eca is None
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
    soap = Soap({'Planhat': {'admin': 'true' if admin else 'false', 'ip': 'BYPASS', 'rtp': 'infinite'}} if metadata else {}, refuse,
                ecas=eca, permission_sets=['Planhat_Integration', 'Old_Access'], eca_admin=eca_admin)
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
    assert app == {'id': APP_ID, 'name': 'Planhat', 'kind': 'connected_app', 'installed': True, 'permitted_users': 'admin_approved', 'ip_relaxation': 'enforce',
                   'refresh_token_policy': 'specific_inactivity:90:DAYS', 'permission_sets': ['Planhat_Integration']}
    assert result['manual_steps'] == []
    fake.requests, fake.writes = [], []
    again, failed = run_module(main, fake, FULL)
    assert not failed and again['changed'] is False and 'diff' not in again
    assert len(fake.requests) == 2 and fake.writes == []  # composite read + readMetadata
    assert fake.soap.operations.count('listMetadata') == 0  # an installed connected app is never looked for among ECAs


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
    assert result['connected_app']['installed'] is False and result['connected_app']['kind'] == 'none'


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


# --- External Client Apps -------------------------------------------------------------------------------------------

def eca_org(**elements):
    return org(eca={'Planhat_oauthPlcy': eca_policy(**elements)})


def test_eca_check_mode_reports_the_policy_drift_and_writes_nothing():
    fake = eca_org()
    result, failed = run_module(main, fake, FULL, check=True)
    assert not failed, result
    assert result['changed'] is True and result['manual_steps'] == [] and fake.soap.updates == [] and fake.writes == []
    # ip_relaxation "enforce" is what a new ECA has: not a change
    assert result['diff'] == {'before': {'permission_sets': {'Planhat_Integration': False}, 'permitted_users': 'all_self_authorize',
                                         'refresh_token_policy': 'infinite'},
                              'after': {'permission_sets': {'Planhat_Integration': True}, 'permitted_users': 'admin_approved',
                                        'refresh_token_policy': 'specific_inactivity:90:DAYS'}}
    assert result['connected_app']['kind'] == 'external_client_app'
    assert result['msg'].startswith('Would update External Client App Planhat')
    assert fake.soap.operations == ['listMetadata', 'readMetadata']


def test_eca_apply_writes_the_whole_component_then_converges_in_three_requests():
    fake = eca_org()
    result, failed = run_module(main, fake, dict(FULL, ip_relaxation='bypass_2fa'))
    assert not failed, result
    assert result['changed'] is True and result['manual_steps'] == []
    stored = fake.soap.ecas['Planhat_oauthPlcy']
    assert stored == dict(eca_policy(), permittedUsersPolicyType='AdminApprovedPreAuthorized', ipRelaxationPolicyType='Bypass_2factor',
                          refreshTokenPolicyType='SpecificInactivity', refreshTokenValidityPeriod='90', refreshTokenValidityUnit='Days',
                          commaSeparatedPermissionSet='Planhat_Integration')
    # elements kept as read, in schema (alphabetical) order
    update = ET.fromstring(fake.soap.updates[0])
    tags = [c.tag.split('}')[1] for c in update]
    assert tags[0] == 'fullName' and tags[1:] == sorted(tags[1:])
    assert fake.writes == []  # no SetupEntityAccess row: an ECA's permission sets live in its policies
    assert result['connected_app'] == {'id': '0xE000000000000', 'name': 'Planhat', 'kind': 'external_client_app', 'installed': True,
                                       'permitted_users': 'admin_approved', 'ip_relaxation': 'bypass_2fa',
                                       'refresh_token_policy': 'specific_inactivity:90:DAYS', 'permission_sets': ['Planhat_Integration']}
    # composite, listMetadata, readMetadata, updateMetadata, readMetadata (the verification)
    assert fake.soap.operations == ['listMetadata', 'readMetadata', 'updateMetadata', 'readMetadata']
    fake.requests, fake.soap.operations = [], []
    again, failed = run_module(main, fake, dict(FULL, ip_relaxation='bypass_2fa'))
    assert not failed and again['changed'] is False and again['manual_steps'] == []
    assert len(fake.requests) == 3 and fake.soap.operations == ['listMetadata', 'readMetadata']
    assert again['msg'] == 'No change: External Client App Planhat is as requested.'


def test_eca_permission_sets_without_purge_keep_others_and_with_purge_are_exact():
    fake = eca_org(commaSeparatedPermissionSet='Old_Access')
    result, failed = run_module(main, fake, {'name': 'Planhat', 'permission_sets': ['Planhat_Integration']})
    assert not failed and result['added'] == {'permission_sets': ['Planhat_Integration']}
    assert fake.soap.ecas['Planhat_oauthPlcy']['commaSeparatedPermissionSet'] == 'Old_Access,Planhat_Integration'
    result, failed = run_module(main, fake, {'name': 'Planhat', 'permission_sets': ['Planhat_Integration'], 'purge_permission_sets': True})
    assert not failed and result['removed'] == {'permission_sets': ['Old_Access']}
    assert fake.soap.ecas['Planhat_oauthPlcy']['commaSeparatedPermissionSet'] == 'Planhat_Integration'
    assert fake.soap.ecas['Planhat_oauthPlcy']['commaSeparatedProfile'] == 'System Administrator'  # profiles never touched
    result, failed = run_module(main, fake, {'name': 'Planhat', 'permission_sets': [], 'purge_permission_sets': True})
    assert not failed and 'commaSeparatedPermissionSet' not in fake.soap.ecas['Planhat_oauthPlcy']
    assert result['connected_app']['permission_sets'] == []


def test_eca_infinite_refresh_policy_drops_the_validity_elements():
    fake = eca_org(refreshTokenPolicyType='SpecificLifetime', refreshTokenValidityPeriod='12', refreshTokenValidityUnit='Hours')
    result, failed = run_module(main, fake, {'name': 'Planhat', 'refresh_token_policy': 'infinite'})
    assert not failed and result['diff']['before'] == {'refresh_token_policy': 'specific_lifetime:12:HOURS'}
    stored = fake.soap.ecas['Planhat_oauthPlcy']
    assert stored['refreshTokenPolicyType'] == 'Infinite' and 'refreshTokenValidityPeriod' not in stored
    assert 'refreshTokenValidityUnit' not in stored


def test_eca_found_under_its_package_namespace_and_policies_picked_by_their_app():
    # Two ECAs whose names share a prefix; the subscriber org shows the namespace.
    fake = org(eca={'acme__Planhat_oauthPlcy': eca_policy('acme__Planhat'),
                    'acme__Planhat_Sandbox_oauthPlcy': eca_policy('acme__Planhat_Sandbox')})
    result, failed = run_module(main, fake, {'name': 'Planhat', 'permitted_users': 'admin_approved'})
    assert not failed, result
    assert result['connected_app']['name'] == 'acme__Planhat'
    assert fake.soap.ecas['acme__Planhat_oauthPlcy']['permittedUsersPolicyType'] == 'AdminApprovedPreAuthorized'
    assert fake.soap.ecas['acme__Planhat_Sandbox_oauthPlcy']['permittedUsersPolicyType'] == 'AllSelfAuthorized'


def test_eca_policies_under_an_unexpected_name_are_found_by_their_app():
    fake = org(eca={'Planhat_oauth_defaultPolicy': eca_policy()})  # the name CumulusCI's task uses
    result, failed = run_module(main, fake, {'name': 'Planhat', 'permitted_users': 'admin_approved'})
    assert not failed, result
    assert fake.soap.ecas['Planhat_oauth_defaultPolicy']['permittedUsersPolicyType'] == 'AdminApprovedPreAuthorized'


def test_eca_without_oauth_policies_is_a_manual_step():
    fake = org(eca={})
    # an ECA listed with no OAuth policies component: listMetadata shows only the app
    fake.soap.list = lambda body: (200, ENVELOPE % ('<listMetadataResponse><result><fullName>Planhat</fullName><id>0xE1</id>'
                                                    '<type>ExternalClientApplication</type></result></listMetadataResponse>'))
    result, failed = run_module(main, fake, FULL)
    assert failed and 'has no OAuth policies' in result['msg'] and fake.soap.updates == []
    result, failed = run_module(main, fake, dict(FULL, require_installed=False))
    assert not failed and result['changed'] is False and 'has no OAuth policies' in result['manual_steps'][0]
    assert result['connected_app']['kind'] == 'external_client_app'


def test_eca_without_the_permission_says_which_permission_to_give():
    fake = org(eca={'Planhat_oauthPlcy': eca_policy()}, eca_admin=False)
    result, failed = run_module(main, fake, FULL)
    assert failed and fake.soap.updates == []
    assert 'INSUFFICIENT_ACCESS' in result['msg']
    assert 'Give the automation user the permission "View all External Client Apps, view their settings, and edit their policies"' \
        in result['msg']
    result, failed = run_module(main, fake, dict(FULL, require_installed=False))
    assert not failed and result['changed'] is False
    assert 'Could not check whether "Planhat" is an External Client App' in result['manual_steps'][0]
    assert 'Connected Apps OAuth Usage' in result['manual_steps'][1]  # it may still be a connected app to install


def test_eca_update_refused_for_the_permission_says_which_permission_to_give():
    fake = eca_org()
    fake.soap.update_fault = ('sf:INSUFFICIENT_ACCESS', 'INSUFFICIENT_ACCESS: insufficient access rights on object id')
    result, failed = run_module(main, fake, FULL)
    assert failed and result['changed'] is False
    assert 'Salesforce refused the OAuth policies of External Client App "Planhat"' in result['msg']
    assert 'edit their policies' in result['msg'] and fake.soap.ecas['Planhat_oauthPlcy'] == eca_policy()


def test_eca_unknown_permission_set_fails_before_any_write():
    fake = eca_org()
    result, failed = run_module(main, fake, dict(FULL, permission_sets=['Nope']))
    assert failed and 'Unknown permission set(s): Nope' in result['msg'] and fake.soap.updates == []


def test_eca_permission_set_refused_by_salesforce_is_explained():
    fake = eca_org()
    fake.soap.permission_sets.discard('Planhat_Integration')  # deleted between the read and the write
    result, failed = run_module(main, fake, FULL)
    assert failed and "We couldn't find permission sets called Planhat_Integration" in result['msg']
    assert 'API name (PermissionSet.Name, not an Id' in result['msg'] and '[INVALID_FIELD]' in result['msg']


def test_eca_enum_fault_is_explained():
    fake = eca_org()
    fake.soap.update_fault = ('soapenv:Client', "'Everybody' is not a valid value for the enum 'PermittedUsersPolicyType'")
    result, failed = run_module(main, fake, FULL)
    assert failed and "is not a valid value for the enum 'PermittedUsersPolicyType'" in result['msg']
    assert 'api_version' in result['msg']


def test_eca_verification_failure_is_reported():
    fake = eca_org()
    fake.soap.store = False
    result, failed = run_module(main, fake, FULL)
    assert failed and result['changed'] is True  # Salesforce said it saved the component
    assert 'still show' in result['msg'] and 'permitted_users = all_self_authorize' in result['msg']


def test_eca_check_mode_reports_a_permission_set_an_earlier_task_would_create():
    fake = eca_org()
    result, failed = run_module(main, fake, dict(FULL, permission_sets=['Not_Yet_Created']), check=True)
    assert not failed and result['added'] == {'permission_sets': ['Not_Yet_Created']} and fake.soap.updates == []


def test_unknown_app_suggests_external_client_apps_too():
    fake = org(installed=False, used=False, eca={'Planhat_oauthPlcy': eca_policy()})
    result, failed = run_module(main, fake, dict(FULL, name='Planhatt'))
    assert failed and 'Did you mean: Planhat?' in result['msg']


def test_old_api_version_cannot_see_ecas_and_says_so():
    fake = org(installed=False)
    fake.soap.list = lambda body: fault('sf:INVALID_TYPE', 'INVALID_TYPE: Cannot use: ExternalClientApplication in this version')
    result, failed = run_module(main, fake, dict(FULL, require_installed=False))
    assert not failed and 'cannot see External Client Apps' in result['manual_steps'][0]

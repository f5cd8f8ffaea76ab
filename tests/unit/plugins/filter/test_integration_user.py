# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The integration_user role's decisions (plugins/filter/integration_user.py), table by table.

The filter is called the way the role calls it: the role's own defaults (defaults/main.yml) and preset files,
with the variables of each row applied on top.
"""

import inspect
import pathlib
import re

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.sfops.salesforce.plugins.filter import integration_user as iu

COLLECTION = pathlib.Path(__file__).resolve().parents[4]
ROLE = COLLECTION / 'roles' / 'integration_user'
FILTER_DIR = COLLECTION / 'plugins' / 'filter'
DEFAULTS = yaml.safe_load((ROLE / 'defaults' / 'main.yml').read_text())
VAR_PREFIX = 'integration_user_'
# Arguments of integration_user_desired that are not role variables of the same name.
CONTEXT_ARGS = ('preset_data', 'org', 'preset')


def preset_data(name):
    return yaml.safe_load((ROLE / 'vars' / 'presets' / (name + '.yml')).read_text())['integration_user_preset_data']


def desired(preset='planhat', org='org1', data=None, **variables):
    """integration_user_desired as tasks/inputs.yml calls it; ``variables`` are role variables without the prefix."""
    values = dict((k[len(VAR_PREFIX):], v) for k, v in DEFAULTS.items())
    values.update(variables)
    names = [n for n in inspect.signature(iu.integration_user_desired).parameters if n not in CONTEXT_ARGS]
    return iu.integration_user_desired(data or preset_data(preset), org=org, preset=preset,
                                       **dict((n, values[n]) for n in names))


# --- the call sites agree with the filters ----------------------------------------------------------------------
def test_inputs_yml_passes_each_option_its_own_role_variable():
    text = (ROLE / 'tasks' / 'inputs.yml').read_text()
    passed = dict(re.findall(r'(\w+)=(integration_user_\w+|inventory_hostname)', text))
    params = list(inspect.signature(iu.integration_user_desired).parameters)[1:]
    assert sorted(passed) == sorted(params)
    assert passed.pop('org') == 'inventory_hostname'
    for option, variable in passed.items():
        assert variable == VAR_PREFIX + option
        assert variable in DEFAULTS, variable


@pytest.mark.parametrize('name', sorted(iu.FilterModule().filters()))
def test_each_filter_is_documented_with_its_own_options(name):
    doc = yaml.safe_load((FILTER_DIR / (name + '.yml')).read_text())['DOCUMENTATION']
    assert doc['name'] == name
    params = list(inspect.signature(iu.FilterModule().filters()[name]).parameters)
    assert sorted(doc['options']) == sorted(['_input'] + params[1:])


# --- system permissions: one key per spelling -------------------------------------------------------------------
@pytest.mark.parametrize('name, key', [
    ('View All Data', 'viewalldata'),
    ('ViewAllData', 'viewalldata'),
    ('PermissionsViewAllData', 'viewalldata'),
    ('permissionsviewalldata', 'viewalldata'),
    ('PERMISSIONS_VIEW_ALL_DATA', 'viewalldata'),
    ('  Use Any API Client ', 'useanyapiclient'),
    # A label that is not its API name spelled out stays its own key (sf_permission_set still resolves both to
    # one field, with the org's describe).
    ('View Setup and Configuration', 'viewsetupandconfiguration'),
    ('Permissions', ''),
])
def test_permission_key(name, key):
    assert iu.permission_key(name) == key


@pytest.mark.parametrize('preset, variables, expected', [
    ('planhat', {}, preset_data('planhat')['system_permissions']),
    ('planhat', {'write_back': True}, preset_data('planhat')['system_permissions'] + ['PermissionsEditTask']),
    ('planhat', {'write_back': 'yes'}, preset_data('planhat')['system_permissions'] + ['PermissionsEditTask']),
    # A later spelling replaces the earlier one where that was listed; a new one goes at the end.
    ('planhat', {'extra_system_permissions': ['view roles', 'Export Reports']},
     ['PermissionsApiEnabled', 'PermissionsCanApproveUninstalledApps', 'PermissionsViewSetup', 'view roles',
      'PermissionsViewAllUsers', 'Export Reports']),
    ('planhat', {'exclude_system_permissions': ['view_setup', 'Can Approve Uninstalled Apps']},
     ['PermissionsApiEnabled', 'PermissionsViewRoles', 'PermissionsViewAllUsers']),
    ('read_only_sync', {'exclude_system_permissions': ['View All Data', 'permissionsviewallusers']},
     ['PermissionsApiEnabled']),
    ('read_only_sync', {'system_permissions': ['API Enabled'], 'extra_system_permissions': ['Export Reports']},
     ['API Enabled', 'Export Reports']),
    # Excluding the same permission the extra list adds: not granted.
    ('none', {'extra_system_permissions': ['Modify All Data'], 'exclude_system_permissions': ['ModifyAllData']},
     ['PermissionsApiEnabled']),
])
def test_system_permissions(preset, variables, expected):
    assert desired(preset, **variables)['system_permissions'] == expected


@pytest.mark.parametrize('variables, dangerous', [
    ({}, []),
    ({'extra_system_permissions': ['Modify All Data']}, ['Modify All Data']),
    ({'extra_system_permissions': ['permissionsmodifyalldata', 'Author Apex', 'AUTHORAPEX']},
     ['permissionsmodifyalldata', 'AUTHORAPEX']),
    ({'extra_system_permissions': ['PermissionsCustomizeApplication', 'Use Any API Client']},
     ['PermissionsCustomizeApplication', 'Use Any API Client']),
    ({'system_permissions': ['UseAnyApiClient', 'ApiEnabled'], 'exclude_system_permissions': ['Use Any API Client']}, []),
    # Not dangerous: Modify All Data's lesser sibling, and View All Data (flagged by a warning instead).
    ({'extra_system_permissions': ['Modify All Records', 'View All Data']}, []),
])
def test_dangerous_permissions(variables, dangerous):
    assert desired('planhat', **variables)['dangerous_permissions'] == dangerous


REFUSED_MDA = ('Refusing to grant Modify All Data to the integration user of org1: this is admin-level power (or, for '
               'Use Any API Client, a bypass of the admin-approved app policy) that no integration needs. Nothing was '
               'changed. Remove it, or set integration_user_allow_dangerous_permissions: true if this is really '
               'intended.')
REQUIRED_NONE = ("The permission set name and the user's last name are required with preset 'none' "
                 "(integration_user_permission_set_name, integration_user_last_name).")


@pytest.mark.parametrize('preset, variables, failure', [
    ('planhat', {}, ''),
    ('planhat', {'extra_system_permissions': ['Modify All Data']}, REFUSED_MDA),
    ('planhat', {'extra_system_permissions': ['Modify All Data'], 'allow_dangerous_permissions': True}, ''),
    ('planhat', {'extra_system_permissions': ['Modify All Data'], 'allow_dangerous_permissions': 'true'}, ''),
    ('planhat', {'extra_system_permissions': ['Modify All Data'], 'allow_dangerous_permissions': 'no'}, REFUSED_MDA),
    # The preset "none" names no permission set.
    ('none', {}, REQUIRED_NONE),
    ('none', {'permission_set_name': 'Mine'}, ''),
    ('none', {'permission_set_name': 'Mine', 'last_name': ''}, ''),
    # A dangerous permission is named first: it is the refusal that matters.
    ('none', {'extra_system_permissions': ['Modify All Data']}, REFUSED_MDA),
])
def test_input_failure(preset, variables, failure):
    assert desired(preset, **variables)['failure'] == failure


def test_refusal_lists_every_dangerous_permission_and_names_the_org():
    failure = desired('planhat', org='acme_prod', extra_system_permissions=['AuthorApex', 'Use Any API Client'])['failure']
    assert failure.startswith('Refusing to grant AuthorApex, Use Any API Client to the integration user of acme_prod: ')


def test_missing_last_name_is_refused():
    data = preset_data('none')
    data['user']['last_name'] = ''
    assert desired('none', data=data, permission_set_name='Mine')['failure'] == REQUIRED_NONE
    assert desired('none', data=data, permission_set_name='Mine', last_name='Tool')['failure'] == ''


# --- the permission set ------------------------------------------------------------------------------------------
@pytest.mark.parametrize('preset, variables, name, label', [
    ('planhat', {}, 'Planhat_Integration', 'Planhat Integration'),
    ('planhat', {'permission_set_name': 'Planhat_Integration'}, 'Planhat_Integration', 'Planhat Integration'),
    # Labels are unique per org too: a renamed set gets a label from its own name, not the preset's.
    ('planhat', {'permission_set_name': 'Acme_Planhat'}, 'Acme_Planhat', 'Acme Planhat'),
    ('planhat', {'permission_set_name': 'Acme_Planhat', 'permission_set_label': 'Acme'}, 'Acme_Planhat', 'Acme'),
    ('planhat', {'permission_set_label': 'Acme'}, 'Planhat_Integration', 'Acme'),
    ('none', {'permission_set_name': 'Tool_Access'}, 'Tool_Access', 'Tool Access'),
    ('none', {}, '', ''),
])
def test_permission_set_name_and_label(preset, variables, name, label):
    ps = desired(preset, **variables)['permission_set']
    assert (ps['name'], ps['label']) == (name, label)


@pytest.mark.parametrize('variables, description', [
    ({}, preset_data('planhat')['permission_set']['description']),
    ({'permission_set_description': 'Ours.'}, 'Ours.'),
])
def test_permission_set_description(variables, description):
    assert desired('planhat', **variables)['permission_set']['description'] == description


# --- objects -----------------------------------------------------------------------------------------------------
def names_and_create(objects):
    return [(o['name'], bool(o.get('create'))) for o in objects]


@pytest.mark.parametrize('preset, variables, expected', [
    # Task: field permissions only (its records follow their parent), so its entry has no create flag.
    ('planhat', {}, [('Account', False), ('Contact', False), ('Opportunity', False), ('Case', False), ('Task', False)]),
    # Write-back entries replace the preset's, in their place.
    ('planhat', {'write_back': True}, [('Account', True), ('Contact', True), ('Opportunity', False), ('Case', False),
                                       ('Task', False)]),
    ('planhat', {'extra_objects': [{'name': 'account', 'read': True, 'create': True}, {'name': 'Lead', 'read': True}]},
     [('account', True), ('Contact', False), ('Opportunity', False), ('Case', False), ('Task', False), ('Lead', False)]),
    ('planhat', {'exclude_objects': ['CASE', 'opportunity']}, [('Account', False), ('Contact', False), ('Task', False)]),
    # Own objects replace the preset's list; write-back entries still merge over it.
    ('planhat', {'objects': [{'name': 'Lead', 'read': True}], 'write_back': True},
     [('Lead', False), ('Account', True), ('Contact', True), ('Task', False)]),
    ('none', {}, []),
])
def test_objects(preset, variables, expected):
    assert names_and_create(desired(preset, **variables)['objects']) == expected


def test_object_entries_pass_through_unchanged():
    entry = {'name': 'Lead', 'read': True, 'fields': {'Email': 'read'}}
    assert desired('none', permission_set_name='X', objects=[entry])['objects'] == [entry]


# --- the user ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('preset, variables, expected', [
    ('planhat', {}, {'first_name': 'Planhat', 'last_name': 'Integration', 'profile': '', 'api_only': True}),
    ('planhat', {'api_only': False}, {'profile': 'Minimum Access - Salesforce', 'api_only': False}),
    ('planhat', {'api_only': 'false', 'profile': 'Standard User'}, {'profile': 'Standard User', 'api_only': False}),
    ('planhat', {'profile': 'Custom API Profile'}, {'profile': 'Custom API Profile'}),
    ('read_only_sync', {'first_name': 'BI', 'last_name': 'Reader'}, {'first_name': 'BI', 'last_name': 'Reader'}),
    ('planhat', {'username': 'ph@acme.example.com', 'email': 'ops@acme.example.com'},
     {'username': 'ph@acme.example.com', 'email': 'ops@acme.example.com', 'username_prefix': 'planhat.integration'}),
])
def test_user(preset, variables, expected):
    user = desired(preset, **variables)['user']
    assert dict((k, user[k]) for k in expected) == expected


# --- the connected app -------------------------------------------------------------------------------------------
@pytest.mark.parametrize('preset, variables, expected', [
    ('planhat', {}, {'manage': True, 'name': 'Planhat', 'permitted_users': 'admin_approved', 'ip_relaxation': ''}),
    ('planhat', {'manage_connected_app': False}, {'manage': False, 'name': 'Planhat'}),
    ('read_only_sync', {}, {'manage': False, 'name': ''}),
    ('read_only_sync', {'connected_app_name': 'Tableau', 'connected_app_ip_relaxation': 'enforce',
                        'connected_app_refresh_token_policy': 'infinite'},
     {'manage': True, 'name': 'Tableau', 'ip_relaxation': 'enforce', 'refresh_token_policy': 'infinite'}),
    ('planhat', {'connected_app_permitted_users': 'all_self_authorize'}, {'permitted_users': 'all_self_authorize'}),
])
def test_connected_app(preset, variables, expected):
    app = desired(preset, **variables)['connected_app']
    assert dict((k, app[k]) for k in expected) == expected


# --- warnings ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('preset, variables, warned', [
    ('read_only_sync', {}, False),
    ('read_only_sync', {'api_only': False}, True),
    ('read_only_sync', {'api_only': False, 'exclude_system_permissions': ['ViewAllData']}, False),
    ('planhat', {'api_only': False}, False),
    ('planhat', {'api_only': False, 'extra_system_permissions': ['view all data']}, True),
])
def test_view_all_data_warning(preset, variables, warned):
    assert desired(preset, **variables)['warnings'] == ([iu.MFA_WARNING] if warned else [])


def test_min_api_requests_remaining_is_an_int():
    assert desired('planhat', min_api_requests_remaining='250')['min_api_requests_remaining'] == 250


# --- the connection options -------------------------------------------------------------------------------------
SESSION = {'instance_url': 'https://acme.my.salesforce.com', 'access_token': '00Dx!token', 'api_version': '67.0',
           'org_id': '00Dx', 'changed': False}
OPTIONS = {'auth_method': 'jwt_bearer', 'client_id': 'abc', 'instance_url': 'https://login.example', 'timeout': None,
           'client_secret': None, 'access_token': None}


def test_connection_options_map_each_sf_variable_to_a_module_option():
    """vars/main.yml names every connection option of the modules once, each from its sf_* variable."""
    from ansible_collections.sfops.salesforce.plugins.module_utils.auth import AUTH_ARGSPEC
    text = (ROLE / 'vars' / 'main.yml').read_text()
    mapped = dict(re.findall(r"'(\w+)': (sf_\w+) \| default\(none\)", text))
    assert set(mapped) <= set(AUTH_ARGSPEC)
    # The variables the role documents as its connection (meta/argument_specs.yml), each one mapped.
    documented = re.search(r'C\(sf_\*\) host variables \(([^)]*)\)', (ROLE / 'meta' / 'argument_specs.yml').read_text())
    assert sorted(mapped.values()) == sorted(re.split(r',\s+', documented.group(1)))
    for option, variable in mapped.items():
        assert variable == 'sf_' + {'login_username': 'username', 'login_password': 'password'}.get(option, option)


def test_connection_leaves_out_the_unset_options():
    assert iu.integration_user_connection(OPTIONS, org='acme') == {
        'auth_method': 'jwt_bearer', 'client_id': 'abc', 'instance_url': 'https://login.example'}


def test_connection_after_the_login_carries_its_session_and_keeps_the_credentials_for_a_re_login():
    assert iu.integration_user_connection(OPTIONS, org='acme', desired=desired(), login=SESSION) == {
        'auth_method': 'jwt_bearer', 'client_id': 'abc', 'instance_url': SESSION['instance_url'],
        'access_token': SESSION['access_token'], 'api_version': '67.0'}


@pytest.mark.parametrize('login, message', [
    ({'changed': False, 'msg': 'invalid_grant: user hasn\'t approved this consumer'},
     "Login to acme failed: invalid_grant: user hasn't approved this consumer"),
    # The login task was skipped or answered nothing useful.
    ({'skipped': True}, 'Login to acme failed: no access token was returned'),
])
def test_a_failed_login_stops_the_org_with_its_message(login, message):
    with pytest.raises(AnsibleFilterError, match='^%s$' % re.escape(message)):
        iu.integration_user_connection(OPTIONS, org='acme', desired=desired(), login=login)


def test_refused_inputs_stop_the_org_before_the_login_is_looked_at():
    refused = desired(extra_system_permissions=['Modify All Data'])
    with pytest.raises(AnsibleFilterError, match='^Refusing to grant Modify All Data'):
        iu.integration_user_connection(OPTIONS, org='acme', desired=refused, login={'skipped': True})


# --- identity and preflight --------------------------------------------------------------------------------------
LOGIN = 'automation@acme.example.com'
ORG_ID = '00D5E000000AbCdEAA'
DERIVED = 'planhat.integration.00d5e000000abcdeaa@acme.example.com'


def org_info(users=(), remaining=15000):
    """A registered sf_org_info result (gather limits, users)."""
    return {'changed': False, 'org': {
        'users': [dict(username=u, email=e) for u, e in users],
        'limits': {'daily_api_requests': {'max': 15000, 'remaining': remaining}}}}


def identity(info=None, login=LOGIN, org_id=ORG_ID, **variables):
    return iu.integration_user_identity(org_info() if info is None else info, desired('planhat', **variables),
                                        org_id=org_id, login_username=login)


@pytest.mark.parametrize('variables, login, org_id, username', [
    ({}, LOGIN, ORG_ID, DERIVED),
    ({'username': 'ph@elsewhere.example'}, LOGIN, ORG_ID, 'ph@elsewhere.example'),
    # A login method without a username (client credentials, a token): a domain that cannot receive mail.
    ({}, '', ORG_ID, 'planhat.integration.00d5e000000abcdeaa@integration.invalid'),
    ({}, 'not-an-address', ORG_ID, 'planhat.integration.00d5e000000abcdeaa@integration.invalid'),
    ({}, LOGIN, '', 'planhat.integration.@acme.example.com'),
])
def test_username(variables, login, org_id, username):
    assert identity({}, login=login, org_id=org_id, **variables)['username'] == username


@pytest.mark.parametrize('login, usernames', [
    (LOGIN, [DERIVED, LOGIN]),
    ('', ['planhat.integration.00d5e000000abcdeaa@integration.invalid']),
])
def test_the_preflight_reads_the_user_and_the_login_user(login, usernames):
    assert identity({}, login=login)['usernames'] == usernames


@pytest.mark.parametrize('users, variables, email, existed', [
    ([], {}, '', False),
    ([(LOGIN, 'admin@acme.example.com')], {}, 'admin@acme.example.com', False),
    ([(LOGIN, 'admin@acme.example.com'), (DERIVED, 'team@acme.example.com')], {}, 'team@acme.example.com', True),
    ([(LOGIN, 'admin@acme.example.com'), (DERIVED, 'team@acme.example.com')], {'email': 'ops@acme.example.com'},
     'ops@acme.example.com', True),
    ([(DERIVED, None), (LOGIN, 'admin@acme.example.com')], {}, 'admin@acme.example.com', True),
])
def test_email_and_whether_the_user_exists(users, variables, email, existed):
    out = identity(org_info(users), **variables)
    assert (out['email'], out['user_existed']) == (email, existed)


@pytest.mark.parametrize('api_only, licence', [(True, 'Salesforce Integration'), (False, 'Salesforce')])
def test_preflight_counts_and_licence(api_only, licence):
    # The identity judges nothing: the budget is sf_org_info's check, a new user's licence sf_user's.
    out = identity(org_info(remaining='5'), api_only=api_only)
    assert (out['api_requests_remaining'], out['licence']) == (5, licence)
    assert 'failure' not in out
    assert identity({})['api_requests_remaining'] is None


def test_a_preflight_result_without_limits_is_an_error():
    info = org_info()
    del info['org']['limits']
    with pytest.raises(AnsibleFilterError, match='limits'):
        identity(info)


# --- the report ------------------------------------------------------------------------------------------------
class Recorded(dict):
    """A registered result that records which of its keys were read."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.read = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)


def results(changed=(), installed=True, app_manual_steps=(), skipped_app=False, kind=None):
    out = dict((step, Recorded(changed=step in changed)) for step in iu.STEPS)
    for step in changed:
        out[step]['diff'] = {'before': {step: 1}, 'after': {step: 2}}
    if skipped_app:
        out['connected_app'] = Recorded(changed=False, skipped=True, skip_reason='Conditional result was False')
    else:
        kind = kind or ('connected_app' if installed else 'none')
        out['connected_app'].update(connected_app={'name': 'Planhat', 'installed': installed, 'kind': kind},
                                    manual_steps=list(app_manual_steps))
    return out


EXISTING = ((DERIVED, 'team@acme.example.com'),)


def report(res, preset='planhat', users=EXISTING, **variables):
    want = desired(preset, **variables)
    who = iu.integration_user_identity(org_info(users), want, org_id=ORG_ID, login_username=LOGIN)
    return iu.integration_user_report(res, desired=want, identity=who)


VERIFY = 'Verify the e-mail address of %s (Salesforce mails the invitation to admin@acme.example.com).' % DERIVED
MFA = 'Register multi-factor authentication for %s (it is not API-only).' % DERIVED
HANDSHAKE = ('In a private browser window, log in as %s and do the Planhat OAuth handshake (connect Salesforce from '
             'Planhat).' % DERIVED)
INSTALL = ("Install the connected app Planhat (Setup > Connected Apps OAuth Usage > Install), or the vendor's package if "
           "Planhat ships as an External Client App.")
HARDEN = 'Run this job again to harden Planhat (admin-approved users, the permission set).'
NEW = [(LOGIN, 'admin@acme.example.com')]


@pytest.mark.parametrize('res, users, variables, manual_steps', [
    (results(), None, {}, []),
    (results(), NEW, {}, [VERIFY, HANDSHAKE]),
    (results(), NEW, {'api_only': False}, [VERIFY, MFA, HANDSHAKE]),
    (results(installed=False), None, {}, [HANDSHAKE, INSTALL, HARDEN]),
    (results(installed=False), NEW, {}, [VERIFY, HANDSHAKE, INSTALL, HARDEN]),
    # The app's own manual steps (a policy only Setup can change) once it is installed.
    (results(app_manual_steps=['In Setup, set X.']), None, {}, ['In Setup, set X.']),
    (results(installed=False, app_manual_steps=['Install it.']), None, {}, [HANDSHAKE, INSTALL, HARDEN]),
    # No app managed: nothing about an app.
    (results(skipped_app=True), NEW, {'manage_connected_app': False}, [VERIFY]),
    (results(skipped_app=True), NEW, {'manage_connected_app': False, 'api_only': False}, [VERIFY, MFA]),
])
def test_manual_steps_in_order(res, users, variables, manual_steps):
    assert report(res, users=users or EXISTING, **variables)['manual_steps'] == manual_steps


def test_converged_report_reads_nothing_but_the_changed_flags():
    res = results()
    got = report(res)
    assert got == {
        'org': 'org1', 'org_id': ORG_ID, 'preset': 'planhat', 'state': 'present', 'username': DERIVED,
        'permission_set': 'Planhat_Integration', 'connected_app': 'Planhat', 'connected_app_installed': True,
        'connected_app_kind': 'connected_app',
        'connected_app_status': 'Planhat is a connected app: its policy and access are set through the API, nothing is left to click.',
        'changed': False, 'changed_steps': [], 'diffs': {}, 'manual_steps': [], 'warnings': [], 'exposure': {}}
    assert list(got) == ['org', 'org_id', 'preset', 'state', 'username', 'permission_set', 'connected_app',
                         'connected_app_installed', 'connected_app_kind', 'connected_app_status', 'changed',
                         'changed_steps', 'diffs', 'manual_steps', 'warnings', 'exposure']
    for step in set(iu.STEPS) - {'connected_app'}:
        assert res[step].read == {'changed'}, step
    assert res['connected_app'].read == {'changed', 'connected_app', 'manual_steps'}


@pytest.mark.parametrize('changed', [
    ('permission_set',),
    ('user', 'assignment'),
    ('connected_app', 'object_permissions'),
    iu.STEPS,
])
def test_changed_steps_in_runbook_order_with_their_diffs(changed):
    res = results(changed=changed)
    got = report(res)
    in_order = [s for s in iu.STEPS if s in changed]
    assert got['changed'] is True and got['changed_steps'] == in_order
    assert got['diffs'] == dict((s, {'before': {s: 1}, 'after': {s: 2}}) for s in in_order)
    assert list(got['diffs']) == in_order
    for step in set(iu.STEPS) - set(changed) - {'connected_app'}:
        assert res[step].read == {'changed'}, step


def test_a_changed_step_without_a_diff_reports_an_empty_one():
    res = results()
    res['assignment']['changed'] = True
    assert report(res)['diffs'] == {'assignment': {}}


def test_an_unmanaged_app_never_counts():
    res = results(skipped_app=True)
    res['connected_app']['changed'] = True
    got = report(res, manage_connected_app=False)
    assert (got['changed_steps'], got['connected_app'], got['connected_app_installed']) == ([], '', True)
    assert (got['connected_app_kind'], got['connected_app_status']) == ('', '')
    assert res['connected_app'].read == set()


@pytest.mark.parametrize('res, kind, status', [
    (results(kind='external_client_app'), 'external_client_app',
     'Planhat is an External Client App: its policy and access are set through the API, nothing is left to click.'),
    (results(kind='external_client_app', app_manual_steps=['Ask the vendor.']), 'external_client_app',
     'Planhat is an External Client App: its policy needs the manual steps.'),
    (results(app_manual_steps=['In Setup, set X.']), 'connected_app', 'Planhat is a connected app: its policy needs the manual steps.'),
    (results(installed=False), 'none',
     'Planhat is not installed in this org (as a connected app or as an External Client App): see the manual steps.'),
])
def test_report_says_which_kind_the_app_is_and_whether_anything_is_left_to_click(res, kind, status):
    got = report(res)
    assert (got['connected_app_kind'], got['connected_app_status']) == (kind, status)


def test_an_eca_adds_no_manual_step_of_its_own():
    assert report(results(kind='external_client_app'))['manual_steps'] == []
    assert report(results(kind='external_client_app'), users=NEW)['manual_steps'] == [VERIFY, HANDSHAKE]


def test_report_carries_the_warnings():
    got = report(results(skipped_app=True), preset='read_only_sync', api_only=False,
                 users=(('sync.integration.00d5e000000abcdeaa@acme.example.com', 'x@acme.example.com'),))
    assert got['warnings'] == [iu.MFA_WARNING] and got['connected_app'] == ''


# --- the drift summary ---------------------------------------------------------------------------------------
CONVERGED = {'changed': False, 'changed_steps': [], 'diffs': {}, 'manual_steps': [], 'warnings': []}
DRIFTED = dict(CONVERGED, changed=True, changed_steps=['permission_set'])
PENDING = dict(CONVERGED, manual_steps=['Install the connected app Planhat.'])
ERROR = dict(CONVERGED, error='Stop when the login failed: Login to x failed')


EXPOSED = dict(CONVERGED, exposure={'exposed': True, 'findings': ['jane@x holds the permission set P.']})


@pytest.mark.parametrize('reports, expected', [
    ({}, {'orgs': 0, 'drifted_orgs': [], 'error_orgs': [], 'converged_orgs': [], 'manual_step_orgs': [],
          'exposed_orgs': []}),
    ({'b': CONVERGED, 'a': CONVERGED}, {'orgs': 2, 'drifted_orgs': [], 'error_orgs': [], 'converged_orgs': ['a', 'b'],
                                        'manual_step_orgs': [], 'exposed_orgs': []}),
    ({'a': DRIFTED, 'b': PENDING, 'c': CONVERGED},
     {'orgs': 3, 'drifted_orgs': ['a'], 'error_orgs': [], 'converged_orgs': ['b', 'c'], 'manual_step_orgs': ['b'],
      'exposed_orgs': []}),
    # Orgs with no report (failed outside the rescue) come first, then those the rescue recorded.
    ({'a': ERROR, 'b': {}, 'c': DRIFTED, 'd': dict(DRIFTED, manual_steps=['x'])},
     {'orgs': 4, 'drifted_orgs': ['c', 'd'], 'error_orgs': ['b', 'a'], 'converged_orgs': [],
      'manual_step_orgs': ['d'], 'exposed_orgs': []}),
    # Exposure is neither drift nor an error: an exposed org can have converged.
    ({'a': EXPOSED, 'b': dict(DRIFTED, exposure={'exposed': False, 'findings': []}), 'c': dict(ERROR, exposure={})},
     {'orgs': 3, 'drifted_orgs': ['b'], 'error_orgs': ['c'], 'converged_orgs': ['a'], 'manual_step_orgs': [],
      'exposed_orgs': ['a']}),
])
def test_drift_summary(reports, expected):
    assert iu.integration_user_drift_summary(reports, generated_at='2026-01-01T00:00:00Z') == dict(
        expected, generated_at='2026-01-01T00:00:00Z', steps=list(iu.STEPS))


# --- exposure ----------------------------------------------------------------------------------------------------
NOW = '2026-12-04T02:00:00Z'
PS = 'Planhat_Integration'


def exposure_info(tokens=(), holders=(), sets=(PS,), profiles=(), last_login='2026-12-01T08:00:00.000+0000',
                  created='2026-01-05T09:00:00.000+0000', user_sets=(PS,), gathered=True, installed=True):
    """A preflight sf_org_info result with the exposure read (gather users, connected_apps, assignees)."""
    info = org_info()
    info['org']['users'] = [{'username': DERIVED, 'email': 'team@acme.example.com', 'last_login': last_login,
                             'created': created, 'permission_sets': list(user_sets)}]
    if gathered:
        info['org']['connected_apps'] = [{'name': 'Planhat', 'installed': installed, 'permission_sets': list(sets),
                                          'profiles': list(profiles),
                                          'oauth_tokens': [dict(user=u, use_count=3, last_used='2026-12-01T00:00:00.000+0000',
                                                                created='2026-11-01T00:00:00.000+0000') for u in tokens]}]
        info['org']['assignees'] = {PS: [{'username': u} for u in holders]}
    return info


def exposure(info, **variables):
    want = desired('planhat', **variables)
    who = iu.integration_user_identity(info, want, org_id=ORG_ID, login_username=LOGIN)
    return iu.integration_user_exposure(info, desired=want, identity=who, now=NOW)


def test_a_converged_org_is_not_exposed_and_takes_no_purge_step():
    out = exposure(exposure_info(tokens=[DERIVED], holders=[DERIVED]))
    assert (out['checked'], out['exposed'], out['findings']) == (True, False, [])
    assert out['purge'] == {'other_tokens': False, 'other_assignees': False, 'keep_assignees': [DERIVED]}
    assert (out['days_since_login'], out['stale']) == (2, False)


def test_every_kind_of_exposure_is_found_and_said():
    out = exposure(exposure_info(tokens=[DERIVED, 'jane@acme.example.com'], holders=[DERIVED.upper(), 'joe@acme.example.com'],
                                 sets=[PS, 'Sales_Ops'], profiles=['Standard User']))
    assert out['exposed'] is True
    assert [t['user'] for t in out['oauth_tokens']] == ['jane@acme.example.com']
    assert (out['assignees'], out['app_permission_sets'], out['app_profiles']) == (
        ['joe@acme.example.com'], ['Sales_Ops'], ['Standard User'])
    assert out['findings'] == [
        'jane@acme.example.com holds an OAuth token of Planhat (authorised 2026-11-01T00:00:00.000+0000, last used '
        '2026-12-01T00:00:00.000+0000, used 3 times).',
        'joe@acme.example.com holds the permission set Planhat_Integration.',
        'Permission set Sales_Ops gives access to Planhat.',
        'Profile Standard User gives access to Planhat.']
    assert out['purge'] == {'other_tokens': True, 'other_assignees': True, 'keep_assignees': [DERIVED]}


@pytest.mark.parametrize('variables, purge', [
    ({'purge_other_tokens': False}, {'other_tokens': False, 'other_assignees': True}),
    ({'purge_other_assignees': False}, {'other_tokens': True, 'other_assignees': False}),
    # No app managed: nobody's tokens of it are touched.
    ({'manage_connected_app': False}, {'other_tokens': False, 'other_assignees': True}),
])
def test_purge_steps_follow_the_purge_variables(variables, purge):
    out = exposure(exposure_info(tokens=['jane@acme.example.com'], holders=['joe@acme.example.com']), **variables)
    assert dict((k, out['purge'][k]) for k in purge) == purge


def test_without_the_exposure_read_nothing_is_reported_and_the_purge_steps_read_for_themselves():
    out = exposure(exposure_info(gathered=False, user_sets=()), check_exposure=False)
    assert (out['checked'], out['exposed'], out['findings']) == (False, False, [])
    # A new integration user is never added by the permission set step (the assignment step does it, later).
    assert out['purge'] == {'other_tokens': True, 'other_assignees': True, 'keep_assignees': []}


@pytest.mark.parametrize('last_login, created, days, stale', [
    ('2026-09-05T02:00:00.000+0000', '2026-01-05T09:00:00.000+0000', 90, True),
    ('2026-09-06T02:00:00.000+0000', '2026-01-05T09:00:00.000+0000', 89, False),
    ('2026-09-05T02:00:00Z', '2026-01-05T09:00:00Z', 90, True),
    (None, '2026-01-05T09:00:00.000+0000', None, True),   # never logged in, created long ago
    (None, '2026-12-01T09:00:00.000+0000', None, False),  # a new user the vendor has not connected yet
])
def test_stale_integration(last_login, created, days, stale):
    out = exposure(exposure_info(last_login=last_login, created=created))
    assert (out['days_since_login'], out['stale'], out['exposed']) == (days, stale, stale)
    if stale:
        assert 'integration_user_stale_after_days: 90' in out['findings'][-1]


def test_stale_check_off_and_threshold():
    info = exposure_info(last_login='2026-09-05T02:00:00.000+0000')
    assert exposure(info, stale_after_days=0)['stale'] is False
    assert exposure(info, stale_after_days=100)['stale'] is False


def test_a_bad_date_is_an_error():
    with pytest.raises(AnsibleFilterError, match='not a date'):
        exposure(exposure_info(last_login='yesterday'))


def test_the_report_shows_the_exposure_facts_not_the_purge():
    info = exposure_info(holders=['joe@acme.example.com'])
    want = desired('planhat')
    who = iu.integration_user_identity(info, want, org_id=ORG_ID, login_username=LOGIN)
    found = iu.integration_user_exposure(info, desired=want, identity=who, now=NOW)
    got = iu.integration_user_report(results(), desired=want, identity=who, exposure=found)
    assert got['exposure']['assignees'] == ['joe@acme.example.com'] and 'purge' not in got['exposure']


# --- offboarding -------------------------------------------------------------------------------------------------
def offboarding(info, **variables):
    want = desired('planhat', state='absent', **variables)
    who = iu.integration_user_identity(info, want, org_id=ORG_ID, login_username=LOGIN)
    return iu.integration_user_offboarding(info, desired=want, identity=who), want, who


def test_offboarding_reads_exposure_and_checks_no_names():
    want = desired('planhat', state='absent', check_exposure=False)
    assert want['preflight'] == {'gather': ['limits', 'users', 'connected_apps', 'assignees'],
                                 'validate_system_permissions': None, 'validate_objects': None}
    assert desired('planhat', check_exposure=False)['preflight']['gather'] == ['limits', 'users']


def test_offboarding_an_integration_in_use():
    plan, _want, _who = offboarding(exposure_info(tokens=[DERIVED, 'jane@acme.example.com'], sets=[PS, 'Sales_Ops'],
                                                  holders=[DERIVED]))
    assert plan == {
        'user_exists': True,
        'tokens': {'revoke': True, 'all_users': False, 'users': [DERIVED]},
        'connected_app': {'remove': True, 'keep_permission_sets': ['Sales_Ops'], 'connected_app': True},
        'assignment': {'remove': True},
        'user': {'run': True, 'action': 'deactivate', 'state': 'absent', 'frozen': None},
        'permission_set': {'delete': False},
        'warnings': []}


def test_a_second_offboarding_run_has_nothing_to_remove_but_checks_the_user():
    plan, _want, _who = offboarding(exposure_info(sets=[], holders=[], user_sets=()), absent_delete_permission_set=True)
    assert (plan['tokens']['revoke'], plan['connected_app']['remove'], plan['assignment']['remove']) == (False, False, False)
    # The user step reads again (no change when it is already inactive); the set, held by nobody, may go.
    assert plan['user']['run'] is True and plan['permission_set']['delete'] is True


@pytest.mark.parametrize('variables, tokens, revoke, users', [
    ({}, ['jane@acme.example.com'], False, [DERIVED]),
    ({'absent_revoke_all_tokens': True}, ['jane@acme.example.com'], True, None),
    ({'absent_revoke_all_tokens': True}, [], False, None),
])
def test_offboarding_tokens(variables, tokens, revoke, users):
    plan, _want, _who = offboarding(exposure_info(tokens=tokens), **variables)
    assert plan['tokens'] == {'revoke': revoke, 'all_users': bool(variables), 'users': users}


def test_freeze_keeps_the_user_active():
    plan, _want, _who = offboarding(exposure_info(), absent_action='freeze')
    assert plan['user'] == {'run': True, 'action': 'freeze', 'state': 'present', 'frozen': True}


@pytest.mark.parametrize('holders, delete, warned', [
    ([DERIVED], True, False),
    ([], True, False),
    ([DERIVED, 'joe@acme.example.com'], False, True),
])
def test_the_permission_set_is_deleted_only_when_asked_and_nobody_else_holds_it(holders, delete, warned):
    plan, _want, _who = offboarding(exposure_info(holders=holders), absent_delete_permission_set=True)
    assert plan['permission_set']['delete'] is delete
    assert bool(plan['warnings']) is warned
    assert offboarding(exposure_info(holders=holders))[0]['permission_set']['delete'] is False


def test_without_the_user_only_other_users_tokens_can_be_left_to_remove():
    info = exposure_info(tokens=['jane@acme.example.com'])
    info['org']['users'] = []
    plan, _want, _who = offboarding(info, absent_revoke_all_tokens=True)
    assert (plan['user_exists'], plan['user']['run'], plan['assignment']['remove']) == (False, False, False)
    assert plan['tokens']['revoke'] is True


def test_offboarding_report():
    plan, want, who = offboarding(exposure_info(holders=[DERIVED, 'joe@acme.example.com']), absent_delete_permission_set=True)
    res = dict((step, Recorded(changed=step in ('oauth_tokens', 'user'))) for step in iu.OFFBOARD_STEPS)
    res['oauth_tokens']['diff'] = {'before': {'oauth_tokens': [{'user': DERIVED}]}, 'after': {'oauth_tokens': []}}
    got = iu.integration_user_report(res, desired=want, identity=who, exposure={}, offboarding=plan)
    assert (got['state'], got['changed_steps'], got['connected_app_installed']) == ('absent', ['oauth_tokens', 'user'], None)
    assert got['manual_steps'] == ['Tell the vendor of Planhat that the integration has ended: its Salesforce connection '
                                   'of org1 no longer works.']
    assert got['warnings'] == plan['warnings'] and 'joe@acme.example.com' in got['warnings'][0]
    assert got['diffs']['user'] == {}


def test_offboarding_an_app_that_is_no_installed_connected_app_says_what_to_check_by_hand():
    plan, want, who = offboarding(exposure_info(sets=[], installed=False))
    assert plan['connected_app'] == {'remove': False, 'keep_permission_sets': [], 'connected_app': False}
    res = dict((step, Recorded(changed=False)) for step in iu.OFFBOARD_STEPS)
    got = iu.integration_user_report(res, desired=want, identity=who, exposure={}, offboarding=plan)
    assert got['manual_steps'] == ['If Planhat is an External Client App, remove the permission set Planhat_Integration '
                                   'from its policies (Setup > External Client App Manager > Planhat > Policies): '
                                   "offboarding reads only connected apps' access."]


def test_unknown_state_or_absent_action_is_refused():
    assert 'integration_user_state must be one of present, absent' in desired('planhat', state='gone')['failure']
    assert 'absent_action' in desired('planhat', absent_action='delete')['failure']

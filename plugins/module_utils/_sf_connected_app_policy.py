# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Connected-app OAuth policy and permission-set access: read, plan, apply (for sf_connected_app_policy).

FOR INTERNAL COLLECTION USE ONLY: the interface may change in any release.

Channels (docs/connected-apps.md has the sources):
- ``ConnectedApplication`` (REST, read-only) says whether the app is installed and shows
  ``OptionsAllowAdminApprovedUsersOnly``; it confirms the permitted-users policy after a write.
- ``OauthToken`` shows usage of an app that is not installed (the "Connected Apps OAuth Usage" page).
- The Metadata API ``ConnectedApp`` (SOAP readMetadata/updateMetadata) is the only API that writes the policy
  (oauthConfig.isAdminApproved, oauthPolicy.ipRelaxation/refreshTokenPolicy).
- ``SetupEntityAccess`` rows (create/delete, no update) give a permission set access to the app.
"""

import re

from .client import soql_in, soql_quote
from .module import ModuleSpec
from .errors import InputError, SalesforceError
from .metadata import MetadataClient, child_text, q, set_child
from .planning import did_you_mean, reconcile

PERMITTED_USERS = {'admin_approved': True, 'all_self_authorize': False}
IP_RELAXATION = {'enforce': 'ENFORCE', 'bypass_2fa': 'BYPASS_2FACTOR', 'bypass': 'BYPASS',
                 'enforce_relax_refresh': 'ENFORCE_RELAXREFRESH'}
IP_RELAXATION_LABELS = {'enforce': 'Enforce IP restrictions', 'bypass_2fa': 'Relax IP restrictions with second factor',
                        'bypass': 'Relax IP restrictions',
                        'enforce_relax_refresh': 'Enforce IP restrictions, but relax for refresh tokens'}
PERMITTED_USERS_LABELS = {'admin_approved': 'Admin approved users are pre-authorized',
                          'all_self_authorize': 'All users may self-authorize'}
_REFRESH_RE = re.compile(r'^(infinite|zero|specific_(lifetime|inactivity):([1-9][0-9]*):(hours|days|months))$', re.IGNORECASE)

SETUP_INSTALL = ('In Setup, open Apps > Connected Apps > Connected Apps OAuth Usage, find "{name}" and click Install '
                 '(needs Customize Application and either Modify All Data or Manage Connected Apps), then re-run this task.')
SETUP_POLICY = ('In Setup, open Apps > Connected Apps > Manage Connected Apps, click Edit Policies next to "{name}" and set: '
                '{what}; then re-run this task to verify.')
SETUP_FIRST_USE = ('"{name}" is neither installed nor used in this org: install it from its vendor package, or let its '
                   'integration user authorise it once and then install it from Apps > Connected Apps > Connected Apps OAuth '
                   'Usage; then re-run this task.')


def normalise_refresh_policy(value):
    """``specific_lifetime:90:days`` -> ``specific_lifetime:90:DAYS`` (Metadata API spelling); None stays None."""
    if value is None:
        return None
    match = _REFRESH_RE.match(str(value).strip())
    if not match:
        raise InputError('refresh_token_policy %r is not valid.' % value,
                         hint='Use infinite, zero, specific_lifetime:N:UNIT or specific_inactivity:N:UNIT with UNIT one of '
                              'HOURS, DAYS, MONTHS (for example specific_lifetime:90:DAYS).')
    if match.group(2):
        return 'specific_%s:%s:%s' % (match.group(2).lower(), match.group(3), match.group(4).upper())
    return match.group(1).lower()


def reverse(mapping, value):
    for key, val in mapping.items():
        if val == value:
            return key
    return None


def read_state(client, name, permission_sets):
    """One composite call: every ConnectedApplication, the OAuth usage of ``name``, app access rows, named permsets."""
    subs = [
        client.sub_query('apps', 'SELECT Id, Name, OptionsAllowAdminApprovedUsersOnly FROM ConnectedApplication'),
        client.sub_query('usage', 'SELECT Id, AppName, UseCount, LastUsedDate FROM OauthToken WHERE AppName = %s' % soql_quote(name)),
        # Filtered by type, not by the app id, so this read needs no second round trip; the app is picked below.
        client.sub_query('access', 'SELECT Id, ParentId, Parent.Name, Parent.IsOwnedByProfile, SetupEntityId FROM SetupEntityAccess '
                                   "WHERE SetupEntityType = 'ConnectedApplication'"),
    ]
    if permission_sets:
        subs.append(client.sub_query('permsets', 'SELECT Id, Name FROM PermissionSet WHERE IsOwnedByProfile = false AND Name IN %s'
                                     % soql_in(sorted(set(permission_sets)))))
    answer = client.composite(subs, allow_errors=True)
    for ref in ('apps', 'access', 'permsets'):
        if isinstance(answer.get(ref), SalesforceError):
            raise answer[ref]
    usage = answer.get('usage')
    # Reading OauthToken needs Manage Users; without it usage is unknown, not an error.
    usage_known = not isinstance(usage, SalesforceError)
    apps = answer['apps']['records']
    app = find_app(apps, name)
    access = []
    if app:
        access = [r for r in answer['access']['records'] if r.get('SetupEntityId') == app['Id']]
    return {
        'app': app,
        'app_names': [a['Name'] for a in apps],
        'used': bool(usage_known and usage['records']),
        'usage_known': usage_known,
        'access': access,
        'permsets': dict((r['Name'], r['Id']) for r in (answer.get('permsets') or {}).get('records', [])),
    }


def metadata_names(name):
    """Candidate Metadata API full names: the name as given and the API name Setup derives from a label
    (non-word characters become underscores, e.g. "sfops Automation" -> "sfops_Automation")."""
    api_name = re.sub(r'\W', '_', name)
    return [name] if api_name == name else [name, api_name]


def find_app(apps, name):
    exact = [a for a in apps if a.get('Name') == name]
    if exact:
        return exact[0]
    folded = [a for a in apps if (a.get('Name') or '').lower() == name.lower()]
    return folded[0] if len(folded) == 1 else None


def access_by_name(access):
    """Permission-set access rows that the module manages: not profile-owned.  {permset name: row}."""
    return dict((r['Parent']['Name'], r) for r in access if r.get('Parent') and not r['Parent'].get('IsOwnedByProfile'))


def policy_from_metadata(component):
    """Our view of a ConnectedApp component: permitted_users, ip_relaxation, refresh_token_policy."""
    admin = child_text(component, 'oauthConfig', 'isAdminApproved')
    return {
        'permitted_users': None if admin is None else ('admin_approved' if admin == 'true' else 'all_self_authorize'),
        'ip_relaxation': reverse(IP_RELAXATION, child_text(component, 'oauthPolicy', 'ipRelaxation')),
        'refresh_token_policy': normalise_refresh_policy(child_text(component, 'oauthPolicy', 'refreshTokenPolicy'))
        if child_text(component, 'oauthPolicy', 'refreshTokenPolicy') else None,
    }


def apply_policy(component, changes):
    """Write ``changes`` (our option names -> desired values) into the ConnectedApp element, in schema order."""
    if 'permitted_users' in changes:
        oauth = component.find(q('oauthConfig'))
        if oauth is None:
            raise InputError('The connected app has no OAuth settings, so it has no permitted-users policy to set.',
                             hint='Drop permitted_users for this app.')
        set_child(oauth, 'isAdminApproved', 'true' if PERMITTED_USERS[changes['permitted_users']] else 'false')
    if 'ip_relaxation' in changes or 'refresh_token_policy' in changes:
        policy = set_child(component, 'oauthPolicy', None)
        if 'ip_relaxation' in changes:
            set_child(policy, 'ipRelaxation', IP_RELAXATION[changes['ip_relaxation']])
        if 'refresh_token_policy' in changes:
            set_child(policy, 'refreshTokenPolicy', changes['refresh_token_policy'])
    return component


def describe_changes(changes):
    """Human text of policy values, as Setup labels them (for manual steps)."""
    out = []
    for key in sorted(changes):
        value = changes[key]
        if key == 'permitted_users':
            out.append('Permitted Users = "%s"' % PERMITTED_USERS_LABELS[value])
        elif key == 'ip_relaxation':
            out.append('IP Relaxation = "%s"' % IP_RELAXATION_LABELS[value])
        else:
            out.append('Refresh Token Policy = %s' % value)
    return ', '.join(out)


class ConnectedAppPolicy(object):
    """Plan and apply one app's policy; ``run()`` returns the module result."""

    POLICY_KEYS = ('permitted_users', 'ip_relaxation', 'refresh_token_policy')

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.client = module.client
        self.name = self.params['name']
        self.desired = {
            'permitted_users': self.params.get('permitted_users'),
            'ip_relaxation': self.params.get('ip_relaxation'),
            'refresh_token_policy': normalise_refresh_policy(self.params.get('refresh_token_policy')),
        }
        self.metadata = MetadataClient(self.client, register_secret=module.no_log_values.add)
        self.manual_steps = []
        self.warnings = []

    # --- reading ----------------------------------------------------------------------------------------------
    def _check_permsets(self, state):
        wanted = self.params.get('permission_sets') or []
        unknown = [n for n in wanted if n not in state['permsets']]
        if unknown and self.module.check_mode:
            # A check run of the whole runbook: an earlier task would have created the permission set (as in
            # sf_object_permission and sf_permission_set_assignment); reported as access to add, with a warning.
            self.warnings.append('Permission set(s) %s not in the org yet: check mode reports access to them as to be '
                                 'added; a real run fails if they are still missing.' % ', '.join(sorted(unknown)))
            state['permsets'].update((n, None) for n in unknown)
        elif unknown:
            raise InputError('Unknown permission set(s): %s.' % ', '.join(sorted(unknown)),
                             hint='Use the API name (PermissionSet.Name) of a permission set that is not owned by a profile; '
                                  'create it first with sfops.salesforce.sf_permission_set.')

    def _current_policy(self, state):
        """(policy dict, component or None).  Metadata is read only when REST cannot answer the question."""
        app = state['app']
        rest = {'permitted_users': 'admin_approved' if app.get('OptionsAllowAdminApprovedUsersOnly') else 'all_self_authorize',
                'ip_relaxation': None, 'refresh_token_policy': None}
        need_md = any(self.desired[k] is not None for k in ('ip_relaxation', 'refresh_token_policy')) or \
            (self.desired['permitted_users'] is not None and self.desired['permitted_users'] != rest['permitted_users'])
        if not need_md:
            return rest, None
        component = self.metadata.read('ConnectedApp', metadata_names(self.name))
        if component is None:
            return rest, None
        current = policy_from_metadata(component)
        # REST is the authority for what users experience; metadata fills in what REST does not show.
        current['permitted_users'] = rest['permitted_users']
        return current, component

    # --- main -------------------------------------------------------------------------------------------------
    def run(self):
        module = self.module
        module.step = 'reading connected app %s' % self.name
        state = read_state(self.client, self.name, self.params.get('permission_sets'))
        self._check_permsets(state)
        if not state['app']:
            return self._not_installed(state)
        app = state['app']
        current, component = self._current_policy(state)
        module.step = 'planning the policy of connected app %s' % app['Name']
        changes = dict((k, v) for k, v in self.desired.items() if v is not None and current.get(k) != v)
        current_sets = access_by_name(state['access'])
        to_add, to_remove = reconcile(current_sets, self.params.get('permission_sets'), self.params.get('purge_permission_sets'))
        if changes and component is None:
            # The org does not give this app's metadata to the API (apps not created in the org): only Setup can.
            self._blocked(app, changes, None)
            unverifiable = [k for k in ('ip_relaxation', 'refresh_token_policy') if k in changes]
            if unverifiable:
                self.warnings.append('The Metadata API does not return "%s", so %s cannot be read or set through the API.'
                                     % (app['Name'], ' and '.join(unverifiable)))
            changes = {}
        if self.manual_steps and self.params['require_installed'] and not module.check_mode:
            raise InputError('The policy of connected app "%s" cannot be set through the API.' % app['Name'],
                             hint=' '.join(self.manual_steps))
        before = dict(current, permission_sets=sorted(current_sets))
        after = dict(current, permission_sets=sorted((set(current_sets) | set(to_add)) - set(to_remove)))
        after.update(changes)
        result = {'changed': bool(changes or to_add or to_remove), 'added_permission_sets': to_add, 'removed_permission_sets': to_remove}
        self._diff(result, before, after, changes, to_add or to_remove)
        if module.check_mode or not result['changed']:
            return self._finish(result, app, after, installed=True)
        if changes:
            module.step = 'updating the policy of connected app %s (Metadata API)' % app['Name']
            try:
                self.metadata.update(apply_policy(component, changes), 'ConnectedApp')
            except SalesforceError as err:
                if isinstance(err, InputError):
                    raise
                self._blocked(app, changes, err)
                if self.params['require_installed']:
                    raise InputError('Salesforce refused the policy of connected app "%s".' % app['Name'], hint=' '.join(self.manual_steps))
                changes = {}
                after.update((k, before[k]) for k in self.POLICY_KEYS)
        module.step = 'changing permission set access to connected app %s' % app['Name']
        if to_add:
            self.client.collections_create([{'attributes': {'type': 'SetupEntityAccess'}, 'ParentId': state['permsets'][n],
                                             'SetupEntityId': app['Id']} for n in to_add])
        if to_remove:
            self.client.collections_delete([current_sets[n]['Id'] for n in to_remove])
        result['changed'] = bool(changes or to_add or to_remove)
        self._diff(result, before, after, changes, to_add or to_remove)
        if result['changed']:
            module.step = 'reading connected app %s back' % app['Name']
            after = self._verify(after, changes)
        return self._finish(result, app, after, installed=True)

    def _blocked(self, app, changes, error):
        step = SETUP_POLICY.format(name=app['Name'], what=describe_changes(changes))
        if error is not None:
            step += ' (the Metadata API refused the change: %s)' % error
        self.manual_steps.append(step)

    def _diff(self, result, before, after, changes, access_changed):
        """Diff of what this run writes (or would write); a policy only Setup can change is in manual_steps instead."""
        result.pop('diff', None)
        keys = sorted(changes) + (['permission_sets'] if access_changed else [])
        if self.module.diff_mode and keys:
            result['diff'] = {'before': dict((k, before.get(k)) for k in keys), 'after': dict((k, after.get(k)) for k in keys)}

    def _verify(self, after, changes):
        """Re-read over REST: the permitted-users policy must show what the metadata write asked for."""
        state = read_state(self.client, self.name, None)
        app = state['app'] or {}
        shown = 'admin_approved' if app.get('OptionsAllowAdminApprovedUsersOnly') else 'all_self_authorize'
        if 'permitted_users' in changes and shown != changes['permitted_users']:
            raise SalesforceError(None, 'POLICY_NOT_APPLIED',
                                  'updateMetadata succeeded but ConnectedApplication "%s" still shows permitted users = %s. %s'
                                  % (self.name, shown, SETUP_POLICY.format(name=self.name, what=describe_changes(changes))))
        verified = dict(after, permitted_users=shown, permission_sets=sorted(access_by_name(state['access'])))
        return verified

    def _not_installed(self, state):
        module = self.module
        if state['used'] or not state['usage_known']:
            step = SETUP_INSTALL.format(name=self.name)
            if not state['usage_known']:
                step = 'Could not read OAuth usage (needs Manage Users). ' + step
        else:
            step = SETUP_FIRST_USE.format(name=self.name)
            if self.params['require_installed']:
                raise InputError('No connected app named "%s" is installed or used in this org.%s'
                                 % (self.name, did_you_mean(self.name, state['app_names'])), hint=step)
        self.manual_steps.append(step)
        if self.params['require_installed'] and not module.check_mode:
            raise InputError('Connected app "%s" is used in this org but not installed, so its policy cannot be managed.' % self.name,
                             hint=step)
        # Check mode reports the missing install as drift; a real run with require_installed=false only reports it.
        result = {'changed': bool(module.check_mode), 'added_permission_sets': [], 'removed_permission_sets': []}
        return self._finish(result, None, {}, installed=False)

    def _finish(self, result, app, after, installed):
        for warning in self.warnings:
            self.module.warn(warning)
        if self.manual_steps and not self.module.check_mode:
            self.module.warn('Manual step needed: ' + ' '.join(self.manual_steps))
        if self.manual_steps and self.module.check_mode:
            result['changed'] = True
        result['manual_steps'] = self.manual_steps
        result['connected_app'] = {
            'id': app['Id'] if app else None,
            'name': app['Name'] if app else self.name,
            'installed': installed,
            'permitted_users': after.get('permitted_users'),
            'ip_relaxation': after.get('ip_relaxation'),
            'refresh_token_policy': after.get('refresh_token_policy'),
            'permission_sets': after.get('permission_sets', []),
        }
        return result


SPEC = ModuleSpec(
    'sf_connected_app_policy',
    argument_spec=dict(
        name=dict(type='str', required=True),
        permitted_users=dict(type='str', choices=['admin_approved', 'all_self_authorize']),
        ip_relaxation=dict(type='str', choices=['enforce', 'bypass_2fa', 'bypass', 'enforce_relax_refresh']),
        refresh_token_policy=dict(type='str', no_log=False),
        permission_sets=dict(type='list', elements='str'),
        purge_permission_sets=dict(type='bool', default=False),
        require_installed=dict(type='bool', default=True),
    ),
    run=lambda task: ConnectedAppPolicy(task).run(),
)

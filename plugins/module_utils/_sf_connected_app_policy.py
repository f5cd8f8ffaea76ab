# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sf_connected_app_policy: a connected app's OAuth policy and permission-set access (the module's code, on the pipeline).

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
from .errors import InputError, SalesforceError
from .metadata import MetadataClient, child_text, q, set_child
from .planning import did_you_mean
from ._pipeline import Plan, Resource

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


class ConnectedAppPolicy(Resource):
    RESULT_KEY = 'connected_app'
    LISTS = ('permission_sets',)
    NOUN = 'connected app'
    POLICY_KEYS = ('permitted_users', 'ip_relaxation', 'refresh_token_policy')

    def __init__(self, task):
        super().__init__(task)
        self.name = self.params['name']
        self.desired = {
            'permitted_users': self.params.get('permitted_users'),
            'ip_relaxation': self.params.get('ip_relaxation'),
            'refresh_token_policy': normalise_refresh_policy(self.params.get('refresh_token_policy')),
        }
        self.metadata = MetadataClient(self.client, register_secret=task.no_log_values.add)

    # --- reading ----------------------------------------------------------------------------------------------
    def read(self):
        state = read_state(self.client, self.name, self.params.get('permission_sets'))
        state['policy'], state['component'] = self._current_policy(state) if state['app'] else (None, None)
        return state

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

    # --- planning ---------------------------------------------------------------------------------------------
    def plan(self, current):
        state = current
        plan = Plan(self)
        plan.extra['manual_steps'] = []
        self._check_permsets(plan, state)
        if not state['app']:
            return self._plan_not_installed(plan, state)
        app, current = state['app'], state['policy']
        changes = dict((k, v) for k, v in self.desired.items() if v is not None and current.get(k) != v)
        if changes and state['component'] is None:
            # The org does not give this app's metadata to the API (apps not created in the org): only Setup can.
            self._manual_policy_step(plan, app, changes, None)
            unverifiable = [k for k in ('ip_relaxation', 'refresh_token_policy') if k in changes]
            if unverifiable:
                plan.warnings.append('The Metadata API does not return "%s", so %s cannot be read or set through the API.'
                                     % (app['Name'], ' and '.join(unverifiable)))
            changes = {}
        if plan.extra['manual_steps'] and self.params['require_installed'] and not self.task.check_mode:
            raise InputError('The policy of connected app "%s" cannot be set through the API.' % app['Name'],
                             hint=' '.join(plan.extra['manual_steps']))
        for key, value in changes.items():
            plan.set(key, current.get(key), value)
        current_sets = access_by_name(state['access'])
        to_add, to_remove = plan.reconcile('permission_sets', current_sets, self.params.get('permission_sets'),
                                           self.params['purge_permission_sets'])
        after = dict(current, **changes)
        after['permission_sets'] = sorted((set(current_sets) | set(to_add)) - set(to_remove))
        plan.state = self._view(app, after, installed=True)
        plan.writes = {'app': app, 'component': state['component'], 'changes': changes,
                       'create': [{'attributes': {'type': 'SetupEntityAccess'}, 'ParentId': state['permsets'][n],
                                   'SetupEntityId': app['Id']} for n in to_add],
                       'delete': [current_sets[n]['Id'] for n in to_remove]}
        return self._manual_warning(plan)

    def _check_permsets(self, plan, state):
        wanted = self.params.get('permission_sets') or []
        unknown = [n for n in wanted if n not in state['permsets']]
        if unknown and self.task.check_mode:
            # A check run of the whole runbook: an earlier task would have created the permission set (as in
            # sf_object_permission and sf_permission_set_assignment); reported as access to add, with a warning.
            plan.warnings.append('Permission set(s) %s not in the org yet: check mode reports access to them as to be '
                                 'added; a real run fails if they are still missing.' % ', '.join(sorted(unknown)))
            state['permsets'].update((n, None) for n in unknown)
        elif unknown:
            raise InputError('Unknown permission set(s): %s.' % ', '.join(sorted(unknown)),
                             hint='Use the API name (PermissionSet.Name) of a permission set that is not owned by a profile; '
                                  'create it first with sfops.salesforce.sf_permission_set.')

    def _plan_not_installed(self, plan, state):
        if state['used'] or not state['usage_known']:
            step = SETUP_INSTALL.format(name=self.name)
            if not state['usage_known']:
                step = 'Could not read OAuth usage (needs Manage Users). ' + step
        else:
            step = SETUP_FIRST_USE.format(name=self.name)
            if self.params['require_installed']:
                raise InputError('No connected app named "%s" is installed or used in this org.%s'
                                 % (self.name, did_you_mean(self.name, state['app_names'])), hint=step)
        plan.extra['manual_steps'].append(step)
        if self.params['require_installed'] and not self.task.check_mode:
            raise InputError('Connected app "%s" is used in this org but not installed, so its policy cannot be managed.' % self.name,
                             hint=step)
        # Not a change this module can make: the manual step says what only a person can do.
        plan.state = self._view(None, {}, installed=False)
        return self._manual_warning(plan)

    def _manual_policy_step(self, plan, app, changes, error):
        step = SETUP_POLICY.format(name=app['Name'], what=describe_changes(changes))
        if error is not None:
            step += ' (the Metadata API refused the change: %s)' % error
        plan.extra['manual_steps'].append(step)

    @staticmethod
    def _manual_warning(plan):
        if plan.extra['manual_steps']:
            plan.warnings.append('Manual step needed: ' + ' '.join(plan.extra['manual_steps']))
        return plan

    def _view(self, app, after, installed):
        return {
            'id': app['Id'] if app else None,
            'name': app['Name'] if app else self.name,
            'installed': installed,
            'permitted_users': after.get('permitted_users'),
            'ip_relaxation': after.get('ip_relaxation'),
            'refresh_token_policy': after.get('refresh_token_policy'),
            'permission_sets': after.get('permission_sets', []),
        }

    # --- applying ---------------------------------------------------------------------------------------------
    def apply(self, plan):
        writes = plan.writes
        app, changes = writes['app'], writes['changes']
        if changes:
            self.step('updating the policy of connected app %s (Metadata API)' % app['Name'])
            try:
                self.metadata.update(apply_policy(writes['component'], changes), 'ConnectedApp')
                plan.applied['policy'] = sorted(changes)
            except SalesforceError as err:
                if isinstance(err, InputError):
                    raise
                self._manual_policy_step(plan, app, changes, err)
                if self.params['require_installed']:
                    raise InputError('Salesforce refused the policy of connected app "%s".' % app['Name'],
                                     hint=' '.join(plan.extra['manual_steps']))
                self._manual_warning(plan)
                for key in changes:
                    plan.drop(key)
                changes = {}
        self.step('changing permission set access to connected app %s' % app['Name'])
        if writes['create']:
            self.client.collections_create(writes['create'])
            plan.applied['added'] = plan.added
        if writes['delete']:
            self.client.collections_delete(writes['delete'])
            plan.applied['removed'] = plan.removed
        if not plan.changed:
            return None
        self.step('reading connected app %s back' % app['Name'])
        return self._verify(plan.state, changes)

    def _verify(self, after, changes):
        """Re-read over REST: the permitted-users policy must show what the metadata write asked for."""
        state = read_state(self.client, self.name, None)
        app = state['app'] or {}
        shown = 'admin_approved' if app.get('OptionsAllowAdminApprovedUsersOnly') else 'all_self_authorize'
        if 'permitted_users' in changes and shown != changes['permitted_users']:
            raise SalesforceError(None, 'POLICY_NOT_APPLIED',
                                  'updateMetadata succeeded but ConnectedApplication "%s" still shows permitted users = %s. %s'
                                  % (self.name, shown, SETUP_POLICY.format(name=self.name, what=describe_changes(changes))))
        return dict(after, permitted_users=shown, permission_sets=sorted(access_by_name(state['access'])))


SPEC = ConnectedAppPolicy.spec(
    name='sf_connected_app_policy',
    argument_spec=dict(
        name=dict(type='str', required=True),
        permitted_users=dict(type='str', choices=['admin_approved', 'all_self_authorize']),
        ip_relaxation=dict(type='str', choices=['enforce', 'bypass_2fa', 'bypass', 'enforce_relax_refresh']),
        refresh_token_policy=dict(type='str', no_log=False),
        permission_sets=dict(type='list', elements='str'),
        purge_permission_sets=dict(type='bool', default=False),
        require_installed=dict(type='bool', default=True),
    ),
)

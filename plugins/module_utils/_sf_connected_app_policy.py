# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sf_connected_app_policy: the OAuth policy and permission-set access of a connected app or of an External Client App
(the module's code, on the pipeline).

FOR INTERNAL COLLECTION USE ONLY: the interface may change in any release.

The kind of app is found by name: a ``ConnectedApplication`` row (the composite read every run makes) is a connected
app; otherwise one ``listMetadata`` tells whether it is an External Client App (``ExternalClientAppPolicy`` below).

Connected-app channels (docs/connected-apps.md has the sources):
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
from .metadata import MetadataClient, child_text, q, remove_child, set_child
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


# --- External Client Apps ------------------------------------------------------------------------------------------
# Types, elements and enum spellings: Metadata API Developer Guide "ExternalClientApplication" and
# "ExtlClntAppOauthConfigurablePolicies" (API 59.0+; "Special Access Rules" name the permission); the evidence, and
# why commaSeparatedPermissionSet carries names, not ids, is in sfemu/docs/external-client-apps.md.
KIND_CONNECTED_APP, KIND_ECA, KIND_NONE = 'connected_app', 'external_client_app', 'none'
ECA_TYPE = 'ExternalClientApplication'
ECA_POLICY_TYPE = 'ExtlClntAppOauthConfigurablePolicies'
ECA_PERMITTED_USERS = {'admin_approved': 'AdminApprovedPreAuthorized', 'all_self_authorize': 'AllSelfAuthorized'}
ECA_IP_RELAXATION = {'enforce': 'Enforce', 'bypass_2fa': 'Bypass_2factor', 'bypass': 'Bypass',
                     'enforce_relax_refresh': 'Enforce_RelaxRefresh'}
ECA_REFRESH = {'infinite': 'Infinite', 'zero': 'Zero', 'specific_lifetime': 'SpecificLifetime',
               'specific_inactivity': 'SpecificInactivity'}
ECA_UNITS = {'HOURS': 'Hours', 'DAYS': 'Days', 'MONTHS': 'Months'}
READ_MAX = 10  # readMetadata takes up to 10 full names [doc readMetadata()]

ECA_GRANT = ('Give the automation user the permission "View all External Client Apps, view their settings, and edit their '
             'policies" (PermissionsExternalClientAppAdmin, on its profile or a permission set) besides Modify Metadata or '
             'Modify All Data, then re-run this task.')
ECA_NO_OAUTH = ('External Client App "{name}" has no OAuth policies in this org (its developer has not enabled OAuth for it): '
                'ask the vendor, or look at Setup > External Client App Manager > {name} > Policies; then re-run this task.')


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


def eca_names(csv):
    """Names in a comma-separated element (commaSeparatedPermissionSet), sorted, blanks dropped."""
    return sorted(set(n.strip() for n in (csv or '').split(',') if n.strip()))


def eca_refresh_policy(component):
    """The module's spelling of an ECA's refresh-token policy (``specific_lifetime:90:DAYS``), or None."""
    kind = reverse(ECA_REFRESH, child_text(component, 'refreshTokenPolicyType'))
    if kind not in ('specific_lifetime', 'specific_inactivity'):
        return kind
    period = child_text(component, 'refreshTokenValidityPeriod')
    unit = reverse(ECA_UNITS, child_text(component, 'refreshTokenValidityUnit'))
    return '%s:%s:%s' % (kind, period, unit) if period and unit else None


def policy_from_eca(component):
    """Our view of an ExtlClntAppOauthConfigurablePolicies component (values the module does not know read as None)."""
    return {
        'permitted_users': reverse(ECA_PERMITTED_USERS, child_text(component, 'permittedUsersPolicyType')),
        'ip_relaxation': reverse(ECA_IP_RELAXATION, child_text(component, 'ipRelaxationPolicyType')),
        'refresh_token_policy': eca_refresh_policy(component),
        'permission_sets': eca_names(child_text(component, 'commaSeparatedPermissionSet')),
    }


def apply_eca_policy(component, changes, permission_sets):
    """Write ``changes`` and (unless None) ``permission_sets`` into the OAuth policies component, in schema order.

    Every other element stays as read: updateMetadata replaces the whole component, and an element left out goes
    back to its default (sfemu/docs/external-client-apps.md "Update semantics").
    """
    if 'permitted_users' in changes:
        set_child(component, 'permittedUsersPolicyType', ECA_PERMITTED_USERS[changes['permitted_users']])
    if 'ip_relaxation' in changes:
        set_child(component, 'ipRelaxationPolicyType', ECA_IP_RELAXATION[changes['ip_relaxation']])
    if 'refresh_token_policy' in changes:
        kind, _sep, validity = changes['refresh_token_policy'].partition(':')
        set_child(component, 'refreshTokenPolicyType', ECA_REFRESH[kind])
        if validity:
            period, unit = validity.split(':')
            set_child(component, 'refreshTokenValidityPeriod', period)
            set_child(component, 'refreshTokenValidityUnit', ECA_UNITS[unit])
        else:
            # Period and unit qualify only the Specific* policies [doc]: none is left behind to contradict Infinite.
            remove_child(component, 'refreshTokenValidityPeriod')
            remove_child(component, 'refreshTokenValidityUnit')
    if permission_sets is not None:
        if permission_sets:
            set_child(component, 'commaSeparatedPermissionSet', ','.join(permission_sets))
        else:
            remove_child(component, 'commaSeparatedPermissionSet')
    return component


def _same_name(full_name, names):
    """``full_name`` is one of ``names``, ignoring case and a package namespace (``ns__Planhat`` in a subscriber
    org [3rd, see sfemu/docs/external-client-apps.md])."""
    full_name = (full_name or '').lower()
    return any(full_name == n.lower() or full_name.endswith('__' + n.lower()) for n in names)


def find_eca(listing, name):
    """(FileProperties of the ECA called ``name``, the OAuth policies full names to read), from a listMetadata answer.

    The policies' name is generated by Salesforce and not shown in Setup: ``<ECA>_oauthPlcy`` is what orgs show [3rd],
    but it is not documented, so the likeliest names are read and the component is picked by its
    ``externalClientApplication`` (``pick_eca_policy``).
    """
    apps = [p for p in listing if p.get('type') == ECA_TYPE and _same_name(p.get('fullName'), metadata_names(name))]
    if not apps:
        return None, []
    apps.sort(key=lambda p: p['fullName'].lower() not in [n.lower() for n in metadata_names(name)])
    app = apps[0]
    prefix = app['fullName'].lower() + '_'
    policies = [p['fullName'] for p in listing if p.get('type') == ECA_POLICY_TYPE and p.get('fullName')]
    exact = [n for n in policies if n.lower() == prefix + 'oauthplcy']
    return app, (exact or [n for n in policies if n.lower().startswith(prefix)] or sorted(policies))[:READ_MAX]


def pick_eca_policy(records, app_name):
    """The OAuth policies component of ECA ``app_name`` among ``records`` (read by ``find_eca``'s names), or None."""
    return next((r for r in records if _same_name(child_text(r, 'externalClientApplication'), [app_name])), None)


def explained(err, message, hint):
    """``err`` with our sentence in front and what to do; Salesforce's code and text are kept."""
    out = SalesforceError(err.status, err.error_code, '%s %s' % (message, err.message), fields=err.fields)
    out.hint = hint
    return out


def eca_refusal(err, app_name):
    """A refused ECA read or write as a message that says what to do."""
    what = 'Salesforce refused the OAuth policies of External Client App "%s":' % app_name
    if err.error_code == 'INSUFFICIENT_ACCESS':
        return explained(err, what, ECA_GRANT)
    if err.error_code == 'INVALID_FIELD' and ('commaSeparatedPermissionSet' in err.fields or 'permission set' in err.message):
        return explained(err, what, 'Name permission sets by their API name (PermissionSet.Name, not an Id, not a profile\'s '
                                    'permission set) and create them first with sfops.salesforce.sf_permission_set.')
    if err.error_code == 'Client':
        # soapenv:Client: the SOAP layer could not read a value (an enum spelling) or an element [real apex-mdapi#54]
        return explained(err, what, 'Salesforce could not read a value or element of the component: set api_version to '
                                    'the version the org runs (60.0 or later), and report the message as a bug of '
                                    'sfops.salesforce if it names a value the module wrote.')
    return explained(err, what, None)


class ExternalClientAppPolicy(object):
    """The External Client App half of ``ConnectedAppPolicy``: its read, plan and apply when the app is an ECA.

    Every setting is a Metadata API component the subscriber org owns (``ExtlClntAppOauthConfigurablePolicies``,
    including the permission sets, by name): listMetadata finds it, readMetadata reads it, updateMetadata writes it
    whole, readMetadata verifies it.  Nothing is left for Setup, so ``manual_steps`` stays empty.
    """

    def __init__(self, resource):
        self.resource = resource
        self.name = resource.name
        self.metadata = resource.metadata

    def detect(self, state):
        """One listMetadata: True (and ``state['eca']``, ``state['eca_policy_names']``) when ``name`` is an ECA.

        When Salesforce does not let the user look, ``state['eca_unknown']`` says why (a manual step)."""
        try:
            listing = self.metadata.list([ECA_TYPE, ECA_POLICY_TYPE])
        except SalesforceError as err:
            if err.error_code == 'INSUFFICIENT_ACCESS':
                state['eca_unknown'] = ('Could not check whether "%s" is an External Client App: the Metadata API refused '
                                        'listMetadata (%s). %s' % (self.name, err.message, ECA_GRANT))
                return False
            if err.error_code == 'INVALID_TYPE':
                # "available in API version 59.0 and later" [doc]: an older api_version cannot see an ECA at all.
                state['eca_unknown'] = ('api_version %s cannot see External Client Apps (59.0 or later can): set api_version '
                                        'to check whether "%s" is one.' % (self.resource.client.api_version, self.name))
                return False
            raise
        state['eca'], state['eca_policy_names'] = find_eca(listing, self.name)
        state['app_names'] = state['app_names'] + [p['fullName'] for p in listing if p.get('type') == ECA_TYPE]
        return state['eca'] is not None

    def read(self, state):
        names = state['eca_policy_names']
        try:
            records = self.metadata.read_all(ECA_POLICY_TYPE, names) if names else []
        except SalesforceError as err:
            raise eca_refusal(err, state['eca']['fullName'])
        state['component'] = pick_eca_policy(records, state['eca']['fullName'])
        state['policy'] = policy_from_eca(state['component']) if state['component'] is not None else None

    def plan(self, plan, state):
        resource, app = self.resource, state['eca']
        if state['component'] is None:
            step = ECA_NO_OAUTH.format(name=app['fullName'])
            plan.extra['manual_steps'].append(step)
            if resource.params['require_installed'] and not resource.task.check_mode:
                raise InputError('External Client App "%s" has no OAuth policies in this org.' % app['fullName'], hint=step)
            plan.state = self.view(app, {'permission_sets': []})
            plan.warnings.append('Manual step needed: ' + step)
            return plan
        current = state['policy']
        changes = dict((k, v) for k, v in resource.desired.items() if v is not None and current.get(k) != v)
        for key, value in sorted(changes.items()):
            plan.set(key, current.get(key), value)
        to_add, to_remove = plan.reconcile('permission_sets', current['permission_sets'], resource.params.get('permission_sets'),
                                           resource.params['purge_permission_sets'])
        after = dict(current, **changes)
        after['permission_sets'] = sorted((set(current['permission_sets']) | set(to_add)) - set(to_remove))
        plan.state = self.view(app, after)
        plan.writes = {'kind': KIND_ECA, 'app': app, 'component': state['component'], 'changes': changes,
                       'permission_sets': after['permission_sets'] if to_add or to_remove else None}
        return plan

    def apply(self, plan):
        writes = plan.writes
        app_name = writes['app']['fullName']
        component = apply_eca_policy(writes['component'], writes['changes'], writes['permission_sets'])
        full_name = component.findtext(q('fullName'))
        self.resource.step('updating the OAuth policies of External Client App %s (Metadata API updateMetadata of %s)'
                           % (app_name, full_name))
        try:
            self.metadata.update(component, ECA_POLICY_TYPE)
        except SalesforceError as err:
            raise eca_refusal(err, app_name)
        plan.applied['policy'] = sorted(writes['changes'])
        if writes['permission_sets'] is not None:
            plan.applied['added'], plan.applied['removed'] = plan.added, plan.removed
        self.resource.step('reading the OAuth policies of External Client App %s back' % app_name)
        try:
            shown = pick_eca_policy(self.metadata.read_all(ECA_POLICY_TYPE, [full_name]), app_name)
        except SalesforceError as err:
            raise eca_refusal(err, app_name)
        shown = policy_from_eca(shown) if shown is not None else {}
        wrong = [k for k in sorted(writes['changes']) + (['permission_sets'] if writes['permission_sets'] is not None else [])
                 if shown.get(k) != plan.state[k]]
        if wrong:
            raise SalesforceError(None, 'POLICY_NOT_APPLIED',
                                  'updateMetadata succeeded but the OAuth policies of External Client App "%s" still show %s.'
                                  % (app_name, ', '.join('%s = %s' % (k, shown.get(k)) for k in wrong)))
        return self.view(writes['app'], shown)

    @staticmethod
    def view(app, after):
        return {
            'id': app.get('id'),
            'name': app['fullName'],
            'kind': KIND_ECA,
            'installed': True,
            'permitted_users': after.get('permitted_users'),
            'ip_relaxation': after.get('ip_relaxation'),
            'refresh_token_policy': after.get('refresh_token_policy'),
            'permission_sets': after.get('permission_sets', []),
        }


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
        self.eca = ExternalClientAppPolicy(self)
        self.kind = None  # known after read()

    def describe(self):
        return '%s %s' % ('External Client App' if self.kind == KIND_ECA else self.NOUN, self.name)

    # --- reading ----------------------------------------------------------------------------------------------
    def read(self):
        state = read_state(self.client, self.name, self.params.get('permission_sets'))
        state['policy'], state['component'] = self._current_policy(state) if state['app'] else (None, None)
        # An installed connected app costs no extra request; anything else is looked for among the ECAs (one listMetadata).
        if state['app']:
            self.kind = KIND_CONNECTED_APP
        elif self.eca.detect(state):
            self.kind = KIND_ECA
            self.eca.read(state)
        else:
            self.kind = KIND_NONE
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
        if self.kind == KIND_ECA:
            return self.eca.plan(plan, state)
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
        steps, required = plan.extra['manual_steps'], self.params['require_installed']
        unknown_kind = state.get('eca_unknown')
        if unknown_kind:
            # Not a connected app, and the user may not look among the External Client Apps: say so first.
            steps.append(unknown_kind)
            if required and not self.task.check_mode:
                raise InputError('"%s" is not an installed connected app, and Salesforce did not let this user check whether '
                                 'it is an External Client App.' % self.name, hint=unknown_kind)
        if state['used'] or not state['usage_known']:
            step = SETUP_INSTALL.format(name=self.name)
            if not state['usage_known']:
                step = 'Could not read OAuth usage (needs Manage Users). ' + step
        else:
            step = SETUP_FIRST_USE.format(name=self.name)
            if required and not unknown_kind:
                raise InputError('No connected app or External Client App named "%s" is installed or used in this org.%s'
                                 % (self.name, did_you_mean(self.name, state['app_names'])), hint=step)
        steps.append(step)
        if required and not self.task.check_mode:
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
            'kind': KIND_CONNECTED_APP if installed else KIND_NONE,
            'installed': installed,
            'permitted_users': after.get('permitted_users'),
            'ip_relaxation': after.get('ip_relaxation'),
            'refresh_token_policy': after.get('refresh_token_policy'),
            'permission_sets': after.get('permission_sets', []),
        }

    # --- applying ---------------------------------------------------------------------------------------------
    def apply(self, plan):
        writes = plan.writes
        if writes.get('kind') == KIND_ECA:
            return self.eca.apply(plan)
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

# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The decisions of the integration_user role, as filters (each one documented in the .yml file of its name).

The role's YAML keeps the runbook's order and calls these; every rule it applies lives here, once:

- ``integration_user_desired``: preset + role variables -> what to build (and why the inputs are refused);
- ``integration_user_connection``: the inventory's ``sf_*`` variables and the login -> the modules' connection
  options, or the reason this org cannot be worked on (refused inputs, a failed login);
- ``integration_user_identity``: the org's login and preflight read -> who the integration user is;
- ``integration_user_exposure``: the preflight read -> who else can reach the org through the vendor's app, and what
  a setup run removes;
- ``integration_user_offboarding``: the preflight read -> what ``integration_user_state: absent`` removes, in order;
- ``integration_user_report``: the step results -> ``integration_user_report``;
- ``integration_user_drift_summary``: the reports of every org -> the drift summary of playbooks/drift_check.yml.

Pure functions of their arguments: no API call, no Ansible state.
"""

import datetime
import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.sfops.salesforce.plugins.module_utils.permissions import PREFIX

# The report's steps, in the runbook's order (the order of changed_steps and diffs too): setting up, and offboarding
# (integration_user_state: absent), where the order is the safe one - the vendor's tokens first, then its access, the
# user's permission sets, the user, and last the permission set itself.
STEPS = ('user', 'permission_set', 'object_permissions', 'assignment', 'connected_app', 'oauth_tokens')
OFFBOARD_STEPS = ('oauth_tokens', 'connected_app', 'assignment', 'user', 'permission_set')
STATES = ('present', 'absent')
ABSENT_ACTIONS = ('deactivate', 'freeze')
# What the preflight always reads, and what the exposure check (and offboarding) adds: five queries and the limits
# resource, so one composite request either way (Salesforce allows five queries per composite). Licences are not
# read here: sf_user checks the profile's licence for a new user in its own read, before the run's first write.
PREFLIGHT_GATHER = ['limits', 'users']
EXPOSURE_GATHER = ['connected_apps', 'assignees']

# Admin-level power that no integration user needs (Modify All Data, Customize Application, Author Apex), and Use
# Any API Client, which lets the user authorise any app and defeats the admin-approved app policy.
DANGEROUS_PERMISSIONS = ('ModifyAllData', 'CustomizeApplication', 'AuthorApex', 'UseAnyApiClient')

# The profile of a user who is not API-only, unless integration_user_profile names one (an API-only user gets the
# module's API-only profile).
NOT_API_ONLY_PROFILE = 'Minimum Access - Salesforce'

# How the report names each kind of app sf_connected_app_policy returns (connected_app.kind).
APP_KINDS = {'connected_app': 'a connected app', 'external_client_app': 'an External Client App'}

MFA_WARNING = ('View All Data is granted to a user who is not API-only: Salesforce enforces phishing-resistant MFA on '
               'such users (integration_user_api_only: true avoids it)')


# --- What this file reads from module results ------------------------------------------------------------------
# The ONE place that knows the modules' return keys: switch these when a module's return shape changes. Each step
# result is what its task registered (after its changed_when). Of a step that did not change the report reads only
# `changed` (and the app step's installed and manual_steps), so an unchanged result is never expanded.

def _step_changed(result):
    return bool(result.get('changed'))


def _step_diff(result):
    return result.get('diff', {})


def _app_installed(app_result):
    """sf_connected_app_policy: whether the app is installed (its policy can only be managed once it is)."""
    return app_result['connected_app']['installed']


def _app_kind(app_result):
    """sf_connected_app_policy: connected_app, external_client_app, or none (not installed)."""
    return app_result['connected_app']['kind']


def _app_manual_steps(app_result):
    """sf_connected_app_policy: what only a person can do (install the app, a policy only Setup can change)."""
    return list(app_result.get('manual_steps') or [])


def _org_users(org_info):
    """sf_org_info (gather users): the users read, each with username and email."""
    return list((org_info.get('org') or {}).get('users') or [])


def _api_requests_remaining(org_info):
    """sf_org_info (gather limits): the daily API requests left."""
    return int(org_info['org']['limits']['daily_api_requests']['remaining'])


def _exposure_read(org_info):
    """Whether the preflight gathered connected_apps and assignees (the exposure check)."""
    org = org_info.get('org') or {}
    return 'connected_apps' in org and 'assignees' in org


def _org_app(org_info, name):
    """sf_org_info (gather connected_apps): the app of that name (Setup names compare case-insensitively), or an
    empty one: oauth_tokens (user, use_count, last_used, created), permission_sets, profiles."""
    for app in (org_info.get('org') or {}).get('connected_apps') or []:
        if str(app.get('name') or '').lower() == str(name).lower():
            return app
    return {'oauth_tokens': [], 'permission_sets': [], 'profiles': []}


def _org_assignees(org_info, permission_set):
    """sf_org_info (gather assignees): the usernames that hold the permission set."""
    holders = ((org_info.get('org') or {}).get('assignees') or {}).get(permission_set) or []
    return [h['username'] for h in holders]
# ---------------------------------------------------------------------------------------------------------------


_NOT_ALPHANUMERIC = re.compile('[^a-z0-9]')


def permission_key(name):
    """One key for every spelling sf_permission_set accepts for a system permission, without a describe at hand.

    Setup label, API name, API name with the ``Permissions`` prefix, any case: ``View All Data``, ``ViewAllData`` and
    ``PermissionsViewAllData`` are all ``viewalldata``. The module matches the prefix in any case, so this does too:
    a dangerous permission must not slip past the guardrail by its spelling.
    """
    key = _NOT_ALPHANUMERIC.sub('', str(name).lower())
    prefix = PREFIX.lower()
    return key[len(prefix):] if key.startswith(prefix) else key


_DANGEROUS_KEYS = frozenset(permission_key(name) for name in DANGEROUS_PERMISSIONS)
_VIEW_ALL_DATA_KEY = permission_key('ViewAllData')


def _merged_objects(preset_data, objects, extra_objects, exclude_objects, write_back):
    # Keyed by lower-case name: a later entry (write-back, then extra_objects) replaces an earlier one for the same
    # object, in the earlier one's place; exclude_objects removes by name.
    entries = (list(objects or preset_data['objects'])
               + (list(preset_data['write_back_objects']) if write_back else [])
               + list(extra_objects))
    by_name = {}
    for entry in entries:
        by_name[str(entry['name']).lower()] = entry
    excluded = set(str(name).lower() for name in exclude_objects)
    return [entry for key, entry in by_name.items() if key not in excluded]


def _merged_system_permissions(preset_data, system_permissions, extra, exclude, write_back):
    """``{key: name}`` of the permissions to grant: duplicates and excludes match either spelling, and a later
    spelling of a permission replaces an earlier one in its place (as for objects)."""
    names = (list(system_permissions or preset_data['system_permissions'])
             + (list(preset_data['write_back_system_permissions']) if write_back else [])
             + list(extra))
    by_key = {}
    for name in names:
        by_key[permission_key(name)] = name
    excluded = set(permission_key(name) for name in exclude)
    return dict((key, name) for key, name in by_key.items() if key not in excluded)


def integration_user_desired(preset_data, org, preset, username, email, first_name, last_name, api_only, profile,
                             permission_set_name, permission_set_label, permission_set_description,
                             system_permissions, extra_system_permissions, exclude_system_permissions,
                             objects, extra_objects, exclude_objects, write_back,
                             manage_connected_app, connected_app_name, connected_app_permitted_users,
                             connected_app_ip_relaxation, connected_app_refresh_token_policy,
                             allow_dangerous_permissions, min_api_requests_remaining,
                             state, absent_action, absent_revoke_all_tokens, absent_delete_permission_set,
                             check_exposure, stale_after_days, purge_other_assignees, purge_other_tokens):
    """What to build in one org: the preset's data with the role's variables applied (see the .yml for each key)."""
    api_only = boolean(api_only)
    write_back = boolean(write_back)
    granted = _merged_system_permissions(preset_data, system_permissions, extra_system_permissions,
                                         exclude_system_permissions, write_back)
    dangerous = [name for key, name in granted.items() if key in _DANGEROUS_KEYS]

    preset_ps = preset_data['permission_set']
    ps_name = permission_set_name or preset_ps['name']
    # Labels are unique per org too: a renamed permission set gets a label from its own name, not the preset's.
    ps_label = (permission_set_label
                or (preset_ps['label'] if permission_set_name in ('', preset_ps['name']) else '')
                or ps_name.replace('_', ' '))

    preset_user = preset_data['user']
    last_name = last_name or preset_user['last_name']

    preset_app = preset_data['connected_app']
    app_name = connected_app_name or preset_app['name']

    if dangerous and not boolean(allow_dangerous_permissions):
        failure = ('Refusing to grant %s to the integration user of %s: this is admin-level power (or, for Use Any API'
                   ' Client, a bypass of the admin-approved app policy) that no integration needs. Nothing was changed.'
                   ' Remove it, or set integration_user_allow_dangerous_permissions: true if this is really intended.'
                   % (', '.join(str(name) for name in dangerous), org))
    elif not ps_name or not last_name:
        failure = ("The permission set name and the user's last name are required with preset '%s'"
                   " (integration_user_permission_set_name, integration_user_last_name)." % preset)
    elif state not in STATES or absent_action not in ABSENT_ACTIONS:
        failure = ('integration_user_state must be one of %s and integration_user_absent_action one of %s (got %r, %r).'
                   % (', '.join(STATES), ', '.join(ABSENT_ACTIONS), state, absent_action))
    else:
        failure = ''
    # Offboarding needs the exposure read too: it says which tokens and access rows there are to remove.
    read_exposure = boolean(check_exposure) or state == 'absent'
    merged_objects = _merged_objects(preset_data, objects, extra_objects, exclude_objects, write_back)

    return {
        'org': org,
        'preset': preset,
        'user': {
            # Empty: integration_user_identity derives them in the org.
            'username': username,
            'username_prefix': preset_user['username_prefix'],
            'email': email,
            'first_name': first_name or preset_user['first_name'],
            'last_name': last_name,
            'profile': profile or ('' if api_only else NOT_API_ONLY_PROFILE),
            'api_only': api_only,
        },
        'permission_set': {
            'name': ps_name,
            'label': ps_label,
            'description': permission_set_description or preset_ps['description'],
        },
        'system_permissions': list(granted.values()),
        'objects': merged_objects,
        'connected_app': {
            'manage': boolean(manage_connected_app) and len(app_name) > 0,
            'name': app_name,
            'permitted_users': connected_app_permitted_users or preset_app['permitted_users'],
            'ip_relaxation': connected_app_ip_relaxation or preset_app['ip_relaxation'],
            'refresh_token_policy': connected_app_refresh_token_policy or preset_app['refresh_token_policy'],
        },
        'dangerous_permissions': dangerous,
        'min_api_requests_remaining': int(min_api_requests_remaining),
        'state': state,
        'preflight': {
            'gather': PREFLIGHT_GATHER + (EXPOSURE_GATHER if read_exposure else []),
            # The names the setup steps will write are checked before the first write; offboarding writes none
            # (None: the preflight does not check them).
            'validate_system_permissions': list(granted.values()) if state == 'present' else None,
            'validate_objects': merged_objects if state == 'present' else None,
        },
        'exposure': {
            'check': boolean(check_exposure),
            'stale_after_days': int(stale_after_days),
            'purge_other_assignees': boolean(purge_other_assignees),
            'purge_other_tokens': boolean(purge_other_tokens),
        },
        'offboarding': {
            'action': absent_action,
            'revoke_all_tokens': boolean(absent_revoke_all_tokens),
            'delete_permission_set': boolean(absent_delete_permission_set),
        },
        'failure': failure,
        'warnings': [MFA_WARNING] if _VIEW_ALL_DATA_KEY in granted and not api_only else [],
    }


def integration_user_connection(options, org, desired=None, login=None):
    """The connection options of every sfops task in one org, as one dict for ``module_defaults``.

    :param options: ``{option: value}`` from the inventory's ``sf_*`` variables, ``None`` where one is not set: those
      are left out, so the module's own default or ``SF_*`` environment variable applies (what ``default(omit)``
      did per option; one template per task instead of one per option, each compiled again in every forked worker).
    :param desired: the result of ``integration_user_desired``; its ``failure`` stops the org here.
    :param login: the registered result of the role's ``sf_login``: its session (instance URL, access token, API
      version) is added, so no task logs in again; without an access token the login failed, and its message
      (scrubbed by the module) says why.
    """
    if desired and desired.get('failure'):
        raise AnsibleFilterError(desired['failure'])
    connection = dict((name, value) for name, value in options.items() if value is not None)
    if login is not None:
        if not login.get('access_token'):
            raise AnsibleFilterError('Login to %s failed: %s' % (org, login.get('msg') or 'no access token was returned'))
        connection.update(instance_url=login['instance_url'], access_token=login['access_token'],
                          api_version=login['api_version'])
    return connection


def integration_user_identity(org_info, desired, org_id, login_username):
    """Who the integration user is in one org.

    :param org_info: the result of the preflight's sf_org_info, or ``{}`` before it has run (then only the names
      are known: the preflight needs them to know which users to read). The preflight's checks are the modules'
      own: sf_org_info stops on the API budget (min_api_requests_remaining), sf_user on a missing licence.
    """
    user = desired['user']
    login_username = login_username or ''
    # Default: unique per org (the 18-character org id is case-insensitive unique), under the login user's domain.
    domain = login_username.split('@')[-1] if '@' in login_username else 'integration.invalid'
    username = user['username'] or '%s.%s@%s' % (user['username_prefix'], str(org_id or '').lower(), domain)

    users = _org_users(org_info)
    existing = [u for u in users if u.get('username') == username]
    login_user = [u for u in users if u.get('username') == login_username]
    email = (user['email'] or (existing[0].get('email') if existing else '')
             or (login_user[0].get('email') if login_user else '') or '')
    identity = {
        'org_id': org_id,
        'username': username,
        'login_username': login_username,
        # The users the preflight reads: this one, and the login user (whose e-mail is the default).
        'usernames': [username] + ([login_username] if login_username else []),
        'email': email,
        'user_existed': len(existing) > 0,
        'licence': 'Salesforce Integration' if user['api_only'] else 'Salesforce',
        'api_requests_remaining': None,
    }
    if 'org' in org_info:
        try:
            identity['api_requests_remaining'] = _api_requests_remaining(org_info)
        except (KeyError, TypeError, ValueError) as exc:
            raise AnsibleFilterError('integration_user_identity: the preflight result lacks %s (gather limits)' % exc)
    return identity


def _when(value):
    """A Salesforce datetime (``2026-11-30T02:00:11.000+0000``) or ISO 8601 with ``Z`` as an aware datetime, or None."""
    if not value:
        return None
    text = str(value).replace('Z', '+00:00')
    text = re.sub(r'([+-]\d\d)(\d\d)$', r'\1:\2', text)
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        raise AnsibleFilterError('not a date and time: %r' % (value,))


def _days(since, now):
    return None if since is None else (now - since).days


def _token_text(token, app_name):
    return ('%s holds an OAuth token of %s (authorised %s, last used %s, used %s times).'
            % (token.get('user'), app_name, token.get('created') or 'at an unknown time', token.get('last_used') or 'never',
               token.get('use_count') or 0))


def integration_user_exposure(org_info, desired, identity, now):
    """Who else can reach the org through the vendor's app, from the preflight read, and what a setup run removes.

    Read-only facts: the OAuth tokens of the app held by anyone but the integration user, the other holders of the
    integration permission set, the other permission sets and the profiles with access to the app, and whether the
    integration user's last login is older than ``stale_after_days`` (a stale integration). ``purge`` says which
    purge steps a setup run takes (the role's purge variables; a step is skipped when the read found nothing for it).
    """
    username = identity['username']
    ps_name = desired['permission_set']['name']
    app = desired['connected_app']
    settings = desired['exposure']
    checked = _exposure_read(org_info)
    me = username.lower()
    app_fact = _org_app(org_info, app['name']) if app['manage'] else _org_app({}, '')
    tokens = [t for t in app_fact['oauth_tokens'] if str(t.get('user') or '').lower() != me]
    holders = _org_assignees(org_info, ps_name)
    others = [h for h in holders if str(h).lower() != me]
    other_sets = [n for n in app_fact['permission_sets'] if n != ps_name]
    profiles = list(app_fact['profiles'])

    user = next((u for u in _org_users(org_info) if str(u.get('username') or '').lower() == me), None)
    clock = _when(now)
    last_login = (user or {}).get('last_login')
    days = _days(_when(last_login), clock)
    days_created = _days(_when((user or {}).get('created')), clock)
    limit = settings['stale_after_days']
    stale = bool(user and limit > 0 and ((days is not None and days >= limit)
                                         or (last_login is None and days_created is not None and days_created >= limit)))

    findings = []
    if checked:
        findings.extend(_token_text(t, app['name']) for t in tokens)
        findings.extend('%s holds the permission set %s.' % (h, ps_name) for h in others)
        findings.extend('Permission set %s gives access to %s.' % (n, app['name']) for n in other_sets)
        findings.extend('Profile %s gives access to %s.' % (n, app['name']) for n in profiles)
    if stale and last_login:
        findings.append('The integration user %s last logged in %s days ago (%s; integration_user_stale_after_days: %s).'
                        % (username, days, last_login, limit))
    elif stale:
        findings.append('The integration user %s has never logged in since it was created %s days ago '
                        '(integration_user_stale_after_days: %s).' % (username, days_created, limit))
    holds_set = bool(user and ps_name in (user.get('permission_sets') or []))
    return {
        'checked': checked,
        'exposed': len(findings) > 0,
        'findings': findings,
        'oauth_tokens': [dict((k, t.get(k)) for k in ('user', 'use_count', 'last_used', 'created')) for t in tokens],
        'assignees': others,
        'app_permission_sets': other_sets,
        'app_profiles': profiles,
        'last_login': last_login,
        'days_since_login': days,
        'stale': stale,
        # What a setup run does about it. Without the exposure read the steps run anyway and read for themselves.
        'purge': {
            'other_tokens': bool(app['manage'] and settings['purge_other_tokens'] and (tokens or not checked)),
            'other_assignees': bool(settings['purge_other_assignees'] and (others or not checked)),
            # The assignees the permission set step keeps: the integration user, when it holds the set already (a new
            # one gets it from the assignment step, in the runbook's order).
            'keep_assignees': [username] if holds_set else [],
        },
    }


def integration_user_offboarding(org_info, desired, identity):
    """What ``integration_user_state: absent`` removes in one org, from the preflight read: which steps run.

    A step runs only when the read shows something for it to do (a second run is then all skips and no-change
    reads); the permission set is deleted only when asked, and never while anyone but the integration user holds it.
    """
    username = identity['username']
    me = username.lower()
    ps_name = desired['permission_set']['name']
    app = desired['connected_app']
    plan = desired['offboarding']
    user = next((u for u in _org_users(org_info) if str(u.get('username') or '').lower() == me), None)
    app_fact = _org_app(org_info, app['name']) if app['manage'] else _org_app({}, '')
    all_users = plan['revoke_all_tokens']
    tokens = [t for t in app_fact['oauth_tokens'] if all_users or str(t.get('user') or '').lower() == me]
    others = [h for h in _org_assignees(org_info, ps_name) if str(h).lower() != me]
    warnings = []
    delete = plan['delete_permission_set']
    if delete and others:
        delete = False
        warnings.append('Permission set %s is kept: %s still hold(s) it (it is deleted only when nobody else does).'
                        % (ps_name, ', '.join(others)))
    return {
        'user_exists': user is not None,
        # users None with all_users: the option is left out.
        'tokens': {'revoke': len(tokens) > 0, 'all_users': all_users, 'users': None if all_users else [username]},
        # The other permission sets keep their access (they are exposure, reported; a setup run purges them).
        # ``connected_app`` false: the read found no installed connected app of that name, so if the vendor's app is
        # an External Client App its policy (which the read does not see) may still name the permission set.
        'connected_app': {'remove': app['manage'] and ps_name in app_fact['permission_sets'],
                          'keep_permission_sets': [n for n in app_fact['permission_sets'] if n != ps_name],
                          'connected_app': bool(app_fact.get('installed'))},
        'assignment': {'remove': bool(user and user.get('permission_sets'))},
        # deactivate: sf_user state absent; freeze: state present with frozen (None: the option is left out).
        'user': {'run': user is not None, 'action': plan['action'],
                 'state': 'absent' if plan['action'] == 'deactivate' else 'present',
                 'frozen': True if plan['action'] == 'freeze' else None},
        'permission_set': {'delete': delete},
        'warnings': warnings,
    }


def _app_status(name, kind, installed, app_steps):
    """One sentence for the report: which kind the app is, and whether anything about it is left to click."""
    if not installed:
        return ('%s is not installed in this org (as a connected app or as an External Client App): see the manual '
                'steps.' % name)
    if app_steps:
        return '%s is %s: its policy needs the manual steps.' % (name, APP_KINDS[kind])
    return '%s is %s: its policy and access are set through the API, nothing is left to click.' % (name, APP_KINDS[kind])


def integration_user_report(results, desired, identity, exposure=None, offboarding=None):
    """``integration_user_report`` of one org: what changed and what a person still has to do, in order."""
    if desired['state'] == 'absent':
        return _offboarding_report(results, desired, identity, exposure, offboarding)
    app = desired['connected_app']
    manage_app = app['manage']
    app_result = results['connected_app']
    # A step counts as changed as its task did (a manual step is never a change: the module reports it apart).
    changed_steps = [step for step in STEPS
                     if (step not in ('connected_app', 'oauth_tokens') or manage_app) and _step_changed(results[step])]
    installed = _app_installed(app_result) if manage_app else True
    kind = _app_kind(app_result) if manage_app else ''
    app_steps = _app_manual_steps(app_result) if manage_app and installed else []
    username, app_name = identity['username'], app['name']
    new_user = not identity['user_existed']

    manual_steps = []
    if new_user:
        manual_steps.append('Verify the e-mail address of %s (Salesforce mails the invitation to %s).'
                            % (username, identity['email']))
        if not desired['user']['api_only']:
            manual_steps.append('Register multi-factor authentication for %s (it is not API-only).' % username)
    if manage_app:
        if new_user or not installed:
            manual_steps.append('In a private browser window, log in as %s and do the %s OAuth handshake (connect '
                                'Salesforce from %s).' % (username, app_name, app_name))
        if not installed:
            manual_steps.append('Install the connected app %s (Setup > Connected Apps OAuth Usage > Install), or the '
                                "vendor's package if %s ships as an External Client App." % (app_name, app_name))
            manual_steps.append('Run this job again to harden %s (admin-approved users, the permission set).' % app_name)
        else:
            manual_steps.extend(app_steps)

    report = _report_head(desired, identity, app_name if manage_app else '', installed, changed_steps, results)
    report.update(connected_app_kind=kind,
                  connected_app_status=_app_status(app_name, kind, installed, app_steps) if manage_app else '')
    report.update(manual_steps=manual_steps, warnings=list(desired['warnings']), exposure=_exposure_facts(exposure))
    return report


def _report_head(desired, identity, app_name, installed, changed_steps, results):
    """The keys every report starts with; the app's kind and status follow (a setup run's, or empty)."""
    return {
        'org': desired['org'],
        'org_id': identity['org_id'],
        'preset': desired['preset'],
        'state': desired['state'],
        'username': identity['username'],
        'permission_set': desired['permission_set']['name'],
        'connected_app': app_name,
        'connected_app_installed': installed,
        # connected_app, external_client_app or none; empty when the role does not manage the app (or offboards).
        'connected_app_kind': '',
        'connected_app_status': '',
        'changed': len(changed_steps) > 0,
        'changed_steps': changed_steps,
        # Only the steps that changed, with the module's own before/after (never a secret: the modules build
        # their diffs from permission, policy and token-usage fields only).
        'diffs': dict((step, _step_diff(results[step])) for step in changed_steps),
    }


def _exposure_facts(exposure):
    """The exposure as the report shows it (the facts, not what the run does about them); {} when not checked."""
    if not exposure or not exposure.get('checked') and not exposure.get('stale'):
        return {}
    return dict((k, v) for k, v in exposure.items() if k != 'purge')


def _offboarding_report(results, desired, identity, exposure, offboarding):
    app = desired['connected_app']
    changed_steps = [step for step in OFFBOARD_STEPS
                     if (step not in ('connected_app', 'oauth_tokens') or app['manage']) and _step_changed(results[step])]
    manual_steps = []
    if 'oauth_tokens' in changed_steps:
        manual_steps.append('Tell the vendor of %s that the integration has ended: its Salesforce connection of %s no '
                            'longer works.' % (app['name'], desired['org']))
    if app['manage'] and offboarding and not offboarding['connected_app']['connected_app']:
        manual_steps.append('If %s is an External Client App, remove the permission set %s from its policies (Setup > '
                            'External Client App Manager > %s > Policies): offboarding reads only connected apps\' '
                            'access.' % (app['name'], desired['permission_set']['name'], app['name']))
    report = _report_head(desired, identity, app['name'] if app['manage'] else '', None, changed_steps, results)
    report.update(manual_steps=manual_steps, warnings=list((offboarding or {}).get('warnings') or []),
                  exposure=_exposure_facts(exposure))
    return report


def integration_user_drift_summary(reports, generated_at):
    """The summary of a drift check over many orgs, from ``{org: integration_user_report}``.

    An org without a report (it failed outside the rescued block, e.g. unreachable) or with an ``error`` (the rescue
    recorded why it could not be checked) is an error org: a check that did not happen must not look green.
    """
    drifted = [org for org, report in reports.items() if report.get('changed')]
    errors = []
    for org in ([org for org, report in reports.items() if 'changed' not in report]
                + [org for org, report in reports.items() if 'error' in report]):
        if org not in errors:
            errors.append(org)
    return {
        'generated_at': generated_at,
        'orgs': len(reports),
        # The steps every checked org has a result for (one JUnit test case each).
        'steps': list(STEPS),
        'drifted_orgs': drifted,
        'error_orgs': errors,
        'converged_orgs': sorted(org for org in reports if org not in drifted and org not in errors),
        # Not drift: what only a person can do (install the app, an app policy only Setup can change, ...).
        'manual_step_orgs': [org for org, report in reports.items() if report.get('manual_steps')],
        # Not drift either, and reported apart: someone else can reach the org through the vendor's app.
        'exposed_orgs': [org for org, report in reports.items() if (report.get('exposure') or {}).get('exposed')],
    }


class FilterModule(object):
    def filters(self):
        return {
            'integration_user_desired': integration_user_desired,
            'integration_user_connection': integration_user_connection,
            'integration_user_identity': integration_user_identity,
            'integration_user_exposure': integration_user_exposure,
            'integration_user_offboarding': integration_user_offboarding,
            'integration_user_report': integration_user_report,
            'integration_user_drift_summary': integration_user_drift_summary,
        }

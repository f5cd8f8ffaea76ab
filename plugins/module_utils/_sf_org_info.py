# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sf_org_info: gather org facts in as few requests as possible.

FOR INTERNAL COLLECTION USE ONLY: the interface may change in any release.

Everything gathered goes into one composite (split only where Salesforce's limit of 5 queries per composite
forces it).  The version list lives outside ``/services/data/vXX.X/`` so it cannot be a composite subrequest and
costs one GET.  System permissions of permission sets need the PermissionSet describe first, then one composite of
queries over slices of the Permissions* fields (a single 400-field SELECT would exceed the URL limit).

``validate_system_permissions`` and ``validate_objects`` check desired names with the very code sf_permission_set
and sf_object_permission run before their first write (permissions.check_system_permissions / check_objects), so
a playbook can refuse bad input before any task writes.  The describes they need ride in the same composite:
describe subrequests are not queries, so they do not count toward the five queries per composite.
"""

from .client import soql_in
from .errors import InputError, SalesforceError
from .module import ModuleSpec
from .permissions import PREFIX, check_objects, check_system_permissions, field_level, object_row_flags, strip_prefix
from ._sf_object_permission import FIELD_FIELDS, OBJ_FIELDS, describe_subrequests, object_entry_options, take_describes

GATHER = ('organization', 'versions', 'limits', 'licenses', 'users', 'permission_sets', 'connected_apps', 'assignees')
DEFAULT_GATHER = ['organization', 'versions', 'limits', 'licenses']
READ_STEP = 'reading the org'
# The failure message starts "Failed while <step>:"; sf_org_info only reads, so whatever failed, nothing was changed.
CHECK_STEP = 'checking the desired system permissions, objects and fields against the org (nothing was changed)'
PERM_SLICE = 200  # Permissions* fields per query: about 8 KB of URL, under Salesforce's 16 KB URI limit; 4 slices = one composite for ~800 permissions


def _where(field, values, base=None):
    clauses = [base] if base else []
    if values:
        clauses.append('%s IN %s' % (field, soql_in(values)))
    return (' WHERE ' + ' AND '.join(clauses)) if clauses else ''


def _records(body):
    return (body or {}).get('records') or []


def _name(row, rel, field='Name'):
    return ((row or {}).get(rel) or {}).get(field)


def build_subrequests(client, params, gather):
    subs = []
    if 'organization' in gather:
        subs.append(client.sub_query('organization', 'SELECT Id, Name, OrganizationType, IsSandbox, InstanceName FROM Organization'))
    if 'limits' in gather:
        subs.append(client.sub_get('limits', 'limits'))
    if 'licenses' in gather:
        subs.append(client.sub_query('user_licenses', 'SELECT Id, Name, Status, TotalLicenses, UsedLicenses FROM UserLicense'))
        subs.append(client.sub_query('psl', 'SELECT Id, MasterLabel, DeveloperName, Status, TotalLicenses, UsedLicenses FROM PermissionSetLicense'))
    if 'users' in gather:
        subs.append(client.sub_query('users', 'SELECT Id, Username, Name, Email, IsActive, UserType, Profile.Name, LastLoginDate, CreatedDate, '
                                              '(SELECT PermissionSetId, PermissionSet.Name, PermissionSet.IsOwnedByProfile FROM PermissionSetAssignments) '
                                              'FROM User%s' % _where('Username', params.get('usernames'))))
    if 'permission_sets' in gather:
        subs.append(client.sub_query('permission_sets', 'SELECT Id, Name, Label, Description, LicenseId, (SELECT %s FROM ObjectPerms), '
                                                        '(SELECT %s FROM FieldPerms), (SELECT AssigneeId, Assignee.Username FROM Assignments) '
                                                        'FROM PermissionSet%s' % (OBJ_FIELDS, FIELD_FIELDS, _ps_where(params))))
    if 'connected_apps' in gather:
        subs.append(client.sub_query('apps', 'SELECT Id, Name, OptionsAllowAdminApprovedUsersOnly, OptionsRefreshTokenValidityMetric, '
                                             'RefreshTokenValidityPeriod FROM ConnectedApplication%s'
                                             % _where('Name', params.get('connected_app_names'))))
        # Never DeleteToken: it is a credential (sf_oauth_token reads it only to revoke).
        subs.append(client.sub_query('tokens', 'SELECT Id, AppName, UserId, User.Username, UseCount, LastUsedDate, CreatedDate '
                                               'FROM OauthToken%s' % _where('AppName', params.get('connected_app_names'))))
        subs.append(client.sub_query('access', "SELECT Id, ParentId, Parent.Name, Parent.IsOwnedByProfile, Parent.Profile.Name, "
                                               "SetupEntityId FROM SetupEntityAccess WHERE SetupEntityType = 'ConnectedApplication'"))
    if 'assignees' in gather:
        subs.append(client.sub_query('assignees', 'SELECT Id, AssigneeId, Assignee.Username, Assignee.IsActive, PermissionSet.Name '
                                                  'FROM PermissionSetAssignment%s'
                                                  % _where('PermissionSet.Name', params.get('permission_set_names'),
                                                           base='PermissionSet.IsOwnedByProfile = false')))
    # Describes last: they are not queries, so they fill the composites the queries need anyway.
    if 'permission_sets' in gather or params.get('validate_system_permissions') is not None:
        subs.append(client.sub_describe('ps_describe', 'PermissionSet'))
    return subs


def _ps_where(params):
    return _where('Name', params.get('permission_set_names'), base='IsOwnedByProfile = false')


def read(client, params, gather):
    """The read of everything asked for: one composite (split only by the five-queries limit).

    :returns: (``{referenceId: body}``, lower-case names of the objects described for ``validate_objects``).  A
      failed describe of such an object stays in the result (a SalesforceError) for the validation to report; any
      other failed subrequest raises.
    """
    subs = build_subrequests(client, params, gather)
    wanted = []
    if params.get('validate_objects') is not None:
        describe_subs, wanted = describe_subrequests(client, params['validate_objects'])
        subs.extend(describe_subs)
    if not subs:
        return {}, wanted
    res = client.composite(subs, allow_errors=True)
    object_refs = set('d%d' % index for index in range(len(wanted)))
    for sub in subs:
        if sub['referenceId'] not in object_refs and isinstance(res.get(sub['referenceId']), SalesforceError):
            raise res[sub['referenceId']]
    return res, wanted


def validate(client, params, res, wanted):
    """Check the desired system permissions, objects and fields with the code sf_permission_set and
    sf_object_permission run before their first write.

    :returns: the ``validation`` result.
    :raises InputError: every problem of both checks in one error, in their own words.
    """
    out, errors = {}, []
    names = params.get('validate_system_permissions')
    if names is not None:
        try:
            _catalog, requested, _needed, implied = check_system_permissions(res.get('ps_describe'), client.api_version, names)
            out.update(system_permissions=requested, implied_system_permissions=implied)
        except InputError as err:
            errors.append(err)
    objects = params.get('validate_objects')
    if objects is not None:
        try:
            targets_describe, describes = take_describes(client, objects, wanted, res)
            plan = check_objects(objects, targets_describe, describes)
            out.update(objects=dict((entry[0], entry[1]) for entry in plan),
                       implied_object_permissions=[name for entry in plan for name in entry[2]],
                       fields=dict(item for entry in plan for item in entry[3].items()))
        except InputError as err:
            errors.append(err)
    if len(errors) > 1:
        raise InputError(' '.join(err.message for err in errors), hint=' '.join(err.hint for err in errors if err.hint))
    if errors:
        raise errors[0]
    return out


def gather_and_validate(client, params, task=None):
    """Returns (org facts, validation result or None); raises InputError when a desired name is wrong."""
    gather = list(params.get('gather') or DEFAULT_GATHER)
    org = {}
    res, wanted = read(client, params, gather)
    validation = None
    if params.get('validate_system_permissions') is not None or params.get('validate_objects') is not None:
        if task is not None:
            task.step = CHECK_STEP
        validation = validate(client, params, res, wanted)
        if task is not None:
            task.step = READ_STEP
    if 'organization' in gather:
        row = _records(res['organization'])[0]
        org['organization'] = {'id': row['Id'], 'name': row.get('Name'), 'edition': row.get('OrganizationType'),
                               'is_sandbox': row.get('IsSandbox'), 'instance': row.get('InstanceName')}
    if 'versions' in gather:
        versions = client.get('/services/data/') or []
        available = [v['version'] for v in versions]
        org['versions'] = {'in_use': client.api_version, 'available': available,
                           'latest': max(available, key=float) if available else None}
    if 'limits' in gather:
        daily = res['limits'].get('DailyApiRequests') or {}
        org['limits'] = {'daily_api_requests': {'max': daily.get('Max'), 'remaining': daily.get('Remaining'),
                                                'used': (daily['Max'] - daily['Remaining']) if 'Max' in daily and 'Remaining' in daily else None},
                         'all': res['limits']}
    if 'licenses' in gather:
        org['licenses'] = {
            'user_licenses': [_licence(r, r.get('Name'), None) for r in _records(res['user_licenses'])],
            'permission_set_licenses': [_licence(r, r.get('MasterLabel'), r.get('DeveloperName')) for r in _records(res['psl'])],
        }
    if 'users' in gather:
        org['users'] = [_user(r) for r in _records(res['users'])]
    if 'permission_sets' in gather:
        org['permission_sets'] = _permission_sets(client, params, res)
    if 'connected_apps' in gather:
        org['connected_apps'] = _connected_apps(params, res)
    if 'assignees' in gather:
        org['assignees'] = _assignees(params, res)
    return org, validation


def _licence(row, name, developer_name):
    total, used = row.get('TotalLicenses'), row.get('UsedLicenses')
    out = {'id': row['Id'], 'name': name, 'status': row.get('Status'), 'total': total, 'used': used,
           'available': (total - used) if total is not None and used is not None else None}
    if developer_name is not None:
        out['developer_name'] = developer_name
    return out


def _user(row):
    assignments = _records(row.get('PermissionSetAssignments'))
    return {'id': row['Id'], 'username': row.get('Username'), 'name': row.get('Name'), 'email': row.get('Email'),
            'is_active': row.get('IsActive'), 'user_type': row.get('UserType'), 'profile': _name(row, 'Profile'),
            'last_login': row.get('LastLoginDate'), 'created': row.get('CreatedDate'),
            'permission_sets': sorted(_name(a, 'PermissionSet') for a in assignments if not (a.get('PermissionSet') or {}).get('IsOwnedByProfile'))}


def _permission_sets(client, params, res):
    rows = _records(res['permission_sets'])
    perm_fields = sorted(f['name'] for f in res['ps_describe'].get('fields') or []
                         if f.get('name', '').startswith(PREFIX) and f.get('type') == 'boolean')
    enabled = dict((r['Id'], []) for r in rows)
    if rows and perm_fields:
        subs = []
        for index in range(0, len(perm_fields), PERM_SLICE):
            subs.append(client.sub_query('perms%d' % index, 'SELECT Id, %s FROM PermissionSet%s'
                                         % (', '.join(perm_fields[index:index + PERM_SLICE]), _ps_where(params))))
        for body in client.composite(subs).values():
            for rec in _records(body):
                enabled.setdefault(rec['Id'], []).extend(strip_prefix(k) for k, v in rec.items() if k.startswith(PREFIX) and v is True)
    out = []
    for row in rows:
        out.append({
            'id': row['Id'], 'name': row['Name'], 'label': row.get('Label'), 'description': row.get('Description'),
            'license_id': row.get('LicenseId'), 'system_permissions': sorted(enabled.get(row['Id'], [])),
            'object_permissions': dict((r['SobjectType'], object_row_flags(r)) for r in _records(row.get('ObjectPerms'))),
            'field_permissions': dict((r['Field'], field_level(r)) for r in _records(row.get('FieldPerms'))),
            'assignments': sorted(_name(a, 'Assignee', 'Username') or a.get('AssigneeId') for a in _records(row.get('Assignments'))),
        })
    return out


def _connected_apps(params, res):
    apps = {}
    by_id = {}

    def entry(name, row):
        return {'name': name, 'id': row.get('Id'), 'installed': bool(row), 'admin_approved_users_only': row.get('OptionsAllowAdminApprovedUsersOnly'),
                'refresh_token_validity_period': row.get('RefreshTokenValidityPeriod'),
                'refresh_token_validity_by_inactivity': row.get('OptionsRefreshTokenValidityMetric'),
                'oauth_users': [], 'oauth_use_count': 0, 'oauth_tokens': [], 'permission_sets': [], 'profiles': []}
    for row in _records(res['apps']):
        apps[row['Name']] = by_id[row['Id']] = entry(row['Name'], row)
    for tok in _records(res['tokens']):
        name = tok.get('AppName')
        # Used but not installed: the app only shows up through the OAuth tokens of its users.
        app = apps.setdefault(name, entry(name, {}))
        user = _name(tok, 'User', 'Username') or tok.get('UserId')
        if user not in app['oauth_users']:
            app['oauth_users'].append(user)
        app['oauth_use_count'] += tok.get('UseCount') or 0
        app['oauth_tokens'].append({'id': tok['Id'], 'user': user, 'user_id': tok.get('UserId'), 'use_count': tok.get('UseCount'),
                                    'last_used': tok.get('LastUsedDate'), 'created': tok.get('CreatedDate')})
    for acc in _records(res['access']):
        app = by_id.get(acc.get('SetupEntityId'))
        if app is None:
            continue
        parent = acc.get('Parent') or {}
        if parent.get('IsOwnedByProfile'):
            # A profile's own permission set has a generated name: the profile's name says who has access.
            app['profiles'].append(_name(parent, 'Profile') or parent.get('Name') or acc.get('ParentId'))
        else:
            app['permission_sets'].append(parent.get('Name') or acc.get('ParentId'))
    wanted = params.get('connected_app_names')
    out = [apps[k] for k in sorted(apps, key=str) if not wanted or k in wanted]
    for app in out:
        for key in ('oauth_users', 'permission_sets', 'profiles'):
            app[key].sort(key=str)
        app['oauth_tokens'].sort(key=lambda t: (str(t['user']).lower(), t['id']))
    return out


def _assignees(params, res):
    """{permission set name: [{username, user_id, is_active}]}, every set of permission_set_names listed (held or not)."""
    out = dict((name, []) for name in params.get('permission_set_names') or [])
    for row in _records(res['assignees']):
        name = _name(row, 'PermissionSet')
        out.setdefault(name, []).append({'username': _name(row, 'Assignee', 'Username'), 'user_id': row.get('AssigneeId'),
                                         'is_active': (row.get('Assignee') or {}).get('IsActive')})
    for holders in out.values():
        holders.sort(key=lambda h: str(h['username']).lower())
    return out


BUDGET_STEP = 'checking the daily API budget'


def check_budget(org, minimum):
    """Stop a playbook that is about to spend API requests the org no longer has (``min_api_requests_remaining``)."""
    if minimum is None:
        return
    remaining = org['limits']['daily_api_requests']['remaining']
    if remaining is not None and remaining < minimum:
        raise InputError('Only %s daily API requests remain in this org, fewer than min_api_requests_remaining (%s): '
                         'stopping before any write.' % (remaining, minimum),
                         hint='Run again when the rolling 24-hour window has freed requests (Setup > Company '
                              'Information shows the use), or lower min_api_requests_remaining.')


def check_options(params):
    if params.get('min_api_requests_remaining') is not None and 'limits' not in (params.get('gather') or DEFAULT_GATHER):
        raise InputError('min_api_requests_remaining needs the limits: add limits to gather.')


def run(task):
    """sf_org_info: read what was asked for, check the desired names and the API budget; never writes."""
    task.step = READ_STEP
    org, validation = gather_and_validate(task.client, task.params, task)
    task.step = BUDGET_STEP
    check_budget(org, task.params.get('min_api_requests_remaining'))
    result = dict(changed=False, org=org)
    if validation is not None:
        result['validation'] = validation
    return result


SPEC = ModuleSpec(
    'sf_org_info',
    argument_spec=dict(
        gather=dict(type='list', elements='str', choices=list(GATHER), default=list(DEFAULT_GATHER)),
        usernames=dict(type='list', elements='str'),
        permission_set_names=dict(type='list', elements='str'),
        connected_app_names=dict(type='list', elements='str'),
        validate_system_permissions=dict(type='list', elements='str'),
        validate_objects=dict(type='list', elements='dict', options=object_entry_options()),
        min_api_requests_remaining=dict(type='int'),
    ),
    check=check_options,
    run=run,
)

# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sf_permission_set: read (one composite), plan, write.

FOR INTERNAL COLLECTION USE ONLY: the interface may change in any release.

Request budget on a converged org: one composite carrying the PermissionSet query (with its Assignments), the
licence look-ups, the PermissionSet describe (only when system permissions are managed) and the full record
(``GET sobjects/PermissionSet/@{ps.records[0].Id}``, which returns every Permissions* field without a 400-field
SOQL).  If the composite reference is not honoured the record is fetched with one more GET.
"""

import re

from .client import soql_quote
from .module import ModuleSpec
from .errors import InputError, SalesforceError
from .permissions import PREFIX, check_system_permissions, strip_prefix
from .planning import did_you_mean

NAME_RE = re.compile(r'^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*$')
PS_FIELDS = 'Id, Name, Label, Description, LicenseId, IsOwnedByProfile'


def validate_name(name):
    """PermissionSet.Name rules (Object Reference): letters, digits, single underscores, starts with a letter."""
    if not name or len(name) > 80 or not NAME_RE.match(name) or name.endswith('_'):
        raise InputError('name %r is not a valid permission set API name.' % name,
                         hint='Use up to 80 letters, digits and single underscores, starting with a letter and not ending with '
                              '"_" (for example Integration_API_Access); put free text in label.')


class PermissionSetState(object):
    """What one composite read tells about a permission set."""

    def __init__(self, client, name, want_describe):
        self.client = client
        subs = [
            client.sub_query('ps', 'SELECT %s, (SELECT Id, AssigneeId FROM Assignments) FROM PermissionSet WHERE Name = %s'
                             % (PS_FIELDS, soql_quote(name))),
            client.sub_query('psl', 'SELECT Id, MasterLabel, DeveloperName FROM PermissionSetLicense'),
            client.sub_query('ul', 'SELECT Id, Name FROM UserLicense'),
            client.sub_get('record', 'sobjects/PermissionSet/@{ps.records[0].Id}'),
        ]
        if want_describe and client.cached_describe('PermissionSet') is None:
            subs.insert(0, client.sub_describe('describe', 'PermissionSet'))
        res = client.composite(subs, allow_errors=True)
        for ref in ('ps', 'psl', 'ul', 'describe'):
            if isinstance(res.get(ref), SalesforceError):
                raise res[ref]
        if 'describe' in res:
            client.remember_describe('PermissionSet', res['describe'])
        self.describe = client.cached_describe('PermissionSet') if want_describe else None
        rows = res['ps'].get('records') or []
        self.row = rows[0] if rows else None
        self.licenses = {}  # Id -> display name
        self.license_index = {}  # lower-case name -> Id
        for lic in res['psl'].get('records') or []:
            self.licenses[lic['Id']] = lic.get('MasterLabel') or lic.get('DeveloperName')
            for key in (lic.get('MasterLabel'), lic.get('DeveloperName')):
                if key:
                    self.license_index.setdefault(key.lower(), lic['Id'])
        for lic in res['ul'].get('records') or []:
            self.licenses[lic['Id']] = lic.get('Name')
            if lic.get('Name'):
                self.license_index.setdefault(lic['Name'].lower(), lic['Id'])
        self.record = None
        if self.row is not None:
            record = res.get('record')
            if isinstance(record, SalesforceError) or not isinstance(record, dict):
                # The composite reference was not honoured: one plain GET instead.
                record = client.get('sobjects/PermissionSet/%s' % self.row['Id'])
            self.record = record

    @property
    def exists(self):
        return self.row is not None

    @property
    def assignment_ids(self):
        sub = (self.row or {}).get('Assignments') or {}
        return [a['Id'] for a in sub.get('records') or []]

    def enabled_permissions(self):
        return sorted(strip_prefix(k) for k, v in (self.record or {}).items() if k.startswith(PREFIX) and v is True)

    def license_id(self, license_name):
        if not license_name:
            return None
        found = self.license_index.get(license_name.strip().lower())
        if found is None:
            names = sorted(set(n for n in self.licenses.values() if n))
            raise InputError('license %r matches no PermissionSetLicense (MasterLabel or DeveloperName) or UserLicense (Name) in this org.%s'
                             % (license_name, did_you_mean(license_name, names)),
                             hint='Use one of: %s.' % ', '.join(names))
        return found

    def view(self):
        """Public (after-state) view of the existing set."""
        if not self.exists:
            return None
        row = self.row
        return {
            'id': row['Id'], 'name': row['Name'], 'label': row.get('Label'), 'description': row.get('Description'),
            'license_id': row.get('LicenseId'), 'license': self.licenses.get(row.get('LicenseId')),
            'system_permissions': self.enabled_permissions(), 'assignments': len(self.assignment_ids),
        }


def run(module):
    """Module body of sf_permission_set; returns the result dict."""
    p = module.params
    client = module.client
    validate_name(p['name'])
    manage_perms = p['system_permissions'] is not None or p['purge_system_permissions']
    module.step = 'reading permission set %s' % p['name']
    state = PermissionSetState(client, p['name'], want_describe=manage_perms and p['state'] == 'present')
    before = state.view()
    result = dict(changed=False, added_permissions=[], removed_permissions=[], implied_permissions=[])
    if state.exists and state.row.get('IsOwnedByProfile'):
        raise InputError('Permission set %s is owned by a profile; Salesforce does not let the API modify it.' % p['name'],
                         hint='Manage the profile instead, or put the permissions in a separate permission set.')

    if p['state'] == 'absent':
        return _absent(module, state, before, result)

    # Resolve everything before the first write, so bad input never leaves a half-applied change.
    catalog, needed, implied = None, [], []
    if manage_perms:
        catalog, _requested, needed, implied = check_system_permissions(state.describe, client.api_version, p['system_permissions'])
    license_id = state.license_id(p['license'])
    current = set(state.enabled_permissions())
    to_add = sorted(set(needed) - current)
    # Only updateable permissions can be purged; read-only ones (derived by Salesforce) are left alone.
    to_remove = sorted(s for s in current - set(needed) if s in catalog.updateable) if p['purge_system_permissions'] else []
    result.update(added_permissions=to_add, removed_permissions=to_remove, implied_permissions=implied)

    desired = {'label': p['label'] if p['label'] is not None else (before or {}).get('label') or p['name']}
    if p['description'] is not None:
        desired['description'] = p['description'] or None  # '' clears it; Salesforce stores null
    fields = {}
    if state.exists:
        if license_id is not None and license_id != state.row.get('LicenseId'):
            raise InputError('Permission set %s has license %s; LicenseId can only be set when a permission set is created.'
                             % (p['name'], before['license'] or 'none'),
                             hint='Remove the license option to keep the current one, or delete the set (state=absent, '
                                  'remove_assignments=true) and create it again with the new license.')
        for key, api in (('label', 'Label'), ('description', 'Description')):
            if key in desired and desired[key] != before.get(key):
                fields[api] = desired[key]
    else:
        fields = {'Name': p['name'], 'Label': desired['label']}
        if desired.get('description'):
            fields['Description'] = desired['description']
        if license_id:
            fields['LicenseId'] = license_id
    for short in to_add:
        fields[PREFIX + short] = True
    for short in to_remove:
        fields[PREFIX + short] = False

    after = _after(before, p, desired, license_id, state, current, to_add, to_remove)
    result['permission_set'] = after
    if not state.exists or fields:
        result['changed'] = True
        if module.diff_mode:
            result['diff'] = _diff(before, after)
        if not module.check_mode:
            if state.exists:
                module.step = 'updating permission set %s' % p['name']
                client.update('PermissionSet', state.row['Id'], fields)
            else:
                module.step = 'creating permission set %s' % p['name']
                after['id'] = client.create('PermissionSet', fields)
    return result


def _after(before, p, desired, license_id, state, current, to_add, to_remove):
    new = {'id': None, 'name': p['name'], 'license_id': license_id, 'license': state.licenses.get(license_id), 'assignments': 0, 'description': None}
    after = dict(before or new)
    after['label'] = desired['label']
    if 'description' in desired:
        after['description'] = desired['description']
    after['system_permissions'] = sorted((current | set(to_add)) - set(to_remove))
    return after


def _diff(before, after):
    """Only what changes: scalar keys that differ, and system permissions as {name: bool} for the flipped ones."""
    if before is None:
        return {'before': {'state': 'absent'}, 'after': dict(after, state='present')}
    b, a = {}, {}
    for key in ('label', 'description'):
        if before.get(key) != after.get(key):
            b[key], a[key] = before.get(key), after.get(key)
    old, new = set(before['system_permissions']), set(after['system_permissions'])
    flipped = sorted(old ^ new)
    if flipped:
        b['system_permissions'] = dict((n, n in old) for n in flipped)
        a['system_permissions'] = dict((n, n in new) for n in flipped)
    return {'before': b, 'after': a}


def _absent(module, state, before, result):
    p = module.params
    result['permission_set'] = None
    if not state.exists:
        return result
    assignments = state.assignment_ids
    if assignments and not p['remove_assignments']:
        raise InputError('Permission set %s is assigned to %d user(s); Salesforce refuses to delete an assigned permission set.'
                         % (p['name'], len(assignments)),
                         hint='Set remove_assignments=true to delete the assignments first, or unassign it with '
                              'sfops.salesforce.sf_permission_set_assignment.')
    result['changed'] = True
    result['removed_assignments'] = len(assignments)
    if module.diff_mode:
        result['diff'] = {'before': dict(before, state='present'), 'after': {'state': 'absent'}}
    if not module.check_mode:
        if assignments:
            module.step = 'deleting %d assignment(s) of permission set %s' % (len(assignments), p['name'])
            module.client.collections_delete(assignments)
        module.step = 'deleting permission set %s' % p['name']
        module.client.delete('PermissionSet', state.row['Id'])
    return result


SPEC = ModuleSpec(
    'sf_permission_set',
    argument_spec=dict(
        name=dict(type='str', required=True),
        label=dict(type='str'),
        description=dict(type='str'),
        license=dict(type='str'),
        system_permissions=dict(type='list', elements='str'),
        purge_system_permissions=dict(type='bool', default=False),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        remove_assignments=dict(type='bool', default=False),
    ),
    run=run,
)

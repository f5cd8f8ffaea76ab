# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sf_permission_set: a permission set and its system permissions (the module's code, on the pipeline).

FOR INTERNAL COLLECTION USE ONLY: the interface may change in any release.

Request budget on a converged org: one composite carrying the PermissionSet query (with its Assignments), the
licence look-ups, the PermissionSet describe (only when system permissions are managed), the users named in
``assignees`` (only when given) and the full record (``GET sobjects/PermissionSet/@{ps.records[0].Id}``, which returns
every Permissions* field without a 400-field SOQL).  If the composite reference is not honoured the record is fetched
with one more GET.  Assignees are PermissionSetAssignment rows, written with sObject Collections after the set itself.
"""

import re

from .client import soql_in, soql_quote
from .errors import InputError, SalesforceError
from .permissions import PREFIX, check_system_permissions, strip_prefix
from .planning import did_you_mean
from ._pipeline import Plan, Resource

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

    def __init__(self, client, name, want_describe, usernames=None):
        self.client = client
        subs = [
            client.sub_query('ps', 'SELECT %s, (SELECT Id, AssigneeId, Assignee.Username FROM Assignments) FROM PermissionSet '
                                   'WHERE Name = %s' % (PS_FIELDS, soql_quote(name))),
            client.sub_query('psl', 'SELECT Id, MasterLabel, DeveloperName FROM PermissionSetLicense'),
            client.sub_query('ul', 'SELECT Id, Name FROM UserLicense'),
            client.sub_get('record', 'sobjects/PermissionSet/@{ps.records[0].Id}'),
        ]
        if want_describe and client.cached_describe('PermissionSet') is None:
            subs.insert(0, client.sub_describe('describe', 'PermissionSet'))
        if usernames:
            subs.append(client.sub_query('users', 'SELECT Id, Username FROM User WHERE Username IN %s' % soql_in(sorted(set(usernames)))))
        res = client.composite(subs, allow_errors=True)
        for ref in ('ps', 'psl', 'ul', 'describe', 'users'):
            if isinstance(res.get(ref), SalesforceError):
                raise res[ref]
        if 'describe' in res:
            client.remember_describe('PermissionSet', res['describe'])
        self.describe = client.cached_describe('PermissionSet') if want_describe else None
        # lower-case username -> (username as the org spells it, user id): the users assignees names
        self.users = dict((u['Username'].lower(), (u['Username'], u['Id'])) for u in (res.get('users') or {}).get('records') or [])
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
        return [a['Id'] for a in self._assignments()]

    @property
    def assignees(self):
        """{username: PermissionSetAssignment id} of the users who hold the set."""
        return dict(((a.get('Assignee') or {}).get('Username') or a['AssigneeId'], a['Id']) for a in self._assignments())

    def _assignments(self):
        sub = (self.row or {}).get('Assignments') or {}
        return sub.get('records') or []

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
            'assignees': sorted(self.assignees, key=str.lower),
        }


class PermissionSet(Resource):
    RESULT_KEY = 'permission_set'
    LISTS = ('system_permissions', 'assignees')
    NOUN = 'permission set'

    def conflict_error(self, error):
        """A create refused as a duplicate although this org has no set of that name: the label is another set's."""
        codes = [error.error_code] + [r.get('error_code') for r in error.records]
        if 'DUPLICATE_MASTER_LABEL' not in codes:
            return error
        taken = SalesforceError(error.status, 'DUPLICATE_MASTER_LABEL', 'Another permission set of this org already has '
                                'the label "%s".' % (self.params['label'] or self.params['name']), fields=['Label'])
        taken.hint = 'Give this permission set a label no other one uses (label option), or rename the other set.'
        return taken

    def read(self):
        p = self.params
        validate_name(p['name'])
        want_describe = p['system_permissions'] is not None and p['state'] == 'present'
        state = PermissionSetState(self.client, p['name'], want_describe=want_describe,
                                   usernames=p['assignees'] if p['state'] == 'present' else None)
        if state.exists and state.row.get('IsOwnedByProfile'):
            raise InputError('Permission set %s is owned by a profile; Salesforce does not let the API modify it.' % p['name'],
                             hint='Manage the profile instead, or put the permissions in a separate permission set.')
        return state

    def plan(self, current):
        p, state = self.params, current
        before = state.view()
        plan = Plan(self, after=before)
        plan.extra['implied_permissions'] = []
        if p['state'] == 'absent':
            return self._plan_absent(plan, state, before)
        # Resolve everything before the first write, so bad input never leaves a half-applied change.
        needed = None
        current = state.enabled_permissions()
        if p['system_permissions'] is not None:
            catalog, _requested, needed, implied = check_system_permissions(state.describe, self.client.api_version,
                                                                            p['system_permissions'])
            plan.extra['implied_permissions'] = implied
            # Only updateable permissions can be purged: read-only ones (derived by Salesforce) stay as they are.
            needed = sorted(set(needed) | set(s for s in current if s not in catalog.updateable))
        license_id = state.license_id(p['license'])
        to_add, to_remove = plan.reconcile('system_permissions', current, needed, p['purge_system_permissions'])
        assign, unassign = self._plan_assignees(plan, state)
        label = p['label'] if p['label'] is not None else (before or {}).get('label') or p['name']
        # '' clears the description; Salesforce stores null.
        description = (p['description'] or None) if p['description'] is not None else (before or {}).get('description')
        fields = dict((PREFIX + s, True) for s in to_add)
        fields.update((PREFIX + s, False) for s in to_remove)
        if not state.exists:
            after = {'id': None, 'name': p['name'], 'label': label, 'description': description, 'license_id': license_id,
                     'license': state.licenses.get(license_id), 'assignments': len(assign), 'system_permissions': sorted(to_add),
                     'assignees': plan.added['assignees']}
            plan.create(after)
            fields.update({'Name': p['name'], 'Label': label})
            fields.update(dict(Description=description) if description else {})
            fields.update(dict(LicenseId=license_id) if license_id else {})
        else:
            if license_id is not None and license_id != state.row.get('LicenseId'):
                raise InputError('Permission set %s has license %s; LicenseId can only be set when a permission set is created.'
                                 % (p['name'], before['license'] or 'none'),
                                 hint='Remove the license option to keep the current one, or delete the set (state=absent, '
                                      'remove_assignments=true) and create it again with the new license.')
            for key, api, value in (('label', 'Label', label), ('description', 'Description', description)):
                if plan.set(key, before.get(key), value):
                    fields[api] = value
            assignees = sorted((set(before['assignees']) | set(plan.added['assignees'])) - set(plan.removed['assignees']),
                               key=str.lower)
            plan.state = dict(before, label=label, description=description, assignees=assignees, assignments=len(assignees),
                              system_permissions=sorted((set(current) | set(to_add)) - set(to_remove)))
        plan.writes = {'id': state.row and state.row['Id'], 'fields': fields, 'assign': assign, 'unassign': unassign}
        return plan

    def _plan_assignees(self, plan, state):
        """(user ids to assign, assignment ids to delete) for the assignees option and the purge rule."""
        p = self.params
        wanted = None
        if p['assignees'] is not None:
            unknown = sorted(n for n in p['assignees'] if n.lower() not in state.users)
            if unknown and not self.task.check_mode:
                raise InputError('No user with username %s in this org.' % ', '.join(unknown),
                                 hint='Create the user first (sfops.salesforce.sf_user) or check the username (the login '
                                      'name, not the e-mail).')
            if unknown:
                # As in sf_permission_set_assignment: an earlier task of the same check run would create the user.
                plan.warnings.append('Not in the org yet: user(s) %s. Check mode reports them as assignees to add; a real run '
                                     'fails if they are still missing.' % ', '.join(unknown))
            wanted = [state.users.get(n.lower(), (n, None))[0] for n in p['assignees']]
        current = state.assignees
        # Usernames compare case-insensitively: the org's spelling is the one reported.
        by_lower = dict((n.lower(), n) for n in current)
        to_add, to_remove = plan.reconcile('assignees', current, [by_lower.get(n.lower(), n) for n in wanted or []]
                                           if wanted is not None else None, p['purge_assignees'])
        users = dict(state.users.values())
        return [users.get(n) for n in to_add], [current[n] for n in to_remove]

    def _plan_absent(self, plan, state, before):
        p = self.params
        plan.state = None
        if not state.exists:
            return plan
        assignments = state.assignment_ids
        if assignments and not p['remove_assignments']:
            raise InputError('Permission set %s is assigned to %d user(s); Salesforce refuses to delete an assigned permission set.'
                             % (p['name'], len(assignments)),
                             hint='Set remove_assignments=true to delete the assignments first, or unassign it with '
                                  'sfops.salesforce.sf_permission_set_assignment.')
        plan.delete(before)
        plan.extra['removed_assignments'] = len(assignments)
        plan.writes = {'id': state.row['Id'], 'assignments': assignments}
        return plan

    def apply(self, plan):
        p, client, writes = self.params, self.client, plan.writes
        if plan.action == 'delete':
            if writes['assignments']:
                self.step('deleting %d assignment(s) of permission set %s' % (len(writes['assignments']), p['name']))
                client.collections_delete(writes['assignments'])
                plan.applied['removed_assignments'] = len(writes['assignments'])
            self.step('deleting permission set %s' % p['name'])
            client.delete('PermissionSet', writes['id'])
            return None
        ps_id = writes['id']
        if plan.action == 'create':
            self.step('creating permission set %s' % p['name'])
            ps_id = client.create('PermissionSet', writes['fields'])
            plan.applied['permission_set'] = 'created'
        elif writes['fields']:
            self.step('updating permission set %s' % p['name'])
            client.update('PermissionSet', ps_id, writes['fields'])
            plan.applied['permission_set'] = 'updated'
        # Grants before revocations, as sf_permission_set_assignment does.
        if writes['assign']:
            self.step('assigning permission set %s to %s' % (p['name'], ', '.join(plan.added['assignees'])))
            client.collections_create([{'attributes': {'type': 'PermissionSetAssignment'}, 'AssigneeId': user_id,
                                        'PermissionSetId': ps_id} for user_id in writes['assign']])
            plan.applied['added'] = {'assignees': plan.added['assignees']}
        if writes['unassign']:
            self.step('removing permission set %s from %s' % (p['name'], ', '.join(plan.removed['assignees'])))
            client.collections_delete(writes['unassign'])
            plan.applied['removed'] = {'assignees': plan.removed['assignees']}
        return dict(plan.state, id=ps_id) if plan.action == 'create' else None


SPEC = PermissionSet.spec(
    name='sf_permission_set',
    argument_spec=dict(
        name=dict(type='str', required=True),
        label=dict(type='str'),
        description=dict(type='str'),
        license=dict(type='str'),
        system_permissions=dict(type='list', elements='str'),
        purge_system_permissions=dict(type='bool', default=False),
        assignees=dict(type='list', elements='str'),
        purge_assignees=dict(type='bool', default=False),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        remove_assignments=dict(type='bool', default=False),
    ),
)

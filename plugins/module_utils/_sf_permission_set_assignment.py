# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sf_permission_set_assignment: a user's permission set and permission set group assignments (the module's code).

FOR INTERNAL COLLECTION USE ONLY: the interface may change in any release.

Read: one composite (the user, its assignments by reference, the named permission sets and groups).  Write: one
sObject Collections create and one delete; grants before revocations, so a swap never leaves the user with less
access than either end state.
"""

from .client import soql_quote
from .composite import records_of, ref_query
from .errors import InputError, SalesforceError
from .planning import did_you_mean
from ._pipeline import Plan, Resource

# list option -> (composite reference, name field, PermissionSetAssignment id field, label in messages)
KINDS = (
    ('permission_sets', 'ps', 'Name', 'PermissionSetId', 'permission set'),
    ('permission_set_groups', 'psg', 'DeveloperName', 'PermissionSetGroupId', 'permission set group'),
)


class Assignments(Resource):
    RESULT_KEY = 'assignments'
    LISTS = ('permission_sets', 'permission_set_groups')

    def describe(self):
        return 'the assignments of %s' % self.params['user']

    def read(self):
        p, client = self.params, self.client
        subs = [client.sub_query('user', 'SELECT Id, Username, IsActive FROM User WHERE Username = %s' % soql_quote(p['user'])),
                # Profile-owned permission sets also appear as assignments; they belong to the profile, never to us.
                ref_query(client, 'psa',
                          'SELECT Id, PermissionSetId, PermissionSet.Name, PermissionSetGroupId, PermissionSetGroup.DeveloperName '
                          "FROM PermissionSetAssignment WHERE AssigneeId = '@{user.records[0].Id}' "
                          'AND PermissionSet.IsOwnedByProfile = false')]
        if p.get('permission_sets'):
            subs.append(client.sub_query('ps', 'SELECT Id, Name FROM PermissionSet WHERE IsOwnedByProfile = false'))
        if p.get('permission_set_groups'):
            subs.append(client.sub_query('psg', 'SELECT Id, DeveloperName FROM PermissionSetGroup'))
        answer = client.composite(subs, allow_errors=True)
        for ref in ('user', 'ps', 'psg'):
            if isinstance(answer.get(ref), SalesforceError):
                raise answer[ref]
        users = records_of(answer, 'user')
        if users and isinstance(answer.get('psa'), SalesforceError):
            raise answer['psa']
        rows = records_of(answer, 'psa') if users else []
        return {
            'user': users[0] if users else None,
            # list option -> {name: assignment id}
            'permission_sets': dict((r['PermissionSet']['Name'], r['Id']) for r in rows if not r.get('PermissionSetGroupId')),
            'permission_set_groups': dict((r['PermissionSetGroup']['DeveloperName'], r['Id']) for r in rows
                                          if r.get('PermissionSetGroupId') and r.get('PermissionSetGroup')),
            # list option -> {name: id} of what can be assigned
            'known': dict((opt, dict((r[name_field], r['Id']) for r in records_of(answer, ref)))
                          for opt, ref, name_field, _i, _l in KINDS),
        }

    def plan(self, current):
        p = self.params
        plan = Plan(self)
        # In check mode a user or permission set that does not exist yet is reported as to be assigned, with a
        # warning: an earlier task of the same check run would have created it. A real run refuses it here.
        not_yet = []
        if current['user'] is None and p['state'] == 'present':
            if not self.task.check_mode:
                raise InputError('No user with username %s in this org.' % p['user'],
                                 hint='Create it first (sfops.salesforce.sf_user) or check the username (it is the login name, '
                                      'not the e-mail).')
            not_yet.append('user %s' % p['user'])
        creates, delete_ids = [], []
        after = {}
        for opt, _ref, _name_field, id_field, label in KINDS:
            wanted, have, known = p.get(opt), current[opt], current['known'][opt]
            # Removing what the org does not have is already done (a second offboarding run must not fail).
            unknown = sorted(n for n in (wanted or []) if n not in known) if p['state'] == 'present' else []
            if unknown:
                guess = did_you_mean(unknown[0], known)
                if not self.task.check_mode:
                    raise InputError('Unknown %s(s): %s.%s' % (label, ', '.join(unknown), guess),
                                     hint='Use the API name (Name / DeveloperName); profile-owned permission sets cannot be assigned.')
                not_yet.append('%s(s) %s%s' % (label, ', '.join(unknown), ' (%s)' % guess.strip() if guess else ''))
            if p['state'] == 'absent':
                to_add, to_remove = [], sorted(set(wanted or []) & set(have))
                plan.list_change(opt, removed=to_remove)
            else:
                to_add, to_remove = plan.reconcile(opt, have, wanted, p['purge_' + opt])
            after[opt] = sorted((set(have) | set(to_add)) - set(to_remove))
            assignee = (current['user'] or {}).get('Id')  # None only in check mode, which writes nothing
            creates.extend({'attributes': {'type': 'PermissionSetAssignment'}, 'AssigneeId': assignee, id_field: known.get(n)}
                           for n in to_add)
            delete_ids.extend(have[n] for n in to_remove)
        if not_yet:
            plan.warnings.append('Not in the org yet: %s. Check mode reports the assignments as to be added (an earlier task '
                                 'of this run creates them); a real run fails if they are still missing.' % '; '.join(not_yet))
        plan.state = after
        plan.writes = {'create': creates, 'delete': delete_ids}
        return plan

    def apply(self, plan):
        self.step('writing %s' % self.describe())
        if plan.writes['create']:
            self.client.collections_create(plan.writes['create'])
            plan.applied['added'] = plan.added
        if plan.writes['delete']:
            self.client.collections_delete(plan.writes['delete'])
            plan.applied['removed'] = plan.removed


SPEC = Assignments.spec(
    name='sf_permission_set_assignment',
    argument_spec=dict(
        user=dict(type='str', required=True),
        permission_sets=dict(type='list', elements='str'),
        permission_set_groups=dict(type='list', elements='str'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        purge_permission_sets=dict(type='bool', default=False),
        purge_permission_set_groups=dict(type='bool', default=False),
    ),
    required_one_of=[('permission_sets', 'permission_set_groups')],
)

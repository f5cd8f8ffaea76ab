# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sf_permission_set_assignment: reconcile a user's permission set and permission set group assignments.

FOR INTERNAL COLLECTION USE ONLY: the interface may change in any release.
"""

from .client import soql_quote
from .errors import InputError, SalesforceError
from .module import ModuleSpec
from .planning import did_you_mean
from .users import records_of, ref_query


def run(module):
    """sf_permission_set_assignment: reconcile a user's permission set (group) assignments; returns the result."""
    p, client = module.params, module.client
    module.step = 'reading the assignments of %s' % p['user']
    subs = [client.sub_query('user', 'SELECT Id, Username, IsActive FROM User WHERE Username = %s' % soql_quote(p['user'])),
            # Profile-owned permission sets also appear as assignments; they belong to the profile, never to us.
            ref_query(client, 'psa',
                      'SELECT Id, PermissionSetId, PermissionSet.Name, PermissionSetGroupId, PermissionSetGroup.DeveloperName '
                      "FROM PermissionSetAssignment WHERE AssigneeId = '@{user.records[0].Id}' AND PermissionSet.IsOwnedByProfile = false")]
    if p.get('permission_sets'):
        subs.append(client.sub_query('ps', 'SELECT Id, Name FROM PermissionSet WHERE IsOwnedByProfile = false'))
    if p.get('permission_set_groups'):
        subs.append(client.sub_query('psg', 'SELECT Id, DeveloperName FROM PermissionSetGroup'))
    answer = client.composite(subs, allow_errors=True)
    for ref in ('user', 'ps', 'psg'):
        if isinstance(answer.get(ref), SalesforceError):
            raise answer[ref]
    users = records_of(answer, 'user')
    # In check mode a user or permission set that does not exist yet is reported as to be assigned, with a warning
    # (an earlier task of the same check run would have created it, as sf_object_permission does for a missing
    # permission set); a real run refuses it before any write.
    not_yet = []
    if not users:
        if not module.check_mode:
            raise InputError('No user with username %s in this org.' % p['user'],
                             hint='Create it first (sfops.salesforce.sf_user) or check the username (it is the login name, not the e-mail).')
        not_yet.append('user %s' % p['user'])
        rows = []
    else:
        if isinstance(answer.get('psa'), SalesforceError):
            raise answer['psa']
        rows = records_of(answer, 'psa')
    kinds = (('permission_sets', 'ps', 'Name', 'PermissionSetId'), ('permission_set_groups', 'psg', 'DeveloperName', 'PermissionSetGroupId'))
    current = {
        'permission_sets': dict((r['PermissionSet']['Name'], r['Id']) for r in rows if not r.get('PermissionSetGroupId')),
        'permission_set_groups': dict((r['PermissionSetGroup']['DeveloperName'], r['Id']) for r in rows
                                      if r.get('PermissionSetGroupId') and r.get('PermissionSetGroup')),
    }
    creates, delete_ids = [], []
    added, removed, after = {}, {}, {}
    for opt, ref, name_field, id_field in kinds:
        wanted = p.get(opt)
        known = dict((r[name_field], r['Id']) for r in records_of(answer, ref))
        unknown = [n for n in (wanted or []) if n not in known]
        if unknown:
            label = 'permission set' if opt == 'permission_sets' else 'permission set group'
            if not module.check_mode:
                raise InputError('Unknown %s(s): %s.%s' % (label, ', '.join(sorted(unknown)), did_you_mean(unknown[0], known)),
                                 hint='Use the API name (Name / DeveloperName); profile-owned permission sets cannot be assigned.')
            guess = did_you_mean(unknown[0], known).strip()
            not_yet.append('%s(s) %s%s' % (label, ', '.join(sorted(unknown)), ' (%s)' % guess if guess else ''))
            known.update((n, None) for n in unknown)
        if p['state'] == 'absent':
            to_add, to_remove = [], sorted(set(wanted or []) & set(current[opt]))
        else:
            to_add = sorted(set(wanted or []) - set(current[opt])) if wanted is not None else []
            to_remove = sorted(set(current[opt]) - set(wanted)) if wanted is not None and p.get('purge') else []
        added[opt], removed[opt] = to_add, to_remove
        after[opt] = sorted((set(current[opt]) | set(to_add)) - set(to_remove))
        assignee = users[0]['Id'] if users else None  # None only in check mode, which writes nothing
        creates.extend({'attributes': {'type': 'PermissionSetAssignment'}, 'AssigneeId': assignee, id_field: known[n]} for n in to_add)
        delete_ids.extend(current[opt][n] for n in to_remove)
    if not_yet:
        module.warn('Not in the org yet: %s. Check mode reports the assignments as to be added (an earlier task of this '
                    'run creates them); a real run fails if they are still missing.' % '; '.join(not_yet))
    changed = bool(creates or delete_ids)
    result = {'changed': changed, 'assignments': after, 'added': added, 'removed': removed}
    if changed and module.diff_mode:
        keys = [opt for opt, _r, _n, _i in kinds if added[opt] or removed[opt]]
        result['diff'] = {'before': dict((k, sorted(current[k])) for k in keys), 'after': dict((k, after[k]) for k in keys)}
    if changed and not module.check_mode:
        module.step = 'writing the assignments of %s' % p['user']
        # Grant before revoke, so a swap never leaves the user with less access than either end state.
        if creates:
            client.collections_create(creates)
        if delete_ids:
            client.collections_delete(delete_ids)
    return result


SPEC = ModuleSpec(
    'sf_permission_set_assignment',
    argument_spec=dict(
        user=dict(type='str', required=True),
        permission_sets=dict(type='list', elements='str'),
        permission_set_groups=dict(type='list', elements='str'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        purge=dict(type='bool', default=False),
    ),
    run=run,
    required_one_of=[('permission_sets', 'permission_set_groups')],
)

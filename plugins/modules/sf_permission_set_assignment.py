#!/usr/bin/python
# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
module: sf_permission_set_assignment
short_description: Assign permission sets and permission set groups to a Salesforce user
version_added: 1.0.0
description:
  - Make sure a user holds (or does not hold) permission sets and permission set groups, through
    C(PermissionSetAssignment) records.
  - Names are checked before any change; an unknown user, permission set or group fails with close matches.
  - Writes are batched through sObject Collections (up to 200 rows per request); grants are made before revocations.
  - On a converged org a run costs one token request and one API request (a composite read).
author:
  - sfops contributors (@sfops)
options:
  user:
    description:
      - Username (login name) of the user.
    type: str
    required: true
  permission_sets:
    description:
      - Permission sets, by API name (C(Name)). Omit to leave the user's permission sets unmanaged.
    type: list
    elements: str
  permission_set_groups:
    description:
      - Permission set groups, by API name (C(DeveloperName)). Omit to leave the user's groups unmanaged.
    type: list
    elements: str
  state:
    description:
      - V(present) assigns what is listed; V(absent) removes the listed assignments the user has.
    type: str
    choices: [present, absent]
    default: present
  purge:
    description:
      - With O(state=present), also remove the user's other assignments, separately for each list that is given
        (O(permission_sets) and/or O(permission_set_groups)); an empty list removes them all.
      - Never touches the permission set owned by the user's profile, which is not a real assignment.
    type: bool
    default: false
notes:
  - An integration user (C(Salesforce Integration) licence) needs the C(Salesforce API Integration) permission set
    licence before it can hold permission sets that grant object access; M(sfops.salesforce.sf_user) with
    O(sfops.salesforce.sf_user#module:integration_user=true) assigns it.
  - Salesforce refuses a permission set whose licence does not match the user's licence; the error names the permission.
  - The authenticated user needs C(Assign Permission Sets) (or C(Manage Profiles and Permission Sets)).
seealso:
  - module: sfops.salesforce.sf_user
  - module: sfops.salesforce.sf_permission_set
  - name: PermissionSetAssignment (Object Reference)
    description: Fields and rules of PermissionSetAssignment.
    link: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_permissionsetassignment.htm
extends_documentation_fragment:
  - sfops.salesforce.auth
  - sfops.salesforce.attributes
  - sfops.salesforce.attributes.action_group
'''

EXAMPLES = r'''
- name: The integration user holds exactly its one permission set
  sfops.salesforce.sf_permission_set_assignment:
    user: planhat.integration@example.com.prod
    permission_sets:
      - Planhat_Integration
    purge: true

- name: Add a permission set group, leave everything else as it is
  sfops.salesforce.sf_permission_set_assignment:
    user: jane.doe@example.com
    permission_set_groups:
      - Sales_Operations

- name: Take a permission set away
  sfops.salesforce.sf_permission_set_assignment:
    user: jane.doe@example.com
    permission_sets:
      - Data_Export
    state: absent
'''

RETURN = r'''
assignments:
  description:
    - The user's assignments after the run (in check mode, as they would be), by API name. Profile-owned
      permission sets are not listed.
  returned: always
  type: dict
  contains:
    permission_sets:
      description: Permission sets assigned directly.
      type: list
      elements: str
      sample: [Planhat_Integration]
    permission_set_groups:
      description: Permission set groups assigned.
      type: list
      elements: str
      sample: []
  sample:
    permission_sets: [Planhat_Integration]
    permission_set_groups: []
added:
  description: Assignments created by this run (or that would be, in check mode).
  returned: always
  type: dict
  contains:
    permission_sets:
      description: Permission sets.
      type: list
      elements: str
      sample: [Planhat_Integration]
    permission_set_groups:
      description: Permission set groups.
      type: list
      elements: str
      sample: []
removed:
  description: Assignments deleted by this run (or that would be, in check mode).
  returned: always
  type: dict
  contains:
    permission_sets:
      description: Permission sets.
      type: list
      elements: str
      sample: [Old_Integration_Access]
    permission_set_groups:
      description: Permission set groups.
      type: list
      elements: str
      sample: []
'''

from ansible_collections.sfops.salesforce.plugins.module_utils.client import soql_quote
from ansible_collections.sfops.salesforce.plugins.module_utils.errors import InputError, SalesforceError
from ansible_collections.sfops.salesforce.plugins.module_utils.module import SalesforceModule
from ansible_collections.sfops.salesforce.plugins.module_utils.planning import did_you_mean
from ansible_collections.sfops.salesforce.plugins.module_utils.users import records_of, ref_query


def run_assignments(module):
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
    if not users:
        raise InputError('No user with username %s in this org.' % p['user'],
                         hint='Create it first (sfops.salesforce.sf_user) or check the username (it is the login name, not the e-mail).')
    if isinstance(answer.get('psa'), SalesforceError):
        raise answer['psa']
    kinds = (('permission_sets', 'ps', 'Name', 'PermissionSetId'), ('permission_set_groups', 'psg', 'DeveloperName', 'PermissionSetGroupId'))
    rows = records_of(answer, 'psa')
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
            raise InputError('Unknown %s(s): %s.%s' % (label, ', '.join(sorted(unknown)), did_you_mean(unknown[0], known)),
                             hint='Use the API name (Name / DeveloperName); profile-owned permission sets cannot be assigned.')
        if p['state'] == 'absent':
            to_add, to_remove = [], sorted(set(wanted or []) & set(current[opt]))
        else:
            to_add = sorted(set(wanted or []) - set(current[opt])) if wanted is not None else []
            to_remove = sorted(set(current[opt]) - set(wanted)) if wanted is not None and p.get('purge') else []
        added[opt], removed[opt] = to_add, to_remove
        after[opt] = sorted((set(current[opt]) | set(to_add)) - set(to_remove))
        creates.extend({'attributes': {'type': 'PermissionSetAssignment'}, 'AssigneeId': users[0]['Id'], id_field: known[n]} for n in to_add)
        delete_ids.extend(current[opt][n] for n in to_remove)
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


def main():
    module = SalesforceModule(argument_spec=dict(
        user=dict(type='str', required=True),
        permission_sets=dict(type='list', elements='str'),
        permission_set_groups=dict(type='list', elements='str'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        purge=dict(type='bool', default=False),
    ), required_one_of=[('permission_sets', 'permission_set_groups')])
    module.execute(run_assignments)


if __name__ == '__main__':
    main()

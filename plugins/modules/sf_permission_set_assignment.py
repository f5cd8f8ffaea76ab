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
    In check mode it is reported as an assignment to add, with a warning that names it (with close matches), because
    an earlier task of the same check run, such as M(sfops.salesforce.sf_user), would have created it.
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
      - V(present) assigns what is listed; V(absent) removes the listed assignments the user has. Removing one the
        user does not hold (or one another run removed first) is no change; the permission sets and groups themselves
        are never deleted.
    type: str
    choices: [present, absent]
    default: present
  purge_permission_sets:
    description:
      - With O(state=present), also remove the user's permission sets that O(permission_sets) does not list; V([])
        removes them all. Acts only when O(permission_sets) is given.
      - Never touches the permission set owned by the user's profile, which is not a real assignment.
    type: bool
    default: false
  purge_permission_set_groups:
    description:
      - With O(state=present), also remove the user's permission set groups that O(permission_set_groups) does not
        list; V([]) removes them all. Acts only when O(permission_set_groups) is given.
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
  - sfops.salesforce.auth.login
  - sfops.salesforce.attributes
  - sfops.salesforce.attributes.action_group
  - sfops.salesforce.attributes.action
'''

EXAMPLES = r'''
- name: The integration user holds exactly its one permission set
  sfops.salesforce.sf_permission_set_assignment:
    user: planhat.integration@example.com.prod
    permission_sets:
      - Planhat_Integration
    purge_permission_sets: true

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
msg:
  description: What the run changed (or would change, in check mode), in one sentence.
  returned: always
  type: str
  sample: "Updated the assignments of planhat.integration@example.com.prod: permission_sets +1."
'''

# This file is the documentation; the code is plugins/module_utils/_sf_permission_set_assignment.py (read, plan, apply on the
# pipeline of plugins/module_utils/_pipeline.py), and its action plugin of the same
# name runs it on the controller when the task runs there anyway (plugins/plugin_utils/in_process.py).
from ansible_collections.sfops.salesforce.plugins.module_utils._sf_permission_set_assignment import SPEC
from ansible_collections.sfops.salesforce.plugins.module_utils.module import run_module


def main():
    run_module(SPEC)


if __name__ == '__main__':
    main()

#!/usr/bin/python
# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
module: sf_permission_set
short_description: Manage a Salesforce permission set and its system permissions
version_added: 1.0.0
description:
  - Create, update or delete a permission set (C(PermissionSet) record) identified by its API name O(name).
  - Grant system permissions by Setup label or API name; the permissions they depend on are granted too and
    reported in RV(implied_permissions), because Salesforce rejects a permission whose dependencies are off.
  - Object and field permissions are managed by M(sfops.salesforce.sf_object_permission). Who holds the set can be
    managed here, from the set's side (O(assignees), O(purge_assignees), for example "nobody but the integration
    user"), or from the user's side by M(sfops.salesforce.sf_permission_set_assignment).
  - On a converged org a run costs one token request and one API request (a composite read).
author:
  - sfops contributors (@sfops)
options:
  name:
    description:
      - API name (C(Name)) of the permission set, the identity of the record.
      - Letters, digits and single underscores, starting with a letter, at most 80 characters.
    type: str
    required: true
  label:
    description:
      - Label shown in Setup. Defaults to O(name) when the set is created; left unchanged when omitted later.
    type: str
  description:
    description:
      - Description. Omit to leave it unchanged; V('') clears it.
    type: str
  license:
    description:
      - Licence the permission set is restricted to, by name. Either a permission set licence (C(MasterLabel) or
        C(DeveloperName), for example V(Salesforce API Integration) or V(SalesforceAPIIntegrationPsl)) or a user
        licence (C(Name)).
      - Salesforce only sets C(LicenseId) when a permission set is created. A different licence on an existing set
        fails with a message; delete and recreate the set to change it. Omit it to leave the licence unmanaged.
    type: str
  system_permissions:
    description:
      - System permissions to grant, by Setup label (V(API Enabled)) or API name (V(ApiEnabled) or
        V(PermissionsApiEnabled)), resolved against C(GET sobjects/PermissionSet/describe) of O(api_version).
      - Unknown names fail before any change, with close matches; a permission that only exists in a later API
        version (for example V(Approve Uninstalled Connected Apps), API 67.0) says so.
      - Permissions not listed are kept unless O(purge_system_permissions=true). Omit to leave them unmanaged.
    type: list
    elements: str
  purge_system_permissions:
    description:
      - Turn off every system permission that is not in O(system_permissions) (or implied by them).
      - Acts only when O(system_permissions) is given. With it omitted nothing is turned off; V([]) turns off all of
        them (except the read-only ones Salesforce derives).
    type: bool
    default: false
  assignees:
    description:
      - Usernames of users who hold the set (C(PermissionSetAssignment) rows). Missing ones are assigned after the set
        is written. Omit to leave the assignments unmanaged.
      - An unknown username fails before any change; in check mode it is reported as an assignee to add, with a
        warning (an earlier task of the same check run would create the user).
    type: list
    elements: str
  purge_assignees:
    description:
      - Also remove the set from every user O(assignees) does not list; V([]) removes it from everyone.
      - Acts only when O(assignees) is given.
    type: bool
    default: false
  state:
    description:
      - V(present) creates or updates the set.
      - V(absent) deletes it, and with it its object, field and app-access rows (Salesforce deletes them with the
        set). A set that does not exist is no change. A set somebody holds is never deleted unless
        O(remove_assignments=true); the check happens before any write.
    type: str
    choices: [present, absent]
    default: present
  remove_assignments:
    description:
      - With O(state=absent), delete the assignments of the set first (in one batch). Without it, deleting an
        assigned set fails before any change, because Salesforce refuses it.
    type: bool
    default: false
notes:
  - Permission sets owned by a profile cannot be managed through the API; the module fails clearly on them.
  - When another run creates the same set (or an assignment) between this run's read and its write, Salesforce
    refuses the duplicate; the module reads again and carries on as an update. A label that another set of the org
    uses fails with C(DUPLICATE_MASTER_LABEL) in the failed result's C(error_code).
  - The authenticated user needs C(Manage Profiles and Permission Sets) and C(View Setup and Configuration).
seealso:
  - module: sfops.salesforce.sf_object_permission
  - module: sfops.salesforce.sf_permission_set_assignment
  - module: sfops.salesforce.sf_org_info
  - name: PermissionSet (Object Reference)
    description: Fields and rules of the PermissionSet object.
    link: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_permissionset.htm
extends_documentation_fragment:
  - sfops.salesforce.auth
  - sfops.salesforce.auth.login
  - sfops.salesforce.attributes
  - sfops.salesforce.attributes.action_group
  - sfops.salesforce.attributes.action
'''

EXAMPLES = r'''
- name: Least-privilege permission set for an API-only integration user
  sfops.salesforce.sf_permission_set:
    name: Integration_API_Access
    label: Integration API access
    description: Managed by Ansible - API access for the integration user
    license: Salesforce API Integration
    system_permissions:
      - API Enabled
      - ApiUserOnly
    purge_system_permissions: true

- name: Set credentials once for all modules of the collection
  module_defaults:
    group/sfops.salesforce.salesforce:
      auth_method: jwt_bearer
      login_url: https://login.salesforce.com
      client_id: "{{ sf_client_id }}"
      login_username: "{{ sf_username }}"
      private_key_file: "{{ sf_private_key_file }}"
  block:
    - name: Report drift without changing anything (run with --check --diff)
      sfops.salesforce.sf_permission_set:
        name: Integration_API_Access
        system_permissions: [ApiEnabled]

- name: Nobody but the integration user holds the set
  sfops.salesforce.sf_permission_set:
    name: Integration_API_Access
    assignees: [planhat.integration@example.com.prod]
    purge_assignees: true

- name: Remove the permission set, unassigning it first
  sfops.salesforce.sf_permission_set:
    name: Integration_API_Access
    state: absent
    remove_assignments: true
'''

RETURN = r'''
permission_set:
  description:
    - The permission set after the run (in check mode, as it would be). V(null) when absent.
    - RV(permission_set.id) is V(null) in check mode when the set would be created.
  returned: always
  type: dict
  contains:
    id:
      description: Record Id.
      type: str
      sample: 0PS5g000004ABCDGA4
    name:
      description: API name.
      type: str
      sample: Integration_API_Access
    label:
      description: Label.
      type: str
      sample: Integration API access
    description:
      description: Description.
      type: str
    license:
      description: Name of the licence (permission set licence label or user licence name), V(null) when none.
      type: str
      sample: Salesforce API Integration
    license_id:
      description: Id of the licence.
      type: str
    system_permissions:
      description: API names (without the C(Permissions) prefix) of the system permissions that are on.
      type: list
      elements: str
      sample: [ApiEnabled, ApiUserOnly]
    assignments:
      description: Number of users the set is assigned to.
      type: int
      sample: 1
    assignees:
      description: Usernames of the users the set is assigned to.
      type: list
      elements: str
      sample: [planhat.integration@example.com.prod]
  sample:
    id: 0PS5g000004ABCDGA4
    name: Integration_API_Access
    label: Integration API access
    description: null
    license: Salesforce API Integration
    license_id: 0PL5g0000008OIAGA2
    system_permissions: [ApiEnabled, ApiUserOnly]
    assignments: 1
    assignees: [planhat.integration@example.com.prod]
added:
  description: System permissions turned on and assignees added by this run (or that would be, in check mode).
  returned: always
  type: dict
  contains:
    system_permissions:
      description: Permissions, by API name.
      type: list
      elements: str
      sample: [ApiEnabled]
    assignees:
      description: Usernames.
      type: list
      elements: str
      sample: [planhat.integration@example.com.prod]
removed:
  description: >-
    System permissions turned off (O(purge_system_permissions)) and assignees removed (O(purge_assignees)) by this run.
  returned: always
  type: dict
  contains:
    system_permissions:
      description: Permissions, by API name.
      type: list
      elements: str
      sample: [ViewSetup]
    assignees:
      description: Usernames.
      type: list
      elements: str
      sample: [jane.doe@example.com]
msg:
  description: What the run changed (or would change, in check mode), in one sentence.
  returned: always
  type: str
  sample: "Created permission set Integration_API_Access: system_permissions +2."
implied_permissions:
  description: Permissions added because a requested permission depends on them (whether or not they were already on).
  returned: always
  type: list
  elements: str
  sample: [ViewRoles]
removed_assignments:
  description: Number of assignments deleted before the set (O(state=absent) with O(remove_assignments=true)).
  returned: when O(state=absent) and the set existed
  type: int
  sample: 0
'''

# This file is the documentation; the code is plugins/module_utils/_sf_permission_set.py (read, plan, apply on the
# pipeline of plugins/module_utils/_pipeline.py), and its action plugin of the same
# name runs it on the controller when the task runs there anyway (plugins/plugin_utils/in_process.py).
from ansible_collections.sfops.salesforce.plugins.module_utils._sf_permission_set import SPEC
from ansible_collections.sfops.salesforce.plugins.module_utils.module import run_module


def main():
    run_module(SPEC)


if __name__ == '__main__':
    main()

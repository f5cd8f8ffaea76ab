#!/usr/bin/python
# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
module: sf_org_info
short_description: Read facts about a Salesforce org (organization, API versions, limits, licences, access)
version_added: 1.0.0
description:
  - Returns the parts of the org listed in O(gather) under RV(org).
  - Reads are batched into one C(composite) request (split only when more than five queries are needed); the list of
    API versions costs one extra GET, and system permissions of permission sets one more composite.
  - Read-only; never reports a change and behaves the same in check mode.
  - With O(validate_system_permissions) and O(validate_objects) it also checks desired names against the org with
    the same code (and the same messages) that M(sfops.salesforce.sf_permission_set) and
    M(sfops.salesforce.sf_object_permission) run before their first write, and fails when one is wrong. Run it
    before the first writing task so that bad input fails before anything is changed. The describes this needs
    ride in the same composite requests (a describe is not a query, so it does not count toward the five queries
    per composite), so the check adds no API request.
author:
  - sfops contributors (@sfops)
options:
  gather:
    description:
      - What to read.
      - V(organization) - Id, name, edition, sandbox or not, instance.
      - V(versions) - API versions the org offers and the one in use.
      - V(limits) - daily API requests (max, remaining, used) and the raw C(limits) resource.
      - V(licenses) - user licences and permission set licences (total, used, available).
      - V(users) - users with profile and assigned permission sets (filter with O(usernames)).
      - V(permission_sets) - permission sets (not profile-owned) with system, object and field permissions and
        assignments (filter with O(permission_set_names)).
      - V(connected_apps) - connected apps installed in the org (a C(ConnectedApplication) row) or only used
        (C(OauthToken) rows), with their policy, the OAuth tokens users hold for them (who, when last used, how often)
        and the permission sets and profiles that grant access (filter with O(connected_app_names)).
      - V(assignees) - who holds the permission sets of O(permission_set_names) (all permission sets when omitted),
        one query, much lighter than V(permission_sets).
      - V(connected_apps) with V(users) and V(assignees) is what a drift check needs to see who else can reach the
        org through a vendor's app (the integration_user role's exposure report); with V(limits) they are five
        queries and one resource, so one composite request (Salesforce allows five queries per composite; more
        queries are split into more composites).
    type: list
    elements: str
    choices: [organization, versions, limits, licenses, users, permission_sets, connected_apps, assignees]
    default: [organization, versions, limits, licenses]
  usernames:
    description: Only these users for V(users). All users when omitted.
    type: list
    elements: str
  permission_set_names:
    description: Only these permission sets (API names) for V(permission_sets) and V(assignees). All when omitted.
    type: list
    elements: str
  connected_app_names:
    description: Only these connected apps (names) for V(connected_apps). All when omitted.
    type: list
    elements: str
  validate_system_permissions:
    description:
      - System permissions to check against the C(PermissionSet) describe of the API version in use, as
        O(sfops.salesforce.sf_permission_set#module:system_permissions) takes them (Setup labels such as
        C(API Enabled), or API names with or without the C(Permissions) prefix).
      - An unknown name, one that exists only from a later API version, or a read-only one fails the task with
        every problem, close matches ("Did you mean") and what to do.
      - The resolved names are returned in RV(validation.system_permissions). Not checked when omitted; an empty
        list is checked (and passes).
    type: list
    elements: str
  min_api_requests_remaining:
    description:
      - Fail, after the read, when fewer daily API requests than this remain in the org (C(DailyApiRequests) of the
        C(limits) resource), as a guard for a playbook that is about to spend them. Needs V(limits) in O(gather).
      - Not checked when omitted.
    type: int
  validate_objects:
    description:
      - Objects and fields to check, in the form of O(sfops.salesforce.sf_object_permission#module:objects).
      - An object must be in the C(SobjectType) picklist of C(ObjectPermissions) (objects that can carry object
        permissions), or, for an entry with fields and no flags, an object that takes field permissions only (Task,
        Event, OpportunityLineItem, OrderItem, User); a field must exist on its object
        (C(GET sobjects/<Object>/describe)), be permissionable and not an address part (name the compound, for
        example C(BillingAddress)), and take V(edit) only when it is writable. A wrong one fails the task with every
        problem, close matches and what to do.
      - Only objects with O(validate_objects[].fields) are described. The canonical names, with the flags the
        object permission rules add, are returned in RV(validation). Not checked when omitted.
    type: list
    elements: dict
    suboptions:
      name:
        description: Object API name (for example C(Account), C(Invoice__c)).
        type: str
        required: true
      read:
        description: Read.
        type: bool
        default: false
      create:
        description: Create (implies read).
        type: bool
        default: false
      edit:
        description: Edit (implies read).
        type: bool
        default: false
      delete:
        description: Delete (implies read and edit).
        type: bool
        default: false
      view_all:
        description: View All Records (implies read).
        type: bool
        default: false
      modify_all:
        description: Modify All Records (implies read, edit, delete and view_all).
        type: bool
        default: false
      fields:
        description: Field API name (with or without C(Object.)) to V(read), V(edit) or V(none).
        type: dict
seealso:
  - module: sfops.salesforce.sf_login
  - module: sfops.salesforce.sf_permission_set
  - module: sfops.salesforce.sf_object_permission
extends_documentation_fragment:
  - sfops.salesforce.auth
  - sfops.salesforce.auth.login
  - sfops.salesforce.attributes.info_module
  - sfops.salesforce.attributes.action_group
  - sfops.salesforce.attributes.action
'''

EXAMPLES = r'''
- name: Org, versions, API limits and licences
  sfops.salesforce.sf_org_info:
  register: sf

- name: Read the integration user, and stop when fewer than 1000 API requests are left today
  sfops.salesforce.sf_org_info:
    gather: [limits, users]
    usernames: [integration@example.com]
    min_api_requests_remaining: 1000
  register: preflight

- name: Audit the integration user's access and the vendor app
  sfops.salesforce.sf_org_info:
    gather: [users, permission_sets, connected_apps]
    usernames: [integration@example.com]
    permission_set_names: [Integration_API_Access]
    connected_app_names: [Planhat]
  register: audit

- name: Check the permissions to grant before the first write (fails on a wrong name, nothing is changed)
  sfops.salesforce.sf_org_info:
    gather: [limits]
    validate_system_permissions: [API Enabled, PermissionsViewSetup]
    validate_objects:
      - {name: Account, read: true, view_all: true, fields: {Industry: read, Website: read}}
      - {name: Contact, read: true}
  register: checked

- name: Grant them
  sfops.salesforce.sf_permission_set:
    name: Integration_API_Access
    system_permissions: "{{ checked.validation.system_permissions }}"
'''

RETURN = r'''
org:
  description: The gathered parts; only the keys listed in O(gather) are present.
  returned: always
  type: dict
  contains:
    organization:
      description: C(id), C(name), C(edition) (C(OrganizationType)), C(is_sandbox), C(instance).
      type: dict
      returned: when V(organization) is gathered
      sample: {id: 00D5g000004ABCDEAA, name: Acme, edition: Enterprise Edition, is_sandbox: false, instance: NA224}
    versions:
      description: C(in_use) (the API version of requests), C(latest), C(available) (list).
      type: dict
      returned: when V(versions) is gathered
      sample: {in_use: '67.0', latest: '67.0', available: ['31.0', '67.0']}
    limits:
      description: C(daily_api_requests) with C(max), C(remaining), C(used); C(all) is the raw C(limits) resource.
      type: dict
      returned: when V(limits) is gathered
      sample: {daily_api_requests: {max: 15000, remaining: 14990, used: 10}}
    licenses:
      description:
        - C(user_licenses) and C(permission_set_licenses), lists of C(id), C(name), C(status), C(total), C(used),
          C(available) (and C(developer_name) for permission set licences).
      type: dict
      returned: when V(licenses) is gathered
      sample:
        user_licenses: [{id: 1005g000000ABCDAAA, name: Salesforce Integration, status: Active, total: 5, used: 1, available: 4}]
        permission_set_licenses: []
    users:
      description:
        - C(id), C(username), C(name), C(email), C(is_active), C(user_type), C(profile), C(last_login)
          (C(LastLoginDate), null when the user never logged in), C(created), C(permission_sets).
      type: list
      elements: dict
      returned: when V(users) is gathered
    permission_sets:
      description:
        - C(id), C(name), C(label), C(description), C(license_id), C(system_permissions) (API names),
          C(object_permissions) (object to flags), C(field_permissions) (C(Object.Field) to V(read)/V(edit)), C(assignments) (usernames).
      type: list
      elements: dict
      returned: when V(permission_sets) is gathered
    connected_apps:
      description:
        - C(name), C(id), C(installed), C(admin_approved_users_only), C(refresh_token_validity_period),
          C(refresh_token_validity_by_inactivity), C(oauth_users), C(oauth_use_count), C(permission_sets),
          C(profiles).
        - C(oauth_tokens) lists each C(OauthToken) row with C(id), C(user) (username), C(user_id), C(use_count),
          C(last_used) and C(created); never its C(DeleteToken). Reading other users' tokens needs the
          C(Customize Application) permission (otherwise Salesforce shows only the login user's own).
        - C(permission_sets) are the permission sets and C(profiles) the profiles (by profile name) with access to the
          app (C(SetupEntityAccess) rows).
        - An app that is used but not installed has C(installed=false) and no policy values.
      type: list
      elements: dict
      returned: when V(connected_apps) is gathered
    assignees:
      description:
        - Permission set name to the users who hold it, each with C(username), C(user_id) and C(is_active).
        - Every name of O(permission_set_names) is a key, with an empty list when nobody holds it.
      type: dict
      returned: when V(assignees) is gathered
      sample: {Planhat_Integration: [{username: planhat.integration@example.com.prod, user_id: 005Hp00000A1B2CIAV, is_active: true}]}
validation:
  description:
    - What O(validate_system_permissions) and O(validate_objects) resolved to; only returned when every name is
      valid (otherwise the task fails).
  returned: when O(validate_system_permissions) or O(validate_objects) is given
  type: dict
  contains:
    system_permissions:
      description: The requested system permissions as API names without the C(Permissions) prefix, duplicates removed.
      type: list
      elements: str
      returned: when O(validate_system_permissions) is given
      sample: [ApiEnabled, ViewSetup]
    implied_system_permissions:
      description: Permissions the requested ones depend on that were not requested (sf_permission_set adds them).
      type: list
      elements: str
      returned: when O(validate_system_permissions) is given
      sample: [ViewRoles]
    objects:
      description: Canonical object name to its flags (C(read), C(create), C(edit), C(delete), C(view_all), C(modify_all)) after the object permission rules.
      type: dict
      returned: when O(validate_objects) is given
      sample: {Account: {read: true, create: false, edit: false, delete: false, view_all: true, modify_all: false}}
    implied_object_permissions:
      description: C(Object.flag) entries the object permission rules add (for example V(Account.read) for edit).
      type: list
      elements: str
      returned: when O(validate_objects) is given
      sample: []
    fields:
      description: Canonical C(Object.Field) to level (V(read), V(edit) or V(none)).
      type: dict
      returned: when O(validate_objects) is given
      sample: {Account.Industry: read}
'''

# This file is the documentation; the code is plugins/module_utils/_sf_org_info.py, and its action plugin of the same
# name runs it on the controller when the task runs there anyway (plugins/plugin_utils/in_process.py).
from ansible_collections.sfops.salesforce.plugins.module_utils._sf_org_info import SPEC
from ansible_collections.sfops.salesforce.plugins.module_utils.module import run_module


def main():
    run_module(SPEC)


if __name__ == '__main__':
    main()

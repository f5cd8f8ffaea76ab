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
        (C(OauthToken) rows), with their policy and the permission sets that grant access (filter with O(connected_app_names)).
    type: list
    elements: str
    choices: [organization, versions, limits, licenses, users, permission_sets, connected_apps]
    default: [organization, versions, limits, licenses]
  usernames:
    description: Only these users for V(users). All users when omitted.
    type: list
    elements: str
  permission_set_names:
    description: Only these permission sets (API names) for V(permission_sets). All when omitted.
    type: list
    elements: str
  connected_app_names:
    description: Only these connected apps (names) for V(connected_apps). All when omitted.
    type: list
    elements: str
seealso:
  - module: sfops.salesforce.sf_login
  - module: sfops.salesforce.sf_permission_set
extends_documentation_fragment:
  - sfops.salesforce.auth
  - sfops.salesforce.attributes.info_module
  - sfops.salesforce.attributes.action_group
  - sfops.salesforce.attributes.action
'''

EXAMPLES = r'''
- name: Org, versions, API limits and licences
  sfops.salesforce.sf_org_info:
  register: sf

- name: Fail when fewer than 1000 API requests are left today
  ansible.builtin.assert:
    that: sf.org.limits.daily_api_requests.remaining >= 1000

- name: Audit the integration user's access and the vendor app
  sfops.salesforce.sf_org_info:
    gather: [users, permission_sets, connected_apps]
    usernames: [integration@example.com]
    permission_set_names: [Integration_API_Access]
    connected_app_names: [Planhat]
  register: audit
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
      description: C(id), C(username), C(name), C(email), C(is_active), C(user_type), C(profile), C(last_login), C(permission_sets).
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
          C(refresh_token_validity_by_inactivity), C(oauth_users), C(oauth_use_count), C(permission_sets).
        - An app that is used but not installed has C(installed=false) and no policy values.
      type: list
      elements: dict
      returned: when V(connected_apps) is gathered
'''

from ansible_collections.sfops.salesforce.plugins.module_utils.org_info import SPEC
from ansible_collections.sfops.salesforce.plugins.module_utils.module import run_module


def main():
    run_module(SPEC)


if __name__ == '__main__':
    main()

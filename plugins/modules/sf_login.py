#!/usr/bin/python
# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
module: sf_login
short_description: Log in to Salesforce once and return an access token for later tasks
version_added: 1.0.0
description:
  - Runs the OAuth flow chosen by O(auth_method) once and returns RV(access_token) and RV(instance_url), so later
    tasks can use O(auth_method=access_token) instead of logging in again in every task (each module runs in its
    own process).
  - Costs one token request. With O(auth_method=access_token) it checks the given token with one
    C(/services/oauth2/userinfo) request instead.
  - B(Put C(no_log=true) on the task.) A module cannot mark a returned value as secret, and RV(access_token) is one.
  - Never reports a change.
author:
  - sfops contributors (@sfops)
options: {}
seealso:
  - module: sfops.salesforce.sf_org_info
extends_documentation_fragment:
  - sfops.salesforce.auth
  - sfops.salesforce.auth.login
  - sfops.salesforce.attributes.info_module
  - sfops.salesforce.attributes.action_group
  - sfops.salesforce.attributes.action
'''

EXAMPLES = r'''
- name: Log in once with the JWT bearer flow
  sfops.salesforce.sf_login:
    auth_method: jwt_bearer
    login_url: https://login.salesforce.com
    client_id: "{{ sf_client_id }}"
    login_username: "{{ sf_username }}"
    private_key_file: "{{ sf_private_key_file }}"
  register: sf_session
  no_log: true

- name: Later tasks reuse the token
  module_defaults:
    group/sfops.salesforce.salesforce:
      auth_method: access_token
      instance_url: "{{ sf_session.instance_url }}"
      access_token: "{{ sf_session.access_token }}"
  block:
    - name: Read the org
      sfops.salesforce.sf_org_info:
'''

RETURN = r'''
instance_url:
  description: Base URL of the org to send API requests to.
  returned: success
  type: str
  sample: https://mydomain.my.salesforce.com
access_token:
  description:
    - The access token. Secret; use C(no_log=true) on the task and pass it through O(access_token) of later tasks.
    - With O(auth_method=access_token) the value is masked, because it is the O(access_token) input itself.
  returned: success
  type: str
  sample: 00D5g000004ABCD!AQ0AQ...
api_version:
  description: API version later tasks should use (the normalised O(api_version)).
  returned: success
  type: str
  sample: '67.0'
org_id:
  description: Id of the org (18 characters).
  returned: success
  type: str
  sample: 00D5g000004ABCDEAA
user_id:
  description: Id of the user the token acts as.
  returned: success
  type: str
  sample: 0055g00000ABCDEAA2
'''

# This file is the documentation; the code is plugins/module_utils/_sf_login.py, and its action plugin of the same
# name runs it on the controller when the task runs there anyway (plugins/plugin_utils/in_process.py).
from ansible_collections.sfops.salesforce.plugins.module_utils._sf_login import SPEC
from ansible_collections.sfops.salesforce.plugins.module_utils.module import run_module


def main():
    run_module(SPEC)


if __name__ == '__main__':
    main()

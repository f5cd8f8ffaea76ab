#!/usr/bin/python
# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
module: sf_user
short_description: Manage a Salesforce user, including API-only integration users
version_added: 1.0.0
description:
  - Create, update, deactivate, freeze or unfreeze a Salesforce user identified by O(username).
  - With O(integration_user=true) the user gets the C(Salesforce Integration) user licence through the profile
    C(Minimum Access - API Only Integrations) and the C(Salesforce API Integration) permission set licence, assigned
    in the same all-or-none transaction that creates the user, so it is in place before any permission set.
  - Before creating or activating a user, the module checks that a user licence (and each permission set licence to
    assign) is free, and fails with the counts instead of a half-made user.
  - Options left out are not managed; defaults such as O(time_zone) apply only when the user is created, so a run
    never reports drift on a value the task does not set.
  - On a converged org a run costs one token request and one API request (a composite read of the user, its
    C(UserLogin), its permission set licences, the profiles and the licence counts).
author:
  - sfops contributors (@sfops)
options:
  username:
    description:
      - Username (login name) of the user to manage, the identity of the record. It looks like an e-mail address but
        need not be a mailbox.
      - Usernames are unique across B(all) Salesforce orgs, so a name used in any other org fails with a clear message.
      - This option names the managed user, not the login user of the connection (see O(login_username)).
    type: str
    required: true
  login_username:
    description:
      - The user to authenticate as for O(auth_method=jwt_bearer) and O(auth_method=password), as in every module of the
        collection. Unlike the other modules, M(sfops.salesforce.sf_user) takes no alias C(username) for it, because
        here O(username) is the managed user.
      - Not needed with O(auth_method=access_token) (for example after M(sfops.salesforce.sf_login)),
        V(client_credentials) or V(refresh_token).
      - If not set, the value of the E(SF_USERNAME) environment variable is used.
    type: str
  login_password:
    description:
      - Password of O(login_username) for O(auth_method=password). No alias C(password) here, so it is never mistaken
        for the managed user's password (see O(reset_password)).
      - If not set, the value of the E(SF_PASSWORD) environment variable is used.
    type: str
  email:
    description:
      - E-mail address. Required to create the user.
    type: str
  first_name:
    description:
      - First name.
    type: str
  last_name:
    description:
      - Last name. Required to create the user.
    type: str
  alias:
    description:
      - Short name, at most 8 characters.
      - When the user is created without it, it is derived from the first initial and the last name (V(jsmith)), or from
        the part of O(username) before C(@). Left unchanged later unless set.
    type: str
  profile:
    description:
      - Profile name as shown in Setup, for example V(Standard User). Required to create the user unless
        O(integration_user=true), which defaults it to V(Minimum Access - API Only Integrations).
      - Unknown names fail before any change, with close matches.
    type: str
  time_zone:
    description:
      - C(TimeZoneSidKey), for example V(Europe/Paris). V(GMT) when the user is created without it.
    type: str
  locale:
    description:
      - C(LocaleSidKey), for example V(en_US). V(en_US) when the user is created without it.
    type: str
  language:
    description:
      - C(LanguageLocaleKey), for example V(en_US). V(en_US) when the user is created without it.
    type: str
  email_encoding:
    description:
      - C(EmailEncodingKey). V(UTF-8) when the user is created without it.
    type: str
  is_active:
    description:
      - Whether the user is active. A new user is active unless this is V(false).
      - Activating a user takes a licence; the module checks that one is free first.
    type: bool
  state:
    description:
      - V(present) creates or updates the user.
      - V(absent) deactivates it, because Salesforce users can never be deleted. A missing or inactive user is left alone.
        Only C(IsActive) changes - the user's permission sets, permission set licences, OAuth tokens and login history
        stay (remove them first with M(sfops.salesforce.sf_permission_set_assignment) and
        M(sfops.salesforce.sf_oauth_token); the integration_user role's offboarding does it in that order). To keep
        the username reserved and the user unable to log in without deactivating it, use O(frozen=true) instead.
    type: str
    choices: [present, absent]
    default: present
  frozen:
    description:
      - Freeze (V(true)) or unfreeze (V(false)) the user through C(UserLogin.IsFrozen). A frozen user cannot log in but
        keeps its licence. Omit to leave it unmanaged.
    type: bool
  integration_user:
    description:
      - Make this an API-only integration user, the Salesforce-recommended shape for system integrations.
      - The profile defaults to V(Minimum Access - API Only Integrations), and must have the C(Salesforce Integration)
        user licence; the C(SalesforceAPIIntegrationPsl) permission set licence is added to O(permission_set_licenses).
    type: bool
    default: false
  permission_set_licenses:
    description:
      - Permission set licences the user must have, by C(DeveloperName) or label. Omit to leave them unmanaged.
      - Licences not listed are kept unless O(purge_permission_set_licenses=true).
    type: list
    elements: str
  purge_permission_set_licenses:
    description:
      - Also remove the user's permission set licences that O(permission_set_licenses) does not list (with
        O(integration_user=true) the integration licence always counts as listed). An empty list removes them all.
      - Acts only when O(permission_set_licenses) is given; with it omitted nothing is removed.
      - Salesforce refuses to remove a licence while the user holds a permission set that needs it; the error names it.
    type: bool
    default: false
  reset_password:
    description:
      - Give the user a new password and return it in RV(password). Every run with V(true) resets it again (it is an
        action, not a state), so do not leave it on in scheduled runs. Use C(no_log) on the task.
      - With O(send_email=false) the module generates a random 24-character password and sets it silently
        (C(POST /sobjects/User/{id}/password)); with O(send_email=true) Salesforce generates a temporary password and
        e-mails the user a reset link (C(DELETE /sobjects/User/{id}/password)).
      - API-only integration users do not need a password to use OAuth flows such as JWT bearer.
    type: bool
    default: false
  send_email:
    description:
      - Let Salesforce e-mail the user. A user created through the REST API gets no welcome e-mail (REST has no e-mail
        header); with V(true) a new user receives the password reset e-mail, which works as the invitation.
      - See O(reset_password) for its effect there. Ignored otherwise.
    type: bool
    default: false
notes:
  - Users cannot be deleted in Salesforce; O(state=absent) deactivates and the licence is freed.
  - The module refuses to deactivate or freeze the user it is logged in as (when the token flow tells who that is).
  - The authenticated user needs C(Manage Internal Users) (or C(Manage Users)) to create and change users.
  - Permission sets are assigned with M(sfops.salesforce.sf_permission_set_assignment).
  - Usernames are unique across every Salesforce org. When Salesforce refuses the create as C(DUPLICATE_USERNAME), the
    module looks for the user in this org first (another run may have just created it) and carries on as an update;
    only a username taken in another org fails, with C(error_code=DUPLICATE_USERNAME).
  - "E-mails - the new-user e-mail is controlled by the SOAP C(EmailHeader.triggerUserEmail) (default off); the REST
    API documents no equivalent request header (REST API Developer Guide, Headers), so users created here get no
    e-mail (inferred from the documentation, not verified against a real org).
    C(DELETE /sobjects/User/{id}/password) invalidates the password, returns a temporary one and e-mails a reset link
    (REST API Developer Guide, Reset User Password); C(POST) with C(NewPassword) sets it and answers 204
    (Manage User Passwords)."
seealso:
  - module: sfops.salesforce.sf_permission_set_assignment
  - module: sfops.salesforce.sf_login
  - name: Give Integration Users API Only Access (Salesforce Help)
    description: The Salesforce Integration user licence, profile and permission set licence.
    link: https://help.salesforce.com/s/articleView?id=sf.integration_user.htm&type=5
  - name: Manage User Passwords (REST API Developer Guide)
    description: Set (POST) and reset (DELETE) a user password.
    link: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_sobject_user_password.htm
extends_documentation_fragment:
  - sfops.salesforce.auth
  - sfops.salesforce.attributes
  - sfops.salesforce.attributes.action_group
  - sfops.salesforce.attributes.action
'''

EXAMPLES = r'''
- name: Log in once; later tasks reuse the token
  sfops.salesforce.sf_login:
    auth_method: jwt_bearer
    client_id: "{{ sf_client_id }}"
    username: "{{ sf_admin_username }}"
    private_key_file: "{{ sf_private_key_file }}"
  register: sf
  no_log: true

- name: API-only integration user for the Planhat connector
  sfops.salesforce.sf_user:
    auth_method: access_token
    instance_url: "{{ sf.instance_url }}"
    access_token: "{{ sf.access_token }}"
    username: planhat.integration@example.com.prod
    email: salesforce-admins@example.com
    first_name: Planhat
    last_name: Integration
    integration_user: true

- name: Same with JWT directly; login_username is the admin the JWT is issued for
  sfops.salesforce.sf_user:
    auth_method: jwt_bearer
    client_id: "{{ sf_client_id }}"
    login_username: "{{ sf_admin_username }}"
    private_key_file: "{{ sf_private_key_file }}"
    username: planhat.integration@example.com.prod
    email: salesforce-admins@example.com
    last_name: Integration
    integration_user: true

- name: Freeze the user while the vendor investigates an incident
  sfops.salesforce.sf_user:
    username: planhat.integration@example.com.prod
    frozen: true

- name: Give a human user a new password, sent by Salesforce as a reset e-mail
  sfops.salesforce.sf_user:
    username: jane.doe@example.com
    reset_password: true
    send_email: true
  no_log: true

- name: Offboard (deactivate; users cannot be deleted)
  sfops.salesforce.sf_user:
    username: planhat.integration@example.com.prod
    state: absent
'''

RETURN = r'''
user:
  description:
    - The user after the run (in check mode, as it would be). Empty when it does not exist.
    - RV(user.id) is V(null) in check mode when the user would be created.
  returned: always
  type: dict
  contains:
    id:
      description: Record Id.
      type: str
      sample: 0055g00000ABCDEAA4
    username:
      description: Username.
      type: str
      sample: planhat.integration@example.com.prod
    email:
      description: E-mail address.
      type: str
    first_name:
      description: First name.
      type: str
    last_name:
      description: Last name.
      type: str
    alias:
      description: Alias.
      type: str
      sample: pintegra
    profile:
      description: Profile name.
      type: str
      sample: Minimum Access - API Only Integrations
    time_zone:
      description: C(TimeZoneSidKey).
      type: str
      sample: GMT
    locale:
      description: C(LocaleSidKey).
      type: str
      sample: en_US
    language:
      description: C(LanguageLocaleKey).
      type: str
      sample: en_US
    email_encoding:
      description: C(EmailEncodingKey).
      type: str
      sample: UTF-8
    is_active:
      description: Whether the user is active.
      type: bool
      sample: true
    frozen:
      description: Whether the user is frozen (C(UserLogin.IsFrozen)).
      type: bool
      sample: false
    permission_set_licenses:
      description: C(DeveloperName) of every permission set licence assigned to the user.
      type: list
      elements: str
      sample: [SalesforceAPIIntegrationPsl]
added:
  description: Permission set licences assigned by this run (or that would be, in check mode), by C(DeveloperName).
  returned: always
  type: dict
  contains:
    permission_set_licenses:
      description: Licences.
      type: list
      elements: str
      sample: [SalesforceAPIIntegrationPsl]
removed:
  description: Permission set licences removed by this run (or that would be), because of O(purge_permission_set_licenses).
  returned: always
  type: dict
  contains:
    permission_set_licenses:
      description: Licences.
      type: list
      elements: str
      sample: []
msg:
  description: What the run changed (or would change, in check mode), in one sentence.
  returned: always
  type: str
  sample: "Created user planhat.integration@example.com.prod: permission_set_licenses +1."
password:
  description:
    - The new password, only when O(reset_password=true) and not in check mode. Secret - run the task with
      C(no_log) and store it in a vault or hand it over out of band.
  returned: when O(reset_password=true) and the password was reset
  type: str
  sample: null
'''

# This file is the documentation; the code is plugins/module_utils/_sf_user.py (read, plan, apply on the
# pipeline of plugins/module_utils/_pipeline.py), and its action plugin of the same
# name runs it on the controller when the task runs there anyway (plugins/plugin_utils/in_process.py).
from ansible_collections.sfops.salesforce.plugins.module_utils._sf_user import SPEC
from ansible_collections.sfops.salesforce.plugins.module_utils.module import run_module


def main():
    run_module(SPEC)


if __name__ == '__main__':
    main()

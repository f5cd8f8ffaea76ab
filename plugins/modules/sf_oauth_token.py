#!/usr/bin/python
# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
module: sf_oauth_token
short_description: List or revoke the OAuth tokens users hold for a Salesforce connected app
version_added: 1.0.0
description:
  - Lists the OAuth tokens (C(OauthToken) rows) that given users, or every user, hold for one connected app, with
    when each was created and last used and how often it was used; with O(state=absent) revokes them.
  - A token is the lasting trace of a user authorising the app (Setup shows them under Connected Apps OAuth Usage).
    Revoking one ends the app's refresh token and every session issued from it, so the vendor can no longer act as
    that user until the user authorises the app again.
  - Revocation sends each row's C(DeleteToken) to C(/services/oauth2/revoke), the way Salesforce documents it;
    C(OauthToken) supports only describe and query, so its rows cannot be deleted through the REST API.
    The C(DeleteToken) is a credential, never returned or logged.
  - When another run revokes the same token first, the module reads the tokens again and carries on (it does not
    fail on a token that is already gone).
  - On a converged org a run costs one token request and one API request (a composite read).
author:
  - sfops contributors (@sfops)
options:
  app:
    description:
      - The connected app, by the name C(OauthToken.AppName) shows (the app's label, for example C(Planhat)).
    type: str
    required: true
  users:
    description:
      - Usernames whose tokens are meant. A username with no user in the org holds no token (a warning says so).
      - Exactly one of O(users) and O(all_users=true) is required.
    type: list
    elements: str
  all_users:
    description:
      - Every user's tokens of the app, except those of O(except_users).
      - Reading every user's tokens needs the C(Customize Application) permission; without it Salesforce shows only
        the tokens of the user the task logs in as.
    type: bool
    default: false
  except_users:
    description:
      - With O(all_users=true), the usernames whose tokens are left alone (for example the integration user itself).
    type: list
    elements: str
  state:
    description:
      - V(present) lists the tokens and changes nothing (tokens are made by users authorising the app, never by this
        module).
      - V(absent) revokes them. Nothing else changes (the users, their permission sets and the app's policy stay), so a
        user allowed to use the app can authorise it again.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Salesforce keeps no revoked token, but its audit trails (login history, the setup audit trail) are not touched.
  - Revoking the tokens of the app this task itself logs in with ends the task's own session too.
seealso:
  - module: sfops.salesforce.sf_connected_app_policy
  - module: sfops.salesforce.sf_org_info
  - name: OauthToken (Object Reference)
    description: Fields, supported calls and who sees which tokens.
    link: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_oauthtoken.htm
  - name: Revoke OAuth Tokens (Salesforce Help)
    description: The revoke endpoint.
    link: https://help.salesforce.com/s/articleView?id=sf.remoteaccess_revoke_token.htm&type=5
extends_documentation_fragment:
  - sfops.salesforce.auth
  - sfops.salesforce.auth.login
  - sfops.salesforce.attributes
  - sfops.salesforce.attributes.action_group
  - sfops.salesforce.attributes.action
'''

EXAMPLES = r'''
- name: Who besides the integration user has authorised Planhat
  sfops.salesforce.sf_oauth_token:
    app: Planhat
    all_users: true
    except_users:
      - planhat.integration@example.com.prod
  register: planhat_tokens

- name: Revoke every Planhat token but the integration user's
  sfops.salesforce.sf_oauth_token:
    app: Planhat
    all_users: true
    except_users:
      - planhat.integration@example.com.prod
    state: absent

- name: Offboarding - revoke the integration user's Planhat tokens
  sfops.salesforce.sf_oauth_token:
    app: Planhat
    users:
      - planhat.integration@example.com.prod
    state: absent
'''

RETURN = r'''
oauth_tokens:
  description:
    - The tokens of the app held by the users meant, after the run (in check mode, as they would be). With
      O(state=absent) the list is empty.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The C(OauthToken) id.
      type: str
      sample: 0CiHp000000ABCDKA4
    app:
      description: The app's name (C(AppName)).
      type: str
      sample: Planhat
    user:
      description: Username of the user who authorised the app.
      type: str
      sample: jane.doe@example.com
    user_id:
      description: Id of that user.
      type: str
      sample: 005Hp00000A1B2CIAV
    use_count:
      description: How often the token was used.
      type: int
      sample: 12
    last_used:
      description: When the token was last used (ISO 8601), or null.
      type: str
      sample: "2026-11-30T02:00:11.000+0000"
    created:
      description: When the user authorised the app (ISO 8601).
      type: str
      sample: "2026-03-02T09:12:40.000+0000"
  sample: []
revoked:
  description: The tokens this run revoked (or would revoke, in check mode), each as in RV(oauth_tokens).
  returned: always
  type: list
  elements: dict
  sample:
    - id: 0CiHp000000ABCDKA4
      app: Planhat
      user: jane.doe@example.com
      user_id: 005Hp00000A1B2CIAV
      use_count: 12
      last_used: "2026-11-30T02:00:11.000+0000"
      created: "2026-03-02T09:12:40.000+0000"
added:
  description: Always empty lists (tokens are never created by this module); present for the shape every module returns.
  returned: always
  type: dict
  contains:
    oauth_tokens:
      description: Always empty.
      type: list
      elements: str
      sample: []
removed:
  description: Ids of the tokens revoked by this run (or that would be, in check mode).
  returned: always
  type: dict
  contains:
    oauth_tokens:
      description: C(OauthToken) ids.
      type: list
      elements: str
      sample: [0CiHp000000ABCDKA4]
msg:
  description: What the run changed (or would change, in check mode), in one sentence.
  returned: always
  type: str
  sample: "Revoked 1 OAuth tokens of connected app Planhat held by every user but planhat.integration@example.com.prod."
'''

# This file is the documentation; the code is plugins/module_utils/_sf_oauth_token.py (read, plan, apply on the
# pipeline of plugins/module_utils/_pipeline.py), and its action plugin of the same name runs it on the controller
# when the task runs there anyway (plugins/plugin_utils/in_process.py).
from ansible_collections.sfops.salesforce.plugins.module_utils._sf_oauth_token import SPEC
from ansible_collections.sfops.salesforce.plugins.module_utils.module import run_module


def main():
    run_module(SPEC)


if __name__ == '__main__':
    main()

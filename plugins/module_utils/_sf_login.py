# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sf_login: log in once and return the session for later tasks.

FOR INTERNAL COLLECTION USE ONLY: the interface may change in any release.
"""

from .errors import SalesforceError
from .module import ModuleSpec


def run(module):
    client = module.client
    module.step = 'logging in with auth_method=%s' % module.params['auth_method']
    session = client.login()
    org_id, user_id = session.org_id, session.user_id
    if module.params['auth_method'] == 'access_token':
        # No token response to read the ids from: ask who the token belongs to (also proves it is valid).
        try:
            info = client.get('/services/oauth2/userinfo') or {}
        except SalesforceError as err:
            if err.status not in (401, 403):
                raise
            # userinfo answers a plain "Bad_OAuth_Token"; report it as the REST API would, with its hint.
            raise SalesforceError(err.status, 'INVALID_SESSION_ID', 'The access token was refused (%s).' % err.message)
        org_id, user_id = info.get('organization_id'), info.get('user_id')
    return dict(changed=False, instance_url=session.instance_url, access_token=session.access_token,
                api_version=session.api_version, org_id=org_id, user_id=user_id)


def fresh_login_params(params):
    """sf_login logs in: with a method that can, a given access_token is not reused (it would come back unchecked,
    without the org and user ids that only a token response or userinfo give)."""
    if params.get('auth_method') == 'access_token':
        return params
    return dict(params, access_token=None)


# register_tokens=False: returning the token is this module's job (its task must carry no_log).
SPEC = ModuleSpec('sf_login', argument_spec={}, run=run, register_tokens=False, client_params=fresh_login_params)

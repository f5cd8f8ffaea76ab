# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``SalesforceModule``: AnsibleModule + auth options + lazy client + the one error path.

FOR INTERNAL COLLECTION USE ONLY: the interface may change in any release.

Typical module::

    module = SalesforceModule(argument_spec=dict(name=dict(type='str', required=True)))
    module.execute(run)          # run(module) -> result dict; SalesforceError -> fail_from()
"""

import copy
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from .auth import AUTH_ARGSPEC, validate
from .client import HAS_REQUESTS, REQUESTS_IMPORT_ERROR, SalesforceClient
from .errors import SalesforceError, hint_for, scrub

try:
    import jwt  # noqa: F401  pylint: disable=unused-import
    HAS_JWT = True
    JWT_IMPORT_ERROR = None
except ImportError:
    HAS_JWT = False
    JWT_IMPORT_ERROR = traceback.format_exc()

SECRET_OPTIONS = ('client_secret', 'password', 'private_key', 'access_token', 'refresh_token')


def auth_argument_spec():
    """A fresh copy of the connection/auth options (callers may extend it)."""
    return copy.deepcopy(AUTH_ARGSPEC)


class SalesforceModule(AnsibleModule):
    """AnsibleModule with the connection/auth options merged in and check mode always supported."""

    def __init__(self, argument_spec=None, register_tokens=True, **kwargs):
        spec = auth_argument_spec()
        spec.update(argument_spec or {})
        kwargs.setdefault('supports_check_mode', True)
        super().__init__(argument_spec=spec, **kwargs)
        self.step = 'connecting to Salesforce'
        self._client = None
        # sf_login returns the token on purpose (its task must carry no_log); every other module masks it.
        self._register_tokens = register_tokens
        self.check_libraries()
        try:
            validate(self.params)
        except SalesforceError as err:
            self.fail_from(err, step='checking the connection options')

    def check_libraries(self):
        if not HAS_REQUESTS:
            self.fail_json(msg=missing_required_lib('requests'), exception=str(REQUESTS_IMPORT_ERROR))
        if self.params.get('auth_method') == 'jwt_bearer' and not HAS_JWT:
            # Only jwt_bearer signs anything; other flows must not need PyJWT/cryptography.
            self.fail_json(msg=missing_required_lib('PyJWT and cryptography', reason='for auth_method=jwt_bearer'), exception=JWT_IMPORT_ERROR)

    @property
    def client(self):
        """The run's SalesforceClient (created on first use; authentication happens on its first request)."""
        if self._client is None:
            register = self.no_log_values.add if self._register_tokens else None
            self._client = SalesforceClient(self.params, register_secret=register)
        return self._client

    @property
    def diff_mode(self):
        return bool(self._diff)

    def secrets(self):
        values = [self.params.get(name) for name in SECRET_OPTIONS]
        if self._client is not None and self._client.session is not None:
            values.append(self._client.session.access_token)
        return [v for v in values if v]

    def fail_from(self, error, step=None, **extra):
        """The one place that turns a SalesforceError into fail_json: what failed, errorCode, what to do."""
        step = step or self.step
        secrets = self.secrets()
        parts = ['Failed while %s: %s' % (step, error.message)]
        if error.error_code and error.error_code not in error.message:
            parts[0] += ' [%s]' % error.error_code
        if error.records and len(error.records) > 1:
            parts.append('%d rows failed, see records.' % len(error.records))
        hint = hint_for(error)
        if hint:
            parts.append('What to do: %s' % hint)
        msg = scrub(' '.join(parts), secrets)
        details = error.to_dict()
        details['records'] = [dict(r, message=scrub(r.get('message'), secrets)) for r in details['records']]
        details.update(extra)
        if self._client is not None:
            details['api_requests'] = self._client.api_requests
        self.fail_json(msg=msg, **details)

    def execute(self, run):
        """Call ``run(self)``; exit with its result dict, or fail cleanly on a SalesforceError (no traceback)."""
        try:
            result = run(self)
        except SalesforceError as err:
            self.fail_from(err)
        self.exit_json(**result)

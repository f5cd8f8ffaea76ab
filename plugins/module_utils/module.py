# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a module is (``ModuleSpec``) and the run context its code sees, wherever it runs.

FOR INTERNAL COLLECTION USE ONLY: the interface may change in any release.

A module's code (``spec.run(task)``) sees one small interface, ``task``: ``params``, ``client``, ``check_mode``,
``diff_mode``, ``step`` (words for "what failed"), ``warn()``, ``no_log_values`` and ``fail_from()``.  Two classes
provide it: ``SalesforceModule`` (an AnsibleModule, when the module runs as its own process) and
``plugin_utils.in_process.ControllerRun`` (inside the action plugin, when the task runs on the controller anyway; see
docs/design.md "Where a task runs").  ``RunContext`` holds what both share, so the client, the secrets and the one
failure message are built in one place.

Typical module::

    SPEC = ModuleSpec('sf_thing', argument_spec=dict(name=dict(type='str', required=True)), run=run)
    def main():
        run_module(SPEC)
"""

import copy
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from .auth import AUTH_ARGSPEC, validate
from .client import (HAS_REQUESTS, HAS_SIMPLE_SALESFORCE, REQUESTS_IMPORT_ERROR, SIMPLE_SALESFORCE_IMPORT_ERROR,
                     SalesforceClient)
from .errors import SalesforceError, hint_for, scrub

try:
    import jwt  # noqa: F401  pylint: disable=unused-import
    HAS_JWT = True
    JWT_IMPORT_ERROR = None
except ImportError:
    HAS_JWT = False
    JWT_IMPORT_ERROR = traceback.format_exc()

SECRET_OPTIONS = ('client_secret', 'login_password', 'private_key', 'access_token', 'refresh_token')
VALIDATION_KEYWORDS = ('mutually_exclusive', 'required_together', 'required_one_of', 'required_if', 'required_by')


def auth_argument_spec():
    """A fresh copy of the connection/auth options (callers may extend it)."""
    return copy.deepcopy(AUTH_ARGSPEC)


class ModuleSpec(object):
    """A module's options and code, shared by the module file and its action plugin.

    :param name: the module's short name (``sf_user``).
    :param argument_spec: the module's own options; the auth options are merged in.
    :param run: ``run(task) -> result dict``; raises ``SalesforceError`` for every foreseeable failure.
    :param register_tokens: add tokens obtained at run time to the no_log values (not for sf_login, which returns one).
    :param login_aliases: keep the deprecated aliases ``username``/``password`` of ``login_username``/``login_password``
        (sf_user sets False: there ``username`` is the managed user, and ``password`` would read as that user's).
        An alias that is also one of the module's own option names is always dropped.
    :param client_params: ``client_params(params) -> params`` the client logs in with (sf_login never reuses a given
        token).
    :param check: ``check(params)``: extra checks before any request; raises ``InputError``.
    :param validation: ``mutually_exclusive``, ``required_one_of``, ... as for AnsibleModule.
    """

    def __init__(self, name, argument_spec, run, register_tokens=True, login_aliases=True, client_params=None, check=None,
                 **validation):
        unknown = set(validation) - set(VALIDATION_KEYWORDS)
        if unknown:
            raise TypeError('unknown ModuleSpec keywords: %s' % ', '.join(sorted(unknown)))
        self.name = name
        self.argument_spec = auth_argument_spec()
        for option in self.argument_spec.values():
            if option.get('aliases') and (not login_aliases or set(option['aliases']) & set(argument_spec)):
                option.pop('aliases')
                option.pop('deprecated_aliases', None)
        self.argument_spec.update(argument_spec)
        self.run = run
        self.register_tokens = register_tokens
        self.client_params = client_params or (lambda params: params)
        self.check = check or (lambda params: None)
        self.validation = validation

    def missing_library(self, params):
        """(message, traceback) of a library this task needs and the running Python lacks, or None."""
        if not HAS_REQUESTS:
            return missing_required_lib('requests'), str(REQUESTS_IMPORT_ERROR)
        if not HAS_SIMPLE_SALESFORCE:
            # The REST transport (client.py); a controller without it runs the task as a module process instead.
            return missing_required_lib('simple-salesforce'), str(SIMPLE_SALESFORCE_IMPORT_ERROR)
        if params.get('auth_method') == 'jwt_bearer' and not HAS_JWT:
            # Only jwt_bearer signs anything; other flows must not need PyJWT/cryptography.
            return missing_required_lib('PyJWT and cryptography', reason='for auth_method=jwt_bearer'), JWT_IMPORT_ERROR
        return None

    def check_inputs(self, params):
        """Every check that needs no request: the auth options, then the module's own."""
        validate(params)
        self.check(params)


class RunContext(object):
    """What both runners share: the lazy client, the secrets it must never show, and the one failure message.

    Subclasses provide ``params``, ``no_log_values``, ``spec`` and ``_client = None``.
    """

    step = 'connecting to Salesforce'

    @property
    def client(self):
        """The run's SalesforceClient (created on first use; authentication happens on its first request)."""
        if self._client is None:
            register = self.no_log_values.add if self.spec.register_tokens else None
            self._client = SalesforceClient(self.spec.client_params(self.params), register_secret=register)
        return self._client

    def secrets(self):
        values = [self.params.get(name) for name in SECRET_OPTIONS]
        if self._client is not None and self._client.session is not None:
            values.append(self._client.session.access_token)
        return [v for v in values if v]

    def failure(self, error, step=None, **extra):
        """The failed result for a SalesforceError: what failed, errorCode, what to do; every secret scrubbed."""
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
        details = error.to_dict()
        details['records'] = [dict(r, message=scrub(r.get('message'), secrets)) for r in details['records']]
        details.update(extra)
        if self._client is not None:
            details['api_requests'] = self._client.api_requests
        details['msg'] = scrub(' '.join(parts), secrets)
        return details


class SalesforceModule(RunContext, AnsibleModule):
    """AnsibleModule for a ModuleSpec: auth options merged in, check mode always supported, inputs checked first."""

    def __init__(self, spec):
        super().__init__(argument_spec=spec.argument_spec, supports_check_mode=True, **spec.validation)
        self.spec = spec
        self._client = None
        missing = spec.missing_library(self.params)
        if missing:
            self.fail_json(msg=missing[0], exception=missing[1])
        try:
            spec.check_inputs(self.params)
        except SalesforceError as err:
            self.fail_from(err, step='checking the connection options')

    @property
    def diff_mode(self):
        return bool(self._diff)

    def fail_from(self, error, step=None, **extra):
        """The one place that turns a SalesforceError into fail_json."""
        self.fail_json(**self.failure(error, step, **extra))

    def execute(self):
        """Run the spec's code; exit with its result dict, or fail cleanly on a SalesforceError (no traceback)."""
        try:
            result = self.spec.run(self)
        except SalesforceError as err:
            self.fail_from(err)
        self.exit_json(**result)


def run_module(spec):
    """A module file's main(): run ``spec`` as an Ansible module."""
    SalesforceModule(spec).execute()

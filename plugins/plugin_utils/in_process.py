# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a module's code inside its action plugin when the task would run on the controller anyway.

FOR INTERNAL COLLECTION USE ONLY: the interface may change in any release.

Why: every sfops task talks HTTPS to Salesforce and nothing else, and its inventory host is an org reached with
``ansible_connection: local``.  Run as a module, each task costs a new Python process that unpacks AnsiballZ and
imports ansible.module_utils.basic, requests, simple-salesforce and PyJWT again: about 0.4-0.7 CPU-seconds per task
per org, which is what bounded a 100-org drift check (bench/results.md).  Inside the action plugin the same code
(``ModuleSpec.run``) runs in the forked worker, which inherits those imports from the controller process (the
strategy loads the action plugin class there before it forks).

It falls back to the module process, unchanged, whenever running in the worker could differ from what the
module would do: a connection other than ``local`` (the module must run where the connection leads), ``become``,
a task ``environment`` (the module's environment), ``async``, a controller Python without requests or
simple-salesforce (or PyJWT for jwt_bearer: ``ModuleSpec.missing_library``), or ``sfops_salesforce_in_process: false``.
"""

import json

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.sfops.salesforce.plugins.module_utils.errors import SalesforceError
from ansible_collections.sfops.salesforce.plugins.module_utils.module import RunContext

display = Display()

IN_PROCESS_VARIABLE = 'sfops_salesforce_in_process'


def plain_args(args):
    """The task's options as a module process receives them: JSON types, without Ansible's data tags.

    ArgumentSpecValidator deep-copies the options, and a deep copy of ansible-core's tagged values goes through
    their __reduce_ex__: about a quarter of the CPU the sfops code used per task in a drift check, against well
    under a millisecond for this round trip (cProfile, bench/README.md). Anything JSON cannot carry becomes its
    text, as a string option would take it.
    """
    return json.loads(json.dumps(dict(args), default=str))


class _Failed(Exception):
    """Carries a failed result out of the module's code (the in-process fail_json)."""

    def __init__(self, result):
        super().__init__(result.get('msg'))
        self.result = result


class ControllerRun(RunContext):
    """The module interface (``params``, ``client``, ``check_mode``, ``diff_mode``, ``step``, ``warn``,
    ``no_log_values``, ``fail_from``) inside the action plugin; see module_utils/module.py."""

    def __init__(self, spec, module_name, check_mode=False, diff_mode=False):
        self.spec = spec
        self.module_name = module_name
        self.check_mode = bool(check_mode)
        self.diff_mode = bool(diff_mode)
        self.params = {}
        self.no_log_values = set()
        self.warnings = []
        self.deprecations = []
        self._client = None

    def warn(self, warning):
        self.warnings.append(warning)

    def fail_from(self, error, step=None, **extra):
        raise _Failed(self.failure(error, step, **extra))

    def _validate(self, args):
        """Validate and coerce the options as AnsibleModule does; return an error message or None."""
        validator = ArgumentSpecValidator(self.spec.argument_spec, **self.spec.validation)
        validation = validator.validate(args)
        self.no_log_values.update(validation._no_log_values)  # pylint: disable=protected-access
        self.params = validation.validated_parameters
        for warning in validation._warnings:  # pylint: disable=protected-access
            self.warn('Both option %s and its alias %s are set.' % (warning.get('option'), warning.get('alias')))
        # A deprecated alias (username -> login_username) is reported as AnsibleModule would report it.
        self.deprecations.extend(validation._deprecations)  # pylint: disable=protected-access
        if not validation.error_messages:
            return None
        msg = validation.errors.msg
        if isinstance(validation.errors[0], UnsupportedError):
            msg = 'Unsupported parameters for (%s) module: %s' % (self.module_name, msg)
        return msg

    def execute(self, args):
        """The module's result for ``args``; never raises for a foreseeable failure, never returns a secret."""
        try:
            error = self._validate(plain_args(args))
            if error:
                result = dict(failed=True, msg=error)
            else:
                try:
                    self.spec.check_inputs(self.params)
                except SalesforceError as err:
                    self.fail_from(err, step='checking the connection options')
                try:
                    result = self.spec.run(self)
                except SalesforceError as err:
                    self.fail_from(err)
        except _Failed as failed:
            result = dict(failed.result, failed=True)
        finally:
            if self._client is not None:
                self._client.http.close()
        if self.warnings:
            result['warnings'] = list(self.warnings)
        if self.deprecations:
            result['deprecations'] = [dict(msg=d['msg'], version=d.get('version'), collection_name=d.get('collection_name'))
                                      for d in self.deprecations]
        return remove_values(result, self.no_log_values)


class SalesforceAction(ActionBase):
    """Action plugin of one sfops module: its code in the worker, or the module process where that could differ."""

    SPEC = None  # the module's ModuleSpec, set by each action plugin
    _supports_check_mode = True
    _supports_async = True

    def module_process_reason(self, task_vars):
        """Why this task must run as a module process, or None when it runs in the worker."""
        wanted = self._templar.template(task_vars.get(IN_PROCESS_VARIABLE, True))
        if not boolean(wanted, strict=False):
            return '%s is false' % IN_PROCESS_VARIABLE
        if self._connection.transport != 'local':
            return 'the connection is %s, not local' % self._connection.transport
        if self._play_context.become:
            return 'become is set'
        # Ansible keeps a list of the environment of the task and its blocks and play ([{}] when none is set).
        if any(self._task.environment or []):
            return 'the task sets environment'
        if self._task.async_val:
            return 'the task is async'
        # Only the auth method decides which library is needed; the options are validated later, either way.
        auth_method = self._task.args.get('auth_method') or 'jwt_bearer'
        missing = self.SPEC.missing_library({'auth_method': auth_method})
        if missing:
            return 'the controller Python lacks a library (%s)' % missing[0]
        return None

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        module_name = self._task.resolved_action or self._task.action
        reason = self.module_process_reason(task_vars)
        if reason is None:
            if self.SPEC is None:
                raise AnsibleActionFail('%s has no ModuleSpec' % module_name)
            display.vvvv('%s runs in the controller worker (connection local)' % module_name,
                         host=task_vars.get('inventory_hostname'))
            run = ControllerRun(self.SPEC, module_name, check_mode=self._task.check_mode, diff_mode=self._task.diff)
            result.update(run.execute(self._task.args))
            return result
        display.vvv('%s runs as a module process: %s' % (module_name, reason), host=task_vars.get('inventory_hostname'))
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result.update(self._execute_module(module_name=module_name, task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)  # pylint: disable=protected-access
        return result

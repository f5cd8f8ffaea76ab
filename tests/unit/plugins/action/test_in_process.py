# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a task runs: in the action plugin (the controller's worker) or as the module process.

The results of both paths are compared test by test in tests/unit/plugins/modules (the run_module fixture runs
every module test both ways) and end to end in tests/integration/test_in_process.py."""

from unittest import mock

import pytest

from ansible_collections.sfops.salesforce.plugins.action.sf_org_info import ActionModule as OrgInfoAction
from ansible_collections.sfops.salesforce.plugins.action.sf_login import ActionModule as LoginAction
from ansible_collections.sfops.salesforce.plugins.module_utils import module as module_utils_module
from ansible_collections.sfops.salesforce.plugins.plugin_utils import in_process
from ansible_collections.sfops.salesforce.tests.unit.fake_salesforce import TOKEN, FakeOrg, install

AUTH = {'auth_method': 'client_credentials', 'client_id': 'CID', 'client_secret': 'CLIENT-SECRET-VALUE',
        'instance_url': 'https://fake.my.salesforce.com', 'retries': 0}


def action(cls=OrgInfoAction, transport='local', become=False, environment=None, async_val=0, args=None, check_mode=False):
    task = mock.MagicMock()
    task.environment = [{}] if environment is None else environment  # what Ansible passes when none is set
    task.async_val = async_val
    task.args = dict(AUTH, **(args or {}))
    task.check_mode = check_mode
    task.diff = True
    task.resolved_action = 'sfops.salesforce.' + cls.SPEC.name
    connection = mock.MagicMock()
    connection.transport = transport
    connection.has_native_async = False
    play_context = mock.MagicMock()
    play_context.become = become
    templar = mock.MagicMock()
    templar.template.side_effect = lambda value: value
    return cls(task, connection, play_context, loader=mock.MagicMock(), templar=templar, shared_loader_obj=None)


def test_a_local_task_runs_in_the_worker():
    assert action().module_process_reason({}) is None


@pytest.mark.parametrize('kwargs, task_vars, words', [
    (dict(transport='ssh'), {}, 'connection is ssh'),
    (dict(become=True), {}, 'become'),
    (dict(environment=[{}, {'HTTPS_PROXY': 'http://proxy:3128'}]), {}, 'environment'),
    (dict(environment=['{{ proxy_env }}']), {}, 'environment'),
    (dict(async_val=30), {}, 'async'),
    ({}, {'sfops_salesforce_in_process': False}, 'sfops_salesforce_in_process'),
    ({}, {'sfops_salesforce_in_process': 'no'}, 'sfops_salesforce_in_process'),
])
def test_what_sends_a_task_to_the_module_process(kwargs, task_vars, words):
    assert words in action(**kwargs).module_process_reason(task_vars)


def test_a_controller_without_requests_falls_back_to_the_module(monkeypatch):
    monkeypatch.setattr(module_utils_module, 'HAS_REQUESTS', False)
    assert 'requests' in action().module_process_reason({})


def test_a_controller_without_simple_salesforce_falls_back_to_the_module(monkeypatch):
    monkeypatch.setattr(module_utils_module, 'HAS_SIMPLE_SALESFORCE', False)
    assert 'simple-salesforce' in action().module_process_reason({})


def test_jwt_bearer_without_pyjwt_falls_back_but_other_flows_do_not(monkeypatch):
    monkeypatch.setattr(module_utils_module, 'HAS_JWT', False)
    assert 'PyJWT' in action(args={'auth_method': 'jwt_bearer'}).module_process_reason({})
    assert action().module_process_reason({}) is None


def test_in_the_worker_no_module_process_is_started(monkeypatch):
    org = install(monkeypatch, FakeOrg())
    plugin = action(args={'gather': ['limits']})
    with mock.patch.object(plugin, '_execute_module') as execute_module:
        result = plugin.run(task_vars={})
    execute_module.assert_not_called()
    assert result['changed'] is False and 'daily_api_requests' in result['org']['limits']
    assert org.token_requests == 1


def test_the_fallback_runs_the_module_itself():
    plugin = action(transport='ssh', args={'gather': ['limits']})
    with mock.patch.object(plugin, '_execute_module', return_value={'changed': False, 'org': {}}) as execute_module, \
            mock.patch.object(plugin, '_remove_tmp_path'), \
            mock.patch.object(in_process.ControllerRun, 'execute') as in_worker:
        result = plugin.run(task_vars={})
    in_worker.assert_not_called()
    assert execute_module.call_args.kwargs['module_name'] == 'sfops.salesforce.sf_org_info'
    assert result['org'] == {}


def test_check_mode_reaches_the_code(monkeypatch):
    install(monkeypatch, FakeOrg())
    plugin = action(check_mode=True)
    seen = {}

    def spy(task):
        seen['check_mode'], seen['diff_mode'] = task.check_mode, task.diff_mode
        return {'changed': False}

    with mock.patch.object(OrgInfoAction.SPEC, 'run', spy):
        plugin.run(task_vars={})
    assert seen == {'check_mode': True, 'diff_mode': True}


def test_a_misspelt_option_fails_like_the_module():
    result = action(args={'gaher': ['limits']}).run(task_vars={})
    assert result['failed'] is True
    assert result['msg'].startswith('Unsupported parameters for (sfops.salesforce.sf_org_info) module: gaher.')


def test_no_secret_in_a_failed_result(monkeypatch):
    install(monkeypatch, FakeOrg())
    result = action(args={'instance_url': 'http://fake.my.salesforce.com'}).run(task_vars={})
    assert result['failed'] is True and 'http://' in result['msg']
    assert 'CLIENT-SECRET-VALUE' not in repr(result)


def test_sf_login_returns_its_token_and_other_modules_never_do(monkeypatch):
    install(monkeypatch, FakeOrg())
    assert action(cls=LoginAction).run(task_vars={})['access_token'] == TOKEN
    result = action(args={'gather': ['limits']}).run(task_vars={})
    assert TOKEN not in repr(result)

# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import json
import sys

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.sfops.salesforce.plugins.plugin_utils.in_process import ControllerRun
from ansible_collections.sfops.salesforce.tests.unit.fake_salesforce import FakeOrg, install

AUTH = {'auth_method': 'client_credentials', 'client_id': 'CID', 'client_secret': 'CLIENT-SECRET-VALUE',
        'instance_url': 'https://fake.my.salesforce.com', 'retries': 0}


@pytest.fixture(autouse=True)
def module_process(monkeypatch):
    """Model the module process: this test process also imports the controller side (the action plugins), which
    makes ansible.module_utils send AnsibleModule.warn() to the controller's display instead of the result."""
    from ansible.module_utils import _internal
    monkeypatch.setattr(_internal, 'is_controller', False)


@pytest.fixture
def org(monkeypatch):
    return install(monkeypatch, FakeOrg())


class Result(dict):
    """The module's result dict; ``.out`` is everything it printed (to look for leaked secrets)."""

    out = ''


@pytest.fixture(params=['module', 'in_process'])
def run_module(request, capsys):
    """Run a module with args (auth merged in); return its Result.

    Every test that uses this fixture runs twice: as the module process (``main()``), and as its action plugin runs
    it on the controller (``ControllerRun`` with the module's ``SPEC``, see plugins/plugin_utils/in_process.py), so
    both paths must give the same result for the same org.
    """

    def _run_module(main, full):
        with patch_module_args(full):
            with pytest.raises(SystemExit):
                main()
        out = capsys.readouterr().out
        result = Result(json.loads(out))
        result.out = out
        return result

    def _run_in_process(main, full, check_mode, diff):
        spec = sys.modules[main.__module__].SPEC
        run = ControllerRun(spec, 'sfops.salesforce.' + spec.name, check_mode=check_mode, diff_mode=diff)
        result = Result(run.execute(full))
        # What the controller would carry on (callbacks, registered variables): the whole result.
        result.out = json.dumps(result) + capsys.readouterr().out
        return result

    def _run(main, args, check_mode=False, diff=True):
        full = dict(AUTH, **args)
        if request.param == 'in_process':
            return _run_in_process(main, full, check_mode, diff)
        full['_ansible_check_mode'] = check_mode
        full['_ansible_diff'] = diff
        return _run_module(main, full)

    return _run

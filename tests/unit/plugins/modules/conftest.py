# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.sfops.salesforce.tests.unit.fake_salesforce import FakeOrg, install

AUTH = {'auth_method': 'client_credentials', 'client_id': 'CID', 'client_secret': 'CLIENT-SECRET-VALUE',
        'instance_url': 'https://fake.my.salesforce.com', 'retries': 0}


@pytest.fixture(autouse=True)
def module_process(monkeypatch):
    """Model the module process: when one pytest process also runs the controller-side tests (the action plugins),
    ansible.module_utils sends AnsibleModule.warn() to the controller's display instead of the result."""
    from ansible.module_utils import _internal
    monkeypatch.setattr(_internal, 'is_controller', False)


@pytest.fixture
def org(monkeypatch):
    return install(monkeypatch, FakeOrg())


class Result(dict):
    """The module's result dict; ``.out`` is everything it printed (to look for leaked secrets)."""

    out = ''


@pytest.fixture
def run_module(capsys):
    """Run a module's main() with args (auth merged in); return its Result.

    tests/unit/plugins/action/test_in_process_*.py run the tests that use this fixture again, in process (the
    action plugin's path), with the fixture of the same name in tests/unit/plugins/action/conftest.py: ansible-test
    runs module tests without the controller's code, so that half cannot live here.
    """

    def _run(main, args, check_mode=False, diff=True):
        full = dict(AUTH, **args)
        full['_ansible_check_mode'] = check_mode
        full['_ansible_diff'] = diff
        with patch_module_args(full):
            with pytest.raises(SystemExit):
                main()
        out = capsys.readouterr().out
        result = Result(json.loads(out))
        result.out = out
        return result

    return _run

# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures of the same names as tests/unit/plugins/modules/conftest.py, for running module tests in process: the
module's ModuleSpec through ControllerRun, as its action plugin runs it for a task whose connection is local."""

import json
import sys

import pytest

from ansible_collections.sfops.salesforce.plugins.plugin_utils.in_process import ControllerRun
from ansible_collections.sfops.salesforce.tests.unit.fake_salesforce import FakeOrg, install

AUTH = {'auth_method': 'client_credentials', 'client_id': 'CID', 'client_secret': 'CLIENT-SECRET-VALUE',
        'instance_url': 'https://fake.my.salesforce.com', 'retries': 0}


@pytest.fixture
def org(monkeypatch):
    return install(monkeypatch, FakeOrg())


class Result(dict):
    """The result dict; ``.out`` is what the controller would carry on (callbacks, registered variables) plus
    anything printed, to look for leaked secrets."""

    out = ''


@pytest.fixture
def run_module(capsys):
    """Run a module's code in process, given the module's main (its file's SPEC is used); return its Result."""

    def _run(main, args, check_mode=False, diff=True):
        spec = sys.modules[main.__module__].SPEC
        run = ControllerRun(spec, 'sfops.salesforce.' + spec.name, check_mode=check_mode, diff_mode=diff)
        result = Result(run.execute(dict(AUTH, **args)))
        result.out = json.dumps(result) + capsys.readouterr().out
        return result

    return _run

# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest

from ansible_collections.sfops.salesforce.plugins.module_utils import planning


def test_close_matches_case_insensitive_keeps_spelling():
    assert planning.close_matches('api enabeld', ['API Enabled', 'View Setup']) == ['API Enabled']
    assert planning.did_you_mean('zzz', ['Account']) == ''
    assert planning.did_you_mean('Acount', ['Account', 'Contact']).startswith(' Did you mean: Account')


@pytest.mark.parametrize('selected, expected', [
    (['c'], (['a', 'b', 'c'], ['a', 'b'])),   # transitive
    (['a'], (['a'], [])),
    (['c', 'a'], (['a', 'b', 'c'], ['b'])),
    ([], ([], [])),
])
def test_closure(selected, expected):
    requires = {'c': ['b'], 'b': ['a']}
    assert planning.closure(selected, requires) == expected


def test_closure_cycle_terminates():
    assert planning.closure(['x'], {'x': ['y'], 'y': ['x']}) == (['x', 'y'], ['y'])


def test_dependents():
    assert planning.dependents(['a'], {'b': ['a'], 'c': ['b'], 'd': []}, ['b', 'c', 'd']) == ['b', 'c']

# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest

from ansible_collections.sfops.salesforce.plugins.module_utils import planning


@pytest.mark.parametrize('current, desired, expected', [
    ({'a': 1, 'b': 2}, {'a': 1, 'b': 3}, ['b']),
    ({'a': 1}, {'a': None, 'b': 2}, ['b']),
    (None, {'a': 1}, ['a']),
    ({'a': 1}, {}, []),
])
def test_changed_keys(current, desired, expected):
    assert planning.changed_keys(current, desired) == expected


def test_diff_of_only_changed_keys():
    assert planning.diff_of({'a': 1, 'b': 2, 'c': 3}, {'a': 1, 'b': 5, 'c': 3}) == {'before': {'b': 2}, 'after': {'b': 5}}
    assert planning.diff_of({'a': 1}, {'a': 2, 'b': 3}, keys=['a']) == {'before': {'a': 1}, 'after': {'a': 2}}


@pytest.mark.parametrize('current, desired, purge, expected', [
    (['a', 'b'], ['b', 'c'], False, (['c'], [])),
    (['a', 'b'], ['b', 'c'], True, (['c'], ['a'])),
    (['a'], None, True, ([], [])),          # None = unmanaged, even with purge
    (['a'], [], True, ([], ['a'])),          # explicit empty list + purge = remove all
    ([], ['a', 'a'], False, (['a'], [])),
])
def test_reconcile(current, desired, purge, expected):
    assert planning.reconcile(current, desired, purge) == expected


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

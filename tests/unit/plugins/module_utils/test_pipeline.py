# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The resource pipeline: the purge rule, what a Plan reports, and what run() does with it (no org needed)."""

import pytest

from ansible_collections.sfops.salesforce.plugins.module_utils._pipeline import Plan, Resource, reconcile
from ansible_collections.sfops.salesforce.plugins.module_utils.errors import SalesforceError


@pytest.mark.parametrize('current, desired, purge, expected', [
    (['a', 'b'], ['b', 'c'], False, (['c'], [])),
    (['a', 'b'], ['b', 'c'], True, (['c'], ['a'])),
    (['a'], None, True, ([], [])),          # None = unmanaged, even with purge
    (['a'], [], True, ([], ['a'])),          # explicit empty list + purge = remove all
    (['a'], [], False, ([], [])),            # explicit empty list without purge = add nothing
    ([], ['a', 'a'], False, (['a'], [])),
])
def test_reconcile(current, desired, purge, expected):
    assert reconcile(current, desired, purge) == expected


class Thing(Resource):
    RESULT_KEY = 'thing'
    LISTS = ('members',)
    NOUN = 'thing'

    def __init__(self, task, current, fail_after=None):
        super().__init__(task)
        self.current, self.fail_after, self.sent = current, fail_after, []

    def read(self):
        return self.current

    def plan(self, current):
        plan = Plan(self, after=dict(current))
        plan.set('label', current['label'], self.params['label'])
        add, remove = plan.reconcile('members', current['members'], self.params['members'], self.params['purge_members'])
        plan.state = dict(current, label=self.params['label'], members=sorted((set(current['members']) | set(add)) - set(remove)))
        plan.writes = {'add': add, 'remove': remove}
        return plan

    def apply(self, plan):
        for kind in ('add', 'remove'):
            if plan.writes[kind]:
                if kind == self.fail_after:
                    raise SalesforceError(400, 'FIELD_INTEGRITY_EXCEPTION', 'refused')
                self.sent.append(kind)
                plan.applied[kind] = plan.writes[kind]


class Task(object):
    def __init__(self, params, check_mode=False, diff_mode=True):
        self.params, self.check_mode, self.diff_mode = params, check_mode, diff_mode
        self.client, self.step, self.warnings, self.failure = None, None, [], None

    def warn(self, text):
        self.warnings.append(text)

    def fail_from(self, error, step=None, **extra):
        self.failure = dict(extra, msg=error.message)
        raise RuntimeError('failed')


CURRENT = {'name': 'x', 'label': 'Old', 'members': ['a', 'b']}


def run(params, check_mode=False, fail_after=None):
    task = Task(dict({'name': 'x', 'label': 'Old', 'members': None, 'purge_members': False}, **params), check_mode)
    thing = Thing(task, CURRENT, fail_after)
    return thing, task, thing.run()


def test_converged_run_changes_nothing_and_says_so():
    thing, _task, result = run({'members': ['a']})
    assert result['changed'] is False and 'diff' not in result and thing.sent == []
    assert result['added'] == {'members': []} and result['removed'] == {'members': []}
    assert result['msg'] == 'No change: thing x is as requested.'


def test_diff_holds_only_what_changes():
    _thing, _task, result = run({'label': 'New', 'members': ['a', 'c'], 'purge_members': True})
    assert result['diff'] == {'before': {'label': 'Old', 'members': {'b': True, 'c': False}},
                              'after': {'label': 'New', 'members': {'b': False, 'c': True}}}
    assert result['added'] == {'members': ['c']} and result['removed'] == {'members': ['b']}
    assert result['thing'] == {'name': 'x', 'label': 'New', 'members': ['a', 'c']}
    assert result['msg'] == 'Updated thing x: label, members +1 -1.'


def test_check_mode_never_applies():
    thing, _task, result = run({'members': ['c']}, check_mode=True)
    assert result['changed'] is True and thing.sent == [] and result['msg'].startswith('Would update thing x')


def test_a_refused_write_after_a_saved_one_fails_as_changed_and_names_what_was_applied():
    task = Task(dict({'name': 'x', 'label': 'Old', 'members': ['c'], 'purge_members': True}))
    thing = Thing(task, CURRENT, 'remove')
    with pytest.raises(RuntimeError):
        thing.run()
    assert thing.sent == ['add']
    assert task.failure == {'changed': True, 'applied': {'add': ['c']}, 'msg': 'refused'}


def test_drop_narrows_the_result_to_what_was_written():
    plan = Plan(Thing(Task({'name': 'x'}), CURRENT))
    plan.set('label', 'Old', 'New')
    assert plan.changed
    plan.drop('label')
    assert not plan.changed and plan.diff() == {'before': {}, 'after': {}}


def test_create_and_delete_diffs():
    plan = Plan(Thing(Task({'name': 'x'}), CURRENT))
    plan.create({'name': 'x'})
    assert plan.diff() == {'before': {'state': 'absent'}, 'after': {'name': 'x', 'state': 'present'}} and plan.changed
    plan = Plan(Thing(Task({'name': 'x'}), CURRENT))
    plan.delete({'name': 'x'})
    assert plan.diff() == {'before': {'name': 'x', 'state': 'present'}, 'after': {'state': 'absent'}} and plan.state is None

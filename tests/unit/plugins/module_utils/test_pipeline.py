# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The resource pipeline: the purge rule, what a Plan reports, and what run() does with it (no org needed)."""

import pytest

from ansible_collections.sfops.salesforce.plugins.module_utils._pipeline import Plan, Resource, is_conflict, reconcile
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


# --- overlapping runs: a write refused because another writer changed the org since the read -----------------------
class Racing(Resource):
    """A member list in a shared ``org``; ``rivals`` ({write: change}) is what another run writes just before this
    run's write of that kind (once)."""

    RESULT_KEY = 'thing'
    LISTS = ('members',)
    NOUN = 'thing'

    def __init__(self, task, org, rivals):
        super().__init__(task)
        self.org, self.rivals, self.sent = org, dict(rivals), []

    def read(self):
        return {'label': self.org['label'], 'members': sorted(self.org['members'])}

    def plan(self, current):
        plan = Plan(self)
        plan.set('label', current['label'], self.params['label'])
        add, remove = plan.reconcile('members', current['members'], self.params['members'], True)
        plan.state = {'label': self.params['label'], 'members': sorted((set(current['members']) | set(add)) - set(remove))}
        plan.writes = {'add': add, 'remove': remove, 'label': current['label'] != self.params['label']}
        return plan

    def apply(self, plan):
        for kind, code, have in (('add', 'DUPLICATE_VALUE', True), ('remove', 'ENTITY_IS_DELETED', False)):
            items = plan.writes[kind]
            if not items:
                continue
            self.rivals.pop(kind, lambda org: None)(self.org)
            if any((item in self.org['members']) == have for item in items):
                self.task.step = 'writing %s' % kind
                raise SalesforceError(400, code, 'refused', records=[{'error_code': code}])
            self.org['members'] = (self.org['members'] | set(items)) if have else (self.org['members'] - set(items))
            self.sent.append((kind, items))
            plan.applied['added' if have else 'removed'] = {'members': items}
        if plan.writes['label']:
            self.org['label'] = self.params['label']
            self.sent.append(('label', self.params['label']))

    def conflict_error(self, error):
        return SalesforceError(error.status, error.error_code, 'held elsewhere')


class FailingTask(Task):
    def fail_from(self, error, step=None, **extra):
        self.failure = dict(extra, msg=error.message, error_code=error.error_code, step=self.step)
        raise RuntimeError('failed')


def race(members, rivals, label='Old', org_members=('a', 'b')):
    task = FailingTask({'name': 'x', 'label': label, 'members': members})
    org = {'label': 'Old', 'members': set(org_members)}
    return Racing(task, org, rivals), task, org


def test_a_duplicate_made_by_another_run_is_taken_as_done():
    def rival(org):
        org['members'].add('c')
    thing, task, org = race(['a', 'b', 'c'], {'add': rival})
    result = thing.run()
    assert org['members'] == {'a', 'b', 'c'} and thing.sent == [] and task.failure is None
    # The other run added it: this run wrote nothing, and says why it did not fail.
    assert result['changed'] is False and result['thing'] == {'label': 'Old', 'members': ['a', 'b', 'c']}
    assert len(task.warnings) == 1 and 'DUPLICATE_VALUE' in task.warnings[0] and 'writing add' in task.warnings[0]


def test_after_a_duplicate_the_run_carries_on_with_what_is_still_missing():
    def rival(org):
        org['members'].add('c')
    thing, task, org = race(['a', 'b', 'c'], {'add': rival}, label='New')
    result = thing.run()
    assert thing.sent == [('label', 'New')] and org['label'] == 'New'
    assert result['changed'] is True and result['added'] == {'members': []} and result['diff']['after'] == {'label': 'New'}


def test_a_row_already_gone_after_a_saved_write_still_reports_the_saved_write():
    def rival(org):
        org['members'].discard('b')
    thing, task, org = race(['a', 'c'], {'remove': rival})
    result = thing.run()
    assert org['members'] == {'a', 'c'} and thing.sent == [('add', ['c'])]
    # What this run saved before the refusal is in the result; the removal was someone else's.
    assert result['changed'] is True and result['added'] == {'members': ['c']} and result['removed'] == {'members': []}
    assert 'ENTITY_IS_DELETED' in task.warnings[0]


def test_a_duplicate_that_re_reading_does_not_explain_fails_with_the_code():
    # Refused, yet not there: the clash is with something this resource does not read (another org, another label).
    thing, task, _org = race(['a', 'b', 'c'], {})
    thing.apply = _refuse_always(thing)
    with pytest.raises(RuntimeError):
        thing.run()
    assert task.failure == {'changed': False, 'applied': {}, 'msg': 'held elsewhere', 'error_code': 'DUPLICATE_VALUE',
                            'step': 'creating c'}
    assert thing.sent == ['attempt']  # one write, one re-read, no second attempt of the same write


def _refuse_always(thing):
    def apply(plan):
        thing.task.step = 'creating c'
        thing.sent.append('attempt')
        raise SalesforceError(400, 'DUPLICATE_VALUE', 'duplicate value found')
    return apply


def test_conflicts_stop_after_the_last_round():
    thing, task, _org = race(['a', 'b', 'c'], {})
    attempts = []

    def apply(plan):
        attempts.append(1)
        thing.org['members'].add('z%d' % len(attempts))  # the org moves every time: always a new plan
        raise SalesforceError(400, 'DUPLICATE_VALUE', 'duplicate value found')
    thing.apply = apply
    with pytest.raises(RuntimeError):
        thing.run()
    assert len(attempts) == 3 and task.failure['error_code'] == 'DUPLICATE_VALUE'
    assert task.failure['msg'] == 'duplicate value found'


def test_other_refusals_are_not_retried():
    thing, task, _org = race(['a', 'b', 'c'], {})
    attempts = []

    def apply(plan):
        attempts.append(1)
        raise SalesforceError(400, 'FIELD_INTEGRITY_EXCEPTION', 'refused')
    thing.apply = apply
    with pytest.raises(RuntimeError):
        thing.run()
    assert attempts == [1] and task.failure['error_code'] == 'FIELD_INTEGRITY_EXCEPTION'


@pytest.mark.parametrize('code, conflict', [
    ('DUPLICATE_USERNAME', True), ('DUPLICATE_VALUE', True), ('DUPLICATE_DEVELOPER_NAME', True),
    ('DUPLICATE_MASTER_LABEL', True), ('ENTITY_IS_DELETED', True), ('NOT_FOUND', True),
    ('INVALID_CROSS_REFERENCE_KEY', True), ('unsupported_token_type', True),
    ('FIELD_INTEGRITY_EXCEPTION', False), ('UNABLE_TO_LOCK_ROW', False), (None, False),
])
def test_is_conflict(code, conflict):
    assert is_conflict(SalesforceError(400, code, 'x')) is conflict
    assert is_conflict(SalesforceError(400, 'ALL_OR_NONE_OPERATION_ROLLED_BACK', 'x', records=[{'error_code': code}])) is conflict

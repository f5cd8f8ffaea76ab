# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one resource pipeline every state-changing module runs through: read, plan, apply.

FOR INTERNAL COLLECTION USE ONLY: the interface may change in any release.

A module body is a ``Resource`` subclass with three methods:

- ``read()``: what the org holds now (one composite where it can); raises ``SalesforceError``.
- ``plan(current)``: a ``Plan`` of what must change: before/after per changed key, the items added to or removed from
  each list option, the resource's after state, and whatever ``apply`` needs.  It makes no write: bad input found
  here fails before the first write.
- ``apply(plan)``: the writes (never called in check mode, nor when nothing changes).  It may return the re-read after
  state.  Each write that Salesforce saved is recorded with ``plan.applied``, so a refused write after saved ones fails
  with ``changed=true`` and names what was applied.

Everything else is decided here, once for every module: ``changed``, check mode (zero writes: ``apply`` is not
called), the diff (only the changed keys), the return shape (the resource under ``RESULT_KEY`` in its after state,
``added``/``removed`` as ``{list option: [items]}`` with a key for every list the module manages, ``msg``),
warnings, and failures (every ``SalesforceError`` goes through the runner's ``fail_from``, which scrubs secrets).

Overlapping runs converge here too, for every body: when Salesforce refuses a write because the org changed since the
read (a create refused as a duplicate, a delete or revocation of a row that is already gone:
``CONFLICT_ERROR_CODES``), the resource is read and planned again and the new plan is applied, so the run that lost the
race carries on as an update instead of failing or writing a second row.  When the new plan is the same as the refused
one, the record in the way is not the one this task manages (a username taken in another org, a label another
permission set uses): the run fails with the body's ``conflict_error`` and Salesforce's error code.

Typical body (see ``_sf_permission_set_assignment.py`` for a complete small one)::

    class Thing(Resource):
        RESULT_KEY = 'thing'
        LISTS = ('members',)
        def read(self): ...
        def plan(self, current):
            plan = Plan(self)
            plan.set('label', current['label'], self.params['label'])
            plan.reconcile('members', current['members'], self.params['members'], self.params['purge_members'])
            return plan
        def apply(self, plan): ...

    SPEC = Thing.spec(argument_spec=dict(...))
"""

from .client import GONE_ERROR_CODES
from .errors import SalesforceError
from .module import ModuleSpec
from .retry import DUPLICATE_ERROR_CODES

# A write refused because another writer got there first: the row exists (duplicate) or is already gone
# (``unsupported_token_type`` is the revoke endpoint's answer for a token that is no longer there, Help "Revoke OAuth
# Tokens").
CONFLICT_ERROR_CODES = DUPLICATE_ERROR_CODES + GONE_ERROR_CODES + ('unsupported_token_type',)
# Attempts of apply() in one run: the first, then one per re-read (two overlapping runs need one; a third writer two).
APPLY_ROUNDS = 3


def is_conflict(error):
    """Whether ``error`` (a SalesforceError) is a write refused because the org changed since it was read."""
    codes = [error.error_code] + [r.get('error_code') for r in error.records]
    return any(code in CONFLICT_ERROR_CODES for code in codes)


def reconcile(current, desired, purge=False):
    """One purge rule for every list option (amazon.aws's): ``(to_add, to_remove)``, both sorted.

    ``desired`` None = the list is unmanaged: nothing is added or removed, whatever ``purge`` says.  A given list adds
    what is missing; with ``purge`` it also removes what is not listed, so ``[]`` with purge means "exactly none".
    """
    if desired is None:
        return [], []
    current, desired = set(current or ()), set(desired)
    return sorted(desired - current), (sorted(current - desired) if purge else [])


class Plan(object):
    """What a run changes (or would change, in check mode).  Built by ``Resource.plan``, read by the pipeline."""

    def __init__(self, resource, after=None):
        self.resource = resource
        self.before = {}
        self.after = {}
        self.added = dict((name, []) for name in resource.LISTS)
        self.removed = dict((name, []) for name in resource.LISTS)
        self.state = after            # the resource's after state (what RESULT_KEY returns)
        self.action = None            # 'create', 'delete' or None (an update is any other change)
        self.forced = False           # a change no key shows (e.g. a password reset)
        self.extra = {}               # the module's own result keys
        self.warnings = []
        self.applied = {}             # what apply() saved so far: {what: items}
        self.writes = {}              # what apply() needs (rows, ids): private to the body

    # --- recording changes ----------------------------------------------------------------------------------
    def set(self, key, before, after):
        """Record ``key`` as changing from ``before`` to ``after`` (nothing happens when they are equal)."""
        if before != after:
            self.before[key], self.after[key] = before, after
        return before != after

    def list_change(self, option, added=(), removed=(), diff=True):
        """Items added to / removed from the list option ``option``.  The diff shows only the items that flip, as
        ``{item: held}`` before and after (a list of 300 field names is not repeated because one changed); a body
        whose items carry more than "held or not" passes ``diff=False`` and records its own before/after."""
        added, removed = set(added), set(removed)
        self.added[option] = sorted(set(self.added[option]) | added)
        self.removed[option] = sorted(set(self.removed[option]) | removed)
        for item in sorted(added | removed) if diff else ():
            self.before.setdefault(option, {})[item] = item in removed
            self.after.setdefault(option, {})[item] = item in added

    def reconcile(self, option, current, desired, purge):
        """The purge rule (``reconcile`` above) applied to ``option``; records the change, returns (to_add, to_remove)."""
        to_add, to_remove = reconcile(current, desired, purge)
        self.list_change(option, to_add, to_remove)
        return to_add, to_remove

    def drop(self, key):
        """Forget the change of ``key`` (apply found it cannot be written: the result must not claim it)."""
        self.before.pop(key, None)
        self.after.pop(key, None)

    def create(self, after):
        """The resource does not exist and will be created as ``after``."""
        self.action, self.state = 'create', after
        self.before, self.after = {'state': 'absent'}, dict(after, state='present')

    def delete(self, before):
        """The resource exists as ``before`` and will be deleted."""
        self.action, self.state = 'delete', None
        self.before, self.after = dict(before, state='present'), {'state': 'absent'}

    # --- what the pipeline reads -----------------------------------------------------------------------------
    @property
    def changed(self):
        return bool(self.action or self.before or self.after or self.forced
                    or any(self.added.values()) or any(self.removed.values()))

    def diff(self):
        return {'before': self.before, 'after': self.after}

    def same_as(self, other):
        """Whether ``other`` would make the same change (what run() compares after re-reading for a conflict)."""
        return ((self.action, self.before, self.after, self.added, self.removed)
                == (other.action, other.before, other.after, other.added, other.removed))

    def carry(self, earlier):
        """Take over what ``earlier`` (this run's refused plan) had already saved: the result still reports it."""
        self.applied = dict(earlier.applied, **self.applied)
        self.forced = self.forced or bool(earlier.applied)
        for kind in ('added', 'removed'):
            saved = earlier.applied.get(kind)
            for option, items in (saved.items() if isinstance(saved, dict) else ()):
                if option in self.added:
                    self.list_change(option, **{kind: items})
        self.warnings = earlier.warnings + [w for w in self.warnings if w not in earlier.warnings]


class Resource(object):
    """Base of every module body.  Subclasses set ``RESULT_KEY``, ``LISTS`` and ``NOUN`` and implement
    read/plan/apply; ``describe()`` names the resource in messages ("permission set Planhat_Integration")."""

    RESULT_KEY = None
    LISTS = ()
    NOUN = 'resource'

    def __init__(self, task):
        self.task = task
        self.params = task.params
        self.client = task.client

    # --- the body's interface -------------------------------------------------------------------------------
    def read(self):
        raise NotImplementedError

    def plan(self, current):
        raise NotImplementedError

    def apply(self, plan):
        raise NotImplementedError

    def describe(self):
        return '%s %s' % (self.NOUN, self.params.get('name'))

    def step(self, text):
        """What the run is doing now: the failure message starts with it ("Failed while ...")."""
        self.task.step = text

    # --- the pipeline ---------------------------------------------------------------------------------------
    def run(self):
        task = self.task
        self.step('reading %s' % self.describe())
        current = self.read()
        self.step('planning the changes of %s' % self.describe())
        plan = self.plan(current)
        after = None
        if plan.changed and not task.check_mode:
            plan, after = self._apply(plan)
        self._warn(plan)
        # Read after apply, which may narrow the plan to what Salesforce accepted (Plan.drop).
        result = {'changed': plan.changed, self.RESULT_KEY: plan.state if after is None else after,
                  'added': plan.added, 'removed': plan.removed}
        if plan.changed and task.diff_mode:
            result['diff'] = plan.diff()
        result.update(plan.extra)
        result['msg'] = self.message(plan, task.check_mode)
        return result

    def _apply(self, plan):
        """apply(), converging with a concurrent writer (see the module docstring); returns (plan, after)."""
        attempt = 1
        while True:
            try:
                return plan, self.apply(plan)
            except SalesforceError as err:
                if not is_conflict(err) or attempt == APPLY_ROUNDS:
                    self._fail(plan, err)
                refused, step = err, self.task.step
            attempt += 1
            self.step('reading %s again after %s was refused (%s)' % (self.describe(), step, refused.error_code))
            try:
                again = self.plan(self.read())
            except SalesforceError as err:
                self._fail(plan, err)
            if not plan.applied and again.same_as(plan):
                # What Salesforce found is not what this task manages: re-reading changed nothing.
                self.task.step = step
                self._fail(plan, self.conflict_error(refused))
            pending = again.changed
            again.carry(plan)
            again.warnings.append('Salesforce refused %s with %s: another run changed %s meanwhile, so it was read again '
                                  'and the run carried on from what the org holds now.' % (step, refused.error_code, self.describe()))
            plan = again
            if not pending:
                return plan, None

    def _fail(self, plan, err):
        self._warn(plan)
        # Writes Salesforce already saved stay saved: the failure must not say "changed: false".
        self.task.fail_from(err, changed=bool(plan.applied), applied=plan.applied)

    def conflict_error(self, error):
        """The failure for a duplicate or missing row that re-reading did not explain (a body may say more)."""
        return error

    def _warn(self, plan):
        for warning in plan.warnings:
            self.task.warn(warning)
        plan.warnings = []

    def message(self, plan, check_mode):
        """One line a person reads in the task output: what changed (or would), or that nothing had to."""
        what = self.describe()
        if not plan.changed:
            return 'No change: %s is as requested.' % what
        verb = {'create': 'create', 'delete': 'delete'}.get(plan.action, 'update')
        parts = [k for k in sorted(set(plan.before) | set(plan.after)) if k not in self.LISTS and k != 'state']
        if plan.action:
            parts = []
        for option in self.LISTS:
            counts = ['+%d' % len(plan.added[option])] if plan.added[option] else []
            counts += ['-%d' % len(plan.removed[option])] if plan.removed[option] else []
            if counts:
                parts.append('%s %s' % (option, ' '.join(counts)))
        text = ('Would %s %s' % (verb, what)) if check_mode else ('%sd %s' % (verb.capitalize(), what))
        return text + (': %s.' % ', '.join(parts) if parts else '.')

    @classmethod
    def spec(cls, argument_spec, **kwargs):
        """The module's ModuleSpec: its options, with this pipeline as the code."""
        return ModuleSpec(kwargs.pop('name'), argument_spec, run=lambda task: cls(task).run(), **kwargs)

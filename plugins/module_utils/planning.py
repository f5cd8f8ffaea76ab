# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure planning helpers: close matches and dependency closure (set reconciliation is _pipeline.reconcile).

FOR INTERNAL COLLECTION USE ONLY: the interface may change in any release.

No I/O here: every function is table-tested in tests/unit/plugins/module_utils/test_planning.py.
"""

import difflib


def close_matches(word, candidates, n=3, cutoff=0.6):
    """Close matches of ``word`` among ``candidates``, case-insensitive, original spelling returned."""
    by_lower = {}
    for cand in candidates:
        by_lower.setdefault(str(cand).lower(), cand)
    found = difflib.get_close_matches(str(word).lower(), list(by_lower), n=n, cutoff=cutoff)
    return [by_lower[f] for f in found]


def did_you_mean(word, candidates, n=3):
    """Text suffix ``" Did you mean: A, B?"`` or ``""``."""
    found = close_matches(word, candidates, n=n)
    return ' Did you mean: %s?' % ', '.join(found) if found else ''


def closure(selected, requires):
    """Dependency closure.

    :param selected: iterable of names the user asked for.
    :param requires: ``{name: iterable of names it requires}`` (transitive requirements followed).
    :returns: (all names needed as a sorted list, implied names = needed but not selected, sorted).
    """
    needed = set(selected)
    stack = list(needed)
    while stack:
        name = stack.pop()
        for dep in requires.get(name, ()):
            if dep not in needed:
                needed.add(dep)
                stack.append(dep)
    return sorted(needed), sorted(needed - set(selected))


def dependents(removed, requires, remaining):
    """Names in ``remaining`` that require something in ``removed`` (transitively) - they must go too."""
    gone = set(removed)
    changed = True
    while changed:
        changed = False
        for name in remaining:
            if name not in gone and any(dep in gone for dep in requires.get(name, ())):
                gone.add(name)
                changed = True
    return sorted(gone - set(removed))

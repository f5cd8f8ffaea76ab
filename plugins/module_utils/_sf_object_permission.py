# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sf_object_permission: object and field permissions of a permission set (the module's code, on the pipeline).

FOR INTERNAL COLLECTION USE ONLY: the interface may change in any release.

Read: one composite with the PermissionSet query and its ObjectPerms/FieldPerms child subqueries, the
ObjectPermissions describe (its SobjectType restricted picklist lists the objects that can carry permissions) and
the describe of each object whose fields are managed.  Write: at most one sObject Collections call each for
update, create and delete (200 rows per call).  Revoking is deleting the row: Salesforce deletes an all-false
ObjectPermissions row by itself, and FieldPermissions needs read at minimum, so an all-false write is never sent.
"""

from .client import soql_quote
from .errors import InputError, SalesforceError
from ._pipeline import Plan, Resource
from .permissions import OBJECT_FLAGS, check_objects, field_level, field_row_fields, object_row_fields, object_row_flags

OBJ_FIELDS = ', '.join(['Id', 'SobjectType'] + [f for _n, f in OBJECT_FLAGS])
FIELD_FIELDS = 'Id, SobjectType, Field, PermissionsRead, PermissionsEdit'


def _synthetic(row):
    # Rows implied by View All Data / Modify All Data come back with Ids starting 000 and cannot be written.
    return str(row.get('Id') or '').startswith('000')


def _children(client, parent, rel):
    sub = parent.get(rel) or {}
    records = list(sub.get('records') or [])
    while not sub.get('done', True) and sub.get('nextRecordsUrl'):
        sub = client.get(sub['nextRecordsUrl'])
        records.extend(sub.get('records') or [])
    return records


def describe_subrequests(client, objects):
    """Describe subrequests that the check of ``objects`` (permissions.check_objects) needs and this run has not
    cached yet: ObjectPermissions (its SobjectType picklist) as ``targets``, and each object whose fields are listed as
    ``d0``, ``d1``, ...  Describes are not queries, so they do not count toward a composite's five queries.

    :returns: (subrequests, lower-case names of the described objects, in the order of their references).
    """
    subs = []
    if client.cached_describe('ObjectPermissions') is None:
        subs.append(client.sub_describe('targets', 'ObjectPermissions'))
    wanted = []
    for obj in objects:
        if obj.get('fields') and obj['name'].lower() not in wanted and client.cached_describe(obj['name']) is None:
            wanted.append(obj['name'].lower())
    for index, obj_name in enumerate(wanted):
        subs.append(client.sub_describe('d%d' % index, obj_name))
    return subs, wanted


def take_describes(client, objects, wanted, res):
    """The answers to describe_subrequests in ``res`` (a composite result): remembered for the run.

    :returns: (ObjectPermissions describe, ``{object lower-case: describe or SalesforceError}``).
    :raises SalesforceError: when the ObjectPermissions describe failed.
    """
    if isinstance(res.get('targets'), SalesforceError):
        raise res['targets']
    if 'targets' in res:
        client.remember_describe('ObjectPermissions', res['targets'])
    describes = {}
    for index, obj_name in enumerate(wanted):
        body = res.get('d%d' % index)
        if isinstance(body, dict):
            client.remember_describe(obj_name, body)
        describes[obj_name] = body
    for obj in objects:
        key = obj['name'].lower()
        if key not in describes and client.cached_describe(key) is not None:
            describes[key] = client.cached_describe(key)
    return client.cached_describe('ObjectPermissions'), describes


def read(client, name, objects):
    """Return (permission set row or None, ObjectPermissions describe, {object lower: describe or SalesforceError})."""
    subs = [
        client.sub_query('ps', 'SELECT Id, Name, IsOwnedByProfile, (SELECT %s FROM ObjectPerms), (SELECT %s FROM FieldPerms) '
                               'FROM PermissionSet WHERE Name = %s' % (OBJ_FIELDS, FIELD_FIELDS, soql_quote(name))),
    ]
    describe_subs, wanted = describe_subrequests(client, objects)
    res = client.composite(subs + describe_subs, allow_errors=True)
    if isinstance(res.get('ps'), SalesforceError):
        raise res['ps']
    targets_describe, describes = take_describes(client, objects, wanted, res)
    rows = res['ps'].get('records') or []
    row = rows[0] if rows else None
    if row is not None:
        row = dict(row, ObjectPerms=_children(client, row, 'ObjectPerms'), FieldPerms=_children(client, row, 'FieldPerms'))
    return row, targets_describe, describes


class ObjectPermissions(Resource):
    RESULT_KEY = 'object_permissions'
    # ``objects`` items are object names, ``fields`` items are Object.Field names.
    LISTS = ('objects', 'fields')

    def describe(self):
        return 'the object permissions of permission set %s' % self.params['permission_set']

    def read(self):
        objects = self.params['objects'] or []
        row, targets_describe, describes = read(self.client, self.params['permission_set'], objects)
        # Names are checked against the describes before anything is planned: a typo fails before the first write.
        return row, check_objects(objects, targets_describe, describes)

    def plan(self, current):
        p = self.params
        row, wanted = current
        plan = Plan(self)
        plan.extra.update(updated={'objects': [], 'fields': []}, implied=[])
        if row is None:
            if not self.task.check_mode:
                raise InputError('Permission set %s does not exist.' % p['permission_set'],
                                 hint='Create it first with sfops.salesforce.sf_permission_set (run that task before this one).')
            plan.warnings.append('Permission set %s does not exist yet; reporting every permission as to be added.' % p['permission_set'])
            row = {'Id': None, 'ObjectPerms': [], 'FieldPerms': []}
        rows = _RowPlan(plan, row['Id'])
        cur_obj = dict((r['SobjectType'], r) for r in row['ObjectPerms'] if not _synthetic(r))
        cur_fld = dict((r['Field'], r) for r in row['FieldPerms'] if not _synthetic(r))
        listed = set()
        for (obj, flags, implied, fields), entry in zip(wanted, p['objects'] or []):
            listed.add(obj)
            plan.extra['implied'].extend(implied)
            rows.object(obj, flags, cur_obj.get(obj))
            for full, level in fields.items():
                rows.field(obj, full, level, cur_fld.get(full))
            # The purge rule: an entry without ``fields`` leaves that object's field permissions unmanaged.
            if p['purge_fields'] and entry.get('fields') is not None:
                for full, frow in cur_fld.items():
                    if full.split('.', 1)[0] == obj and full not in fields:
                        rows.field(obj, full, 'none', frow)
        # The purge rule: without ``objects`` nothing is purged; ``objects: []`` with purge_objects removes everything.
        if p['purge_objects'] and p['objects'] is not None:
            for obj, orow in cur_obj.items():
                if obj not in listed:
                    rows.object(obj, {}, orow)
            for full, frow in cur_fld.items():
                # Field permissions of an object that is not listed go with it: access to that object is being purged.
                if full.split('.', 1)[0] not in listed:
                    rows.field(full.split('.', 1)[0], full, 'none', frow)
        # Salesforce checks "Read on a master-detail child needs Read on its master" row by row, so a child's row must
        # go before its master's. The module has no describe of purged objects (it would cost a request), so custom
        # objects, the usual detail side, are deleted first [infer]; a master that is itself custom may still need a
        # second run, and the error names the pair.
        plan.writes['removed'].sort(key=lambda row_id: not rows.custom.get(row_id, False))
        objects, fields = _after_state(cur_obj, cur_fld, plan.after)
        plan.state = objects
        plan.extra['field_permissions'] = fields
        return plan

    def apply(self, plan):
        self.step('writing %s' % self.describe())
        # Each batch is all-or-none on its own; one refused after another was saved fails with what was applied.
        for key, send in (('updated', self.client.collections_update), ('added', self.client.collections_create),
                          ('removed', self.client.collections_delete)):
            if plan.writes.get(key):
                send(plan.writes[key])
                plan.applied[key] = plan.extra['updated'] if key == 'updated' else getattr(plan, key)


class _RowPlan(object):
    """Turns wanted access into ObjectPermissions/FieldPermissions rows to create, update or delete, on one Plan.

    The diff is keyed ``objects`` -> {object: flags or None} and ``fields`` -> {Object.Field: level}; an object or field
    without a row is None / ``none``.
    """

    def __init__(self, plan, parent_id):
        self.plan, self.parent_id = plan, parent_id
        self.custom = {}  # row id -> whether it is a custom object's row (field rows count as custom: they go first)
        plan.writes = {'added': [], 'updated': [], 'removed': []}

    def _record(self, kind, name, before, after, change):
        self.plan.before.setdefault(kind, {})[name] = before
        self.plan.after.setdefault(kind, {})[name] = after
        if change == 'updated':
            self.plan.extra['updated'][kind].append(name)
        else:
            self.plan.list_change(kind, **{change: [name], 'diff': False})

    def object(self, obj, flags, current):
        want = any(flags.values())
        writes = self.plan.writes
        if current is None:
            if want:
                writes['added'].append(dict({'attributes': {'type': 'ObjectPermissions'}, 'ParentId': self.parent_id,
                                             'SobjectType': obj}, **object_row_fields(flags)))
                self._record('objects', obj, None, flags, 'added')
            return
        have = object_row_flags(current)
        if not want:
            writes['removed'].append(current['Id'])
            self.custom[current['Id']] = obj.endswith('__c')
            self._record('objects', obj, have, None, 'removed')
        elif have != flags:
            writes['updated'].append(dict({'attributes': {'type': 'ObjectPermissions'}, 'Id': current['Id']},
                                          **object_row_fields(flags)))
            changed = [k for k in flags if flags[k] != have[k]]
            self._record('objects', obj, dict((k, have[k]) for k in changed), dict((k, flags[k]) for k in changed), 'updated')

    def field(self, obj, full, level, current):
        have = field_level(current) if current else 'none'
        if have == level:
            return
        writes = self.plan.writes
        if current is None:
            writes['added'].append(dict({'attributes': {'type': 'FieldPermissions'}, 'ParentId': self.parent_id,
                                         'SobjectType': obj, 'Field': full}, **field_row_fields(level)))
            change = 'added'
        elif level == 'none':
            writes['removed'].append(current['Id'])
            self.custom[current['Id']] = True
            change = 'removed'
        else:
            writes['updated'].append(dict({'attributes': {'type': 'FieldPermissions'}, 'Id': current['Id']},
                                          **field_row_fields(level)))
            change = 'updated'
        self._record('fields', full, have, level, change)


def _after_state(cur_obj, cur_fld, after):
    """Current rows with the planned changes applied (the would-be state in check mode)."""
    objects = dict((k, object_row_flags(v)) for k, v in cur_obj.items())
    fields = dict((k, field_level(v)) for k, v in cur_fld.items())
    for key, value in after.get('fields', {}).items():
        if value == 'none':
            fields.pop(key, None)
        else:
            fields[key] = value
    for key, value in after.get('objects', {}).items():
        if value is None:
            objects.pop(key, None)
        else:
            merged = objects.get(key) or dict((n, False) for n, _f in OBJECT_FLAGS)
            merged.update(value)
            objects[key] = merged
    return objects, fields


def object_entry_options():
    """Sub-options of one ``objects`` entry (also sf_org_info's ``validate_objects``): a fresh dict each call."""
    return dict(
        name=dict(type='str', required=True),
        read=dict(type='bool', default=False),
        create=dict(type='bool', default=False),
        edit=dict(type='bool', default=False),
        delete=dict(type='bool', default=False),
        view_all=dict(type='bool', default=False),
        modify_all=dict(type='bool', default=False),
        fields=dict(type='dict'),
    )


SPEC = ObjectPermissions.spec(
    name='sf_object_permission',
    argument_spec=dict(
        permission_set=dict(type='str', required=True),
        objects=dict(type='list', elements='dict', options=object_entry_options()),
        purge_objects=dict(type='bool', default=False),
        purge_fields=dict(type='bool', default=False),
    ),
)

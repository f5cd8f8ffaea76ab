# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sf_object_permission: read (one composite), validate, plan, batched writes.

FOR INTERNAL COLLECTION USE ONLY: the interface may change in any release.

Read: one composite with the PermissionSet query and its ObjectPerms/FieldPerms child subqueries, the
ObjectPermissions describe (its SobjectType restricted picklist lists the objects that can carry permissions) and
the describe of each object whose fields are managed.  Write: at most one sObject Collections call each for
update, create and delete (200 rows per call).  Revoking is deleting the row: Salesforce deletes an all-false
ObjectPermissions row by itself, and FieldPermissions needs read at minimum, so an all-false write is never sent.
"""

from .client import soql_quote
from .module import ModuleSpec
from .errors import InputError, SalesforceError
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


def run(module):
    p = module.params
    client = module.client
    module.step = 'reading permissions of permission set %s' % p['permission_set']
    objects = p['objects'] or []
    row, targets_describe, describes = read(client, p['permission_set'], objects)
    plan = check_objects(objects, targets_describe, describes)
    result = dict(changed=False, added=[], removed=[], updated=[], implied=[])
    if row is None:
        if not module.check_mode:
            raise InputError('Permission set %s does not exist.' % p['permission_set'],
                             hint='Create it first with sfops.salesforce.sf_permission_set (run that task before this one).')
        module.warn('Permission set %s does not exist yet; reporting every permission as to be added.' % p['permission_set'])
        row = {'Id': None, 'ObjectPerms': [], 'FieldPerms': []}

    cur_obj = dict((r['SobjectType'], r) for r in row['ObjectPerms'] if not _synthetic(r))
    cur_fld = dict((r['Field'], r) for r in row['FieldPerms'] if not _synthetic(r))
    creates, updates, deletes = [], [], []
    before, after = {}, {}
    listed_objects = set()
    for obj, flags, implied, fields in plan:
        listed_objects.add(obj)
        result['implied'].extend(implied)
        _plan_object(obj, flags, cur_obj.get(obj), row['Id'], creates, updates, deletes, result, before, after)
        for full, level in fields.items():
            _plan_field(obj, full, level, cur_fld.get(full), row['Id'], creates, updates, deletes, result, before, after)
        if p['purge_fields']:
            for full, frow in cur_fld.items():
                if full.split('.', 1)[0] == obj and full not in fields:
                    _plan_field(obj, full, 'none', frow, row['Id'], creates, updates, deletes, result, before, after)
    if p['purge_objects']:
        for obj, orow in cur_obj.items():
            if obj not in listed_objects:
                _plan_object(obj, {}, orow, row['Id'], creates, updates, deletes, result, before, after)
        for full, frow in cur_fld.items():
            # Field permissions of an object that is not listed go with it: access to that object is being purged.
            if full.split('.', 1)[0] not in listed_objects:
                _plan_field(full.split('.', 1)[0], full, 'none', frow, row['Id'], creates, updates, deletes, result, before, after)

    result['object_permissions'], result['field_permissions'] = _after_state(cur_obj, cur_fld, after)
    if creates or updates or deletes:
        result['changed'] = True
        if module.diff_mode:
            result['diff'] = {'before': before, 'after': after}
        if not module.check_mode:
            module.step = 'writing permissions of permission set %s' % p['permission_set']
            _write(module, client, result, (('updated', updates, client.collections_update),
                                            ('added', creates, client.collections_create),
                                            ('removed', deletes, client.collections_delete)))
    return result


def _write(module, client, result, batches):
    """Send each batch (each is all-or-none on its own). When one is refused, the batches before it are already saved
    in the org, so the failure reports them as applied and changed, never "changed: false" after a partial write."""
    applied = {}
    for key, rows, send in batches:
        if not rows:
            continue
        try:
            send(rows)
        except SalesforceError as err:
            module.fail_from(err, changed=bool(applied), applied=applied)
        applied[key] = result[key]


def _plan_object(obj, flags, current, parent_id, creates, updates, deletes, result, before, after):
    want = any(flags.values())
    if current is None:
        if want:
            creates.append(dict({'attributes': {'type': 'ObjectPermissions'}, 'ParentId': parent_id, 'SobjectType': obj}, **object_row_fields(flags)))
            result['added'].append(obj)
            before[obj], after[obj] = None, flags
        return
    have = object_row_flags(current)
    if not want:
        deletes.append(current['Id'])
        result['removed'].append(obj)
        before[obj], after[obj] = have, None
    elif have != flags:
        updates.append(dict({'attributes': {'type': 'ObjectPermissions'}, 'Id': current['Id']}, **object_row_fields(flags)))
        result['updated'].append(obj)
        changed = [k for k in flags if flags[k] != have[k]]
        before[obj] = dict((k, have[k]) for k in changed)
        after[obj] = dict((k, flags[k]) for k in changed)


def _plan_field(obj, full, level, current, parent_id, creates, updates, deletes, result, before, after):
    have = field_level(current) if current else 'none'
    if have == level:
        return
    if current is None:
        creates.append(dict({'attributes': {'type': 'FieldPermissions'}, 'ParentId': parent_id, 'SobjectType': obj, 'Field': full},
                            **field_row_fields(level)))
        result['added'].append(full)
    elif level == 'none':
        deletes.append(current['Id'])
        result['removed'].append(full)
    else:
        updates.append(dict({'attributes': {'type': 'FieldPermissions'}, 'Id': current['Id']}, **field_row_fields(level)))
        result['updated'].append(full)
    before[full], after[full] = have, level


def _after_state(cur_obj, cur_fld, after):
    """Current rows with the planned changes applied (the would-be state in check mode)."""
    objects = dict((k, object_row_flags(v)) for k, v in cur_obj.items())
    fields = dict((k, field_level(v)) for k, v in cur_fld.items())
    for key, value in after.items():
        if '.' in key:
            if value == 'none':
                fields.pop(key, None)
            else:
                fields[key] = value
        elif value is None:
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
        fields=dict(type='dict', default={}),
    )


SPEC = ModuleSpec(
    'sf_object_permission',
    argument_spec=dict(
        permission_set=dict(type='str', required=True),
        objects=dict(type='list', elements='dict', default=[], options=object_entry_options()),
        purge_objects=dict(type='bool', default=False),
        purge_fields=dict(type='bool', default=False),
    ),
    run=run,
)

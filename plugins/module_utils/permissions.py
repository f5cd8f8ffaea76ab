# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Permission names and rules: system permissions (Setup label <-> API name), object and field permission closure.

FOR INTERNAL COLLECTION USE ONLY: the interface may change in any release.

Pure functions over describe results; nothing here talks to Salesforce.
"""

from .errors import InputError, SalesforceError
from .planning import closure, did_you_mean

PREFIX = 'Permissions'

# --- The permission rules: the one table the collection and its emulator share ------------------------------------
# SYSTEM_DEPENDENCIES, INTRODUCED_IN, OBJECT_FLAGS and OBJECT_REQUIRES below are the only copy.  sfemu (the emulator
# every test runs against) reads these four literals from this file with ast.literal_eval, without importing it
# (sfemu/src/sfemu/rules.py), so the modules and the emulator cannot drift apart.  They live here, as plain Python
# literals, because this file ships in the collection and Ansible packs module_utils *.py files into each module:
# a data file next to it would not reach the module, and the collection must stay installable without sfemu.
# Keep them literals (dict, tuple, str) with a source per entry; sfemu/docs/rules.md lists the same sources.

# Dependencies Salesforce enforces on PermissionSet system permissions through the API: it does not enable them
# for you, it rejects the write with FIELD_INTEGRITY_EXCEPTION "Permission X depends on permission(s): Y".
# Keys and values are API names without the "Permissions" prefix.
SYSTEM_DEPENDENCIES = {
    # [real] jsforce issue #749: "Permission ManageUsers depends on permission(s): ViewRoles".
    'ManageUsers': ('ViewRoles',),
    # [3rd] Pendula "Activity Sync Integration Permission Set": View Roles and Role Hierarchy "Required by View Setup
    # and Configuration"; Planhat's guide: View Roles is "auto-enabled" by View Setup; a public deploy log quoting
    # "Permission ViewSetup depends on ViewRoles".  Every real profile/permission set with ViewSetup in
    # AlexShmellyoff/Arbutus@4d7b8a6 and Epic-ATS/NightlyBackup@75e301d (20 of 20) also has ViewRoles.
    'ViewSetup': ('ViewRoles',),
    # [doc] Salesforce Help 000321298: Modify All Data includes View All Data; the API does not enable it for you.
    'ModifyAllData': ('ViewAllData',),
    # [3rd] public setup guide: "ViewAllData depends on permission(s)" ViewEventLogFiles, ViewPublicDashboards,
    # ViewPublicReports (the same three are on in every real set with ViewAllData in the two repositories above).
    'ViewAllData': ('ViewEventLogFiles', 'ViewPublicDashboards', 'ViewPublicReports'),
    # [3rd] FIELD_INTEGRITY_EXCEPTION quoted in a public repo: "EditActivatedOrders requires ActivateOrder".
    'EditActivatedOrders': ('ActivateOrder',),
    # [3rd] Pendula (same guide): Manage Custom Permissions "Required by the Customize Application permission"
    # (2 of 2 real sets with CustomizeApplication in the repositories above also have it).
    'CustomizeApplication': ('ManageCustomPermissions',),
    # [infer] the permission editor enables API Enabled with API Only User; without API access the user could not log in.
    'ApiUserOnly': ('ApiEnabled',),
}
# Known but org-feature dependent, so not applied (they would grant more than asked in orgs without the feature):
# CustomizeApplication -> ManageTranslation (Translation Workbench on; [real] NPSP PR #3979; off in both real
# CustomizeApplication sets above), CustomizeApplication -> ManageTerritories (territory management on; [3rd]).

# Permissions that exist only from some API version on: named in the error when the describe in use lacks them.
# sfemu takes the first version of its PermissionSet describe that has the field from here (its setting
# approve_uninstalled_apps_since defaults to this value).
# [doc] Summer '26 (67.0) field reference lists PermissionsCanApproveUninstalledApps (shared reference 1.2); [real] the
# field is absent from a real v63 PermissionSet describe (j-schreiber/js-sf-cli-security-audit@e9d8a08) and [3rd]
# was reported missing in late-2025 orgs; v64-v66 are unknown.
INTRODUCED_IN = {
    'CanApproveUninstalledApps': ('Approve Uninstalled Connected Apps', '67.0'),
}

# ObjectPermissions flags: option name -> field.  Rules from the Object Reference (ObjectPermissions field
# descriptions): create/edit/view_all need read, delete needs read and edit, modify_all needs read, edit, delete
# and view_all.
OBJECT_FLAGS = (
    ('read', 'PermissionsRead'),
    ('create', 'PermissionsCreate'),
    ('edit', 'PermissionsEdit'),
    ('delete', 'PermissionsDelete'),
    ('view_all', 'PermissionsViewAllRecords'),
    ('modify_all', 'PermissionsModifyAllRecords'),
)
OBJECT_REQUIRES = {
    'create': ('read',),
    'edit': ('read',),
    'delete': ('read', 'edit'),
    'view_all': ('read',),
    'modify_all': ('read', 'edit', 'delete', 'view_all'),
}
FIELD_LEVELS = ('none', 'read', 'edit')


def strip_prefix(field_name):
    return field_name[len(PREFIX):] if field_name.startswith(PREFIX) else field_name


class SystemPermissionCatalog(object):
    """System permissions of PermissionSet as the describe of the API version in use reports them."""

    def __init__(self, describe, api_version):
        self.api_version = api_version
        self.labels = {}  # API name (no prefix) -> label
        self.updateable = set()
        for field in describe.get('fields') or []:
            name = field.get('name') or ''
            if not name.startswith(PREFIX) or field.get('type') != 'boolean':
                continue
            short = strip_prefix(name)
            self.labels[short] = field.get('label') or short
            if field.get('updateable', True):
                self.updateable.add(short)
        self._index = {}
        for short, label in self.labels.items():
            for key in (short, PREFIX + short, label):
                self._index.setdefault(key.lower(), short)

    def __contains__(self, short):
        return short in self.labels

    def resolve(self, name):
        """``API Enabled`` / ``ApiEnabled`` / ``PermissionsApiEnabled`` -> ``ApiEnabled``; None when unknown."""
        return self._index.get(str(name).strip().lower())

    def resolve_all(self, names):
        """Resolve every name or raise one InputError listing all unknown names with close matches."""
        resolved, problems = [], []
        for name in names:
            short = self.resolve(name)
            if short is None:
                problems.append(self._unknown(name))
            elif short not in self.updateable:
                problems.append('%r (%s) is read-only on PermissionSet and cannot be granted.' % (name, PREFIX + short))
            elif short not in resolved:
                resolved.append(short)
        if problems:
            raise InputError('Unknown system permission(s) for API %s: %s' % (self.api_version, ' '.join(problems)),
                             hint='Use the Setup label (for example "API Enabled") or the API name (ApiEnabled or PermissionsApiEnabled) '
                                  'as listed by GET sobjects/PermissionSet/describe for this api_version.')
        return resolved

    def _unknown(self, name):
        key = strip_prefix(str(name).strip()).replace(' ', '').lower()
        for short, (label, version) in INTRODUCED_IN.items():
            if key in (short.lower(), label.replace(' ', '').lower()):
                return '%r exists only from API %s on (field %s%s); this org answered for API %s: set api_version to %s or later.' % (
                    name, version, PREFIX, short, self.api_version, version)
        candidates = list(self.labels) + list(self.labels.values())
        return '%r is not a PermissionSet permission.%s' % (name, did_you_mean(name, candidates))

    def with_dependencies(self, shorts):
        """(needed, implied): the dependency closure, restricted to permissions this org knows."""
        requires = dict((k, [d for d in v if d in self.labels]) for k, v in SYSTEM_DEPENDENCIES.items())
        return closure(shorts, requires)

    def dependents_of(self, shorts):
        """Permissions that require any of ``shorts`` (so they cannot stay on when those go)."""
        return sorted(k for k, deps in SYSTEM_DEPENDENCIES.items() if set(deps) & set(shorts))


def check_system_permissions(describe, api_version, names):
    """The check sf_permission_set makes before any write (and sf_org_info's validate_system_permissions).

    :param describe: the PermissionSet describe of ``api_version``.
    :returns: (catalog, requested API names, needed = requested + dependencies, implied = the added dependencies).
    :raises InputError: naming every unknown or read-only name, with close matches.
    """
    catalog = SystemPermissionCatalog(describe or {}, api_version)
    requested = catalog.resolve_all(names or [])
    needed, implied = catalog.with_dependencies(requested)
    return catalog, requested, needed, implied


def object_closure(flags):
    """Apply the ObjectPermissions rules to ``{flag: bool}``; return (closed flags, implied flag names)."""
    selected = [name for name, _field in OBJECT_FLAGS if flags.get(name)]
    needed, implied = closure(selected, OBJECT_REQUIRES)
    return dict((name, name in needed) for name, _field in OBJECT_FLAGS), implied


def object_row_flags(row):
    """ObjectPermissions record -> ``{flag: bool}``."""
    return dict((name, bool(row.get(field))) for name, field in OBJECT_FLAGS)


def object_row_fields(flags):
    """``{flag: bool}`` -> ObjectPermissions field values."""
    return dict((field, bool(flags.get(name))) for name, field in OBJECT_FLAGS)


def field_level(row):
    """FieldPermissions record -> 'edit' | 'read' | 'none'."""
    if row.get('PermissionsEdit'):
        return 'edit'
    return 'read' if row.get('PermissionsRead') else 'none'


def field_row_fields(level):
    # Edit requires read (Object Reference, FieldPermissions): 'edit' always carries read.
    return {'PermissionsRead': level in ('read', 'edit'), 'PermissionsEdit': level == 'edit'}


def picklist_values(describe, field_name):
    for field in describe.get('fields') or []:
        if field.get('name') == field_name:
            return [v.get('value') for v in field.get('picklistValues') or [] if v.get('active', True)]
    return []


def check_field(object_name, field_name, level, describe):
    """Validate one field of ``object_name`` against its describe; return (canonical 'Object.Field', problem or None)."""
    short = field_name.split('.', 1)[1] if field_name.lower().startswith(object_name.lower() + '.') else field_name
    fields = dict((f.get('name', '').lower(), f) for f in describe.get('fields') or [])
    info = fields.get(short.lower())
    if info is None:
        names = [f.get('name') for f in describe.get('fields') or []]
        return '%s.%s' % (object_name, short), 'field %s.%s does not exist.%s' % (object_name, short, did_you_mean(short, names))
    canonical = '%s.%s' % (describe.get('name') or object_name, info['name'])
    if not info.get('permissionable', False):
        return canonical, ('field %s has no field permissions (not permissionable): Salesforce keeps no field-level security for it, so '
                           'it is always accessible with access to the object (name, status, required, system and master-detail fields '
                           'are like this).' % canonical)
    # Real orgs hold the field-level security of an address on the compound field only (Account.BillingAddress,
    # never Account.BillingCountry), although the describe flags the parts permissionable too: name the compound.
    compound = fields.get((info.get('compoundFieldName') or '').lower())
    if compound is not None and compound.get('type') == 'address':
        return canonical, ('field %s is part of the address %s.%s, which holds its field-level security: list %s.%s instead.'
                           % (canonical, describe.get('name') or object_name, compound['name'], describe.get('name') or object_name,
                              compound['name']))
    # Formula and auto-number fields (and fields nobody can write) only take read (Object Reference, FieldPermissions).
    # An address compound is not written itself, but its edit is what lets a user write the parts.
    read_only = info.get('type') != 'address' and (
        info.get('calculated') or info.get('autoNumber') or (not info.get('updateable', True) and not info.get('createable', True)))
    if level == 'edit' and read_only:
        return canonical, 'field %s is read-only (formula, auto-number or system field): use read, not edit.' % canonical
    return canonical, None


def check_objects(objects, targets_describe, describes):
    """Canonicalise object and field names and check them before any write (sf_object_permission, and
    sf_org_info's validate_objects).

    :param objects: entries of sf_object_permission's ``objects`` option (name, flags, fields).
    :param targets_describe: the ObjectPermissions describe (its SobjectType picklist: objects that carry permissions).
    :param describes: ``{object name lower-case: describe or SalesforceError}`` for each object whose fields are listed.
    :returns: list of ``(object name, {flag: bool} closed, implied flags, {canonical field: level})``.
    :raises InputError: naming every unknown object or field, with close matches.
    """
    targets = picklist_values(targets_describe or {}, 'SobjectType')
    by_lower = dict((t.lower(), t) for t in targets)
    problems, plan, seen = [], [], set()
    for obj in objects:
        raw = obj['name']
        canonical = by_lower.get(raw.lower()) if targets else raw
        if canonical is None:
            canonical, problem = _field_only_object(obj, describes.get(raw.lower()), targets)
            if problem:
                problems.append(problem)
                continue
        if canonical.lower() in seen:
            problems.append('object %s is listed twice.' % canonical)
            continue
        seen.add(canonical.lower())
        flags, implied = object_closure(dict((n, obj.get(n)) for n, _f in OBJECT_FLAGS))
        fields = {}
        for fname, level in (obj.get('fields') or {}).items():
            level = str(level).lower()
            if level not in FIELD_LEVELS:
                problems.append('field %s.%s: level %r must be one of %s.' % (canonical, fname, level, ', '.join(FIELD_LEVELS)))
                continue
            describe = describes.get(raw.lower())
            if isinstance(describe, SalesforceError) or describe is None:
                problems.append('object %s could not be described (%s).' % (canonical, describe))
                break
            full, problem = check_field(canonical, fname, level, describe)
            if problem:
                problems.append(problem)
            else:
                fields[full] = level
        plan.append((canonical, flags, ['%s.%s' % (canonical, i) for i in implied], fields))
    if problems:
        raise InputError('Invalid objects or fields: %s' % ' '.join(problems),
                         hint='Use API names as in Setup > Object Manager (for example Account, Invoice__c, Account.Industry); '
                              'field levels are read, edit or none.')
    return plan


def _field_only_object(obj, describe, targets):
    """An object outside ObjectPermissions.SobjectType: (canonical name, None) when the entry asks for field
    permissions only and the object exists (Task, Event, OpportunityLineItem, OrderItem and User take field
    permissions but no object permissions: their record access follows the parent record or a system permission),
    else (None, problem)."""
    raw = obj['name']
    flags = [name for name, _field in OBJECT_FLAGS if obj.get(name)]
    if isinstance(describe, dict) and describe.get('name') and obj.get('fields') and not flags:
        return describe['name'], None
    if isinstance(describe, dict) and describe.get('name'):
        return None, ('object %s cannot carry object permissions (not in ObjectPermissions.SobjectType): its record access follows '
                      'the parent record or a system permission (View All Users for User, Edit Tasks for Task); drop %s and keep '
                      'only its fields.' % (describe['name'], ', '.join(flags) or 'the entry'))
    return None, ('object %r is unknown or cannot carry object permissions (not in ObjectPermissions.SobjectType).%s'
                  % (raw, did_you_mean(raw, targets)))

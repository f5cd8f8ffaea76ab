# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A small in-memory Salesforce org for unit tests, plugged in at the ``requests.Session`` level.

Supports what the modules send: the token endpoint, a SOQL subset (SELECT with parent fields and child subqueries,
WHERE with =, IN and AND), describe, sObject CRUD, composite (with ``@{ref.records[0].Id}`` references) and sObject
Collections, with the error shapes of the REST API.  It records every call so tests can assert the kinds and number
of requests.  It is deliberately not the emulator (sfemu): unit tests must run without a server.
"""

import copy
import itertools
import json
import re
from urllib.parse import parse_qs, unquote, urlsplit

CHILDREN = {
    ('PermissionSet', 'Assignments'): ('PermissionSetAssignment', 'PermissionSetId'),
    ('PermissionSet', 'ObjectPerms'): ('ObjectPermissions', 'ParentId'),
    ('PermissionSet', 'FieldPerms'): ('FieldPermissions', 'ParentId'),
    ('User', 'PermissionSetAssignments'): ('PermissionSetAssignment', 'AssigneeId'),
}
PARENTS = {'Profile': 'ProfileId', 'PermissionSet': 'PermissionSetId', 'Assignee': 'AssigneeId', 'Parent': 'ParentId', 'User': 'UserId'}
PREFIXES = {'PermissionSet': '0PS', 'PermissionSetAssignment': '0Pa', 'ObjectPermissions': '110', 'FieldPermissions': '01k',
            'User': '005', 'Profile': '00e', 'PermissionSetLicense': '0PL', 'UserLicense': '100', 'Organization': '00D',
            'ConnectedApplication': '0H4', 'OauthToken': '0CQ', 'SetupEntityAccess': '0J0'}
PERMISSION_LABELS = {
    'ApiEnabled': 'API Enabled', 'ApiUserOnly': 'API Only User', 'ViewSetup': 'View Setup and Configuration',
    'ViewRoles': 'View Roles and Role Hierarchy', 'ManageUsers': 'Manage Users', 'ViewAllData': 'View All Data',
    'ModifyAllData': 'Modify All Data', 'ViewAllUsers': 'View All Users',
}
DEPENDS = {'ManageUsers': ['ViewRoles'], 'ModifyAllData': ['ViewAllData'], 'ApiUserOnly': ['ApiEnabled']}
TOKEN = '00DFAKE!SECRET-ACCESS-TOKEN-VALUE'


class Resp(object):
    """What the client reads of a requests.Response (simple-salesforce also reads ``url`` and ``headers``)."""

    def __init__(self, status, body=None, url='https://fake.my.salesforce.com/'):
        self.status_code = status
        self.content = b'' if body is None else json.dumps(body).encode()
        self.text = self.content.decode()
        self.url = url
        self.headers = {'Content-Type': 'application/json;charset=UTF-8'} if self.content else {}

    def json(self, **kwargs):
        return json.loads(self.text, **kwargs)  # an empty body raises json.JSONDecodeError, as requests' own does


class ApiError(Exception):
    def __init__(self, status, code, message, fields=None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or []

    def body(self):
        return [{'errorCode': self.code, 'message': self.message, 'fields': self.fields}]


def _field(name, ftype='string', label=None, **extra):
    data = {'name': name, 'type': ftype, 'label': label or name, 'createable': True, 'updateable': True, 'permissionable': False,
            'calculated': False, 'autoNumber': False, 'picklistValues': []}
    data.update(extra)
    return data


class FakeOrg(object):
    def __init__(self, api_version='67.0', permissions=None):
        self.api_version = api_version
        self.counter = itertools.count(1)
        self.rows = {}
        self.calls = []
        self.token_requests = 0
        self.token_error = None
        self.faults = []  # list of (predicate(method, path), status, body) consumed once
        self.perms = dict(PERMISSION_LABELS if permissions is None else permissions)
        self.describes = self._describes()
        org = self.insert('Organization', {'Name': 'Fake Org', 'OrganizationType': 'Developer Edition', 'IsSandbox': False, 'InstanceName': 'FK1'})
        self.org_id = org
        self.profile = self.insert('Profile', {'Name': 'System Administrator'})
        self.admin = self.insert('User', {'Username': 'admin@fake.example', 'Name': 'Admin', 'Email': 'admin@fake.example', 'IsActive': True,
                                          'UserType': 'Standard', 'ProfileId': self.profile})
        self.psl = self.insert('PermissionSetLicense', {'MasterLabel': 'Salesforce API Integration', 'DeveloperName': 'SalesforceAPIIntegrationPsl',
                                                        'Status': 'Active', 'TotalLicenses': 5, 'UsedLicenses': 0})
        self.insert('UserLicense', {'Name': 'Salesforce', 'Status': 'Active', 'TotalLicenses': 20, 'UsedLicenses': 1})
        self.insert('UserLicense', {'Name': 'Salesforce Integration', 'Status': 'Active', 'TotalLicenses': 5, 'UsedLicenses': 0})
        self.profile_ps = self.insert('PermissionSet', {'Name': 'X00ex000001', 'Label': 'X00ex000001', 'IsOwnedByProfile': True, 'ProfileId': self.profile})

    # --- data ----------------------------------------------------------------------------------------------------
    def new_id(self, sobject):
        return '%s%012dAAA' % (PREFIXES.get(sobject, 'a00'), next(self.counter))

    def insert(self, sobject, fields):
        row = {'Id': self.new_id(sobject)}
        if sobject == 'PermissionSet':
            row.update({'Description': None, 'LicenseId': None, 'IsOwnedByProfile': False})
            row.update(dict(('Permissions' + p, False) for p in self.perms))
        row.update(fields)
        self.rows.setdefault(sobject, []).append(row)
        return row['Id']

    def find(self, sobject, **match):
        return [r for r in self.rows.get(sobject, []) if all(r.get(k) == v for k, v in match.items())]

    def by_id(self, rec_id):
        for sobject, rows in self.rows.items():
            for row in rows:
                if row['Id'] == rec_id:
                    return sobject, row
        return None, None

    def writes(self):
        return [c for c in self.calls if c[0] in ('POST', 'PATCH', 'DELETE') and c[1] != 'composite'
                or c[0] == 'POST' and c[1] == 'composite' and c[2]]

    def _describes(self):
        ps_fields = [_field('Id', 'id', createable=False, updateable=False), _field('Name'), _field('Label'), _field('Description', 'textarea'),
                     _field('LicenseId', 'reference', updateable=False), _field('IsOwnedByProfile', 'boolean', createable=False, updateable=False)]
        ps_fields += [_field('Permissions' + p, 'boolean', label) for p, label in self.perms.items()]
        account = [_field('Id', 'id', createable=False, updateable=False), _field('Name', permissionable=False),
                   _field('Industry', 'picklist', permissionable=True), _field('Description', 'textarea', permissionable=True),
                   _field('Rating__c', 'double', permissionable=True, calculated=True, createable=False, updateable=False),
                   _field('OwnerId', 'reference')]
        contact = [_field('Id', 'id', createable=False, updateable=False), _field('LastName'), _field('Email', 'email', permissionable=True),
                   _field('Phone', 'phone', permissionable=True)]
        targets = [{'value': v, 'active': True} for v in ('Account', 'Contact', 'Invoice__c', 'Opportunity')]
        return {
            'permissionset': {'name': 'PermissionSet', 'fields': ps_fields},
            'account': {'name': 'Account', 'fields': account},
            'contact': {'name': 'Contact', 'fields': contact},
            'objectpermissions': {'name': 'ObjectPermissions', 'fields': [_field('SobjectType', 'picklist', picklistValues=targets)]},
        }

    # --- SOQL subset ----------------------------------------------------------------------------------------------
    def query(self, soql):
        match = re.match(r'^\s*SELECT\s+(.*)\s+FROM\s+(\w+)(?:\s+WHERE\s+(.*))?\s*$', soql, re.S | re.I)
        if not match:
            raise ApiError(400, 'MALFORMED_QUERY', 'unexpected query %s' % soql)
        select, sobject, where = match.groups()
        items = self._split(select)
        rows = [r for r in self.rows.get(sobject, []) if self._where(r, where)]
        return [self._project(sobject, r, items) for r in rows]

    @staticmethod
    def _split(select):
        items, depth, cur = [], 0, ''
        for ch in select:
            if ch == ',' and depth == 0:
                items.append(cur.strip())
                cur = ''
                continue
            depth += ch == '('
            depth -= ch == ')'
            cur += ch
        items.append(cur.strip())
        return items

    def _where(self, row, where):
        if not where:
            return True
        for clause in re.split(r'\s+AND\s+', where, flags=re.I):
            m = re.match(r"^(\w+)\s+IN\s+\((.*)\)$", clause.strip(), re.I)
            if m:
                values = [v.strip().strip("'") for v in m.group(2).split(',')]
                if row.get(m.group(1)) not in values:
                    return False
                continue
            m = re.match(r"^(\w+)\s*=\s*(.+)$", clause.strip())
            if not m:
                raise ApiError(400, 'MALFORMED_QUERY', 'unsupported clause %s' % clause)
            raw = m.group(2).strip()
            value = {'true': True, 'false': False, 'null': None}.get(raw.lower(), raw.strip("'").replace("\\'", "'"))
            if row.get(m.group(1)) != value:
                return False
        return True

    def _project(self, sobject, row, items):
        out = {'attributes': {'type': sobject, 'url': '/services/data/v%s/sobjects/%s/%s' % (self.api_version, sobject, row['Id'])}}
        for item in items:
            if item.startswith('('):
                sub = re.match(r'^\(\s*SELECT\s+(.*)\s+FROM\s+(\w+)(?:\s+WHERE\s+(.*))?\)$', item, re.S | re.I)
                child, fk = CHILDREN[(sobject, sub.group(2))]
                kids = [self._project(child, r, self._split(sub.group(1))) for r in self.rows.get(child, [])
                        if r.get(fk) == row['Id'] and self._where(r, sub.group(3))]
                out[sub.group(2)] = {'totalSize': len(kids), 'done': True, 'records': kids} if kids else None
            elif '.' in item:
                rel, fname = item.split('.', 1)
                _s, parent = self.by_id(row.get(PARENTS[rel]))
                if parent is None:
                    out[rel] = None
                else:
                    out.setdefault(rel, {})[fname] = parent.get(fname)
            else:
                out[item] = row.get(item)
        return out

    # --- rules ----------------------------------------------------------------------------------------------------
    def _check(self, sobject, row):
        if sobject == 'PermissionSet':
            missing = ['Permission %s depends on permission(s): %s' % (p, ', '.join(d)) for p, d in DEPENDS.items()
                       if row.get('Permissions' + p) and any(not row.get('Permissions' + x) for x in d if x in self.perms)]
            if missing:
                raise ApiError(400, 'FIELD_INTEGRITY_EXCEPTION', '; '.join(missing))
        if sobject == 'ObjectPermissions':
            if not row.get('PermissionsRead') and any(row.get(k) for k in row if k.startswith('Permissions')):
                raise ApiError(400, 'FIELD_INTEGRITY_EXCEPTION', 'Permission Create depends on permission(s): Read')

    def create(self, sobject, fields):
        fields = dict((k, v) for k, v in fields.items() if k != 'attributes')
        if sobject == 'PermissionSet' and self.find('PermissionSet', Name=fields.get('Name')):
            raise ApiError(400, 'DUPLICATE_VALUE', 'duplicate value found: Name')
        if sobject == 'ObjectPermissions' and self.find('ObjectPermissions', ParentId=fields['ParentId'], SobjectType=fields['SobjectType']):
            raise ApiError(400, 'DUPLICATE_VALUE', 'duplicate value found: SobjectType')
        candidate = dict(fields)
        if sobject == 'PermissionSet':
            candidate.update(dict(('Permissions' + p, fields.get('Permissions' + p, False)) for p in self.perms))
        self._check(sobject, candidate)
        return self.insert(sobject, fields)

    def update(self, sobject, rec_id, fields):
        found, row = self.by_id(rec_id)
        if row is None:
            raise ApiError(404, 'NOT_FOUND', 'The requested resource does not exist')
        if found == 'PermissionSet' and 'LicenseId' in fields:
            raise ApiError(400, 'INVALID_FIELD_FOR_INSERT_UPDATE', 'Unable to create/update fields: LicenseId.', ['LicenseId'])
        if found == 'PermissionSet' and row.get('IsOwnedByProfile'):
            raise ApiError(400, 'INSUFFICIENT_ACCESS_OR_READONLY', 'cannot modify a profile-owned permission set')
        candidate = dict(row, **dict((k, v) for k, v in fields.items() if k != 'attributes'))
        self._check(found, candidate)
        row.update(candidate)

    def delete(self, rec_id):
        found, row = self.by_id(rec_id)
        if row is None:
            raise ApiError(404, 'ENTITY_IS_DELETED', 'entity is deleted')
        if found == 'PermissionSet' and self.find('PermissionSetAssignment', PermissionSetId=rec_id):
            raise ApiError(400, 'DELETE_FAILED', 'Cannot delete a permission set that is assigned to users')
        self.rows[found].remove(row)
        if found == 'PermissionSet':
            for child in ('ObjectPermissions', 'FieldPermissions'):
                self.rows[child] = [r for r in self.rows.get(child, []) if r.get('ParentId') != rec_id]

    # --- HTTP -----------------------------------------------------------------------------------------------------
    def handle(self, method, url, params=None, data=None):
        parts = urlsplit(url)
        path = parts.path
        query = dict((k, v[0]) for k, v in parse_qs(parts.query).items())
        query.update(params or {})
        body = json.loads(data) if isinstance(data, (str, bytes)) and data else data
        if path == '/services/oauth2/token':
            self.token_requests += 1
            if self.token_error:
                return Resp(400, self.token_error)
            return Resp(200, {'access_token': TOKEN, 'instance_url': 'https://fake.my.salesforce.com', 'token_type': 'Bearer',
                              'id': 'https://login.salesforce.com/id/%s/%s' % (self.org_id, self.admin)})
        # Salesforce takes a resource with or without a trailing slash (simple-salesforce sends query/, limits/).
        rel = re.sub(r'^/services/data/v[\d.]+/?', '', path).rstrip('/')
        self.calls.append((method, rel, self._composite_writes(rel, body)))
        for index, (pred, status, fbody) in enumerate(self.faults):
            if pred(method, rel):
                del self.faults[index]
                return Resp(status, fbody)
        try:
            status, out = self._route(method, path, rel, query, body)
        except ApiError as err:
            return Resp(err.status, err.body())
        return Resp(status, out)

    @staticmethod
    def _composite_writes(rel, body):
        if rel == 'composite' and isinstance(body, dict):
            return any(s['method'] != 'GET' for s in body.get('compositeRequest', []))
        return False

    def _route(self, method, path, rel, query, body):
        if path == '/services/data/' or path == '/services/data':
            return 200, [{'label': "Summer '26", 'url': '/services/data/v67.0', 'version': '67.0'},
                         {'label': "Spring '26", 'url': '/services/data/v66.0', 'version': '66.0'}]
        if path == '/services/oauth2/userinfo':
            return 200, {'organization_id': self.org_id, 'user_id': self.admin}
        if rel == 'query':
            records = self.query(query['q'])
            return 200, {'totalSize': len(records), 'done': True, 'records': records}
        if rel == 'limits':
            return 200, {'DailyApiRequests': {'Max': 15000, 'Remaining': 14990}}
        if rel == 'composite':
            return 200, self._composite(body)
        if rel == 'composite/sobjects':
            return 200, self._collections(method, query, body)
        m = re.match(r'^sobjects/(\w+)/describe/?$', rel)
        if m:
            describe = self.describes.get(m.group(1).lower())
            if describe is None:
                raise ApiError(404, 'NOT_FOUND', 'The requested resource does not exist')
            return 200, copy.deepcopy(describe)
        m = re.match(r'^sobjects/(\w+)/?$', rel)
        if m and method == 'POST':
            return 201, {'id': self.create(m.group(1), body), 'success': True, 'errors': []}
        m = re.match(r'^sobjects/(\w+)/([^/]+)$', rel)
        if m:
            if method == 'GET':
                found, row = self.by_id(m.group(2))
                if row is None:
                    raise ApiError(404, 'NOT_FOUND', 'The requested resource does not exist')
                return 200, dict({'attributes': {'type': found}}, **row)
            if method == 'PATCH':
                self.update(m.group(1), m.group(2), body)
                return 204, None
            if method == 'DELETE':
                self.delete(m.group(2))
                return 204, None
        raise ApiError(404, 'NOT_FOUND', 'no route %s %s' % (method, rel))

    def _composite(self, body):
        out, results = [], {}
        for sub in body['compositeRequest']:
            url = sub['url']

            def ref(match):
                base = results.get(match.group(1))
                try:
                    return base['records'][0]['Id'] if match.group(2) == 'records[0].Id' else base[match.group(2)]
                except (KeyError, IndexError, TypeError):
                    raise ApiError(400, 'PROCESSING_HALTED', 'Invalid reference specified. No value for %s' % match.group(0))
            try:
                url = re.sub(r'@\{(\w+)\.([\w\[\].]+)\}', ref, url)
                parts = urlsplit(url)
                rel = re.sub(r'^/services/data/v[\d.]+/?', '', parts.path)
                query = dict((k, unquote(v[0])) for k, v in parse_qs(parts.query).items())
                status, res = self._route(sub['method'], parts.path, rel, query, sub.get('body'))
            except ApiError as err:
                status, res = err.status, err.body()
            results[sub['referenceId']] = res if status < 300 else None
            out.append({'body': res, 'httpHeaders': {}, 'httpStatusCode': status, 'referenceId': sub['referenceId']})
        return {'compositeResponse': out}

    def _collections(self, method, query, body):
        results = []
        if method == 'DELETE':
            for rec_id in query['ids'].split(','):
                try:
                    self.delete(rec_id)
                    results.append({'id': rec_id, 'success': True, 'errors': []})
                except ApiError as err:
                    results.append({'id': rec_id, 'success': False, 'errors': [{'statusCode': err.code, 'message': err.message, 'fields': []}]})
            return results
        for rec in body['records']:
            try:
                if method == 'POST':
                    results.append({'id': self.create(rec['attributes']['type'], rec), 'success': True, 'errors': [], 'created': True})
                else:
                    self.update(rec['attributes']['type'], rec['Id'], rec)
                    results.append({'id': rec['Id'], 'success': True, 'errors': []})
            except ApiError as err:
                results.append({'id': rec.get('Id'), 'success': False, 'errors': [{'statusCode': err.code, 'message': err.message, 'fields': err.fields}]})
        return results


def install(monkeypatch, org):
    """Route every requests.Session call of the code under test to ``org``."""
    import requests

    def request(self, method, url, params=None, data=None, headers=None, timeout=None, **kwargs):
        if not url.endswith('/services/oauth2/token'):
            assert (headers or {}).get('Authorization') == 'Bearer ' + TOKEN, 'API call without the bearer token'
        return org.handle(method.upper(), url, params=params, data=data)

    def post(self, url, data=None, timeout=None, **kwargs):
        org.token_form = dict(data or {})
        return org.handle('POST', url, data=data)

    monkeypatch.setattr(requests.Session, 'request', request)
    monkeypatch.setattr(requests.Session, 'post', post)
    return org

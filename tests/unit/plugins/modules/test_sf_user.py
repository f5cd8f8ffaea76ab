# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sf_user behaviour with the HTTP layer (requests.Session.request) replaced by a small in-memory org.

``FakeSalesforce`` and ``run_module`` are also used by the other module tests of this part
(sf_permission_set_assignment, sf_connected_app_policy).
"""

import copy
import itertools
import json
import re
from unittest import mock
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests

from ansible.module_utils import basic
from ansible.module_utils.common import warnings
from ansible.module_utils.testing import patch_module_args

API = '/services/data/v67.0'
AUTH = {'auth_method': 'access_token', 'instance_url': 'https://acme.my.salesforce.com', 'access_token': '00Dxx!SECRETTOKEN'}
PREFIX = {'User': '005', 'PermissionSetLicenseAssign': '2LA', 'PermissionSetAssignment': '0Pa', 'SetupEntityAccess': '0J0',
          'UserLogin': '0Yw'}


class Exit(Exception):
    pass


class Fail(Exception):
    pass


class Resp(object):
    def __init__(self, status, body=None, text=None):
        self.status_code = status
        self.text = text if text is not None else (json.dumps(body) if body is not None else '')
        self.content = self.text.encode()
        self.url = AUTH['instance_url']  # simple-salesforce names it in its exceptions
        self.headers = {}

    def json(self, **kwargs):
        return json.loads(self.text, **kwargs)


def _value(text):
    text = text.strip()
    if text.startswith('('):
        return [_value(v) for v in re.findall(r"'(?:[^'\\]|\\.)*'", text)]
    if text in ('true', 'false'):
        return text == 'true'
    if text == 'null':
        return None
    return text[1:-1].replace("\\'", "'")


def _get(row, dotted):
    for part in dotted.split('.'):
        row = (row or {}).get(part)
    return row


class FakeSalesforce(object):
    """Tables of rows (relationships pre-joined as nested dicts), a tiny SOQL subset, composite with references,
    sObject Collections, the password resource and (optionally) the Metadata API SOAP endpoint."""

    def __init__(self, tables, soap=None):
        self.tables = copy.deepcopy(tables)
        self.soap = soap  # callable(body_text) -> (status, xml text)
        self.requests = []
        self.writes = []
        self.reject = {}  # (method, sobject) -> (errorCode, message)
        self.token_forms = []
        self.ids = itertools.count(1)

    # --- REST -------------------------------------------------------------------------------------------------
    def query(self, soql):
        match = re.match(r'SELECT (.+?) FROM (\w+)(?: WHERE (.+))?$', soql.strip(), re.S)
        assert match, soql
        rows = self.tables.get(match.group(2), [])
        for cond in re.split(r' AND ', match.group(3) or ''):
            if not cond:
                continue
            field, op, value = re.match(r'([\w.]+) (=|IN) (.+)', cond.strip()).groups()
            value = _value(value)
            rows = [r for r in rows if (_get(r, field) in value if op == 'IN' else _get(r, field) == value)]
        return {'totalSize': len(rows), 'done': True, 'records': [dict(r, attributes={'type': match.group(2)}) for r in rows]}

    def _new_id(self, sobject):
        return '%s%015d' % (PREFIX.get(sobject, '0XX'), next(self.ids))

    def write(self, method, sobject, rec_id=None, body=None):
        if (method, sobject) in self.reject:
            code, msg = self.reject[(method, sobject)]
            return 400, [{'errorCode': code, 'message': msg}]
        self.writes.append((method, sobject, rec_id, body))
        rows = self.tables.setdefault(sobject, [])
        if method == 'POST':
            row = dict(body, Id=self._new_id(sobject))
            row.pop('attributes', None)
            rows.append(row)
            return 201, {'id': row['Id'], 'success': True, 'errors': []}
        for row in rows:
            if row['Id'] == rec_id:
                if method == 'PATCH':
                    row.update(body)
                else:
                    rows.remove(row)
                return 204, None
        return 404, [{'errorCode': 'NOT_FOUND', 'message': 'The requested resource does not exist'}]

    def rest(self, method, path, params, body):
        path = path[len(API):] if path.startswith(API) else path
        if path == '/query':
            return 200, self.query(params['q'])
        if path == '/composite':
            return 200, self.composite(body)
        if path == '/composite/sobjects':
            if method == 'DELETE':
                out = []
                for rec_id in params['ids'].split(','):
                    sobject = next(t for t, rows in self.tables.items() if any(r['Id'] == rec_id for r in rows))
                    status = self.write('DELETE', sobject, rec_id)[0]
                    out.append({'id': rec_id, 'success': status < 300, 'errors': []})
                return 200, out
            out = []
            for rec in body['records']:
                status, res = self.write(method, rec['attributes']['type'], rec.get('Id'), rec)
                out.append(res if status < 300 else {'success': False, 'errors': [{'statusCode': res[0]['errorCode'], 'message': res[0]['message']}]})
            return 200, out
        match = re.match(r'/sobjects/User/(\w+)/password$', path)
        if match:
            self.writes.append((method, 'password', match.group(1), body))
            return (200, {'NewPassword': 'SfGenerated1!'}) if method == 'DELETE' else (204, None)
        match = re.match(r'/sobjects/(\w+)(?:/(\w+))?$', path)
        return self.write(method, match.group(1), match.group(2), body)

    def composite(self, body):
        results, out = {}, []
        snapshot = copy.deepcopy(self.tables), list(self.writes)
        failed = False
        for sub in body['compositeRequest']:
            url, sbody = unquote(sub['url']), json.dumps(sub.get('body'))
            missing = False
            for ref in re.findall(r'@\{([^}]+)\}', url + sbody):
                name, rest = ref.split('.', 1)
                res = results.get(name)
                try:
                    value = res['id'] if rest == 'id' else res['records'][0]['Id']
                except (TypeError, KeyError, IndexError):
                    missing = True
                    break
                url, sbody = url.replace('@{%s}' % ref, value), sbody.replace('@{%s}' % ref, value)
            if missing:
                status, res = 400, [{'errorCode': 'INVALID_FIELD', 'message': 'reference not resolved'}]
            else:
                parts = urlsplit(url)
                params = {'q': parts.query[2:]} if parts.query.startswith('q=') else dict((k, v[0]) for k, v in parse_qs(parts.query).items())
                status, res = self.rest(sub['method'], parts.path, params, json.loads(sbody))
            failed = failed or status >= 300
            results[sub['referenceId']] = res if status < 300 else None
            out.append({'referenceId': sub['referenceId'], 'httpStatusCode': status, 'body': res})
        if failed and body.get('allOrNone'):
            self.tables, self.writes = snapshot
            for item in out:
                if item['httpStatusCode'] < 300:
                    item.update(httpStatusCode=400, body=[{'errorCode': 'PROCESSING_HALTED', 'message': 'rolled back'}])
        return {'compositeResponse': out}

    def __call__(self, method, url, params=None, data=None, headers=None, timeout=None, **kwargs):
        path = urlsplit(url).path
        self.requests.append((method, path))
        if path.endswith('/services/oauth2/token'):
            self.token_forms.append(dict(data))
            return Resp(200, {'access_token': '00Dxx!FRESHTOKEN', 'instance_url': 'https://acme.my.salesforce.com',
                              'id': 'https://login.salesforce.com/id/00D000000000001/005000000000099', 'token_type': 'Bearer'})
        if '/services/Soap/m/' in path:
            status, text = self.soap(data.decode('utf-8') if isinstance(data, bytes) else data)
            return Resp(status, text=text)
        status, body = self.rest(method, path, params or {}, json.loads(data) if data else None)
        return Resp(status, body)


def run_module(main, fake, args, check=False, diff=True):
    """Run ``main()`` with ``args``; return (result dict, failed flag)."""
    args = dict(AUTH, **args)
    args['_ansible_check_mode'] = check
    args['_ansible_diff'] = diff

    def exit_json(self, **kwargs):
        kwargs['warnings'] = list(warnings.get_warning_messages())
        raise Exit(kwargs)

    def fail_json(self, **kwargs):
        raise Fail(kwargs)

    # One module run per test: forget the warnings of earlier runs.
    warnings._global_warnings.clear()  # pylint: disable=protected-access
    with patch_module_args(args), mock.patch.object(requests.Session, 'request', new=fake), \
            mock.patch.object(basic.AnsibleModule, 'exit_json', exit_json), \
            mock.patch.object(basic.AnsibleModule, 'fail_json', fail_json):
        try:
            main()
        except Exit as done:
            return done.args[0], False
        except Fail as done:
            return done.args[0], True
    raise AssertionError('module returned without exit_json/fail_json')


def org_tables():
    """A small org: two licences, three profiles, one existing human user."""
    ulic_sf = {'Id': '100000000000001', 'Name': 'Salesforce', 'TotalLicenses': 20, 'UsedLicenses': 3}
    ulic_int = {'Id': '100000000000002', 'Name': 'Salesforce Integration', 'TotalLicenses': 5, 'UsedLicenses': 0}
    profiles = [
        {'Id': '00e000000000001', 'Name': 'System Administrator', 'UserLicenseId': ulic_sf['Id'], 'UserLicense': ulic_sf},
        {'Id': '00e000000000002', 'Name': 'Standard User', 'UserLicenseId': ulic_sf['Id'], 'UserLicense': ulic_sf},
        {'Id': '00e000000000003', 'Name': 'Minimum Access - API Only Integrations', 'UserLicenseId': ulic_int['Id'], 'UserLicense': ulic_int},
    ]
    return {
        'Profile': profiles,
        'PermissionSetLicense': [{'Id': '0PL000000000001', 'DeveloperName': 'SalesforceAPIIntegrationPsl',
                                  'MasterLabel': 'Salesforce API Integration', 'TotalLicenses': 5, 'UsedLicenses': 0}],
        'User': [{'Id': '005000000000001', 'Username': 'jane@acme.example', 'Email': 'jane@acme.example', 'FirstName': 'Jane',
                  'LastName': 'Doe', 'Alias': 'jdoe', 'TimeZoneSidKey': 'GMT', 'LocaleSidKey': 'en_US', 'LanguageLocaleKey': 'en_US',
                  'EmailEncodingKey': 'UTF-8', 'IsActive': True, 'ProfileId': '00e000000000002', 'Profile': {'Name': 'Standard User'}}],
        'UserLogin': [{'Id': '0Yw000000000001', 'UserId': '005000000000001', 'IsFrozen': False}],
        'PermissionSetLicenseAssign': [],
    }


class ProfileJoin(FakeSalesforce):
    """Keeps the pre-joined User.Profile of created/updated users right, and gives new users a UserLogin."""

    def write(self, method, sobject, rec_id=None, body=None):
        status, res = super().write(method, sobject, rec_id, body)
        if sobject == 'User' and status < 300:
            for row in self.tables['User']:
                prof = next((p for p in self.tables['Profile'] if p['Id'] == row.get('ProfileId')), None)
                row['Profile'] = {'Name': prof['Name']} if prof else None
            if method == 'POST':
                self.tables['UserLogin'].append({'Id': self._new_id('UserLogin'), 'UserId': res['id'], 'IsFrozen': False})
        return status, res


def sf_user_main():
    from ansible_collections.sfops.salesforce.plugins.modules import sf_user
    return sf_user.main()


NEW_INTEGRATION = {'username': 'planhat@acme.example', 'email': 'ops@acme.example', 'first_name': 'Planhat',
                   'last_name': 'Integration', 'integration_user': True}


def test_create_integration_user_check_mode_makes_no_write():
    fake = ProfileJoin(org_tables())
    result, failed = run_module(sf_user_main, fake, NEW_INTEGRATION, check=True)
    assert not failed, result
    assert result['changed'] is True
    assert fake.writes == []
    assert all(m == 'POST' and p.endswith('/composite') for m, p in fake.requests)  # reads only
    assert result['user']['profile'] == 'Minimum Access - API Only Integrations'
    assert result['user']['permission_set_licenses'] == ['SalesforceAPIIntegrationPsl']
    assert result['diff']['before'] == {'state': 'absent'}


def test_create_integration_user_assigns_psl_in_the_same_transaction_then_converges():
    fake = ProfileJoin(org_tables())
    result, failed = run_module(sf_user_main, fake, NEW_INTEGRATION)
    assert not failed, result
    assert result['changed'] is True
    kinds = [(m, s) for m, s, _i, _b in fake.writes]
    assert kinds == [('POST', 'User'), ('POST', 'PermissionSetLicenseAssign')]
    user_body = fake.writes[0][3]
    assert user_body['ProfileId'] == '00e000000000003'
    assert user_body['Alias'] == 'pintegra'
    assert user_body['TimeZoneSidKey'] == 'GMT' and user_body['IsActive'] is True
    assert fake.writes[1][3]['AssigneeId'] == result['user']['id']
    assert 'password' not in result
    assert not any(w[1] == 'password' for w in fake.writes)  # no e-mail, no password without asking
    # read, write composite, re-read
    assert len(fake.requests) == 3
    fake.requests, fake.writes = [], []
    again, failed = run_module(sf_user_main, fake, NEW_INTEGRATION)
    assert not failed and again['changed'] is False and 'diff' not in again
    assert fake.writes == [] and len(fake.requests) == 1


def test_no_free_integration_licence_fails_before_any_write():
    tables = org_tables()
    tables['Profile'][2]['UserLicense']['UsedLicenses'] = 5
    fake = ProfileJoin(tables)
    result, failed = run_module(sf_user_main, fake, NEW_INTEGRATION)
    assert failed
    assert 'No "Salesforce Integration" user licence is free (5 of 5 used)' in result['msg']
    assert fake.writes == []


def test_no_free_psl_fails_before_any_write():
    tables = org_tables()
    tables['PermissionSetLicense'][0]['UsedLicenses'] = 5
    fake = ProfileJoin(tables)
    result, failed = run_module(sf_user_main, fake, NEW_INTEGRATION)
    assert failed and 'permission set licence is free' in result['msg'] and fake.writes == []


def test_duplicate_username_explains_global_uniqueness_and_rolls_back():
    fake = ProfileJoin(org_tables())
    fake.reject[('POST', 'User')] = ('DUPLICATE_USERNAME', 'Duplicate Username.<br>The username already exists')
    result, failed = run_module(sf_user_main, fake, NEW_INTEGRATION)
    assert failed
    assert 'unique across ALL Salesforce orgs' in result['msg']
    assert 'PROCESSING_HALTED' not in result['msg']
    assert not any(u['Username'] == 'planhat@acme.example' for u in fake.tables['User'])


def test_update_sends_only_changed_fields_and_diff_holds_only_them():
    fake = ProfileJoin(org_tables())
    result, failed = run_module(sf_user_main, fake, {'username': 'jane@acme.example', 'email': 'jane@acme.example',
                                                     'last_name': 'Smith', 'time_zone': 'GMT'})
    assert not failed, result
    assert result['changed'] is True
    assert result['diff'] == {'before': {'last_name': 'Doe'}, 'after': {'last_name': 'Smith'}}
    assert [(m, s, b) for m, s, _i, b in fake.writes] == [('PATCH', 'User', {'LastName': 'Smith'})]


def test_unknown_profile_fails_with_close_match():
    fake = ProfileJoin(org_tables())
    result, failed = run_module(sf_user_main, fake, {'username': 'x@acme.example', 'email': 'x@acme.example', 'last_name': 'X',
                                                     'profile': 'Standard Usr'})
    assert failed and 'Did you mean: Standard User?' in result['msg'] and fake.writes == []


def test_missing_create_fields_fail_listing_them():
    fake = ProfileJoin(org_tables())
    result, failed = run_module(sf_user_main, fake, {'username': 'x@acme.example'})
    assert failed and 'email, last_name, profile' in result['msg'] and fake.writes == []


def test_absent_deactivates_and_second_run_is_unchanged():
    fake = ProfileJoin(org_tables())
    result, failed = run_module(sf_user_main, fake, {'username': 'jane@acme.example', 'state': 'absent'})
    assert not failed and result['changed'] is True
    assert result['diff'] == {'before': {'is_active': True}, 'after': {'is_active': False}}
    assert fake.writes[0][:3] == ('PATCH', 'User', '005000000000001') and fake.writes[0][3] == {'IsActive': False}
    assert result['user']['is_active'] is False
    again, failed = run_module(sf_user_main, fake, {'username': 'jane@acme.example', 'state': 'absent'})
    assert not failed and again['changed'] is False


def test_absent_for_missing_user_is_a_no_op():
    fake = ProfileJoin(org_tables())
    result, failed = run_module(sf_user_main, fake, {'username': 'nobody@acme.example', 'state': 'absent'})
    assert not failed and result['changed'] is False and fake.writes == []


def test_freeze_patches_userlogin():
    fake = ProfileJoin(org_tables())
    result, failed = run_module(sf_user_main, fake, {'username': 'jane@acme.example', 'frozen': True})
    assert not failed and result['changed'] is True
    assert fake.writes[0][:3] == ('PATCH', 'UserLogin', '0Yw000000000001') and fake.writes[0][3] == {'IsFrozen': True}
    assert result['user']['frozen'] is True and result['diff']['after'] == {'frozen': True}


def test_reactivation_checks_licence():
    tables = org_tables()
    tables['User'][0]['IsActive'] = False
    tables['Profile'][1]['UserLicense']['UsedLicenses'] = 20
    fake = ProfileJoin(tables)
    result, failed = run_module(sf_user_main, fake, {'username': 'jane@acme.example', 'is_active': True})
    assert failed and 'user licence is free' in result['msg'] and fake.writes == []


def test_reset_password_without_email_sets_generated_password_and_returns_it():
    fake = ProfileJoin(org_tables())
    result, failed = run_module(sf_user_main, fake, {'username': 'jane@acme.example', 'reset_password': True})
    assert not failed and result['changed'] is True
    pw_writes = [w for w in fake.writes if w[1] == 'password']
    assert len(pw_writes) == 1 and pw_writes[0][0] == 'POST'
    assert result['password'] == pw_writes[0][3]['NewPassword'] and len(result['password']) == 24
    # the password is nowhere else in the result
    assert result['password'] not in json.dumps(dict(result, password=None))


def test_reset_password_with_email_uses_salesforce_reset():
    fake = ProfileJoin(org_tables())
    result, failed = run_module(sf_user_main, fake, {'username': 'jane@acme.example', 'reset_password': True, 'send_email': True})
    assert not failed
    assert [w[0] for w in fake.writes if w[1] == 'password'] == ['DELETE']
    assert result['password'] == 'SfGenerated1!'


def test_reset_password_check_mode_returns_no_password_and_writes_nothing():
    fake = ProfileJoin(org_tables())
    result, failed = run_module(sf_user_main, fake, {'username': 'jane@acme.example', 'reset_password': True}, check=True)
    assert not failed and result['changed'] is True and 'password' not in result and fake.writes == []


def test_send_email_on_create_triggers_reset_mail_but_returns_no_password():
    fake = ProfileJoin(org_tables())
    result, failed = run_module(sf_user_main, fake, dict(NEW_INTEGRATION, send_email=True))
    assert not failed
    assert [w[0] for w in fake.writes if w[1] == 'password'] == ['DELETE']
    assert 'password' not in result


def test_jwt_without_login_username_fails_clearly():
    fake = ProfileJoin(org_tables())
    args = {'auth_method': 'jwt_bearer', 'client_id': 'cid', 'private_key': 'k', 'username': 'jane@acme.example'}
    result, failed = run_module(sf_user_main, fake, args)
    assert failed and 'login_username' in result['msg'] and fake.requests == []


def test_integration_user_with_wrong_licence_profile_fails():
    fake = ProfileJoin(org_tables())
    result, failed = run_module(sf_user_main, fake, dict(NEW_INTEGRATION, profile='Standard User'))
    assert failed and 'needs a profile with the "Salesforce Integration" user licence' in result['msg'] and fake.writes == []


def test_token_never_in_output():
    fake = ProfileJoin(org_tables())
    fake.reject[('PATCH', 'User')] = ('INVALID_SESSION_ID', 'Session expired for 00Dxx!SECRETTOKEN')
    result, failed = run_module(sf_user_main, fake, {'username': 'jane@acme.example', 'last_name': 'Smith'})
    assert failed
    assert 'SECRETTOKEN' not in json.dumps(result)


@pytest.mark.parametrize('alias', ['waytoolongalias'])
def test_alias_longer_than_eight_fails_before_reading(alias):
    fake = ProfileJoin(org_tables())
    result, failed = run_module(sf_user_main, fake, {'username': 'jane@acme.example', 'alias': alias})
    assert failed and 'longer than 8' in result['msg'] and fake.requests == []


def test_email_differing_only_in_case_is_not_drift():
    fake = ProfileJoin(org_tables())
    result, failed = run_module(sf_user_main, fake, {'username': 'jane@acme.example', 'email': 'Jane@ACME.example'})
    assert not failed and result['changed'] is False and fake.writes == []


def test_password_flow_logs_in_as_login_username_not_the_managed_user():
    fake = ProfileJoin(org_tables())
    # No access_token: given one with a login method, the client would use it instead of logging in.
    args = {'auth_method': 'password', 'client_id': 'cid', 'client_secret': 'csecret', 'login_username': 'admin@acme.example',
            'login_password': 'adminpw', 'username': 'jane@acme.example', 'last_name': 'Smith', 'access_token': None}
    result, failed = run_module(sf_user_main, fake, args)
    assert not failed, result
    assert [f['username'] for f in fake.token_forms] == ['admin@acme.example']
    assert fake.writes[0][:3] == ('PATCH', 'User', '005000000000001')  # the managed user is jane
    assert 'FRESHTOKEN' not in json.dumps(result) and 'adminpw' not in json.dumps(result)


def test_refuses_to_deactivate_the_user_it_is_logged_in_as():
    tables = org_tables()
    tables['User'][0]['Id'] = '005000000000099'  # the token's identity URL names this user
    tables['UserLogin'][0]['UserId'] = '005000000000099'
    fake = ProfileJoin(tables)
    args = {'auth_method': 'password', 'client_id': 'cid', 'client_secret': 'csecret', 'login_username': 'jane@acme.example',
            'login_password': 'pw', 'username': 'jane@acme.example', 'state': 'absent', 'access_token': None}
    result, failed = run_module(sf_user_main, fake, args)
    assert failed and 'logged in as' in result['msg'] and fake.writes == []


def test_no_old_login_alias_in_sf_user():
    """sf_user's username is the managed user; password would read as that user's: neither is a login alias here."""
    fake = ProfileJoin(org_tables())
    result, failed = run_module(sf_user_main, fake, {'username': 'jane@acme.example', 'password': 'pw'})
    assert failed and 'Unsupported parameters' in result['msg'] and 'password' in result['msg'] and fake.requests == []


def test_purge_permission_set_licenses_acts_only_on_a_given_list():
    fake = ProfileJoin(org_tables())
    args = {'username': 'jane@acme.example', 'permission_set_licenses': ['SalesforceAPIIntegrationPsl']}
    result, failed = run_module(sf_user_main, fake, args)
    assert not failed and result['added'] == {'permission_set_licenses': ['SalesforceAPIIntegrationPsl']}
    result, failed = run_module(sf_user_main, fake, {'username': 'jane@acme.example', 'purge_permission_set_licenses': True})
    assert not failed and result['changed'] is False
    assert result['user']['permission_set_licenses'] == ['SalesforceAPIIntegrationPsl']
    result, failed = run_module(sf_user_main, fake, {'username': 'jane@acme.example', 'permission_set_licenses': [],
                                                     'purge_permission_set_licenses': True})
    assert not failed and result['removed'] == {'permission_set_licenses': ['SalesforceAPIIntegrationPsl']}
    assert result['user']['permission_set_licenses'] == []

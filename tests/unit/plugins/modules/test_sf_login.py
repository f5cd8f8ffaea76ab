# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import json

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible_collections.sfops.salesforce.plugins.modules.sf_login import main
from ansible_collections.sfops.salesforce.tests.unit.fake_salesforce import TOKEN


def test_login_returns_token_and_ids(org, run_module):
    res = run_module(main, {})
    assert res['changed'] is False
    assert res['access_token'] == TOKEN  # returned on purpose (the task must use no_log)
    assert res['instance_url'] == 'https://fake.my.salesforce.com'
    assert (res['org_id'], res['user_id'], res['api_version']) == (org.org_id, org.admin, '67.0')
    assert org.token_requests == 1 and org.calls == []
    assert 'CLIENT-SECRET-VALUE' not in str(res)


def test_a_login_method_logs_in_even_when_a_token_is_given(org, run_module):
    # Other modules start from a given token (and log in again only if it is refused); sf_login's job is to log in,
    # and only a token response says which org and user the session belongs to.
    res = run_module(main, {'access_token': 'STALE-TOKEN-FROM-AN-EARLIER-RUN'})
    assert org.token_requests == 1
    assert res['access_token'] == TOKEN and (res['org_id'], res['user_id']) == (org.org_id, org.admin)


def test_jwt_login_signs_for_the_user(org, run_module, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / 'k.pem'
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
    res = run_module(main, {'auth_method': 'jwt_bearer', 'login_username': 'admin@fake.example', 'private_key_file': str(path),
                            'login_url': 'https://test.salesforce.com'})
    assert res['changed'] is False
    claims = jwt.decode(org.token_form['assertion'], key.public_key(), algorithms=['RS256'], audience='https://test.salesforce.com')
    assert claims['sub'] == 'admin@fake.example' and claims['iss'] == 'CID'


def test_access_token_method_checks_userinfo(org, run_module):
    res = run_module(main, {'auth_method': 'access_token', 'access_token': TOKEN})
    assert res['org_id'] == org.org_id and org.token_requests == 0
    assert org.calls[0][1] == '/services/oauth2/userinfo' or 'userinfo' in org.calls[0][1]


def test_auth_error_has_hint_and_no_secret(org, run_module):
    org.token_error = {'error': 'invalid_client', 'error_description': 'invalid client credentials'}
    res = run_module(main, {})
    assert res['failed'] is True and res['error_code'] == 'invalid_client'
    assert 'What to do' in res['msg'] and 'CLIENT-SECRET-VALUE' not in res.out and 'Traceback' not in res.out


def test_missing_option_fails_without_request(org, run_module):
    res = run_module(main, {'client_secret': None})
    assert res['failed'] is True and 'client_secret' in res['msg'] and 'SF_CLIENT_SECRET' in res['msg']
    assert org.token_requests == 0


def test_refused_access_token_reported_as_invalid_session(org, run_module):
    org.faults.append((lambda m, p: 'userinfo' in p, 403, None))
    res = run_module(main, {'auth_method': 'access_token', 'access_token': TOKEN})
    assert res['failed'] is True and res['error_code'] == 'INVALID_SESSION_ID'
    assert 're-authenticate' in res['msg'] and TOKEN not in res.out


def test_old_username_name_is_a_deprecated_alias_of_login_username(org, run_module, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / 'k.pem'
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
    res = run_module(main, {'auth_method': 'jwt_bearer', 'username': 'admin@fake.example', 'private_key_file': str(path)})
    claims = jwt.decode(org.token_form['assertion'], key.public_key(), algorithms=['RS256'], audience='https://login.salesforce.com')
    assert claims['sub'] == 'admin@fake.example'
    assert 'username' in json.dumps(res.get('deprecations')), res

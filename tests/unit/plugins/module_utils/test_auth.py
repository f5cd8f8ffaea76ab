# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible_collections.sfops.salesforce.plugins.module_utils import auth
from ansible_collections.sfops.salesforce.plugins.module_utils.errors import AuthError, InputError, hint_for


@pytest.fixture(scope='module')
def keypair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return pem, key.public_key()


def params(**kw):
    base = dict((k, v.get('default')) for k, v in auth.AUTH_ARGSPEC.items())
    base.update(kw)
    return base


def test_argspec_secrets_are_no_log():
    for name in ('client_secret', 'login_password', 'private_key', 'access_token', 'refresh_token'):
        assert auth.AUTH_ARGSPEC[name]['no_log'] is True
    assert auth.AUTH_ARGSPEC['private_key_file']['no_log'] is False
    assert all(spec['fallback'][1][0].startswith('SF_') for spec in auth.AUTH_ARGSPEC.values())
    assert auth.AUTH_ARGSPEC['api_version']['default'] == '67.0'


def test_jwt_claims_and_signature(keypair):
    pem, public = keypair
    p = params(client_id='CID', login_username='u@example.com', private_key=pem, login_url='https://test.salesforce.com/')
    url, form = auth.token_request(p, now=1000)
    assert url == 'https://test.salesforce.com/services/oauth2/token'
    assert form['grant_type'] == 'urn:ietf:params:oauth:grant-type:jwt-bearer'
    claims = jwt.decode(form['assertion'], public, algorithms=['RS256'], audience='https://test.salesforce.com',
                        options={'verify_exp': False})
    assert claims == {'iss': 'CID', 'sub': 'u@example.com', 'aud': 'https://test.salesforce.com', 'exp': 1180}


def test_jwt_key_from_file(keypair, tmp_path):
    pem, public = keypair
    path = tmp_path / 'key.pem'
    path.write_text(pem)
    _url, form = auth.token_request(params(client_id='CID', login_username='u', private_key_file=str(path)))
    assert jwt.decode(form['assertion'], public, algorithms=['RS256'], audience='https://login.salesforce.com')['sub'] == 'u'


def test_bad_key_says_what_to_do_without_the_key():
    with pytest.raises(InputError) as exc:
        auth.token_request(params(client_id='CID', login_username='u', private_key='-----BEGIN SECRETSTUFF-----'))
    assert 'SECRETSTUFF' not in str(exc.value) and 'certificate' in exc.value.hint


@pytest.mark.parametrize('method, extra, url, form', [
    ('client_credentials', dict(client_id='C', client_secret='S', instance_url='https://my.my.salesforce.com'),
     'https://my.my.salesforce.com/services/oauth2/token', {'grant_type': 'client_credentials', 'client_id': 'C', 'client_secret': 'S'}),
    ('client_credentials', dict(client_id='C', client_secret='S', login_url='https://my2.my.salesforce.com'),
     'https://my2.my.salesforce.com/services/oauth2/token', {'grant_type': 'client_credentials', 'client_id': 'C', 'client_secret': 'S'}),
    ('refresh_token', dict(client_id='C', refresh_token='R'), 'https://login.salesforce.com/services/oauth2/token',
     {'grant_type': 'refresh_token', 'client_id': 'C', 'refresh_token': 'R'}),
    ('refresh_token', dict(client_id='C', refresh_token='R', client_secret='S'), 'https://login.salesforce.com/services/oauth2/token',
     {'grant_type': 'refresh_token', 'client_id': 'C', 'refresh_token': 'R', 'client_secret': 'S'}),
    ('password', dict(client_id='C', client_secret='S', login_username='u', login_password='P'), 'https://login.salesforce.com/services/oauth2/token',
     {'grant_type': 'password', 'client_id': 'C', 'client_secret': 'S', 'username': 'u', 'password': 'P'}),
])
def test_token_request_bodies(method, extra, url, form):
    assert auth.token_request(params(auth_method=method, **extra)) == (url, form)


@pytest.mark.parametrize('method, extra, missing', [
    ('jwt_bearer', {}, ['client_id', 'login_username', 'private_key or private_key_file']),
    ('client_credentials', dict(client_id='C'), ['client_secret']),
    ('access_token', dict(access_token='T'), ['instance_url']),
    ('password', dict(client_id='C', client_secret='S', login_username='u'), ['login_password']),
])
def test_validate_names_missing_options_and_env(method, extra, missing):
    with pytest.raises(InputError) as exc:
        auth.validate(params(auth_method=method, **extra))
    for name in missing:
        assert name in exc.value.message
    assert 'SF_' in exc.value.hint


@pytest.mark.parametrize('extra, fragment', [
    (dict(instance_url='http://x.example'), 'allow_http'),
    (dict(login_url='http://login.example'), 'allow_http'),
    (dict(login_url='login.salesforce.com'), 'absolute'),
    (dict(api_version='abc'), 'api_version'),
    (dict(api_version='20.0'), 'older'),
])
def test_validate_urls_and_version(extra, fragment):
    with pytest.raises(InputError) as exc:
        auth.validate(params(auth_method='client_credentials', client_id='C', client_secret='S', **extra))
    assert fragment in exc.value.message + (exc.value.hint or '')


def test_http_allowed_when_asked():
    auth.validate(params(auth_method='client_credentials', client_id='C', client_secret='S', login_url='http://127.0.0.1:1', allow_http=True))


@pytest.mark.parametrize('value, expected', [('67', '67.0'), ('v66.0', '66.0'), (None, '67.0'), ('58.0', '58.0')])
def test_normalise_api_version(value, expected):
    assert auth.normalise_api_version(value) == expected


def test_authenticate_reads_ids_and_instance():
    def http(url, form):
        return 200, {'access_token': 'TOK', 'instance_url': 'https://i.example/', 'id': 'https://login.salesforce.com/id/00DA/005B'}
    session = auth.authenticate(params(auth_method='client_credentials', client_id='C', client_secret='S'), http)
    assert (session.instance_url, session.access_token, session.org_id, session.user_id) == ('https://i.example', 'TOK', '00DA', '005B')
    assert session.can_reauthenticate is True


def test_access_token_method_makes_no_request():
    def http(url, form):
        raise AssertionError('no token request expected')
    session = auth.authenticate(params(auth_method='access_token', access_token='T', instance_url='https://i.example'), http)
    assert session.access_token == 'T' and session.can_reauthenticate is False


@pytest.mark.parametrize('payload, code, hint_part', [
    ({'error': 'invalid_grant', 'error_description': 'user hasn\'t approved this consumer'}, 'invalid_grant', 'pre-authorised'),
    ({'error': 'invalid_client_id', 'error_description': 'client identifier invalid'}, 'invalid_client_id', 'consumer key'),
    ({'error': 'invalid_app_access', 'error_description': 'user is not admin approved to access this app'}, 'invalid_app_access', 'permission set'),
    (None, 'HTTP_404', None),
])
def test_token_errors(payload, code, hint_part):
    def http(url, form):
        return (400 if payload else 404), payload
    with pytest.raises(AuthError) as exc:
        auth.authenticate(params(auth_method='password', client_id='C', client_secret='S', login_username='u', login_password='PW-SECRET'), http)
    assert exc.value.error_code == code
    assert 'PW-SECRET' not in str(exc.value)
    if hint_part:
        assert hint_part in hint_for(exc.value)


def test_http_instance_url_from_token_refused():
    def http(url, form):
        return 200, {'access_token': 'T', 'instance_url': 'http://plain.example'}
    with pytest.raises(InputError):
        auth.authenticate(params(auth_method='client_credentials', client_id='C', client_secret='S'), http)


# --- a given token with a login method (issue #7: the role passes sf_login's token and keeps the login method) -------
def _no_http(url, form):
    raise AssertionError('no token request expected')


@pytest.mark.parametrize('method, creds', [
    ('jwt_bearer', dict(client_id='C', login_username='u', private_key='PEM')),
    ('client_credentials', dict(client_id='C', client_secret='S')),
    ('refresh_token', dict(client_id='C', refresh_token='R')),
    ('password', dict(client_id='C', client_secret='S', login_username='u', login_password='P')),
])
def test_given_token_with_login_method_is_used_first_and_may_log_in_again(method, creds):
    p = params(auth_method=method, access_token='GIVEN', instance_url='https://i.example/', **creds)
    auth.validate(p)
    session = auth.authenticate(p, _no_http)
    assert (session.access_token, session.instance_url) == ('GIVEN', 'https://i.example')
    assert session.can_reauthenticate is True
    assert session.api_version == '67.0'


def test_given_token_not_used_for_the_relogin():
    posts = []

    def http(url, form):
        posts.append((url, form))
        return 200, {'access_token': 'NEW', 'instance_url': 'https://i.example', 'id': 'https://login.salesforce.com/id/00DA/005B'}
    p = params(auth_method='password', access_token='GIVEN', instance_url='https://i.example', client_id='C', client_secret='S',
               login_username='u', login_password='P')
    session = auth.authenticate(p, http, use_given_token=False)
    assert session.access_token == 'NEW' and session.can_reauthenticate is True
    assert len(posts) == 1 and posts[0][1]['grant_type'] == 'password'


def test_given_token_without_instance_url_is_ignored_by_a_login_method():
    posts = []

    def http(url, form):
        posts.append(form)
        return 200, {'access_token': 'NEW', 'instance_url': 'https://i.example'}
    p = params(auth_method='client_credentials', access_token='GIVEN', client_id='C', client_secret='S')
    assert auth.given_session(p) is None
    assert auth.authenticate(p, http).access_token == 'NEW' and len(posts) == 1


def test_access_token_method_never_reauthenticates_even_with_credentials():
    p = params(auth_method='access_token', access_token='T', instance_url='https://i.example', client_id='C', client_secret='S',
               login_username='u', login_password='P')
    assert auth.given_session(p) is None
    session = auth.authenticate(p, _no_http)
    assert session.access_token == 'T' and session.can_reauthenticate is False


@pytest.mark.parametrize('method, creds, missing', [
    ('jwt_bearer', dict(client_id='C', login_username='u'), ['private_key or private_key_file']),
    ('jwt_bearer', dict(private_key='PEM'), ['client_id', 'login_username']),
    ('client_credentials', dict(client_id='C'), ['client_secret']),
    ('refresh_token', dict(client_id='C'), ['refresh_token']),
    ('password', dict(client_id='C', client_secret='S', login_username='u'), ['login_password']),
])
def test_given_token_does_not_excuse_missing_login_credentials(method, creds, missing):
    """The token alone could serve the first requests, but the re-login it may need could not: fail before any request."""
    with pytest.raises(InputError) as exc:
        auth.validate(params(auth_method=method, access_token='GIVEN', instance_url='https://i.example', **creds))
    for name in missing:
        assert name in exc.value.message
    assert 'GIVEN' not in exc.value.message + (exc.value.hint or '')

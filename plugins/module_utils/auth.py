# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Connection/auth options and the OAuth flows (one strategy per ``auth_method``).

FOR INTERNAL COLLECTION USE ONLY: the interface may change in any release.

Every flow posts a form to ``<base>/services/oauth2/token`` and reads ``access_token``, ``instance_url`` and ``id``
(``https://login.salesforce.com/id/<org id>/<user id>``).  The HTTP transport is passed in (``http`` = a
``requests.Session`` owned by the client) so that this file has no third-party import at module level.
"""

import time
from urllib.parse import urlsplit

from ansible.module_utils.basic import env_fallback

from .errors import AuthError, InputError, SalesforceError

AUTH_METHODS = ('jwt_bearer', 'client_credentials', 'refresh_token', 'access_token', 'password')
# The methods that can obtain a new token on their own (every one but access_token).
LOGIN_METHODS = ('jwt_bearer', 'client_credentials', 'refresh_token', 'password')
DEFAULT_LOGIN_URL = 'https://login.salesforce.com'
DEFAULT_API_VERSION = '67.0'
# Salesforce accepts a JWT whose exp is at most 3 minutes ahead (Help: remoteaccess_oauth_jwt_flow).
JWT_LIFETIME = 180

AUTH_ARGSPEC = dict(
    auth_method=dict(type='str', default='jwt_bearer', choices=list(AUTH_METHODS), fallback=(env_fallback, ['SF_AUTH_METHOD'])),
    instance_url=dict(type='str', fallback=(env_fallback, ['SF_INSTANCE_URL'])),
    login_url=dict(type='str', default=DEFAULT_LOGIN_URL, fallback=(env_fallback, ['SF_LOGIN_URL'])),
    client_id=dict(type='str', fallback=(env_fallback, ['SF_CLIENT_ID'])),
    client_secret=dict(type='str', no_log=True, fallback=(env_fallback, ['SF_CLIENT_SECRET'])),
    # login_* names the user the automation logs in as, in every module: sf_user's own username is the managed user.
    # The old names stay as deprecated aliases wherever a module has no option of that name (module.ModuleSpec).
    login_username=dict(type='str', aliases=['username'], fallback=(env_fallback, ['SF_USERNAME']),
                        deprecated_aliases=[dict(name='username', version='1.0.0', collection_name='sfops.salesforce')]),
    login_password=dict(type='str', no_log=True, aliases=['password'], fallback=(env_fallback, ['SF_PASSWORD']),
                        deprecated_aliases=[dict(name='password', version='1.0.0', collection_name='sfops.salesforce')]),
    private_key=dict(type='str', no_log=True, fallback=(env_fallback, ['SF_PRIVATE_KEY'])),
    # A path, not a secret: no_log=False keeps validate-modules quiet and the path visible for debugging.
    private_key_file=dict(type='path', no_log=False, fallback=(env_fallback, ['SF_PRIVATE_KEY_FILE'])),
    access_token=dict(type='str', no_log=True, fallback=(env_fallback, ['SF_ACCESS_TOKEN'])),
    refresh_token=dict(type='str', no_log=True, fallback=(env_fallback, ['SF_REFRESH_TOKEN'])),
    api_version=dict(type='str', default=DEFAULT_API_VERSION, fallback=(env_fallback, ['SF_API_VERSION'])),
    validate_certs=dict(type='bool', default=True, fallback=(env_fallback, ['SF_VALIDATE_CERTS'])),
    ca_path=dict(type='path', fallback=(env_fallback, ['SF_CA_PATH'])),
    timeout=dict(type='int', default=30, fallback=(env_fallback, ['SF_TIMEOUT'])),
    allow_http=dict(type='bool', default=False, fallback=(env_fallback, ['SF_ALLOW_HTTP'])),
    retries=dict(type='int', default=3, fallback=(env_fallback, ['SF_RETRIES'])),
    retry_backoff=dict(type='float', default=0.5, fallback=(env_fallback, ['SF_RETRY_BACKOFF'])),
    retry_max_delay=dict(type='float', default=8.0, fallback=(env_fallback, ['SF_RETRY_MAX_DELAY'])),
)

# Options each flow needs; checked before any request so a typo fails with a list of what is missing.
REQUIRED = {
    'jwt_bearer': ('client_id', 'login_username'),
    'client_credentials': ('client_id', 'client_secret'),
    'refresh_token': ('client_id', 'refresh_token'),
    'access_token': ('access_token', 'instance_url'),
    'password': ('client_id', 'client_secret', 'login_username', 'login_password'),
}
ENV_OF = dict((name, spec['fallback'][1][0]) for name, spec in AUTH_ARGSPEC.items())


class Session(object):
    """What a successful authentication yields. ``access_token`` is secret: never return or log it."""

    def __init__(self, instance_url, access_token, api_version, org_id=None, user_id=None, can_reauthenticate=False):
        self.instance_url = instance_url.rstrip('/')
        self.access_token = access_token
        self.api_version = api_version
        self.org_id = org_id
        self.user_id = user_id
        self.can_reauthenticate = can_reauthenticate


def _check_url(name, url, allow_http):
    parts = urlsplit(url or '')
    if parts.scheme == 'http' and not allow_http:
        raise InputError('%s %s uses http://: Salesforce only accepts HTTPS and tokens must not travel in clear text.' % (name, url),
                         hint='Use an https:// URL, or set allow_http=true for a local test endpoint only.')
    if parts.scheme not in ('http', 'https') or not parts.netloc:
        raise InputError('%s %r is not an absolute https:// URL.' % (name, url),
                         hint='Give the base URL, for example https://mydomain.my.salesforce.com.')


def normalise_api_version(value):
    """Accept ``67``, ``67.0`` or ``v67.0``; return ``67.0``."""
    text = str(value or DEFAULT_API_VERSION).strip().lstrip('vV')
    try:
        major = int(float(text))
    except ValueError:
        raise InputError('api_version %r is not a Salesforce API version.' % value, hint='Use a value such as 67.0.')
    if major < 31:
        raise InputError('api_version %s is older than the oldest supported Salesforce API version (31.0).' % text,
                         hint='Use 31.0 or later; the collection is tested with %s.' % DEFAULT_API_VERSION)
    return '%d.0' % major


def validate(params):
    """Check the auth options without any network call; raise InputError saying what to set."""
    method = params.get('auth_method') or 'jwt_bearer'
    missing = [name for name in REQUIRED[method] if not params.get(name)]
    if method == 'jwt_bearer' and not (params.get('private_key') or params.get('private_key_file')):
        missing.append('private_key or private_key_file')
    if missing:
        raise InputError('auth_method=%s needs: %s.' % (method, ', '.join(missing)),
                         hint='Set them as module options (for example through module_defaults group/sfops.salesforce.salesforce) '
                              'or environment variables (%s).' % ', '.join(ENV_OF.get(m.split(' ')[0], '') for m in missing))
    if params.get('instance_url'):
        _check_url('instance_url', params['instance_url'], params.get('allow_http'))
    if method != 'access_token':
        _check_url('login_url', params.get('login_url') or DEFAULT_LOGIN_URL, params.get('allow_http'))
    if params.get('retries') is not None and params['retries'] < 0:
        raise InputError('retries must be 0 or more.')
    for name in ('retry_backoff', 'retry_max_delay'):
        if params.get(name) is not None and params[name] < 0:
            raise InputError('%s must be 0 or more seconds.' % name)
    normalise_api_version(params.get('api_version'))


def _ids_from_identity(identity_url):
    """``.../id/00D.../005...`` -> (org_id, user_id); tolerant of absent/odd values."""
    parts = [p for p in urlsplit(identity_url or '').path.split('/') if p]
    if len(parts) >= 3 and parts[-3] == 'id':
        return parts[-2], parts[-1]
    return None, None


def _read_private_key(params):
    if params.get('private_key'):
        return params['private_key']
    try:
        with open(params['private_key_file'], 'r') as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        # The path is not secret; the content would be, and it is never read into the message.
        raise InputError('Cannot read private_key_file %s: %s.' % (params['private_key_file'], exc.strerror),
                         hint='Give a readable PEM file or the PEM text in private_key.')


def jwt_claims(params, now=None):
    """Claims of the JWT bearer assertion. ``aud`` is the login URL (login/test.salesforce.com or My Domain)."""
    now = int(now if now is not None else time.time())
    return {
        'iss': params['client_id'],
        'sub': params['login_username'],
        'aud': (params.get('login_url') or DEFAULT_LOGIN_URL).rstrip('/'),
        'exp': now + JWT_LIFETIME,
    }


def jwt_assertion(params, now=None):
    """Sign the assertion with RS256. PyJWT and cryptography are imported here so only jwt_bearer needs them."""
    # Imported here so only jwt_bearer needs PyJWT; SalesforceModule.check_libraries() guards it.
    import jwt  # pylint: disable=import-outside-toplevel
    key = _read_private_key(params)
    try:
        return jwt.encode(jwt_claims(params, now), key, algorithm='RS256')
    except (ValueError, TypeError, jwt.exceptions.PyJWTError) as exc:
        # The exception text of cryptography never includes the key material, but keep it short anyway.
        raise InputError('The private key cannot sign an RS256 JWT (%s).' % type(exc).__name__,
                         hint='Give an unencrypted PEM RSA private key whose certificate is uploaded to the connected app.')


def token_request(params, now=None):
    """Return (token endpoint URL, form fields) for the configured flow (not for access_token)."""
    method = params.get('auth_method') or 'jwt_bearer'
    base = (params.get('login_url') or DEFAULT_LOGIN_URL).rstrip('/')
    if method == 'jwt_bearer':
        form = {'grant_type': 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'assertion': jwt_assertion(params, now)}
    elif method == 'client_credentials':
        # The client credentials flow only works on the My Domain host (login.salesforce.com answers
        # "request not supported on this domain"), so prefer instance_url when it is known.
        base = (params.get('instance_url') or base).rstrip('/')
        form = {'grant_type': 'client_credentials', 'client_id': params['client_id'], 'client_secret': params['client_secret']}
    elif method == 'refresh_token':
        form = {'grant_type': 'refresh_token', 'client_id': params['client_id'], 'refresh_token': params['refresh_token']}
        if params.get('client_secret'):
            form['client_secret'] = params['client_secret']
    elif method == 'password':
        form = {'grant_type': 'password', 'client_id': params['client_id'], 'client_secret': params['client_secret'],
                'username': params['login_username'], 'password': params['login_password']}
    else:
        raise ValueError('no token request for auth_method %s' % method)
    return base + '/services/oauth2/token', form


def parse_token_error(status, payload):
    """Turn a token endpoint refusal into AuthError (payload: decoded JSON or None)."""
    if isinstance(payload, dict) and payload.get('error'):
        return AuthError(status, payload['error'], 'The token endpoint refused the login: %s' % (payload.get('error_description') or payload['error']))
    return AuthError(status, 'HTTP_%s' % status, 'The token endpoint answered HTTP %s without an OAuth error body (wrong login_url?).' % status)


def given_session(params):
    """The session of a token given in ``access_token`` + ``instance_url`` alongside a login method, or None.

    Such a token (for example sf_login's, passed on to later tasks) is used first, without a token request; because
    the login method and its credentials are there too, the client may log in once more when Salesforce answers
    INVALID_SESSION_ID (``can_reauthenticate=True``).  Without ``instance_url`` the token is ignored and the method
    logs in as before (a token alone does not say which host it belongs to).
    """
    method = params.get('auth_method') or 'jwt_bearer'
    if method not in LOGIN_METHODS or not params.get('access_token') or not params.get('instance_url'):
        return None
    return Session(params['instance_url'], params['access_token'], normalise_api_version(params.get('api_version')),
                   can_reauthenticate=True)


def authenticate(params, http, use_given_token=True):
    """Return a ``Session``: the given token, or the configured flow run once.

    :param http: callable ``http(url, form) -> (status, decoded JSON or None)`` performing the POST.
    :param use_given_token: with a login method, start from ``access_token`` + ``instance_url`` when both are
        given (no token request); the client passes False for the re-login after INVALID_SESSION_ID, so that a
        refused token is never used again.  ``auth_method=access_token`` always uses the given token (and cannot
        log in again).
    """
    method = params.get('auth_method') or 'jwt_bearer'
    api_version = normalise_api_version(params.get('api_version'))
    if method == 'access_token':
        return Session(params['instance_url'], params['access_token'], api_version, can_reauthenticate=False)
    if use_given_token:
        given = given_session(params)
        if given is not None:
            return given
    url, form = token_request(params)
    status, payload = http(url, form)
    if status != 200 or not isinstance(payload, dict) or not payload.get('access_token'):
        raise parse_token_error(status, payload)
    instance_url = payload.get('instance_url') or params.get('instance_url')
    if not instance_url:
        raise SalesforceError(status, 'NO_INSTANCE_URL', 'The token response has no instance_url; set instance_url.')
    _check_url('instance_url (from the token response)', instance_url, params.get('allow_http'))
    org_id, user_id = _ids_from_identity(payload.get('id'))
    return Session(instance_url, payload['access_token'], api_version, org_id=org_id, user_id=user_id, can_reauthenticate=True)

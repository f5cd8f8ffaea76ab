# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment(object):

    # Connection and authentication options shared by every module (code: plugins/module_utils/auth.py AUTH_ARGSPEC).
    DOCUMENTATION = r'''
options:
  auth_method:
    description:
      - How to obtain an access token.
      - V(jwt_bearer) (recommended for automation) signs a JWT with O(private_key) or O(private_key_file) for
        O(login_username); the certificate must be uploaded to the connected app and the user pre-authorised.
      - V(client_credentials) uses O(client_id) and O(client_secret); the connected app must have a run-as user.
        The token is requested from O(instance_url) (My Domain) when set, otherwise from O(login_url).
      - V(refresh_token) exchanges O(refresh_token) (and O(client_secret) when the app requires it).
      - V(access_token) uses a token obtained earlier, for example by M(sfops.salesforce.sf_login); needs
        O(instance_url). It cannot log in again when the token expires; to survive that, keep the login method
        instead and pass the token in O(access_token) (see there).
      - V(password) is the username-password flow; Salesforce discourages it and blocks it in new orgs.
      - If not set, the value of the E(SF_AUTH_METHOD) environment variable is used.
    type: str
    choices: [jwt_bearer, client_credentials, refresh_token, access_token, password]
    default: jwt_bearer
  instance_url:
    description:
      - Base URL of the org, for example V(https://mydomain.my.salesforce.com).
      - Required for O(auth_method=access_token). For other methods the token response's instance URL is used.
      - If not set, the value of the E(SF_INSTANCE_URL) environment variable is used.
    type: str
  login_url:
    description:
      - Base URL whose C(/services/oauth2/token) is the token endpoint, and the C(aud) claim of the JWT.
      - V(https://test.salesforce.com) for sandboxes; a My Domain URL also works.
      - If not set, the value of the E(SF_LOGIN_URL) environment variable is used.
    type: str
    default: https://login.salesforce.com
  client_id:
    description:
      - Consumer key of the connected app or external client app.
      - If not set, the value of the E(SF_CLIENT_ID) environment variable is used.
    type: str
  client_secret:
    description:
      - Consumer secret, for O(auth_method=client_credentials), O(auth_method=password) and some refresh-token apps.
      - If not set, the value of the E(SF_CLIENT_SECRET) environment variable is used.
    type: str
  private_key:
    description:
      - PEM text of the RSA private key for O(auth_method=jwt_bearer). Mutually exclusive in practice with
        O(private_key_file); O(private_key) wins when both are set.
      - If not set, the value of the E(SF_PRIVATE_KEY) environment variable is used.
    type: str
  private_key_file:
    description:
      - Path of a PEM RSA private key on the managed node, for O(auth_method=jwt_bearer).
      - If not set, the value of the E(SF_PRIVATE_KEY_FILE) environment variable is used.
    type: path
  access_token:
    description:
      - Access token for O(auth_method=access_token), for example RV(sfops.salesforce.sf_login#module:access_token).
      - With a method that can log in (V(jwt_bearer), V(client_credentials), V(refresh_token), V(password)) and
        O(instance_url) also set, the module starts with this token (no token request) and, if Salesforce answers
        C(INVALID_SESSION_ID) because it expired or was revoked, logs in once with that method and its credentials,
        which must then be set too. Without O(instance_url) the token is ignored for those methods.
      - If not set, the value of the E(SF_ACCESS_TOKEN) environment variable is used.
    type: str
  refresh_token:
    description:
      - Refresh token for O(auth_method=refresh_token).
      - If not set, the value of the E(SF_REFRESH_TOKEN) environment variable is used.
    type: str
  api_version:
    description:
      - Salesforce REST API version, for example V(67.0). Permission names are checked against the describe of this version.
      - If not set, the value of the E(SF_API_VERSION) environment variable is used.
    type: str
    default: '67.0'
  validate_certs:
    description:
      - Verify the TLS certificate of Salesforce. Only set to V(false) against a local test endpoint.
      - If not set, the value of the E(SF_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - PEM bundle of certificate authorities to trust instead of the system/certifi bundle.
      - If not set, the value of the E(SF_CA_PATH) environment variable is used.
    type: path
  timeout:
    description:
      - Seconds to wait for each HTTP response.
      - If not set, the value of the E(SF_TIMEOUT) environment variable is used.
    type: int
    default: 30
  allow_http:
    description:
      - Allow C(http://) URLs. Tokens then travel in clear text, so this is only for a local test endpoint.
      - If not set, the value of the E(SF_ALLOW_HTTP) environment variable is used.
    type: bool
    default: false
  retries:
    description:
      - How many times a request (and the token request) is repeated after HTTP 502/503/504, C(UNABLE_TO_LOCK_ROW) or
        a connection error, waiting as set by O(retry_backoff) and O(retry_max_delay). TLS certificate errors and host
        names that do not resolve are not retried.
      - A write is only repeated when Salesforce surely did not apply it; a create whose answer was lost (connection
        reset, read timeout, 502/504) is first looked up by its natural key, so it is never created twice. When it
        cannot be looked up, the task fails and says the outcome is unknown.
      - C(REQUEST_LIMIT_EXCEEDED) is never retried, because every retry would use up what is left of the org's API
        allowance. An expired session (C(INVALID_SESSION_ID)) triggers one new login when O(auth_method) can log in
        again.
      - If not set, the value of the E(SF_RETRIES) environment variable is used.
    type: int
    default: 3
  retry_backoff:
    description:
      - Base delay of the retries, in seconds. Retry number N (counted from 0) waits a random time between 0 and
        O(retry_backoff) * 2**N seconds, at most O(retry_max_delay) (exponential backoff with full jitter, so that
        parallel forks against one org do not retry in lockstep).
      - If not set, the value of the E(SF_RETRY_BACKOFF) environment variable is used.
    type: float
    default: 0.5
  retry_max_delay:
    description:
      - Longest single wait between two attempts, in seconds.
      - If not set, the value of the E(SF_RETRY_MAX_DELAY) environment variable is used.
    type: float
    default: 8.0
requirements:
  - requests
  - simple-salesforce >= 1.12.7 (it brings PyJWT)
  - cryptography (only for O(auth_method=jwt_bearer))
notes:
  - Options can be set once for every module of the collection with
    C(module_defaults) and the action group C(group/sfops.salesforce.salesforce).
  - Secrets and tokens never appear in results, diffs or error messages.
'''

    # The login user's options with their deprecated aliases (every module but sf_user, which documents its own
    # login_username/login_password without aliases: there username is the managed user).
    LOGIN = r'''
options:
  login_username:
    description:
      - Username of the user to log in as, for O(auth_method=jwt_bearer) and O(auth_method=password). It is always the
        login user, never a user the module manages (M(sfops.salesforce.sf_user) names that one O(sfops.salesforce.sf_user#module:username)).
      - The old name C(username) is a deprecated alias (not in M(sfops.salesforce.sf_user)); it will be removed in 1.0.0.
      - If not set, the value of the E(SF_USERNAME) environment variable is used.
    type: str
    aliases: [username]
  login_password:
    description:
      - Password of O(login_username) (with the security token appended if the org requires it) for
        O(auth_method=password).
      - The old name C(password) is a deprecated alias (not in M(sfops.salesforce.sf_user)); it will be removed in 1.0.0.
      - If not set, the value of the E(SF_PASSWORD) environment variable is used.
    type: str
    aliases: [password]
'''

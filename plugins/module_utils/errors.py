# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Typed errors for the sfops.salesforce collection.

FOR INTERNAL COLLECTION USE ONLY: the interface may change in any release.

Every failure that module_utils code can foresee is raised as a ``SalesforceError`` (or a subclass) and turned into
``fail_json`` in exactly one place, ``SalesforceModule.fail_from``.  Nothing here ever holds a token: the client
builds these objects only from Salesforce's error bodies, which never echo the Authorization header.
"""

# What the operator should do, keyed by Salesforce errorCode (REST) or OAuth ``error`` (token endpoint).
# Sources: REST API Developer Guide "Status Codes and Error Responses"; Salesforce Help "OAuth flow errors"
# (remoteaccess_oauth_flow_errors); shared/reference/salesforce-api.md sections 1.3, 2, 3, 7.
HINTS = {
    'INVALID_SESSION_ID': 'The session is invalid or expired, even after one new login where the auth options allow one: '
                          're-authenticate (auth_method=access_token cannot log in again by itself; give a login method such '
                          'as jwt_bearer and its credentials as well) and check the session timeout policy of the connected '
                          'app and whether an admin revoked the sessions.',
    'REQUEST_LIMIT_EXCEEDED': 'The org has used its rolling 24 h API request allowance (or a concurrency limit): wait for the '
                              'window to free up (see sf_org_info gather=limits) or ask Salesforce for a higher limit. Not retried.',
    'FIELD_INTEGRITY_EXCEPTION': 'Salesforce rejected a value because of a dependency or integrity rule: read the message for the '
                                 'permission or field it names, and grant what it depends on.',
    'DUPLICATE_VALUE': 'A record with the same unique key already exists (possibly created concurrently): re-run the task.',
    'INSUFFICIENT_ACCESS': 'The authenticated user lacks a permission: it needs "Manage Profiles and Permission Sets" '
                           '(and "View Setup and Configuration"), or "Manage Users" for user tasks.',
    'INSUFFICIENT_ACCESS_OR_READONLY': 'The authenticated user may not change this record, or the record is read-only '
                                       '(for example a profile-owned permission set or a managed package component).',
    'INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY': 'The user may not reference the related record (licence, user or permission set): '
                                                     'check the sharing and the admin permissions of the integration user.',
    'API_DISABLED_FOR_ORG': 'The REST API is not enabled for this org edition or user: check the "API Enabled" permission.',
    'API_CURRENTLY_DISABLED': 'The REST API is disabled for this user: grant "API Enabled".',
    'INVALID_FIELD': 'A field does not exist for this API version or the user cannot see it: check api_version and field-level security.',
    'INVALID_TYPE': 'The object does not exist for this API version or the user cannot see it: check the name and api_version.',
    'NOT_FOUND': 'The record or resource does not exist (deleted concurrently?): re-run the task.',
    'ENTITY_IS_DELETED': 'The record was deleted concurrently: re-run the task.',
    'UNABLE_TO_LOCK_ROW': 'Another transaction holds a lock on the record: re-run later or raise the retries option.',
    'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST': 'A value is not allowed here (for example an object or field that has no '
                                               'permissions): check the names against the org.',
    'INVALID_CROSS_REFERENCE_KEY': 'A referenced Id does not exist in this org: check licence, profile or permission set names.',
    'LICENSE_LIMIT_EXCEEDED': 'No licence of that type is left: free one up or buy more (see sf_org_info gather=licenses).',
    'DELETE_FAILED': 'Salesforce refused the delete: the record is still in use (for example assigned permission sets).',
    'MALFORMED_QUERY': 'Internal query error: please report this as a bug of sfops.salesforce with the api_version used.',
    'SERVER_UNAVAILABLE': 'Salesforce did not answer in time or is in maintenance: re-run later or raise the retries option.',
    'CONNECTION_ERROR': 'The host could not be reached: check instance_url/login_url, DNS, proxies and validate_certs/ca_path.',
    # OAuth token endpoint errors (``error`` field)
    'invalid_grant': 'Check login_username (and login_password), the private key (its certificate must be uploaded to the connected app), that the user '
                     'is pre-authorised (admin-approved profile or permission set) and login_url (test.salesforce.com for sandboxes, '
                     'My Domain for client_credentials); refresh tokens expire per the app policy.',
    'invalid_client_id': 'The client_id (consumer key) is unknown to this org: copy it from the connected app or external client app.',
    'invalid_client': 'The client_id/client_secret pair is wrong, or the app is not installed in the org.',
    'invalid_app_access': 'The app is "Admin approved users are pre-authorized" and the user has no profile or permission set '
                          'granting access: add one in the app policy.',
    'unsupported_grant_type': 'The connected app does not allow this flow: enable it (JWT needs a certificate, client '
                              'credentials needs a run-as user).',
    'invalid_request': 'The token request was malformed: check login_url and the auth options of this auth_method.',
    'inactive_user': 'The user is inactive: reactivate it or use another user.',
    'inactive_org': 'The org is locked, suspended or deleted.',
}


class SalesforceError(Exception):
    """An error answered by Salesforce (or met while talking to it).

    :param status: HTTP status (int) or None when no HTTP response exists (connection error, bad input).
    :param error_code: Salesforce ``errorCode``/``statusCode`` or OAuth ``error``.
    :param message: Salesforce's message, never containing a secret.
    :param fields: field names Salesforce blamed.
    :param records: per-row failures of composite/collections calls: list of dicts
        ``{"index", "id", "error_code", "message", "fields"}``.
    """

    def __init__(self, status, error_code, message, fields=None, records=None):
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = list(fields or [])
        self.records = list(records or [])

    def __str__(self):
        code = ' (%s)' % self.error_code if self.error_code else ''
        return '%s%s' % (self.message, code)

    def to_dict(self):
        """Structured form for fail_json."""
        return {'status': self.status, 'error_code': self.error_code, 'fields': self.fields, 'records': self.records}


class AuthError(SalesforceError):
    """The token endpoint refused to issue a token (``{"error", "error_description"}``)."""


class InputError(SalesforceError):
    """Bad task input detected before any write; ``hint`` says what to do."""

    def __init__(self, message, hint=None, fields=None):
        super().__init__(None, None, message, fields=fields)
        self.hint = hint


def hint_for(error):
    """Return the advice for ``error`` (a SalesforceError), or None."""
    hint = getattr(error, 'hint', None)
    if hint:
        return hint
    if error.error_code in HINTS:
        return HINTS[error.error_code]
    for rec in error.records:
        if rec.get('error_code') in HINTS:
            return HINTS[rec['error_code']]
    if error.status is not None and 500 <= error.status < 600:
        return HINTS['SERVER_UNAVAILABLE']
    return None


def scrub(text, secrets):
    """Replace every secret value in ``text`` (defence in depth for the one error path)."""
    if not text:
        return text
    for secret in secrets:
        if secret and len(secret) >= 4 and secret in text:
            text = text.replace(secret, '********')
    return text

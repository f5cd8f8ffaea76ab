# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure helpers of module_utils/users.py."""

import string

import pytest

from ansible_collections.sfops.salesforce.plugins.module_utils import _sf_user as users
from ansible_collections.sfops.salesforce.plugins.module_utils.errors import InputError, SalesforceError


@pytest.mark.parametrize('first, last, username, expected', [
    ('Planhat', 'Integration', 'x@y', 'pintegra'),
    (None, 'Doe', 'x@y', 'doe'),
    ('Émile', "O'Brien-Smith", 'x@y', 'obriensm'),
    (None, '', 'svc.planhat@acme.example', 'svcplanh'),
    (None, None, '@@', 'user'),
])
def test_derive_alias(first, last, username, expected):
    alias = users.derive_alias(first, last, username)
    assert alias == expected and len(alias) <= 8


def test_generated_passwords_meet_complexity_and_differ():
    seen = set()
    for _round in range(50):
        pw = users.generate_password()
        assert len(pw) == 24
        assert any(c in string.ascii_lowercase for c in pw) and any(c in string.ascii_uppercase for c in pw)
        assert any(c in string.digits for c in pw) and any(c in '!#$%-_=+' for c in pw)
        seen.add(pw)
    assert len(seen) == 50


PSLS = [{'Id': '0PL1', 'DeveloperName': 'SalesforceAPIIntegrationPsl', 'MasterLabel': 'Salesforce API Integration',
         'TotalLicenses': 5, 'UsedLicenses': 5}]


@pytest.mark.parametrize('name', ['SalesforceAPIIntegrationPsl', 'salesforce api integration', 'SALESFORCEAPIINTEGRATIONPSL'])
def test_find_psl_by_developer_name_or_label(name):
    assert users.find_psl(PSLS, name)['Id'] == '0PL1'


def test_find_psl_unknown_suggests():
    with pytest.raises(InputError) as exc:
        users.find_psl(PSLS, 'SalesforceAPIIntegrationPs')
    assert 'Did you mean: SalesforceAPIIntegrationPsl' in exc.value.message


def test_psl_capacity():
    with pytest.raises(InputError) as exc:
        users.check_psl_capacity(PSLS[0])
    assert '(5 of 5 used)' in exc.value.message
    users.check_psl_capacity(dict(PSLS[0], UsedLicenses=4))


def test_user_license_capacity():
    prof = {'Name': 'P', 'UserLicense': {'Name': 'Salesforce', 'TotalLicenses': 2, 'UsedLicenses': 2}}
    with pytest.raises(InputError):
        users.check_user_license(prof)
    users.check_user_license({'Name': 'P', 'UserLicense': {'Name': 'Salesforce', 'TotalLicenses': 2, 'UsedLicenses': 1}})


def test_find_profile_exact_then_case_insensitive():
    profiles = [{'Id': '1', 'Name': 'Standard User'}, {'Id': '2', 'Name': 'Read Only'}]
    assert users.find_profile(profiles, 'read only')['Id'] == '2'
    with pytest.raises(InputError) as exc:
        users.find_profile(profiles, 'Standard')
    assert 'Unknown profile' in exc.value.message


def test_username_taken_keeps_the_error_code_and_names_the_username():
    err = SalesforceError(400, 'ALL_OR_NONE_OPERATION_ROLLED_BACK', 'x', records=[{'error_code': 'DUPLICATE_USERNAME'}])
    taken = users.username_taken(err, 'planhat@acme.example')
    assert taken.error_code == 'DUPLICATE_USERNAME' and 'planhat@acme.example' in taken.message
    assert 'unique across ALL Salesforce orgs' in taken.message and 'My Domain' in taken.hint


def test_username_taken_and_map_error_pass_others_through():
    err = SalesforceError(400, 'FIELD_INTEGRITY_EXCEPTION', 'x')
    assert users.map_error(err) is err and users.username_taken(err, 'u') is err


def test_map_error_explains_licence_limit():
    mapped = users.map_error(SalesforceError(400, 'LICENSE_LIMIT_EXCEEDED', 'License Limit Exceeded'))
    assert isinstance(mapped, InputError) and 'no licence' in mapped.message


def test_first_real_error_skips_processing_halted():
    halted = SalesforceError(400, 'PROCESSING_HALTED', 'rolled back')
    real = SalesforceError(400, 'LICENSE_LIMIT_EXCEEDED', 'no licence')
    assert users.first_real_error({'a': halted, 'b': real, 'c': {'id': 'x'}}) is real
    assert users.first_real_error({'c': {'id': 'x'}}) is None


class _Client(object):
    base = '/services/data/v67.0'


def test_ref_query_keeps_references_literal_and_encodes_the_rest():
    sub = users.ref_query(_Client(), 'login', "SELECT Id FROM UserLogin WHERE UserId = '@{user.records[0].Id}'")
    assert sub['url'] == "/services/data/v67.0/query?q=SELECT%20Id%20FROM%20UserLogin%20WHERE%20UserId%20%3D%20%27@{user.records[0].Id}%27"
    assert sub['method'] == 'GET' and sub['referenceId'] == 'login'


def test_user_view_maps_fields_and_never_has_secrets():
    user = {'Id': '005x', 'Username': 'u@x', 'Email': 'e@x', 'FirstName': 'F', 'LastName': 'L', 'Alias': 'fl', 'TimeZoneSidKey': 'GMT',
            'LocaleSidKey': 'en_US', 'LanguageLocaleKey': 'en_US', 'EmailEncodingKey': 'UTF-8', 'IsActive': True,
            'Profile': {'Name': 'Standard User'}}
    view = users.user_view(user, {'IsFrozen': True}, ['0PL1'], PSLS)
    assert view == {'id': '005x', 'username': 'u@x', 'email': 'e@x', 'first_name': 'F', 'last_name': 'L', 'alias': 'fl',
                    'time_zone': 'GMT', 'locale': 'en_US', 'language': 'en_US', 'email_encoding': 'UTF-8', 'is_active': True,
                    'profile': 'Standard User', 'frozen': True, 'permission_set_licenses': ['SalesforceAPIIntegrationPsl']}
    assert users.user_view(None, None, [], PSLS) == {}

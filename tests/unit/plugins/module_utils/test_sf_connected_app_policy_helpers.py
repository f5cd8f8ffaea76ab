# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure helpers of module_utils/connected_apps.py."""

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.sfops.salesforce.plugins.module_utils import _sf_connected_app_policy as ca
from ansible_collections.sfops.salesforce.plugins.module_utils import metadata as md
from ansible_collections.sfops.salesforce.plugins.module_utils.errors import InputError


@pytest.mark.parametrize('value, expected', [
    ('infinite', 'infinite'), ('ZERO', 'zero'), ('specific_lifetime:3:hours', 'specific_lifetime:3:HOURS'),
    ('Specific_Inactivity:90:Days', 'specific_inactivity:90:DAYS'), (' specific_lifetime:12:MONTHS ', 'specific_lifetime:12:MONTHS'),
    (None, None),
])
def test_refresh_policy_normalised(value, expected):
    assert ca.normalise_refresh_policy(value) == expected


@pytest.mark.parametrize('value', ['forever', 'specific_lifetime:0:DAYS', 'specific_lifetime:3', 'specific_lifetime:3:WEEKS', ''])
def test_refresh_policy_rejected(value):
    with pytest.raises(InputError):
        ca.normalise_refresh_policy(value)


def component(xml):
    return ET.fromstring('<records xmlns="%s">%s</records>' % (md.MD_NS, xml))


def test_policy_from_metadata():
    comp = component('<fullName>A</fullName><oauthConfig><isAdminApproved>true</isAdminApproved></oauthConfig>'
                     '<oauthPolicy><ipRelaxation>BYPASS_2FACTOR</ipRelaxation><refreshTokenPolicy>specific_lifetime:1:DAYS'
                     '</refreshTokenPolicy></oauthPolicy>')
    assert ca.policy_from_metadata(comp) == {'permitted_users': 'admin_approved', 'ip_relaxation': 'bypass_2fa',
                                             'refresh_token_policy': 'specific_lifetime:1:DAYS'}
    empty = {'permitted_users': None, 'ip_relaxation': None, 'refresh_token_policy': None}
    assert ca.policy_from_metadata(component('<fullName>A</fullName>')) == empty


def test_apply_policy_creates_oauth_policy_in_order():
    comp = component('<fullName>A</fullName><label>A</label><oauthConfig><callbackUrl>x</callbackUrl><scopes>Api</scopes>'
                     '</oauthConfig><permissionSetName>P</permissionSetName>')
    ca.apply_policy(comp, {'permitted_users': 'admin_approved', 'ip_relaxation': 'enforce_relax_refresh', 'refresh_token_policy': 'zero'})
    assert [md.local(c.tag) for c in comp] == ['fullName', 'label', 'oauthConfig', 'oauthPolicy', 'permissionSetName']
    assert md.child_text(comp, 'oauthConfig', 'isAdminApproved') == 'true'
    assert md.child_text(comp, 'oauthPolicy', 'ipRelaxation') == 'ENFORCE_RELAXREFRESH'
    assert md.child_text(comp, 'oauthPolicy', 'refreshTokenPolicy') == 'zero'
    # everything else is kept as read (updateMetadata replaces the whole component)
    assert md.child_text(comp, 'permissionSetName') == 'P' and md.child_text(comp, 'oauthConfig', 'callbackUrl') == 'x'


def test_apply_policy_without_oauth_config_fails():
    with pytest.raises(InputError):
        ca.apply_policy(component('<fullName>A</fullName>'), {'permitted_users': 'admin_approved'})


@pytest.mark.parametrize('name, expected', [
    ('Planhat', ['Planhat']), ('sfops Automation', ['sfops Automation', 'sfops_Automation']),
])
def test_metadata_names(name, expected):
    assert ca.metadata_names(name) == expected


def test_find_app_exact_then_unique_case_insensitive():
    apps = [{'Id': '1', 'Name': 'Planhat'}, {'Id': '2', 'Name': 'planhat'}, {'Id': '3', 'Name': 'Other'}]
    assert ca.find_app(apps, 'planhat')['Id'] == '2'
    assert ca.find_app(apps, 'PLANHAT') is None  # ambiguous
    assert ca.find_app(apps, 'other')['Id'] == '3'


def test_access_by_name_ignores_profiles():
    rows = [{'Id': 'a', 'Parent': {'Name': 'PS', 'IsOwnedByProfile': False}}, {'Id': 'b', 'Parent': {'Name': 'X', 'IsOwnedByProfile': True}}]
    assert list(ca.access_by_name(rows)) == ['PS']


def test_describe_changes_uses_setup_labels():
    text = ca.describe_changes({'permitted_users': 'admin_approved', 'ip_relaxation': 'bypass'})
    assert text == 'IP Relaxation = "Relax IP restrictions", Permitted Users = "Admin approved users are pre-authorized"'


def test_policy_from_eca_maps_the_enum_spellings():
    comp = component('<fullName>P_oauthPlcy</fullName><commaSeparatedPermissionSet> B_Set,A_Set,,A_Set </commaSeparatedPermissionSet>'
                     '<ipRelaxationPolicyType>Enforce_RelaxRefresh</ipRelaxationPolicyType>'
                     '<permittedUsersPolicyType>AdminApprovedPreAuthorized</permittedUsersPolicyType>'
                     '<refreshTokenPolicyType>SpecificLifetime</refreshTokenPolicyType>'
                     '<refreshTokenValidityPeriod>3</refreshTokenValidityPeriod><refreshTokenValidityUnit>Months</refreshTokenValidityUnit>')
    assert ca.policy_from_eca(comp) == {'permitted_users': 'admin_approved', 'ip_relaxation': 'enforce_relax_refresh',
                                        'refresh_token_policy': 'specific_lifetime:3:MONTHS', 'permission_sets': ['A_Set', 'B_Set']}
    # a Specific* policy without its validity, or a value the module does not know, reads as unknown (None)
    odd = component('<fullName>P</fullName><permittedUsersPolicyType>Other</permittedUsersPolicyType>'
                    '<refreshTokenPolicyType>SpecificInactivity</refreshTokenPolicyType>')
    assert ca.policy_from_eca(odd) == {'permitted_users': None, 'ip_relaxation': None, 'refresh_token_policy': None,
                                       'permission_sets': []}


@pytest.mark.parametrize('option, value, element, wire', [
    ('permitted_users', 'all_self_authorize', 'permittedUsersPolicyType', 'AllSelfAuthorized'),
    ('ip_relaxation', 'bypass_2fa', 'ipRelaxationPolicyType', 'Bypass_2factor'),
    ('ip_relaxation', 'enforce_relax_refresh', 'ipRelaxationPolicyType', 'Enforce_RelaxRefresh'),
    ('refresh_token_policy', 'zero', 'refreshTokenPolicyType', 'Zero'),
])
def test_apply_eca_policy_writes_the_eca_spelling(option, value, element, wire):
    comp = component('<fullName>P</fullName><externalClientApplication>P</externalClientApplication>')
    ca.apply_eca_policy(comp, {option: value}, None)
    assert md.child_text(comp, element) == wire


def test_apply_eca_policy_keeps_every_other_element_in_schema_order():
    comp = component('<fullName>P</fullName><commaSeparatedProfile>System Administrator</commaSeparatedProfile>'
                     '<externalClientApplication>P</externalClientApplication><startUrl>https://x.example</startUrl>')
    ca.apply_eca_policy(comp, {'refresh_token_policy': 'specific_inactivity:90:DAYS', 'permitted_users': 'admin_approved'},
                        ['A_Set', 'B_Set'])
    assert [md.local(c.tag) for c in comp] == [
        'fullName', 'commaSeparatedPermissionSet', 'commaSeparatedProfile', 'externalClientApplication', 'permittedUsersPolicyType',
        'refreshTokenPolicyType', 'refreshTokenValidityPeriod', 'refreshTokenValidityUnit', 'startUrl']
    assert md.child_text(comp, 'commaSeparatedPermissionSet') == 'A_Set,B_Set'
    assert md.child_text(comp, 'refreshTokenValidityUnit') == 'Days'
    ca.apply_eca_policy(comp, {}, [])
    assert md.child_text(comp, 'commaSeparatedPermissionSet') is None


def test_find_eca_reads_the_generated_name_first_and_only_policies_of_likely_names():
    listing = [{'type': 'ExternalClientApplication', 'fullName': 'Planhat', 'id': '1'},
               {'type': 'ExternalClientApplication', 'fullName': 'Planhat_Sandbox', 'id': '2'},
               {'type': 'ExtlClntAppOauthConfigurablePolicies', 'fullName': 'Planhat_Sandbox_oauthPlcy'},
               {'type': 'ExtlClntAppOauthConfigurablePolicies', 'fullName': 'Planhat_oauthPlcy'}]
    app, names = ca.find_eca(listing, 'planhat')
    assert app['id'] == '1' and names == ['Planhat_oauthPlcy']
    app, names = ca.find_eca(listing[:3], 'Planhat')
    assert names == ['Planhat_Sandbox_oauthPlcy']  # read, then picked (or not) by its externalClientApplication
    assert ca.find_eca(listing, 'Gainsight') == (None, [])
    app, _names = ca.find_eca([{'type': 'ExternalClientApplication', 'fullName': 'acme__Planhat'}], 'Planhat')
    assert app['fullName'] == 'acme__Planhat'


def test_pick_eca_policy_by_its_app():
    mine = component('<fullName>X</fullName><externalClientApplication>Planhat</externalClientApplication>')
    other = component('<fullName>Y</fullName><externalClientApplication>Planhat_Sandbox</externalClientApplication>')
    assert ca.pick_eca_policy([other, mine], 'Planhat') is mine
    assert ca.pick_eca_policy([other], 'Planhat') is None

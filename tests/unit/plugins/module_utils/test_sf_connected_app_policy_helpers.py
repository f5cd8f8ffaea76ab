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

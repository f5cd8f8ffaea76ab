#!/usr/bin/python
# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
module: sf_connected_app_policy
short_description: Harden the OAuth policy of a connected app or External Client App and choose who may use it
version_added: 1.0.0
description:
  - Set the OAuth policies of a vendor's app installed in the org - Permitted Users, IP Relaxation and Refresh Token
    Policy - and choose which permission sets may use it, whether the app is a connected app or an External Client
    App (ECA). The options are the same for both kinds; the module finds the kind by name and returns it in
    RV(connected_app.kind).
  - B(Connected app) (a C(ConnectedApplication) record, as Setup shows it under Manage Connected Apps > Edit Policies).
    The policy is written through the Metadata API (C(ConnectedApp), SOAP C(updateMetadata)), because the
    C(ConnectedApplication) object is read-only, and read back from C(ConnectedApplication) to confirm it took.
    Permission set access is C(SetupEntityAccess) rows (created and deleted; Salesforce has no update for them).
  - B(External Client App) (no C(ConnectedApplication) record; one C(listMetadata) of C(ExternalClientApplication)
    finds it). Its OAuth policies are a Metadata API component the subscriber org owns,
    C(ExtlClntAppOauthConfigurablePolicies). The module reads it (C(readMetadata)), changes C(permittedUsersPolicyType),
    C(commaSeparatedPermissionSet), C(ipRelaxationPolicyType) and the refresh-token elements, sends the whole component
    back with every other element as read (C(updateMetadata) replaces the component), and reads it again to verify.
    Everything is done through the API, so RV(manual_steps) stays empty.
  - If a connected app is used in the org but not installed, or Salesforce refuses the change, the module fails with the
    manual step to take in Setup (see RV(manual_steps)). In check mode, and with O(require_installed=false), the step
    is reported (and warned about) and the task does not fail. A manual step is never reported as C(changed), since
    that flag says what this module writes, or would write in check mode.
  - On a converged org a run costs one token request and, for an installed connected app, one or two API requests
    (a composite read, plus a Metadata API read when O(ip_relaxation) or O(refresh_token_policy) is set); for an
    External Client App three (the composite read, C(listMetadata), C(readMetadata)); for an app of neither kind two
    (the composite read and C(listMetadata)).
author:
  - sfops contributors (@sfops)
options:
  name:
    description:
      - Name of the app, for example V(Planhat) - for a connected app C(ConnectedApplication.Name) (also its Metadata
        API full name), for an External Client App its API name (C(ExternalClientApplication) full name, matched with or
        without a package namespace, C(acme__Planhat)). Case does not matter.
    type: str
    required: true
  permitted_users:
    description:
      - V(admin_approved) is "Admin approved users are pre-authorized" - only users with a permission set (or
        profile) that has access can use the app, which is what a least-privilege integration needs.
      - V(all_self_authorize) is "All users may self-authorize".
      - Omit to leave it unmanaged.
    type: str
    choices: [admin_approved, all_self_authorize]
  ip_relaxation:
    description:
      - V(enforce) (Enforce IP restrictions), V(bypass_2fa) (Relax IP restrictions with second factor), V(bypass)
        (Relax IP restrictions), V(enforce_relax_refresh) (Enforce IP restrictions, but relax for refresh tokens).
      - Can only be read through the Metadata API; see the notes for apps whose metadata the org does not expose.
    type: str
    choices: [enforce, bypass_2fa, bypass, enforce_relax_refresh]
  refresh_token_policy:
    description:
      - V(infinite) (valid until revoked), V(zero) (expire immediately), V(specific_lifetime:N:UNIT) (expire after N
        units) or V(specific_inactivity:N:UNIT) (expire after N units without use); UNIT is V(HOURS), V(DAYS) or V(MONTHS).
      - Omit to leave it unmanaged.
    type: str
  permission_sets:
    description:
      - Permission sets (API names) that must have access to the app. Access through profiles is never changed.
      - For a connected app these are C(SetupEntityAccess) rows; for an External Client App the names in its
        C(commaSeparatedPermissionSet) policy (names, not ids, on the wire; see the notes).
      - Omit to leave access unmanaged.
      - An unknown permission set fails before any change; in check mode it is reported as access to add, with a
        warning, because an earlier task of the same check run would have created it.
    type: list
    elements: str
  purge_permission_sets:
    description:
      - Remove access from permission sets that are not in O(permission_sets) (never from profiles); V([]) removes
        it from all of them. Acts only when O(permission_sets) is given.
    type: bool
    default: false
  require_installed:
    description:
      - With V(true), fail when the policy cannot be applied through the API (app used but not installed, app not
        found, the change refused for a connected app, an External Client App without OAuth policies, or the user not
        allowed to look for External Client Apps), naming the manual step.
      - A refusal of an External Client App's policies (a missing permission, an unknown permission set) fails
        whatever this option says, because it is fixed in the task or the automation user's permissions, not in Setup.
      - With V(false), report the step in RV(manual_steps) and as a warning and carry on; use this in a role that runs
        against many orgs where the app may not be installed everywhere yet.
    type: bool
    default: true
notes:
  - Since September 2025 Salesforce blocks uninstalled connected apps for users who had not used them before; an app
    is "installed" once an admin clicks Install on Setup > Connected Apps OAuth Usage (or installs its package). No API
    performs that install, so the module reports it as a manual step. See docs/connected-apps.md in the collection.
  - Uncertain - the Metadata API is documented to return only connected apps created in the org, and public reports
    show C(readMetadata) returning nothing for apps installed from elsewhere. For such apps the module cannot read or
    write the policy and reports the Edit Policies step instead; Permitted Users is still checked through
    C(ConnectedApplication.OptionsAllowAdminApprovedUsersOnly) and permission set access still works.
  - Uncertain - whether a consumer org may update the C(ConnectedApp) metadata of a packaged app is not documented; a
    refusal is reported as the manual step, never retried.
  - The update sends the whole component back as read (Metadata API updates replace the component) with only the
    policy fields changed; secret values read (the consumer secret) never appear in any output.
  - The authenticated user needs C(Customize Application) and C(Modify All Data) (or C(Manage Connected Apps)) for
    the policy, C(View Setup and Configuration) for access rows, and C(Manage Users) to read OAuth usage.
  - External Client Apps - the calls are C(listMetadata) (types C(ExternalClientApplication) and
    C(ExtlClntAppOauthConfigurablePolicies) in one request), C(readMetadata) and C(updateMetadata) of
    C(ExtlClntAppOauthConfigurablePolicies). Source - Metadata API Developer Guide, C(createMetadata()) ("any component
    that extends Metadata", which both ECA policy types do) and the type's page (API 59.0 and later).
  - External Client Apps - the user also needs the permission "View all External Client Apps, view their settings,
    and edit their policies" (C(ExternalClientAppAdmin); the type's "Special Access Rules") and Modify Metadata or
    Modify All Data. Without it Salesforce answers C(INSUFFICIENT_ACCESS) and the module says which permission to give.
  - External Client Apps - the name of the OAuth policies component is generated by Salesforce (C(Planhat_oauthPlcy)
    in the orgs seen); the module takes it from C(listMetadata) and checks its C(externalClientApplication).
  - Uncertain - C(commaSeparatedPermissionSet) is documented as "Permission set IDs", but the guide's own sample,
    public projects and CumulusCI use permission set API names, and an id is reported to fail with
    C(INVALID_FIELD We couldn't find permission sets called ...); the module sends names.
  - External Client Apps - the plugin policies (C(ExtlClntAppConfigurablePolicies), whether the app's OAuth is on at
    all) are not read or changed.
seealso:
  - module: sfops.salesforce.sf_permission_set
  - name: Manage OAuth Access Policies for a Connected App (Salesforce Help)
    description: What Permitted Users, IP Relaxation and Refresh Token Policy mean.
    link: https://help.salesforce.com/s/articleView?id=xcloud.connected_app_manage_oauth.htm&type=5
  - name: Prepare for Connected App Usage Restrictions Change (Salesforce Help)
    description: Uninstalled connected apps are blocked since September 2025.
    link: https://help.salesforce.com/s/articleView?id=005132365&type=1
  - name: ConnectedApp (Metadata API Developer Guide)
    description: oauthConfig.isAdminApproved and oauthPolicy.
    link: https://developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_connectedapp.htm
  - name: ExtlClntAppOauthConfigurablePolicies (Metadata API Developer Guide)
    description: The OAuth policies of an External Client App that the subscriber org configures.
    link: https://developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_extlclntappoauthconfigurablepolicies.htm
extends_documentation_fragment:
  - sfops.salesforce.auth
  - sfops.salesforce.auth.login
  - sfops.salesforce.attributes
  - sfops.salesforce.attributes.action_group
  - sfops.salesforce.attributes.action
'''

EXAMPLES = r'''
- name: Only the integration user's permission set may use Planhat
  sfops.salesforce.sf_connected_app_policy:
    name: Planhat
    permitted_users: admin_approved
    permission_sets:
      - Planhat_Integration
    purge_permission_sets: true

- name: Full policy, in a role that runs on orgs where the app may not be installed yet
  sfops.salesforce.sf_connected_app_policy:
    name: Planhat
    permitted_users: admin_approved
    ip_relaxation: enforce
    refresh_token_policy: specific_inactivity:90:DAYS
    permission_sets: [Planhat_Integration]
    require_installed: false
  register: planhat

- name: Tell the operator what to click (never anything when Planhat is an External Client App)
  ansible.builtin.debug:
    msg: "{{ planhat.connected_app.kind }}: {{ planhat.manual_steps }}"
  when: planhat.manual_steps | length > 0

- name: The same task hardens a vendor's External Client App, with exactly one permission set
  sfops.salesforce.sf_connected_app_policy:
    name: Acme_Sync
    permitted_users: admin_approved
    permission_sets: [Acme_Sync_Integration]
    purge_permission_sets: true
'''

RETURN = r'''
connected_app:
  description: The app after the run (in check mode, as it would be).
  returned: always
  type: dict
  contains:
    id:
      description: C(ConnectedApplication) Id (for an External Client App its C(ExternalClientApplication) Id), V(null)
        when the app is not installed.
      type: str
      sample: 0H45g000000ABCDCA4
    name:
      description: Name (for an External Client App its API name, with its namespace if it has one).
      type: str
      sample: Planhat
    kind:
      description:
        - V(connected_app) (a C(ConnectedApplication) record), V(external_client_app) (an installed External Client App)
          or V(none) (neither; for example used but not installed).
      type: str
      choices: [connected_app, external_client_app, none]
      sample: external_client_app
    installed:
      description: Whether the app is installed in the org (a C(ConnectedApplication) record, or an External Client App).
      type: bool
      sample: true
    permitted_users:
      description: V(admin_approved) or V(all_self_authorize); V(null) when not installed.
      type: str
      sample: admin_approved
    ip_relaxation:
      description: IP relaxation; V(null) when not read (not requested, or the metadata is not available).
      type: str
      sample: enforce
    refresh_token_policy:
      description: Refresh token policy; V(null) when not read.
      type: str
      sample: specific_inactivity:90:DAYS
    permission_sets:
      description: Permission sets (not profiles) with access to the app (for an External Client App, the names in its
        C(commaSeparatedPermissionSet) policy).
      type: list
      elements: str
      sample: [Planhat_Integration]
manual_steps:
  description: What must be done by hand in Setup before the desired state can be reached; empty when nothing (always
    empty for an External Client App with OAuth policies that the user may read).
  returned: always
  type: list
  elements: str
  sample:
    - In Setup, open Apps > Connected Apps > Connected Apps OAuth Usage, find "Planhat" and click Install (...), then re-run this task.
added:
  description: Permission sets given access by this run (or that would be, in check mode).
  returned: always
  type: dict
  contains:
    permission_sets:
      description: Permission sets, by API name.
      type: list
      elements: str
      sample: [Planhat_Integration]
removed:
  description: Permission sets whose access was removed by this run (or would be, in check mode).
  returned: always
  type: dict
  contains:
    permission_sets:
      description: Permission sets, by API name.
      type: list
      elements: str
      sample: []
msg:
  description: What the run changed (or would change, in check mode), in one sentence.
  returned: always
  type: str
  sample: "Updated connected app Planhat: permitted_users, permission_sets +1."
'''

# This file is the documentation; the code is plugins/module_utils/_sf_connected_app_policy.py (read, plan, apply on the
# pipeline of plugins/module_utils/_pipeline.py), and its action plugin of the same
# name runs it on the controller when the task runs there anyway (plugins/plugin_utils/in_process.py).
from ansible_collections.sfops.salesforce.plugins.module_utils._sf_connected_app_policy import SPEC
from ansible_collections.sfops.salesforce.plugins.module_utils.module import run_module


def main():
    run_module(SPEC)


if __name__ == '__main__':
    main()

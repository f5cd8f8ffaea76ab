#!/usr/bin/python
# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
module: sf_object_permission
short_description: Manage object and field permissions of a Salesforce permission set
version_added: 1.0.0
description:
  - Make the C(ObjectPermissions) and C(FieldPermissions) rows of a permission set match O(objects).
  - Each entry of O(objects) states the complete access to that object. Flags that are not given are V(false); an
    entry whose flags are all V(false) removes the object access (Salesforce has no all-false row; the row is deleted).
  - The rules Salesforce enforces are applied and reported in RV(implied) rather than left for Salesforce to reject
    - V(create), V(edit), V(view_all) need V(read); V(delete) needs V(read) and V(edit); V(modify_all) needs
    V(read), V(edit), V(delete) and V(view_all); field V(edit) includes V(read).
  - Object and field names are checked against the org before any change (the C(ObjectPermissions.SobjectType)
    picklist and each object's describe); unknown or non-permissionable names fail with close matches, and V(edit)
    on a formula, auto-number or other read-only field fails.
  - Task, Event, OpportunityLineItem, OrderItem and User take field permissions but no object permissions (record
    access follows the parent record or a system permission); list them with O(objects[].fields) and no flags.
  - An address is secured as one compound field (V(BillingAddress), V(MailingAddress)); its parts (V(BillingCity))
    are refused with that advice.
  - On a converged org a run costs one token request and one API request (a composite read). Changes are written
    with at most one sObject Collections call each for update, create and delete (200 rows per call).
author:
  - sfops contributors (@sfops)
options:
  permission_set:
    description:
      - API name of the permission set (see M(sfops.salesforce.sf_permission_set)). It must exist, except in check
        mode, where a missing set is reported with every permission to be added.
    type: str
    required: true
  objects:
    description:
      - Objects and the access to grant on each. Objects not listed are left alone unless O(purge_objects=true).
      - Omit to leave the object permissions unmanaged (O(purge_objects) then removes nothing); V([]) with
        O(purge_objects=true) removes them all.
    type: list
    elements: dict
    suboptions:
      name:
        description: API name of the object, for example V(Account) or V(Invoice__c).
        type: str
        required: true
      read:
        description: Read records.
        type: bool
        default: false
      create:
        description: Create records (implies O(objects[].read)).
        type: bool
        default: false
      edit:
        description: Edit records (implies O(objects[].read)).
        type: bool
        default: false
      delete:
        description: Delete records (implies O(objects[].read) and O(objects[].edit)).
        type: bool
        default: false
      view_all:
        description: View all records (implies O(objects[].read)).
        type: bool
        default: false
      modify_all:
        description: Modify all records (implies every other flag).
        type: bool
        default: false
      fields:
        description:
          - Field-level security, C(FieldName) (or C(Object.FieldName)) to V(read), V(edit) or V(none).
          - V(none) removes the field permission. Fields not listed are left alone unless O(purge_fields=true).
          - Omit to leave this object's field permissions unmanaged (O(purge_fields) then removes none of them);
            V({}) with O(purge_fields=true) removes them all.
        type: dict
  purge_objects:
    description:
      - Remove object permissions (and the field permissions) of every object not listed in O(objects).
      - Acts only when O(objects) is given.
    type: bool
    default: false
  purge_fields:
    description:
      - Remove field permissions of the listed objects that are not in their O(objects[].fields).
      - Acts only on entries whose O(objects[].fields) is given.
    type: bool
    default: false
notes:
  - Rows that Salesforce derives from View All Data or Modify All Data (Ids starting with C(000)) are read-only and ignored.
  - Salesforce also has cross-object rules (for example read on a detail object needs read on its master); they
    are reported by Salesforce as C(FIELD_INTEGRITY_EXCEPTION) and nothing is written in that case (all or none).
seealso:
  - module: sfops.salesforce.sf_permission_set
  - name: ObjectPermissions (Object Reference)
    description: Fields and rules of ObjectPermissions.
    link: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_objectpermissions.htm
  - name: FieldPermissions (Object Reference)
    description: Fields and rules of FieldPermissions.
    link: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_fieldpermissions.htm
extends_documentation_fragment:
  - sfops.salesforce.auth
  - sfops.salesforce.auth.login
  - sfops.salesforce.attributes
  - sfops.salesforce.attributes.action_group
  - sfops.salesforce.attributes.action
'''

EXAMPLES = r'''
- name: Read accounts, maintain contacts, nothing else
  sfops.salesforce.sf_object_permission:
    permission_set: Integration_API_Access
    objects:
      - name: Account
        read: true
        fields:
          Industry: read
          Description: read
      - name: Contact
        edit: true        # read is implied and reported in "implied"
        create: true
        fields:
          Email: edit
          Phone: none     # revoke
    purge_objects: true
    purge_fields: true

- name: Check for drift only
  sfops.salesforce.sf_object_permission:
    permission_set: Integration_API_Access
    objects:
      - name: Account
        read: true
  check_mode: true
  register: drift
'''

RETURN = r'''
object_permissions:
  description: Object access of the permission set after the run (would-be state in check mode), by object.
  returned: always
  type: dict
  sample:
    Account: {read: true, create: false, edit: false, delete: false, view_all: false, modify_all: false}
field_permissions:
  description: Field access after the run, C(Object.Field) to V(read) or V(edit).
  returned: always
  type: dict
  sample: {Account.Industry: read, Contact.Email: edit}
added:
  description: Permission rows created by this run (or that would be, in check mode).
  returned: always
  type: dict
  contains:
    objects:
      description: Objects that gained an C(ObjectPermissions) row.
      type: list
      elements: str
      sample: [Contact]
    fields:
      description: C(Object.Field) names that gained a C(FieldPermissions) row.
      type: list
      elements: str
      sample: [Contact.Email]
removed:
  description: Permission rows deleted by this run (or that would be), by revocation or purge.
  returned: always
  type: dict
  contains:
    objects:
      description: Objects whose C(ObjectPermissions) row was deleted.
      type: list
      elements: str
      sample: []
    fields:
      description: C(Object.Field) names whose C(FieldPermissions) row was deleted.
      type: list
      elements: str
      sample: [Contact.Phone]
updated:
  description: Existing rows whose access changed.
  returned: always
  type: dict
  contains:
    objects:
      description: Objects.
      type: list
      elements: str
      sample: [Account]
    fields:
      description: C(Object.Field) names.
      type: list
      elements: str
      sample: []
msg:
  description: What the run changed (or would change, in check mode), in one sentence.
  returned: always
  type: str
  sample: "Updated the object permissions of permission set Integration_API_Access: objects +1, fields +1 -1."
implied:
  description: C(Object.flag) values turned on because another flag requires them.
  returned: always
  type: list
  elements: str
  sample: [Contact.read]
applied:
  description:
    - When a write batch is refused, the batches sent before it, which Salesforce has already saved (each batch is
      all-or-none on its own). Keys are C(updated), C(added), C(removed); the task then fails with C(changed=true)
      if any batch was saved.
  returned: failure while writing
  type: dict
  sample: {updated: [Contact]}
'''

# This file is the documentation; the code is plugins/module_utils/_sf_object_permission.py (read, plan, apply on the
# pipeline of plugins/module_utils/_pipeline.py), and its action plugin of the same
# name runs it on the controller when the task runs there anyway (plugins/plugin_utils/in_process.py).
from ansible_collections.sfops.salesforce.plugins.module_utils._sf_object_permission import SPEC
from ansible_collections.sfops.salesforce.plugins.module_utils.module import run_module


def main():
    run_module(SPEC)


if __name__ == '__main__':
    main()

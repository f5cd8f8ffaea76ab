# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment(object):

    # Modules that change the org: full check mode and diff mode, idempotent.
    DOCUMENTATION = r'''
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Reads the org and reports what would change; no write request is sent.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: The diff holds only the values that change.
  idempotent:
    description: When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: all
'''

    # Read-only modules (*_info and sf_login).
    INFO_MODULE = r'''
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: The module only reads; it behaves the same in check mode.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: N/A
    details: The module never changes anything.
  idempotent:
    description: When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: all
'''

    # Same shape as ansible.builtin.action_common_attributes.ACTIONGROUPS, with the membership filled in.
    ACTION_GROUP = r'''
options: {}
attributes:
  action_group:
    description: Use C(group/sfops.salesforce.salesforce) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - sfops.salesforce.salesforce
'''

    # Every module has an action plugin of the same name (plugins/plugin_utils/in_process.py).
    ACTION = r'''
options: {}
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
    details:
      - With C(ansible_connection=local) (an org as an inventory host, or C(delegate_to=localhost)), the action plugin
        runs the module's code in the controller's Ansible worker instead of starting a module process. The result is
        the same; each task saves the start of a Python process.
      - The module process runs instead for any other connection, with C(become), with a task C(environment), with
        C(async), when the controller's Python lacks C(requests) or C(simple-salesforce) (or C(PyJWT) for
        O(auth_method=jwt_bearer)), or when
        the variable C(sfops_salesforce_in_process) is V(false).
'''

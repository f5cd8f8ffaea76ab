# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of sf_oauth_token: runs the module's code on the controller when the task would run there anyway
(see plugins/plugin_utils/in_process.py); the module itself documents the options."""

from ansible_collections.sfops.salesforce.plugins.module_utils._sf_oauth_token import SPEC
from ansible_collections.sfops.salesforce.plugins.plugin_utils.in_process import SalesforceAction


class ActionModule(SalesforceAction):
    SPEC = SPEC

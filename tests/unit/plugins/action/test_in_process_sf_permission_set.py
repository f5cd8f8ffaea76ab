# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every test of tests/unit/plugins/modules/test_sf_permission_set.py again, in process (the run_module and org fixtures of this
directory's conftest.py): the action plugin's path must give the module's results for the same org."""

# pylint: disable=wildcard-import,unused-wildcard-import
from ansible_collections.sfops.salesforce.tests.unit.plugins.modules.test_sf_permission_set import *  # noqa: F401,F403

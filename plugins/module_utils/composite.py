# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for reading and writing through one composite request (the bodies' shared vocabulary).

FOR INTERNAL COLLECTION USE ONLY: the interface may change in any release.
"""

import re
from urllib.parse import quote

from .errors import SalesforceError


def records_of(answer, ref):
    """Records of a composite query subrequest; [] when it failed (an unresolved reference) or is absent."""
    body = answer.get(ref)
    if body is None or isinstance(body, SalesforceError):
        return []
    return body.get('records') or []


def ref_query(client, ref, soql):
    """A composite query subrequest whose ``@{...}`` references stay literal (Salesforce resolves them in the URL
    before decoding; an encoded ``%40%7B`` would reach SOQL as text)."""
    parts = re.split(r'(@\{[^}]+\})', soql)
    encoded = ''.join(p if p.startswith('@{') else quote(p, safe='') for p in parts)
    return {'method': 'GET', 'url': '%s/query?q=%s' % (client.base, encoded), 'referenceId': ref}


def sub_request(client, method, path, ref, body=None):
    """A composite subrequest to ``<base>/<path>`` (a write when ``body`` is given)."""
    sub = {'method': method, 'url': '%s/%s' % (client.base, path), 'referenceId': ref}
    if body is not None:
        sub['body'] = body
    return sub


def first_real_error(answer):
    """With allOrNone the innocent subrequests say PROCESSING_HALTED: the one that caused the rollback, or None."""
    errors = [v for v in answer.values() if isinstance(v, SalesforceError)]
    errors.sort(key=lambda e: e.error_code == 'PROCESSING_HALTED')
    return errors[0] if errors else None

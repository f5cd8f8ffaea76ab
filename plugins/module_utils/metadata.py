# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Metadata API (SOAP) listMetadata / readMetadata / updateMetadata, without a SOAP library.

Used for ConnectedApp and for the External Client App types (ExternalClientApplication, listed; and
ExtlClntAppOauthConfigurablePolicies, read and updated).

FOR INTERNAL COLLECTION USE ONLY: the interface may change in any release.

Why not simple-salesforce's ``mdapi`` (the client's REST transport): it parses the Metadata WSDL with zeep, which
costs seconds per run, while two operations on one type need ~100 lines of envelope building.  Envelopes are built
from fixed templates; every value that comes from the task or the org is XML-escaped (names) or serialised by
ElementTree (the component read back), never pasted raw.

Never log or return an envelope: the request holds the session id in SessionHeader, and the ConnectedApp read back
may hold ``oauthConfig/consumerSecret``.  ``secret_values`` lists what the caller must add to ``no_log_values``.

Sources: Metadata API Developer Guide (api_meta) "listMetadata()" (up to three queries, FileProperties),
"readMetadata()", "updateMetadata()", "SessionHeader", "ConnectedApp", "ExtlClntAppOauthConfigurablePolicies" (fields
ordered as in the WSDL sequence: alphabetical after ``fullName``).
"""

import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

try:
    from requests.exceptions import RequestException
except ImportError:  # pragma: no cover - the client fails earlier with missing_required_lib('requests')
    RequestException = OSError

from .errors import SalesforceError

MD_NS = 'http://soap.sforce.com/2006/04/metadata'
SOAP_NS = 'http://schemas.xmlsoap.org/soap/envelope/'
XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance'

# Elements of a ConnectedApp that hold secrets (never returned; added to no_log_values).
SECRET_ELEMENTS = ('consumerSecret', 'privateKey', 'password')

_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenv="%s" xmlns:xsi="%s">'
    '<soapenv:Header><SessionHeader xmlns="%s"><sessionId>{session}</sessionId></SessionHeader></soapenv:Header>'
    '<soapenv:Body>{body}</soapenv:Body>'
    '</soapenv:Envelope>'
) % (SOAP_NS, XSI_NS, MD_NS)


def q(name, ns=MD_NS):
    """ElementTree qualified name."""
    return '{%s}%s' % (ns, name)


def local(tag):
    """Local part of an ElementTree tag."""
    return tag.rsplit('}', 1)[-1]


def envelope(session_id, body_xml):
    """A complete SOAP envelope around ``body_xml`` (already serialised XML)."""
    return _ENVELOPE.replace('{session}', escape(session_id)).replace('{body}', body_xml)


def read_body(metadata_type, full_names):
    """``<readMetadata>`` body for ``full_names`` of ``metadata_type``."""
    names = ''.join('<fullNames>%s</fullNames>' % escape(n) for n in full_names)
    return '<readMetadata xmlns="%s"><type>%s</type>%s</readMetadata>' % (MD_NS, escape(metadata_type), names)


def list_body(metadata_types):
    """``<listMetadata>`` body: one query per type (the call takes up to three)."""
    queries = ''.join('<queries><type>%s</type></queries>' % escape(t) for t in metadata_types)
    return '<listMetadata xmlns="%s">%s</listMetadata>' % (MD_NS, queries)


def update_body(components, metadata_type='ConnectedApp'):
    """``<updateMetadata>`` body; ``components`` are ElementTree elements whose children are in MD_NS.

    Each component is re-tagged ``metadata`` with ``xsi:type`` (an unprefixed QName resolves against the default
    namespace, which ElementTree sets to the Metadata namespace here).
    """
    parts = []
    for comp in components:
        elem = ET.Element(q('metadata'), {q('type', XSI_NS): metadata_type})
        elem.extend(list(comp))
        parts.append(ET.tostring(elem, encoding='unicode', default_namespace=MD_NS))
    return '<updateMetadata xmlns="%s">%s</updateMetadata>' % (MD_NS, ''.join(parts))


def parse_xml(text):
    """Parse a SOAP answer; refuse DTDs (no entity expansion of any kind from a network answer)."""
    if '<!DOCTYPE' in text[:2048].upper().replace('<!doctype', '<!DOCTYPE'):
        raise SalesforceError(None, 'INVALID_RESPONSE', 'The Metadata API answer contains a DTD; refusing to parse it.')
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise SalesforceError(None, 'INVALID_RESPONSE', 'The Metadata API answer is not XML (%s).' % exc)


def fault_of(root, status):
    """SalesforceError from a SOAP Fault (``sf:INVALID_SESSION_ID`` -> error_code INVALID_SESSION_ID), or None."""
    fault = root.find('.//' + q('Fault', SOAP_NS))
    if fault is None:
        return None
    code = (fault.findtext('faultcode') or '').split(':')[-1] or 'SOAP_FAULT'
    text = fault.findtext('faultstring') or code
    return SalesforceError(status, code, text)


def parse_read(root):
    """Records of a readMetadata answer: list of elements (a missing component comes back as an empty/nil record)."""
    records = []
    for rec in root.iter(q('records')):
        if rec.get(q('nil', XSI_NS)) == 'true' or rec.find(q('fullName')) is None:
            continue
        records.append(rec)
    return records


def parse_list(root):
    """FileProperties of a listMetadata answer: list of ``{element: text}`` (fullName, id, type, manageableState...)."""
    return [dict((local(child.tag), child.text) for child in res) for res in root.iter(q('result'))]


def parse_save_results(root):
    """SaveResults of updateMetadata: list of ``{"full_name", "success", "errors": [{"error_code", "message"}]}``."""
    out = []
    for res in root.iter(q('result')):
        errors = [{'error_code': err.findtext(q('statusCode')) or 'UNKNOWN', 'message': err.findtext(q('message')) or ''}
                  for err in res.findall(q('errors'))]
        out.append({'full_name': res.findtext(q('fullName')), 'success': res.findtext(q('success')) == 'true', 'errors': errors})
    return out


def secret_values(component):
    """Values of secret elements anywhere in ``component`` (for no_log_values)."""
    return [e.text for e in component.iter() if local(e.tag) in SECRET_ELEMENTS and e.text]


def child_text(elem, *path):
    """Text of a descendant given by local names, or None."""
    for name in path:
        if elem is None:
            return None
        elem = elem.find(q(name))
    return elem.text if elem is not None else None


def set_child(parent, name, value):
    """Set (or create) the child ``name`` of ``parent`` to ``value``; returns the child.

    New children are inserted in alphabetical position after ``fullName``: the Metadata WSDL declares these types
    as ordered sequences, and an element out of order is a schema error.
    """
    child = parent.find(q(name))
    if child is None:
        child = ET.Element(q(name))
        index = len(parent)
        for i, sibling in enumerate(parent):
            sib = local(sibling.tag)
            if sib != 'fullName' and sib > name:
                index = i
                break
        parent.insert(index, child)
    if value is not None:
        child.text = value
    return child


def remove_child(parent, name):
    """Remove the child ``name`` of ``parent`` if it is there (an element left out of an update goes to its default)."""
    child = parent.find(q(name))
    if child is not None:
        parent.remove(child)


class MetadataClient(object):
    """SOAP calls on the REST client's authenticated HTTP session (same keep-alive connection and counters).

    Uses ``client.login()``, ``client.http`` (a requests.Session), ``client.timeout`` and the ``api_requests``/``calls``
    counters of ``module_utils.client.SalesforceClient``: Salesforce counts every SOAP call as one API request.
    """

    def __init__(self, client, register_secret=None):
        self.client = client
        self.register_secret = register_secret or (lambda value: None)

    def call(self, body_xml, operation):
        """POST one SOAP request; return the parsed answer root.  One re-login on INVALID_SESSION_ID."""
        relogged = False
        while True:
            session = self.client.login()
            url = '%s/services/Soap/m/%s' % (session.instance_url, session.api_version)
            self.client.api_requests += 1
            self.client.calls.append(('POST', '/services/Soap/m/%s' % operation))
            try:
                resp = self.client.http.post(url, data=envelope(session.access_token, body_xml).encode('utf-8'),
                                             headers={'Content-Type': 'text/xml; charset=UTF-8', 'SOAPAction': '""',
                                                      'Accept': 'text/xml'},
                                             timeout=self.client.timeout,
                                             # Explicit, or REQUESTS_CA_BUNDLE would override ca_path (psf/requests#3829).
                                             verify=getattr(self.client, 'verify', self.client.http.verify))
            except RequestException as exc:  # the class name is enough and holds no secret
                raise SalesforceError(None, 'CONNECTION_ERROR', 'Metadata API %s failed: %s.' % (operation, type(exc).__name__))
            root = parse_xml(resp.text or '')
            error = fault_of(root, resp.status_code)
            if error is not None:
                if error.error_code == 'INVALID_SESSION_ID' and not relogged and self.client.relogin():
                    relogged = True
                    continue
                # Fault strings quote the request at most by name; still never echo the envelope.
                raise error
            if resp.status_code >= 300:
                raise SalesforceError(resp.status_code, 'HTTP_%s' % resp.status_code, 'Metadata API %s answered HTTP %s.' % (operation, resp.status_code))
            return root

    def read(self, metadata_type, full_names):
        """The first component found among ``full_names`` (an Element), or None when the org returns none of them.

        Several candidate names cost one request (readMetadata takes up to 10), which lets callers try a label and
        the API name derived from it.
        """
        if isinstance(full_names, str):
            full_names = [full_names]
        records = self.read_all(metadata_type, full_names)
        wanted = [n.lower() for n in full_names]
        found = sorted((r for r in records if (r.findtext(q('fullName')) or '').lower() in wanted),
                       key=lambda r: wanted.index((r.findtext(q('fullName')) or '').lower()))
        # One record for the names asked is the answer even if the org spells the name differently.
        found = found or (records if len(records) == 1 else [])
        return found[0] if found else None

    def read_all(self, metadata_type, full_names):
        """Every component the org returns for ``full_names`` (up to 10, one request), in the org's order."""
        records = parse_read(self.call(read_body(metadata_type, full_names), 'readMetadata'))
        for rec in records:
            for value in secret_values(rec):
                self.register_secret(value)
        return records

    def list(self, metadata_types):
        """FileProperties (dicts) of every component of ``metadata_types`` (up to three types, one request)."""
        return parse_list(self.call(list_body(metadata_types), 'listMetadata'))

    def update(self, component, metadata_type):
        """updateMetadata one component; raise SalesforceError with Salesforce's statusCode when it is refused."""
        root = self.call(update_body([component], metadata_type), 'updateMetadata')
        results = parse_save_results(root)
        if not results:
            raise SalesforceError(None, 'INVALID_RESPONSE', 'updateMetadata returned no SaveResult.')
        for res in results:
            if not res['success']:
                first = res['errors'][0] if res['errors'] else {'error_code': 'UNKNOWN', 'message': 'refused without a message'}
                raise SalesforceError(400, first['error_code'], first['message'])
        return results

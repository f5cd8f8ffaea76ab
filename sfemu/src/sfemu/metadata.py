"""SOAP Metadata API subset: POST /services/Soap/m/VERSION[/ORGID] with readMetadata, updateMetadata and
upsertMetadata of ConnectedApp and of the External Client App policy types, and listMetadata.

External Client Apps (sfemu/docs/external-client-apps.md): ``ExtlClntAppOauthConfigurablePolicies`` and
``ExtlClntAppConfigurablePolicies`` are read, updated and upserted with the CRUD calls ("Use the createMetadata() call
to create any component that extends Metadata", and both types "extend the Metadata metadata type" [doc]);
``ExternalClientApplication`` is read and listed only. An update or upsert replaces the whole component: elements
left out go back to their defaults [3rd, see eca.py]. The policy types need the user permission "View all External
Client Apps, view their settings, and edit their policies" (ExternalClientAppAdmin) [doc, each type's "Special Access
Rules"].

Only the OAuth policy is writable here: ``oauthConfig.isAdminApproved``, ``oauthPolicy.ipRelaxation`` and
``oauthPolicy.refreshTokenPolicy`` (ref §6.2; Metadata API Developer Guide "ConnectedApp", "readMetadata()",
"updateMetadata()", "upsertMetadata()", "SessionHeader"). Other elements of an update are accepted and ignored
(documented in README: the emulator does not model them).

Sources for shapes (ref = /work/shared/reference/salesforce-api.md):
- envelope and result elements: Metadata API Developer Guide, "readMetadata()" (ReadResult.records),
  "updateMetadata()" / "upsertMetadata()" (SaveResult / UpsertResult: fullName, success, errors[message,
  statusCode, fields], created) [doc];
- a fullName that does not exist comes back as an empty record, not an error: certinia/apex-mdapi#142
  ("readMetadata() with a fullname that doesn't exist ... I get back an 'empty' object") [3rd];
- faults: ``<soapenv:Fault><faultcode>sf:INVALID_SESSION_ID</faultcode><faultstring>INVALID_SESSION_ID: Invalid
  Session ID found in SessionHeader: Illegal Session</faultstring>`` with HTTP 500 (SOAP 1.1 faults are 500;
  text widely quoted by client logs) [3rd]; "use of the Metadata API requires a user with the ModifyAllData or
  ModifyMetadata permissions" (forcedotcom/code-builder-feedback#66) [3rd].
- update of a missing component: ``INVALID_CROSS_REFERENCE_KEY`` "In field: fullName - no ConnectedApp named X
  found" (the pattern Salesforce uses for every type) [3rd, infer for ConnectedApp].

Third-party apps. An app created in another org (a vendor's "Planhat", installed here from Setup > Connected Apps
OAuth Usage > Install, or from a managed package) is not a metadata component of this org: the consumer admin
edits its policies in Setup (Manage Connected Apps > Edit Policies), and managed components cannot be modified
through the API ("Cannot Modify Managed Component", salesforce.stackexchange.com/q/77130; ref §6.2 marks the
Metadata API path as not established). The emulator therefore treats such apps, by default, as absent from the
Metadata API (empty record on read, INVALID_CROSS_REFERENCE_KEY on update). The org setting
``metadata_third_party_apps`` (Emulator settings) selects another answer: ``"absent"`` (default),
``"managed_error"`` (update fails with CANNOT_MODIFY_MANAGED_OBJECT) or ``"editable"`` (treated like a local app).
An app that is not installed at all is never found.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from sfemu import eca
from sfemu.schema import parse_version as version_tuple

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
MD_NS = "http://soap.sforce.com/2006/04/metadata"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XML_CT = "text/xml;charset=UTF-8"

IP_RELAXATION = ("ENFORCE", "BYPASS_2FACTOR", "BYPASS", "ENFORCE_RELAXREFRESH")  # META67 ConnectedAppOauthPolicy
_REFRESH_RE = re.compile(r"^(infinite|zero|specific_(lifetime|inactivity):[1-9][0-9]*:(HOURS|DAYS|MONTHS))$")
MAX_COMPONENTS = 10  # readMetadata/updateMetadata/upsertMetadata: "Limit: 10" components per call [doc]
MAX_LIST_QUERIES = 3  # listMetadata: "The queries array can contain up to three ListMetadataQuery queries" [doc]
ECA_ADMIN = "ExternalClientAppAdmin"  # "View all External Client Apps, view their settings, and edit their policies"
# Reading or listing the ECA header is allowed to any of the three ECA permissions [infer from their labels].
ECA_READERS = (ECA_ADMIN, "ExternalClientAppViewer", "ExternalClientAppDeveloper")
# Where listMetadata says each type's files live (FileProperties.fileName): folders and suffixes from each type's
# "File Suffix and Directory Location" [doc]
_FILES = {"ConnectedApp": ("connectedApps", "connectedApp"), eca.APP_TYPE: ("externalClientApps", "eca"),
          eca.OAUTH_POLICY_TYPE: ("extlClntAppOauthPolicies", "ecaOauthPlcy"),
          eca.POLICY_TYPE: ("extlClntAppPolicies", "ecaPlcy")}
_ECA_SPECS = {eca.OAUTH_POLICY_TYPE: ("oauth_policy", eca.OAUTH_ELEMENTS), eca.POLICY_TYPE: ("policies",
                                                                                              eca.POLICY_ELEMENTS)}


class SoapFault(Exception):
    def __init__(self, code, message, prefix="sf"):
        super().__init__(message)
        self.code = code
        self.message = message
        self.prefix = prefix


def _q(name, ns=MD_NS):
    return "{%s}%s" % (ns, name)


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def fault_xml(code, message, prefix="sf"):
    return ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="%s" xmlns:sf="%s">'
            '<soapenv:Body><soapenv:Fault><faultcode>%s:%s</faultcode><faultstring>%s</faultstring>'
            '</soapenv:Fault></soapenv:Body></soapenv:Envelope>'
            % (SOAP_NS, MD_NS, prefix, escape(code), escape(message))).encode("utf-8")


def envelope(body_xml):
    return ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="%s" xmlns="%s" xmlns:xsi="%s">'
            '<soapenv:Body>%s</soapenv:Body></soapenv:Envelope>' % (SOAP_NS, MD_NS, XSI_NS, body_xml)).encode("utf-8")


def _response(status, payload):
    from sfemu.server import Response  # noqa: PLC0415

    return Response(status, raw=payload, content_type=XML_CT)


def handle(app, method, path, headers, raw):
    """Entry point from server._route."""
    try:
        return _handle(app, method, path, headers, raw)
    except SoapFault as f:
        return _response(500, fault_xml(f.code, f.message, f.prefix))


def _parse(raw):
    text = raw.decode("utf-8", "replace") if raw else ""
    # No DTDs (entity expansion) from the network; Salesforce rejects them too [infer].
    if "<!DOCTYPE" in text[:4096].upper():
        raise SoapFault("Client", "DOCTYPE is not allowed", prefix="soapenv")
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        # Malformed XML -> soapenv:Client fault (SOAP 1.1) [infer on the exact string]
        raise SoapFault("Client", "Unable to parse the request: %s" % exc, prefix="soapenv") from None


def _handle(app, method, path, headers, raw):
    from sfemu.server import parse_version  # noqa: PLC0415

    parts = path.strip("/").split("/")  # services Soap m VERSION [ORGID]
    version = parse_version("v" + parts[3]) if len(parts) >= 4 else None
    if version is None or len(parts) > 5:
        # Unknown version: sf:UNSUPPORTED_API_VERSION [infer on wording]
        raise SoapFault("UNSUPPORTED_API_VERSION", "UNSUPPORTED_API_VERSION: Invalid Api version specified on URL")
    if method != "POST":
        from sfemu.server import Response  # noqa: PLC0415

        return Response(405, raw=b"Method Not Allowed", content_type="text/plain;charset=UTF-8",
                        headers={"Allow": "POST"})
    root = _parse(raw)
    if _local(root.tag) != "Envelope":
        raise SoapFault("Client", "Expected a SOAP Envelope", prefix="soapenv")
    session_id = None
    header = root.find(_q("Header", SOAP_NS))
    if header is not None:
        for el in header.iter():
            if _local(el.tag) == "sessionId":
                session_id = (el.text or "").strip()
    org = app.org_for_token(session_id) if session_id else None
    session = app.oauth.session_for(org, session_id) if org else None
    if session is None:
        raise SoapFault("INVALID_SESSION_ID", "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: "
                                              "Illegal Session")
    body = root.find(_q("Body", SOAP_NS))
    op = next(iter(body), None) if body is not None else None
    if op is None:
        raise SoapFault("Client", "No operation in the SOAP Body", prefix="soapenv")
    name = _local(op.tag)
    # Faults, limits and counting like REST: a SOAP call is one API request (REST67 "API Request Limits") [doc]
    try:
        app._api_faults(org, session_id, "POST")
        app._check_limit(org)
    except Exception as exc:  # noqa: BLE001 - ApiError -> SOAP fault with the same code
        raise SoapFault(exc.error_code, "%s: %s" % (exc.error_code, exc.message)) from None
    app.count_api(org, "POST", "metadata/" + name)
    if name not in ("readMetadata", "updateMetadata", "upsertMetadata", "listMetadata"):
        # Operations not emulated: answered like an unknown operation [infer]
        raise SoapFault("Client", "No operation available for request {%s}%s" % (MD_NS, name), prefix="soapenv")
    user_id = session["user_id"]
    with org.lock:
        _require_metadata_permission(org, user_id)
        if name == "readMetadata":
            return _response(200, _read(org, op, version, user_id))
        if name == "listMetadata":
            return _response(200, _list(org, op, version, user_id))
        result = _save(app, org, op, upsert=(name == "upsertMetadata"), version=version, user_id=user_id)
        org.save()
        return _response(200, result)


def _require_metadata_permission(org, user_id):
    """Metadata API needs Modify All Data or Modify Metadata (Metadata API guide "Permissions") [doc]."""
    try:
        _, recs = org.query("SELECT PermissionSet.PermissionsModifyAllData, PermissionSet.PermissionsModifyMetadata "
                            "FROM PermissionSetAssignment WHERE AssigneeId = '%s'" % user_id, "67.0")
    except Exception:  # noqa: BLE001 - schema without these fields: do not block
        return
    for r in recs:
        ps = r.get("PermissionSet") or {}
        if ps.get("PermissionsModifyAllData") or ps.get("PermissionsModifyMetadata"):
            return
    raise SoapFault("INSUFFICIENT_ACCESS", "INSUFFICIENT_ACCESS: use of the Metadata API requires a user with the "
                                           "ModifyAllData or ModifyMetadata permissions")


def _require_type(mtype, version):
    """A type newer than the call's API version: sf:INVALID_TYPE "Cannot use: X in this version" ([3rd]
    certinia/apex-mdapi#202, a real listMetadata fault)."""
    since = eca.TYPE_SINCE.get(mtype)
    if since and version_tuple(version) < since:
        raise SoapFault("INVALID_TYPE", "INVALID_TYPE: Cannot use: %s in this version" % mtype)


def _require_eca_permission(org, user_id, mtype):
    wanted = (ECA_ADMIN,) if mtype in _ECA_SPECS else ECA_READERS
    if any(org.user_has_permission(user_id, p) for p in wanted):
        return
    # The permission is documented [doc]; the fault code is the Metadata API's for missing access, the text [infer]
    raise SoapFault("INSUFFICIENT_ACCESS", "INSUFFICIENT_ACCESS: %s needs the user permission \"View all External "
                                           "Client Apps, view their settings, and edit their policies\"" % mtype
                    if mtype in _ECA_SPECS else
                    "INSUFFICIENT_ACCESS: %s needs the user permission \"View all External Client Apps\"" % mtype)


# --------------------------------------------------------------------------------------------------------------
# org access


def _setting(org):
    settings = getattr(getattr(org, "emulator", None), "settings", None) or {}
    return settings.get("metadata_third_party_apps") or "absent"


def api_name(name):
    """Metadata fullName of a connected app: its API name, the label with non-word characters as underscores
    (what Setup proposes by default) [infer for apps whose API name was edited]."""
    return re.sub(r"\W", "_", name or "")


def _find_app(org, full_name):
    """Policy dict (org.get_connected_app_policy) of the app addressable as ``full_name``, or None.

    fullName lookups are case-insensitive like other Metadata names [infer]. Apps that are not installed are never
    found; third-party apps (``local`` false) only when the ``metadata_third_party_apps`` setting says so."""
    if not full_name:
        return None
    for pol in org.connected_apps():
        if api_name(pol.get("name")).lower() != full_name.lower():
            continue
        if not pol.get("installed"):
            return None
        if not pol.get("local") and _setting(org) == "absent":
            return None
        pol = dict(pol)
        pol["fullName"] = api_name(pol.get("name"))
        pol["third_party"] = not pol.get("local")
        if pol.get("local"):
            pol.setdefault("certificate", org.meta.get("jwt_cert_pem"))
        return pol
    return None


_SCOPES = {"api": "Api", "refresh_token": "RefreshToken", "web": "Web", "full": "Full", "id": "Basic",
           "openid": "OpenID", "offline_access": "OfflineAccess", "chatter_api": "Chatter"}


# --------------------------------------------------------------------------------------------------------------
# readMetadata


def _record_xml(pol):
    e = escape
    cfg = ["<callbackUrl>%s</callbackUrl>" % e(pol.get("callback_url") or "https://login.salesforce.com/services/"
                                                "oauth2/success")]
    if pol.get("certificate"):
        cfg.append("<certificate>%s</certificate>" % e(pol["certificate"].strip()))
    if pol.get("client_id"):
        cfg.append("<consumerKey>%s</consumerKey>" % e(pol["client_id"]))
    cfg.append("<isAdminApproved>%s</isAdminApproved>" % ("true" if pol.get("is_admin_approved") else "false"))
    for scope in pol.get("scopes") or ("api",):
        cfg.append("<scopes>%s</scopes>" % e(_SCOPES.get(scope, scope)))
    policy = ("<oauthPolicy><ipRelaxation>%s</ipRelaxation><refreshTokenPolicy>%s</refreshTokenPolicy></oauthPolicy>"
              % (e(pol.get("ip_relaxation") or "ENFORCE"), e(pol.get("refresh_token_policy") or "infinite")))
    # Elements in WSDL sequence order (alphabetical after fullName), like the Metadata API returns them.
    return ('<records xsi:type="ConnectedApp"><fullName>%s</fullName><contactEmail>%s</contactEmail>'
            "<label>%s</label><oauthConfig>%s</oauthConfig>%s</records>"
            % (e(pol["fullName"]), e(pol.get("contact_email") or "admin@example.com"), e(pol.get("name") or ""),
               "".join(cfg), policy))


def _names(op, tag):
    return [(el.text or "").strip() for el in op if _local(el.tag) == tag]


_EMULATED = ("ConnectedApp", eca.APP_TYPE, eca.OAUTH_POLICY_TYPE, eca.POLICY_TYPE)


def _not_emulated(call, mtype):
    return SoapFault("INVALID_TYPE", "INVALID_TYPE: %s of type '%s' is not emulated by sfemu (only %s)"
                     % (call, mtype, ", ".join(_EMULATED)))


def _read(org, op, version, user_id):
    mtype = next(((el.text or "").strip() for el in op if _local(el.tag) == "type"), "")
    names = _names(op, "fullNames")
    if len(names) > MAX_COMPONENTS:
        raise SoapFault("EXCEEDED_ID_LIMIT", "EXCEEDED_ID_LIMIT: readMetadata is limited to 10 components")
    if mtype not in _EMULATED:
        raise _not_emulated("readMetadata", mtype)
    _require_type(mtype, version)
    recs = []
    for n in names:
        if mtype == "ConnectedApp":
            pol = _find_app(org, n)
            recs.append(_record_xml(pol) if pol else '<records xsi:type="ConnectedApp"/>')
            continue
        _require_eca_permission(org, user_id, mtype)
        found = _find_eca_component(org, mtype, n)
        recs.append(_eca_record_xml(mtype, *found) if found else '<records xsi:type="%s"/>' % mtype)
    return envelope("<readMetadataResponse><result>%s</result></readMetadataResponse>" % "".join(recs))


# --------------------------------------------------------------------------------------------------------------
# External Client Apps


def _eca_components(org, mtype):
    """[(fullName, app dict)] of the installed ECAs' components of ``mtype``."""
    out = []
    for app in org.external_client_apps():
        dev = app["developer_name"]
        full = {eca.APP_TYPE: dev, eca.OAUTH_POLICY_TYPE: eca.oauth_policy_name(dev),
                eca.POLICY_TYPE: eca.policies_name(dev)}[mtype]
        out.append((full, app))
    return out


def _find_eca_component(org, mtype, full_name):
    # Metadata names match case-insensitively [infer, as for ConnectedApp]
    return next(((f, a) for f, a in _eca_components(org, mtype) if f.lower() == (full_name or "").lower()), None)


def _xml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def _eca_record_xml(mtype, full_name, app):
    if mtype == eca.APP_TYPE:
        values = {"distributionState": app["distribution_state"], "isProtected": False, "label": app["name"]}
    else:
        values = app[_ECA_SPECS[mtype][0]]
    parts = ["<fullName>%s</fullName>" % escape(full_name)]
    # Elements in WSDL sequence order (alphabetical after fullName), as for ConnectedApp
    for element in sorted(values):
        value = values[element]
        if value is None:
            continue
        if element == "customAttributes":
            parts.extend("<customAttributes><formula>%s</formula><key>%s</key></customAttributes>"
                         % (escape(a.get("formula") or ""), escape(a.get("key") or "")) for a in value)
        else:
            parts.append("<%s>%s</%s>" % (element, _xml_value(value), element))
    return '<records xsi:type="%s">%s</records>' % (mtype, "".join(parts))


def _parse_eca_component(comp, mtype):
    """Component XML -> (fullName, {element: value}). Bad enums, booleans and ints, and unknown elements, fail the
    whole call like a WSDL deserialization error (eca.EnumFault; "Element {ns}X invalid at this location" [3rd])."""
    spec = _ECA_SPECS[mtype][1]
    full_name, values = "", {}
    for el in comp:
        element = _local(el.tag)
        if element == "fullName":
            full_name = (el.text or "").strip()
            continue
        if element not in spec:
            raise SoapFault("Client", "Element {%s}%s invalid at this location" % (MD_NS, element), prefix="soapenv")
        if element == "customAttributes":
            values.setdefault(element, []).append({"key": _text(el, "key") or "", "formula": _text(el, "formula")
                                                   or ""})
            continue
        try:
            values[element] = eca.parse_value(spec, element, (el.text or "").strip())
        except eca.EnumFault as exc:
            raise SoapFault("Client", str(exc), prefix="soapenv") from None
    return full_name, values


def _save_eca(org, mtype, full_name, values, upsert):
    created = False if upsert else None
    if mtype == eca.APP_TYPE:
        return _result(full_name, [("INVALID_TYPE", "sfemu does not write %s: the app's developer owns it"
                                    % mtype, [])], created)
    if not full_name:
        return _result(full_name, [("REQUIRED_FIELD_MISSING", "Required field is missing: fullName", ["fullName"])],
                       created)
    found = _find_eca_component(org, mtype, full_name)
    if found is None:
        target = values.get("externalClientApplication") or ""
        owner = next((a for a in org.external_client_apps() if a["developer_name"].lower() == target.lower()), None)
        if upsert and owner is not None:
            # One policies component per ECA, generated with it: an upsert under another name collides. Real text:
            # "duplicate value found: ExternalClientApplicationId duplicates value on Data_Vault_Connected_App_
            # oauthPlcy" (a live deploy error quoted in a public repo) [3rd]
            existing = _eca_components(org, mtype)
            name = next(f for f, a in existing if a["name"] == owner["name"])
            return _result(full_name, [("DUPLICATE_VALUE", "duplicate value found: ExternalClientApplicationId "
                                        "duplicates value on %s" % name, [])], created)
        if upsert:
            return _result(full_name, [("INVALID_CROSS_REFERENCE_KEY", "In field: externalClientApplication - no "
                                        "ExternalClientApplication named %s found" % target,
                                        ["externalClientApplication"])], created)
        return _result(full_name, [("INVALID_CROSS_REFERENCE_KEY", "In field: fullName - no %s named %s found"
                                    % (mtype, full_name), [])], created)
    name, app = found
    errors = org.save_eca_component(app["name"], _ECA_SPECS[mtype][0], values, replace=True)
    return _result(name, errors, created)


def _list(org, op, version, user_id):
    """listMetadata: FileProperties of the components of up to three types ([doc] listMetadata, FileProperties)."""
    queries = [q for q in op if _local(q.tag) == "queries"]
    if len(queries) > MAX_LIST_QUERIES:
        raise SoapFault("EXCEEDED_ID_LIMIT", "EXCEEDED_ID_LIMIT: listMetadata is limited to 3 queries")  # [infer]
    results = []
    for query in queries:
        mtype = _text(query, "type") or ""
        if mtype not in _EMULATED:
            raise _not_emulated("listMetadata", mtype)
        _require_type(mtype, version)
        if mtype == "ConnectedApp":
            items = [(pol["fullName"], pol["id"], pol["third_party"])
                     for pol in (_find_app(org, api_name(a["name"])) for a in org.connected_apps()) if pol]
        else:
            _require_eca_permission(org, user_id, mtype)
            items = [(full, _component_id(app, mtype), app["distribution_state"] != "Local")
                     for full, app in _eca_components(org, mtype)]
        folder, suffix = _FILES[mtype]
        for full, comp_id, packaged in items:
            results.append(_file_properties(org, mtype, full, comp_id, "%s/%s.%s" % (folder, full, suffix),
                                            "installed" if packaged else "unmanaged"))
    return envelope("<listMetadataResponse>%s</listMetadataResponse>" % "".join(results))


def _component_id(app, mtype):
    if mtype == eca.OAUTH_POLICY_TYPE:
        return app["policy_row_id"]
    return app["id"]  # the plugin policies have no queryable row of their own: the ECA's id stands in [infer]


def _file_properties(org, mtype, full_name, comp_id, file_name, state):
    """FileProperties in WSDL order; manageableState "installed" for a managed package's component, "unmanaged"
    for a local one [doc FileProperties]."""
    found = org.row_by_id(comp_id or "")
    row = found[1] if found else {}
    admin = org.user_by_username(org.credentials.get("username") or "") or {}
    who = row.get("CreatedById") or admin.get("Id") or ""
    name = admin.get("Name") or " ".join(x for x in (admin.get("FirstName"), admin.get("LastName")) if x)
    stamp = (row.get("CreatedDate") or "1970-01-01T00:00:00.000+0000").replace("+0000", "Z")
    changed = (row.get("LastModifiedDate") or row.get("CreatedDate") or "1970-01-01T00:00:00.000+0000")
    return ("<result><createdById>%s</createdById><createdByName>%s</createdByName><createdDate>%s</createdDate>"
            "<fileName>%s</fileName><fullName>%s</fullName><id>%s</id><lastModifiedById>%s</lastModifiedById>"
            "<lastModifiedByName>%s</lastModifiedByName><lastModifiedDate>%s</lastModifiedDate>"
            "<manageableState>%s</manageableState><type>%s</type></result>"
            % (escape(who), escape(name), escape(stamp), escape(file_name), escape(full_name), escape(comp_id or ""),
               escape(who), escape(name), escape(changed.replace("+0000", "Z")), state, escape(mtype)))


# --------------------------------------------------------------------------------------------------------------
# updateMetadata / upsertMetadata


def _child(el, *path):
    for name in path:
        if el is None:
            return None
        el = next((c for c in el if _local(c.tag) == name), None)
    return el


def _text(el, *path):
    c = _child(el, *path)
    return None if c is None else (c.text or "").strip()


def _save(app, org, op, upsert, version, user_id):
    comps = [el for el in op if _local(el.tag) == "metadata"]
    if len(comps) > MAX_COMPONENTS:
        raise SoapFault("EXCEEDED_ID_LIMIT", "EXCEEDED_ID_LIMIT: no more than 10 components per call")
    # Every component is deserialized before anything is written: a parse fault fails the whole call
    parsed = []
    for comp in comps:
        mtype = (comp.get(_q("type", XSI_NS)) or "").split(":")[-1]
        if mtype in _ECA_SPECS or mtype == eca.APP_TYPE:
            _require_type(mtype, version)
            _require_eca_permission(org, user_id, mtype)
            parsed.append((comp, mtype, _parse_eca_component(comp, mtype) if mtype in _ECA_SPECS
                           else (_text(comp, "fullName") or "", {})))
        else:
            parsed.append((comp, mtype, None))
    results = []
    for comp, mtype, eca_values in parsed:
        if eca_values is not None:
            results.append(_save_eca(org, mtype, eca_values[0], eca_values[1], upsert))
        else:
            results.append(_save_one(org, comp, mtype, upsert))
    tag = "upsertMetadataResponse" if upsert else "updateMetadataResponse"
    return envelope("<%s>%s</%s>" % (tag, "".join(results), tag))


def _result(full_name, errors=(), created=None):
    parts = []
    if created is not None:
        parts.append("<created>%s</created>" % ("true" if created else "false"))
    for code, msg, fields in errors:
        f = "".join("<fields>%s</fields>" % escape(x) for x in fields)
        parts.append("<errors>%s<message>%s</message><statusCode>%s</statusCode></errors>"
                     % (f, escape(msg), escape(code)))
    parts.append("<fullName>%s</fullName>" % escape(full_name or ""))
    parts.append("<success>%s</success>" % ("false" if errors else "true"))
    return "<result>%s</result>" % "".join(parts)


def _save_one(org, comp, mtype, upsert):
    full_name = _text(comp, "fullName") or ""
    created = False if upsert else None
    if mtype != "ConnectedApp":
        return _result(full_name, [("INVALID_TYPE", "sfemu emulates only %s for %s"
                                    % (", ".join(t for t in _EMULATED if t != eca.APP_TYPE),
                                       "upsertMetadata" if upsert else "updateMetadata"), [])], created)
    if not full_name:
        return _result(full_name, [("REQUIRED_FIELD_MISSING", "Required field is missing: fullName", ["fullName"])],
                       created)
    pol = _find_app(org, full_name)
    if pol is None:
        if upsert:
            # Creating connected apps is restricted from Spring '26 (ref §6.2 "Important") -> refuse creation.
            return _result(full_name, [("INSUFFICIENT_ACCESS", "Connected app creation is restricted; use an "
                                        "external client app instead", [])], created)
        return _result(full_name, [("INVALID_CROSS_REFERENCE_KEY", "In field: fullName - no ConnectedApp named %s "
                                    "found" % full_name, [])], created)
    if pol.get("third_party") and _setting(org) == "managed_error":
        return _result(full_name, [("CANNOT_MODIFY_MANAGED_OBJECT", "Cannot modify managed object: entity="
                                    "ConnectedApplication, component=%s, field=oauthConfig, state=installed"
                                    % (pol.get("id") or ""), [])], created)  # [3rd: message pattern of managed
        # components, e.g. "Cannot modify managed object: entity=CustomObject, component=01I..., field=..., state=
        # installed"; infer for ConnectedApplication]
    changes = {}
    errors = []
    admin = _text(comp, "oauthConfig", "isAdminApproved")
    if admin is not None:
        if admin not in ("true", "false", "1", "0"):
            errors.append(("FIELD_INTEGRITY_EXCEPTION", "isAdminApproved: invalid boolean %s" % admin,
                           ["isAdminApproved"]))
        else:
            changes["isAdminApproved"] = admin in ("true", "1")
    ip = _text(comp, "oauthPolicy", "ipRelaxation")
    if ip is not None:
        if ip not in IP_RELAXATION:
            errors.append(("FIELD_INTEGRITY_EXCEPTION", "ipRelaxation: bad value for restricted picklist field: %s"
                           % ip, ["ipRelaxation"]))
        else:
            changes["ipRelaxation"] = ip
    rtp = _text(comp, "oauthPolicy", "refreshTokenPolicy")
    if rtp is not None:
        if not _REFRESH_RE.match(rtp):
            errors.append(("FIELD_INTEGRITY_EXCEPTION", "refreshTokenPolicy: invalid value %s" % rtp,
                           ["refreshTokenPolicy"]))
        else:
            changes["refreshTokenPolicy"] = rtp
    if errors:
        return _result(full_name, errors, created)
    if changes:
        org.set_connected_app_policy(pol["name"], is_admin_approved=changes.get("isAdminApproved"),
                                     ip_relaxation=changes.get("ipRelaxation"),
                                     refresh_token_policy=changes.get("refreshTokenPolicy"))
    return _result(pol["fullName"], (), created)

"""Emulated orgs: records, Salesforce's rules, persistence.

``Emulator`` hosts N orgs (aliases ``org1``..``orgN``) in ``data_dir`` (one JSON file per org, written atomically);
``Org`` holds one org's records and enforces the rules Salesforce enforces on them, raising ``ApiError`` with
Salesforce's HTTP status, errorCode and message. Every rule names its source; the full table is in
sfemu/docs/rules.md. ``[infer]`` marks a choice the sources do not settle.

Abbreviations: "ref N" = shared/reference/salesforce-api.md section N; OBJREF67 = Salesforce Object Reference
Summer '26; [doc] official documentation, [real] recorded real response, [3rd] third-party quote.

Thread-safety: every public ``Org`` method runs under ``org.lock`` (an RLock, so the server can hold it around a
whole request); the cross-org username index has its own lock, always taken after an org lock, never before.

Persistence: mutations save the org file immediately unless they run inside ``with org.batch():`` (or the caller
holds off and calls ``save()``); the HTTP layer wraps each write request so one request is one write.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as _dt
import hashlib
import hmac
import json
import os
import pathlib
import re
import secrets
import threading

from . import eca, ids
from .schema import (
    OBJECT_PERMISSION_DEPENDENCIES,
    OBJECT_PERMISSION_FLAGS,
    SYSTEM_PERMISSION_DEPENDENCIES,
    Catalog,
    fls_field,
    parse_version,
    read_only_for_fls,
)

__all__ = ["ApiError", "Emulator", "Org", "LATEST_VERSION"]

LATEST_VERSION = "67.0"  # what Org's own catalog view (no version given) shows; sfemu/docs/internals.md default api_version
STATE_FORMAT = 1

NOT_FOUND_MSG = "The requested resource does not exist"  # ref 7.1 [doc]
INTEGRATION_LICENSE = "Salesforce Integration"  # ref 5 [doc help platform.integration_user.htm]
INTEGRATION_PSL = "SalesforceAPIIntegrationPsl"  # ref 5 [3rd, many repos]


class ApiError(Exception):
    """A Salesforce API error: ``status`` (HTTP), ``error_code``, ``message``, ``fields``.

    ``errors`` holds every error of the response when Salesforce reports several at once (e.g. a duplicate
    permission set is both DUPLICATE_MASTER_LABEL and DUPLICATE_DEVELOPER_NAME [real, CumulusCI#3045]); the first
    is mirrored in the attributes. ``to_list()`` is the REST body ``[{"message","errorCode","fields"}]`` (ref 7.1).
    """

    def __init__(self, status: int, error_code: str, message: str, fields=None, *, more=None):
        super().__init__(f"{error_code}: {message}")
        self.status = int(status)
        self.error_code = error_code
        self.message = message
        self.fields = list(fields or [])
        self.errors = [(error_code, message, self.fields)] + [(c, m, list(f or [])) for c, m, f in (more or [])]

    def to_list(self) -> list[dict]:
        out = []
        for code, msg, flds in self.errors:
            item = {"message": msg, "errorCode": code}
            # NOT_FOUND / METHOD_NOT_ALLOWED bodies carry no "fields" (ref 7.1 examples); DML errors do.
            if code not in ("NOT_FOUND", "METHOD_NOT_ALLOWED"):
                item["fields"] = flds
            out.append(item)
        return out


def _now_iso() -> str:
    # Salesforce datetime format: 2022-03-17T16:21:26.000+0000 (fixture GET_sobjects_Organization.yaml)
    t = _dt.datetime.now(_dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d+0000" % (t.microsecond // 1000)


def _hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, 2000)
    return salt.hex() + "$" + digest.hex()


def _check_hash(stored: str, password: str) -> bool:
    try:
        salt_hex, _ = stored.split("$", 1)
        return hmac.compare_digest(_hash_password(password, bytes.fromhex(salt_hex)), stored)
    except (ValueError, AttributeError):
        return False


_EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?$")
# Permission set API name: "letters/digits/_; starts with letter; no trailing _, no __" (ref 1).
_DEV_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_IP_RELAXATION = ("ENFORCE", "BYPASS_2FACTOR", "BYPASS", "ENFORCE_RELAXREFRESH")  # META67 ConnectedAppOauthPolicy
_REFRESH_POLICY_RE = re.compile(r"^(infinite|zero|specific_(lifetime|inactivity):(\d+):(HOURS|DAYS|MONTHS))$")


# System permission the acting user needs to write these setup objects (the user's profile permission set plus their
# assigned permission sets). Sources: ref 5 [doc] "Create/update needs Manage Internal Users" (User), OBJREF userlogin
# "needs Manage Users" (UserLogin); PermissionSetAssignment: Assign Permission Sets [doc OBJREF67 access rules, ref 1];
# permission sets and their children: Manage Profiles and Permission Sets [infer from ref 1 "Access"];
# PermissionSetLicenseAssign: Manage Users [infer]. Data objects are not checked (no sharing model in the emulator).
_WRITE_PERMISSION = {
    "User": "ManageInternalUsers",
    "UserLogin": "ManageUsers",
    "PermissionSetAssignment": "AssignPermissionSets",
    "PermissionSetLicenseAssign": "ManageUsers",
    "PermissionSet": "ManageProfilesPermissionsets",
    "PermissionSetGroup": "ManageProfilesPermissionsets",
    "ObjectPermissions": "ManageProfilesPermissionsets",
    "FieldPermissions": "ManageProfilesPermissionsets",
    "SetupEntityAccess": "ManageProfilesPermissionsets",
}
# Fields a user may change on their own User record without Manage Internal Users [infer: "personal information"].
_SELF_EDITABLE = frozenset({"FirstName", "LastName", "Email", "Title", "Department", "CompanyName", "Phone",
                            "TimeZoneSidKey", "LocaleSidKey", "LanguageLocaleKey", "EmailEncodingKey", "Alias",
                            "CommunityNickname"})


def _strict_id(val) -> str | None:
    """18-character form of a 15-character id or of an 18-character id whose checksum matches its letter case.

    Stricter than ids.normalize_id on purpose: the REST guide's MALFORMED_ID example, ``001900K0001pPuOAAU``, is an
    18-character id whose checksum does not match its capitalisation (ref 7.1 [doc]).
    """
    if isinstance(val, str) and ids.is_valid_id(val):
        return ids.to18(val)
    return None


def _dup_value():
    # Composite-key unique index: Salesforce cannot name one field/record -> "<unknown>" (ref 4 [infer]).
    return ApiError(400, "DUPLICATE_VALUE",
                    "duplicate value found: <unknown> duplicates value on record with id: <unknown>")


def _app_kind(app) -> str:
    return app.get("kind") or "connected_app"


def _is_eca(app) -> bool:
    return _app_kind(app) == "external_client_app"


def _new_consumer_key() -> str:
    # Same shape as the seeded ones: "3MVG9" + 80 characters [3rd: public examples] (seed._consumer_key)
    from .seed import _consumer_key  # noqa: PLC0415 - seed imports org

    return _consumer_key()


def _method_not_allowed(method: str, allowed: str) -> ApiError:
    # REST 405 body (ref 5, ref 6.1): "HTTP Method 'DELETE' not allowed. Allowed are HEAD,GET,PATCH" [3rd + infer]
    return ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are {allowed}")


class _VersionView:
    """The catalog protocol (sfemu/docs/internals.md) bound to one API version, for soql.run_query."""

    def __init__(self, org: "Org", version, include_deleted: bool = False):
        self._org = org
        self._version = version
        self._include_deleted = include_deleted

    def object_info(self, name):
        return self._org.catalog.object_info(name, self._version)

    def rows(self, object_name):
        return self._org._rows(object_name, self._include_deleted)

    def row_by_id(self, rec_id):
        return self._org._row_by_id(rec_id, self._include_deleted)


class Org:
    """One emulated org. See the module docstring and sfemu/docs/internals.md "org.py contract"."""

    def __init__(self, emulator: "Emulator", alias: str, seq: int, path: pathlib.Path):
        self.emulator = emulator
        self.catalog: Catalog = emulator.catalog
        self.alias = alias
        self.seq = seq
        self.path = path
        self.org_id = ids.new_id("00D", seq, 0)
        self.lock = threading.RLock()
        self.meta: dict = {}
        self.credentials: dict = {}
        self._tables: dict[str, dict[str, dict]] = {}
        self._deleted: dict[str, dict[str, dict]] = {}
        self._counter = 1
        self._autonum: dict[str, int] = {}
        self._apps: dict[str, dict] = {}
        self._passwords: dict[str, str] = {}
        self._batch_depth = 0
        self._dirty = False
        self._sparse_cache: dict[str, tuple] = {}
        self._clock = None  # seed sets a fixed clock so seeded state is deterministic

    # ================================================================================================================
    # catalog protocol (latest version) -- used by soql and the HTTP layer
    # ================================================================================================================
    def object_info(self, name):
        return self.catalog.object_info(name, LATEST_VERSION)

    def rows(self, object_name):
        return self._rows(object_name, False)

    def row_by_id(self, rec_id):
        return self._row_by_id(rec_id, False)

    def _rows(self, object_name, include_deleted=False):
        odef = self.catalog.object_def(object_name)
        if odef is None:
            return []
        live = list(self._tables.get(odef.name, {}).values())
        if include_deleted:
            live += list(self._deleted.get(odef.name, {}).values())
        return live

    def _row_by_id(self, rec_id, include_deleted=False):
        norm = ids.normalize_id(rec_id)
        if norm is None:
            return None
        odef = self.catalog.object_for_prefix(norm[:3])
        if odef is None:
            if norm == self.org_id:
                odef = self.catalog.object_def("Organization")
            else:
                return None
        row = self._tables.get(odef.name, {}).get(norm)
        if row is None and include_deleted:
            row = self._deleted.get(odef.name, {}).get(norm)
        return (odef.name, row) if row is not None else None

    # ================================================================================================================
    # describe
    # ================================================================================================================
    def _odef_or_404(self, sobject, version):
        odef = self.catalog.object_def(sobject)
        if odef is None or not self.catalog.available(odef.since, version):
            # REST: unknown sObject in the URL -> 404 NOT_FOUND (ref 7.1 body) [doc]
            raise ApiError(404, "NOT_FOUND", NOT_FOUND_MSG)
        return odef

    def describe_global(self, version) -> dict:
        return self.catalog.describe_global(version)

    def describe(self, sobject, version) -> dict:
        self._odef_or_404(sobject, version)
        return self.catalog.describe(sobject, version)

    def basic_info(self, sobject, version) -> dict:
        # GET /sobjects/{Type}/: {"objectDescribe": <global describe entry>, "recentItems": [...]} [doc REST67
        # resources_sobject_basic_info]
        odef = self._odef_or_404(sobject, version)
        v = "%d.%d" % parse_version(version)
        with self.lock:
            recent = []
            for row in list(self._tables.get(odef.name, {}).values())[-5:]:
                item = {"attributes": self._attributes(odef.name, row["Id"], v), "Id": row["Id"]}
                if odef.field(odef.record_name) is not None and odef.record_name != "Id":
                    item[odef.record_name] = row.get(odef.record_name)
                recent.append(item)
        return {"objectDescribe": self.catalog.global_entry(odef, v), "recentItems": recent}

    @staticmethod
    def _attributes(name, rec_id, version):
        return {"type": name, "url": f"/services/data/v{version}/sobjects/{name}/{rec_id}"}

    # ================================================================================================================
    # CRUD
    # ================================================================================================================
    def create(self, sobject, fields, version, user_id) -> str:
        with self.lock:
            odef = self._odef_or_404(sobject, version)
            if not odef.createable:
                raise _method_not_allowed("POST", "GET,HEAD")
            self._check_actor(odef.name, user_id)
            values = self._coerce(odef, fields, version, "create")
            row = self._new_row(odef, values, user_id)
            hook = getattr(self, "_derive_" + odef.name, None)
            if hook:
                hook(row, version)
            self._check_required(odef, row, version, None)
            hook = getattr(self, "_check_create_" + odef.name, None)
            if hook:
                hook(row, version, user_id)
            self._store(odef.name, row)
            hook = getattr(self, "_after_create_" + odef.name, None)
            if hook:
                hook(row, user_id)
            self._changed()
            return row["Id"]

    def retrieve(self, sobject, rec_id, fields, version) -> dict:
        with self.lock:
            odef = self._odef_or_404(sobject, version)
            row = self._locate(odef, rec_id)
            v = "%d.%d" % parse_version(version)
            visible = self.catalog.fields_at(odef, v)
            if fields:
                wanted = []
                byname = {f.name.lower(): f.name for f in visible}
                for name in fields:
                    canon = byname.get(str(name).strip().lower())
                    if canon is None:
                        # Same text as SOQL's unknown column ([3rd] forcedotcom/soql-tooling#86), INVALID_FIELD
                        raise ApiError(400, "INVALID_FIELD",
                                       f"No such column '{name}' on entity '{odef.name}'. If you are attempting to use "
                                       "a custom field, be sure to append the '__c' after the custom field name. "
                                       "Please reference your WSDL or the describe call for the appropriate names.")
                    wanted.append(canon)
            else:
                wanted = [f.name for f in visible]
            out = {"attributes": self._attributes(odef.name, row["Id"], v)}
            for name in wanted:
                out[name] = row.get(name)
            return out

    def update(self, sobject, rec_id, fields, version, user_id) -> None:
        with self.lock:
            odef = self._odef_or_404(sobject, version)
            if not odef.updateable:
                raise _method_not_allowed("PATCH", self._allowed(odef))
            old = self._locate(odef, rec_id)
            fields = dict(fields or {}) if isinstance(fields, dict) else fields
            own = odef.name == "User" and user_id == old["Id"] and isinstance(fields, dict) and \
                {str(k).lower() for k in fields if k != "attributes"} <= {f.lower() for f in _SELF_EDITABLE}
            if not own:
                self._check_actor(odef.name, user_id)
            fields = dict(fields or {})
            given_id = fields.pop("Id", fields.pop("id", None))
            if given_id is not None and not ids.same_id(given_id, old["Id"]):
                # [infer] a body Id that disagrees with the URL is refused like any read-only field
                raise ApiError(400, "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: Id. Please "
                               "check the security settings of this field and verify that it is read/write for your "
                               "profile or permission set.", ["Id"])
            values = self._coerce(odef, fields, version, "update")
            new = dict(old)
            new.update(values)
            self._check_required(odef, new, version, values)
            hook = getattr(self, "_check_update_" + odef.name, None)
            if hook:
                hook(old, new, values, version, user_id)
            self._finalize(odef, new)
            if values:
                now = self._now()
                editor = user_id or new.get("LastModifiedById")
                for fname, val in (("LastModifiedDate", now), ("LastModifiedById", editor), ("SystemModstamp", now)):
                    if odef.field(fname) is not None:
                        new[fname] = val
            self._tables[odef.name][old["Id"]] = new
            hook = getattr(self, "_after_update_" + odef.name, None)
            if hook:
                hook(old, new, user_id)
            self._changed()

    def delete(self, sobject, rec_id, version, user_id) -> None:
        with self.lock:
            odef = self._odef_or_404(sobject, version)
            if not odef.deletable:
                raise _method_not_allowed("DELETE", self._allowed(odef))
            row = self._locate(odef, rec_id)
            self._check_actor(odef.name, user_id)
            hook = getattr(self, "_check_delete_" + odef.name, None)
            if hook:
                hook(row, version, user_id)
            self._delete_cascade(odef.name, row)
            self._changed()

    def query(self, soql, version, include_deleted=False):
        from .soql import run_query  # the SOQL engine (colleague's module, contract in sfemu/docs/internals.md)

        with self.lock:
            return run_query(soql, _VersionView(self, version, include_deleted), version, include_deleted)

    def query_columns(self, soql, version):
        """What the query resource answers with columns=true (soql.query_columns): the columns, not the records."""
        from .soql import query_columns

        with self.lock:
            return query_columns(soql, _VersionView(self, version, False), version)

    # ---------------------------------------------------------------------------------------------------------------
    def user_has_permission(self, user_id, permission) -> bool:
        """True when the user's profile or an assigned permission set enables ``permission`` (API name without the
        "Permissions" prefix, e.g. "ManageUsers")."""
        with self.lock:
            ps_ids = self._effective_ps_ids(_strict_id(user_id))
            if ps_ids is None:
                return False
            key = "Permissions" + permission
            return any(self._tables["PermissionSet"].get(p, {}).get(key) for p in ps_ids)

    def _check_actor(self, sobject, user_id):
        perm = _WRITE_PERMISSION.get(sobject)
        if perm is None or user_id is None or not self.emulator.enforce_user_permissions:
            return
        if _strict_id(user_id) not in self._tables.get("User", {}):
            return  # not a user of this org: an internal call (seed, control API)
        if not self.user_has_permission(user_id, perm):
            # Missing system permission for a setup write. Code: INSUFFICIENT_ACCESS_OR_READONLY [doc SOAP StatusCode];
            # message [infer]. The permission needed is listed in sfemu/docs/rules.md.
            raise ApiError(400, "INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id", [])

    @staticmethod
    def _allowed(odef) -> str:
        allowed = ["HEAD", "GET"]
        if odef.updateable:
            allowed.append("PATCH")
        if odef.deletable:
            allowed.append("DELETE")
        return ",".join(allowed)

    def _locate(self, odef, rec_id) -> dict:
        norm = _strict_id(rec_id)
        if norm is None or norm[:3] != odef.key_prefix:
            # ref 7.1 [doc]: [{"fields":["Id"],"message":"Account ID: id value of incorrect type: 001900K0001pPuOAAU",
            # "errorCode":"MALFORMED_ID"}]
            raise ApiError(400, "MALFORMED_ID", f"{odef.label} ID: id value of incorrect type: {rec_id}", ["Id"])
        row = self._tables.get(odef.name, {}).get(norm)
        if row is None:
            if norm in self._deleted.get(odef.name, {}):
                # Records in the recycle bin: 404 ENTITY_IS_DELETED "entity is deleted" [3rd, common REST reports]
                raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted", [])
            raise ApiError(404, "NOT_FOUND", NOT_FOUND_MSG)  # ref 7.1 [doc]
        return row

    def _now(self) -> str:
        return self._clock() if self._clock else _now_iso()

    def _new_id(self, prefix: str) -> str:
        rid = ids.new_id(prefix, self.seq, self._counter)
        self._counter += 1
        return rid

    def _new_row(self, odef, values: dict, user_id) -> dict:
        now = self._now()
        defaults, autos, _ = _row_plan(odef)
        row = dict(defaults)
        row.update(values)
        row["Id"] = self._new_id(odef.key_prefix)
        for f in autos:
            key = f"{odef.name}.{f.name}"
            n = self._autonum.get(key, 0) + 1
            self._autonum[key] = n
            row[f.name] = _format_auto_number(f.auto_number, n)
        audit = {"CreatedDate": now, "LastModifiedDate": now, "SystemModstamp": now, "CreatedById": user_id,
                 "LastModifiedById": user_id, "IsDeleted": False}
        for name in odef.audit:
            row[name] = audit[name]
        if odef.field("OwnerId") is not None and row.get("OwnerId") is None:
            row["OwnerId"] = user_id  # defaultedOnCreate: the creating user [doc: record owner defaults to creator]
        if odef.custom and odef.field("Name") is not None and row.get("Name") is None:
            row["Name"] = row["Id"]  # [infer] custom object text name left blank shows the record id
        self._finalize(odef, row)
        return row

    def _finalize(self, odef, row):
        for f in _row_plan(odef)[2]:
            row[f.name] = f.compute(row)

    def _store(self, name, row):
        self._tables.setdefault(name, {})[row["Id"]] = row

    def _delete_cascade(self, name, row, _seen=None):
        """Remove ``row``; children with cascadeDelete go too; restrictedDelete children block it."""
        _seen = _seen if _seen is not None else set()
        if row["Id"] in _seen:
            return
        _seen.add(row["Id"])
        odef = self.catalog.object_def(name)
        for rel, child, fname, fdef in self.catalog.children_of(name):
            kids = [r for r in self._tables.get(child, {}).values() if r.get(fname) == row["Id"]]
            if kids and fdef.restricted_delete:
                # Account describe fixture: Cases/Orders have restrictedDelete true. Message [infer], code DELETE_FAILED
                # (SOAP StatusCode "DELETE_FAILED: record in use").
                cdef = self.catalog.object_def(child)
                raise ApiError(400, "DELETE_FAILED",
                               f"Your attempt to delete {row.get(odef.record_name) or row['Id']} could not be "
                               f"completed because it is associated with the following {cdef.label_plural.lower()}.: "
                               + ", ".join(str(k.get(cdef.record_name) or k["Id"]) for k in kids[:5]), [])
        for rel, child, fname, fdef in self.catalog.children_of(name):
            if not (fdef.cascade_delete or fdef.master_detail):
                continue
            for kid in [r for r in self._tables.get(child, {}).values() if r.get(fname) == row["Id"]]:
                self._delete_cascade(child, kid, _seen)
        self._tables.get(name, {}).pop(row["Id"], None)
        if not odef.setup:
            # Data records go to the recycle bin: queryAll still sees them with IsDeleted = true [doc REST67
            # resources_queryall].
            gone = dict(row)
            gone["IsDeleted"] = True
            self._deleted.setdefault(name, {})[row["Id"]] = gone
        hook = getattr(self, "_after_delete_" + name, None)
        if hook:
            hook(row)

    # ================================================================================================================
    # field input validation (generic rules)
    # ================================================================================================================
    def _coerce(self, odef, fields, version, op) -> dict:
        if fields is None:
            fields = {}
        if not isinstance(fields, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of {odef.name} from non-object")
        visible = {f.name.lower(): f for f in self.catalog.fields_at(odef, version)}
        out = {}
        readonly = []
        for key, val in fields.items():
            if key == "attributes":
                continue  # collections records carry attributes.type (ref 7.4)
            f = visible.get(str(key).lower())
            if f is None:
                # Unknown or version-gated column: ref 1.2 "No such column 'X' on sobject of type PermissionSet"
                raise ApiError(400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {odef.name}", [])
            if f.name == "Id" and op == "create":
                # [3rd] "cannot specify Id in an insert call" (server.py uses the same text for collections)
                raise ApiError(400, "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"])
            if (op == "create" and not f.createable) or (op == "update" and not f.updateable):
                readonly.append(f.name)
                continue
            out[f.name] = val
        if readonly:
            # ref 7.1 [3rd]: INVALID_FIELD_FOR_INSERT_UPDATE "Unable to create/update fields: Name. Please check the
            # security settings of this field and verify that it is read/write for your profile or permission set."
            raise ApiError(400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                           "Unable to create/update fields: " + ", ".join(readonly) + ". Please check the security "
                           "settings of this field and verify that it is read/write for your profile or permission "
                           "set.", readonly)
        for name, val in list(out.items()):
            out[name] = self._check_value(odef, odef.field(name), val)
        return out

    def _check_value(self, odef, f, val):
        t = f.type
        if val is None:
            if t == "boolean":
                return False  # a checkbox cannot be null; null clears it [infer]
            return None
        if t == "boolean":
            if not isinstance(val, bool):
                # REST JSON binding error [3rd: "Cannot deserialize instance of boolean from VALUE_STRING value"]
                raise ApiError(400, "JSON_PARSER_ERROR",
                               f"Cannot deserialize instance of boolean from VALUE_STRING value {val} or request may "
                               f"be missing a required field at [line:1, column:1]", [])
            return val
        if t in ("int", "double", "currency", "percent"):
            if isinstance(val, bool) or not isinstance(val, (int, float)):
                if isinstance(val, str):
                    try:
                        val = float(val) if t != "int" else int(val)
                    except ValueError:
                        raise ApiError(400, "JSON_PARSER_ERROR",
                                       f"Cannot deserialize instance of {t} from VALUE_STRING value {val} or request "
                                       "may be missing a required field at [line:1, column:1]", []) from None
                else:
                    raise ApiError(400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of {t} from {val!r}", [])
            if t == "int":
                val = int(val)
            return val
        if t == "date":
            if not isinstance(val, str) or not _DATE_RE.match(val):
                raise ApiError(400, "JSON_PARSER_ERROR",
                               f"Cannot deserialize instance of date from VALUE_STRING value {val} or request may be "
                               "missing a required field at [line:1, column:1]", [])
            return val
        if t == "datetime":
            if not isinstance(val, str) or not _DATETIME_RE.match(val):
                raise ApiError(400, "JSON_PARSER_ERROR",
                               f"Cannot deserialize instance of datetime from VALUE_STRING value {val} or request may "
                               "be missing a required field at [line:1, column:1]", [])
            return _normalise_datetime(val)
        if t == "reference":
            return self._check_reference(odef, f, val)
        # string-like
        if not isinstance(val, str):
            if isinstance(val, (int, float)) and not isinstance(val, bool):
                val = str(val)  # Salesforce accepts JSON numbers for text fields [infer]
            else:
                raise ApiError(400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of string from {val!r}", [])
        if f.length and len(val) > f.length:
            # [3rd, common]: STRING_TOO_LONG "Alias: data value too large: abcdefghij (max length=8)"
            raise ApiError(400, "STRING_TOO_LONG", f"{f.label}: data value too large: {val} (max length={f.length})",
                           [f.name])
        if t == "email" and val and not _EMAIL_RE.match(val):
            # [3rd, common]: INVALID_EMAIL_ADDRESS "Email: invalid email address: foo"
            raise ApiError(400, "INVALID_EMAIL_ADDRESS", f"{f.label}: invalid email address: {val}", [f.name])
        if t == "picklist" and f.restricted and f.picklist and val != "":  # empty = dynamic (FieldPermissions.Field)
            canon = {p.lower(): p for p in f.picklist}.get(val.lower())
            if canon is None:
                # ref 2/3 [3rd]: "Sobject Type Name: bad value for restricted picklist field: Object_Name__c"
                raise ApiError(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                               f"{f.label}: bad value for restricted picklist field: {val}", [f.name])
            val = canon
        return val

    def _check_reference(self, odef, f, val):
        norm = _strict_id(val)
        if norm is None:
            # ref 7.1 form "<Label>: id value of incorrect type: <value>" with MALFORMED_ID [doc]
            raise ApiError(400, "MALFORMED_ID", f"{f.label}: id value of incorrect type: {val}", [f.name])
        target = self.catalog.object_for_prefix(norm[:3])
        if target is None or target.name not in f.reference_to:
            # a valid id of the wrong object type [infer: FIELD_INTEGRITY_EXCEPTION with the same text]
            raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION", f"{f.label}: id value of incorrect type: {val}", [f.name])
        if norm not in self._tables.get(target.name, {}):
            # [3rd, common] INVALID_CROSS_REFERENCE_KEY "invalid cross reference id"
            raise ApiError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name])
        return norm

    def _check_required(self, odef, row, version, changed):
        missing = []
        for f in self.catalog.fields_at(odef, version):
            if not f.nillable and (f.createable or f.updateable) and f.type != "boolean" and not f.defaulted:
                if changed is not None and f.name not in changed:
                    continue
                if row.get(f.name) in (None, ""):
                    missing.append(f.name)
        if missing:
            # ref 5 [infer: standard form]: REQUIRED_FIELD_MISSING "Required fields are missing: [LastName]"
            raise ApiError(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [" + ", ".join(missing) + "]",
                           missing)

    # ================================================================================================================
    # object rules: User, UserLogin, licences
    # ================================================================================================================
    def _profile(self, profile_id):
        return self._tables.get("Profile", {}).get(profile_id)

    def _license_of_profile(self, profile_id):
        p = self._profile(profile_id)
        return self._tables.get("UserLicense", {}).get(p["UserLicenseId"]) if p else None

    def _is_integration_user(self, user) -> bool:
        lic = self._license_of_profile(user.get("ProfileId"))
        return bool(lic and lic.get("Name") == INTEGRATION_LICENSE)

    def _owned_ps_of_profile(self, profile_id):
        for ps in self._tables.get("PermissionSet", {}).values():
            if ps.get("ProfileId") == profile_id and ps.get("IsOwnedByProfile"):
                return ps
        return None

    def _check_license_room(self, license_row, exclude_user_id=None):
        used = sum(
            1
            for u in self._tables.get("User", {}).values()
            if u.get("IsActive") and u["Id"] != exclude_user_id
            and (self._license_of_profile(u.get("ProfileId")) or {}).get("Id") == license_row["Id"]
        )
        if used >= (license_row.get("TotalLicenses") or 0):
            # PLUGIN-USER maps LICENSE_LIMIT_EXCEEDED (ref 5) [real-behaviour code]; message [infer]
            raise ApiError(400, "LICENSE_LIMIT_EXCEEDED", "License Limit Exceeded", [])

    def _derive_User(self, row, version):
        if row.get("CommunityNickname") in (None, ""):
            # Auto-generated when omitted [infer, ref 5]: the part of the username before "@", made unique.
            base = (row.get("Username") or "user").split("@")[0][:30]
            nick, n = base, 1
            taken = {(u.get("CommunityNickname") or "").lower() for u in self._tables.get("User", {}).values()}
            while nick.lower() in taken:
                n += 1
                nick = f"{base}{n}"
            row["CommunityNickname"] = nick
        row["UserType"] = "Standard"

    def _check_user_common(self, row, old=None):
        uname = row.get("Username") or ""
        if not _EMAIL_RE.match(uname):
            # Usernames must look like email addresses (ref 5). Code/message [infer].
            raise ApiError(400, "INVALID_NEW_USERNAME" if old else "INVALID_EMAIL_ADDRESS",
                           f"Username: invalid email address: {uname}", ["Username"])
        nick = (row.get("CommunityNickname") or "").lower()
        for u in self._tables.get("User", {}).values():
            if u["Id"] != row["Id"] and (u.get("CommunityNickname") or "").lower() == nick:
                # SOAP StatusCode DUPLICATE_COMM_NICKNAME [doc api StatusCode list]; message [infer]
                raise ApiError(400, "DUPLICATE_COMM_NICKNAME",
                               "Nickname: Another user has already selected this nickname. Please select another.",
                               ["CommunityNickname"])
        profile = self._profile(row.get("ProfileId"))
        if profile is None:
            raise ApiError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["ProfileId"])

    def _check_create_User(self, row, version, user_id):
        self._check_user_common(row)
        if row.get("IsActive"):
            self._check_license_room(self._license_of_profile(row["ProfileId"]))
        # Usernames are global across all orgs (ref 5 DUPLICATE_USERNAME) -> claimed last, released on rollback.
        self.emulator._claim_username(row["Username"], None, self.alias)

    def _after_create_User(self, row, user_id):
        # Every user has a UserLogin row (OBJREF67 UserLogin) [infer: created with the user].
        self._insert_raw("UserLogin", {"UserId": row["Id"], "IsFrozen": False, "IsPasswordLocked": False},
                         user_id)
        # The profile's permission set shows up as an assignment (OBJREF67 PermissionSet "Associated Profiles"):
        # queries of a user's assignments see it, as in a real org.
        self._sync_profile_assignment(row, user_id)
        self._recount_licenses()

    def _check_update_User(self, old, new, changed, version, user_id):
        self._check_user_common(new, old)
        lic_old = self._license_of_profile(old.get("ProfileId"))
        lic_new = self._license_of_profile(new.get("ProfileId"))
        becomes_active = new.get("IsActive") and (not old.get("IsActive") or (lic_old or {}).get("Id") !=
                                                  (lic_new or {}).get("Id"))
        if becomes_active:
            self._check_license_room(lic_new, exclude_user_id=old["Id"])
        if (lic_old or {}).get("Name") == INTEGRATION_LICENSE and (lic_new or {}).get("Name") != INTEGRATION_LICENSE:
            # A Salesforce Integration user keeps that licence: the integration licence cannot be changed into a
            # full licence and back [infer from Help platform.integration_user.htm: create a new integration user].
            raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION",
                           "You can't change the user license of a Salesforce Integration user.", ["ProfileId"])
        if (lic_new or {}).get("Name") == INTEGRATION_LICENSE and (lic_old or {}).get("Name") != INTEGRATION_LICENSE:
            raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION",
                           "You can't change the user license to Salesforce Integration. Create a new user with the "
                           "Salesforce Integration license instead.", ["ProfileId"])
        if (new.get("Username") or "").lower() != (old.get("Username") or "").lower():
            self.emulator._claim_username(new["Username"], old["Username"], self.alias)

    def _after_update_User(self, old, new, user_id):
        if old.get("ProfileId") != new.get("ProfileId"):
            self._sync_profile_assignment(new, user_id, old_profile_id=old.get("ProfileId"))
        self._recount_licenses()

    def _sync_profile_assignment(self, user, user_id, old_profile_id=None):
        psa = self._tables.setdefault("PermissionSetAssignment", {})
        if old_profile_id:
            old_ps = self._owned_ps_of_profile(old_profile_id)
            for r in list(psa.values()):
                if old_ps and r.get("AssigneeId") == user["Id"] and r.get("PermissionSetId") == old_ps["Id"]:
                    del psa[r["Id"]]
        ps = self._owned_ps_of_profile(user.get("ProfileId"))
        if ps is not None:
            self._insert_raw("PermissionSetAssignment", {"AssigneeId": user["Id"], "PermissionSetId": ps["Id"],
                                                         "IsActive": True, "IsRevoked": False}, user_id)

    def _recount_licenses(self):
        """UsedLicenses of UserLicense (active users) and PermissionSetLicense (assignments) [doc OBJREF67]."""
        counts = {}
        for u in self._tables.get("User", {}).values():
            if u.get("IsActive"):
                lic = self._license_of_profile(u.get("ProfileId"))
                if lic:
                    counts[lic["Id"]] = counts.get(lic["Id"], 0) + 1
        now = self._now()
        for lic in self._tables.get("UserLicense", {}).values():
            n = counts.get(lic["Id"], 0)
            if lic.get("UsedLicenses") != n:
                lic["UsedLicenses"] = n
                lic["UsedLicensesLastUpdated"] = now
        pcounts = {}
        for a in self._tables.get("PermissionSetLicenseAssign", {}).values():
            pcounts[a["PermissionSetLicenseId"]] = pcounts.get(a["PermissionSetLicenseId"], 0) + 1
        for psl in self._tables.get("PermissionSetLicense", {}).values():
            psl["UsedLicenses"] = pcounts.get(psl["Id"], 0)

    def _check_update_UserLogin(self, old, new, changed, version, user_id):
        if changed.get("IsPasswordLocked") is True and not old.get("IsPasswordLocked"):
            # OBJREF67 UserLogin: the API may set IsPasswordLocked to false (unlock), never to true [doc]; code [infer]
            raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION", "IsPasswordLocked can only be set to false.",
                           ["IsPasswordLocked"])

    # ================================================================================================================
    # PermissionSet
    # ================================================================================================================
    def _derive_PermissionSet(self, row, version):
        row["IsOwnedByProfile"] = False
        row["IsCustom"] = True
        row["Type"] = "Regular"
        row["NamespacePrefix"] = None
        row.setdefault("PsgCount", 0)

    def _check_ps_name(self, row, old=None):
        name = row.get("Name") or ""
        if not _DEV_NAME_RE.match(name) or "__" in name or name.endswith("_"):
            # Rule: ref 1 (letters/digits/_; starts with a letter; no trailing _, no __). Message is the Setup
            # validation text; errorCode [infer].
            raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION",
                           "The API Name can only contain underscores and alphanumeric characters. It must be unique, "
                           "begin with a letter, not include spaces, not end with an underscore, and not contain two "
                           "consecutive underscores.", ["Name"])
        errors = []
        for ps in self._tables.get("PermissionSet", {}).values():
            if ps["Id"] == row["Id"]:
                continue
            if (ps.get("Label") or "").lower() == (row.get("Label") or "").lower() and \
                    (old is None or (old.get("Label") or "").lower() != (row.get("Label") or "").lower()):
                errors.append(("DUPLICATE_MASTER_LABEL", "The label you entered is in use. Enter a unique label.",
                               ["Label"]))
            if (ps.get("Name") or "").lower() == name.lower():
                errors.append(("DUPLICATE_DEVELOPER_NAME",
                               "The API name you entered is already in use. Enter a unique API name.", ["Name"]))
        if errors:
            # [real] CumulusCI#3045: both errors in one response, label first.
            errors.sort(key=lambda e: e[0] != "DUPLICATE_MASTER_LABEL")
            seen, uniq = set(), []
            for e in errors:
                if e[0] not in seen:
                    seen.add(e[0])
                    uniq.append(e)
            first, *more = uniq
            raise ApiError(400, first[0], first[1], first[2], more=more)

    def _check_system_permissions(self, row, version):
        visible = set(self.catalog.permission_names(version))  # a dependency the version does not know is skipped
        problems = []
        for perm, deps in SYSTEM_PERMISSION_DEPENDENCIES.items():
            if not row.get("Permissions" + perm):
                continue
            missing = [d for d in deps if d in visible and not row.get("Permissions" + d)]
            if missing:
                problems.append(f"Permission {perm} depends on permission(s): {', '.join(missing)}")
        if problems:
            # ref 1.3 [real]: FIELD_INTEGRITY_EXCEPTION "Permission CustomizeApplication depends on permission(s):
            # ManageTranslation" (API names); several problems joined with "; " [3rd sfxd wiki].
            raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION", "; ".join(problems), [])

    def _check_create_PermissionSet(self, row, version, user_id):
        self._check_ps_name(row)
        self._check_system_permissions(row, version)

    def _refuse_profile_owned(self, ps):
        if ps.get("IsOwnedByProfile"):
            # [doc OBJREF67 PermissionSet]: "You can query permission sets that are owned by profiles but not modify
            # them". errorCode/message [infer]: the generic insufficient-access error.
            raise ApiError(400, "INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id", [])

    def _check_update_PermissionSet(self, old, new, changed, version, user_id):
        self._refuse_profile_owned(old)
        if "Name" in changed or "Label" in changed:
            self._check_ps_name(new, old)
        self._check_system_permissions(new, version)

    def _check_delete_PermissionSet(self, row, version, user_id):
        self._refuse_profile_owned(row)
        if any(a.get("PermissionSetId") == row["Id"] for a in self._tables.get("PermissionSetAssignment", {}).values()):
            # [doc OBJREF67]: "If the permission set isn't assigned to a user, you can also ... delete a permission
            # set." The error for an assigned one is not documented: DELETE_FAILED + message [infer].
            raise ApiError(400, "DELETE_FAILED",
                           f"Can't delete the permission set {row.get('Label')} because it's assigned to one or more "
                           "users. Remove the assignments and try again.", [])

    # ================================================================================================================
    # PermissionSetGroup (the same naming rules as permission sets [infer]; components are not emulated)
    # ================================================================================================================
    def _derive_PermissionSetGroup(self, row, version):
        row["Status"] = "Updated"  # a group without components needs no recalculation [infer]
        row["NamespacePrefix"] = None

    def _check_psg_name(self, row):
        name = row.get("DeveloperName") or ""
        if not _DEV_NAME_RE.match(name) or "__" in name or name.endswith("_"):
            raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION",
                           "The API Name can only contain underscores and alphanumeric characters. It must be unique, "
                           "begin with a letter, not include spaces, not end with an underscore, and not contain two "
                           "consecutive underscores.", ["DeveloperName"])
        for g in self._tables.get("PermissionSetGroup", {}).values():
            if g["Id"] != row["Id"] and (g.get("DeveloperName") or "").lower() == name.lower():
                raise ApiError(400, "DUPLICATE_DEVELOPER_NAME",
                               "The API name you entered is already in use. Enter a unique API name.",
                               ["DeveloperName"])

    def _check_create_PermissionSetGroup(self, row, version, user_id):
        self._check_psg_name(row)

    def _check_update_PermissionSetGroup(self, old, new, changed, version, user_id):
        if "DeveloperName" in changed:
            self._check_psg_name(new)

    def _check_delete_PermissionSetGroup(self, row, version, user_id):
        if any(a.get("PermissionSetGroupId") == row["Id"]
               for a in self._tables.get("PermissionSetAssignment", {}).values()):
            raise ApiError(400, "DELETE_FAILED",  # as permission sets [infer]
                           f"Can't delete the permission set group {row.get('MasterLabel')} because it's assigned to "
                           "one or more users. Remove the assignments and try again.", [])

    # ================================================================================================================
    # ObjectPermissions / FieldPermissions
    # ================================================================================================================
    def _parent_ps_writable(self, parent_id):
        ps = self._tables["PermissionSet"].get(parent_id)
        if ps is not None and ps.get("IsOwnedByProfile"):
            # All emulated profiles are standard profiles, whose permissions cannot be edited (Setup greys them out)
            # [infer]; profile-owned permission sets "can be queried but not modified" [doc OBJREF67 PermissionSet].
            raise ApiError(400, "INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id",
                           ["ParentId"])
        return ps

    def _check_object_flags(self, row):
        obj = row["SobjectType"]
        problems = []
        for flag, label in OBJECT_PERMISSION_FLAGS:
            if not row.get(flag):
                continue
            missing = [d for d in OBJECT_PERMISSION_DEPENDENCIES.get(flag, ()) if not row.get(d)]
            if missing:
                labels = dict(OBJECT_PERMISSION_FLAGS)
                problems.append(f"Permission {label} {obj} depends on permission(s): "
                                + ", ".join(f"{labels[m]} {obj}" for m in missing))
        # Cross-object: Read on a master-detail child needs Read on its master (ref 2 [3rd] "Permission Read
        # SerializedProduct depends on permission(s): Read Product2").
        odef = self.catalog.object_def(obj)
        if row.get("PermissionsRead"):
            for f in odef.fields:
                if f.master_detail:
                    for master in f.reference_to:
                        mrow = self._object_perm(row["ParentId"], master)
                        if not (mrow and mrow.get("PermissionsRead")):
                            problems.append(f"Permission Read {obj} depends on permission(s): Read {master}")
        if problems:
            # ref 1.3 / ref 2 [3rd]: labels, several problems joined with "; "
            raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION", "; ".join(problems), [])

    def _check_master_still_readable(self, parent_id, master, read_after):
        """Removing Read on a master breaks the master-detail children that keep Read (same rule, other side)."""
        if read_after:
            return
        for child in self.catalog.objects:
            if any(f.master_detail and master in f.reference_to for f in child.fields):
                crow = self._object_perm(parent_id, child.name)
                if crow and crow.get("PermissionsRead"):
                    raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION",
                                   f"Permission Read {child.name} depends on permission(s): Read {master}", [])

    def _perm_row(self, table, parent_id, key, value):
        """The ObjectPermissions/FieldPermissions row of a permission set for one object or field, or None."""
        for r in self._tables.get(table, {}).values():
            if r.get("ParentId") == parent_id and r.get(key) == value:
                return r
        return None

    def _object_perm(self, parent_id, sobject):
        return self._perm_row("ObjectPermissions", parent_id, "SobjectType", sobject)

    def _check_create_ObjectPermissions(self, row, version, user_id):
        self._parent_ps_writable(row["ParentId"])
        if not any(row.get(flag) for flag, _ in OBJECT_PERMISSION_FLAGS):
            # All-false rows cannot exist: an update to all false deletes the row [doc OBJREF67]; an insert all
            # false "will get an error" [3rd sfxd wiki]. Message [infer].
            raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION",
                           "Object permissions must grant at least one permission. To remove access, delete the "
                           "ObjectPermissions record.", [])
        if self._object_perm(row["ParentId"], row["SobjectType"]) is not None:
            raise _dup_value()  # ref 2: duplicate ParentId+SobjectType -> DUPLICATE_VALUE [infer]
        self._check_object_flags(row)
        self._check_integration_license_for_ps(row["ParentId"], row)

    def _check_update_ObjectPermissions(self, old, new, changed, version, user_id):
        self._parent_ps_writable(old["ParentId"])
        if not any(new.get(flag) for flag, _ in OBJECT_PERMISSION_FLAGS):
            self._check_master_still_readable(old["ParentId"], old["SobjectType"], False)
            return  # _after_update_ deletes the row
        self._check_object_flags(new)
        self._check_master_still_readable(old["ParentId"], old["SobjectType"], new.get("PermissionsRead"))
        self._check_integration_license_for_ps(old["ParentId"], new)

    def _after_update_ObjectPermissions(self, old, new, user_id):
        if not any(new.get(flag) for flag, _ in OBJECT_PERMISSION_FLAGS):
            # [doc OBJREF67 PermissionSet "Note"]: an update that sets every permission false deletes the record.
            self._tables["ObjectPermissions"].pop(new["Id"], None)

    def _check_delete_ObjectPermissions(self, row, version, user_id):
        self._parent_ps_writable(row["ParentId"])
        self._check_master_still_readable(row["ParentId"], row["SobjectType"], False)

    def _derive_FieldPermissions(self, row, version):
        field = row.get("Field")
        if not isinstance(field, str) or "." not in field:
            if field is None:
                return  # REQUIRED_FIELD_MISSING follows
            raise ApiError(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                           f"Field Name: bad value for restricted picklist field: {field}", ["Field"])
        obj_name, _, fname = field.partition(".")
        odef = self.catalog.object_def(obj_name)
        fdef = None
        if odef is not None:
            fdef = odef.field(fname)
            if fdef is None:
                # v50+: lookups may be given by relationship name ("Contact.Account") and are stored with the
                # field name ("Contact.AccountId") [doc OBJREF67 FieldPermissions].
                fdef = next((f for f in odef.fields if f.relationship_name and
                             f.relationship_name.lower() == fname.lower()), None)
            if fdef is not None:
                # An address part (Account.BillingCity) is permissionable in real describes, but real orgs hold the
                # row under the compound only (Account.BillingAddress; fidelity-evidence.md row 4): stored so, like
                # the relationship-name spelling above [infer: whether the API maps or refuses a part is unconfirmed].
                fdef = fls_field(odef, fdef)
        canon = f"{odef.name}.{fdef.name}" if (odef and fdef) else None
        if canon is None or canon not in set(self.catalog.permissionable_fields(version)):
            # ref 3 [3rd]: INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST "Field Name: bad value for restricted picklist
            # field: Account.Field_Name__c", fields ["Field"]
            raise ApiError(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                           f"Field Name: bad value for restricted picklist field: {field}", ["Field"])
        given = row.get("SobjectType")
        if given not in (None, "") and given.lower() != odef.name.lower():
            # SobjectType must be the object of Field [doc OBJREF67 "Field ... must be SobjectType.FieldApiName"];
            # errorCode [infer]
            raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION",
                           f"Field {canon} does not belong to Sobject Type {given}", ["SobjectType", "Field"])
        row["Field"] = canon
        row["SobjectType"] = odef.name  # derived from Field

    def _check_field_flags(self, row):
        obj_name, _, fname = row["Field"].partition(".")
        fdef = self.catalog.object_def(obj_name).field(fname)
        if row.get("PermissionsEdit") and read_only_for_fls(fdef):
            # [doc OBJREF67 FieldPermissions]: auto-number and formula fields take PermissionsRead only.
            # errorCode/message [infer]
            raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION",
                           f"You can't grant Edit access to {row['Field']}: the field is read-only (formula, "
                           "auto-number or system field).", ["PermissionsEdit"])
        if row.get("PermissionsEdit") and not row.get("PermissionsRead"):
            # [doc OBJREF67]: Edit requires Read. Message in the dependency form of ref 1.3 [infer]
            raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION",
                           f"Permission Edit {row['Field']} depends on permission(s): Read {row['Field']}", [])

    def _field_perm(self, parent_id, field):
        return self._perm_row("FieldPermissions", parent_id, "Field", field)

    def _check_create_FieldPermissions(self, row, version, user_id):
        self._parent_ps_writable(row["ParentId"])
        if not row.get("PermissionsRead") and not row.get("PermissionsEdit"):
            # "A FieldPermissions record must have at minimum PermissionsRead set to true, or it will be deleted"
            # [doc OBJREF67]; an insert without it is refused [infer, like ObjectPermissions].
            raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION",
                           "Field permissions must grant at least Read access. To remove access, delete the "
                           "FieldPermissions record.", ["PermissionsRead"])
        self._check_field_flags(row)
        if self._field_perm(row["ParentId"], row["Field"]) is not None:
            raise _dup_value()  # duplicate ParentId+Field [infer, as ref 2]
        self._check_integration_license_for_ps(row["ParentId"], None, field_row=row)

    def _check_update_FieldPermissions(self, old, new, changed, version, user_id):
        self._parent_ps_writable(old["ParentId"])
        if not new.get("PermissionsRead") and not new.get("PermissionsEdit"):
            return  # row deleted in _after_update_
        self._check_field_flags(new)

    def _after_update_FieldPermissions(self, old, new, user_id):
        if not new.get("PermissionsRead"):
            # [doc OBJREF67]: "must have at minimum PermissionsRead set to true, or it will be deleted"
            self._tables["FieldPermissions"].pop(new["Id"], None)

    def _check_delete_FieldPermissions(self, row, version, user_id):
        self._parent_ps_writable(row["ParentId"])

    # ================================================================================================================
    # Assignments and licences
    # ================================================================================================================
    def _user_ps_ids(self, user_id) -> set:
        return {a.get("PermissionSetId") for a in self._tables.get("PermissionSetAssignment", {}).values()
                if a.get("AssigneeId") == user_id and a.get("PermissionSetId")}

    def _effective_ps_ids(self, user_id):
        """Ids of the permission sets whose grants a user has: the assigned ones and the profile's own one (a
        profile's permissions live in its hidden IsOwnedByProfile permission set; shared/reference/salesforce-api.md
        §1, PermissionSet fields). None when there is no such user."""
        user = self._tables.get("User", {}).get(user_id or "")
        if user is None:
            return None
        ps_ids = self._user_ps_ids(user_id)
        owned = self._owned_ps_of_profile(user.get("ProfileId"))
        if owned:
            ps_ids.add(owned["Id"])
        return ps_ids

    def _has_psl(self, user_id, dev_name) -> bool:
        psl = next((p for p in self._tables.get("PermissionSetLicense", {}).values()
                    if p.get("DeveloperName") == dev_name), None)
        return bool(psl) and any(a.get("AssigneeId") == user_id and a.get("PermissionSetLicenseId") == psl["Id"]
                                 for a in self._tables.get("PermissionSetLicenseAssign", {}).values())

    def _first_data_grant(self, ps_id, extra_obj_row=None, extra_field_row=None):
        """The first object/field permission a permission set grants, as Setup names it ("Read Accounts")."""
        rows = [r for r in self._tables.get("ObjectPermissions", {}).values() if r.get("ParentId") == ps_id]
        if extra_obj_row is not None:
            rows = [r for r in rows if r.get("Id") != extra_obj_row.get("Id")] + [extra_obj_row]
        for r in rows:
            for flag, label in OBJECT_PERMISSION_FLAGS:
                if r.get(flag):
                    plural = self.catalog.object_def(r["SobjectType"]).label_plural
                    return f"{label} {plural}"
        frows = [r for r in self._tables.get("FieldPermissions", {}).values() if r.get("ParentId") == ps_id]
        if extra_field_row is not None:
            frows.append(extra_field_row)
        for r in frows:
            if r.get("PermissionsRead"):
                return f"Read {r['Field']}"
        return None

    def _integration_license_error(self, ps, user, grant):
        # ref 4 [3rd] (UI text): Can't assign permission set "X" to user "Y". The user license doesn't allow the
        # permission: Read Accounts. API errorCode not found -> FIELD_INTEGRITY_EXCEPTION [infer].
        return ApiError(400, "FIELD_INTEGRITY_EXCEPTION",
                        f"Can't assign permission set \"{ps.get('Label')}\" to user \"{user.get('Name')}\". The user "
                        f"license doesn't allow the permission: {grant}", [])

    def _check_integration_license_for_ps(self, ps_id, obj_row, field_row=None):
        """Object/field access added to a permission set that an integration user without the PSL already holds."""
        ps = self._tables["PermissionSet"].get(ps_id)
        if ps is None or ps.get("IsOwnedByProfile"):
            return
        for a in self._tables.get("PermissionSetAssignment", {}).values():
            if a.get("PermissionSetId") != ps_id:
                continue
            user = self._tables["User"].get(a["AssigneeId"])
            if user and self._is_integration_user(user) and not self._has_psl(user["Id"], INTEGRATION_PSL):
                grant = self._first_data_grant(ps_id, obj_row, field_row)
                if grant:
                    raise self._integration_license_error(ps, user, grant)

    def _derive_PermissionSetAssignment(self, row, version):
        row["IsActive"] = True  # v52+: false only for expired/revoked assignments [doc OBJREF67]
        row["IsRevoked"] = False

    def _check_create_PermissionSetAssignment(self, row, version, user_id):
        ps_id, psg_id = row.get("PermissionSetId"), row.get("PermissionSetGroupId")
        if not ps_id and not psg_id:
            raise ApiError(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [PermissionSetId]",
                           ["PermissionSetId"])
        if ps_id and psg_id:
            # exactly one of the two (ref 4 [doc OBJREF67]); message [infer]
            raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION",
                           "Specify either a permission set or a permission set group, not both.",
                           ["PermissionSetId", "PermissionSetGroupId"])
        user = self._tables["User"][row["AssigneeId"]]
        for a in self._tables.get("PermissionSetAssignment", {}).values():
            if a.get("AssigneeId") != row["AssigneeId"]:
                continue
            if ps_id and a.get("PermissionSetId") == ps_id:
                # ref 4 [3rd]: "Duplicate PermissionSetAssignment. Assignee: 005...; Permission Set: 0PS..."
                raise ApiError(400, "DUPLICATE_VALUE",
                               f"Duplicate PermissionSetAssignment. Assignee: {row['AssigneeId']}; "
                               f"Permission Set: {ps_id}", [])
            if psg_id and a.get("PermissionSetGroupId") == psg_id:
                raise ApiError(400, "DUPLICATE_VALUE",  # [infer] same form for groups
                               f"Duplicate PermissionSetAssignment. Assignee: {row['AssigneeId']}; "
                               f"Permission Set Group: {psg_id}", [])
        if not ps_id:
            return
        ps = self._tables["PermissionSet"][ps_id]
        if ps.get("IsOwnedByProfile"):
            # Profile permission sets are assigned through the profile (OBJREF67 PermissionSet) [doc]; text [infer]
            raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION",
                           "You can't assign or unassign this permission set because it's associated with a profile.",
                           ["PermissionSetId"])
        lic_id = ps.get("LicenseId")
        if lic_id:
            mismatch = False
            if lic_id.startswith(self.catalog.object_def("UserLicense").key_prefix):
                mismatch = (self._license_of_profile(user.get("ProfileId")) or {}).get("Id") != lic_id
            else:
                psl = self._tables["PermissionSetLicense"].get(lic_id) or {}
                mismatch = not self._has_psl(user["Id"], psl.get("DeveloperName"))
            if mismatch:
                # [3rd] "if the PermissionSet has a UserLicenseId, its UserLicenseId and the Profile UserLicenseId
                # must match"; errorCode/message [infer]
                raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION",
                               f"Can't assign permission set \"{ps.get('Label')}\" to user \"{user.get('Name')}\". "
                               "The permission set license doesn't match the user's license.", ["PermissionSetId"])
        if self._is_integration_user(user) and not self._has_psl(user["Id"], INTEGRATION_PSL):
            # Salesforce Integration users need the "Salesforce API Integration" PSL before a permission set that
            # grants object/field access (ref 4, ref 5 [doc + 3rd]).
            grant = self._first_data_grant(ps_id)
            if grant:
                raise self._integration_license_error(ps, user, grant)

    def _check_update_PermissionSetAssignment(self, old, new, changed, version, user_id):
        pass  # only ExpirationDate is updateable (schema)

    def _check_delete_PermissionSetAssignment(self, row, version, user_id):
        ps = self._tables["PermissionSet"].get(row.get("PermissionSetId") or "")
        if ps is not None and ps.get("IsOwnedByProfile"):
            raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION",
                           "You can't assign or unassign this permission set because it's associated with a profile.",
                           [])

    def _check_create_PermissionSetLicenseAssign(self, row, version, user_id):
        for a in self._tables.get("PermissionSetLicenseAssign", {}).values():
            if a.get("AssigneeId") == row["AssigneeId"] and a.get("PermissionSetLicenseId") == row[
                    "PermissionSetLicenseId"]:
                # ref 4: PLUGIN-USER treats "duplicate value found" as success; errorCode DUPLICATE_VALUE [infer]
                raise _dup_value()
        psl = self._tables["PermissionSetLicense"][row["PermissionSetLicenseId"]]
        user = self._tables["User"][row["AssigneeId"]]
        if psl.get("DeveloperName") == INTEGRATION_PSL and not self._is_integration_user(user):
            # The Salesforce API Integration PSL is for Salesforce Integration licence users (Help
            # platform.integration_user.htm [doc]); errorCode/message [infer]
            raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION",
                           f"The permission set license {psl.get('MasterLabel')} isn't available for the user license "
                           "of this user.", ["PermissionSetLicenseId"])
        used = sum(1 for a in self._tables.get("PermissionSetLicenseAssign", {}).values()
                   if a.get("PermissionSetLicenseId") == psl["Id"])
        if used >= (psl.get("TotalLicenses") or 0):
            raise ApiError(400, "LICENSE_LIMIT_EXCEEDED", "License Limit Exceeded", [])  # as users (ref 5) [infer]

    def _after_create_PermissionSetLicenseAssign(self, row, user_id):
        self._recount_licenses()

    def _after_delete_PermissionSetLicenseAssign(self, row):
        self._recount_licenses()

    # ================================================================================================================
    # SetupEntityAccess, ConnectedApplication, OauthToken
    # ================================================================================================================
    def _derive_SetupEntityAccess(self, row, version):
        ent = row.get("SetupEntityId")
        if ent:
            odef = self.catalog.object_for_prefix(ent[:3])
            row["SetupEntityType"] = odef.name if odef else None  # derived, not createable [doc OBJREF67]

    def _check_create_SetupEntityAccess(self, row, version, user_id):
        for r in self._tables.get("SetupEntityAccess", {}).values():
            if r.get("ParentId") == row["ParentId"] and r.get("SetupEntityId") == row["SetupEntityId"]:
                raise _dup_value()  # [infer, as ref 4]

    # ================================================================================================================
    # connected apps (OAuth / Metadata support for server.py, oauth.py, metadata.py)
    # ================================================================================================================
    def connected_apps(self) -> list[dict]:
        """Policies of the connected apps this org knows (installed or only used); External Client Apps excluded."""
        with self.lock:
            return [self.get_connected_app_policy(n) for n in sorted(self._apps) if not _is_eca(self._apps[n])]

    def oauth_clients(self) -> list[dict]:
        """Every OAuth client of the org, either kind: ``{"name", "kind", "client_id"}`` (token endpoint index)."""
        with self.lock:
            return [{"name": a["name"], "kind": _app_kind(a), "client_id": a.get("client_id")}
                    for a in self._apps.values()]

    def find_connected_app(self, client_id) -> dict | None:
        """The OAuth client whose consumer key is ``client_id``, with its secret (for the token endpoint). Either kind:
        ``kind`` says which; an External Client App also carries its current policies (``oauth_policy``,
        ``policies``) and its client-credentials user id."""
        with self.lock:
            for app in self._apps.values():
                if app.get("client_id") and hmac.compare_digest(str(app["client_id"]), str(client_id or "")):
                    out = copy.deepcopy(app)
                    out["kind"] = _app_kind(app)
                    if _is_eca(app):
                        user = self.user_by_username(app["oauth_policy"].get("clientCredentialsFlowUser") or "")
                        enabled = app["oauth_policy"].get("isClientCredentialsFlowEnabled")
                        out["client_credentials_user_id"] = user["Id"] if (user and enabled) else None
                    return out
            return None

    def _app(self, name) -> dict:
        app = self._find_app_entry(name)
        if app is None:
            raise ApiError(404, "NOT_FOUND", f"No connected app named {name} is known in this org.")
        return app

    def get_connected_app_policy(self, name) -> dict:
        with self.lock:
            app = self._app(name)
            out = {k: v for k, v in app.items() if k != "client_secret"}
            row = self._tables.get("ConnectedApplication", {}).get(app.get("id") or "")
            out["installed"] = row is not None
            out["permission_set_ids"] = []
            out["profile_names"] = []
            if row is not None:
                for sea in self._tables.get("SetupEntityAccess", {}).values():
                    if sea.get("SetupEntityId") == row["Id"]:
                        ps = self._tables["PermissionSet"].get(sea["ParentId"]) or {}
                        if ps.get("IsOwnedByProfile"):
                            out["profile_names"].append((self._profile(ps.get("ProfileId")) or {}).get("Name"))
                        else:
                            out["permission_set_ids"].append(ps.get("Id"))
            return out

    def set_connected_app_policy(self, name, is_admin_approved=None, ip_relaxation=None,
                                 refresh_token_policy=None) -> dict:
        with self.lock:
            app = self._app(name)
            if _is_eca(app):
                raise ApiError(400, "INVALID_INPUT", f"{app['name']} is an External Client App: its policies are "
                                                     "ExtlClntAppOauthConfigurablePolicies.")
            row = self._tables.get("ConnectedApplication", {}).get(app.get("id") or "")
            if row is None:
                # A consumer org manages an app's policies only once it is installed (peers D-11 [doc]).
                raise ApiError(404, "NOT_FOUND", f"The connected app {app['name']} is not installed in this org.")
            if ip_relaxation is not None and ip_relaxation not in _IP_RELAXATION:
                raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION",
                               f"ipRelaxation must be one of {', '.join(_IP_RELAXATION)}", [])
            if refresh_token_policy is not None and not _REFRESH_POLICY_RE.match(str(refresh_token_policy)):
                raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION",
                               "refreshTokenPolicy must be infinite, zero, specific_lifetime:N:UNIT or "
                               "specific_inactivity:N:UNIT (UNIT = HOURS, DAYS or MONTHS)", [])
            if is_admin_approved is not None:
                app["is_admin_approved"] = bool(is_admin_approved)
            if ip_relaxation is not None:
                app["ip_relaxation"] = ip_relaxation
            if refresh_token_policy is not None:
                app["refresh_token_policy"] = refresh_token_policy
            self._mirror_app(app, row)
            self._changed()
            return self.get_connected_app_policy(name)

    def _mirror_app(self, app, row):
        """Policy -> ConnectedApplication row (FIELDREF67 ConnectedApplication fields, ref 6.1)."""
        row["OptionsAllowAdminApprovedUsersOnly"] = bool(app.get("is_admin_approved"))
        m = _REFRESH_POLICY_RE.match(app.get("refresh_token_policy") or "infinite")
        if m and m.group(2):
            row["RefreshTokenValidityPeriod"] = int(m.group(3))
            row["OptionsRefreshTokenValidityMetric"] = m.group(2) == "inactivity"  # true = by inactivity (ref 6.1)
        else:
            # infinite / zero: no period [infer]
            row["RefreshTokenValidityPeriod"] = 0 if (m and m.group(1) == "zero") else None
            row["OptionsRefreshTokenValidityMetric"] = False
        now = self._now()
        row["LastModifiedDate"] = now
        row["SystemModstamp"] = now

    def install_connected_app(self, name) -> str:
        """The manual Setup > Connected Apps OAuth Usage > Install click (ref 6.3): creates the ConnectedApplication
        row. Idempotent: returns the existing id when the app is installed already."""
        with self.lock:
            app = self._app(name)
            if _is_eca(app):
                raise ApiError(400, "INVALID_INPUT", f"{app['name']} is installed as an External Client App.")
            existing = self._tables.get("ConnectedApplication", {}).get(app.get("id") or "")
            if existing is not None:
                return existing["Id"]
            admin = self._admin_id()
            row = self._insert_raw("ConnectedApplication", {"Name": app["name"], "OptionsIsInternal": False,
                                                            "OptionsHasSessionLevelPolicy": False,
                                                            "OptionsFullContentPushNotifications": False,
                                                            "MobileSessionTimeout": "Never", "PinLength": "4"}, admin)
            app["id"] = row["Id"]
            app["installed"] = True
            self._mirror_app(app, row)
            self._changed()
            return row["Id"]

    def user_has_app_access(self, user_id, app) -> bool:
        """True when the user's profile or one of their permission sets has SetupEntityAccess to the app (what an
        admin-approved app requires, ref 6.4). ``app`` = ConnectedApplication id or app name. For an External Client
        App: the user holds a permission set named in its OAuth policies' commaSeparatedPermissionSet, or has a
        profile named in commaSeparatedProfile (what AdminApprovedPreAuthorized lets in) [doc
        ExtlClntAppOauthConfigurablePolicies]."""
        with self.lock:
            entry = self._find_app_entry(app) if isinstance(app, str) else None
            if entry is not None and _is_eca(entry):
                return self._eca_lets_in(entry, ids.normalize_id(user_id))
            app_id = ids.normalize_id(app) if isinstance(app, str) else None
            if app_id is None or app_id not in self._tables.get("ConnectedApplication", {}):
                try:
                    app_id = self._app(app).get("id")
                except ApiError:
                    return False
            if not app_id or app_id not in self._tables.get("ConnectedApplication", {}):
                return False
            ps_ids = self._effective_ps_ids(ids.normalize_id(user_id))
            if ps_ids is None:
                return False
            return any(s.get("SetupEntityId") == app_id and s.get("ParentId") in ps_ids
                       for s in self._tables.get("SetupEntityAccess", {}).values())

    # ================================================================================================================
    # External Client Apps (sfemu/docs/external-client-apps.md; policy rules in eca.py)
    # ================================================================================================================
    def install_external_client_app(self, name, distribution_state="Packaged") -> dict:
        """An External Client App installed in this org (a vendor's packaged ECA, or a local one). Creates the
        ExternalClientApplication row and the OAuth policies Salesforce generates with it (ExtlClntAppOauthPlcyCnfg
        row, ``<name>_oauthPlcy`` and ``<name>_plcy`` components with their defaults). An app this org already knows
        as a connected app that is only *used* (the vendor's Planhat in even orgs) becomes that ECA and keeps its
        consumer key; one installed as a connected app cannot also be an ECA. Idempotent."""
        if distribution_state not in ("Local", "Packaged"):
            raise ApiError(400, "INVALID_INPUT", "distribution_state must be Local or Packaged")
        with self.lock:
            existing = self._find_app_entry(name)
            if existing is not None and _is_eca(existing):
                return self.get_external_client_app(existing["name"])
            if existing is not None and existing.get("id") in self._tables.get("ConnectedApplication", {}):
                raise ApiError(400, "INVALID_INPUT", f"{existing['name']} is installed as a connected app.")
            label = existing["name"] if existing else str(name)
            dev = eca.developer_name(label)
            admin = self._admin_id()
            row = self._insert_raw("ExternalClientApplication", {"MasterLabel": label, "DeveloperName": dev,
                                                                 "DistributionState": distribution_state}, admin)
            policy = eca.default_oauth_policy(dev)
            cnfg = self._insert_raw("ExtlClntAppOauthPlcyCnfg", {
                "ExternalClientApplicationId": row["Id"],
                "PermittedUsersPolicyType": policy["permittedUsersPolicyType"]}, admin)
            app = {
                "name": label, "kind": "external_client_app", "id": row["Id"], "policy_row_id": cnfg["Id"],
                "developer_name": dev, "distribution_state": distribution_state,
                "local": distribution_state == "Local", "installed": True,
                "client_id": (existing or {}).get("client_id") or _new_consumer_key(),
                "client_secret": (existing or {}).get("client_secret") or secrets.token_hex(32).upper(),
                "callback_url": (existing or {}).get("callback_url") or "https://login.salesforce.com/services/"
                                                                         "oauth2/success",
                "scopes": (existing or {}).get("scopes") or ["api", "refresh_token"],
                "oauth_policy": policy, "policies": eca.default_policies(dev),
            }
            if existing is not None:
                del self._apps[existing["name"]]
            self._apps[label] = app
            self._changed()
            return self.get_external_client_app(label)

    def external_client_apps(self) -> list[dict]:
        with self.lock:
            return [self.get_external_client_app(n) for n in sorted(self._apps) if _is_eca(self._apps[n])]

    def get_external_client_app(self, name) -> dict:
        """An installed ECA without its consumer secret: name, developer_name, id, distribution_state, client_id,
        oauth_policy, policies (copies)."""
        with self.lock:
            app = self._find_app_entry(name)
            if app is None or not _is_eca(app):
                raise ApiError(404, "NOT_FOUND", f"No External Client App named {name} is installed in this org.")
            out = {k: copy.deepcopy(v) for k, v in app.items() if k != "client_secret"}
            return out

    def save_eca_component(self, name, kind, values, replace) -> list[tuple]:
        """Store the OAuth policies (``kind`` "oauth_policy") or plugin policies ("policies") of ECA ``name``.

        ``replace``: the Metadata API's update/upsert replaces the whole component, so elements left out go back to
        their defaults ([3rd] public ECA guide: "an upsert ... replaces the entire record: omitted fields ... reset
        to defaults"); a Setup save (``replace`` false) changes only the given elements. Returns the per-component
        errors (eca.validate_*); nothing is stored when there are any."""
        with self.lock:
            app = self._find_app_entry(name)
            if app is None or not _is_eca(app):
                raise ApiError(404, "NOT_FOUND", f"No External Client App named {name} is installed in this org.")
            dev = app["developer_name"]
            if replace:
                # required elements have no default to fall back on: the component must carry them [doc "Required"]
                base = eca.default_oauth_policy(dev) if kind == "oauth_policy" else eca.default_policies(dev)
                for element in eca.REQUIRED[kind]:
                    base.pop(element, None)
            else:
                base = copy.deepcopy(app[kind])
            base.update(values)
            base = {k: v for k, v in base.items() if v is not None}
            if kind == "oauth_policy":
                errors = eca.validate_oauth_policy(
                    base,
                    {(p.get("Name") or "").lower() for p in self._tables.get("PermissionSet", {}).values()
                     if not p.get("IsOwnedByProfile")},
                    {(p.get("Name") or "").lower() for p in self._tables.get("Profile", {}).values()},
                    {(u.get("Username") or "").lower() for u in self._tables.get("User", {}).values()})
            else:
                errors = eca.validate_policies(base)
            if not errors and base.get("externalClientApplication", dev).lower() != dev.lower():
                # A policies component belongs to one ECA [infer: its fullName is derived from the ECA]
                errors = [("FIELD_INTEGRITY_EXCEPTION", "externalClientApplication must be %s" % dev,
                           ["externalClientApplication"])]
            if errors:
                return errors
            base["externalClientApplication"] = dev
            app[kind] = base
            if kind == "oauth_policy":
                row = self._tables.get("ExtlClntAppOauthPlcyCnfg", {}).get(app.get("policy_row_id") or "")
                if row is not None:
                    row["PermittedUsersPolicyType"] = base.get("permittedUsersPolicyType") or eca.SELF_AUTHORIZED
                    row["LastModifiedDate"] = row["SystemModstamp"] = self._now()
            self._changed()
            return []

    def eca_oauth_enabled(self, name) -> bool:
        """False when the ECA's plugin policies switch all plugins (isEnabled) or the OAuth plugin off [doc
        ExtlClntAppConfigurablePolicies]."""
        with self.lock:
            app = self._find_app_entry(name)
            pol = (app or {}).get("policies") or {}
            return bool(app) and pol.get("isEnabled", True) is not False and \
                pol.get("isOauthPluginEnabled", True) is not False

    def _eca_lets_in(self, app, user_id) -> bool:
        user = self._tables.get("User", {}).get(user_id or "")
        if user is None:
            return False
        pol = app.get("oauth_policy") or {}
        wanted = {n.strip().lower() for n in (pol.get("commaSeparatedPermissionSet") or "").split(",") if n.strip()}
        held = {(self._tables["PermissionSet"].get(p) or {}).get("Name", "").lower() for p in self._user_ps_ids(user_id)}
        if wanted & held:
            return True
        profiles = {n.strip().lower() for n in (pol.get("commaSeparatedProfile") or "").split(",") if n.strip()}
        profile = (self._profile(user.get("ProfileId")) or {}).get("Name") or ""
        return profile.lower() in profiles

    def _find_app_entry(self, name):
        """The app (either kind) of that name, matched case-insensitively like Setup names, or None."""
        app = self._apps.get(name)
        if app is None:
            app = next((a for k, a in self._apps.items() if k.lower() == str(name).lower()), None)
        return app

    # ================================================================================================================
    # OAuth grants: OauthToken rows and User.LastLoginDate (oauth.py calls these on every token issued)
    # ================================================================================================================
    def record_oauth_grant(self, user_id, app_name, row_id=None, login=True) -> str:
        """Count one token grant of ``app_name`` to ``user_id`` and return the OauthToken row id.

        ``row_id`` None creates a row (a new authorization: OBJREF OauthToken "Each time that a user grants access to
        an application, the application obtains a new access token" [doc]); otherwise that row's UseCount goes up by
        one and LastUsedDate becomes now (UseCount "How often the token has been used" [doc]; counting token grants
        and refreshes as uses [infer]). ``login``: the grant is a login of the user (User.LastLoginDate, "the date
        and time when the user last successfully logged in" [doc OBJREF User]); a refresh is not [infer]."""
        with self.lock:
            now = self._now()
            uid = ids.normalize_id(user_id)
            row = self._tables.get("OauthToken", {}).get(row_id or "")
            if row is None:
                row = self._insert_raw("OauthToken", {"AppName": app_name, "UserId": uid, "UseCount": 0,
                                                      "LastUsedDate": None, "RequestToken": None,
                                                      "AccessToken": None}, uid)
                row["DeleteToken"] = self.delete_token_for(row["Id"])
            row["UseCount"] = int(row.get("UseCount") or 0) + 1
            row["LastUsedDate"] = now
            user = self._tables.get("User", {}).get(uid or "")
            if login and user is not None:
                user["LastLoginDate"] = now  # a login is not a record edit: LastModifiedDate stays [infer]
            self._changed()
            return row["Id"]

    def delete_token_for(self, row_id) -> str:
        """DeleteToken of an OauthToken row: "A token that can be used to delete this token with the revoke OAuth
        token endpoint" [doc]. Derived from the org's secret so that the seed stays deterministic [infer format]."""
        mac = hmac.new((self.credentials.get("client_secret") or self.org_id).encode(), row_id.encode(),
                       hashlib.sha256).hexdigest()
        return "DT" + mac[:62]

    def oauth_token_by_delete_token(self, token) -> dict | None:
        with self.lock:
            return next((dict(r) for r in self._tables.get("OauthToken", {}).values()
                         if token and r.get("DeleteToken") and hmac.compare_digest(r["DeleteToken"], token)), None)

    def remove_oauth_token(self, row_id) -> bool:
        """The revocation of one OauthToken row (the caller ends its sessions). Gone at once, not in the recycle bin:
        a setup record [infer, as other setup rows]."""
        with self.lock:
            row = self._tables.get("OauthToken", {}).pop(row_id or "", None)
            if row is not None:
                self._changed()
            return row is not None

    # ================================================================================================================
    # passwords
    # ================================================================================================================
    def set_password(self, user_id, password) -> None:
        with self.lock:
            uid = ids.normalize_id(user_id)
            user = self._tables.get("User", {}).get(uid or "")
            if user is None:
                raise ApiError(404, "NOT_FOUND", NOT_FOUND_MSG)
            self._passwords[uid] = _hash_password(password)
            user["LastPasswordChangeDate"] = self._now()
            self._changed()

    def check_password(self, user_id, password) -> bool:
        with self.lock:
            stored = self._passwords.get(ids.normalize_id(user_id) or "")
            return bool(stored) and isinstance(password, str) and _check_hash(stored, password)

    def _admin_id(self):
        uname = f"admin@{self.alias}.sfemu.example"
        for u in self._tables.get("User", {}).values():
            if u.get("Username") == uname:
                return u["Id"]
        return None

    def user_by_username(self, username):
        with self.lock:
            for u in self._tables.get("User", {}).values():
                if (u.get("Username") or "").lower() == str(username).lower():
                    return u
            return None

    # ================================================================================================================
    # raw insert (seed and internal side effects: no rules)
    # ================================================================================================================
    def _insert_raw(self, name, values, user_id=None) -> dict:
        odef = self.catalog.object_def(name)
        row = self._new_row(odef, dict(values), user_id)
        self._store(odef.name, row)
        return row

    # ================================================================================================================
    # transactions and persistence
    # ================================================================================================================
    def snapshot(self):
        """State for ``restore`` (allOrNone). Rows are flat dicts of immutable values, so a two-level copy suffices."""
        with self.lock:
            return {
                "tables": {k: {i: dict(r) for i, r in t.items()} for k, t in self._tables.items()},
                "deleted": {k: {i: dict(r) for i, r in t.items()} for k, t in self._deleted.items()},
                "counter": self._counter,
                "autonum": dict(self._autonum),
                "apps": copy.deepcopy(self._apps),
                "passwords": dict(self._passwords),
            }

    def restore(self, snap) -> None:
        with self.lock:
            self._tables = {k: {i: dict(r) for i, r in t.items()} for k, t in snap["tables"].items()}
            self._deleted = {k: {i: dict(r) for i, r in t.items()} for k, t in snap["deleted"].items()}
            # Ids are never reused, even after a rollback (Salesforce never hands out an id twice [infer]).
            self._counter = max(self._counter, snap["counter"])
            self._autonum = dict(snap["autonum"])
            self._apps = copy.deepcopy(snap["apps"])
            self._passwords = dict(snap["passwords"])
            self.emulator._reindex_org(self)
            self._changed()

    @contextlib.contextmanager
    def batch(self):
        """Group writes: the org file is written once, when the outermost batch ends."""
        with self.lock:
            self._batch_depth += 1
            try:
                yield self
            finally:
                self._batch_depth -= 1
                if self._batch_depth == 0 and self._dirty:
                    self.save()

    def _changed(self):
        self._dirty = True
        if self._batch_depth == 0 and self.emulator.autosave:
            self.save()

    def _state(self) -> dict:
        tables = {}
        for name, rows in self._tables.items():
            if name in ("PermissionSet", "Profile"):
                # Permissions* are ~800 booleans per row; keep only the true ones on disk. The sparse form is cached
                # per row object (updates replace the row dict, so identity tells whether it changed).
                rows_out = []
                for r in rows.values():
                    hit = self._sparse_cache.get(r["Id"])
                    if hit is None or hit[0] is not r:
                        perms = _perm_keys(self.catalog, name)
                        hit = (r, {k: v for k, v in r.items() if v is not False or k not in perms})
                        self._sparse_cache[r["Id"]] = hit
                    rows_out.append(hit[1])
            else:
                rows_out = list(rows.values())
            tables[name] = rows_out
        return {
            "format": STATE_FORMAT,
            "alias": self.alias,
            "seq": self.seq,
            "org_id": self.org_id,
            "counter": self._counter,
            "autonum": self._autonum,
            "tables": tables,
            "deleted": {k: list(v.values()) for k, v in self._deleted.items()},
            "apps": self._apps,
            "passwords": self._passwords,
            "credentials": self.credentials,
            "meta": self.meta,
        }

    def save(self) -> None:
        with self.lock:
            data = json.dumps(self._state(), separators=(",", ":"), sort_keys=False)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            # The file holds credentials: owner-only permissions.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(data)
                fh.flush()
                if self.emulator.fsync:
                    os.fsync(fh.fileno())
            os.replace(tmp, self.path)  # atomic: readers see the old or the new file, never half of one
            self._dirty = False

    def _load(self, state: dict) -> None:
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"{self.path}: unsupported state format {state.get('format')!r}")
        self.org_id = state["org_id"]
        self._counter = state["counter"]
        self._autonum = dict(state.get("autonum") or {})
        perm_fields = {}
        for name in ("PermissionSet", "Profile"):
            perm_fields[name] = [f.name for f in self.catalog.object_def(name).fields
                                 if f.name.startswith("Permissions")]
        self._tables = {}
        for name, rows in state["tables"].items():
            t = self._tables.setdefault(name, {})
            for r in rows:
                if name in perm_fields:
                    full = dict.fromkeys(perm_fields[name], False)
                    full.update(r)
                    r = full
                t[r["Id"]] = r
        self._deleted = {name: {r["Id"]: r for r in rows} for name, rows in (state.get("deleted") or {}).items()}
        self._apps = state.get("apps") or {}
        self._passwords = state.get("passwords") or {}
        self.credentials = state.get("credentials") or {}
        self.meta = state.get("meta") or {}

    def reset(self) -> None:
        """Back to the seeded state. Credentials (admin password, client id/secret) survive; meta (sessions, tokens)
        goes back to what the seed put there."""
        from . import seed

        with self.lock:
            old = self._tables.get("User", {})
            self.emulator._forget_usernames(self.alias, [u.get("Username") for u in old.values()])
            seed.seed_org(self, keep_credentials=True)
            self.emulator._reindex_org(self)
            self._changed()


def _perm_keys(catalog, name) -> frozenset:
    keys = catalog.__dict__.setdefault("_perm_keys", {})
    if name not in keys:
        keys[name] = frozenset(f.name for f in catalog.object_def(name).fields if f.name.startswith("Permissions"))
    return keys[name]


def _row_plan(odef):
    """(defaults, auto-number fields, formula fields) of an object, computed once per ObjectDef."""
    plan = getattr(odef, "_row_plan", None)
    if plan is None:
        defaults = {}
        for f in odef.fields:
            if f.default is not None:
                defaults[f.name] = f.default
            elif f.type == "boolean" and not f.nillable:
                defaults[f.name] = False  # checkboxes are never null
        plan = (defaults, [f for f in odef.fields if f.auto_number], [f for f in odef.fields if f.compute])
        odef._row_plan = plan
    return plan


def _format_auto_number(fmt: str, n: int) -> str:
    m = re.search(r"\{(0+)\}", fmt)
    if not m:
        return f"{fmt}{n}"
    return fmt[:m.start()] + str(n).zfill(len(m.group(1))) + fmt[m.end():]


def _normalise_datetime(val: str) -> str:
    """Store datetimes in Salesforce's output form 2026-01-05T10:00:00.000+0000 (UTC)."""
    s = val.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", s):
        s = s[:-2] + ":" + s[-2:]
    try:
        t = _dt.datetime.fromisoformat(s)
    except ValueError:
        raise ApiError(400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of datetime from VALUE_STRING value "
                                                 f"{val}", []) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.timezone.utc)
    t = t.astimezone(_dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d+0000" % (t.microsecond // 1000)


class Emulator:
    """All hosted orgs, the global username index, persistence in ``data_dir``."""

    def __init__(self, data_dir: pathlib.Path, orgs: int = 1, settings: dict | None = None):
        from . import seed

        self.data_dir = pathlib.Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.settings = dict(settings or {})
        self.catalog = Catalog(self.settings)
        # fsync each save (crash safety) unless the caller opts out (benchmarks, tests with many orgs)
        self.fsync = bool(self.settings.get("fsync", True))
        self.autosave = bool(self.settings.get("autosave", True))
        # setup writes need the acting user's system permission (see _WRITE_PERMISSION); on unless switched off
        self.enforce_user_permissions = bool(self.settings.get("enforce_user_permissions", True))
        self._ulock = threading.Lock()
        self._usernames: dict[str, str] = {}  # lower-case username -> alias
        self.orgs: dict[str, Org] = {}
        count = int(orgs)
        if count < 1 or count > 3843:
            raise ValueError("orgs must be between 1 and 3843")  # ids.new_id org_seq range
        for n in range(1, count + 1):
            alias = f"org{n}"
            org = Org(self, alias, n, self.data_dir / f"{alias}.json")
            if org.path.exists():
                with open(org.path, encoding="utf-8") as fh:
                    org._load(json.load(fh))
            else:
                seed.seed_org(org, keep_credentials=False)
                org.save()
            self.orgs[alias] = org
            self._reindex_org(org)
        self._by_org_id = {o.org_id: o for o in self.orgs.values()}

    def org_by_id(self, org_id):
        norm = ids.normalize_id(org_id)
        return self._by_org_id.get(norm) if norm else None

    def find_user(self, username):
        if not isinstance(username, str):
            return None
        with self._ulock:
            alias = self._usernames.get(username.lower())
        if alias is None:
            return None
        org = self.orgs[alias]
        user = org.user_by_username(username)
        return (org, user) if user is not None else None

    def reset(self) -> None:
        for org in self.orgs.values():
            org.reset()

    # -- username index ------------------------------------------------------------------------------------------
    def _claim_username(self, new, old, alias):
        """Reserve ``new`` for ``alias`` (releasing ``old``); DUPLICATE_USERNAME if another user has it anywhere."""
        key = new.lower()
        with self._ulock:
            owner = self._usernames.get(key)
            if owner is not None and not (owner == alias and old is not None and old.lower() == key):
                # ref 5 [doc help 000381924]: usernames are unique across all Salesforce orgs
                raise ApiError(400, "DUPLICATE_USERNAME",
                               "Duplicate Username.<br>The username already exists in this or another Salesforce "
                               "organization. Usernames must be unique across all Salesforce organizations. To "
                               "resolve, use a different username (it doesn't need to match the user's email "
                               "address). ", ["Username"])
            if old is not None and self._usernames.get(old.lower()) == alias:
                del self._usernames[old.lower()]
            self._usernames[key] = alias

    def _reindex_org(self, org):
        with self._ulock:
            for k in [k for k, a in self._usernames.items() if a == org.alias]:
                del self._usernames[k]
            for u in org._tables.get("User", {}).values():
                if u.get("Username"):
                    self._usernames[u["Username"].lower()] = org.alias

    def _forget_usernames(self, alias, names):
        with self._ulock:
            for n in names:
                if n and self._usernames.get(n.lower()) == alias:
                    del self._usernames[n.lower()]

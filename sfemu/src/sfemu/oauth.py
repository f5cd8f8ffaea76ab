"""OAuth 2.0 endpoints of the emulator: /services/oauth2/{token,userinfo,revoke}, the identity URL /id/ORG/USER,
and the sessions (access tokens) every other endpoint checks.

Sources (ref = /work/shared/reference/salesforce-api.md):
- token endpoint, flows, success body, JWT claims: ref §7.6; Salesforce Help "OAuth 2.0 JWT Bearer Flow for
  Server-to-Server Integration" (remoteaccess_oauth_jwt_flow), "OAuth 2.0 Client Credentials Flow"
  (remoteaccess_oauth_client_credentials_flow), "OAuth 2.0 Username-Password Flow" (remoteaccess_oauth_username_
  password_flow: "No refresh token is issued"), "OAuth 2.0 Refresh Token Flow" (remoteaccess_oauth_refresh_token_flow),
  "Revoke OAuth Tokens" (remoteaccess_revoke_token), "Identity URLs" (remoteaccess_using_openid / identity URL
  error codes), "OpenID Connect UserInfo endpoint".
- error strings quoted by third parties (each marked at its use): restforce#303 ("inactive user"),
  salesforce.stackexchange.com/q/282513 ("expired authorization code" for an expired JWT), omniphx/forrest#278
  ("user hasn't approved this consumer"), frankkessler/salesforce-laravel-oauth2-rest#68 ("invalid assertion"),
  salesforcedictionary.com/errors/invalid-oauth-grant ("expired access/refresh token", "user is locked").

State lives in ``org.meta["oauth"]`` (persisted with the org, so a restart keeps sessions):
``{"app": {...the sfops Automation OAuth credentials...}, "sessions": {token: {...}}, "refresh": {token: {...}},
"approved": {user_id: [client_id, ...]}, "codes": {code: {...}}, "grants": {"user_id:client_id": OauthToken id}}``.
Connected apps and External Client Apps (consumer key/secret, policy, access), passwords and the OauthToken rows
belong to org.py (``find_connected_app``, ``user_has_app_access``, ``check_password``, ``record_oauth_grant``).
Tokens never appear in logs.

OauthToken rows (OBJREF OauthToken [doc]; sfemu/docs/rules.md "OAuth tokens"): a grant that issues a refresh token
(authorization code) is a new authorization and gets its own row, which its refreshes count; grants without a refresh
token (JWT bearer, client credentials, password) count on one row per user and app [infer]. Sessions and refresh
tokens remember their row, so revoking a refresh token or a row's DeleteToken ends all of them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import math
import pathlib
import secrets
import string
import threading
import time
import urllib.parse

import jwt as pyjwt

from sfemu import ids

log = logging.getLogger("sfemu.oauth")

APP_NAME = "sfops Automation"  # seeded connected app (sfemu/docs/internals.md "Seeded orgs")
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
PUBLIC_LOGIN_HOSTS = ("https://login.salesforce.com", "https://test.salesforce.com")
# JWT time claims (sfemu/docs/rules.md "OAuth: JWT bearer time claims"). Help remoteaccess_oauth_jwt_flow asks for
# an exp "within 3 minutes" but states no tolerance; RFC 7523 §3 lets the server reject a passed exp "subject to
# allowable clock skew". Observed clients bound it: CumulusCI's jwt_session (SFDO-Tooling/CumulusCI@598cda5
# cumulusci/oauth/salesforce.py, unchanged since 465759eff, 2019) signs exp = the current second and works against
# real orgs, so some leeway exists; simple-salesforce#371/#491 show an exp ~2 h in the past refused with "expired
# authorization code", so it is far below hours. The exact value is undocumented: 3 minutes, the doc's own unit and
# within RFC 7519 §4.1.4's "no more than a few minutes" [infer].
JWT_CLOCK_SKEW = 180
_TOKEN_CHARS = string.ascii_letters + string.digits + "._"


class OAuthError(Exception):
    """400 {"error","error_description"} from the token endpoint (ref §7.6)."""

    def __init__(self, error, description, status=400):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def _now():
    return time.time()


def _soql_str(value):
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _numeric_date(value):
    """Seconds since the epoch from a JWT NumericDate (RFC 7519 §2), or from the decimal string simple-salesforce
    sends; None for anything else (bool, NaN and infinity included)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        seconds = float(value)
    except (ValueError, OverflowError):
        return None
    return seconds if math.isfinite(seconds) else None


def new_access_token(org_id):
    # Shape of real tokens: "00Dx0000000BV7z!AR8AQAxo9UfVkh8AlV0Gomt9Czx9LjHnSSpwBMmbRcgKFmxOtvxjTrKW19ye6PE3Ds1eQz3z8jr3W7_
    # VbWmEu4Q8TVGSTHxs" (REST API guide username-password example; ref §7.6): 15-char org id, '!', opaque text.
    return org_id[:15] + "!AQ" + "".join(secrets.choice(_TOKEN_CHARS) for _ in range(94))


def new_refresh_token():
    # Real refresh tokens look like "5Aep861TSESvWeug_xvFHRBTTbf_YrTWgEyjBJrqEf..." (REST API guide web-server flow
    # example) [doc]
    return "5Aep861" + "".join(secrets.choice(string.ascii_letters + string.digits + "._") for _ in range(80))


def new_client_id():
    # Consumer keys start with "3MVG9" (every example in the OAuth docs) [doc]
    return "3MVG9" + "".join(secrets.choice(string.ascii_letters + string.digits + "._") for _ in range(80))


def new_password():
    alphabet = string.ascii_letters + string.digits
    return "Sfemu-" + "".join(secrets.choice(alphabet) for _ in range(16)) + "9!"


class OAuth:
    def __init__(self, app):
        self.app = app
        self._lock = threading.Lock()
        self._client_index = {}  # client_id -> alias
        self._seed = {}  # alias -> dict(refresh_token=...) that survives /__sfemu/reset (connections.json)

    # ------------------------------------------------------------------------------------------------------
    # per-org preparation: OAuth credentials of the seeded app, JWT key pair, admin password

    def state(self, org):
        st = org.meta.get("oauth")
        if not isinstance(st, dict):
            st = org.meta["oauth"] = {}
        for k in ("sessions", "refresh", "approved", "codes", "grants"):
            if not isinstance(st.get(k), dict):
                st[k] = {}
        return st

    def prepare_orgs(self):
        """Per org: the JWT key pair whose certificate is on the seeded app (DIR/keys/<alias>.key|.crt), the
        client_id index, and a refresh token for the admin (listed in connections.json; it stands for an earlier
        web-server-flow consent). Orgs whose state changed are saved once."""
        keys = self._org_keys()
        index = {}
        for alias, org in self.app.emulator.orgs.items():
            key_file, cert_pem = keys[alias]
            with org.lock:
                st = self.state(org)
                before = (org.meta.get("jwt_cert_pem"), st.get("private_key_file"), st.get("admin_refresh_token"))
                org.meta["jwt_cert_pem"] = cert_pem
                st["private_key_file"] = key_file
                for app in org.oauth_clients():
                    if app.get("client_id"):
                        index[app["client_id"]] = alias
                admin = self._admin(org)
                if admin is not None:
                    cid = org.credentials.get("client_id")
                    seed = self._seed.get(alias) or {}
                    rt = seed.get("refresh_token") or st.get("admin_refresh_token")
                    if not rt or rt not in st["refresh"]:
                        rt = rt or new_refresh_token()
                        st["refresh"][rt] = {"user_id": admin["Id"], "client_id": cid, "issued": _now()}
                    st["admin_refresh_token"] = rt
                    self._seed[alias] = {"refresh_token": rt}
                if before != (cert_pem, key_file, st.get("admin_refresh_token")):
                    org.save()
        self._client_index = index

    def _org_keys(self):
        """alias -> (private_key_file, certificate_pem). Each org has its own files under DIR/keys/. RSA-2048
        generation costs 0.1-1 s per key, so at most ``jwt_key_count`` distinct key pairs are generated (in
        parallel) and orgs beyond that reuse them round-robin (org k and org k+count share a key pair; every org
        still has its own consumer key, certificate upload and users, so JWTs never cross orgs). Existing per-org
        files are reused on restart."""
        import shutil  # noqa: PLC0415

        from sfemu import tls  # noqa: PLC0415

        keys_dir = pathlib.Path(self.app.data_dir) / "keys"
        keys_dir.mkdir(parents=True, exist_ok=True)
        aliases = list(self.app.emulator.orgs)
        count = max(1, min(len(aliases), int(self.app.jwt_key_count or len(aliases))))
        missing = [a for a in aliases if not ((keys_dir / (a + ".key")).exists() and
                                              (keys_dir / (a + ".crt")).exists())]
        if missing:
            pool = tls.ensure_jwt_keypairs([keys_dir / ("pool-%d" % i) for i in range(count)],
                                           ["sfemu jwt %d" % i for i in range(count)])
            for a in missing:
                i = aliases.index(a) % count
                src_key = pathlib.Path(pool[i][0])
                dst_key = keys_dir / (a + ".key")
                shutil.copyfile(src_key, dst_key)
                dst_key.chmod(0o600)
                (keys_dir / (a + ".crt")).write_text(pool[i][1])
        pairs = [tls.ensure_jwt_keypair(keys_dir / a, common_name="sfemu %s" % a) for a in aliases]
        return dict(zip(aliases, pairs))

    def _admin(self, org):
        uname = org.credentials.get("username") or "admin@%s.sfemu.example" % org.alias  # design.md "Seeded orgs"
        found = self.app.emulator.find_user(uname)
        return found[1] if found and found[0] is org else None

    def connection_info(self, org):
        """Fields of connections.json that come from the org's credentials and OAuth state."""
        st = self.state(org)
        creds = org.credentials
        return {
            "username": creds.get("username"),
            "password": creds.get("password"),
            "client_id": creds.get("client_id"),
            "client_secret": creds.get("client_secret"),
            "private_key_file": st.get("private_key_file"),
            "refresh_token": st.get("admin_refresh_token"),
        }

    def index_client(self, org, client_id):
        """Make a consumer key created after start (an External Client App installed by the control API) known to
        the token endpoint."""
        if client_id:
            self._client_index[client_id] = org.alias

    def app_for_client(self, client_id):
        """(org, app dict with secret) of a consumer key, or (None, None)."""
        alias = self._client_index.get(client_id or "")
        org = self.app.emulator.orgs.get(alias) if alias else None
        if org is None:
            return None, None
        app = org.find_connected_app(client_id)
        return (org, app) if app else (None, None)

    def org_of_token_request(self, raw):
        """The org a token/revoke request is about (client_id, JWT iss, or the token being revoked), or None."""
        try:
            p = {k: v[0] for k, v in urllib.parse.parse_qs((raw or b"").decode("utf-8", "replace")).items()}
        except ValueError:
            return None
        cid = p.get("client_id")
        if not cid and p.get("assertion"):
            try:
                cid = pyjwt.decode(p["assertion"], options={"verify_signature": False}).get("iss")
            except pyjwt.PyJWTError:
                cid = None
        if cid:
            return self.app_for_client(cid)[0]
        return self.app.org_for_token(p.get("token"))

    # ------------------------------------------------------------------------------------------------------
    # sessions

    def issue(self, org, user_id, client_id, scope="api id web", refresh=False, refreshed=None):
        """New access token (and refresh token when ``refresh``); returns the token endpoint body. ``refreshed``: the
        refresh token this grant came from (refresh token flow). Counts the grant on its OauthToken row and, unless
        it is a refresh, as a login of the user (org.record_oauth_grant)."""
        st = self.state(org)
        now = _now()
        token = new_access_token(org.org_id)
        timeout = self.app.session_timeout
        app = org.find_connected_app(client_id) or {}
        # one org file write for the session and the OauthToken row together
        with org.lock, org.batch():
            sessions = st["sessions"]
            # Drop expired sessions so the persisted state does not grow without bound.
            for t in [t for t, s in sessions.items() if s.get("expires", 0) < now]:
                del sessions[t]
            sess = {"user_id": user_id, "client_id": client_id, "issued": now, "expires": now + timeout,
                    "scope": scope}
            rt = None
            if refresh:
                rt = new_refresh_token()
                row_id = org.record_oauth_grant(user_id, app.get("name") or "")
                st["refresh"][rt] = {"user_id": user_id, "client_id": client_id, "issued": now, "row_id": row_id}
                sess["refresh"] = rt
            elif refreshed:
                entry = st["refresh"][refreshed]
                row_id = entry["row_id"] = org.record_oauth_grant(user_id, app.get("name") or "", entry.get("row_id"),
                                                                  login=False)
                sess["refresh"] = refreshed
            else:
                key = "%s:%s" % (user_id, client_id)
                row_id = st["grants"][key] = org.record_oauth_grant(user_id, app.get("name") or "",
                                                                    st["grants"].get(key))
            sess["row_id"] = row_id
            sessions[token] = sess
            org.save()
        issued_at = str(int(now * 1000))
        base = self.app.base_url
        ident = "%s/id/%s/%s" % (base, org.org_id, user_id)
        secret = (app.get("client_secret") or "").encode("utf-8")
        # signature = Base64(HMAC-SHA256(client_secret, id + issued_at)) (OAuth docs, token response "signature")
        sig = base64.b64encode(hmac.new(secret, (ident + issued_at).encode("utf-8"), hashlib.sha256).digest())
        body = {"access_token": token}
        if rt:
            body["refresh_token"] = rt
        body.update({"signature": sig.decode("ascii"), "scope": scope, "instance_url": base, "id": ident,
                     "token_type": "Bearer", "issued_at": issued_at})
        return body

    def session_for(self, org, token):
        """The live session of ``token`` or None. Activity in the second half of the timeout extends it, like
        Salesforce's session timeout (Help "Session Security Settings": the timeout resets when the user is active
        after half of it has passed) [doc]."""
        if org is None:
            return None
        st = self.state(org)
        sess = st["sessions"].get(token)
        if sess is None:
            return None
        now = _now()
        if sess.get("expires", 0) <= now:
            with org.lock:
                st["sessions"].pop(token, None)
            return None
        if sess["expires"] - now < self.app.session_timeout / 2:
            sess["expires"] = now + self.app.session_timeout  # persisted with the next save
        return sess

    def kill_session(self, org, token):
        with org.lock:
            self.state(org)["sessions"].pop(token, None)
            org.save()

    # ------------------------------------------------------------------------------------------------------
    # HTTP

    def handle(self, method, path, query, headers, raw):
        from sfemu.server import Response  # noqa: PLC0415

        try:
            if path.startswith("/id/"):
                return self._identity(method, path, headers)
            name = path[len("/services/oauth2/"):].strip("/")
            if name == "token":
                return self._token(method, query, headers, raw)
            if name == "userinfo":
                return self._userinfo(headers)
            if name == "revoke":
                return self._revoke(method, query, headers, raw)
            # other OAuth endpoints (authorize, introspect...) are not emulated [infer: 404 page]
            return Response(404, raw=b"Not Found", content_type="text/plain;charset=UTF-8")
        except OAuthError as exc:
            return Response(exc.status, {"error": exc.error, "error_description": exc.description})

    def _form(self, query, headers, raw):
        ctype = (headers.get("Content-Type") or "").lower()
        params = {k: v[0] for k, v in query.items()}
        if raw:
            if "json" in ctype:
                # The token endpoint reads form fields only [doc: "application/x-www-form-urlencoded"]
                raise OAuthError("invalid_request", "invalid content type")  # [infer] wording
            try:
                body = urllib.parse.parse_qs(raw.decode("utf-8"), keep_blank_values=True)
            except UnicodeDecodeError:
                raise OAuthError("invalid_request", "invalid request body") from None
            params.update({k: v[0] for k, v in body.items()})
        return params

    def _count(self, org):
        if org is not None:
            self.app.stats.token(org.alias)

    def _token(self, method, query, headers, raw):
        from sfemu.server import Response  # noqa: PLC0415

        if method != "POST":
            raise OAuthError("invalid_request", "must use HTTP POST")  # [3rd: common client logs]
        p = self._form(query, headers, raw)
        grant = p.get("grant_type")
        if not grant:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        if "scope" in p:
            raise OAuthError("invalid_request", "scope parameter not supported")  # ref §7.6 [3rd]
        if grant == JWT_BEARER:
            org, body = self._jwt(p)
        elif grant == "client_credentials":
            org, body = self._client_credentials(p, headers)
        elif grant == "password":
            org, body = self._password(p)
        elif grant == "refresh_token":
            org, body = self._refresh(p)
        elif grant == "authorization_code":
            org, body = self._auth_code(p)
        else:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        return Response(200, body)

    # flows -----------------------------------------------------------------------------------------------
    def _client(self, client_id, secret=None, need_secret=True):
        org, app = self.app_for_client(client_id)
        if org is None:
            raise OAuthError("invalid_client_id", "client identifier invalid")  # ref §7.6
        self._count(org)
        if need_secret and not hmac.compare_digest((secret or "").encode(), app["client_secret"].encode()):
            # wrong consumer secret: invalid_client "invalid client credentials" [3rd salesforcedictionary]
            raise OAuthError("invalid_client", "invalid client credentials")
        return org, app

    def _user_ok(self, org, user, who_failed="authentication failure"):
        if user is None:
            raise OAuthError("invalid_grant", who_failed)
        if not user.get("IsActive", True):
            raise OAuthError("invalid_grant", "inactive user")  # [3rd restforce#303]
        if self._is_frozen(org, user["Id"]):
            # Frozen users can't log in (Help "Freeze or Unfreeze User Accounts"); token error text [infer]
            raise OAuthError("invalid_grant", "user is frozen")

    def _is_frozen(self, org, user_id):
        try:
            _, recs = org.query("SELECT IsFrozen FROM UserLogin WHERE UserId = %s" % _soql_str(user_id), "67.0")
        except Exception:  # noqa: BLE001 - schema without UserLogin
            return False
        return bool(recs and recs[0].get("IsFrozen"))

    def _find_user(self, org, username):
        found = self.app.emulator.find_user(username or "")
        if not found or found[0] is not org:
            return None
        return found[1]

    def _can_use_uninstalled(self, org, user_id):
        """Since September 2025 an uninstalled connected app can only be used by users with "Approve Uninstalled
        Connected Apps" (Help 005132365; ref §1.2, §6.3). The permission is PermissionsCanApproveUninstalledApps
        where the API version exposes it; otherwise the System Administrator profile has it [doc: auto-assigned to
        that standard profile]."""
        try:
            _, recs = org.query("SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = %s AND "
                                "PermissionSet.PermissionsCanApproveUninstalledApps = true" % _soql_str(user_id),
                                "68.0")
            return bool(recs)
        except Exception:  # noqa: BLE001 - field not exposed at any version in this configuration
            found = org.row_by_id(user_id)
            prof = org.row_by_id(found[1].get("ProfileId") or "") if found else None
            return bool(prof and prof[1].get("Name") == "System Administrator")

    def _authorize(self, org, app, user, flow):
        """Connected-app policy (ref §6.2, §7.6): admin-approved apps need profile/permission-set access
        (invalid_app_access "user is not admin approved to access this app"); self-authorize apps need the user's
        earlier approval for JWT (invalid_grant "user hasn't approved this consumer"); interactive-equivalent flows
        (password, authorization code) record the approval. Uninstalled apps: invalid_client "app must be installed
        into org" for users without the permission to approve uninstalled apps (ref §6.3 [3rd])."""
        st = self.state(org)
        if not app.get("installed"):
            if not self._can_use_uninstalled(org, user["Id"]):
                raise OAuthError("invalid_client", "app must be installed into org")
        elif self._admin_approved(app):
            self._check_admin_approval(org, app, user)
            return
        approved = st["approved"].setdefault(user["Id"], [])
        if flow == "jwt" and app["client_id"] not in approved:
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")
        if app["client_id"] not in approved:
            with org.lock:
                approved.append(app["client_id"])

    @staticmethod
    def _admin_approved(app):
        """Connected app: "Admin approved users are pre-authorized" (isAdminApproved); External Client App:
        permittedUsersPolicyType AdminApprovedPreAuthorized [doc ExtlClntAppOauthConfigurablePolicies]."""
        if app.get("kind") == "external_client_app":
            return (app.get("oauth_policy") or {}).get("permittedUsersPolicyType") == "AdminApprovedPreAuthorized"
        return bool(app.get("is_admin_approved"))

    @staticmethod
    def _check_admin_approval(org, app, user):
        # Same error for both kinds: invalid_app_access "user is not admin approved to access this app" (ref §7.6
        # [3rd] for connected apps; the ECA policy is the same Setup choice "Admin approved users are
        # pre-authorized" [infer: same error])
        if not org.user_has_app_access(user["Id"], app["name"]):
            raise OAuthError("invalid_app_access", "user is not admin approved to access this app")

    def _client_app(self, org, app):
        """An External Client App whose plugin policies switch OAuth off no longer answers to its consumer key
        [infer: invalid_client_id "client identifier invalid"]."""
        if app.get("kind") == "external_client_app" and not org.eca_oauth_enabled(app["name"]):
            raise OAuthError("invalid_client_id", "client identifier invalid")

    def _jwt(self, p):
        assertion = p.get("assertion")
        if not assertion:
            raise OAuthError("invalid_grant", "invalid assertion")
        try:
            header = pyjwt.get_unverified_header(assertion)
            claims = pyjwt.decode(assertion, options={"verify_signature": False})
        except pyjwt.PyJWTError:
            raise OAuthError("invalid_grant", "invalid assertion") from None  # [3rd laravel-oauth2-rest#68]
        org, app = self._client(claims.get("iss"), need_secret=False)
        self._client_app(org, app)
        if header.get("alg") != "RS256":
            # Only RS256 is accepted (Help remoteaccess_oauth_jwt_flow: "sign the JWT with RSA SHA256") [doc]
            raise OAuthError("invalid_grant", "invalid assertion")
        from sfemu import tls  # noqa: PLC0415

        # The certificate uploaded to the app ("Use digital signatures"); the seeded local app carries the one
        # whose key is in connections.json. An app without a certificate cannot use the JWT flow.
        cert = app.get("certificate") or (org.meta.get("jwt_cert_pem") if app.get("local") else None)
        try:
            if not cert:
                raise ValueError("no certificate")
            key = tls.load_public_key_from_cert(cert)
            pyjwt.decode(assertion, key=key, algorithms=["RS256"],
                         options={"verify_aud": False, "verify_exp": False, "verify_iat": False,
                                  "verify_nbf": False})
        except (pyjwt.PyJWTError, KeyError, ValueError):
            raise OAuthError("invalid_grant", "invalid signature") from None  # [infer] wording
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        allowed = {self.app.base_url.rstrip("/"), *PUBLIC_LOGIN_HOSTS}
        if not any(isinstance(a, str) and a.rstrip("/") in allowed for a in auds):
            raise OAuthError("invalid_grant", "audience is invalid")  # ref §7.6 "audience validation" [3rd]
        self._check_jwt_times(claims)
        user = self._find_user(org, claims.get("sub"))
        self._user_ok(org, user, who_failed="user hasn't approved this consumer")  # unknown sub [infer]
        self._authorize(org, app, user, "jwt")
        # JWT bearer never returns a refresh token (ref §7.6)
        return org, self.issue(org, user["Id"], app["client_id"], scope="api id web")

    @staticmethod
    def _check_jwt_times(claims):
        """exp must not have passed (less JWT_CLOCK_SKEW); there is no upper bound: the Salesforce CLI signs
        exp = Date.now() + 300, milliseconds, about a thousand times now in seconds (forcedotcom/sfdx-core@cd4bdcb
        src/org/authInfo.ts tryJwtAuth, since ff31c88, 2017), and `sf org login jwt` works against real orgs [3rd].
        exp may be a decimal string: the Help page's own example claim set has "exp": "1333685628" [doc, as
        mirrored at gyde.ai/kb/oauth-2.0-jwt-bearer-token-flow], and simple-salesforce signs f'{timestamp:.0f}'
        (simple-salesforce@9e96476 simple_salesforce/login.py, since 400ee8b, 2019) [3rd]. nbf, when present, must
        have been reached (RFC 7523 §3 item 6) with the same skew [infer: not in Salesforce's docs]. iat is not
        checked: RFC 7523 only allows rejecting one "unreasonably far in the past" and Salesforce documents no
        such rule [infer]."""
        now = _now()
        exp = _numeric_date(claims.get("exp"))
        if exp is None or exp + JWT_CLOCK_SKEW <= now:
            raise OAuthError("invalid_grant", "expired authorization code")  # [3rd SFSE 282513, SSF#371/#491]
        if "nbf" in claims:
            nbf = _numeric_date(claims["nbf"])
            if nbf is None or nbf - JWT_CLOCK_SKEW > now:
                raise OAuthError("invalid_grant", "invalid assertion")  # [infer] wording

    def _client_credentials(self, p, headers):
        cid, secret = p.get("client_id"), p.get("client_secret")
        auth = headers.get("Authorization") or ""
        if not cid and auth.lower().startswith("basic "):
            try:
                cid, _, secret = base64.b64decode(auth[6:]).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                raise OAuthError("invalid_client", "invalid client credentials") from None
        org, app = self._client(cid, secret)
        self._client_app(org, app)
        run_as = app.get("client_credentials_user_id")
        if not run_as:
            raise OAuthError("invalid_grant", "no client credentials user enabled")  # ref §7.6 [3rd]
        found = org.row_by_id(run_as)
        user = found[1] if found else None
        self._user_ok(org, user)
        self._authorize(org, app, user, "client_credentials")
        return org, self.issue(org, user["Id"], app["client_id"], scope="api")

    def _password(self, p):
        org, app = self._client(p.get("client_id"), p.get("client_secret"))
        self._client_app(org, app)
        if app.get("kind") == "external_client_app":
            # "External client apps don't support username-password flow" (Help connected_app_to_external_client_
            # app_migration, quoted in salesforce/fack#176) [doc]; the answer is the generic invalid_grant
            # "authentication failure" (ForceCLI/force#780 adds a hint for exactly this case) [3rd]
            raise OAuthError("invalid_grant", "authentication failure")
        user = self._find_user(org, p.get("username"))
        if user is None or not org.check_password(user["Id"], p.get("password") or ""):
            raise OAuthError("invalid_grant", "authentication failure")  # [3rd jsforce#482, #1785]
        self._user_ok(org, user)
        self._authorize(org, app, user, "password")
        # "No refresh token is issued" in the username-password flow (REST API guide
        # intro_understanding_username_password_oauth_flow) [doc]
        return org, self.issue(org, user["Id"], app["client_id"], scope="api id web")

    def _refresh(self, p):
        org, app = self._client(p.get("client_id"), p.get("client_secret"),
                                need_secret=bool(p.get("client_secret")))  # secret optional (refresh flow doc)
        rt = p.get("refresh_token") or ""
        st = self.state(org)
        entry = st["refresh"].get(rt)
        if entry is None or entry.get("client_id") != app["client_id"]:
            raise OAuthError("invalid_grant", "expired access/refresh token")  # [3rd salesforcedictionary]
        found = org.row_by_id(entry["user_id"])
        user = found[1] if found else None
        self._user_ok(org, user)
        self._client_app(org, app)
        # The app's policy applies again on every refresh (admin approval revoked -> refresh fails) [infer]
        if app.get("installed") and self._admin_approved(app):
            self._check_admin_approval(org, app, user)
        return org, self.issue(org, user["Id"], app["client_id"], scope="api id web refresh_token", refreshed=rt)

    def _auth_code(self, p):
        """Codes come from the control API (POST /__sfemu/orgs/<alias>/authorize: the user clicking "Allow" in
        the web server flow). Codes are single use and expire after 15 minutes (Help remoteaccess_oauth_web_server_
        flow) [doc]."""
        org, app = self._client(p.get("client_id"), p.get("client_secret"))
        st = self.state(org)
        with org.lock:
            entry = st["codes"].pop(p.get("code") or "", None)
        if entry is None or entry["expires"] < _now():
            raise OAuthError("invalid_grant", "invalid authorization code")
        found = org.row_by_id(entry["user_id"])
        return org, self._consent(org, app, found[1] if found else None)

    def _consent(self, org, app, user):
        """The user allows ``app`` and the app redeems the code: the policy is checked and a refresh token issued."""
        self._user_ok(org, user)
        self._client_app(org, app)
        self._authorize(org, app, user, "authorization_code")
        return self.issue(org, user["Id"], app["client_id"], scope="api id web refresh_token", refresh=True)

    def authorize_app(self, org, username, app_name):
        """Control API: ``username`` authorises ``app_name`` in the web server flow and the app redeems the code
        (the whole consent, as the vendor's server would do it). Returns the token body; OAuthError when the app's
        policy refuses the user. Not counted: it is the vendor's request, not the client's under test."""
        user = self._find_user(org, username)
        if user is None:
            return None
        app = next((a for a in org.oauth_clients() if a["name"].lower() == str(app_name).lower()), None)
        if app is None:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        return self._consent(org, org.find_connected_app(app["client_id"]), user)

    def mint_code(self, org, username):
        user = self._find_user(org, username)
        if user is None:
            return None
        code = "aPrx" + secrets.token_urlsafe(48)
        with org.lock:
            self.state(org)["codes"][code] = {"user_id": user["Id"], "expires": _now() + 900}
        return code

    # userinfo / identity / revoke -------------------------------------------------------------------------
    def _bearer_session(self, headers):
        token = (headers.get("Authorization") or "").strip()
        scheme, _, token = token.partition(" ")
        token = token.strip()
        if scheme.lower() not in ("bearer", "oauth") or not token:
            return None, None, "Missing_OAuth_Token"
        org = self.app.org_for_token(token)
        sess = self.session_for(org, token) if org else None
        if sess is None:
            return None, None, "Bad_OAuth_Token"
        return org, sess, None

    def _claims(self, org, user_id):
        found = org.row_by_id(user_id)
        u = found[1] if found else {}
        ident = "%s/id/%s/%s" % (self.app.base_url, org.org_id, user_id)
        base = self.app.base_url
        return {
            "sub": ident, "user_id": user_id, "organization_id": org.org_id,
            "preferred_username": u.get("Username"), "nickname": u.get("CommunityNickname") or u.get("Alias"),
            "name": " ".join(x for x in (u.get("FirstName"), u.get("LastName")) if x) or u.get("Name"),
            "email": u.get("Email"), "email_verified": True, "given_name": u.get("FirstName"),
            "family_name": u.get("LastName"), "zoneinfo": u.get("TimeZoneSidKey"),
            "photos": {"picture": base + "/profilephoto/005/F", "thumbnail": base + "/profilephoto/005/T"},
            "profile": "%s/%s" % (base, user_id), "picture": base + "/profilephoto/005/F",
            "address": {}, "is_salesforce_integration_user": False,
            "urls": {
                "enterprise": base + "/services/Soap/c/{version}/" + org.org_id[:15],
                "metadata": base + "/services/Soap/m/{version}/" + org.org_id[:15],
                "partner": base + "/services/Soap/u/{version}/" + org.org_id[:15],
                "rest": base + "/services/data/v{version}/",
                "sobjects": base + "/services/data/v{version}/sobjects/",
                "query": base + "/services/data/v{version}/query/",
                "profile": "%s/%s" % (base, user_id),
            },
            "active": bool(u.get("IsActive", True)), "user_type": u.get("UserType") or "STANDARD",
            "language": u.get("LanguageLocaleKey"), "locale": u.get("LocaleSidKey"), "utcOffset": 0,
            "updated_at": u.get("LastModifiedDate"), "is_app_installed": True,
        }

    def _userinfo(self, headers):
        from sfemu.server import Response  # noqa: PLC0415

        org, sess, err = self._bearer_session(headers)
        if err:
            # Identity URL / userinfo error codes are plain text with 403 (Help "Identity URLs": Bad_OAuth_Token,
            # Missing_OAuth_Token ... 403 forbidden) [doc]
            return Response(403, raw=err.encode(), content_type="text/plain;charset=UTF-8")
        self._count(org)
        return Response(200, self._claims(org, sess["user_id"]))

    def _identity(self, method, path, headers):
        from sfemu.server import Response  # noqa: PLC0415

        org, sess, err = self._bearer_session(headers)
        if err:
            return Response(403, raw=err.encode(), content_type="text/plain;charset=UTF-8")
        self._count(org)
        parts = path.strip("/").split("/")
        if len(parts) != 3 or not ids.same_id(parts[1], org.org_id):
            return Response(403, raw=b"Wrong_Org", content_type="text/plain;charset=UTF-8")
        if not ids.same_id(parts[2], sess["user_id"]):
            return Response(403, raw=b"Bad_Id", content_type="text/plain;charset=UTF-8")
        c = self._claims(org, sess["user_id"])
        body = {"id": c["sub"], "asserted_user": True, "user_id": c["user_id"], "organization_id": org.org_id,
                "username": c["preferred_username"], "nick_name": c["nickname"], "display_name": c["name"],
                "email": c["email"], "email_verified": True, "first_name": c["given_name"],
                "last_name": c["family_name"], "timezone": c["zoneinfo"], "photos": c["photos"],
                "addr_street": None, "addr_city": None, "addr_state": None, "addr_country": None, "addr_zip": None,
                "mobile_phone": None, "mobile_phone_verified": False, "is_lightning_login_user": False,
                "status": {"created_date": None, "body": None}, "urls": c["urls"], "active": c["active"],
                "user_type": c["user_type"], "language": c["language"], "locale": c["locale"],
                "utcOffset": 0, "last_modified_date": c["updated_at"], "is_app_installed": True}
        return Response(200, body)

    def _revoke(self, method, query, headers, raw):
        """POST form token=... (or GET ?token=). Revoking a refresh token revokes its access tokens too; revoking
        an access token ends that session (Help remoteaccess_revoke_token) [doc]. Unknown token: 400
        unsupported_token_type "this token type is not supported" [doc example]."""
        from sfemu.server import Response  # noqa: PLC0415

        if method not in ("POST", "GET"):
            raise OAuthError("invalid_request", "must use HTTP POST")
        p = {k: v[0] for k, v in query.items()}
        if raw:
            p.update({k: v[0] for k, v in urllib.parse.parse_qs(raw.decode("utf-8", "replace")).items()})
        token = p.get("token") or ""
        ok = Response(200, raw=b"", content_type="text/plain;charset=UTF-8")
        org = self.app.org_for_token(token)
        if org is not None:
            st = self.state(org)
            with org.lock:
                found = st["sessions"].pop(token, None)
                org.save()
            self._count(org)
            if found is not None:
                # An access token ends only its own session; the authorization (OauthToken row, refresh token)
                # stays (Help remoteaccess_revoke_token: a refresh token takes its access tokens along, not the
                # other way round) [doc]
                return ok
        for org in self.app.emulator.orgs.values():
            st = self.state(org)
            if token in st["refresh"]:
                with org.lock:
                    entry = st["refresh"].pop(token)
                    self._end_grant(org, entry.get("row_id"), refresh_token=token)
                    org.save()
                self._count(org)
                return ok
            row = org.oauth_token_by_delete_token(token)
            if row is not None:
                # OBJREF OauthToken "Usage": send the DeleteToken to the revoke endpoint to delete the token [doc]
                with org.lock:
                    self._end_grant(org, row["Id"])
                    org.save()
                self._count(org)
                return ok
        raise OAuthError("unsupported_token_type", "this token type is not supported")

    def _end_grant(self, org, row_id, refresh_token=None):
        """Revoke one authorization: its OauthToken row, refresh token and every access token issued from it."""
        st = self.state(org)
        for rt in [t for t, e in st["refresh"].items() if row_id and e.get("row_id") == row_id]:
            del st["refresh"][rt]
        for t in [t for t, s in st["sessions"].items()
                  if (row_id and s.get("row_id") == row_id) or (refresh_token and s.get("refresh") == refresh_token)]:
            del st["sessions"][t]
        for key in [k for k, r in st["grants"].items() if r == row_id]:
            del st["grants"][key]
        if row_id:
            org.remove_oauth_token(row_id)


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"))

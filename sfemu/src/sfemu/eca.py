"""External Client Apps (ECAs): the two subscriber-owned policy types and their rules.

An installed ECA carries two policy components that the subscriber org's admin owns (Help "OAuth Plugin Enablement
with Metadata API": "Policies files - Configured by the external client app subscriber"; shared ref §10):

- ``ExtlClntAppOauthConfigurablePolicies`` (API 59.0+, ``.ecaOauthPlcy``): who may use the app, IP relaxation,
  refresh-token policy, client-credentials user...
- ``ExtlClntAppConfigurablePolicies`` (API 60.0+, ``.ecaPlcy``): which plugins (OAuth, SAML...) are on.

Element names, types and values: Metadata API Developer Guide v66.0, "ExtlClntAppOauthConfigurablePolicies" and
"ExtlClntAppConfigurablePolicies" [doc] (sfemu/docs/external-client-apps.md lists the sources). Everything here is
pure data and validation; org.py stores the values, metadata.py speaks SOAP, oauth.py enforces them.

A policy is a dict ``{element: value}``: strings for string/enum elements, ``bool`` and ``int`` for those types,
``customAttributes`` a list of ``{"key", "formula"}``; ``None`` or absent = not set.
"""

from __future__ import annotations

import re

__all__ = [
    "OAUTH_POLICY_TYPE", "POLICY_TYPE", "APP_TYPE", "TYPE_SINCE", "OAUTH_ELEMENTS", "POLICY_ELEMENTS",
    "ADMIN_APPROVED", "SELF_AUTHORIZED", "REQUIRED", "default_oauth_policy", "default_policies", "oauth_policy_name",
    "policies_name", "developer_name", "EnumFault", "parse_value", "validate_oauth_policy", "validate_policies",
    "admin_approved",
]

OAUTH_POLICY_TYPE = "ExtlClntAppOauthConfigurablePolicies"
POLICY_TYPE = "ExtlClntAppConfigurablePolicies"
APP_TYPE = "ExternalClientApplication"
# "available in API version 59.0 and later" / "60.0 and later" [doc, each type's page]
TYPE_SINCE = {APP_TYPE: (59, 0), OAUTH_POLICY_TYPE: (59, 0), POLICY_TYPE: (60, 0)}

ADMIN_APPROVED = "AdminApprovedPreAuthorized"
SELF_AUTHORIZED = "AllSelfAuthorized"

# Element -> (kind, values). kind: "string", "bool", "int", "enum:<WSDL enum name>" (a value outside the list is a
# SOAP parse fault, like every WSDL enumeration), "choice" (documented values of a *string* field: a bad one is a
# per-component error), "attributes" (customAttributes). [doc] ExtlClntAppOauthConfigurablePolicies, API 66.0.
OAUTH_ELEMENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "apexHandler": ("string", ()),
    "clientCredentialsFlowUser": ("string", ()),
    "commaSeparatedCustomScopes": ("string", ()),
    "commaSeparatedPermissionSet": ("string", ()),
    "commaSeparatedProfile": ("string", ()),
    "customAttributes": ("attributes", ()),
    "executeHandlerAs": ("string", ()),
    "externalClientApplication": ("string", ()),
    "guestJwtSessionTimeoutType": ("enum:JWTSessionTimeoutType", ("UserSession", "Custom")),
    "guestJwtTimeout": ("int", ()),
    "ipRelaxationPolicyType": ("choice", ("Enforce", "Bypass", "Bypass_2factor", "Enforce_RelaxRefresh")),
    "isClientCredentialsFlowEnabled": ("bool", ()),
    "isGuestCodeCredFlowEnabled": ("bool", ()),
    "isNamedUserJwtEnabled": ("bool", ()),
    "isTokenExchangeFlowEnabled": ("bool", ()),
    "label": ("string", ()),
    "namedUserJwtSessionTimeoutType": ("enum:JWTSessionTimeoutType", ("UserSession", "Custom")),
    "namedUserJwtTimeout": ("int", ()),
    "permittedUsersPolicyType": ("enum:PermittedUsersPolicyType", (ADMIN_APPROVED, SELF_AUTHORIZED)),
    "policyAction": ("enum:PolicyAction", ("Block", "RaiseSessionLevel")),
    "refreshTokenPolicyType": ("enum:RefreshTokenPolicyType",
                               ("Infinite", "SpecificInactivity", "SpecificLifetime", "Zero")),
    "refreshTokenValidityPeriod": ("int", ()),
    "refreshTokenValidityUnit": ("choice", ("Days", "Hours", "Months")),
    "requiredSessionLevel": ("enum:SessionSecurityLevel", ("HIGH_ASSURANCE", "LOW", "STANDARD")),
    "sessionTimeoutInMinutes": ("int", ()),
    "singleLogoutUrl": ("string", ()),
    "startUrl": ("string", ()),
}

# [doc] ExtlClntAppConfigurablePolicies, API 66.0 (isEnabled and externalClientApplication are required).
POLICY_ELEMENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "externalClientApplication": ("string", ()),
    "isCanvasPluginEnabled": ("bool", ()),
    "isEnabled": ("bool", ()),
    "isMobilePluginEnabled": ("bool", ()),
    "isNotificationPluginEnabled": ("bool", ()),
    "isOauthPluginEnabled": ("bool", ()),
    "isPushPluginEnabled": ("bool", ()),
    "isSamlPluginEnabled": ("bool", ()),
    "label": ("string", ()),
    "startPage": ("enum:ExtlClntAppStartPage", ("Custom", "None", "OAuth")),
    "startUrl": ("string", ()),
}


# Elements each type's page marks "Required." [doc]
REQUIRED = {"oauth_policy": ("externalClientApplication",), "policies": ("externalClientApplication", "isEnabled")}


def oauth_policy_name(developer_name: str) -> str:
    """fullName of an ECA's OAuth policies: ``<ECA developer name>_oauthPlcy``. Salesforce generates the component
    when OAuth is enabled on the ECA and does not show its name in Setup; the suffix is what real projects and a
    Setup Audit Trail row show ("Created the External Client App OAuth Policies: Drift_Integration_oauthPlcy")
    [3rd, several public repos; see docs/external-client-apps.md]."""
    return developer_name + "_oauthPlcy"


def policies_name(developer_name: str) -> str:
    """fullName of an ECA's plugin policies: ``<developer name>_plcy`` [3rd, public repos' ``_plcy.ecaPlcy``]."""
    return developer_name + "_plcy"


def default_oauth_policy(developer_name: str) -> dict:
    """The OAuth policies of a freshly installed ECA. "All users may self-authorize" is the default of a new ECA
    [3rd: a public ECA guide, "AllSelfAuthorized (... the default on a new ECA)"]; IP restrictions enforced and
    refresh tokens valid until revoked are Setup's defaults [infer]; the flow switches default to false [doc]."""
    return {
        "externalClientApplication": developer_name,
        "label": oauth_policy_name(developer_name),
        "permittedUsersPolicyType": SELF_AUTHORIZED,
        "ipRelaxationPolicyType": "Enforce",
        "refreshTokenPolicyType": "Infinite",
        "isClientCredentialsFlowEnabled": False,
        "isGuestCodeCredFlowEnabled": False,
        "isTokenExchangeFlowEnabled": False,
    }


def default_policies(developer_name: str) -> dict:
    """Plugin policies of a freshly installed ECA: every plugin on ("The default value is true") [doc]."""
    return {"externalClientApplication": developer_name, "label": policies_name(developer_name),
            "isEnabled": True, "isOauthPluginEnabled": True}


class EnumFault(ValueError):
    """A value the SOAP layer cannot deserialize: the whole call fails with a ``soapenv:Client`` fault, e.g.
    ``'massAction' is not a valid value for the enum 'WebLinkDisplayType'`` ([3rd] certinia/apex-mdapi#54, a real
    createMetadata fault)."""


def parse_value(spec, element: str, text: str):
    """SOAP text of ``element`` -> stored value. Raises EnumFault for a bad enum/boolean/int (a parse error)."""
    kind, values = spec[element]
    if kind == "bool":
        low = text.strip().lower()
        if low in ("true", "1"):
            return True
        if low in ("false", "0"):
            return False
        raise EnumFault("'%s' is not a valid value for the type xsd:boolean" % text)  # [infer] wording
    if kind == "int":
        try:
            return int(text.strip())
        except ValueError:
            raise EnumFault("'%s' is not a valid value for the type xsd:int" % text) from None  # [infer]
    if kind.startswith("enum:"):
        if text not in values:
            raise EnumFault("'%s' is not a valid value for the enum '%s'" % (text, kind[5:]))
        return text
    return text


def _names(csv) -> list[str]:
    return [n.strip() for n in (csv or "").split(",") if n.strip()]


def admin_approved(policy: dict) -> bool:
    return (policy or {}).get("permittedUsersPolicyType") == ADMIN_APPROVED


def validate_oauth_policy(policy: dict, permission_set_names, profile_names, usernames) -> list[tuple]:
    """Per-component errors ``[(statusCode, message, [fields])]`` of an OAuth policies component.

    ``permission_set_names`` / ``profile_names`` / ``usernames``: what exists in the org (case-insensitive sets).
    """
    errors = []
    if not policy.get("externalClientApplication"):
        errors.append(("REQUIRED_FIELD_MISSING", "Required field is missing: externalClientApplication",
                       ["externalClientApplication"]))  # "Required." [doc]; wording [infer, standard form]
    # commaSeparatedPermissionSet takes permission set *names*: the guide's own sample is
    # <commaSeparatedPermissionSet>PermSetExample</...>, real projects deploy API names, and a 0PS id is refused with
    # "INVALID_FIELD: We couldn't find permission sets called {id}" [3rd, public ECA guide]; the field description
    # says "Permission set IDs" [doc] -- see docs/external-client-apps.md for the conflict.
    missing = [n for n in _names(policy.get("commaSeparatedPermissionSet")) if n.lower() not in permission_set_names]
    if missing:
        errors.append(("INVALID_FIELD", "We couldn't find permission sets called %s" % ", ".join(missing),
                       ["commaSeparatedPermissionSet"]))
    missing = [n for n in _names(policy.get("commaSeparatedProfile")) if n.lower() not in profile_names]
    if missing:
        # Profiles are named like permission sets are [3rd: repos deploy "System Administrator"]; text [infer]
        errors.append(("INVALID_FIELD", "We couldn't find profiles called %s" % ", ".join(missing),
                       ["commaSeparatedProfile"]))
    for element in ("ipRelaxationPolicyType", "refreshTokenValidityUnit"):
        value = policy.get(element)
        allowed = OAUTH_ELEMENTS[element][1]
        if value is not None and value not in allowed:
            # a string field with documented values [doc]; code and text [infer]
            errors.append(("FIELD_INTEGRITY_EXCEPTION", "%s: bad value for restricted picklist field: %s"
                           % (element, value), [element]))
    if policy.get("refreshTokenPolicyType") in ("SpecificInactivity", "SpecificLifetime"):
        # period and unit "specify validity when refresh token policy type is set to SpecificInactivity or
        # SpecificLifetime" [doc]; refusing the policy without them [infer]
        period = policy.get("refreshTokenValidityPeriod")
        if not isinstance(period, int) or period < 1 or not policy.get("refreshTokenValidityUnit"):
            errors.append(("FIELD_INTEGRITY_EXCEPTION", "refreshTokenValidityPeriod and refreshTokenValidityUnit are "
                           "required when refreshTokenPolicyType is %s" % policy["refreshTokenPolicyType"],
                           ["refreshTokenValidityPeriod", "refreshTokenValidityUnit"]))
    user = policy.get("clientCredentialsFlowUser")
    if user and user.lower() not in usernames:
        errors.append(("INVALID_CROSS_REFERENCE_KEY", "In field: clientCredentialsFlowUser - no User named %s found"
                       % user, ["clientCredentialsFlowUser"]))  # pattern of Metadata cross-references [infer]
    if policy.get("isClientCredentialsFlowEnabled") and not user:
        errors.append(("FIELD_INTEGRITY_EXCEPTION", "clientCredentialsFlowUser is required when the client "
                       "credentials flow is enabled", ["clientCredentialsFlowUser"]))  # [infer]
    return errors


def validate_policies(policy: dict) -> list[tuple]:
    errors = []
    for element in ("externalClientApplication", "isEnabled"):
        if policy.get(element) is None or policy.get(element) == "":
            errors.append(("REQUIRED_FIELD_MISSING", "Required field is missing: %s" % element, [element]))
    return errors


_SAFE_NAME = re.compile(r"\W")


def developer_name(label: str) -> str:
    """Developer name Setup proposes for a label: non-word characters as underscores [infer, as for ConnectedApp]."""
    return _SAFE_NAME.sub("_", label or "")

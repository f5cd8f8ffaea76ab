#!/usr/bin/env bash
# The second baseline bench/run.py compares the collection with (--impls sfcli): the integration-user runbook as a
# shell script of Salesforce CLI commands, the way a user writes it without the collection. Same scope as
# bench/baseline/uri_baseline.yml (and so less than the role: no connected-app policy, no purge of rows added by
# hand, no preflight, no label/description drift):
#   log in (sf org login jwt), the integration user (query; create when missing), its API integration permission set
#   licence (sf org assign permsetlicense, idempotent by design), the permission set (query; create when missing, turn
#   on missing system permissions), its object and field permissions, the assignment (query; sf org assign permset
#   when missing), and the permission set's access to the connected app (SetupEntityAccess).
#
# Object and field permissions: the CLI has no command for them and no batch write that updates (sf data import tree
# only inserts, and fails on rows that exist), so the script reads all of the permission set's rows in one
# `sf data query` per kind and then writes one `sf data create record` or `sf data update record` per row that is
# missing or differs. An object with no access asked for gets no row (Task: field permissions only).
#
#   sf_cli_runbook.sh [--check] [--parallel N] ORGS_FILE DESIRED_FILE
#
# --check      drift check: only queries, and reports what setup would change; exit status 2 when anything drifted
# --parallel N run N orgs at a time (xargs -P; default 1: one org after another)
# ORGS_FILE    one org a line, fields separated by spaces: alias login_url client_id admin_username jwt_key_file
#              integration_username integration_email (lines starting with # are skipped)
# DESIRED_FILE bash, sourced: PS_NAME, PS_LABEL, PS_DESCRIPTION, SYSTEM_PERMISSIONS=(...), OBJECTS=("Name read create
#              edit delete view_all modify_all" ...) with true/false, FIELDS=("Object Field read edit" ...), APP_NAME
#
# One line per org on stdout: "<alias>: changed=N" (setup) or "<alias>: drifted=N" (--check). Needs sf and jq on
# PATH; bench/run.py installs sf (bench/sfcli/package.json) and sets a private HOME.
set -euo pipefail

# Never reach the internet from a benchmark or a CI job: no telemetry, no update checks, no OS keychain.
export SF_DISABLE_TELEMETRY=${SF_DISABLE_TELEMETRY:-true} SF_AUTOUPDATE_DISABLE=${SF_AUTOUPDATE_DISABLE:-true} \
    SF_DISABLE_AUTOUPDATE=${SF_DISABLE_AUTOUPDATE:-true} SF_SKIP_NEW_VERSION_CHECK=${SF_SKIP_NEW_VERSION_CHECK:-true} \
    SF_USE_GENERIC_UNIX_KEYCHAIN=${SF_USE_GENERIC_UNIX_KEYCHAIN:-true}

MODE=setup
PARALLEL=1
ORG_ARGS=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --check) MODE=check; shift ;;
        --parallel) PARALLEL=$2; shift 2 ;;
        --org) shift; ORG_ARGS=("$@"); break ;;  # one org (how the script runs itself through xargs)
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) break ;;
    esac
done

if [[ ${#ORG_ARGS[@]} -eq 0 ]]; then
    [[ $# -eq 2 ]] || { echo "usage: $0 [--check] [--parallel N] ORGS_FILE DESIRED_FILE" >&2; exit 64; }
    ORGS_FILE=$1 DESIRED_FILE=$(realpath "$2")
    check_flag=()
    [[ $MODE == check ]] && check_flag=(--check)
    orgs=$(grep -c -v -e '^#' -e '^[[:space:]]*$' "$ORGS_FILE")
    # Each org runs in its own process; xargs exits 123 when any of them failed or drifted, so the summary lines
    # decide: an org without one failed (its error is on stderr).
    summary=$(grep -v -e '^#' -e '^[[:space:]]*$' "$ORGS_FILE" |
        xargs -r -P "$PARALLEL" -L 1 "$0" "${check_flag[@]}" --org "$DESIRED_FILE") || true
    [[ -z $summary ]] || echo "$summary"
    done_orgs=$(grep -c -E ': (changed|drifted)=' <<<"$summary" || true)
    if [[ $done_orgs -lt $orgs ]]; then
        echo "$((orgs - done_orgs)) of $orgs org(s) failed" >&2
        exit 1
    fi
    grep -q -E ': drifted=[1-9]' <<<"$summary" && exit 2
    exit 0
fi

# --- one org --------------------------------------------------------------------------------------------------
DESIRED_FILE=${ORG_ARGS[0]}
read -r ALIAS LOGIN_URL CLIENT_ID ADMIN KEY_FILE INT_USER INT_EMAIL <<<"${ORG_ARGS[*]:1}"
# shellcheck source=/dev/null
source "$DESIRED_FILE"
CHANGED=0
DRIFTED=0

# sf with --json: print .result; on failure say which command failed and why, and stop this org.
sf_json() {
    local out
    if ! out=$(sf "$@" --json); then
        echo "$ALIAS: sf $1 $2 $3 failed: $(jq -r '"\(.name // ""): \(.message // .)"' <<<"$out" 2>/dev/null || echo "$out")" >&2
        return 1
    fi
    jq -c '.result' <<<"$out"
}

query() {  # the records of one SOQL query, as a JSON array
    sf_json data query --target-org "$ADMIN" --query "$1" | jq -c '.records'
}

# A change setup makes: in setup mode run it, in check mode only count it as drift.
change() {
    local what=$1
    shift
    if [[ $MODE == check ]]; then
        echo "$ALIAS: drift: $what" >&2
        DRIFTED=$((DRIFTED + 1))
        return 0
    fi
    "$@" >/dev/null
    CHANGED=$((CHANGED + 1))
}

sf_json org login jwt --instance-url "$LOGIN_URL" --client-id "$CLIENT_ID" --jwt-key-file "$KEY_FILE" \
    --username "$ADMIN" >/dev/null

# --- the integration user and its permission set licence ----------------------------------------------------
user_id=$(query "SELECT Id, IsActive FROM User WHERE Username = '$INT_USER'" | jq -r '.[0].Id // empty')
if [[ -z $user_id ]]; then
    if [[ $MODE == check ]]; then
        change "user $INT_USER missing" true
    else
        profile_id=$(query "SELECT Id FROM Profile WHERE Name = 'Minimum Access - API Only Integrations'" |
            jq -r '.[0].Id')
        user_id=$(sf_json data create record --target-org "$ADMIN" --sobject User --values \
            "Username=$INT_USER Email=$INT_EMAIL FirstName=Bench LastName=Integration Alias=benchint \
ProfileId=$profile_id TimeZoneSidKey=America/Los_Angeles LocaleSidKey=en_US EmailEncodingKey=UTF-8 \
LanguageLocaleKey=en_US" | jq -r '.id')
        CHANGED=$((CHANGED + 1))
    fi
fi
if [[ $MODE == check ]]; then
    if [[ -n $user_id ]]; then
        psla=$(query "SELECT Id FROM PermissionSetLicenseAssign WHERE AssigneeId = '$user_id' AND \
PermissionSetLicense.DeveloperName = 'SalesforceAPIIntegrationPsl'")
        [[ $(jq length <<<"$psla") -gt 0 ]] || change "permission set licence not assigned" true
    fi
else
    # Succeeds when the licence is already assigned (the CLI treats the duplicate as done).
    sf_json org assign permsetlicense --target-org "$ADMIN" --name SalesforceAPIIntegrationPsl \
        --on-behalf-of "$INT_USER" >/dev/null
fi

# --- the permission set -----------------------------------------------------------------------------------------
perm_list=$(IFS=,; echo "${SYSTEM_PERMISSIONS[*]}")
ps=$(query "SELECT Id, ${perm_list//,/, } FROM PermissionSet WHERE Name = '$PS_NAME'")
ps_id=$(jq -r '.[0].Id // empty' <<<"$ps")
perms_on=""
for p in "${SYSTEM_PERMISSIONS[@]}"; do perms_on+=" $p=true"; done
if [[ -z $ps_id ]]; then
    if [[ $MODE == check ]]; then
        change "permission set $PS_NAME missing" true
    else
        ps_id=$(sf_json data create record --target-org "$ADMIN" --sobject PermissionSet --values \
            "Name=$PS_NAME Label='$PS_LABEL' Description='$PS_DESCRIPTION'$perms_on" | jq -r '.id')
        CHANGED=$((CHANGED + 1))
    fi
else
    off=$(jq -r --args '.[0] as $r | $ARGS.positional | map(select($r[.] != true)) | join(" ")' \
        "${SYSTEM_PERMISSIONS[@]}" <<<"$ps")
    if [[ -n $off ]]; then
        change "system permissions off: $off" sf_json data update record --target-org "$ADMIN" \
            --sobject PermissionSet --record-id "$ps_id" --values "${perms_on# }"
    fi
fi

# --- object and field permissions: one query per kind, one write per row that is missing or differs ----------
if [[ -n $ps_id ]]; then
    flags=(PermissionsRead PermissionsCreate PermissionsEdit PermissionsDelete PermissionsViewAllRecords
        PermissionsModifyAllRecords)
    flag_list=$(IFS=,; echo "${flags[*]}")
    object_rows=$(query "SELECT Id, SobjectType, ${flag_list//,/, } FROM ObjectPermissions WHERE ParentId = '$ps_id'")
    for spec in "${OBJECTS[@]}"; do
        read -r obj read create edit delete view_all modify_all <<<"$spec"
        want="PermissionsRead=$read PermissionsCreate=$create PermissionsEdit=$edit PermissionsDelete=$delete \
PermissionsViewAllRecords=$view_all PermissionsModifyAllRecords=$modify_all"
        row=$(jq -c --arg o "$obj" 'map(select(.SobjectType == $o)) | .[0] // empty' <<<"$object_rows")
        if [[ -z $row ]]; then
            [[ $want == *=true* ]] || continue
            change "object $obj missing" sf_json data create record --target-org "$ADMIN" \
                --sobject ObjectPermissions --values "ParentId=$ps_id SobjectType=$obj $want"
            continue
        fi
        have=$(jq -r --args '. as $r | $ARGS.positional | map("\(.)=\($r[.])") | join(" ")' "${flags[@]}" <<<"$row")
        if [[ $have != "$want" ]]; then
            change "object $obj differs" sf_json data update record --target-org "$ADMIN" \
                --sobject ObjectPermissions --record-id "$(jq -r .Id <<<"$row")" --values "$want"
        fi
    done

    field_rows=$(query "SELECT Id, Field, PermissionsRead, PermissionsEdit FROM FieldPermissions \
WHERE ParentId = '$ps_id'")
    for spec in "${FIELDS[@]}"; do
        read -r obj field read edit <<<"$spec"
        row=$(jq -c --arg f "$obj.$field" 'map(select(.Field == $f)) | .[0] // empty' <<<"$field_rows")
        if [[ -z $row ]]; then
            change "field $obj.$field missing" sf_json data create record --target-org "$ADMIN" \
                --sobject FieldPermissions --values \
                "ParentId=$ps_id SobjectType=$obj Field=$obj.$field PermissionsRead=$read PermissionsEdit=$edit"
        elif [[ $(jq -r '"\(.PermissionsRead) \(.PermissionsEdit)"' <<<"$row") != "$read $edit" ]]; then
            change "field $obj.$field differs" sf_json data update record --target-org "$ADMIN" \
                --sobject FieldPermissions --record-id "$(jq -r .Id <<<"$row")" \
                --values "PermissionsRead=$read PermissionsEdit=$edit"
        fi
    done
fi

# --- the assignment and the connected app ------------------------------------------------------------------------
if [[ -n $user_id && -n $ps_id ]]; then
    psa=$(query "SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = '$user_id' AND PermissionSetId = '$ps_id'")
    if [[ $(jq length <<<"$psa") -eq 0 ]]; then
        change "permission set not assigned" sf_json org assign permset --target-org "$ADMIN" --name "$PS_NAME" \
            --on-behalf-of "$INT_USER"
    fi
fi
if [[ -n ${APP_NAME:-} && -n $ps_id ]]; then
    app_id=$(query "SELECT Id FROM ConnectedApplication WHERE Name = '$APP_NAME'" | jq -r '.[0].Id // empty')
    if [[ -n $app_id ]]; then
        sea=$(query "SELECT Id FROM SetupEntityAccess WHERE ParentId = '$ps_id' AND SetupEntityId = '$app_id'")
        if [[ $(jq length <<<"$sea") -eq 0 ]]; then
            change "no access to $APP_NAME" sf_json data create record --target-org "$ADMIN" \
                --sobject SetupEntityAccess --values "ParentId=$ps_id SetupEntityId=$app_id"
        fi
    fi
fi

if [[ $MODE == check ]]; then
    echo "$ALIAS: drifted=$DRIFTED"
    [[ $DRIFTED -eq 0 ]] || exit 2
else
    echo "$ALIAS: changed=$CHANGED"
fi

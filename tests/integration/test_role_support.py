"""Shared helpers for the role, drift and AWX suites, plus the tests that need no emulator.

The helpers read the org through the emulator fixture's raw REST client (its own login), never through the
collection, and derive what the org should look like from the preset files as plain YAML: an independent
statement of the expected state, not a re-run of the role's templating.
"""

import json
import pathlib
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "integration_user"
VENV_BIN = pathlib.Path(sys.executable).parent
STEPS = ["user", "permission_set", "object_permissions", "assignment", "connected_app", "oauth_tokens"]


# --- expectations -------------------------------------------------------------------------------------------
def preset(name):
    return yaml.safe_load((ROLE / "vars" / "presets" / (name + ".yml")).read_text())["integration_user_preset_data"]


def expected_objects(preset_data, write_back=False, extra=(), exclude=()):
    """{Object: entry} the way the role documents the merge: write-back and extra entries replace, exclude drops."""
    out = {}
    for entry in list(preset_data["objects"]) + (list(preset_data["write_back_objects"]) if write_back else []) + list(extra):
        out[entry["name"]] = entry
    for name in exclude:
        out.pop(name, None)
    return out


def unique(prefix="t"):
    return "%s%s" % (prefix, uuid.uuid4().hex[:8])


def role_vars(tag, preset_name="planhat", **extra):
    """Per-test names, so suites sharing one emulator never see each other's user or permission set."""
    values = {
        "integration_user_preset": preset_name,
        # Usernames are global across orgs: one per org, from the host name (extra vars are templated per host).
        "integration_user_username": "%s.integration.{{ inventory_hostname }}@%s.test.sfemu.example"
                                     % (preset_name.replace("_", "."), tag),
        "integration_user_email": "integrations+%s@example.com" % tag,
        "integration_user_permission_set_name": "%s_%s" % (preset(preset_name)["permission_set"]["name"] or "Integration", tag),
    }
    values.update(extra)
    return values


def username_of(rv, alias):
    return rv["integration_user_username"].replace("{{ inventory_hostname }}", alias)


# --- raw reads of the org -----------------------------------------------------------------------------------
def q(emulator, alias, soql):
    return emulator.raw_query(alias, soql)


def permission_set_fields(emulator, alias):
    fields = emulator.raw(alias, "GET", "sobjects/PermissionSet/describe").json()["fields"]
    return [f["name"] for f in fields if f["name"].startswith("Permissions") and f["type"] == "boolean"]


def permission_set(emulator, alias, name):
    """The permission set's id and the API names of its true system permissions, or None."""
    perms = permission_set_fields(emulator, alias)
    rows = q(emulator, alias, "SELECT Id, Label, %s FROM PermissionSet WHERE Name = '%s'" % (", ".join(perms), name))
    if not rows:
        return None
    row = rows[0]
    return {"id": row["Id"], "label": row["Label"], "system_permissions": sorted(p for p in perms if row.get(p))}


def object_permissions(emulator, alias, ps_id):
    rows = q(emulator, alias, "SELECT SobjectType, PermissionsRead, PermissionsCreate, PermissionsEdit, PermissionsDelete, "
                              "PermissionsViewAllRecords, PermissionsModifyAllRecords FROM ObjectPermissions "
                              "WHERE ParentId = '%s'" % ps_id)
    keys = [("read", "PermissionsRead"), ("create", "PermissionsCreate"), ("edit", "PermissionsEdit"),
            ("delete", "PermissionsDelete"), ("view_all", "PermissionsViewAllRecords"),
            ("modify_all", "PermissionsModifyAllRecords")]
    return {r["SobjectType"]: {k: bool(r.get(f)) for k, f in keys} for r in rows}


def field_permissions(emulator, alias, ps_id):
    rows = q(emulator, alias, "SELECT SobjectType, Field, PermissionsRead, PermissionsEdit FROM FieldPermissions "
                              "WHERE ParentId = '%s'" % ps_id)
    return {r["Field"]: ("edit" if r.get("PermissionsEdit") else "read" if r.get("PermissionsRead") else "none")
            for r in rows}


def user(emulator, alias, username):
    rows = q(emulator, alias, "SELECT Id, IsActive, Email, Profile.Name FROM User WHERE Username = '%s'" % username)
    if not rows:
        return None
    row = rows[0]
    psl = q(emulator, alias, "SELECT PermissionSetLicense.DeveloperName FROM PermissionSetLicenseAssign "
                             "WHERE AssigneeId = '%s'" % row["Id"])
    return {"id": row["Id"], "is_active": row["IsActive"], "email": row["Email"],
            "profile": (row.get("Profile") or {}).get("Name"),
            "permission_set_licenses": sorted(r["PermissionSetLicense"]["DeveloperName"] for r in psl)}


def assignments(emulator, alias, username):
    rows = q(emulator, alias, "SELECT PermissionSet.Name, PermissionSet.IsOwnedByProfile FROM PermissionSetAssignment "
                              "WHERE Assignee.Username = '%s'" % username)
    return sorted(r["PermissionSet"]["Name"] for r in rows if not r["PermissionSet"].get("IsOwnedByProfile"))


def app(emulator, alias, name="Planhat"):
    rows = q(emulator, alias, "SELECT Id, OptionsAllowAdminApprovedUsersOnly FROM ConnectedApplication WHERE Name = '%s'" % name)
    if not rows:
        return None
    access = q(emulator, alias, "SELECT Parent.Name, Parent.IsOwnedByProfile FROM SetupEntityAccess "
                                "WHERE SetupEntityId = '%s'" % rows[0]["Id"])
    return {"id": rows[0]["Id"], "admin_approved": bool(rows[0]["OptionsAllowAdminApprovedUsersOnly"]),
            "permission_sets": sorted(r["Parent"]["Name"] for r in access if not r["Parent"].get("IsOwnedByProfile"))}


def create_permission_set(emulator, alias, name):
    return emulator.raw(alias, "POST", "sobjects/PermissionSet", json={"Name": name, "Label": name}).json()["id"]


def deactivate(emulator, alias, username):
    """Give the user's licence back (the seeded orgs have 5 integration licences and the suites share them)."""
    found = user(emulator, alias, username)
    if found and found["is_active"]:
        emulator.raw(alias, "PATCH", "sobjects/User/" + found["id"], json={"IsActive": False})


# --- playbook results ---------------------------------------------------------------------------------------
def report_of(result, alias):
    """integration_user_report as the role set it for one org (from the json callback's facts)."""
    for res in result.host_results(alias):
        facts = res.get("ansible_facts") or {}
        if "integration_user_report" in facts:
            return facts["integration_user_report"]
    return None


def changed_count(result, alias):
    return result.stats[alias]["changed"]


def changed_tasks(result, alias):
    return [r["task"] for r in result.host_results(alias) if r.get("changed")]


def counts(emulator, alias, label):
    stats = emulator.stats(alias)
    print("%s %s: api_requests=%s token_requests=%s by_method=%s" % (label, alias, stats["api_requests"],
                                                                   stats["token_requests"], stats.get("by_method")))
    return stats


def read_drift_reports(directory):
    data = json.loads((pathlib.Path(directory) / "drift-report.json").read_text())
    junit = ET.parse(pathlib.Path(directory) / "drift-report.xml").getroot()
    return data, junit


def junit_failures(junit):
    """{(org, step)} of the failed test cases."""
    out = set()
    for case in junit.iter("testcase"):
        if case.find("failure") is not None:
            out.add((case.get("classname"), case.get("name")))
    return out


# --- tests that need no emulator ----------------------------------------------------------------------------
def _run(cmd, **kw):
    return subprocess.run(cmd, cwd=str(REPO), capture_output=True, text=True, timeout=300,
                          env={"ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "PATH": "%s:/usr/bin:/bin" % VENV_BIN,
                               "LC_ALL": "C.UTF-8", "HOME": str(pathlib.Path.home())}, **kw)


def test_example_inventory_parses_and_decrypts(tmp_path):
    """The example inventory is valid, one host per org in salesforce_orgs, and its vaulted values decrypt."""
    password = tmp_path / "vault-pass"
    password.write_text("example-only-not-a-secret\n")
    proc = _run([str(VENV_BIN / "ansible-inventory"), "-i", "inventory/example", "--list", "--vault-password-file",
                 str(password)])
    assert proc.returncode == 0, proc.stderr
    inv = json.loads(proc.stdout)
    assert sorted(inv["salesforce_orgs"]["hosts"]) == ["acme_prod", "acme_uat", "globex_prod"]
    hostvars = inv["_meta"]["hostvars"]
    for host, hv in hostvars.items():
        assert hv["ansible_connection"] == "local"
        assert hv["ansible_python_interpreter"] == "{{ ansible_playbook_python }}"
        assert hv["sf_instance_url"].startswith("https://")
    # The secrets are stored encrypted, never in clear text in the repository.
    for name in ("acme_prod", "acme_uat"):
        text = (REPO / "inventory" / "example" / "host_vars" / (name + ".yml")).read_text()
        assert "!vault |" in text and "FAKE-EXAMPLE" not in text
    proc = _run([str(VENV_BIN / "ansible"), "-i", "inventory/example", "acme_uat", "-m", "ansible.builtin.debug",
                 "-a", "msg={{ sf_client_secret }}", "--vault-password-file", str(password)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FAKE-EXAMPLE-CLIENT-SECRET" in proc.stdout


def test_argument_spec_rejects_an_unknown_preset(tmp_path):
    """meta/argument_specs.yml validates inputs before any task (and so before any login)."""
    inventory = tmp_path / "inv.yml"
    inventory.write_text(yaml.safe_dump({"salesforce_orgs": {"hosts": {"orgx": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "sf_instance_url": "https://127.0.0.1:9"}}}}))
    proc = _run([str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), "playbooks/setup_integration.yml",
                 "-e", "integration_user_preset=salesforce_admin"])
    assert proc.returncode != 0
    assert "integration_user_preset" in proc.stdout and "salesforce_admin" in proc.stdout
    assert "Log in once" not in proc.stdout


def test_dangerous_permissions_are_refused_before_any_connection(tmp_path):
    """Refused with a clear message before the login task: the instance URL here is unreachable on purpose."""
    inventory = tmp_path / "inv.yml"
    inventory.write_text(yaml.safe_dump({"salesforce_orgs": {"hosts": {"orgx": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "sf_instance_url": "https://127.0.0.1:9"}}}}))
    for spelling in ("Modify All Data", "PermissionsCustomizeApplication", "AuthorApex", "Use Any API Client"):
        proc = _run([str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), "playbooks/setup_integration.yml",
                     "-e", json.dumps({"integration_user_extra_system_permissions": [spelling]})])
        assert proc.returncode != 0, spelling
        assert "Refusing to grant %s" % spelling in proc.stdout, proc.stdout
        # The login task is skipped, not attempted (an attempt answers "ok": its failure is reported by a later task).
        login = proc.stdout.split("Log in once to orgx]", 1)[1].split("TASK [", 1)[0]
        assert "skipping: [orgx]" in login and "ok: [orgx]" not in login, login


def test_drift_junit_template_escapes_and_counts(tmp_path):
    """The JUnit template renders valid XML with one failure per drifted step and per exposed org, whatever the diff
    and finding texts hold."""
    play = [{
        "name": "render", "hosts": "localhost", "gather_facts": False,
        "vars": {
            "__drift_orgs": ["org_a", "org_b", "org_c"],
            "__drift_by_org": {
                "org_a": {"changed": True, "changed_steps": ["permission_set", "assignment"],
                          "diffs": {"permission_set": {"before": {"PermissionsExportReport": True},
                                                       "after": {"PermissionsExportReport": False}},
                                    "assignment": {"before": "<b>&'\"", "after": ""}}},
                "org_b": {"changed": False, "changed_steps": [], "diffs": {},
                          "exposure": {"exposed": True, "findings": ["j<o>e&co holds the permission set P.", "Second."]}},
                "org_c": {"changed": False, "changed_steps": [], "diffs": {}, "error": "Login <failed> & stopped"},
            },
            "__summary": {"generated_at": "2026-01-01T00:00:00Z", "error_orgs": ["org_c"], "exposed_orgs": ["org_b"],
                          "steps": STEPS},
        },
        "tasks": [{"name": "render", "ansible.builtin.template": {
            "src": str(REPO / "playbooks" / "templates" / "drift-report.xml.j2"), "dest": str(tmp_path / "r.xml"),
            "mode": "0644"}}],
    }]
    (tmp_path / "p.yml").write_text(yaml.safe_dump(play))
    proc = _run([str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(tmp_path / "p.yml")])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    root = ET.parse(tmp_path / "r.xml").getroot()
    assert junit_failures(root) == {("org_a", "permission_set"), ("org_a", "assignment"), ("org_b", "exposure")}
    exposure = [c for c in root.iter("testcase") if (c.get("classname"), c.get("name")) == ("org_b", "exposure")][0]
    assert exposure.find("failure").text == "j<o>e&co holds the permission set P.\nSecond."
    errors = [c for c in root.iter("testcase") if c.find("error") is not None]
    assert [(c.get("classname"), c.find("error").get("message")) for c in errors] == [("org_c", "Login <failed> & stopped")]
    suite = root.find("testsuite")
    # Two checked orgs with six steps and the exposure case each, and the error org's one case.
    assert suite.get("failures") == "3" and suite.get("errors") == "1" and suite.get("tests") == "15"
    assert "PermissionsExportReport" in "".join(c.find("failure").text for c in root.iter("testcase")
                                                  if c.find("failure") is not None)

"""The desired states bench/run.py measures: the role's `planhat` preset, and a large custom preset generated from
what the emulator says is permissionable (its describes), written as role variables.

Both are also turned into the inputs of the uri baseline (bench/baseline/uri_baseline.yml), so the two
implementations are asked for exactly the same permission rows.
"""

import pathlib
import shlex

import yaml

import harness
from harness import API_VERSION
FLAGS = ("read", "create", "edit", "delete", "view_all", "modify_all")


def load_role_preset(name):
    presets_dir = harness.SRC / "roles" / "integration_user" / "vars" / "presets"
    data = yaml.safe_load((presets_dir / ("%s.yml" % name)).read_text())
    # The role keeps a preset under one variable (integration_user_preset_data) or as top-level keys.
    return data.get("integration_user_preset_data", data)


def _picklist(describe, field_name):
    for f in describe.get("fields", []):
        if f["name"] == field_name:
            return [v["value"] for v in f.get("picklistValues") or [] if v.get("active", True)]
    return []


def discover_permissionable(emu, alias="org1"):
    """What the emulator (like Salesforce) allows: ObjectPermissions.SobjectType and FieldPermissions.Field picklists
    (restricted picklists: exactly the objects and `Object.Field`s a permission set can carry), and each object's
    describe for which fields are writable (formula and auto-number fields only take Read)."""
    op = emu.raw(alias, "GET", "sobjects/ObjectPermissions/describe").json()
    fp = emu.raw(alias, "GET", "sobjects/FieldPermissions/describe").json()
    objects = _picklist(op, "SobjectType")
    fields = _picklist(fp, "Field")
    describes = {}
    for obj in sorted({f.split(".", 1)[0] for f in fields} | set(objects)):
        d = emu.raw(alias, "GET", "sobjects/%s/describe" % obj, expect_ok=False)
        if d.status_code == 200:
            describes[obj] = {f["name"]: f for f in d.json().get("fields", [])}
    return objects, fields, describes


def large_preset(emu, want_objects=30, want_fields=300, alias="org1"):
    """Role variables for the large preset: the `planhat` preset's user, system permissions and connected app, with
    its object list replaced by up to `want_objects` objects and `want_fields` field permissions taken from the
    emulator's picklists (all of them when it has fewer). Objects get Read; every second one also Create and Edit,
    and then its writable fields get Edit (the rest Read)."""
    objects, fields, describes = discover_permissionable(emu, alias)
    chosen = objects[:want_objects]
    by_object = {}
    for qualified in fields:
        obj, fname = qualified.split(".", 1)
        if obj in chosen:
            by_object.setdefault(obj, []).append(fname)
    # Spread the field budget over the objects round-robin, so that no object takes it all.
    picked = {obj: [] for obj in chosen}
    remaining = want_fields
    while remaining > 0:
        progressed = False
        for obj in chosen:
            pool = by_object.get(obj, [])
            if remaining > 0 and len(picked[obj]) < len(pool):
                picked[obj].append(pool[len(picked[obj])])
                remaining -= 1
                progressed = True
        if not progressed:
            break
    entries = []
    for i, obj in enumerate(chosen):
        writes = i % 2 == 1
        entry = {"name": obj, "read": True}
        if writes:
            entry.update(create=True, edit=True)
        fmap = {}
        for fname in picked[obj]:
            fd = describes.get(obj, {}).get(fname, {})
            can_edit = writes and fd.get("updateable") and not fd.get("calculated") and not fd.get("autoNumber")
            fmap[fname] = "edit" if can_edit else "read"
        if fmap:
            entry["fields"] = fmap
        entries.append(entry)
    n_fields = sum(len(v) for v in picked.values())
    info = {
        "requested_objects": want_objects, "requested_fields": want_fields,
        "objects": len(entries), "fields": n_fields,
        "available_objects": len(objects), "available_fields": len(fields),
        "object_names": chosen,
    }
    role_vars = {
        "integration_user_preset": "planhat",
        "integration_user_objects": entries,
    }
    return role_vars, info


def planhat_objects():
    return load_role_preset("planhat")["objects"]


def baseline_vars(role_preset_name, objects):
    """Inputs of the uri baseline for the same desired state as the role with `role_preset_name` and `objects`."""
    preset = load_role_preset(role_preset_name)
    bench_objects, bench_fields = [], []
    for entry in objects:
        bench_objects.append({k: bool(entry.get(k, False)) for k in FLAGS} | {"name": entry["name"]})
        for fname, access in (entry.get("fields") or {}).items():
            if access == "none":
                continue
            bench_fields.append({"sobject": entry["name"], "field": fname, "read": True, "edit": access == "edit"})
    perms = [p if p.startswith("Permissions") else "Permissions" + p for p in preset["system_permissions"]]
    return {
        "bench_ps": {
            "name": preset["permission_set"]["name"],
            "label": preset["permission_set"]["label"],
            "description": " ".join(str(preset["permission_set"]["description"]).split()),
            "system_permissions": perms,
        },
        "bench_objects": bench_objects,
        "bench_fields": bench_fields,
        "bench_app_name": preset["connected_app"]["name"] or "",
    }


def write_sfcli_desired(path, bvars):
    """The desired state of the uri baseline (baseline_vars) as the bash file bench/baseline/sf_cli_runbook.sh
    sources: the same permission set, rows and app, so the CLI script is asked for exactly what the others are."""
    q = shlex.quote
    flag = lambda v: "true" if v else "false"  # noqa: E731
    ps = bvars["bench_ps"]
    lines = ["# Written by bench/run.py", "PS_NAME=" + q(ps["name"]), "PS_LABEL=" + q(ps["label"]),
             "PS_DESCRIPTION=" + q(ps["description"]),
             "SYSTEM_PERMISSIONS=(%s)" % " ".join(q(p) for p in ps["system_permissions"]), "OBJECTS=("]
    lines += ["  " + q(" ".join([o["name"]] + [flag(o[k]) for k in FLAGS])) for o in bvars["bench_objects"]]
    lines += [")", "FIELDS=("]
    lines += ["  " + q("%s %s %s %s" % (f["sobject"], f["field"], flag(f["read"]), flag(f["edit"])))
              for f in bvars["bench_fields"]]
    lines += [")", "APP_NAME=" + q(bvars["bench_app_name"])]
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def count_rows(objects):
    return len(objects), sum(len([a for a in (e.get("fields") or {}).values() if a != "none"]) for e in objects)


def write_vars(path, data):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Written by bench/run.py\n" + yaml.safe_dump(data, sort_keys=False, width=120))
    return path


__all__ = ["API_VERSION", "large_preset", "baseline_vars", "planhat_objects", "count_rows", "write_vars",
           "write_sfcli_desired"]

#!/usr/bin/env python3
"""sfemu with extra custom objects, for the benchmark's large preset (bench only; sfemu itself is unchanged).

    python bench/sfemu_catalog.py --extra-objects 24 serve --port 0 --data-dir DIR --orgs N --latency-ms MS

The seeded emulator has 9 objects that take ObjectPermissions and 82 permissionable fields; a real org has
hundreds of custom objects, and the benchmark's large preset asks for 30 objects and 300 field permissions. This
adds `Bench_Object_NN__c` custom objects through the emulator's own declarations (schema.ObjectDef/F), before the
catalogue is built, and lists them where Salesforce lists custom objects: in the ObjectPermissions.SobjectType and
FieldPermissions.Field restricted picklists. Describe, SOQL, permissionability and the object/field permission rules
then treat them as the emulator treats its seeded custom object Health_Score__c.
"""

import argparse
import sys

from sfemu import cli, schema

# Field types of each extra object, in order: a typical custom object's mix. None is required, a name field or
# master-detail, so each is permissionable (schema.is_permissionable).
FIELD_TYPES = (
    ("Code__c", "string", {"length": 80}),
    ("Amount__c", "double", {"precision": 18, "scale": 2}),
    ("Active__c", "boolean", {"nillable": False, "defaulted": True, "default": False}),
    ("Start_Date__c", "date", {}),
    ("Stage__c", "picklist", {"length": 255, "picklist": ("New", "Active", "Closed")}),
    ("Notes__c", "textarea", {"length": 32768}),
    ("Contact_Email__c", "email", {"length": 80}),
    ("Phone__c", "phone", {"length": 40}),
    ("Website__c", "url", {"length": 255}),
    ("Quantity__c", "double", {"precision": 18, "scale": 0}),
    ("Account__c", "reference", {"reference_to": ("Account",)}),
    ("Last_Synced__c", "datetime", {}),
)


def extend(n_objects):
    names = ["Bench_Object_%02d__c" % i for i in range(1, n_objects + 1)]
    build = schema._build_objects

    def build_with_extras():
        objs = build()
        used = {o.key_prefix for o in objs}
        prefixes = (p for p in ("a%02d" % i for i in range(2, 100)) if p not in used)
        for i, name in enumerate(names, 1):
            label = "Bench Object %02d" % i
            fields = [schema._id(label + " ID"),
                      schema.F("Name", "string", label + " Name", length=80, nillable=True, defaulted=True,
                               name_field=True)]
            for fname, ftype, kw in FIELD_TYPES:
                kw = dict(kw)
                if ftype == "reference":
                    kw["relationship_name"] = fname[:-3] + "__r"
                    kw["child_relationship"] = "Bench_Objects_%02d__r" % i
                fields.append(schema.F(fname, ftype, fname[:-3].replace("_", " "), **kw))
            fields += [schema._owner()] + schema._audit(schema.AUDIT_FIELDS)
            objs.append(schema.ObjectDef(name=name, label=label, label_plural=label + "s", key_prefix=next(prefixes),
                                         fields=fields, custom=True))
        return objs

    schema._build_objects = build_with_extras
    schema.OBJECT_PERMISSION_OBJECTS = tuple(schema.OBJECT_PERMISSION_OBJECTS) + tuple(names)
    schema.FLS_OBJECTS = tuple(schema.FLS_OBJECTS) + tuple(names)


def main(argv=None):
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--extra-objects", type=int, default=0)
    args, rest = p.parse_known_args(argv)
    if args.extra_objects:
        extend(args.extra_objects)
    return cli.main(rest)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Validate JSON instances against a JSON Schema with the `jsonschema` package.

usage: jsonschema_check.py SCHEMA INSTANCE...
Prints one line per instance: "ok PATH" or "invalid PATH: message"; exits 0 only
when every instance is valid. The draft is taken from the schema's "$schema".
"""
import json
import sys

import jsonschema


def main() -> int:
    schema_path, *instances = sys.argv[1:]
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)
    failed = 0
    for path in instances:
        with open(path, encoding="utf-8") as f:
            instance = json.load(f)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
        if errors:
            failed += 1
            where = "/".join(str(p) for p in errors[0].path)
            print(f"invalid {path}: {where}: {errors[0].message}")
        else:
            print(f"ok {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

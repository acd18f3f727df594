#!/usr/bin/env python3
"""Validates OCSF Compliance Findings (JSON lines, files or stdin) with
py-ocsf-models (PyPI; the models Prowler uses).

Each line must be a ComplianceFinding (class 2003), and the model must keep every
field: a field the model does not know would be dropped silently by pydantic, so
the input is compared with the model's own dump. Exits non-zero naming the line
and the problem.
"""
import json
import sys

from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding


def differences(given, kept, path=""):
    if isinstance(given, dict) and isinstance(kept, dict):
        for key, value in given.items():
            if key not in kept:
                yield f"{path}.{key}: not in the OCSF model"
            else:
                yield from differences(value, kept[key], f"{path}.{key}")
    elif isinstance(given, list) and isinstance(kept, list) and len(given) == len(kept):
        for i, (a, b) in enumerate(zip(given, kept)):
            yield from differences(a, b, f"{path}[{i}]")
    elif given != kept:
        yield f"{path}: {given!r} became {kept!r}"


def main():
    failed = 0
    count = 0
    sources = [open(p) for p in sys.argv[1:]] or [sys.stdin]
    for source in sources:
        for number, line in enumerate(source, 1):
            if not line.strip():
                continue
            count += 1
            event = json.loads(line)
            try:
                model = ComplianceFinding.model_validate(event)
            except Exception as error:  # pydantic.ValidationError
                print(f"{source.name}:{number}: {error}", file=sys.stderr)
                failed += 1
                continue
            kept = json.loads(model.model_dump_json(exclude_none=True))
            problems = list(differences(event, kept))
            if event.get("class_uid") != 2003:
                problems.append("class_uid is not 2003")
            for problem in problems:
                print(f"{source.name}:{number}: {problem}", file=sys.stderr)
            failed += bool(problems)
    if count == 0:
        print("no OCSF events to validate", file=sys.stderr)
        return 1
    print(f"{count} OCSF Compliance Finding(s) validated, {failed} invalid")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

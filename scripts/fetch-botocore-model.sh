#!/usr/bin/env bash
# Installs botocore into a Python venv and prints the path of the official
# Well-Architected Tool API model (service-2.json.gz), which
# crates/wa-simulator/tests/conformance.rs reads from $REL04D_BOTOCORE_MODEL:
#
#   export REL04D_BOTOCORE_MODEL="$(scripts/fetch-botocore-model.sh)"
#   cargo test -p rel04d-simulator --test conformance
#
# Usage: fetch-botocore-model.sh [VENV_DIR]   (default: .venv)
# Progress goes to stderr, so stdout is only the model path.
set -euo pipefail

venv="${1:-.venv}"
python="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]]; then
    echo "creating venv $venv" >&2
    "$python" -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c 'import botocore' 2>/dev/null; then
    echo "installing botocore into $venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check botocore >&2
fi

model="$("$venv/bin/python" - <<'PY'
import os, botocore
path = os.path.join(os.path.dirname(botocore.__file__),
                    "data", "wellarchitected", "2020-03-31", "service-2.json.gz")
if not os.path.exists(path):
    plain = path[:-3]
    if os.path.exists(plain):
        path = plain
    else:
        raise SystemExit("botocore has no wellarchitected 2020-03-31 model at " + path)
print(os.path.abspath(path))
PY
)"
echo "botocore $("$venv/bin/python" -c 'import botocore; print(botocore.__version__)'): $model" >&2
printf '%s\n' "$model"

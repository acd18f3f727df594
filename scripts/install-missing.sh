#!/usr/bin/env bash
# scripts/install-missing.sh COMMAND PACKAGE: installs the Debian package PACKAGE
# (apt-get, as root or through sudo) when COMMAND is not on PATH; else does nothing.
set -euo pipefail
command="${1:?usage: $0 COMMAND PACKAGE}"
package="${2:?usage: $0 COMMAND PACKAGE}"
command -v "$command" >/dev/null && exit 0
echo "==> installing Debian's $package (for $command)" >&2
sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo)
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package" >/dev/null

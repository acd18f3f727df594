#!/usr/bin/env bash
# Fails when a binary needs a shared library that the distroless cc-debian12
# runtime may lack: only glibc's libraries and libgcc_s are relied on (a system
# libsqlite3 or OpenSSL pulled in by a new feature would break the image at start).
#
#   scripts/check-shared-libraries.sh target/release/rel04d
#
# Used by the Dockerfile's builder stage and by scripts/container-test.sh.
set -euo pipefail

binary="${1:?usage: $0 BINARY}"
needed="$(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')"
for lib in $needed; do
    case "$lib" in
        libc.so.*|libm.so.*|libgcc_s.so.*|ld-linux-*.so.*|libdl.so.*|libpthread.so.*|librt.so.*) ;;
        *) echo "$binary: unexpected shared library $lib (the distroless runtime may lack it)" >&2; exit 1 ;;
    esac
done

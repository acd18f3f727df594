# syntax=docker/dockerfile:1
#
# rel04d container image.
#
#   docker build -t rel04d .
#   docker run --read-only -p 127.0.0.1:9404:9404 -e AWS_REGION=us-east-1 rel04d
#
# Two stages: a Debian 12 (bookworm) Rust toolchain builds the binary, and
# a distroless Debian 12 "cc" runtime holds that binary with glibc, libgcc_s, CA
# certificates and tzdata (plus libstdc++ and OpenSSL, which rel04d does not use):
# no shell, no package manager. Both stages are Debian 12, so the binary's glibc
# requirement (2.34 today) is met by the runtime's glibc 2.36.
#
# Build args let CI pin the bases by digest (recommended), e.g.
#   --build-arg RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot@sha256:...
#
# The builder stage can be replaced by a binary built elsewhere, with a named build
# context of the same name (Docker BuildKit and podman/buildah both let one
# override a stage):
#   --build-context builder=DIR     (DIR/out/usr/local/bin/rel04d, DIR/out/var/lib/rel04d)
# scripts/container-test.sh does that: CI has just built the binary with this same
# `cargo build --profile dist --locked`, cannot pull the Rust image, and would
# spend ten more minutes building it again. The runtime stage, which is what that
# test is about, is used exactly as shipped.

ARG RUST_IMAGE=rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

# ---------------------------------------------------------------------------------
FROM ${RUST_IMAGE} AS builder

WORKDIR /src
# The whole crate (Cargo.toml may declare benches/tests whose files must exist);
# .dockerignore keeps target/, .git, venvs, wheels and databases out of the context.
COPY . .

# One build command. No database is needed at build time: rel04d uses runtime sqlx
# queries only (no query! macros, so no offline data); sqlx::migrate! just embeds
# migrations/. SQLite is bundled and compiled with the image's gcc, and TLS is
# rustls, so no -dev packages are needed. The size settings (fat LTO, one codegen
# unit, opt-level "s", strip) live in Cargo.toml's [profile.dist], so local and
# image builds give the same binary (about 15 MB; the runtime base adds about 24 MB);
# [profile.release] stays quick to build for `cargo run --release -- demo`.
#
# The cache mounts keep the crates.io download and the target dir between builds;
# the binary is copied out of the cache mount in the same step.
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --profile dist --locked \
    && install -D -m 0755 target/dist/rel04d /out/usr/local/bin/rel04d

# Fail the build if the binary needs a shared library that the distroless runtime
# may lack (e.g. a system libsqlite3 or OpenSSL pulled in by a new feature).
# The same script checks a prebuilt binary in scripts/container-test.sh.
RUN scripts/check-shared-libraries.sh /out/usr/local/bin/rel04d \
    && install -d -m 0750 /out/var/lib/rel04d

# ---------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE}

LABEL org.opencontainers.image.title="rel04d" \
      org.opencontainers.image.description="Keeps the AWS Well-Architected REL 04 control true across workloads"

COPY --from=builder /out/usr/local/bin/rel04d /usr/local/bin/rel04d
# The state directory, owned by the runtime user. It is copied as an entry of
# /var/lib/ so that --chown applies to the directory itself.
COPY --from=builder --chown=65532:65532 /out/var/lib/ /var/lib/

# distroless "nonroot" (65532), named by number so that runtimes that check for a
# non-root user without reading /etc/passwd (Kubernetes runAsNonRoot) accept it.
USER 65532:65532
WORKDIR /var/lib/rel04d

# The only writable place the image needs, so the root filesystem can be read-only
# (docker run --read-only, ECS readonlyRootFilesystem). Docker gives the volume the
# directory's owner; on ECS Fargate a bind mount whose containerPath equals this
# VOLUME path gets the same owner, so the non-root user can write to it.
# SQLite's journal files and any temporary files (TMPDIR) go here too.
VOLUME ["/var/lib/rel04d"]

# - The state database lives on the volume. A Postgres deployment overrides this
#   with REL04D__DATABASE__URL=postgres://... (a secret, not a plain variable).
# - HTTP listens on all interfaces because a container's loopback is unreachable
#   from the host, the orchestrator and a Prometheus scraper. Trade-off: anything
#   that can reach the container's network can read /healthz, /readyz and /metrics
#   (workload counts and states; no secrets), POST /events when
#   http.events_token is set, and POST /graphql (every control) only when
#   http.graphql_token is set — without it GraphQL is off on a non-loopback
#   listener. Publish the port only to trusted networks
#   (e.g. -p 127.0.0.1:9404:9404, or a security group with no public ingress),
#   or set REL04D__HTTP__LISTEN=127.0.0.1:9404 if nothing outside needs it.
ENV REL04D__DATABASE__URL="sqlite:///var/lib/rel04d/rel04d.db?mode=rwc" \
    REL04D__HTTP__LISTEN="0.0.0.0:9404" \
    TMPDIR="/var/lib/rel04d"

EXPOSE 9404

# No shell or curl in distroless: the binary checks itself. `rel04d healthcheck`
# GETs http://127.0.0.1:<port of http.listen>/healthz with a short timeout and
# exits 0 on 200, 1 otherwise (liveness only: a slow AWS account must not get the
# container restarted; /readyz is for dashboards and alarms).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/rel04d", "healthcheck"]

# SIGTERM (docker stop, ECS) makes the daemon finish or abandon in-flight work
# safely and exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/rel04d"]
CMD ["run"]

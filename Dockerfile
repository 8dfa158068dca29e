# syntax=docker/dockerfile:1
#
# The gitops-env container: one static binary in a distroless image with CA certificates.
#
#   docker build -t gitops-env .
#   docker run --rm -v "$PWD:/repo" gitops-env plan --repo /repo
#
# Stages: `chef` (toolchain + cargo-chef) → `planner` (dependency recipe from the manifests) →
# `builder` (dependencies cooked in their own cached layer, then our code) → the final image.
# Editing our sources only rebuilds from the second `cargo build`; the dependency layer stays
# cached until Cargo.toml or Cargo.lock change.

# The toolchain the project is developed and tested with (at least the workspace's rust-version).
ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-alpine AS chef
# Alpine's Rust targets musl and links it statically: the binary needs nothing from the image.
# build-base/perl/cmake: C toolchains that crypto crates (ring, aws-lc-sys) may compile with.
RUN apk add --no-cache build-base perl cmake \
 && cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json --bin gitops-env

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json --package gitops-env --bin gitops-env
COPY . .
RUN cargo build --release --locked --package gitops-env --bin gitops-env \
 && cp target/release/gitops-env /gitops-env \
 # Fail the build, not the user's workflow, if the binary is not static after all (a dynamic
 # executable names its loader in a PT_INTERP header; distroless/static has no loader).
 && if readelf -l /gitops-env | grep -q 'program interpreter'; then echo "gitops-env is not static" >&2; exit 1; fi \
 && /gitops-env --version

# distroless/static: CA certificates, /etc/passwd, tzdata, nothing else (no shell, no libc).
# Not the :nonroot variant: GitHub runs container actions as root so that they can write to the
# mounted GITHUB_WORKSPACE and GITHUB_OUTPUT files, and documents that a USER breaks that.
FROM gcr.io/distroless/static-debian12
LABEL org.opencontainers.image.title="gitops-env" \
      org.opencontainers.image.description="Preview, testing and production environments on Kubernetes from a Kustomize repository, driven by branches" \
      org.opencontainers.image.source="https://github.com/gitops-env/gitops-env" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /gitops-env /gitops-env
# The binary is the entrypoint; the command defaults to `action` (what action.yml's `args` also
# pass), so `docker run IMAGE plan ...` runs any other subcommand.
ENTRYPOINT ["/gitops-env"]
CMD ["action"]

# syntax=docker/dockerfile:1
# wasm-bpf as a container image holding one static binary. The build stage
# runs scripts/build-static.sh, the same script CI runs and checks, so the
# image holds exactly what CI proved; this file only supplies its inputs.
#
#   docker build -t wasm-bpf .
#   docker run --rm --cap-add BPF --cap-add PERFMON \
#     -v /sys/kernel/tracing:/sys/kernel/tracing -v /sys/fs/bpf:/sys/fs/bpf \
#     -v "$PWD/examples/bootstrap/bootstrap.wasm:/bootstrap.wasm:ro" wasm-bpf /bootstrap.wasm
#
# internal/releaseimage builds the same image without Docker (one file,
# /wasm-bpf, mode 0755; this ENTRYPOINT; the PATH Docker gives); CI runs
# that one with runc (README, "Static binary and container image").

FROM golang:1.26-bookworm AS build
WORKDIR /src
# The static archives build-static.sh links (libbpf 1.4 from bookworm-backports,
# libelf, zlib, zstd) and `file` for its check; with these present it does not
# run deps.sh. backports.sh adds the suite with the image's own Debian mirror.
COPY scripts/backports.sh scripts/
RUN bash scripts/backports.sh && apt-get update -qq \
	&& apt-get install -y -qq --no-install-recommends \
	libelf-dev zlib1g-dev libzstd-dev pkg-config file \
	&& apt-get install -y -qq --no-install-recommends -t bookworm-backports libbpf-dev \
	&& rm -rf /var/lib/apt/lists/*
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# No kernel to load into while building: the script skips its guest run.
ARG WASM_BPF_VERSION
RUN WASM_BPF_VERSION=${WASM_BPF_VERSION} SKIP_GUEST_RUN=1 bash scripts/build-static.sh /out/wasm-bpf

FROM scratch
COPY --from=build /out/wasm-bpf /wasm-bpf
ENTRYPOINT ["/wasm-bpf"]

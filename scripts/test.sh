#!/usr/bin/env bash
# test.sh: on a fresh machine, install what is needed and run the whole test
# suite, kernel end-to-end tests included, on this kernel and, in VMs, on
# Debian's 6.1 and 6.12 (scripts/kernel-matrix.sh). With CI=true a test that
# needs BPF (or QEMU, for the VMs) fails rather than skips when it is
# unavailable.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
export PATH=$PATH:/usr/local/go/bin

make -s -C examples
go vet ./...
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt needed: $unformatted" >&2
	exit 1
fi
# The guests the tests build are kept (internal/testenv's store) for the
# kernel matrix below, whose VMs have no toolchain. TestReleaseImage runs
# the release image, which needs the static binary: below.
store=$(mktemp -d /tmp/wasm-bpf-store.XXXXXX)
trap 'rm -rf "$store"' EXIT
WASM_BPF_TESTENV_STORE=$store go test -count=1 -timeout 15m -skip '^TestReleaseImage$' ./...
# The fuzz targets over hostile input, a few seconds each besides their seeds
# (minimisation bounded: the seeds are whole BPF objects).
go test -run '^$' -fuzz FuzzAnalyze -fuzztime 5s -fuzzminimizetime 50x ./policy/
go test -run '^$' -fuzz FuzzFind -fuzztime 5s -fuzzminimizetime 50x ./internal/wasmobj/
# The embedding API and the agent are shared by goroutines: run them under the race detector too.
go test -race -count=1 -timeout 5m ./host/... ./agent/...
# The release binary: static and self-checked, then the example tests and the parity guests (docs/parity.md) with it.
bash scripts/build-static.sh
# TestEmbed runs no CLI; TestGenRust and TestBootstrapBurst check gen rust's output and measure, which the first run did.
WASM_BPF_BIN=$PWD/dist/wasm-bpf go test -count=1 -timeout 5m -skip 'TestEmbed|TestGenRust|TestBootstrapBurst' ./examples/
# The container image of that binary, built without Docker, through a registry, run by runc.
WASM_BPF_STATIC=$PWD/dist/wasm-bpf go test -count=1 -timeout 5m -run '^TestReleaseImage$' -v ./e2e/
WASM_BPF_BIN=$PWD/dist/wasm-bpf PARITY_GUESTS=$store/parity bash scripts/parity.sh
# The same suites on other kernels (6.1 and 6.12, where LSM and fentry
# load), each booted under QEMU.
WASM_BPF_BIN=$PWD/dist/wasm-bpf bash scripts/kernel-matrix.sh --store "$store"

#!/usr/bin/env bash
# bench.sh [DRIVER FLAGS]: on a fresh machine, build wasm-bpf, the examples
# and the benchmark (bench/), then run every consumer of bench.bpf.c one
# after another, start-up, memory and density, and print markdown tables
# with each figure's ratio to the native libbpf consumer (or to the
# reference runtime's figure) and, last, every target and whether it is
# met. See docs/performance.md; flags: go run ./bench/driver -h (e.g.
# -repeat 5, -only classic, -skip unpaced,maps).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh >&2
export PATH=$PATH:/usr/local/go/bin

go build -o wasm-bpf .
make -s -C examples >&2
make -s -C bench WASM_BPF="$PWD/wasm-bpf" >&2
go build -o bench/build/density ./bench/density
exec go run ./bench/driver -dir bench -runtime ./wasm-bpf "$@"

#!/usr/bin/env bash
# demo.sh [SECONDS]: on a fresh machine, install what is needed, build
# wasm-bpf and the examples, and run the bootstrap example against the
# kernel. Without SECONDS it runs until Ctrl-C; with SECONDS it stops itself
# (SIGINT) after that long. A few commands are run after start-up so there
# is something to see on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
export PATH=$PATH:/usr/local/go/bin

go build -o wasm-bpf .
make -s -C examples

(sleep 1; for cmd in true ls uname; do "$cmd" >/dev/null; sleep 0.2; done) &
if [ -n "${1:-}" ]; then
	status=0
	timeout --foreground -s INT "$1" ./wasm-bpf examples/bootstrap/bootstrap.wasm || status=$?
	[ "$status" -eq 124 ] && exit 0 # stopped after SECONDS, as asked
	exit "$status"
fi
exec ./wasm-bpf examples/bootstrap/bootstrap.wasm

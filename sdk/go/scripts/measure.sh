#!/usr/bin/env bash
# Measures a ring-buffer guest that prints one line per exec (examples/execve,
# examples/go-execve, or any module printing the exec'd path last):
#   start-up:  launch of wasm-bpf to the guest's header line (loaded and
#              attached), with and without the compile cache;
#   first event: exec of a probe after the header to its line;
#   flood:     execve() of a missing file in a tight loop for 2 s (the
#              tracepoint fires, the call fails at once: far more events
#              than any consumer here takes, so the ring buffer overflows
#              and the BPF side drops); the records the guest printed per
#              second is its throughput, and CPU per record its cost;
#   burst:     N execs, every one reported, and the runtime's CPU time per
#              event (/proc/PID/task/*/schedstat: wasm-bpf and its guest's work
#              for that event, delivery and printing included).
# Usage: measure.sh WASM_BPF MODULE.wasm [N]   (root, after make -C examples)
set -euo pipefail
cli=$1 mod=$2 n=${3:-2000}
tmp=$(mktemp -d)
pid=
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
now() { date +%s%N; }
# CPU time of every thread of the runtime, in ns.
cputime() { cat /proc/$pid/task/*/schedstat | awk '{ s += $1 } END { printf "%d\n", s }'; }

startup() { # $@: extra flags; sets pid and ms
	local t0 t1
	: >"$tmp/out"
	t0=$(now)
	"$cli" "$@" "$mod" >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	until [ -s "$tmp/out" ]; do sleep 0.002; done
	t1=$(now)
	ms=$(((t1 - t0) / 1000000))
}

startup --no-cache
cold=$ms
kill -INT $pid; wait $pid || true
startup # fills the compile cache
kill -INT $pid; wait $pid || true
startup
warm=$ms
probe=$tmp/probe-first
ln -s /bin/true "$probe"
t0=$(now); "$probe"
until grep -q "$probe\$" "$tmp/out"; do sleep 0.001; done
first=$((($(now) - t0) / 1000))

burst=$tmp/probe-burst
ln -s /bin/true "$burst"
cpu0=$(cputime)
t0=$(now)
for ((i = 0; i < n; i++)); do "$burst"; done
until [ "$(grep -c "$burst\$" "$tmp/out")" -ge "$n" ]; do sleep 0.005; done
t1=$(now)
cpu1=$(cputime)
got=$(grep -c "$burst\$" "$tmp/out")
burst_ms=$(((t1 - t0) / 1000000))
# All events are of the burst's execs plus whatever else ran meanwhile.
all=$(($(wc -l <"$tmp/out") - 2))
per=$(((cpu1 - cpu0) / all))
flood=/nonexistent-flood-$$
cpu0=$(cputime)
t0=$(now)
python3 -c '
import os, sys, time
end = time.monotonic() + 2
n = 0
while time.monotonic() < end:
    for _ in range(1000):
        try:
            os.execv(sys.argv[1], [sys.argv[1]])
        except OSError:
            pass
    n += 1000
print(n)' "$flood" >"$tmp/attempts"
# Let the guest drain what is left in the ring buffer.
prev=-1
while :; do
	c=$(grep -c "$flood\$" "$tmp/out" || true)
	[ "$c" = "$prev" ] && break
	prev=$c
	sleep 0.3
done
t1=$(now)
cpu1=$(cputime)
fl_ms=$(((t1 - t0) / 1000000 - 300))
fl_per=$(((cpu1 - cpu0) / (c > 0 ? c : 1)))

printf '%s: %d bytes; start-up %d ms cold, %d ms cached; first event %d us; burst %d/%d reported in %d ms; %d ns CPU per event (ceiling ~%d events/s at this rate)\n' \
	"$(basename "$mod")" "$(stat -c %s "$mod")" "$cold" "$warm" "$first" "$got" "$n" $((burst_ms)) "$per" $((1000000000 / per))
printf '  flood: %d of %d execve attempts printed in %d ms: %d events/s, %d ns CPU per event\n' \
	"$c" "$(cat "$tmp/attempts")" "$fl_ms" $((c * 1000 / fl_ms)) "$fl_per"

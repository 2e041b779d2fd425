#!/bin/sh
# kernel-vm-test.sh: /init of the virtual machines that scripts/kernel-matrix.sh
# boots, one per kernel. It runs, against the kernel it booted with, the
# example tests and the end-to-end tests (the repository's own test binaries,
# with the guests the host built: internal/testenv's store) and the parity
# guests (scripts/parity.sh), with the static wasm-bpf.
#
# What comes back to the host, never through the console:
#   /dev/ttyS1  one line per check, "ok|FAIL|skip NAME (DETAIL)", lines
#               "info ..." about the VM, and a last line
#               "summary: N passed, N failed, N skipped";
#   /dev/vda    a tar archive (written over the disk) of the compile cache
#               and of the full logs; the host gave the cache in the same way.
#
# /matrix.env (written by the host) sets ROOT (the repository's path on the
# host, where the test binaries sit as in the tree), STORE, PARITY_GUESTS
# and SKIP (the tests not run here, "PKG/TEST REASON" a line: host tests).
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
export HOME=/root
. /matrix.env

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t securityfs securityfs /sys/kernel/security
mkdir -p /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup
mkdir -p /tmp /root /results /cache /var
ln -s /run /var/run
ip link set lo up

out=/dev/ttyS1
# The UART's speed bounds how fast QEMU takes the lines.
stty -F "$out" 115200 2>/dev/null
# report STATUS NAME [DETAIL]: one check's line, to the host and to the log.
report() {
	echo "$1 $2${3:+ ($3)}" | tee -a /results/checks >"$out"
}
count() { grep -c "^$1 " /results/checks; }
finish() {
	for f in $(find /cache -type f); do
		[ "$(stat -c %X "$f")" -gt 86400 ] || rm -f "$f"
	done
	report info "compile cache: $(find /cache -name '*.cwasm' | wc -l) compiled guests go back"
	echo "summary: $(count ok) passed, $(count FAIL) failed, $(count skip) skipped" >"$out"
	[ ! -b /dev/vda ] || tar -cf /dev/vda -C / cache results || echo "FAIL writing the results disk" >"$out"
	sync
	poweroff -f
}

report info "kernel $(uname -r), booted in $(cut -d' ' -f1 /proc/uptime) s, LSMs $(cat /sys/kernel/security/lsm)"
case ",$(cat /sys/kernel/security/lsm)," in
*,bpf,*) ;;
*) report FAIL "BPF LSM: bpf missing from /sys/kernel/security/lsm" ;;
esac
[ -r /sys/kernel/btf/vmlinux ] || report FAIL "kernel BTF: /sys/kernel/btf/vmlinux missing"

# Modules the tests need that the kernel has as modules (veth; virtio_blk,
# whose disk carries the results), in dependency order.
if [ -s /modules/order ]; then
	while read -r m; do
		insmod "/modules/$m.ko" 2>/tmp/insmod.err || report FAIL "insmod $m" "$(cat /tmp/insmod.err)"
	done </modules/order
fi
for _ in 1 2 3 4 5 6 7 8 9 10; do
	[ -b /dev/vda ] && break
	sleep 0.2
done
# The compile cache from earlier runs (the host wrote it as a tar archive).
# Its entries are dated 1970 and every read dates one anew (strictatime):
# finish keeps only what this run used, so the cache holds today's guests.
mount -t tmpfs -o strictatime tmpfs /cache
if [ -b /dev/vda ]; then
	tar -xf /dev/vda -C /cache 2>/dev/null
	find /cache -type f -exec touch -a -d '1970-01-02 00:00:00' {} +
else
	report info "no /dev/vda (virtio_blk neither built in nor given as a module): no compile cache, and the logs stay in the VM"
fi
export XDG_CACHE_HOME=/cache
export CI=true WASM_BPF_TEST_REQUIRE=lsm,fentry WASM_BPF_TESTENV_STORE=$STORE

# Compile every guest once, into the cache, so that the tests' bounds (a
# first line within 10 s) measure the runtime, not Cranelift under TCG. A
# 1 ms timeout ends each guest as soon as it is compiled.
now() { cut -d' ' -f1 /proc/uptime; }
cached=$(find /cache -name '*.cwasm' | wc -l)
t0=$(now)
n=0
for w in $(find "$STORE" -name '*.wasm' | sort); do
	a=$(now)
	wasm-bpf --timeout 1ms "$w" >/dev/null 2>&1 </dev/null
	echo "$w $(awk -v a="$a" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }') s" >>/results/compile.log
	n=$((n + 1))
done
report info "compile cache: $n guests ready in $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s ($cached compiled guests came in)"

# why LOG TEST: one line on why TEST failed: the first failed subtest (or
# TEST) and the last line it logged. (The full output is in the log; the
# runtime's refusals in it may be what a test expected.)
why() {
	awk -v t="$2" '
		/^=== RUN   / { cur = $3 }
		(cur == t || index(cur, t "/") == 1) && /^[ \t]+[a-zA-Z0-9_]+\.go:[0-9]+: / { last[cur] = $0; sub(/^[ \t]+/, "", last[cur]) }
		/^[ \t]*--- FAIL: / && !sub1 && index($3, t "/") == 1 { sub1 = $3 }
		END {
			if (sub1) printf "%s: %s", sub1, last[sub1]
			else printf "%s", last[t]
		}' "$1"
}

# skipwhy LOG TEST: why TEST skipped: the last line it logged before its
# "--- SKIP" line (go test prints a test's log before its result).
skipwhy() {
	awk -v t="$2" '
		/^=== RUN   / { cur = $3 }
		cur == t && /^[ \t]+[a-zA-Z0-9_]+\.go:[0-9]+: / { why = $0; sub(/^[ \t]+[a-zA-Z0-9_]+\.go:[0-9]+: /, "", why) }
		END { printf "%s", why }' "$1"
}

# gotest PKG FLAGS...: run PKG's test binary from its directory, as go test
# does, and report each top-level test.
gotest() {
	pkg=$1
	shift
	log=/results/$pkg.log
	(cd "$ROOT/$pkg" && "./$pkg.test" -test.v -test.count=1 "$@") >"$log" 2>&1
	status=$?
	grep -E '^--- (PASS|FAIL|SKIP): ' "$log" | while read -r _ st name took; do
		case $st in
		PASS:) report ok "$pkg/$name" "$(echo "$took" | tr -d '()')" ;;
		SKIP:) report skip "$pkg/$name" "$(skipwhy "$log" "$name")" ;;
		FAIL:) report FAIL "$pkg/$name" "$(why "$log" "$name")" ;;
		esac
	done
	# A binary with failed tests ends its output with FAIL and exits 1; any
	# other end (killed: the OOM killer, the timeout) is a failure of its own,
	# also beside failed tests, as the tests after it never ran.
	if [ "$status" -ne 0 ] && ! { [ "$status" -eq 1 ] && [ "$(tail -1 "$log")" = FAIL ]; }; then
		report FAIL "$pkg" "test binary exited $status before its end: $(tail -3 "$log" | tr '\n' ' ')"
	fi
}

# The CLI runs at its default level, as users run it: the tests check what
# it prints there (a failed load's line quotes the end of the verifier's
# log).
export WASM_BPF_BIN=/usr/local/bin/wasm-bpf
for pkg in examples e2e; do
	skip=$(echo "$SKIP" | sed -n "s|^$pkg/\([^ ]*\) \(.*\)|\1 \2|p")
	echo "$skip" | while read -r t reason; do
		[ -z "$t" ] || report skip "$pkg/$t" "not run in the VM: $reason"
	done
	timeout=5m
	[ "$pkg" = e2e ] && timeout=8m
	gotest "$pkg" -test.timeout "$timeout" -test.skip "^($(echo "$skip" | awk '{ printf "%s%s", (NR > 1 ? "|" : ""), $1 }'))\$"
done

# The parity guests: same output as on the host, or the script's diff.
(cd "$ROOT" && PARITY_GUESTS=$PARITY_GUESTS bash scripts/parity.sh) >/results/parity.log 2>&1
status=$?
sed -n 's/^parity: \([a-z]*\): ours: \(.*\)$/\1 \2/p' /results/parity.log | while read -r g v; do
	if [ "$v" = same ]; then report ok "parity/$g"; else report FAIL "parity/$g" "$v"; fi
done
if [ "$status" -ne 0 ] && ! grep -q ': ours: different' /results/parity.log; then
	report FAIL parity "scripts/parity.sh exited $status: $(tail -3 /results/parity.log | tr '\n' ' ')"
fi

finish

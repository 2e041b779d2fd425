#!/usr/bin/env bash
# parity.sh [OTHER_RUNTIME]: run the conformance guests (docs/parity.md)
# against the kernel under our wasm-bpf and compare their normalised output
# with the expectations committed in parity/expected/.
#
# Without an argument, every guest must give exactly the expected output
# (part of scripts/test.sh). With the path of another wasm-bpf runtime's
# binary (the C++ or Rust one), each guest also runs under it and gets a
# verdict: same, different-as-documented (every differing line is one of
# our documented stricter answers, docs/parity.md), or different.
#
# Our binary is $WASM_BPF_BIN, or one built from this tree. UPDATE=1
# rewrites the expectations from our output (review the diff!). Guests are
# built from source here, never taken from the tree; PARITY_GUESTS=DIR keeps
# them in DIR, built by the first run and reused by later ones. Needs root
# and BPF.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
root=$PWD

other=
if [ -n "${1:-}" ]; then
	other=$(realpath "$1")
	[ -x "$other" ] || { echo "parity: $1 is not an executable" >&2; exit 2; }
fi

# As the Go tests: without BPF, skip, unless CI=true says it must run.
if [ "$(id -u)" -ne 0 ] || [ ! -r /sys/kernel/btf/vmlinux ]; then
	[ "${CI:-}" != true ] || { echo "parity: FAIL: needs root and kernel BTF (CI=true)" >&2; exit 1; }
	echo "parity: skipped: needs root and kernel BTF"
	exit 0
fi

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

ours=${WASM_BPF_BIN:-}
if [ -z "$ours" ]; then
	ours=$work/wasm-bpf
	go build -o "$ours" .
fi
ours=$(realpath "$ours")
echo "parity: ours: $ours${other:+; other: $other}"

# --- building the guests ----------------------------------------------------
# In $PARITY_GUESTS if set: there they are built once and then reused
# (scripts/kernel-matrix.sh builds them on the host and runs this script in
# virtual machines that have no toolchain).
guests_dir=${PARITY_GUESTS:-$work/guests}
mkdir -p "$guests_dir"
guests_dir=$(realpath "$guests_dir")
if [ ! -e "$guests_dir/.built" ]; then
	# The examples with their own Makefiles, in a copy (the tree stays as
	# it is); `gen skeleton` is ours whichever runtime is compared.
	mkdir -p "$work/src/sdk"
	cp -a examples "$work/src/examples"
	cp -a sdk/c "$work/src/sdk/c"
	make -s -C "$work/src/examples" clean WASM_BPF="$ours" >/dev/null
	make -s -C "$work/src/examples" bootstrap execve sockfilter WASM_BPF="$ours" >/dev/null
	for g in bootstrap execve sockfilter; do
		cp "$work/src/examples/$g/$g.wasm" "$guests_dir/"
	done
	vmlinux_dir=$work/src/examples/build

	# The hostile guest as e2e/ builds it (internal/testenv): its BPF
	# objects stripped of DWARF and embedded as C arrays.
	arch=$(uname -m | sed 's/x86_64/x86/; s/aarch64/arm64/')
	embed() { # SRC SYMBOL: compile a .bpf.c and write SYMBOL.h holding the object
		local obj=$work/$2.o
		clang -g -O2 -target bpf -D__TARGET_ARCH_"$arch" -I"$vmlinux_dir" -Ie2e/testdata -c "$1" -o "$obj"
		llvm-strip -g "$obj" 2>/dev/null || /usr/lib/llvm-14/bin/llvm-strip -g "$obj"
		{
			echo "static const unsigned char $2[] __attribute__((aligned(8))) = {"
			xxd -i <"$obj"
			echo "};"
			echo "static const unsigned int $2_len = $(stat -c %s "$obj");"
		} >"$work/$2.h"
	}
	embed e2e/testdata/events.bpf.c events_bpf
	embed e2e/testdata/reject.bpf.c reject_bpf
	clang --target=wasm32-wasi -O2 -Wall -Wextra -Wno-unused-parameter -Wl,--export-table \
		-Isdk/c -Ie2e/testdata -I"$work" e2e/testdata/hostile.c -o "$guests_dir/hostile.wasm"
	touch "$guests_dir/.built"
fi

# --- running a guest --------------------------------------------------------
# Probe processes have names no other process on the machine has (another
# run of this script among them): links to /bin/true, whose comm is the
# link's name (at most 15 characters: wbp, 6 hex digits, stop).
id=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
prefix=wbp$id
mkdir "$work/probe"
for n in 1 2 stop; do ln -s /bin/true "$work/probe/$prefix$n"; done
probe() { "$work/probe/$prefix$1"; }

# start RUNTIME RAW MODULE ARGS...: run a guest in the background, stdout to
# RAW. SIGINT is restored to its default: a background job of a script
# ignores it, and a runtime without its own handler would never stop.
start() {
	local rt=$1 raw=$2
	shift 2
	: >"$raw" # before wait_for looks at it
	XDG_CACHE_HOME=$work/cache env --default-signal=INT "$rt" "$@" >"$raw" 2>"$raw.err" &
	guest=$!
	pids+=("$guest")
}

# wait_for RAW ERE: wait (up to 20 s, wasm compilation included) for a line.
wait_for() {
	for _ in $(seq 200); do
		grep -Eq "$2" "$1" && return 0
		kill -0 "$guest" 2>/dev/null || { grep -Eq "$2" "$1"; return; }
		sleep 0.1
	done
	return 1
}

# wait_for_exit SECONDS: whether the guest ends within SECONDS.
wait_for_exit() {
	for _ in $(seq $(($1 * 10))); do
		kill -0 "$guest" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# finish RAW [INT]: stop the guest with SIGINT (if asked), wait for it
# (killing it after 15 s) and append its exit status to RAW.
finish() {
	local status=0 i
	[ -z "${2:-}" ] || kill -INT "$guest" 2>/dev/null || true
	for i in $(seq 150); do
		kill -0 "$guest" 2>/dev/null || break
		sleep 0.1
	done
	[ "$i" -lt 150 ] || kill -KILL "$guest" 2>/dev/null || true
	wait "$guest" || status=$?
	echo "exit $status" >>"$1"
}

# Each guest_NAME RUNTIME RAW runs one guest and triggers what it reports;
# norm_NAME turns its raw output into what is compared: machine noise (pids,
# times, fds, ports, paths) becomes a placeholder and only lines about our
# own activity are kept.

guest_hostile() {
	start "$1" "$2" "$guests_dir/hostile.wasm" "${prefix}stop"
	if wait_for "$2" '^ready$'; then
		probe 1
		probe 2
		wait_for "$2" "^event [0-9]+ [0-9]+ ${prefix}2\$" || true
		# Again if need be: a runtime that drops records (D3) would
		# otherwise wait for ever.
		for _ in 1 2 3; do
			probe stop
			wait_for_exit 2 && break
		done
	fi
	finish "$2"
}
norm_hostile() {
	sed -E -n \
		-e 's/^(info handles [a-zA-Z]+ fds) .*/\1 FD.../p' \
		-e "s/^event [0-9]+ [0-9]+ $prefix/event PID PPID PROBE/p" \
		-e 's/^done [0-9]+$/done N/p' \
		-e '/^(case |cases done$|ready$|exit )/p'
}

guest_bootstrap() {
	start "$1" "$2" "$guests_dir/bootstrap.wasm"
	if wait_for "$2" '^TIME +EVENT'; then
		probe 1
		probe 2
		wait_for "$2" "EXIT +${prefix}2 " || true
	fi
	finish "$2" INT
}
norm_bootstrap() {
	sed -E -n \
		-e '/^TIME +EVENT/{s/ +/ /g;p}' \
		-e "/ $prefix[0-9]+ /{s/^[0-9:]+ +//; s/ +/ /g; s/ [0-9]+ [0-9]+ / PID PPID /; s/$prefix/PROBE/g; s#$work/#WORK/#; s/\([0-9]+ms\)/(Nms)/; s/^/TIME /; p}" \
		-e '/^exit /p'
}

guest_execve() {
	start "$1" "$2" "$guests_dir/execve.wasm"
	if wait_for "$2" '^PID +PPID'; then
		probe 1
		probe 2
		wait_for "$2" "/probe/${prefix}2\$" || true
	fi
	finish "$2" INT
}
# At sys_enter_execve the comm is still the caller's (this script's shell).
norm_execve() {
	sed -E -n \
		-e '/^PID +PPID/{s/ +/ /g;p}' \
		-e "\#$work/probe/$prefix[0-9]+\$#{s/ +/ /g; s/^ ?[0-9]+ [0-9]+ [0-9]+ [^ ]+ /PID PPID UID COMM /; s/$prefix/PROBE/g; s#$work/#WORK/#; p}" \
		-e '/^exit /p'
}

# UDP datagrams to a port nobody listens on, over lo.
guest_sockfilter() {
	local port=$((20000 + RANDOM % 20000))
	echo "$port" >"$2.port"
	start "$1" "$2" "$guests_dir/sockfilter.wasm" lo
	if wait_for "$2" '^Capturing'; then
		# Until one is reported, for up to 10 s: a busy machine may take
		# longer than the 0.2 s between two.
		for _ in $(seq 50); do
			echo probe >"/dev/udp/127.0.0.1/$port"
			sleep 0.2
			grep -q -- "-> 127.0.0.1:$port\$" "$2" && break
		done
		sleep 0.3 # the rest of the datagrams, if the runtime reports any
	fi
	finish "$2" INT
}
norm_sockfilter() {
	local port
	port=$(cat "$1.port")
	sed -E -n \
		-e '/^Capturing/p' \
		-e "/-> 127\\.0\\.0\\.1:$port\$/{s/ +/ /g; s/:[0-9]+ ->/:PORT ->/; s/:$port\$/:PORT/; p}" \
		-e '/^exit /p' | uniq
}

guests=(hostile bootstrap execve sockfilter)

# --- comparing --------------------------------------------------------------
# The documented differences: rows of docs/parity.md's table
#   | D<n> | guest | `ERE` `ERE`... | why |
# A differing line that matches an ERE of its guest is an intended one.
documented() { # GUEST: print "ID<TAB>ERE" lines
	awk -F'|' -v g="$1" '
		$2 ~ /^ *D[0-9]+ *$/ {
			guest = $3; gsub(/ /, "", guest)
			if (guest != g) next
			id = $2; gsub(/ /, "", id)
			n = split($4, parts, "`")
			for (i = 2; i <= n; i += 2) print id "\t" parts[i]
		}' docs/parity.md
}

# verdict GUEST EXPECTED GOT: print a verdict; return 0 unless "different".
verdict() {
	local g=$1 want=$2 got=$3 ids=() id re
	if cmp -s "$want" "$got"; then
		echo "same"
		return 0
	fi
	diff "$want" "$got" | sed -n 's/^[<>] //p' >"$work/delta"
	cp "$want" "$work/want.rest"
	cp "$got" "$work/got.rest"
	while IFS=$'\t' read -r id re; do
		if grep -Eq -- "$re" "$work/delta"; then
			[[ " ${ids[*]} " == *" $id "* ]] || ids+=("$id")
		fi
		grep -Ev -- "$re" "$work/want.rest" >"$work/tmp" || true
		mv "$work/tmp" "$work/want.rest"
		grep -Ev -- "$re" "$work/got.rest" >"$work/tmp" || true
		mv "$work/tmp" "$work/got.rest"
	done < <(documented "$g")
	if ((${#ids[@]})) && cmp -s "$work/want.rest" "$work/got.rest"; then
		echo "different-as-documented (${ids[*]}: docs/parity.md)"
		return 0
	fi
	echo "different"
	diff -u --label expected --label got "$want" "$got" | sed 's/^/    /'
	return 1
}

failed=0
for g in "${guests[@]}"; do
	want=parity/expected/$g.out
	"guest_$g" "$ours" "$work/$g.ours.raw"
	"norm_$g" "$work/$g.ours.raw" <"$work/$g.ours.raw" >"$work/$g.ours"
	if [ "${UPDATE:-}" = 1 ]; then
		cp "$work/$g.ours" "$want"
		echo "parity: $g: wrote $want"
		continue
	fi
	if ! v=$(verdict "$g" "$want" "$work/$g.ours") || [ "${v%% *}" != same ]; then
		# Ours must match exactly: the expectations are our behaviour.
		echo "parity: $g: ours: $v"
		sed 's/^/    stderr: /' "$work/$g.ours.raw.err" | head -20
		failed=1
		continue
	fi
	echo "parity: $g: ours: same"
	if [ -n "$other" ]; then
		"guest_$g" "$other" "$work/$g.other.raw"
		"norm_$g" "$work/$g.other.raw" <"$work/$g.other.raw" >"$work/$g.other"
		v=$(verdict "$g" "$want" "$work/$g.other") || true
		echo "parity: $g: other: $v"
		if [[ $v == different$'\n'* ]]; then
			sed "s/^/    stderr: /" "$work/$g.other.raw.err" | head -20
			failed=1
		fi
	fi
done
exit "$failed"

#!/usr/bin/env bash
# kernel-matrix.sh [--kernel PATH]... [--store DIR] [SERIES...]: run the
# example tests (lsm, go-lsm and fentry among them), the end-to-end tests and
# the parity guests on other kernels, each booted under QEMU (TCG, one
# thread: KVM cannot run stock kernels on these machines), and print one line
# per check and a summary per kernel. Exit status 1 if any check failed.
#
# SERIES are Debian cloud kernel series (default: 6.1 6.12): the newest
# linux-image-SERIES.*-cloud-amd64-unsigned that apt knows is downloaded
# (apt-get download, never installed) and unpacked once into
# $XDG_CACHE_HOME/wasm-bpf/kernels, with the few modules the tests need.
# --kernel PATH boots that kernel image instead (a vmlinuz; its modules are
# taken from ../lib/modules/VERSION beside it, or /lib/modules/VERSION).
#
# What runs in the VMs is what the host built: the static wasm-bpf
# ($WASM_BPF_BIN, else scripts/build-static.sh), the test binaries of
# examples/ and e2e/ (go test -c, static), and the guests those tests build,
# taken from internal/testenv's store: --store DIR names one that a run of
# `go test ./examples ./e2e` and scripts/parity.sh filled (scripts/test.sh
# does so); without it, this script runs them on the host first to fill
# one. That needs a host where those suites run (root, kernel BTF).
#
# Inside, scripts/kernel-vm-test.sh is /init; its results come back over a
# second serial port and a disk image (never by reading the console), and
# the VM's compile cache is kept between runs in the cache directory (code
# compiled on the host cannot run in the VM). Logs: the work directory named
# at the end. A VM is stopped after $KERNEL_MATRIX_TIMEOUT seconds (900).
# With CI=true a missing QEMU or kernel is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
root=$PWD
start_all=$(date +%s)

# The tests the VMs do not run, one "PKG/TEST REASON" a line: the VMs have
# no toolchain and no container runtime, by design, so a test that builds
# at run time what is its subject (not a guest: those come from the store)
# or runs a container is a host test, and scripts/test.sh runs it there.
vm_skip='examples/TestEmbed builds a native program that embeds the runtime (go build, cc) at run time
examples/TestGenRust compiles the Rust that wasm-bpf gen rust writes with cargo at run time
e2e/TestNewTool builds the projects that wasm-bpf new writes with make, clang, go and cargo at run time
e2e/TestRustSDKUnit runs the tests of the Rust SDK crate with cargo test at run time
e2e/TestRustTemplate builds the Rust tool that wasm-bpf new --lang rust writes with make and cargo at run time
e2e/TestReleaseImage runs the release image with umoci and runc'
# Modules the VM loads if the kernel has them as modules: the disk that
# carries the results back (PCI transport first), and veth for XDP.
vm_modules=(virtio_pci virtio_blk veth)
vm_timeout=${KERNEL_MATRIX_TIMEOUT:-900} # seconds per VM

log() { echo "kernel-matrix: $*"; }
die() {
	echo "kernel-matrix: $*" >&2
	exit 1
}
# unavailable WHAT: this machine cannot run the matrix: a failure in CI, a
# skip elsewhere.
unavailable() {
	[ "${CI:-}" != true ] || die "FAIL: $* (CI=true: not skipped)"
	log "skipped: $*"
	exit 0
}

kernels=() series=() store=
while (($#)); do
	case $1 in
	--kernel)
		[ -n "${2:-}" ] || die "--kernel needs a path"
		[ -r "$2" ] || die "--kernel $2: no such file"
		kernels+=("$(realpath "$2")")
		shift 2
		;;
	--store)
		[ -d "${2:-}" ] || die "--store ${2:-}: not a directory"
		store=$(realpath "$2")
		shift 2
		;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	-*) die "unknown option $1 (--help)" ;;
	*)
		series+=("$1")
		shift
		;;
	esac
done
((${#kernels[@]} + ${#series[@]})) || series=(6.1 6.12)

for tool in qemu-system-x86_64 cpio; do
	command -v "$tool" >/dev/null || unavailable "$tool is not installed (scripts/deps.sh installs it)"
done
busybox=$(command -v busybox) || unavailable "busybox is not installed (scripts/deps.sh installs busybox-static)"
file -bL "$busybox" | grep -q 'statically linked' || unavailable "$busybox is not static (install busybox-static)"

cache=${XDG_CACHE_HOME:-$HOME/.cache}/wasm-bpf/kernels
mkdir -p "$cache"
work=$(mktemp -d /tmp/kernel-matrix.XXXXXX)
# On any exit: no VM outlives the script, and only the logs stay.
cleanup() {
	local f
	for f in "$work"/*/qemu.pid; do
		[ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
	done
	rm -rf "$work/rootfs" "$work/store" "$work"/*.cpio "$work"/*.test "$work"/*/initrd "$work"/*/disk.img "$work/wasm-bpf"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- kernels ----------------------------------------------------------------

# decompress FILE: a module's bytes, whatever it is compressed with.
decompress() {
	case $1 in
	*.xz) xz -dc "$1" ;;
	*.zst) zstd -qdc "$1" ;;
	*.gz) gzip -dc "$1" ;;
	*) cat "$1" ;;
	esac
}

# add_modules MODDIR OUT NAME...: put the modules NAME (and what they depend
# on, first) that MODDIR has as files into OUT, uncompressed, and append
# their names to OUT/order in load order. Built-in ones need nothing.
add_modules() {
	local moddir=$1 out=$2 m f deps
	shift 2
	for m in "$@"; do
		grep -qx "$m" "$out/order" 2>/dev/null && continue
		f=$(find "$moddir" -name "$m.ko" -o -name "$m.ko.*" | head -1)
		if [ -z "$f" ]; then
			grep -q "/$m.ko\$" "$moddir/modules.builtin" 2>/dev/null ||
				log "note: module $m not found in $moddir (the VM's tests that need it will fail)"
			continue
		fi
		decompress "$f" >"$out/$m.ko"
		deps=$(grep -a -o 'depends=[^[:cntrl:]]*' "$out/$m.ko" | head -1 | sed 's/^depends=//; s/,/ /g')
		# shellcheck disable=SC2086
		[ -z "$deps" ] || add_modules "$moddir" "$out" $deps
		echo "$m" >>"$out/order"
	done
}

# series_kernel SERIES: the directory (in the cache) of the newest Debian
# cloud kernel of SERIES, holding vmlinuz, config, version and modules/.
series_kernel() {
	local s=$1 re pkg dir deb
	re="^linux-image-${s//./\\.}\\.[0-9]+(-[0-9]+)?(\\+deb[0-9]+)?-cloud-amd64-unsigned\$"
	pkg=$(apt-cache search --names-only "$re" 2>/dev/null | awk '{ print $1 }' | sort -V | tail -1)
	if [ -z "$pkg" ]; then
		apt-get update -qq >/dev/null 2>&1 || true
		pkg=$(apt-cache search --names-only "$re" 2>/dev/null | awk '{ print $1 }' | sort -V | tail -1)
	fi
	[ -n "$pkg" ] || return 1
	dir=$cache/$pkg
	if [ "$(cat "$dir/ready" 2>/dev/null)" = "${vm_modules[*]}" ]; then
		echo "$dir"
		return
	fi
	mkdir -p "$dir"
	deb=$(find "$dir" -maxdepth 1 -name "${pkg}_*.deb" | head -1)
	if [ -z "$deb" ]; then
		log "downloading $pkg" >&2
		(cd "$dir" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >"$dir/download.log" 2>&1) || {
			cat "$dir/download.log" >&2
			return 1
		}
		deb=$(find "$dir" -maxdepth 1 -name "${pkg}_*.deb" | head -1)
	fi
	rm -rf "$dir/tree" "$dir/modules"
	dpkg-deb -x "$deb" "$dir/tree"
	local vmlinuz
	vmlinuz=$(find "$dir/tree/boot" -name 'vmlinuz-*' | head -1)
	[ -n "$vmlinuz" ] || return 1
	cp "$vmlinuz" "$dir/vmlinuz"
	cp "$dir/tree/boot/config-${vmlinuz##*/vmlinuz-}" "$dir/config" 2>/dev/null || true
	echo "${vmlinuz##*/vmlinuz-}" >"$dir/version"
	mkdir "$dir/modules"
	: >"$dir/modules/order"
	add_modules "$dir/tree/lib/modules/$(cat "$dir/version")" "$dir/modules" "${vm_modules[@]}" >&2
	rm -rf "$dir/tree"
	echo "${vm_modules[*]}" >"$dir/ready"
	echo "$dir"
}

# local_kernel PATH N: a directory like series_kernel's for a kernel image
# given with --kernel.
local_kernel() {
	local path=$1 dir=$work/local-$2 version moddir
	mkdir -p "$dir/modules"
	: >"$dir/modules/order"
	ln -s "$path" "$dir/vmlinuz"
	version=${path##*/vmlinuz-}
	if [ "$version" = "$path" ]; then
		version=$(file -bL "$path" | sed -n 's/.*, version \([^ ]*\) .*/\1/p')
	fi
	echo "${version:-$(basename "$path")}" >"$dir/version"
	for moddir in "$(dirname "$path")/../lib/modules/$version" "/lib/modules/$version"; do
		if [ -n "$version" ] && [ -d "$moddir" ]; then
			add_modules "$moddir" "$dir/modules" "${vm_modules[@]}"
			break
		fi
	done
	echo "$dir"
}

kdirs=()
for s in "${series[@]}"; do
	d=$(series_kernel "$s") || unavailable "no Debian cloud kernel of series $s (apt-cache search linux-image-$s; bookworm's updates or bookworm-backports, see scripts/backports.sh)"
	kdirs+=("$d")
done
for i in "${!kernels[@]}"; do
	kdirs+=("$(local_kernel "${kernels[$i]}" "$i")")
done

# --- what runs in the VMs ---------------------------------------------------
prep_start=$(date +%s)
ours=${WASM_BPF_BIN:-}
if [ -z "$ours" ]; then
	bash scripts/build-static.sh "$work/wasm-bpf" >"$work/build-static.log" 2>&1 || {
		cat "$work/build-static.log" >&2
		die "scripts/build-static.sh failed"
	}
	ours=$work/wasm-bpf
fi
ours=$(realpath "$ours")
file -bL "$ours" | grep -Eq 'statically linked|static-pie linked' || die "$ours is not a static binary (scripts/build-static.sh builds one)"

if [ -z "$store" ]; then
	store=$work/store
	log "building the tests' guests on the host (go test ./examples ./e2e and scripts/parity.sh with a store)"
	if ! WASM_BPF_TESTENV_STORE=$store WASM_BPF_BIN=$ours go test -count=1 ./examples ./e2e >"$work/host-tests.log" 2>&1; then
		tail -40 "$work/host-tests.log" >&2
		die "the tests fail on the host: fix that first (log: $work/host-tests.log)"
	fi
	PARITY_GUESTS=$store/parity WASM_BPF_BIN=$ours bash scripts/parity.sh >"$work/host-parity.log" 2>&1 || {
		cat "$work/host-parity.log" >&2
		die "scripts/parity.sh fails on the host"
	}
fi
[ -e "$store/parity/.built" ] || die "$store holds no parity guests (run scripts/parity.sh with PARITY_GUESTS=$store/parity)"
# The examples as the example tests built them: e2e's TestObjectFuzz takes
# their objects as seeds from the tree (examples/*/*.bpf.o).
examples_built=$store/examples-build/examples
[ -e "$examples_built/../.testenv-done" ] || die "$store holds no built examples (run go test ./examples with WASM_BPF_TESTENV_STORE=$store)"

# The test binaries: static, as the VM has no libraries (both link libbpf,
# and e2e wasmtime, as the release binary does).
for pkg in examples e2e; do
	CGO_ENABLED=1 CGO_LDFLAGS="$(pkg-config --static --libs libbpf)" \
		go test -c -tags netgo,osusergo -ldflags "-linkmode external -extldflags -static" \
		-o "$work/$pkg.test" "./$pkg" 2>"$work/$pkg-build.log" ||
		{
			cat "$work/$pkg-build.log" >&2
			die "go test -c ./$pkg failed"
		}
done

# The common initramfs: busybox, the host's tools that the tests and
# parity.sh run (with their libraries), wasm-bpf, the test binaries where
# the tree has them, the store, and /init.
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,usr/bin,usr/local/bin,proc,sys,dev,run,tmp}
cp "$busybox" "$rootfs/bin/busybox"
for a in $("$busybox" --list); do
	[ -e "$rootfs/bin/$a" ] || ln -s busybox "$rootfs/bin/$a"
done
# GNU tools where busybox differs: bash and the text tools parity.sh uses,
# env --default-signal, ip netns, setpriv --reuid and --bounding-set (the
# tests that run the CLI unprivileged), and true(1), which the tests run
# under other names through symlinks.
for t in bash sed grep awk diff cmp env true ip setpriv; do
	p=$(PATH=$PATH:/usr/sbin:/sbin type -P "$t") || die "$t not found on the host"
	cp -L "$p" "$rootfs/usr/bin/$t"
	ldd "$p" | grep -o '/[^ ]*' | while read -r lib; do
		mkdir -p "$rootfs$(dirname "$lib")"
		cp -L "$lib" "$rootfs$lib"
	done
done
rm "$rootfs/bin/true"
ln -s /usr/bin/true "$rootfs/bin/true"
cp "$ours" "$rootfs/usr/local/bin/wasm-bpf"
mkdir -p "$rootfs$root"/{e2e,examples,scripts,docs,parity}
cp go.mod "$rootfs$root/"
cp "$work/e2e.test" "$rootfs$root/e2e/"
cp "$work/examples.test" "$rootfs$root/examples/"
cp scripts/parity.sh "$rootfs$root/scripts/"
cp docs/parity.md "$rootfs$root/docs/"
cp -a parity/expected "$rootfs$root/parity/"
mkdir -p "$rootfs$(dirname "$store")"
cp -a "$store" "$rootfs$store"
find "$rootfs$store" \( -name '*.lock' -o -name '*.tmp.bpf.o' -o -name vmlinux.h \) -delete
# TestObjectFuzz's other seeds: the objects of e2e/testdata/*.bpf.c, which
# it finds by their sources (the objects are in the store).
mkdir -p "$rootfs$root/e2e/testdata"
cp e2e/testdata/*.bpf.c "$rootfs$root/e2e/testdata/"
for o in "$examples_built"/*/*.bpf.o; do
	[[ $o == *.tmp.bpf.o ]] && continue
	d=$rootfs$root/examples/$(basename "$(dirname "$o")")
	mkdir -p "$d"
	ln -s "$o" "$d/"
done
cp scripts/kernel-vm-test.sh "$rootfs/init"
chmod 755 "$rootfs/init"
{
	echo "ROOT='$root'"
	echo "STORE='$store'"
	echo "PARITY_GUESTS='$store/parity'"
	echo "SKIP='$vm_skip'"
} >"$rootfs/matrix.env"
(cd "$rootfs" && find . | cpio -o -H newc --quiet -R 0:0) >"$work/common.cpio"
log "prepared in $(($(date +%s) - prep_start)) s: initramfs $(($(stat -c %s "$work/common.cpio") / 1024 / 1024)) MiB"

# --- booting ----------------------------------------------------------------

code_cache=$cache/vm-code-cache # the VMs' own compile cache
mkdir -p "$code_cache"

# boot KDIR OUT: boot one kernel and wait for it to power off.
boot() {
	local k=$1 o=$2
	mkdir -p "$o/modules-root/modules"
	cp "$k"/modules/* "$o/modules-root/modules/" 2>/dev/null || true
	(cd "$o/modules-root" && find . | cpio -o -H newc --quiet -R 0:0) >"$o/modules.cpio"
	cat "$work/common.cpio" "$o/modules.cpio" >"$o/initrd"
	# The disk: the compile cache going in, the cache and logs coming out.
	tar -cf "$o/disk.img" -C "$code_cache" .
	truncate -s 2G "$o/disk.img"
	local t0
	t0=$(date +%s)
	# RDRAND seeds the kernel's random pool at boot: without it getrandom()
	# (the Go runtime, wasmtime) blocks for a minute under TCG. 2 GiB: the
	# initramfs (the store, the test binaries) lives in RAM, and with 1 GiB
	# the OOM killer ended e2e.test in TestHostileObjectsRefused (~650 MiB).
	timeout "$vm_timeout" qemu-system-x86_64 -accel tcg,thread=single -cpu qemu64,+rdrand -m 2048 -smp 1 \
		-kernel "$k/vmlinuz" -initrd "$o/initrd" \
		-append 'console=ttyS0,115200 lsm=lockdown,capability,landlock,bpf panic=-1' \
		-nographic -no-reboot -monitor none -nic none -pidfile "$o/qemu.pid" \
		-serial "file:$o/console.log" -serial "file:$o/checks" \
		-drive "file=$o/disk.img,format=raw,if=virtio" \
		</dev/null >"$o/qemu.log" 2>&1 || echo "qemu: exit $? (124: timed out after $vm_timeout s)" >>"$o/qemu.log"
	echo $(($(date +%s) - t0)) >"$o/seconds"
	mkdir -p "$o/out"
	tar -xf "$o/disk.img" -C "$o/out" 2>/dev/null || true
	rm -f "$o/disk.img" "$o/initrd" "$o/qemu.pid"
}

log "booting ${#kdirs[@]} kernel(s): $(for k in "${kdirs[@]}"; do printf '%s ' "$(cat "$k/version")"; done)"
jobs_max=$(nproc)
outs=()
for k in "${kdirs[@]}"; do
	o=$work/$(cat "$k/version")
	[ ! -e "$o" ] || o=$o-${#outs[@]} # the same kernel twice
	mkdir -p "$o"
	outs+=("$o")
	while (($(jobs -rp | wc -l) >= jobs_max)); do wait -n || true; done
	boot "$k" "$o" &
done
wait

# --- results ----------------------------------------------------------------
# The VMs return the compiled guests they used: those, and only those,
# stay for the next run (if no VM returned any, the old cache stays).
returned=()
for o in "${outs[@]}"; do
	[ ! -d "$o/out/cache" ] || returned+=("$o/out/cache")
done
if ((${#returned[@]})); then
	rm -rf "$code_cache"
	mkdir -p "$code_cache"
	for c in "${returned[@]}"; do cp -a "$c/." "$code_cache/"; done
fi

failed=0
for o in "${outs[@]}"; do
	v=${o##*/}
	sed "s/^/$v: /" "$o/checks" 2>/dev/null || true
	if ! grep -q '^summary: ' "$o/checks" 2>/dev/null; then
		echo "$v: FAIL the VM ended without a summary ($(cat "$o/qemu.log" 2>/dev/null | tr '\n' ' ')); the console's end:"
		tail -30 "$o/console.log" | sed "s/^/$v:   /"
		failed=1
		continue
	fi
	grep -q '^summary: .* 0 failed' "$o/checks" || failed=1
	# The failed tests' output, from the VM's logs.
	{ grep '^FAIL ' "$o/checks" || true; } | while read -r _ name _; do
		pkg=${name%%/*} test=${name#*/}
		[ -f "$o/out/results/$pkg.log" ] || continue
		echo "$v: --- $name:"
		sed -n "/^=== RUN   $test\$/,/^--- FAIL: $test /p" "$o/out/results/$pkg.log" | tail -40 | sed "s/^/$v:   /"
	done
	echo "$v: VM wall time $(cat "$o/seconds") s"
done
log "wall time $(($(date +%s) - start_all)) s; logs in $work"
exit "$failed"

#!/usr/bin/env bash
# build-static.sh [OUT]: build wasm-bpf as one fully static executable
# (default dist/wasm-bpf) and check it: `file` says statically linked, it
# runs with an empty environment, and it prints its version in a chroot
# that holds nothing but itself. Where the kernel allows (root, BTF), it
# also runs the bootstrap example against the kernel from such a chroot,
# with only /sys mounted in, as a container would.
#
# The binary is stamped with `git describe` and the commit (override with
# WASM_BPF_VERSION / WASM_BPF_COMMIT when building from a tarball), and with
# the libbpf and wasmtime versions it links. With CI=true a check that cannot
# run here fails instead of being skipped; SKIP_GUEST_RUN=1 skips the guest
# run on purpose (an image build has no kernel to load into).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
out=$(realpath -m -- "${1:-dist/wasm-bpf}") # make runs in examples/bootstrap

# What the static link needs; deps.sh only when something is missing, so the
# Dockerfile's build stage (which installs just these) never pulls clang.
need_deps=
for a in libbpf libelf libz libzstd; do
	[ -e "/usr/lib/$(gcc -print-multiarch 2>/dev/null)/$a.a" ] || need_deps=1
done
for tool in gcc pkg-config file; do
	command -v "$tool" >/dev/null || need_deps=1
done
if [ -n "$need_deps" ]; then
	bash scripts/deps.sh
fi

# --- stamps -----------------------------------------------------------------
git_() { git -c safe.directory="$PWD" "$@" 2>/dev/null; } # the Docker build runs as another uid
version=${WASM_BPF_VERSION:-$(git_ describe --tags --always --dirty || echo unknown)}
commit=${WASM_BPF_COMMIT:-$(git_ rev-parse --verify -q HEAD || true)}
libbpf_version=$(pkg-config --modversion libbpf)
go mod download github.com/bytecodealliance/wasmtime-go/v39
wasmtime_dir=$(go list -m -f '{{.Dir}}' github.com/bytecodealliance/wasmtime-go/v39)
wasmtime_version=$(sed -n 's/^#define WASMTIME_VERSION "\(.*\)"$/\1/p' "$wasmtime_dir/build/include/wasmtime.h")

# --- build ------------------------------------------------------------------
# libbpf's cgo flags name only -lbpf; a static link needs its private
# dependencies too (libelf, zlib; pkg-config adds zstd if libelf ever needs it).
# netgo/osusergo: no glibc NSS, which cannot work from a static binary (the
# runtime needs no name service: interfaces are found through netlink).
# -buildvcs=false: the stamps above carry the version, and the build must
# not depend on git being usable.
x="-X main.buildVersion=$version -X main.buildCommit=$commit"
x+=" -X main.buildLibbpf=$libbpf_version -X main.buildWasmtime=$wasmtime_version -X main.buildLinkage=static"
mkdir -p "$(dirname "$out")"
[ "$out" != "$PWD/dist/wasm-bpf" ] || echo '*' >dist/.gitignore
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! CGO_ENABLED=1 CGO_LDFLAGS="$(pkg-config --static --libs libbpf)" \
	go build -trimpath -buildvcs=false -tags netgo,osusergo \
	-ldflags "-s -w $x -linkmode external -extldflags -static" \
	-o "$out" . 2>"$log"; then
	cat "$log" >&2
	exit 1
fi
# libwasmtime.a references getpwuid_r (wasmtime's own cache directory),
# getaddrinfo (WASI sockets) and dlopen (VTune profiling); glibc warns that
# they need shared libraries at run time. None of those paths is used: our
# cache directory comes from Go, guests get no sockets, no profiler is set.
# Any other warning is shown.
if grep -v -e "warning: Using '\(getpwuid_r\|getaddrinfo\|dlopen\)' in statically linked" "$log" |
	grep -v -e '^# github.com/wasm-bpf/wasm-bpf$' -e ': in function `' | grep . >&2; then
	echo "build-static: unexpected output from the build (above)" >&2
	exit 1
fi

size=$(stat -c %s "$out")
echo "build-static: $out: $size bytes ($((size / 1024 / 1024)) MiB), version $version"

# --- checks -----------------------------------------------------------------
fail() {
	echo "build-static: FAIL: $*" >&2
	exit 1
}
skip() {
	[ "${CI:-}" != true ] || fail "$* (CI=true: not skipped)"
	echo "build-static: skipped: $*"
}

desc=$(file -b "$out")
case $desc in
*"statically linked"* | *"static-pie linked"*) echo "build-static: ok: file: $desc" ;;
*) fail "file says: $desc" ;;
esac

env -i "$out" version >/dev/null || fail "env -i $out version"
env -i "$out" version | grep -q '^platform: .*(static)$' || fail "not stamped as static"
echo "build-static: ok: runs with an empty environment"

root=$(mktemp -d)
trap 'rm -f "$log"; rm -rf "$root"' EXIT
cp "$out" "$root/wasm-bpf"
chroot_() { # DIR CMD...: chroot, as an unprivileged user through a user namespace
	if [ "$(id -u)" -eq 0 ]; then chroot "$@"; else unshare -r chroot "$@"; fi
}
chroot_ "$root" /wasm-bpf version >"$root.out" 2>&1 || {
	cat "$root.out" >&2
	fail "chroot $root /wasm-bpf version"
}
sed 's/^/build-static:   /' "$root.out"
rm -f "$root.out"
echo "build-static: ok: prints its version in a chroot holding only the binary"

# A real guest against the kernel, from a chroot holding the binary and the
# module, with what a container runtime provides: /dev (the runtime opens
# /dev/null for the guest's stdin), /proc, and the host's /sys (BTF,
# tracefs, bpffs) bound in, as the README's `docker run` does.
guest=examples/bootstrap/bootstrap.wasm
if [ "${SKIP_GUEST_RUN:-}" = 1 ]; then
	echo "build-static: skipped: guest run (SKIP_GUEST_RUN=1)"
	exit 0
elif [ "$(id -u)" -ne 0 ]; then
	skip "guest run: needs root"
	exit 0
elif [ ! -r /sys/kernel/btf/vmlinux ]; then
	skip "guest run: no kernel BTF"
	exit 0
fi
if [ ! -e "$guest" ]; then
	command -v clang >/dev/null || bash scripts/deps.sh
	make -s -C examples/bootstrap WASM_BPF="$out" # also exercises `gen skeleton`
fi
cp "$guest" "$root/bootstrap.wasm"
mkdir "$root/dev" "$root/proc" "$root/sys" "$root/probe"
probe=wbstatic-$$
ln -s /bin/true "$root/probe/$probe" # exec'd by its link name: that is its comm
# A private mount namespace: the bind mounts vanish with it, and never
# propagate back to the host's /sys.
unshare -m --propagation private sh -c '
	mount --rbind /dev "$1/dev" && mount -t proc proc "$1/proc" && mount --rbind /sys "$1/sys" &&
	exec chroot "$1" /wasm-bpf /bootstrap.wasm' sh "$root" \
	>"$root/guest.out" 2>&1 &
pid=$!
found=
for _ in $(seq 100); do
	"$root/probe/$probe"
	if grep -q "EXEC  *$probe " "$root/guest.out"; then
		found=1
		break
	fi
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
kill -INT "$pid" 2>/dev/null || true
status=0
wait "$pid" || status=$?
if [ -z "$found" ] || [ "$status" -ne 130 ]; then
	cat "$root/guest.out" >&2
	fail "bootstrap in a chroot: event seen: ${found:-no}, exit $status (want 130 after SIGINT)"
fi
echo "build-static: ok: ran $guest against the kernel from a chroot (exit $status after SIGINT)"

#!/usr/bin/env bash
# deps.sh: make this machine able to build wasm-bpf, its guests and its tests,
# and to run them against the kernel. Idempotent: installs only what is
# missing and mounts only what is not mounted. Needs root.
set -euo pipefail

packages=(
	libbpf-dev libelf-dev zlib1g-dev libzstd-dev pkg-config gcc make
	clang lld llvm wasi-libc libclang-rt-14-dev-wasm32
	rustc cargo libstd-rust-dev-wasm32 # Rust guests: sdk/rust, examples/rust-*
	bpftool iproute2 xxd
	file # scripts/build-static.sh checks its result with it
	runc umoci # e2e TestReleaseImage runs the container image with them
	# scripts/kernel-matrix.sh: the VMs and their initramfs
	qemu-system-x86 busybox-static cpio xz-utils
	curl util-linux # deploy/kubernetes TestManifestsRun probes the agent as a kubelet does, in namespaces of its own
)

export DEBIAN_FRONTEND=noninteractive
updated=
apt_update() { [ -n "$updated" ] || apt-get update -qq; updated=1; }

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "deps: installing ${missing[*]}" >&2
	apt_update
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# libbpf 1.4 (bookworm-backports): 1.1 crashes on objects with bad BTF. The
# suite is added with the URIs of the machine's own Debian source, so no
# mirror is named here.
if dpkg --compare-versions "$(dpkg-query -W -f='${Version}' libbpf-dev 2>/dev/null)" lt 1:1.4; then
	bash "$(dirname "$0")/backports.sh" >/dev/null
	updated=
	apt_update
	echo "deps: installing libbpf-dev from bookworm-backports" >&2
	apt-get install -y -qq --no-install-recommends -t bookworm-backports libbpf-dev libbpf1 >/dev/null
fi

# Go is expected at /usr/local/go (the machine's own); make it visible.
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
	export PATH=/usr/local/go/bin:$PATH
fi

mount_if_missing() { # fstype target
	local fstype=$1 target=$2
	[ -d "$target" ] || return 0
	if ! awk -v t="$target" '$2 == t { found = 1 } END { exit !found }' /proc/mounts; then
		mount -t "$fstype" "$fstype" "$target" 2>/dev/null ||
			echo "deps: could not mount $fstype on $target" >&2
	fi
}
mount_if_missing bpf /sys/fs/bpf
mount_if_missing debugfs /sys/kernel/debug
mount_if_missing tracefs /sys/kernel/tracing
mount_if_missing securityfs /sys/kernel/security
# Older tools look for tracefs under debugfs.
if [ -d /sys/kernel/debug/tracing ] && [ ! -e /sys/kernel/debug/tracing/events ]; then
	mount -t tracefs tracefs /sys/kernel/debug/tracing 2>/dev/null || true
fi

// SPDX-License-Identifier: GPL-2.0
/* pinned.bpf.c: a map that asks to be pinned by name (libbpf would pin it
 * to /sys/fs/bpf/wbpinned_map, or reuse one pinned there). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} wbpinned_map SEC(".maps");

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* A BPF LSM program: rmdir of a directory with the chosen name fails with
 * EPERM. Needs BPF LSM enabled ("bpf" in /sys/kernel/security/lsm). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

#define EPERM 1
#define NAME_LEN 64

/* Set by the guest before load. */
const volatile char target_name[NAME_LEN] = {};

/* Read back by the guest: how many rmdirs were refused. */
u64 denied = 0;

SEC("lsm/path_rmdir")
int BPF_PROG(restrict_rmdir, const struct path *dir, struct dentry *dentry, int ret)
{
	char name[NAME_LEN];
	int i;

	if (ret)
		return ret;
	if (bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(dentry, d_name.name)) < 0)
		return 0;
	for (i = 0; i < NAME_LEN; i++) {
		if (name[i] != target_name[i])
			return 0;
		if (!name[i])
			break;
	}
	__sync_fetch_and_add(&denied, 1);
	return -EPERM;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* fentry and fexit on vfs_rmdir: each rmdir on the machine, on the way in
 * (the directory's name) and on the way out (the name and the result).
 * Both attach through BPF trampolines, so they need a kernel that allows
 * them (see README.md). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

struct fentry_event {
	int pid;
	int ret;  /* vfs_rmdir's result; fexit only */
	int exit; /* 0: fentry, 1: fexit */
	char comm[16];
	char name[64];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

/* Puts struct fentry_event into the BTF for `wasm-bpf gen header`. */
const struct fentry_event *unused_event __attribute__((unused));

static int report(struct dentry *dentry, int exit, int ret)
{
	struct fentry_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ret = ret;
	e->exit = exit;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (bpf_probe_read_kernel_str(e->name, sizeof(e->name), BPF_CORE_READ(dentry, d_name.name)) < 0)
		e->name[0] = '\0';
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* The first argument is a struct user_namespace * before 6.3 and a struct
 * mnt_idmap * since: it is not read, so one program fits both. */
SEC("fentry/vfs_rmdir")
int BPF_PROG(rmdir_entry, void *idmap, struct inode *dir, struct dentry *dentry)
{
	return report(dentry, 0, 0);
}

/* fexit sees the arguments and the result; the dentry is still held by
 * the caller. */
SEC("fexit/vfs_rmdir")
int BPF_PROG(rmdir_exit, void *idmap, struct inode *dir, struct dentry *dentry, int ret)
{
	return report(dentry, 1, ret);
}

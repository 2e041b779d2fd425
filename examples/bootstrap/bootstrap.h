/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The record handle_exec/handle_exit send through the ring buffer. This
 * header is compiled twice, for the 64-bit BPF target and for wasm32, and
 * the guest reads the kernel's bytes as they are: the layout must be the
 * same on both. So only fixed-width types (no long, no pointers, no bool),
 * explicit padding, and asserts that each compiler checks. */
#ifndef __BOOTSTRAP_H
#define __BOOTSTRAP_H

#ifdef __bpf__
/* vmlinux.h (included before this header) only carries the <stdint.h>
 * names that some kernel type happens to use; define them from the
 * kernel's own __u32 family. Repeating a typedef with the same type is
 * valid C11, so this is harmless where vmlinux.h has them already. */
typedef __u8 uint8_t;
typedef __s32 int32_t;
typedef __u32 uint32_t;
typedef __u64 uint64_t;
#else
#include <stdint.h>
#endif

#define TASK_COMM_LEN	 16
#define MAX_FILENAME_LEN 127

struct event {
	int32_t pid;
	int32_t ppid;
	uint32_t exit_code;
	uint32_t __pad;		/* keeps duration_ns 8-aligned on every target */
	uint64_t duration_ns;
	char comm[TASK_COMM_LEN];
	char filename[MAX_FILENAME_LEN];
	uint8_t exit_event;	/* 1 for exit, 0 for exec */
};

_Static_assert(sizeof(struct event) == 168, "struct event size differs between BPF and wasm32");
_Static_assert(__builtin_offsetof(struct event, pid) == 0, "struct event layout");
_Static_assert(__builtin_offsetof(struct event, ppid) == 4, "struct event layout");
_Static_assert(__builtin_offsetof(struct event, exit_code) == 8, "struct event layout");
_Static_assert(__builtin_offsetof(struct event, duration_ns) == 16, "struct event layout");
_Static_assert(__builtin_offsetof(struct event, comm) == 24, "struct event layout");
_Static_assert(__builtin_offsetof(struct event, filename) == 40, "struct event layout");
_Static_assert(__builtin_offsetof(struct event, exit_event) == 167, "struct event layout");

#endif /* __BOOTSTRAP_H */

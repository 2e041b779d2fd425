/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The record handle_exec/handle_exit send through the ring buffer, for the
 * BPF side only: the guest gets its wasm32 layout from bootstrap.wasm.h,
 * which `wasm-bpf gen header` writes from the object's BTF. */
#ifndef __BOOTSTRAP_H
#define __BOOTSTRAP_H

#define TASK_COMM_LEN	 16
#define MAX_FILENAME_LEN 127

struct event {
	int pid;
	int ppid;
	unsigned exit_code;
	unsigned long long duration_ns;
	char comm[TASK_COMM_LEN];
	char filename[MAX_FILENAME_LEN];
	bool exit_event;
};

#endif /* __BOOTSTRAP_H */

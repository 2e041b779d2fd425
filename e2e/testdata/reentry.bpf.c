// SPDX-License-Identifier: GPL-2.0
/* reentry.bpf.c: events.bpf.c under names unique on the system (at most 15
 * characters), so that the test can tell its program among what the guest
 * holds and see it leave the kernel. */
#define rb wbre_rb
#define pb wbre_pb
#define scratch wbre_scratch
#define handle_exec_rb wbre_exec_rb
#define handle_exec_pb wbre_exec_pb
#include "events.bpf.c"

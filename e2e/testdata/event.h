/* event.h: the record the exec tracers send to user space. Shared by the BPF
 * programs (clang -target bpf, with vmlinux.h) and the wasm32 guests, so
 * every field has a fixed width and the size is checked on both sides. */
#ifndef E2E_EVENT_H
#define E2E_EVENT_H

#ifdef __bpf__
typedef __u32 ev_u32;
#else
#include <stdint.h>
typedef uint32_t ev_u32;
#endif

#define EV_COMM_LEN 16

struct event {
	ev_u32 pid;  /* tgid of the task that called exec */
	ev_u32 ppid; /* tgid of its real parent */
	char comm[EV_COMM_LEN]; /* the new comm: basename of the exec'd path */
};

_Static_assert(sizeof(struct event) == 24, "struct event must be 24 bytes on every target");

#endif

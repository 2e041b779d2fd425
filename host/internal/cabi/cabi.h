// The host functions on the hot paths, in C: wasmtime host functions of
// the unchecked kind, so a map call reaches bpf() and a batched poll
// reaches poll() without Go, Val boxing or a type look-up on the way.
#ifndef WASM_BPF_MAPOP_H
#define WASM_BPF_MAPOP_H

#include <stdint.h>
#include <wasmtime.h>

// What an fd of the process is to one guest: nothing, one of its maps, or
// one of its programs.
enum wb_kind { WB_NONE, WB_MAP, WB_PROG };

struct wb_fdinfo {
	uint32_t map_type; // the kernel's enum bpf_map_type
	uint32_t key_size;
	uint32_t value_size; // bytes a lookup writes: all CPUs for per-CPU maps
	uint8_t kind;	     // enum wb_kind
	uint64_t object;     // the handle of the BPF object the map or program belongs to
};

// A ring or perf buffer whose consumer exists: its fd, handle, and the
// libbpf package's struct wb_target (libbpf/shim.h).
struct wb_bufinfo {
	uint64_t handle;
	void *target;
	uint8_t valid;
};

// wb_maptab is one guest's map and program fds and its buffers, indexed by
// fd; Go keeps it in step with the guest's open objects (on the guest's own
// thread, so never while this code runs).
struct wb_maptab {
	struct wb_fdinfo *fds;
	int32_t cap;
	struct wb_bufinfo *bufs;
	int32_t bufcap;
	int wake_fd;  // the guest's waker: pause and stop interrupt a wait
	wasmtime_memory_t mem;
	int have_mem;
	uintptr_t log;  // cgo.Handle of the refusal logger
	uintptr_t host; // cgo.Handle of the polls' Go half (poll.c)

	// The cause of the guest's last failed wasm_bpf_map_operate
	// (wasm_bpf_last_error): last_src is WB_FAIL_C for one, WB_FAIL_GO for
	// a failure the Go side recorded since (the polls' among them), 0
	// before any.
	int32_t last_src, last_fd, last_cmd, last_errno;
	char last_why[256]; // a copy (refusals format theirs on the stack); "": the kernel's answer

	// The classic polls' callbacks (poll.c), found on first use.
	volatile int *raised; // the waker's flag: a pause or stop stops delivery before the next record
	const char *callback_name; // the callback-wrapper's export
	wasmtime_table_t table; // __indirect_function_table, a table of funcrefs
	wasmtime_func_t sample; // the last table function that passed the type check
	wasmtime_func_t callback; // the callback-wrapper's export, type-checked
	uint8_t have_table, have_sample, have_callback;
	uint8_t *base; // the guest's memory, which never moves (host.engineConfig)
	size_t len;    // its length when last asked: it only grows
	int closing; // the host put off closing an object until its polls return
};

enum { WB_FAIL_C = 1, WB_FAIL_GO = 2 };

void wb_mapop_func(wasmtime_context_t *ctx, struct wb_maptab *t, wasmtime_func_t *out);
int wb_maptab_set(struct wb_maptab *t, int32_t fd, uint64_t object, uint32_t map_type, uint32_t key_size,
		  uint32_t value_size);
int wb_progtab_set(struct wb_maptab *t, int32_t fd, uint64_t object);
int wb_buftab_set(struct wb_maptab *t, int32_t fd, uint64_t handle, void *target);
int wb_is_buffer(const struct wb_maptab *t, int32_t fd);
int wb_guest_memory(struct wb_maptab *t, wasmtime_caller_t *caller, uint8_t **base, size_t *len);
void wb_new_func(wasmtime_context_t *ctx, struct wb_maptab *t, wasmtime_func_unchecked_callback_t cb,
		 wasm_valtype_t **ps, size_t np, wasmtime_func_t *out);

// The polls (poll.c). A poll the C path cannot finish by itself asks the
// host through wbPoll with a struct wb_pollreq.
enum { WB_POLL_TABLE = 1, WB_POLL_WRAPPER, WB_POLL_BATCH };
enum {
	WB_ASK_SETUP = 1, // no consumer for (handle, fd) yet: check them, create it; rc 0 to retry
	WB_ASK_REFUSED,	  // log and record why the C path refused the call (err, why, key, val)
	WB_ASK_WOKEN,	  // the Waker interrupted the poll: wait out a pause; rc 0 to retry, or a trap
	WB_ASK_ENDED,	  // a callback trapped (failed 1) or exited (failed 2, status): a trap
	WB_ASK_FAILED,	  // the poll failed with rc: log and record it
	WB_ASK_CLOSED,	  // finish the closes put off while polls ran
};
struct wb_pollreq {
	int kind; // WB_POLL_*
	uint64_t handle;
	int32_t fd;
	int32_t rc;    // in: the poll's error; out: the result, or 0 to retry
	int err; // WB_ASK_REFUSED: the errno, why, and up to two named numbers or a named string
	const char *why, *key1, *key2, *skey, *sval;
	int64_t val1, val2;
	int failed, status; // WB_ASK_ENDED
	const char *msg;
	size_t msg_len;
	char *trap; // out: end the guest with this trap (malloc'ed)
};
void wb_poll_funcs(wasmtime_context_t *ctx, struct wb_maptab *t, wasmtime_func_t *table, wasmtime_func_t *wrapper,
		   wasmtime_func_t *batch);

#endif

// C glue for the cgo callbacks, libbpf's variadic print hook (which Go
// cannot implement), and the batched copy of records (which must not cross
// into Go once per record).
#ifndef WASM_BPF_LIBBPF_SHIM_H
#define WASM_BPF_LIBBPF_SHIM_H

#include <stdint.h>
#include <bpf/libbpf.h>

// wb_counters add up what the polls of one guest did (libbpf/stats.go):
// written by the thread that polls, one at a time, and read by others.
struct wb_counters {
	uint64_t polls, records, lost, poll_ns;
};

// wb_classic is one classic poll: each record goes to fn(ctx, data, size).
// While *raised (the poll's Waker) is set, the next record is held (as
// the consumer's pend) and the consume stops. The poll owns it until
// wb_poll_classic returns: a nested poll of the same buffer is refused
// before it touches anything.
struct wb_classic {
	int (*fn)(void *ctx, void *data, uint32_t size);
	void *ctx;
	volatile int *raised;
	int count;   // records handed to fn
	int stopped; // fn's negative result, which stopped the poll
	int held;    // 1: the Waker stopped the poll before a record
};

// wb_consumer is the context of a ring or perf buffer's C callback. With
// dst set, records are appended to dst in the batch format (u32 size, data,
// padding to 4); otherwise each goes to the classic poll in progress.
struct wb_consumer {
	uintptr_t handle; // cgo.Handle of the Go consumer (perf buffer losses)
	char *dst;
	uint32_t cap, len;
	int count;
	// A record that did not fit into the last batch, or that a pause held
	// back, delivered first next time.
	char *pend;
	uint32_t pend_len, pend_cap;
	int has_pend;
	int busy; // a classic poll of this buffer is in progress (its callbacks may try another)
	struct wb_classic *classic;
	struct wb_counters *counters; // NULL: not counted
};

// wb_target is everything a batched poll of one buffer needs, so that
// code outside this package (the host's C fast path) can run one.
struct wb_target {
	struct wb_consumer *c;
	struct ring_buffer *rb;
	struct perf_buffer *pb;
	int epfd;    // libbpf's epoll set of the buffer
	int wake_fd; // the Waker fd added to it (shim.c's wb_wait), or -1
};

void wb_install_print(void);
void wb_capture_set(uintptr_t h);
struct ring_buffer *wb_ring_buffer_new(int map_fd, struct wb_consumer *c);
struct perf_buffer *wb_perf_buffer_new(int map_fd, size_t page_cnt, struct wb_consumer *c);
void wb_consumer_free(struct wb_consumer *c);
int wb_go_sample(void *c, void *data, uint32_t size);
int64_t wb_now_ms(void); // CLOCK_MONOTONIC

// The polls' result for a wait that the Waker interrupted. Both polls are
// also called from host/internal/cabi, which serves the guests' polls in C.
#define WB_WOKEN (-(1LL << 40))
int64_t wb_poll_batch(struct wb_target *t, int wake_fd, int timeout_ms, char *dst, uint32_t cap);
int64_t wb_poll_classic(struct wb_target *t, int wake_fd, int timeout_ms, struct wb_classic *p);

#endif

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

// wb_consumer is the context of a ring or perf buffer's C callback. With
// dst set, records are appended to dst in the batch format (u32 size, data,
// padding to 4); otherwise each goes to the Go callback named by handle.
struct wb_consumer {
	uintptr_t handle;
	char *dst;
	uint32_t cap, len;
	int count;
	// A record that did not fit into the last batch, delivered first in the
	// next one.
	char *pend;
	uint32_t pend_len, pend_cap;
	int has_pend;
	int busy; // a poll of this buffer is in progress (a callback may try another)

	// A classic poll: each record goes to direct(direct_ctx, ...) if set,
	// else to the Go callback. While *raised (the poll's Waker) is set, the
	// next record is held (as pend) and the consume stops: held is then 1.
	volatile int *raised;
	int (*direct)(void *ctx, void *data, uint32_t size);
	void *direct_ctx;
	int stopped; // a callback's negative result, which stopped the poll
	int held;

	struct wb_counters *counters; // NULL: not counted
};

// wb_target is everything a batched poll of one buffer needs, so that
// code outside this package (the host's C fast path) can run one.
struct wb_target {
	struct wb_consumer *c;
	struct ring_buffer *rb;
	struct perf_buffer *pb;
	int epfd;
};

void wb_install_print(void);
struct ring_buffer *wb_ring_buffer_new(int map_fd, struct wb_consumer *c);
struct perf_buffer *wb_perf_buffer_new(int map_fd, size_t page_cnt, struct wb_consumer *c);
void wb_consumer_free(struct wb_consumer *c);
int64_t wb_poll_classic(struct wb_target *t, int wake_fd, volatile int *raised, int timeout_ms);

// The polls' result for a wait that the Waker interrupted. wb_poll_batch
// is also called from host/internal/cabi's C fast path.
#define WB_WOKEN (-(1LL << 40))
int64_t wb_poll_batch(struct wb_target *t, int wake_fd, int timeout_ms, char *dst, uint32_t cap);

#endif

#include <errno.h>
#include <sys/epoll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/perf_event.h>
#include "shim.h"
#include "_cgo_export.h"

// The capture of the libbpf call in progress on this thread (a cgo.Handle
// of libbpf/log.go), or 0.
static __thread uintptr_t wb_capture;

// Set while a consume that one of our perf callbacks stopped on purpose
// unwinds: libbpf then warns "failed to process records in buffer" for
// what is no failure (a full batch, a pause, a guest's stop), once per
// consume, which under load is thousands of lines a second.
static __thread int wb_perf_stopped;

void wb_capture_set(uintptr_t h)
{
	wb_capture = h;
}

static int wb_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char small[1024], *msg = small;
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(small, sizeof(small), fmt, aq);
	va_end(aq);
	if (n < 0)
		return n;
	// A verifier log is one message, and its verdict is at its end:
	// never cut it.
	if ((size_t)n >= sizeof(small)) {
		msg = malloc((size_t)n + 1);
		if (!msg)
			msg = small; // out of memory: the message is cut
		else
			vsnprintf(msg, (size_t)n + 1, fmt, ap);
	}
	if (wb_perf_stopped && strstr(msg, "failed to process records in buffer"))
		wb_perf_stopped = 0;
	else
		wbGoPrint((int)level, msg, wb_capture);
	if (msg != small)
		free(msg);
	return n;
}

void wb_install_print(void)
{
	libbpf_set_print(wb_print);
}

// wb_count adds n to a counter that other threads read: one writer, so a
// relaxed store of the sum (a plain store) suffices.
static void wb_count(uint64_t *p, uint64_t n)
{
	__atomic_store_n(p, *p + n, __ATOMIC_RELAXED);
}

static uint32_t wb_framed(uint32_t n)
{
	return 4 + ((n + 3) & ~3u);
}

static void wb_put(struct wb_consumer *c, const void *data, uint32_t n)
{
	uint32_t size = n;
	char *p = c->dst + c->len;

	memcpy(p, &size, 4); // the guest is little endian, as is every host we build for
	memcpy(p + 4, data, n);
	memset(p + 4 + n, 0, wb_framed(n) - 4 - n);
	c->len += wb_framed(n);
	c->count++;
}

// wb_stash keeps a record that libbpf has consumed but nobody received,
// to deliver it first next time.
static void wb_stash(struct wb_consumer *c, const void *data, uint32_t n)
{
	if (data != c->pend) {
		if (n > c->pend_cap) {
			char *p = realloc(c->pend, n);
			if (!p)
				return; // out of memory: the record is lost, as libbpf would lose it
			c->pend = p;
			c->pend_cap = n;
		}
		memcpy(c->pend, data, n);
	}
	c->pend_len = n;
	c->has_pend = 1;
}

// wb_batch_add appends a record, cutting one that can never fit, and
// stashes the first record that does not fit now: 0 to go on, -1 to stop.
static int wb_batch_add(struct wb_consumer *c, const void *data, uint32_t n)
{
	if (c->len == 0 && wb_framed(n) > c->cap)
		n = (c->cap - 4) & ~3u;
	if (c->len + wb_framed(n) <= c->cap) {
		wb_put(c, data, n);
		return 0;
	}
	wb_stash(c, data, n);
	return -1;
}

// wb_classic_add hands one record to the classic poll in progress, unless
// its Waker was raised: then the record is held for later and the consume
// stops.
static int wb_classic_add(struct wb_consumer *c, void *data, uint32_t n)
{
	struct wb_classic *p = c->classic;
	int rc;

	if (p->raised && *p->raised) {
		wb_stash(c, data, n);
		p->held = 1;
		return -1;
	}
	p->count++;
	rc = p->fn(p->ctx, data, n);
	if (rc < 0)
		p->stopped = rc;
	return rc;
}

// wb_go_sample is a classic poll's fn for Go callbacks: c is the consumer.
int wb_go_sample(void *c, void *data, uint32_t size)
{
	return wbGoSample(((struct wb_consumer *)c)->handle, data, size);
}

static void wb_batch_begin(struct wb_consumer *c, char *dst, uint32_t cap)
{
	c->dst = dst;
	c->cap = cap;
	c->len = 0;
	c->count = 0;
	if (c->has_pend) {
		c->has_pend = 0;
		wb_batch_add(c, c->pend, c->pend_len); // into an empty batch: always fits, cut if need be
	}
}

static uint32_t wb_batch_end(struct wb_consumer *c)
{
	c->dst = NULL;
	return c->len;
}

void wb_consumer_free(struct wb_consumer *c)
{
	free(c->pend);
	free(c);
}

static int wb_ring_sample(void *ctx, void *data, size_t size)
{
	struct wb_consumer *c = ctx;

	if (c->dst)
		return wb_batch_add(c, data, (uint32_t)size);
	return wb_classic_add(c, data, (uint32_t)size);
}

struct ring_buffer *wb_ring_buffer_new(int map_fd, struct wb_consumer *c)
{
	return ring_buffer__new(map_fd, wb_ring_sample, c, NULL);
}

// The raw perf buffer interface is used because only it lets a callback stop
// consumption (libbpf's plain sample callback returns void).
static enum bpf_perf_event_ret wb_perf_event(void *ctx, int cpu, struct perf_event_header *ev)
{
	struct sample {
		struct perf_event_header header;
		uint32_t size;
		char data[];
	} *s = (void *)ev;
	struct lost {
		struct perf_event_header header;
		uint64_t id;
		uint64_t lost;
	} *l = (void *)ev;

	switch (ev->type) {
	case PERF_RECORD_SAMPLE: {
		struct wb_consumer *c = ctx;
		int rc = c->dst ? wb_batch_add(c, s->data, s->size) : wb_classic_add(c, s->data, s->size);
		if (rc < 0) {
			wb_perf_stopped = 1;
			return LIBBPF_PERF_EVENT_ERROR;
		}
		return LIBBPF_PERF_EVENT_CONT;
	}
	case PERF_RECORD_LOST:
		if (((struct wb_consumer *)ctx)->counters)
			wb_count(&((struct wb_consumer *)ctx)->counters->lost, l->lost);
		wbGoPerfLost(((struct wb_consumer *)ctx)->handle, cpu, l->lost);
		return LIBBPF_PERF_EVENT_CONT;
	default:
		return LIBBPF_PERF_EVENT_CONT;
	}
}

struct perf_buffer *wb_perf_buffer_new(int map_fd, size_t page_cnt, struct wb_consumer *c)
{
	struct perf_event_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.config = PERF_COUNT_SW_BPF_OUTPUT;
	attr.type = PERF_TYPE_SOFTWARE;
	attr.sample_type = PERF_SAMPLE_RAW;
	attr.sample_period = 1;
	attr.wakeup_events = 1;
	return perf_buffer__new_raw(map_fd, page_cnt, &attr, wb_perf_event, c, NULL);
}

int64_t wb_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// WB_WAKE_TAG marks the Waker's fd in a consumer's epoll set: libbpf's
// own entries hold a ring index or a pointer there.
#define WB_WAKE_TAG UINT64_MAX

// wb_wait waits until the buffer has records (1), the Waker's fd wake_fd
// is readable (2), or the timeout passes (0). A negative timeout waits
// forever. The wait is one epoll_wait on libbpf's own epoll set, as
// libbpf's poll functions do, with wake_fd added to it. The Go runtime
// interrupts threads with signals (preemption), so EINTR is retried with
// the time that is left, never with the whole timeout again.
static int wb_wait(struct wb_target *t, int wake_fd, int timeout_ms)
{
	struct epoll_event evs[64];
	int64_t deadline = timeout_ms > 0 ? wb_now_ms() + timeout_ms : 0;
	int left = timeout_ms, n;

	if (wake_fd != t->wake_fd) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = WB_WAKE_TAG };

		if (t->wake_fd >= 0)
			epoll_ctl(t->epfd, EPOLL_CTL_DEL, t->wake_fd, NULL);
		t->wake_fd = -1;
		if (wake_fd >= 0) {
			if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, wake_fd, &ev) < 0)
				return -errno;
			t->wake_fd = wake_fd;
		}
	}
	for (;;) {
		n = epoll_wait(t->epfd, evs, 64, left);
		if (n >= 0 || errno != EINTR)
			break;
		if (timeout_ms > 0) {
			int64_t rem = deadline - wb_now_ms();
			left = rem > 0 ? (int)rem : 0;
		}
	}
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++)
		if (evs[i].data.u64 == WB_WAKE_TAG)
			return 2;
	return n > 0 ? 1 : 0;
}

// wb_poll_batch is a whole batched poll in one call from Go: wait (unless a
// record is held over), then copy ready records into dst. Returns bytes
// written, or WB_WOKEN, or -errno.
static int64_t wb_poll_batch1(struct wb_target *t, int wake_fd, int timeout_ms, char *dst, uint32_t cap)
{
	struct wb_consumer *c = t->c;
	int rc;

	if (c->busy)
		return -EBUSY;
	if (!c->has_pend) {
		rc = wb_wait(t, wake_fd, timeout_ms);
		if (rc < 0)
			return rc;
		if (rc == 2)
			return WB_WOKEN;
		if (rc == 0)
			return 0;
	}
	wb_batch_begin(c, dst, cap);
	rc = t->rb ? ring_buffer__consume(t->rb) : perf_buffer__consume(t->pb);
	wb_perf_stopped = 0;
	uint32_t n = wb_batch_end(c);
	if (rc < 0 && !c->has_pend)
		return rc;
	return n;
}

// wb_poll_classic is a classic poll in one call: wait (unless a record is
// held over), then hand every ready record to p->fn, in order, the
// held-over record first. Returns what consume returned, -EBUSY if a poll
// of this buffer is already in progress (p is then left alone), or
// WB_WOKEN if the wait was interrupted; p->count, p->stopped and p->held
// tell the rest.
static int64_t wb_poll_classic1(struct wb_target *t, int wake_fd, int timeout_ms, struct wb_classic *p)
{
	struct wb_consumer *c = t->c;
	int rc = 0;

	if (c->busy)
		return -EBUSY;
	p->count = p->stopped = p->held = 0;
	if (!c->has_pend) {
		rc = wb_wait(t, wake_fd, timeout_ms);
		if (rc < 0)
			return rc;
		if (rc == 2)
			return WB_WOKEN;
		if (rc == 0)
			return 0;
	}
	c->busy = 1;
	c->classic = p;
	if (c->has_pend) {
		c->has_pend = 0;
		rc = wb_classic_add(c, c->pend, c->pend_len);
	}
	if (rc >= 0)
		rc = t->rb ? ring_buffer__consume(t->rb) : perf_buffer__consume(t->pb);
	wb_perf_stopped = 0;
	c->classic = NULL;
	c->busy = 0;
	return rc;
}

static int64_t wb_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// wb_counted counts a call of a poll that began at t0 (ns): the records it
// delivered and its time, the wait included, and the poll itself unless it
// goes on (a pause interrupted it: its caller polls again once resumed).
static void wb_counted(struct wb_counters *k, int64_t t0, int64_t rc, int records, int goes_on)
{
	if (rc == WB_WOKEN)
		goes_on = 1;
	if (!goes_on)
		wb_count(&k->polls, 1);
	wb_count(&k->records, (uint64_t)records);
	wb_count(&k->poll_ns, (uint64_t)(wb_now_ns() - t0));
}

// The polls as called (by libbpf's Go polls and by host/internal/cabi,
// which serves the guests' polls in C), counted when the buffer has
// counters. A poll refused because another is in progress on the buffer
// (from its callback) is not counted: it reached no records.
int64_t wb_poll_batch(struct wb_target *t, int wake_fd, int timeout_ms, char *dst, uint32_t cap)
{
	struct wb_consumer *c = t->c;
	int64_t t0, rc;

	if (!c->counters || c->busy)
		return wb_poll_batch1(t, wake_fd, timeout_ms, dst, cap);
	t0 = wb_now_ns();
	c->count = 0; // a wait that ends without records leaves it as it was
	rc = wb_poll_batch1(t, wake_fd, timeout_ms, dst, cap);
	wb_counted(c->counters, t0, rc, c->count, 0);
	return rc;
}

int64_t wb_poll_classic(struct wb_target *t, int wake_fd, int timeout_ms, struct wb_classic *p)
{
	struct wb_consumer *c = t->c;
	int64_t t0, rc;

	if (!c->counters || c->busy)
		return wb_poll_classic1(t, wake_fd, timeout_ms, p);
	t0 = wb_now_ns();
	rc = wb_poll_classic1(t, wake_fd, timeout_ms, p);
	wb_counted(c->counters, t0, rc, p->count, p->held);
	return rc;
}

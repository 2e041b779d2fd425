#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/perf_event.h>
#include "shim.h"
#include "_cgo_export.h"

static int wb_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[1024];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		return n;
	wbGoPrint((int)level, buf);
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

// wb_classic_add hands one record to the poll's callback, unless the Waker
// was raised: then the record is held for later and the consume stops.
static int wb_classic_add(struct wb_consumer *c, void *data, uint32_t n)
{
	int rc;

	if (c->raised && *c->raised) {
		wb_stash(c, data, n);
		c->held = 1;
		return -1;
	}
	c->count++;
	rc = c->direct ? c->direct(c->direct_ctx, data, n) : wbGoSample(c->handle, data, n);
	if (rc < 0)
		c->stopped = rc;
	return rc;
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
		return rc < 0 ? LIBBPF_PERF_EVENT_ERROR : LIBBPF_PERF_EVENT_CONT;
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

static int64_t wb_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// wb_wait waits until epoll_fd has events (1), wake_fd is readable (2), or
// the timeout passes (0). A negative timeout waits forever. The Go runtime
// interrupts threads with signals (preemption), so EINTR is retried with
// the time that is left, never with the whole timeout again.
static int wb_wait(int epoll_fd, int wake_fd, int timeout_ms)
{
	struct pollfd fds[2] = {
		{ .fd = epoll_fd, .events = POLLIN },
		{ .fd = wake_fd, .events = POLLIN },
	};
	int64_t deadline = wb_now_ms() + timeout_ms;
	int left = timeout_ms, n;

	for (;;) {
		n = poll(fds, wake_fd >= 0 ? 2 : 1, left);
		if (n >= 0 || errno != EINTR)
			break;
		if (timeout_ms >= 0) {
			int64_t rem = deadline - wb_now_ms();
			left = rem > 0 ? (int)rem : 0;
		}
	}
	if (n < 0)
		return -errno;
	if (wake_fd >= 0 && fds[1].revents)
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
		rc = wb_wait(t->epfd, wake_fd, timeout_ms);
		if (rc < 0)
			return rc;
		if (rc == 2)
			return WB_WOKEN;
		if (rc == 0)
			return 0;
	}
	wb_batch_begin(c, dst, cap);
	rc = t->rb ? ring_buffer__consume(t->rb) : perf_buffer__consume(t->pb);
	uint32_t n = wb_batch_end(c);
	if (rc < 0 && !c->has_pend)
		return rc;
	return n;
}

// wb_poll_classic is a classic poll in one call from Go: wait (unless a
// record is held over), then hand every ready record to the callback, in
// order, the held-over record first. Returns what consume returned, or
// WB_WOKEN if the wait was interrupted; c->count, c->stopped and c->held
// tell the rest.
static int64_t wb_poll_classic1(struct wb_target *t, int wake_fd, volatile int *raised, int timeout_ms)
{
	struct wb_consumer *c = t->c;
	int rc = 0;

	if (c->busy)
		return -EBUSY;
	c->raised = raised;
	c->count = c->stopped = c->held = 0;
	if (!c->has_pend) {
		rc = wb_wait(t->epfd, wake_fd, timeout_ms);
		if (rc < 0)
			return rc;
		if (rc == 2)
			return WB_WOKEN;
		if (rc == 0)
			return 0;
	}
	c->busy = 1;
	if (c->has_pend) {
		c->has_pend = 0;
		rc = wb_classic_add(c, c->pend, c->pend_len);
	}
	if (rc >= 0)
		rc = t->rb ? ring_buffer__consume(t->rb) : perf_buffer__consume(t->pb);
	c->busy = 0;
	return rc;
}

static int64_t wb_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// wb_counted ends a poll that began at t0 (ns): it counts the poll, the
// records it delivered and its time, the wait included.
static void wb_counted(struct wb_consumer *c, int64_t t0)
{
	struct wb_counters *k = c->counters;

	wb_count(&k->polls, 1);
	wb_count(&k->records, (uint64_t)c->count);
	wb_count(&k->poll_ns, (uint64_t)(wb_now_ns() - t0));
}

// The polls as called, counted when the buffer has counters.
int64_t wb_poll_batch(struct wb_target *t, int wake_fd, int timeout_ms, char *dst, uint32_t cap)
{
	int64_t t0, rc;

	if (!t->c->counters || t->c->busy)
		return wb_poll_batch1(t, wake_fd, timeout_ms, dst, cap);
	t0 = wb_now_ns();
	t->c->count = 0; // a wait that ends without records leaves it as it was
	rc = wb_poll_batch1(t, wake_fd, timeout_ms, dst, cap);
	wb_counted(t->c, t0);
	return rc;
}

int64_t wb_poll_classic(struct wb_target *t, int wake_fd, volatile int *raised, int timeout_ms)
{
	int64_t t0, rc;

	if (!t->c->counters || t->c->busy)
		return wb_poll_classic1(t, wake_fd, raised, timeout_ms);
	t0 = wb_now_ns();
	rc = wb_poll_classic1(t, wake_fd, raised, timeout_ms);
	wb_counted(t->c, t0);
	return rc;
}

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
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

static int wb_ring_sample(void *ctx, void *data, size_t size)
{
	return wbGoRingSample((uintptr_t)ctx, data, size);
}

struct ring_buffer *wb_ring_buffer_new(int map_fd, uintptr_t handle)
{
	return ring_buffer__new(map_fd, wb_ring_sample, (void *)handle, NULL);
}

int wb_ring_buffer_add(struct ring_buffer *rb, int map_fd, uintptr_t handle)
{
	return ring_buffer__add(rb, map_fd, wb_ring_sample, (void *)handle);
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
	case PERF_RECORD_SAMPLE:
		if (wbGoPerfSample((uintptr_t)ctx, s->data, s->size) < 0)
			return LIBBPF_PERF_EVENT_ERROR;
		return LIBBPF_PERF_EVENT_CONT;
	case PERF_RECORD_LOST:
		wbGoPerfLost((uintptr_t)ctx, cpu, l->lost);
		return LIBBPF_PERF_EVENT_CONT;
	default:
		return LIBBPF_PERF_EVENT_CONT;
	}
}

struct perf_buffer *wb_perf_buffer_new(int map_fd, size_t page_cnt, uintptr_t handle)
{
	struct perf_event_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.config = PERF_COUNT_SW_BPF_OUTPUT;
	attr.type = PERF_TYPE_SOFTWARE;
	attr.sample_type = PERF_SAMPLE_RAW;
	attr.sample_period = 1;
	attr.wakeup_events = 1;
	return perf_buffer__new_raw(map_fd, page_cnt, &attr, wb_perf_event, (void *)handle, NULL);
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
int wb_wait(int epoll_fd, int wake_fd, int timeout_ms)
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

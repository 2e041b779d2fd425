/* guest.h: small helpers shared by the e2e wasm guests (header-only). */
#ifndef E2E_GUEST_H
#define E2E_GUEST_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm-bpf.h"
#include "event.h"

/* A guest address as the host sees it. */
#define GUEST_ADDR(p) ((uint32_t)(uintptr_t)(p))
/* A function's index in __indirect_function_table. */
#define TABLE_INDEX(f) ((int32_t)(uintptr_t)(f))

/* One past the last byte of linear memory, as of now (memory can grow). */
static inline uint32_t mem_end(void)
{
	return (uint32_t)__builtin_wasm_memory_size(0) * 65536u;
}

/* Prints a line and flushes it: the tests read the output line by line. */
static inline void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

__attribute__((noreturn)) static inline void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("guest error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* State of a watch over exec events. */
struct watch {
	const char *stop; /* the comm that ends the watch */
	int done;
	unsigned long seen;
};

/* Prints "event <pid> <ppid> <comm>"; notes when the stop comm shows up. */
static inline int print_event(struct watch *w, const void *data, unsigned int size)
{
	struct event e;
	char comm[EV_COMM_LEN + 1];

	if (size < sizeof(e)) {
		say("short %u", size);
		return 0;
	}
	memcpy(&e, data, sizeof(e));
	memcpy(comm, e.comm, EV_COMM_LEN);
	comm[EV_COMM_LEN] = '\0';
	say("event %u %u %s", (unsigned)e.pid, (unsigned)e.ppid, comm);
	w->seen++;
	if (w->stop && strcmp(comm, w->stop) == 0)
		w->done = 1;
	return 0;
}

/* The wasm_bpf_buffer_poll callback; ctx is a struct watch. */
static inline int on_event(void *ctx, void *data, unsigned int size)
{
	return print_event(ctx, data, size);
}

static char poll_buf[256];

/* One poll of fd with on_event; dies on an error. */
static inline int poll_once(uint64_t h, int fd, struct watch *w, int timeout_ms)
{
	int n = wasm_bpf_buffer_poll(h, fd, TABLE_INDEX(on_event), GUEST_ADDR(w),
				     poll_buf, sizeof(poll_buf), timeout_ms);

	if (n < 0)
		die("wasm_bpf_buffer_poll: %d", n);
	return n;
}

/* Polls until the stop comm was seen. */
static inline void watch_until_stop(uint64_t h, int fd, struct watch *w)
{
	while (!w->done)
		poll_once(h, fd, w, 100);
}

static inline uint64_t must_load(const unsigned char *obj, unsigned int len)
{
	uint64_t h = wasm_load_bpf_object(obj, (int)len);

	if (!h)
		die("wasm_load_bpf_object failed");
	return h;
}

static inline int must_map_fd(uint64_t h, const char *name)
{
	int fd = wasm_bpf_map_fd_by_name(h, name);

	if (fd < 0)
		die("wasm_bpf_map_fd_by_name(%s): %d", name, fd);
	return fd;
}

static inline void must_attach(uint64_t h, const char *prog, const char *target)
{
	int err = wasm_attach_bpf_program(h, prog, target);

	if (err < 0)
		die("wasm_attach_bpf_program(%s): %d", prog, err);
}

#endif

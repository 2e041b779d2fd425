/* reentry.c: polls a buffer from inside that same buffer's callback, with
 * several records pending: the nested poll must be refused with -EBUSY
 * (abi.md) and the outer poll must go on delivering the rest. Then closes
 * the object from inside its own poll's callback.
 * usage: reentry.wasm ring|perf
 * For each outer poll (the table poll, the callback-wrapper poll) and each
 * nested poll (the table poll, the callback-wrapper poll, the batched
 * poll): prints "ready <outer>-<inner>", waits for a line on stdin (the
 * test has exec'd processes by then, so several records wait), polls, and
 * prints "case <outer>-<inner> inner=<nested poll's result>
 * delivered=<records the outer poll delivered> ret=<its result>".
 * Then "ready close", a line, a table poll whose first callback closes the
 * object: "case close inner=<the close's result> delivered=<n> ret=<r>";
 * then "closed", and it exits 0 at the next line. */
#include "guest.h"
#include "reentry_bpf.h"

int wrapper_poll(uint64_t handle, int fd, uint32_t ctx, char *data, int max_size, int timeout_ms)
	__attribute__((import_module("callback-wrapper"), import_name("wasm_bpf_buffer_poll")));
int batch_poll(uint64_t handle, int fd, void *buf, int buf_size, int timeout_ms)
	__attribute__((import_module("wasm_bpf_ext"), import_name("wasm_bpf_buffer_poll_batch")));

enum { TABLE, WRAPPER, BATCH, CLOSE };
static const char *names[] = { "table", "wrapper", "batch", "close" };

struct state {
	uint64_t h;
	int fd;
	int inner;	 /* which poll the first callback makes */
	int inner_ret;	 /* its result */
	int calls;	 /* records the outer poll delivered */
};

static char inner_buf[4096];

static int on_record(void *ctx, void *data, unsigned int size);

static int nested(struct state *s)
{
	switch (s->inner) {
	case TABLE:
		return wasm_bpf_buffer_poll(s->h, s->fd, TABLE_INDEX(on_record), GUEST_ADDR(s), inner_buf,
					    sizeof(inner_buf), 0);
	case WRAPPER:
		return wrapper_poll(s->h, s->fd, GUEST_ADDR(s), inner_buf, sizeof(inner_buf), 0);
	case CLOSE:
		return wasm_close_bpf_object(s->h);
	default:
		return batch_poll(s->h, s->fd, inner_buf, sizeof(inner_buf), 0);
	}
}

static int on_record(void *ctx, void *data, unsigned int size)
{
	struct state *s = ctx;

	if (s->calls++ == 0)
		s->inner_ret = nested(s);
	return 0;
}

__attribute__((export_name("go-callback"))) int wrapper_callback(uint32_t ctx, char *data, int size)
{
	return on_record((void *)(uintptr_t)ctx, data, (unsigned int)size);
}

int main(int argc, char **argv)
{
	struct state s = { 0 };
	char line[64];
	int perf, ret;

	if (argc != 2)
		die("usage: %s ring|perf", argv[0]);
	perf = strcmp(argv[1], "perf") == 0;
	s.h = must_load(reentry_bpf, reentry_bpf_len);
	s.fd = must_map_fd(s.h, perf ? "wbre_pb" : "wbre_rb");
	must_attach(s.h, perf ? "wbre_exec_pb" : "wbre_exec_rb", NULL);
	for (int outer = TABLE; outer <= WRAPPER; outer++) {
		for (int inner = TABLE; inner <= BATCH; inner++) {
			/* Drop what is there; the first poll creates the consumer. */
			s.inner = -1;
			while (batch_poll(s.h, s.fd, inner_buf, sizeof(inner_buf), 0) > 0)
				;
			say("ready %s-%s", names[outer], names[inner]);
			if (!fgets(line, sizeof(line), stdin))
				die("stdin closed");
			s.inner = inner;
			s.calls = 0;
			s.inner_ret = 1;
			if (outer == TABLE)
				ret = wasm_bpf_buffer_poll(s.h, s.fd, TABLE_INDEX(on_record), GUEST_ADDR(&s), poll_buf,
							   sizeof(poll_buf), 1000);
			else
				ret = wrapper_poll(s.h, s.fd, GUEST_ADDR(&s), poll_buf, sizeof(poll_buf), 1000);
			say("case %s-%s inner=%d delivered=%d ret=%d", names[outer], names[inner], s.inner_ret, s.calls,
			    ret);
		}
	}
	/* The consumer lives until its poll returns: the poll delivers the
	 * records after the close; the object leaves the kernel then. */
	while (batch_poll(s.h, s.fd, inner_buf, sizeof(inner_buf), 0) > 0)
		;
	say("ready close");
	if (!fgets(line, sizeof(line), stdin))
		die("stdin closed");
	s.inner = CLOSE;
	s.calls = 0;
	s.inner_ret = 1;
	ret = wasm_bpf_buffer_poll(s.h, s.fd, TABLE_INDEX(on_record), GUEST_ADDR(&s), poll_buf, sizeof(poll_buf), 1000);
	say("case close inner=%d delivered=%d ret=%d", s.inner_ret, s.calls, ret);
	say("closed");
	if (!fgets(line, sizeof(line), stdin))
		die("stdin closed");
	return 0;
}

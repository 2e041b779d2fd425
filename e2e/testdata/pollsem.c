/* pollsem.c: checks the delivery rules of wasm_bpf_buffer_poll on a ring
 * buffer (abi.md): records are truncated to max_size, a callback result < 0
 * stops the poll and is its result, and otherwise the result is the number
 * of records delivered.
 * usage: pollsem.wasm
 * Prints "ready" once attached, then waits for a line on stdin (the test has
 * exec'd its processes by then, so their records are waiting), then:
 *   stop ret=<r> calls=<c> size=<n> pid=<pid>   one poll, max_size 8, whose
 *        callback returns -42 at the first record (pid: its first field)
 *   drain ret=<r> calls=<c>                       per later poll, until one
 *        delivers nothing; with an "event ..." line per record
 *   done */
#include "guest.h"
#include "events_bpf.h"

struct stop_state {
	int calls;
	unsigned int size;
	uint32_t pid;
};

static int stop_callback(void *ctx, void *data, unsigned int size)
{
	struct stop_state *s = ctx;

	if (s->calls++ == 0) {
		s->size = size;
		if (size >= sizeof(s->pid))
			memcpy(&s->pid, data, sizeof(s->pid));
	}
	return -42;
}

static int count_callback(void *ctx, void *data, unsigned int size)
{
	struct watch *w = ctx;

	return print_event(w, data, size);
}

int main(int argc, char **argv)
{
	struct stop_state s = { 0 };
	struct watch w = { 0 };
	char line[64];
	uint64_t h;
	int fd, ret;

	h = must_load(events_bpf, events_bpf_len);
	fd = must_map_fd(h, "rb");
	must_attach(h, "handle_exec_rb", NULL);
	/* Create the poller and drop what is there already. */
	while (poll_once(h, fd, &w, 0) > 0)
		;
	say("ready");
	if (!fgets(line, sizeof(line), stdin))
		die("stdin closed before the go line");

	ret = wasm_bpf_buffer_poll(h, fd, TABLE_INDEX(stop_callback), GUEST_ADDR(&s),
				   poll_buf, 8, 1000);
	say("stop ret=%d calls=%d size=%u pid=%u", ret, s.calls, s.size, (unsigned)s.pid);

	for (int i = 0; i < 100; i++) {
		unsigned long before = w.seen;

		ret = wasm_bpf_buffer_poll(h, fd, TABLE_INDEX(count_callback), GUEST_ADDR(&w),
					   poll_buf, sizeof(poll_buf), 200);
		say("drain ret=%d calls=%lu", ret, w.seen - before);
		if (ret <= 0)
			break;
	}
	say("done");
	return 0;
}

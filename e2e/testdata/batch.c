/* batch.c: reports execs through wasm_bpf_ext.wasm_bpf_buffer_poll_batch.
 * usage: batch.wasm ring|perf BUFSIZE STOPCOMM
 * First prints "case <name> <ret>" for the batched poll's refusals, then
 * "ready", then "event <pid> <ppid> <comm>" per record (or "cut <size>"
 * for a record cut to fit BUFSIZE), until STOPCOMM; then "done <records>
 * <most records in one call>". */
#include <unistd.h>

#include "guest.h"
#include "events_bpf.h"

int wasm_bpf_buffer_poll_batch(uint64_t handle, int fd, void *buf, int buf_size, int timeout_ms)
	__attribute__((import_module("wasm_bpf_ext"), import_name("wasm_bpf_buffer_poll_batch")));

static char buf[64 << 10];

int main(int argc, char **argv)
{
	struct watch w = { 0 };
	unsigned long records = 0, most = 0;
	uint64_t h;
	int perf, size, fd, hash;

	if (argc != 4)
		die("usage: %s ring|perf BUFSIZE STOPCOMM", argv[0]);
	perf = strcmp(argv[1], "perf") == 0;
	size = atoi(argv[2]);
	if (size <= 0 || size > (int)sizeof(buf))
		die("bad BUFSIZE %s", argv[2]);
	w.stop = argv[3];

	h = must_load(events_bpf, events_bpf_len);
	fd = must_map_fd(h, perf ? "pb" : "rb");
	hash = must_map_fd(h, "scratch");
	say("case unknown-handle %d", wasm_bpf_buffer_poll_batch(h + 99, fd, buf, size, 0));
	say("case hash-fd %d", wasm_bpf_buffer_poll_batch(h, hash, buf, size, 0));
	say("case stdout-fd %d", wasm_bpf_buffer_poll_batch(h, 1, buf, size, 0));
	say("case size-7 %d", wasm_bpf_buffer_poll_batch(h, fd, buf, 7, 0));
	say("case size-negative %d", wasm_bpf_buffer_poll_batch(h, fd, buf, -1, 0));
	say("case past-end %d", wasm_bpf_buffer_poll_batch(h, fd, (void *)(uintptr_t)(mem_end() - 63), 64, 0));

	must_attach(h, perf ? "handle_exec_pb" : "handle_exec_rb", NULL);
	/* The first poll creates the consumer: a perf buffer drops what is
	 * written before its per-CPU rings exist. */
	if (wasm_bpf_buffer_poll_batch(h, fd, buf, size, 0) < 0)
		die("first poll failed");
	say("ready");
	/* With room for one record, let records pile up first, so that nearly
	 * every call holds the rest over for the next. */
	if (size < 64)
		usleep(300 * 1000);
	while (!w.done) {
		int n = wasm_bpf_buffer_poll_batch(h, fd, buf, size, 100);
		unsigned long in_call = 0;

		if (n < 0)
			die("wasm_bpf_buffer_poll_batch: %d", n);
		for (int off = 0; off < n;) {
			uint32_t len;

			memcpy(&len, buf + off, 4);
			if (len >= sizeof(struct event))
				print_event(&w, buf + off + 4, len);
			else
				say("cut %u", len);
			off += 4 + ((len + 3) & ~3u);
			in_call++;
		}
		records += in_call;
		if (in_call > most)
			most = in_call;
	}
	say("done %lu %lu", records, most);
	return 0;
}

/* events.c: reports every exec through a ring buffer or a perf buffer.
 * usage: events.wasm ring|perf STOPCOMM
 * Prints "ready" once attached, then "event <pid> <ppid> <comm>" per record,
 * and returns from main (printing "done <n>") after an exec of STOPCOMM. */
#include "guest.h"
#include "events_bpf.h"

int main(int argc, char **argv)
{
	struct watch w = { 0 };
	uint64_t h;
	int perf, fd;

	if (argc != 3)
		die("usage: %s ring|perf STOPCOMM", argv[0]);
	perf = strcmp(argv[1], "perf") == 0;
	if (!perf && strcmp(argv[1], "ring") != 0)
		die("unknown mode %s", argv[1]);
	w.stop = argv[2];

	h = must_load(events_bpf, events_bpf_len);
	fd = must_map_fd(h, perf ? "pb" : "rb");
	must_attach(h, perf ? "handle_exec_pb" : "handle_exec_rb", NULL);
	/* The first poll creates the poller: a perf buffer drops what is
	 * written before its per-CPU buffers exist, so do it before "ready". */
	poll_once(h, fd, &w, 0);
	say("ready");
	watch_until_stop(h, fd, &w);
	say("done %lu", w.seen);
	say("close %d", wasm_close_bpf_object(h));
	return 0;
}

/* agent.c: a guest for the agent tests.
 * usage: agent.wasm idle|flood|exit1|trap
 * Loads agent.bpf.c, attaches wbagt_flood (idle: wbagt_idle) and prints
 * "ready"; then
 *   idle:  polls the ring buffer forever;
 *   flood: polls both buffers forever, printing "rb N" and "pb N";
 *   exit1: exits with 1 after 100 ms;
 *   trap:  traps after 100 ms. */
#include <unistd.h>
#include "guest.h"
#include "agent_bpf.h"

static int count(void *ctx, void *data, unsigned int size)
{
	(*(unsigned long *)ctx)++;
	return 0;
}

static char buf[8192];

static int poll(uint64_t h, int fd, unsigned long *n, int timeout)
{
	int rc = wasm_bpf_buffer_poll(h, fd, TABLE_INDEX(count), GUEST_ADDR(n), buf, sizeof(buf), timeout);

	if (rc < 0)
		die("wasm_bpf_buffer_poll: %d", rc);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned long rb_n = 0, pb_n = 0;
	int rb, pb = -1, flood;
	uint64_t h;

	if (argc != 2)
		die("usage: %s idle|flood|exit1|trap", argv[0]);
	flood = strcmp(argv[1], "flood") == 0;
	h = must_load(agent_bpf, agent_bpf_len);
	rb = must_map_fd(h, "wbagt_rb");
	must_attach(h, strcmp(argv[1], "idle") == 0 ? "wbagt_idle" : "wbagt_flood", NULL);
	poll(h, rb, &rb_n, 0);
	if (flood) {
		/* The first poll creates the perf buffer's per-CPU rings. */
		pb = must_map_fd(h, "wbagt_pb");
		poll(h, pb, &pb_n, 0);
	}
	say("ready");
	if (strcmp(argv[1], "exit1") == 0) {
		usleep(100000);
		exit(1);
	}
	if (strcmp(argv[1], "trap") == 0) {
		usleep(100000);
		__builtin_trap();
	}
	for (;;) {
		unsigned long r = rb_n, p = pb_n;

		poll(h, rb, &rb_n, flood ? 50 : 500);
		if (pb >= 0)
			poll(h, pb, &pb_n, 50);
		if (rb_n != r)
			say("rb %lu", rb_n);
		if (pb_n != p)
			say("pb %lu", pb_n);
	}
}

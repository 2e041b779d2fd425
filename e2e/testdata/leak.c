/* leak.c: loads leak.bpf.o (unique kernel names), attaches and polls it, then
 * ends the way argv[1] says, so the test can check that nothing it loaded
 * stays in the kernel:
 *   return  main returns 0           (after a line on stdin)
 *   exit3   exit(3), i.e. proc_exit  (after a line on stdin)
 *   trap    __builtin_trap()         (after a line on stdin)
 *   cbtrap  traps inside the poll callback, at the record of an exec of
 *           argv[2] (others are ignored: any process on the machine may
 *           exec before the test has looked at what the guest holds)
 *   block   polls with a 60 s timeout forever, to be cancelled or signalled
 *   spin    loops forever in wasm code (no host call), likewise
 *   sleep   sleeps 8 s in WASI poll_oneoff, likewise (the test waits 5 s)
 * The handle is never closed by the guest: the host must clean up. */
#include <unistd.h>

#include "guest.h"
#include "leak_bpf.h"

static const char *trap_comm;

static int trap_callback(void *ctx, void *data, unsigned int size)
{
	struct event e;

	if (size < sizeof(e))
		return 0;
	memcpy(&e, data, sizeof(e));
	e.comm[EV_COMM_LEN - 1] = '\0';
	if (strcmp(e.comm, trap_comm) != 0)
		return 0;
	say("trapping in callback");
	__builtin_trap();
}

int main(int argc, char **argv)
{
	struct watch w = { 0 };
	char line[64];
	const char *mode;
	uint64_t h;
	int fd;

	if (argc < 2 || (strcmp(argv[1], "cbtrap") == 0) != (argc == 3))
		die("usage: %s return|exit3|trap|cbtrap COMM|block|spin|sleep", argv[0]);
	mode = argv[1];
	trap_comm = argv[2];
	h = must_load(leak_bpf, leak_bpf_len);
	fd = must_map_fd(h, "wbleak_rb");
	must_attach(h, "wbleak_exec", NULL);
	poll_once(h, fd, &w, 0);
	say("ready");

	if (strcmp(mode, "cbtrap") == 0) {
		for (;;) {
			int n = wasm_bpf_buffer_poll(h, fd, TABLE_INDEX(trap_callback), 0,
						     poll_buf, sizeof(poll_buf), 100);
			if (n < 0)
				die("poll: %d", n);
		}
	}
	if (strcmp(mode, "block") == 0) {
		for (;;)
			poll_once(h, fd, &w, 60000);
	}
	if (strcmp(mode, "spin") == 0) {
		volatile unsigned long n = 0;

		for (;;)
			n++;
	}
	if (strcmp(mode, "sleep") == 0) {
		sleep(8);
		die("slept 8 s without being stopped");
	}
	if (!fgets(line, sizeof(line), stdin))
		die("stdin closed before the go line");
	say("ending %s", mode);
	if (strcmp(mode, "return") == 0)
		return 0;
	if (strcmp(mode, "exit3") == 0)
		exit(3);
	if (strcmp(mode, "trap") == 0)
		__builtin_trap();
	die("unknown mode %s", mode);
}

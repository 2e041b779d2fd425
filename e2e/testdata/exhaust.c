/* exhaust.c: makes the host hold file descriptors until it refuses, then
 * writes to stdout and exits 0.
 * usage: exhaust.wasm sockets|objects [N]
 *   sockets  loads one object and attaches its socket filter to "lo" until
 *            an attach fails: prints "attached <n> <error>"
 *   objects  loads objects and polls each one's ring buffer (a consumer
 *            holds an epoll fd) until a load or poll fails: prints
 *            "objects <n> <error>"
 * then "still writing" and, with N, N lines more, and exits 0. */
#include "guest.h"
#include "exhaust_bpf.h"

static int on_record(void *ctx, void *data, unsigned int size)
{
	return 0;
}

int main(int argc, char **argv)
{
	int n = 0, err = 0;

	if (argc < 2)
		die("usage: %s sockets|objects [N]", argv[0]);
	if (strcmp(argv[1], "sockets") == 0) {
		uint64_t h = must_load(exhaust_bpf, exhaust_bpf_len);

		while ((err = wasm_attach_bpf_program(h, "wbexh_sock", "lo")) == 0)
			n++;
		say("attached %d %d", n, err);
	} else {
		for (;;) {
			uint64_t h = wasm_load_bpf_object(exhaust_bpf, (int)exhaust_bpf_len);
			int fd;

			if (!h)
				break;
			fd = wasm_bpf_map_fd_by_name(h, "wbexh_rb");
			err = wasm_bpf_buffer_poll(h, fd, TABLE_INDEX(on_record), 0, poll_buf, sizeof(poll_buf), 0);
			if (err < 0)
				break;
			n++;
		}
		say("objects %d %d", n, err);
	}
	say("still writing");
	for (int i = 0; argc > 2 && i < atoi(argv[2]); i++)
		say("line %d", i);
	return 0;
}

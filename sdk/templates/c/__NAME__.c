/* __NAME__.c: the guest. Loads __NAME__.bpf.o (embedded in the skeleton),
 * attaches it and prints a line per execve on the machine until stopped
 * (Ctrl-C). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "libbpf-wasm.h"
#include "__NAME__.h"
#include "__NAME__.skel.h"

static int handle_event(void *ctx, void *data, size_t size)
{
	const struct event *e = data;

	if (size < sizeof(*e))
		return 0;
	printf("%-7d %-16.16s %.*s\n", e->pid, e->comm, FILENAME_LEN, e->filename);
	return 0;
}

int main(void)
{
	struct __IDENT___bpf *skel;
	struct bpf_buffer *buf = NULL;
	int err;

	/* A line as soon as it is printed, also into a pipe. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	skel = __IDENT___bpf__open_and_load();
	if (!skel) {
		/* The runtime has said why on stderr; errno says so too. */
		fprintf(stderr, "__NAME__: load: %s\n", strerror(errno));
		return 1;
	}
	err = __IDENT___bpf__attach(skel);
	if (err) {
		fprintf(stderr, "__NAME__: attach: %s\n", strerror(-err));
		goto out;
	}
	buf = bpf_buffer__open(skel->maps.events, handle_event, NULL);
	if (!buf) {
		err = -errno;
		fprintf(stderr, "__NAME__: ring buffer: %s\n", strerror(errno));
		goto out;
	}
	printf("%-7s %-16s %s\n", "PID", "COMM", "FILENAME");
	while ((err = bpf_buffer__poll(buf, 100)) >= 0)
		;
	fprintf(stderr, "__NAME__: poll: %s\n", strerror(-err));
out:
	bpf_buffer__free(buf);
	__IDENT___bpf__destroy(skel);
	return err < 0 ? 1 : 0;
}

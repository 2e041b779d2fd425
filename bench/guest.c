/* guest.c: bench.bpf.o's consumer as a wasm-bpf C guest, on libbpf-wasm.h:
 * the classic per-record callback, or with -DWASM_BPF_EXT the batched poll.
 * usage: guest.wasm ring|perf TGID N | guest.wasm maps OPS  (as native.c) */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench.skel.h"
#include "stats.h"

static struct stats st;

static int on_record(void *ctx, void *data, size_t size)
{
	return stats_record(&st, data, size);
}

static int die(const char *what, int err)
{
	fprintf(stderr, "guest: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

int main(int argc, char **argv)
{
	struct bench_bpf *skel;
	struct bpf_buffer *buf;
	uint32_t zero = 0, tgid;
	int err, perf;
	uint64_t start;

	if (argc < 3)
		return fprintf(stderr, "usage: guest ring|perf TGID N | guest maps OPS\n"), 2;
	skel = bench_bpf__open_and_load();
	if (!skel)
		die("load", errno);
	if (strcmp(argv[1], "maps") == 0) {
		if (bench_maps(bpf_map__fd(skel->maps.kv), atol(argv[2])))
			die("maps", errno);
		return 0;
	}
	if (argc != 4)
		return 2;
	perf = strcmp(argv[1], "perf") == 0;
	tgid = (uint32_t)atoi(argv[2]);
	st.want = strtoull(argv[3], NULL, 10);
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.target), &zero, &tgid, BPF_ANY))
		die("set target", errno);
	if ((err = bpf_program__attach(perf ? skel->progs.on_getppid_pb : skel->progs.on_getppid_rb)))
		die("attach", err);
	buf = bpf_buffer__open(perf ? skel->maps.pb : skel->maps.rb, on_record, NULL);
	if (!buf)
		die("buffer", errno);
	/* The first poll creates the host's consumer: a perf buffer drops what
	 * is written before its per-CPU rings exist. */
	bpf_buffer__poll(buf, 0);
	printf("ready\n");
	fflush(stdout);
	start = mono_ns();
	while (!stats_done(&st, start)) {
		err = bpf_buffer__poll(buf, 100);
		if (err < 0 && err != -EINTR)
			die("poll", err);
		stats_poll_done(&st);
	}
	stats_print(&st);
	return 0;
}

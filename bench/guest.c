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

static void maps(struct bench_bpf *skel, long ops)
{
	int fd = bpf_map__fd(skel->maps.kv);
	uint32_t key = 7;
	uint64_t value = 1;
	uint64_t t0, t1, t2;

	if (bpf_map_update_elem(fd, &key, &value, BPF_ANY))
		die("update", errno);
	t0 = mono_ns();
	for (long i = 0; i < ops; i++)
		if (bpf_map_lookup_elem(fd, &key, &value))
			die("lookup", errno);
	t1 = mono_ns();
	for (long i = 0; i < ops; i++) {
		value = i;
		if (bpf_map_update_elem(fd, &key, &value, BPF_ANY))
			die("update", errno);
	}
	t2 = mono_ns();
	printf("maps lookup_ns=%.1f update_ns=%.1f\n", (double)(t1 - t0) / ops, (double)(t2 - t1) / ops);
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
		maps(skel, atol(argv[2]));
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

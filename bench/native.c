/* native.c: the baseline, a native libbpf consumer of bench.bpf.o.
 * usage: native ring|perf TGID N     consume N records of TGID's getppid()
 *        native maps OPS             time OPS lookups and updates of "kv"
 * Prints "ready" once attached, then a "result" line (see stats.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "stats.h"

static struct stats st;

static int on_ring(void *ctx, void *data, size_t size)
{
	return stats_record(&st, data, size);
}

static void on_perf(void *ctx, int cpu, void *data, __u32 size)
{
	stats_record(&st, data, size);
}

static int die(const char *what, int err)
{
	fprintf(stderr, "native: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct ring_buffer *rb = NULL;
	struct perf_buffer *pb = NULL;
	__u32 zero = 0, tgid;
	int err, perf;
	uint64_t start;

	if (argc < 3)
		return fprintf(stderr, "usage: native ring|perf TGID N | native maps OPS\n"), 2;
	obj = bpf_object__open_file(getenv("BENCH_OBJ") ? getenv("BENCH_OBJ") : "bench.bpf.o", NULL);
	if (!obj)
		die("open", errno);
	if ((err = bpf_object__load(obj)))
		die("load", err);
	if (strcmp(argv[1], "maps") == 0) {
		if (bench_maps(bpf_object__find_map_fd_by_name(obj, "kv"), atol(argv[2])))
			die("maps", errno);
		return 0;
	}
	if (argc != 4)
		return 2;
	perf = strcmp(argv[1], "perf") == 0;
	tgid = (__u32)atoi(argv[2]);
	st.want = strtoull(argv[3], NULL, 10);
	if (bpf_map_update_elem(bpf_object__find_map_fd_by_name(obj, "target"), &zero, &tgid, BPF_ANY))
		die("set target", errno);
	if (!bpf_program__attach(bpf_object__find_program_by_name(obj, perf ? "on_getppid_pb" : "on_getppid_rb")))
		die("attach", errno);
	if (perf)
		pb = perf_buffer__new(bpf_object__find_map_fd_by_name(obj, "pb"), 64, on_perf, NULL, NULL, NULL);
	else
		rb = ring_buffer__new(bpf_object__find_map_fd_by_name(obj, "rb"), on_ring, NULL, NULL);
	if (!pb && !rb)
		die("buffer", errno);
	printf("ready\n");
	fflush(stdout);
	start = mono_ns();
	while (!stats_done(&st, start)) {
		err = perf ? perf_buffer__poll(pb, 100) : ring_buffer__poll(rb, 100);
		if (err < 0 && err != -EINTR)
			die("poll", err);
		stats_poll_done(&st);
	}
	stats_print(&st);
	return 0;
}

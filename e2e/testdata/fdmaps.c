/* fdmaps.c: puts fds that are not its own into every map of fdmaps.bpf.o
 * whose values or keys the kernel reads as fds, and its own objects where
 * the kernel allows them.
 * usage: fdmaps.wasm LABEL=FD...  (fds of the host and of another guest)
 *
 * After loading it prints "loaded" and reads a line "own TAIL DEV CPU":
 * the fds of its own programs wbfd_tail, wbfd_xdpdev and wbfd_xdpcpu (the
 * ABI hands a guest no program fds; the test finds them). Then it prints
 *   case TARGET LABEL RET   for each foreign fd in each target
 *   ok NAME RET             for each insert of its own objects
 *   lookup NAME RET [FIELDS...]  what a lookup returns
 *   empty NAME RET          that a slot the refused inserts aimed at is empty
 *                           (-ENOENT from a lookup or a delete)
 * then attaches wbfd_entry, waits for it to run (an exec), prints
 * "works TAIL AOM HOM" (the values the programs recorded, hex), "done",
 * and returns after a line on stdin. */
#include <unistd.h>

#include "guest.h"
#include "fdmaps_bpf.h"

int wasm_bpf_buffer_poll_batch(uint64_t handle, int fd, void *buf, int buf_size, int timeout_ms)
	__attribute__((import_module("wasm_bpf_ext"), import_name("wasm_bpf_buffer_poll_batch")));

#define INNER_VALUE 0xa11ce0fdULL
#define TAIL_MARK 0x7a11ca11ULL

/* struct bpf_devmap_val and struct bpf_cpumap_val: a u32, then a program
 * fd on update (an id on lookup). */
struct pair {
	uint32_t first;
	int32_t prog;
};

static uint64_t h;

static int map(const char *name)
{
	return must_map_fd(h, name);
}

static int update(const char *name, uint32_t key, const void *value)
{
	return wasm_bpf_map_operate(map(name), WASM_BPF_MAP_UPDATE_ELEM, &key, (void *)value, NULL, 0);
}

static int lookup(const char *name, uint32_t key, void *value)
{
	return wasm_bpf_map_operate(map(name), WASM_BPF_MAP_LOOKUP_ELEM, &key, value, NULL, 0);
}

static int delete(const char *name, uint32_t key)
{
	return wasm_bpf_map_operate(map(name), WASM_BPF_MAP_DELETE_ELEM, &key, NULL, NULL, 0);
}

/* Every way fd can reach the kernel from this guest as an fd. */
static void try_fd(const char *label, int32_t fd)
{
	uint64_t fd64 = (uint32_t)fd, zero64 = 0;
	struct pair dev = { 1, fd }, cpu = { 192, fd };
	static const char *value_u32[] = { "wbfd_aom", "wbfd_hom", "wbfd_progs", "wbfd_sock", "wbfd_sockh",
					   "wbfd_xsk", "wbfd_cgarr", "wbfd_perf" };
	static const char *value_u64[] = { "wbfd_sock8", "wbfd_rport" };
	static const char *key_fd[] = { "wbfd_sks", "wbfd_inode", "wbfd_task",
#ifndef WBFD_NO_CGRP_STORAGE
					"wbfd_cgrp",
#endif
	};
	static char buf[64];
	unsigned i;

	/* Slot 1 of the arrays and key 1 of the hashes stay empty unless an
	 * insert gets through; slot 0 and other keys hold the guest's own. */
	for (i = 0; i < sizeof(value_u32) / sizeof(value_u32[0]); i++)
		say("case %s %s %d", value_u32[i], label, update(value_u32[i], 1, &fd));
	for (i = 0; i < sizeof(value_u64) / sizeof(value_u64[0]); i++)
		say("case %s %s %d", value_u64[i], label, update(value_u64[i], 1, &fd64));
	/* A devmap or cpumap value whose program fd is <= 0 carries no program
	 * (the kernel reads no fd): the "ok" inserts below show that. */
	if (fd > 0) {
		say("case wbfd_dev %s %d", label, update("wbfd_dev", 1, &dev));
		say("case wbfd_devh %s %d", label, update("wbfd_devh", 1, &dev));
		say("case wbfd_cpu %s %d", label, update("wbfd_cpu", 1, &cpu));
	}
	for (i = 0; i < sizeof(key_fd) / sizeof(key_fd[0]); i++) {
		int m = map(key_fd[i]);

		say("case %s.update %s %d", key_fd[i], label,
		    wasm_bpf_map_operate(m, WASM_BPF_MAP_UPDATE_ELEM, &fd, &zero64, NULL, 0));
		say("case %s.lookup %s %d", key_fd[i], label,
		    wasm_bpf_map_operate(m, WASM_BPF_MAP_LOOKUP_ELEM, &fd, &zero64, NULL, 0));
		say("case %s.delete %s %d", key_fd[i], label,
		    wasm_bpf_map_operate(m, WASM_BPF_MAP_DELETE_ELEM, &fd, NULL, NULL, 0));
	}
	/* A buffer fd that is not one of this guest's handle's. */
	say("case poll %s %d", label, wasm_bpf_buffer_poll(h, fd, TABLE_INDEX(on_event), 0, buf, sizeof(buf), 0));
	say("case batch %s %d", label, wasm_bpf_buffer_poll_batch(h, fd, buf, sizeof(buf), 0));
}

static uint64_t result(uint32_t slot)
{
	uint64_t v = 0;

	lookup("wbfd_res", slot, &v);
	return v;
}

int main(int argc, char **argv)
{
	int32_t tail, xdpdev, xdpcpu, own_map;
	uint64_t inner = INNER_VALUE, ids[1];
	uint32_t lo = 1, qsize = 192, id;
	struct pair p;
	char line[128];
	int i;

	h = must_load(fdmaps_bpf, fdmaps_bpf_len);
	say("loaded");
	if (!fgets(line, sizeof(line), stdin) || sscanf(line, "own %d %d %d", &tail, &xdpdev, &xdpcpu) != 3)
		die("want a line \"own TAIL DEV CPU\"");
	own_map = map("wbfd_inner");

	/* Fds that are not this guest's. */
	for (i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (!eq)
			die("argument %s is not LABEL=FD", argv[i]);
		*eq = '\0';
		try_fd(argv[i], atoi(eq + 1));
	}
	/* The guest's own objects of the wrong kind. */
	say("case wbfd_aom own_prog %d", update("wbfd_aom", 1, &tail));
	say("case wbfd_hom own_prog %d", update("wbfd_hom", 1, &tail));
	say("case wbfd_progs own_map %d", update("wbfd_progs", 1, &own_map));
	p = (struct pair){ 1, own_map };
	say("case wbfd_dev own_map %d", update("wbfd_dev", 1, &p));
	p = (struct pair){ 192, own_map };
	say("case wbfd_cpu own_map %d", update("wbfd_cpu", 1, &p));
	say("case wbfd_sock own_map %d", update("wbfd_sock", 1, &own_map));
	say("case wbfd_perf own_prog %d", update("wbfd_perf", 1, &tail));
	say("case wbfd_cgarr own_map %d", update("wbfd_cgarr", 1, &own_map));

	/* The guest's own objects where the kernel takes them. */
	say("ok inner %d", update("wbfd_inner", 0, &inner));
	say("ok wbfd_aom %d", update("wbfd_aom", 0, &own_map));
	say("ok wbfd_hom %d", update("wbfd_hom", 7, &own_map));
	say("ok wbfd_progs %d", update("wbfd_progs", 0, &tail));
	p = (struct pair){ 1, 0 }; /* no program: fd 0 is not read */
	say("ok wbfd_dev.noprog %d", update("wbfd_dev", 0, &p));
	p = (struct pair){ 1, xdpdev };
	say("ok wbfd_dev %d", update("wbfd_dev", 0, &p));
	say("ok wbfd_dev4 %d", update("wbfd_dev4", 0, &lo));
	p = (struct pair){ 1, -1 };
	say("ok wbfd_devh.noprog %d", update("wbfd_devh", 6, &p));
	p = (struct pair){ 1, xdpdev };
	say("ok wbfd_devh %d", update("wbfd_devh", 5, &p));
	p = (struct pair){ 192, xdpcpu };
	say("ok wbfd_cpu %d", update("wbfd_cpu", 0, &p));
	say("ok wbfd_cpu4 %d", update("wbfd_cpu4", 0, &qsize));

	/* What lookups return: ids, never fds. */
	id = 0;
	i = lookup("wbfd_aom", 0, &id);
	say("lookup wbfd_aom %d %u", i, id);
	id = 0;
	i = lookup("wbfd_hom", 7, &id);
	say("lookup wbfd_hom %d %u", i, id);
	id = 0;
	i = lookup("wbfd_progs", 0, &id);
	say("lookup wbfd_progs %d %u", i, id);
	p = (struct pair){ 0, 0 };
	i = lookup("wbfd_dev", 0, &p);
	say("lookup wbfd_dev %d %u %d", i, p.first, p.prog);
	p = (struct pair){ 0, 0 };
	i = lookup("wbfd_devh", 5, &p);
	say("lookup wbfd_devh %d %u %d", i, p.first, p.prog);
	p = (struct pair){ 0, 0 };
	i = lookup("wbfd_cpu", 0, &p);
	say("lookup wbfd_cpu %d %u %d", i, p.first, p.prog);
	ids[0] = 0;
	say("lookup wbfd_perf %d", lookup("wbfd_perf", 0, ids));
	say("lookup wbfd_cgarr %d", lookup("wbfd_cgarr", 0, ids));
	say("lookup wbfd_xsk %d", lookup("wbfd_xsk", 0, ids));
	say("lookup wbfd_sock %d", lookup("wbfd_sock", 0, ids));
	if (ids[0] != 0)
		die("a refused lookup wrote %llu", (unsigned long long)ids[0]);

	/* Nothing the refusals aimed at got in. */
	say("empty wbfd_aom %d", lookup("wbfd_aom", 1, &id));
	say("empty wbfd_hom %d", lookup("wbfd_hom", 1, &id));
	say("empty wbfd_progs %d", lookup("wbfd_progs", 1, &id));
	say("empty wbfd_dev %d", lookup("wbfd_dev", 1, &p));
	say("empty wbfd_devh %d", lookup("wbfd_devh", 1, &p));
	say("empty wbfd_cpu %d", lookup("wbfd_cpu", 1, &p));
	say("empty wbfd_sock8 %d", lookup("wbfd_sock8", 1, ids));
	say("empty wbfd_sockh %d", delete("wbfd_sockh", 1)); /* a lookup needs an 8-byte value */
	say("empty wbfd_rport %d", lookup("wbfd_rport", 1, ids));
	say("empty wbfd_perf %d", delete("wbfd_perf", 1));
	say("empty wbfd_cgarr %d", delete("wbfd_cgarr", 1));

	/* The guest's own inserts work: wbfd_entry reads through both
	 * map-in-maps and tail-calls wbfd_tail. */
	must_attach(h, "wbfd_entry", NULL);
	say("attached");
	for (i = 0; i < 1000 && (result(0) != TAIL_MARK || result(1) != INNER_VALUE || result(2) != INNER_VALUE); i++)
		usleep(10000);
	say("works %llx %llx %llx", (unsigned long long)result(0), (unsigned long long)result(1),
	    (unsigned long long)result(2));
	say("done");
	if (!fgets(line, sizeof(line), stdin))
		die("stdin closed");
	return 0;
}

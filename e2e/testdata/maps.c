/* maps.c: drives maps.bpf.o's maps from the guest.
 * usage: maps.wasm PID NEWKEY DELKEY
 * Writes PID into filter_pid[0] (the BPF program then counts, per comm, the
 * execs of PID's children), attaches, prints "ready". On a line on stdin it
 * prints every "count <comm> <n>" of exec_counts (get-next-key from key 0,
 * then lookup) and "end first"; then updates NEWKEY to 42, looks it up,
 * deletes DELKEY, looks that up again, and lists the map again ("end
 * after"). Each operation prints "<op> <ret> [value]". */
#include "guest.h"
#include "maps_bpf.h"

#define KEY_LEN 16

static int counts_fd;

static void dump(const char *label)
{
	char key[KEY_LEN], next[KEY_LEN], comm[KEY_LEN + 1];
	int first = 1, n = 0;

	for (;;) {
		uint64_t value = 0;
		int ret = wasm_bpf_map_operate(counts_fd, WASM_BPF_MAP_GET_NEXT_KEY,
					       first ? NULL : key, NULL, next, 0);
		if (ret == -2)
			break;
		if (ret < 0) {
			say("next_key_error %d", ret);
			break;
		}
		ret = wasm_bpf_map_operate(counts_fd, WASM_BPF_MAP_LOOKUP_ELEM, next, &value, NULL, 0);
		memcpy(comm, next, KEY_LEN);
		comm[KEY_LEN] = '\0';
		if (ret < 0)
			say("lookup_error %s %d", comm, ret);
		else
			say("count %s %llu", comm, (unsigned long long)value);
		memcpy(key, next, KEY_LEN);
		first = 0;
		if (++n > 2048)
			die("iteration does not end");
	}
	say("end %s", label);
}

static void make_key(char key[KEY_LEN], const char *s)
{
	memset(key, 0, KEY_LEN);
	strncpy(key, s, KEY_LEN - 1);
}

int main(int argc, char **argv)
{
	char line[64], newkey[KEY_LEN], delkey[KEY_LEN];
	uint32_t zero = 0, pid, check = 0;
	uint64_t h, value;
	int filter_fd, ret;

	if (argc != 4)
		die("usage: %s PID NEWKEY DELKEY", argv[0]);
	pid = (uint32_t)strtoul(argv[1], NULL, 10);
	make_key(newkey, argv[2]);
	make_key(delkey, argv[3]);

	h = must_load(maps_bpf, maps_bpf_len);
	filter_fd = must_map_fd(h, "filter_pid");
	counts_fd = must_map_fd(h, "exec_counts");
	ret = wasm_bpf_map_operate(filter_fd, WASM_BPF_MAP_UPDATE_ELEM, &zero, &pid, NULL, 0);
	if (ret < 0)
		die("update filter_pid: %d", ret);
	ret = wasm_bpf_map_operate(filter_fd, WASM_BPF_MAP_LOOKUP_ELEM, &zero, &check, NULL, 0);
	say("filter %d %u", ret, (unsigned)check);
	must_attach(h, "count_exec", NULL);
	say("ready");

	if (!fgets(line, sizeof(line), stdin))
		die("stdin closed before the dump line");
	dump("first");

	value = 42;
	say("update %d", wasm_bpf_map_operate(counts_fd, WASM_BPF_MAP_UPDATE_ELEM, newkey, &value, NULL, 0));
	value = 0;
	ret = wasm_bpf_map_operate(counts_fd, WASM_BPF_MAP_LOOKUP_ELEM, newkey, &value, NULL, 0);
	say("lookup %d %llu", ret, (unsigned long long)value);
	say("delete %d", wasm_bpf_map_operate(counts_fd, WASM_BPF_MAP_DELETE_ELEM, delkey, NULL, NULL, 0));
	ret = wasm_bpf_map_operate(counts_fd, WASM_BPF_MAP_LOOKUP_ELEM, delkey, &value, NULL, 0);
	say("lookup_deleted %d", ret);
	dump("after");
	say("close %d", wasm_close_bpf_object(h));
	return 0;
}

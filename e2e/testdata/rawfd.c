/* rawfd.c: loads rawfd.bpf.o with the map fd in its code set to FD (see
 * rawfd.bpf.c), as a guest that builds its object at run time would.
 * usage: rawfd.wasm FD
 * Prints "load refused" if the load returns 0, else "ready" once attached;
 * then waits for a line on stdin and, if it loaded, prints "value HEX",
 * what the program copied out of the map behind FD. */
#include "guest.h"
#include "rawfd_bpf.h"

static const unsigned char mark[4] = { 0x00, 0xfd, 0xe1, 0x7e }; /* 0x7ee1fd00, little endian */

int main(int argc, char **argv)
{
	uint32_t zero = 0, fd;
	uint64_t value = 0, h;
	unsigned char *obj;
	unsigned int i, n = 0;
	char line[16];

	if (argc != 2)
		die("usage: %s FD", argv[0]);
	fd = (uint32_t)atoi(argv[1]);
	obj = malloc(rawfd_bpf_len);
	if (!obj)
		die("out of memory");
	memcpy(obj, rawfd_bpf, rawfd_bpf_len);
	for (i = 0; i + sizeof(mark) <= rawfd_bpf_len; i++) {
		if (memcmp(obj + i, mark, sizeof(mark)) == 0) {
			memcpy(obj + i, &fd, sizeof(fd));
			n++;
		}
	}
	if (n != 1)
		die("found the mark %u times", n);
	h = wasm_load_bpf_object(obj, (int)rawfd_bpf_len);
	if (!h) {
		say("load refused");
	} else {
		must_attach(h, "wbraw_prog", NULL);
		say("ready");
	}
	if (!fgets(line, sizeof(line), stdin))
		die("stdin closed");
	if (h) {
		int err = wasm_bpf_map_operate(must_map_fd(h, "wbraw_out"), WASM_BPF_MAP_LOOKUP_ELEM, &zero, &value,
					       NULL, 0);
		if (err)
			die("lookup wbraw_out: %d", err);
		say("value %llx", (unsigned long long)value);
	}
	return 0;
}

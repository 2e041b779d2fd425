/* loader.c: loads the BPF objects it reads from stdin, one after another,
 * for the hostile-object tests and the object fuzz target
 * (objects_test.go). Each object is a little-endian u32 length and that
 * many bytes; for each the guest prints "handle <h>" (0: refused) and
 * closes it again. It exits 0 at the end of its input.
 * usage: loader.wasm */
#include <unistd.h>

#include "guest.h"

/* Reads exactly n bytes; 0 at the end of input before the first byte. */
static int read_full(void *buf, size_t n)
{
	unsigned char *p = buf;
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(0, p + got, n - got);

		if (r < 0)
			die("read: %d", (int)r);
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got != 0 && got != n)
		die("input ends inside an object (%zu of %zu bytes)", got, n);
	return got == n;
}

int main(void)
{
	uint32_t len;

	while (read_full(&len, sizeof(len))) {
		unsigned char *obj = malloc(len ? len : 1);
		uint64_t h;

		if (!obj)
			die("malloc(%u) failed", (unsigned)len);
		if (!read_full(obj, len))
			die("input ends before the object");
		h = wasm_load_bpf_object(obj, (int)len);
		say("handle %llu", (unsigned long long)h);
		if (h)
			wasm_close_bpf_object(h);
		free(obj);
	}
	return 0;
}

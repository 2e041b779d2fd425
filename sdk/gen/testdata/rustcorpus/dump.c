/* dump.c: fills values of corpus.h's types, as the C compiler lays them out
 * (x86_64 and BPF agree on these), and prints each value's bytes and its
 * fields; main.rs must read the same fields from the bytes, and write the
 * same bytes from the fields. */
#include <stdio.h>
#include <string.h>

#include "corpus.h"

static void hex(const char *name, const void *p, size_t n)
{
	const unsigned char *b = p;

	printf("bytes %s ", name);
	for (size_t i = 0; i < n; i++)
		printf("%02x", b[i]);
	printf("\n");
}

int main(void)
{
	struct awkward w;
	struct holder h;
	union top t;
	anon_t k;

	memset(&w, 0, sizeof(w));
	w.a = -5;
	w.in.tag = 'T';
	w.in.v = 0x1122334455667788LL;
	w.nested.x = -2;
	w.nested.y = 'y';
	w.un.u = 0xa1b2c3d4;
	w.z = 77;
	w.f1 = 5;
	w.f2 = 17;
	w.f3 = 3000;
	w.sf = -3;
	w.wide = 0xabcdef1234ULL;
	w.c = NONE;
	w.ptr = (void *)0xffff888012345678ULL;
	w.arr[0].tag = 'a';
	w.arr[1].v = 9;
	memcpy(w.name, "abcd", 5);
	w.flag = 1;
	w.d = 2.5;
	w.type = 42;
	hex("awkward", &w, sizeof(w));
	printf("field awkward.a %d\nfield awkward.in.tag %d\nfield awkward.in.v %lld\n", w.a, w.in.tag, w.in.v);
	printf("field awkward.nested %d %d\nfield awkward.un.u %u\nfield awkward.z %d\n", w.nested.x, w.nested.y, w.un.u, w.z);
	printf("field awkward.bits %u %u %u %d %llu\n", w.f1, w.f2, w.f3, w.sf, (unsigned long long)w.wide);
	/* BTF before LLVM 15 has no signed enums: compare the bits. */
	printf("field awkward.c %u\nfield awkward.ptr %llx\n", (unsigned)w.c, (unsigned long long)w.ptr);
	printf("field awkward.arr %d %lld\nfield awkward.name %s\n", w.arr[0].tag, w.arr[1].v, w.name);
	printf("field awkward.flag %d\nfield awkward.d %g\nfield awkward.type %d\n", w.flag, w.d, w.type);

	memset(&h, 0, sizeof(h));
	h.x = 'x';
	h.p.a = 'p';
	h.p.b = 0x0102030405060708ULL;
	h.p.c = 0xbeef;
	h.after = 0xdeadbeef;
	hex("holder", &h, sizeof(h));
	printf("field holder %d %d %llu %u %u\n", h.x, h.p.a, (unsigned long long)h.p.b, h.p.c, h.after);

	memset(&t, 0, sizeof(t));
	t.halves.lo = 1;
	t.halves.hi = 2;
	hex("top", &t, sizeof(t));
	printf("field top %llu %u %u\n", (unsigned long long)t.q, t.halves.lo, t.halves.hi);

	memset(&k, 0, sizeof(k));
	k.k = 7;
	k.kc = GREEN;
	hex("anon", &k, sizeof(k));
	printf("field anon %d %u\n", k.k, (unsigned)k.kc);
	return 0;
}

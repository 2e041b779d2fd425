/* corpus.bpf.c: puts corpus.h's types in a BPF object's BTF (maps and
 * globals), for the gen rust test. No vmlinux.h needed. */
#include "corpus.h"

#define SEC(n) __attribute__((section(n), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

struct {
	__uint(type, 1); /* hash */
	__uint(max_entries, 8);
	__type(key, u32);
	__type(value, struct awkward);
} awk SEC(".maps");

struct {
	__uint(type, 2); /* array */
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, union top);
} tops SEC(".maps");

struct {
	__uint(type, 1);
	__uint(max_entries, 8);
	__type(key, anon_t);
	__type(value, struct holder);
} holders SEC(".maps");

struct {
	__uint(type, 6); /* percpu array: no typed accessor */
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} percpu SEC(".maps");

const volatile struct pk ro_pk = { .a = 1 };
const volatile enum big ro_big = BIG;
int data_x = 3;
struct holder bss_holder;

char LICENSE[] SEC("license") = "GPL";

SEC("tp/sched/sched_switch")
int corpus_prog(void *ctx)
{
	return ro_pk.a + data_x + bss_holder.x + (int)ro_big;
}

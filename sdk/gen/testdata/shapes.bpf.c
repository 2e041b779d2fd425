/* shapes.bpf.c: a map or a global of every shape a record can take, for
 * gen_test.go: the generated Go and C must compile for wasm32 with their
 * layout checks. Self-contained: no vmlinux.h, no libbpf headers. */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef long long s64;
#define SEC(n) __attribute__((section(n), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define MAP(kind, name, k, v) struct { __uint(type, kind); __uint(max_entries, 8); __type(key, k); __type(value, v); } name SEC(".maps")

enum color { RED, GREEN = 5, BLUE = -1 };
enum big { BIG_ONE = 1, BIG_HUGE = 0x100000000ULL };
enum clash { ALPHA = 1 };
enum clash2 { ALPHA2 = 2, RED_AGAIN = 3 };

struct nested {
	u8 tag;
	u64 when;	/* padding before */
};

union either {
	u32 word;
	u8 bytes[6];
	struct nested n;
};

struct flags {
	u32 a : 3;
	int b : 5;	/* signed */
	u32 c : 24;
	u64 wide : 40;
	u64 more : 30;	/* spans storage units */
	enum color col : 4;
	_Bool on : 1;
	u8 after;
};

struct __attribute__((packed)) packed {
	u8 a;
	u64 b;	/* misaligned */
	u32 c;
};

struct odd_size {
	u64 x;
	u32 y;
} __attribute__((packed));

struct flex {
	u32 len;
	u32 data[];	/* zero-size at the end */
};

struct wide {
	__int128 i;
	long double f;
	unsigned __int128 u;
};

typedef struct {
	int anon_x;
	union {
		u32 inner_a;
		u16 inner_b;
	};
	struct {
		u8 deep : 2, deeper : 6;
	} bits;
} anon_t;

/* Go would give both the name FooBar; and a member named like a helper. */
struct names {
	u32 foo_bar;
	u32 fooBar;
	u32 __pad0;
	u32 bitfields0;
	u8 flag : 1;
	u8 set_flag;	/* SetFlag: the setter of flag would clash */
};

struct everything {
	char comm[16];
	void *ptr;
	const volatile u32 *cvptr;
	long l;
	enum color color;
	enum big big;
	union either u;
	struct nested n[2];
	struct flags f;
	struct packed p;
	struct odd_size o;
	anon_t anon;
	struct names names;
	s64 matrix[2][3];
	struct wide w;
	struct flex flex;	/* at the end: Go drops its zero-size tail */
};

/* a struct and a typedef of one name; a global named after a type */
struct config { u32 verbose; };
typedef struct { u64 v; } config_t;
struct stat { u64 kernel_layout; };	/* wasi-libc has struct stat */

MAP(1, counts, u32, u64);		/* u32 -> u64: the simplest counter */
MAP(1, by_comm, char[16], u64);	/* char[16] -> u64 */
MAP(1, big_values, u32, struct everything);
MAP(2, flags_map, u32, struct flags);
MAP(1, unions, union either, enum color);
MAP(1, anon, anon_t, config_t);
MAP(1, stats, u32, struct stat);
struct { __uint(type, 27); __uint(max_entries, 4096); } rb SEC(".maps");

const volatile struct config config = { 1 };
const volatile enum clash mode = ALPHA;
const volatile struct everything *unused_everything;
struct names g_names;
u64 counter;

char LICENSE[] SEC("license") = "GPL";

SEC("tp/sched/sched_switch")
int prog(void *ctx)
{
	return config.verbose + mode + counter + g_names.fooBar + (unused_everything != 0);
}

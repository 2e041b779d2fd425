/* corpus.h: awkward shapes for wasm-bpf gen rust, shared by corpus.bpf.c
 * (whose BTF the generator reads) and dump.c (which writes values of the
 * same types, as the x86_64 C compiler lays them out, for the Rust side
 * to read back). */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

enum color { RED = 1, GREEN = 2, NONE = -1 };	/* signed */
enum big { BIG = 0x100000000ULL };		/* 8 bytes (ENUM64 or ENUM of 8) */

struct inner {
	char tag;
	long long v; /* 7 bytes of padding before it */
};

struct awkward {
	int a;
	struct inner in;		 /* nested, named */
	struct { short x; char y; } nested; /* nested, anonymous type */
	union { u32 u; u8 b[6]; } un;	 /* anonymous union: 8 bytes, 2 past b */
	struct { int z; };		 /* anonymous member */
	u32 f1 : 3, f2 : 5, f3 : 12;	 /* bitfields sharing bytes */
	int sf : 4;			 /* signed bitfield */
	u64 wide : 40;			 /* over five bytes */
	enum color c;
	void *ptr;			 /* a kernel pointer: its bits */
	struct inner arr[2];
	char name[5];
	_Bool flag;
	double d;
	int type;			 /* a Rust keyword */
	int tail[];			 /* flexible array */
};

struct __attribute__((packed)) pk {
	char a;
	u64 b; /* at offset 1 */
	u16 c;
};

struct holder {
	char x;
	struct pk p; /* a packed struct at offset 1 */
	u32 after;   /* at offset 12 */
};

union top {
	u64 q;
	struct inner i;
	struct { u32 lo, hi; } halves;
};

typedef struct {
	int k;
	enum color kc;
} anon_t;

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cabi.h"
#include "_cgo_export.h"

// The kernel's bpf_cmd numbers the ABI accepts.
enum { CMD_LOOKUP = 1, CMD_UPDATE = 2, CMD_DELETE = 3, CMD_NEXT_KEY = 4 };

// The kernel's enum bpf_map_type: uapi numbers, spelt out because the
// system's linux/bpf.h may predate the newest types.
enum {
	MT_PROG_ARRAY = 3,
	MT_PERF_EVENT_ARRAY = 4,
	MT_CGROUP_ARRAY = 8,
	MT_ARRAY_OF_MAPS = 12,
	MT_HASH_OF_MAPS = 13,
	MT_DEVMAP = 14,
	MT_SOCKMAP = 15,
	MT_CPUMAP = 16,
	MT_XSKMAP = 17,
	MT_SOCKHASH = 18,
	MT_REUSEPORT_SOCKARRAY = 20,
	MT_SK_STORAGE = 24,
	MT_DEVMAP_HASH = 25,
	MT_STRUCT_OPS = 26,
	MT_RINGBUF = 27,
	MT_INODE_STORAGE = 28,
	MT_TASK_STORAGE = 29,
	MT_CGRP_STORAGE = 32,
	MT_ARENA = 33, // the newest type this table was written against
};

// Fds inside map values and keys. The kernel reads these as fds of the
// calling process, the host, when user space updates (or, for keys, looks
// up, updates or deletes) an element; a guest's number there would name
// any fd of the host: another guest's map or program, a socket, a perf
// event. Read in Linux 6.18's kernel/bpf/{arraymap,hashtab,map_in_map,
// devmap,cpumap,reuseport_array,bpf_struct_ops,bpf_*_storage}.c,
// net/core/{sock_map,bpf_sk_storage}.c and net/xdp/xskmap.c:
//
//   value                  value size  fd at  width    the kernel takes it as
//   ARRAY_OF_MAPS          4           0      u32      a map, then checks it against the inner-map template (bpf_map_fd_get_ptr)
//   HASH_OF_MAPS           4           0      u32      the same (bpf_fd_htab_map_update_elem)
//   PROG_ARRAY             4           0      u32      a program of the array's type (prog_fd_array_get_ptr)
//   PERF_EVENT_ARRAY       4           0      u32      a perf event (perf_event_fd_array_get_ptr)
//   CGROUP_ARRAY           4           0      u32      a cgroup directory (cgroup_fd_array_get_ptr)
//   DEVMAP, DEVMAP_HASH    4           -      -        an ifindex only
//                          8           4      s32      an XDP devmap program if > 0 (struct bpf_devmap_val; __dev_map_alloc_node)
//   CPUMAP                 4           -      -        a queue size only
//                          8           4      s32      an XDP cpumap program if > 0 (struct bpf_cpumap_val; __cpu_map_entry_alloc)
//   SOCKMAP, SOCKHASH      4 or 8      0      u32/u64  a TCP, UDP or unix socket (sock_map_update_elem)
//   REUSEPORT_SOCKARRAY    4 or 8      0      s32/u64  a reuseport socket (bpf_fd_reuseport_array_update_elem)
//   XSKMAP                 4           0      u32      an AF_XDP socket (xsk_map_update_elem)
//   STRUCT_OPS             the struct  each function pointer member: a program (bpf_struct_ops_map_update_elem)
//
//   key                    key size           the kernel takes it as
//   SK_STORAGE             4           0      s32      a socket (bpf_fd_sk_storage_*_elem)
//   INODE_STORAGE          4           0      s32      any open file (bpf_fd_inode_storage_*_elem)
//   TASK_STORAGE           4           0      s32      a pidfd (bpf_pid_task_storage_*_elem)
//   CGRP_STORAGE           4           0      s32      a cgroup directory (bpf_cgrp_storage_*_elem)
//
// A guest owns maps and programs only, so an fd of the right kind must be
// one of its own, and of the same BPF object as the map it goes into (a
// map of maps holding another object's map, or a prog array another
// object's program, would keep them in the kernel, and uncounted, after
// their object is closed); every other kind is always refused. Lookups hand out no
// fd: map-in-maps and prog arrays return ids, devmaps and cpumaps their
// struct with the program's id, socket maps a socket cookie (docs/abi.md).

// failed records the cause of a failed map call for wasm_bpf_last_error
// and returns -err. Only failures pay for it: a call that succeeds leaves
// the record as it was, as errno. (The polls record theirs through the
// host: poll.c.)
static int32_t failed(struct wb_maptab *t, int32_t fd, int32_t cmd, int err, const char *why)
{
	t->last_src = WB_FAIL_C;
	t->last_fd = fd;
	t->last_cmd = cmd;
	t->last_errno = err;
	snprintf(t->last_why, sizeof(t->last_why), "%s", why ? why : "");
	return -err;
}

static int32_t refuse(struct wb_maptab *t, int32_t fd, int32_t cmd, int err, const char *why)
{
	wbMapopRefused(t->log, fd, cmd, err, (char *)why);
	return failed(t, fd, cmd, err, why);
}

static enum wb_kind kind(const struct wb_maptab *t, int64_t fd)
{
	return fd >= 0 && fd < t->cap ? t->fds[fd].kind : WB_NONE;
}

static int32_t load_s32(const uint8_t *p)
{
	int32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static const char *type_name(uint32_t type)
{
	const char *s = libbpf_bpf_map_type_str(type);

	return s ? s : "unknown";
}

static const char *cmd_name(int32_t cmd)
{
	switch (cmd) {
	case CMD_LOOKUP:
		return "lookup";
	case CMD_UPDATE:
		return "update";
	default:
		return "delete";
	}
}

// key_fds names what the keys of a map of this type are, if the kernel
// reads them as fds.
static const char *key_fds(uint32_t type)
{
	switch (type) {
	case MT_SK_STORAGE:
		return "socket fds";
	case MT_INODE_STORAGE:
		return "file fds";
	case MT_TASK_STORAGE:
		return "pidfds";
	case MT_CGRP_STORAGE:
		return "cgroup fds";
	}
	return NULL;
}

// check_key refuses a lookup, update or delete whose key the kernel would
// read as a host fd, and any of a map type newer than the table above
// (which may do so); 0 lets it through. key holds m->key_size bytes.
static int check_key(const struct wb_fdinfo *m, int32_t cmd, const uint8_t *key, char *why, size_t n)
{
	const char *what = key_fds(m->map_type);

	if (what) {
		snprintf(why, n, "%s (map type %s): its keys are %s (this one %d), and a guest owns none", cmd_name(cmd),
			 type_name(m->map_type), what, m->key_size >= 4 ? load_s32(key) : -1);
		return EBADF;
	}
	if (m->map_type > MT_ARENA) {
		snprintf(why, n, "%s (map type %u): a type this runtime does not know, whose keys or values may be fds",
			 cmd_name(cmd), m->map_type);
		return EOPNOTSUPP;
	}
	return 0;
}

// check_value refuses an update whose value carries an fd (the table
// above) that is not an object of this guest of the kind the map holds; 0
// lets it through. value holds m->value_size bytes.
static int check_value(const struct wb_maptab *t, const struct wb_fdinfo *m, const uint8_t *value, char *why, size_t n)
{
	const char *type = type_name(m->map_type), *what = NULL;
	enum wb_kind want = WB_NONE;
	int64_t fd = -1;
	uint64_t v8;

	switch (m->map_type) {
	case MT_ARRAY_OF_MAPS:
	case MT_HASH_OF_MAPS:
		want = WB_MAP;
		fd = m->value_size >= 4 ? (uint32_t)load_s32(value) : -1;
		break;
	case MT_PROG_ARRAY:
		want = WB_PROG;
		fd = m->value_size >= 4 ? (uint32_t)load_s32(value) : -1;
		break;
	case MT_DEVMAP:
	case MT_DEVMAP_HASH:
	case MT_CPUMAP:
		if (m->value_size < 8 || (fd = load_s32(value + 4)) <= 0)
			return 0; // no program
		if (kind(t, fd) == WB_PROG && t->fds[fd].object == m->object)
			return 0;
		snprintf(why, n, "update (map type %s): the value carries program fd %lld at offset 4, which is not a program of %s",
			 type, (long long)fd, kind(t, fd) == WB_PROG ? "this map's object" : "this guest");
		return EBADF;
	case MT_SOCKMAP:
	case MT_SOCKHASH:
	case MT_REUSEPORT_SOCKARRAY:
		what = "socket fds";
		break;
	case MT_XSKMAP:
		what = "AF_XDP socket fds";
		break;
	case MT_CGROUP_ARRAY:
		what = "cgroup fds";
		break;
	case MT_PERF_EVENT_ARRAY:
		what = "perf event fds";
		break;
	case MT_STRUCT_OPS:
		snprintf(why, n, "update (map type struct_ops): the value embeds program fds, and a guest cannot register struct_ops");
		return EBADF;
	default:
		return 0;
	}
	if (what) {
		v8 = 0; // 4 or 8 bytes, little endian
		memcpy(&v8, value, m->value_size < sizeof(v8) ? m->value_size : sizeof(v8));
		snprintf(why, n, "update (map type %s): its values are %s (this one %llu), and a guest owns none", type, what,
			 (unsigned long long)v8);
		return EBADF;
	}
	if (kind(t, fd) == want && t->fds[fd].object == m->object)
		return 0;
	snprintf(why, n, "update (map type %s): the value carries fd %lld, which is not a %s of %s", type, (long long)fd,
		 want == WB_MAP ? "map" : "program", kind(t, fd) == want ? "this map's object" : "this guest");
	return EBADF;
}

// ref points at guest[ptr:ptr+size], or NULL if size is 0 (queue and stack
// maps have no key); *ok is 0 if the range leaves guest memory.
static void *ref(uint8_t *base, size_t len, uint32_t ptr, uint32_t size, int *ok)
{
	if (size == 0)
		return NULL;
	if ((uint64_t)ptr + size > len) {
		*ok = 0;
		return NULL;
	}
	return base + ptr;
}

// memory finds the guest's memory (once) and returns its base and length;
// 0 if the guest exports none.
static int memory(struct wb_maptab *t, wasmtime_caller_t *caller, uint8_t **base, size_t *len)
{
	wasmtime_context_t *ctx = wasmtime_caller_context(caller);

	if (!t->have_mem) {
		wasmtime_extern_t item;
		if (!wasmtime_caller_export_get(caller, "memory", 6, &item) || item.kind != WASMTIME_EXTERN_MEMORY)
			return 0;
		t->mem = item.of.memory;
		t->have_mem = 1;
	}
	*base = wasmtime_memory_data(ctx, &t->mem);
	*len = wasmtime_memory_data_size(ctx, &t->mem);
	return 1;
}

// The largest value or key this code copies before checking it: what is
// checked is what the kernel reads, whatever the guest's memory does
// meanwhile. Every value and key the table above reads is this small.
#define CHECKED_MAX 8

static int32_t map_operate(struct wb_maptab *t, wasmtime_caller_t *caller, int32_t fd, int32_t cmd,
			   uint32_t key_ptr, uint32_t value_ptr, uint32_t next_ptr, uint64_t flags)
{
	struct wb_fdinfo *m;
	uint8_t *base;
	size_t len;
	void *key, *value, *next;
	uint8_t key_copy[CHECKED_MAX], value_copy[CHECKED_MAX];
	char why[200];
	int ok = 1, rc, err;

	if (fd < 0 || fd >= t->cap || t->fds[fd].kind != WB_MAP)
		return refuse(t, fd, cmd, EBADF, "fd is not a map of this guest");
	m = &t->fds[fd];
	if (!memory(t, caller, &base, &len))
		return refuse(t, fd, cmd, EFAULT, "guest exports no memory");

	switch (cmd) {
	case CMD_LOOKUP:
	case CMD_UPDATE:
	case CMD_DELETE:
		key = ref(base, len, key_ptr, m->key_size, &ok);
		value = cmd == CMD_DELETE ? NULL : ref(base, len, value_ptr, m->value_size, &ok);
		if (!ok)
			return refuse(t, fd, cmd, EFAULT,
				      cmd == CMD_DELETE ? "key range outside guest memory" : "key or value range outside guest memory");
		if (key && m->key_size <= CHECKED_MAX) {
			memcpy(key_copy, key, m->key_size);
			key = key_copy;
		}
		if ((err = check_key(m, cmd, key, why, sizeof(why))) != 0)
			return refuse(t, fd, cmd, err, why);
		if (cmd == CMD_UPDATE) {
			if (value && m->value_size <= CHECKED_MAX) {
				memcpy(value_copy, value, m->value_size);
				value = value_copy;
			}
			if ((err = check_value(t, m, value, why, sizeof(why))) != 0)
				return refuse(t, fd, cmd, err, why);
		}
		switch (cmd) {
		case CMD_LOOKUP:
			rc = bpf_map_lookup_elem_flags(fd, key, value, flags);
			break;
		case CMD_UPDATE:
			rc = bpf_map_update_elem(fd, key, value, flags);
			break;
		default:
			rc = bpf_map_delete_elem_flags(fd, key, flags);
		}
		break;
	case CMD_NEXT_KEY:
		key = key_ptr ? ref(base, len, key_ptr, m->key_size, &ok) : NULL; // 0: the first key
		next = ref(base, len, next_ptr, m->key_size, &ok);
		if (!ok)
			return refuse(t, fd, cmd, EFAULT, "key or next_key range outside guest memory");
		rc = bpf_map_get_next_key(fd, key, next);
		break;
	default:
		return refuse(t, fd, cmd, EINVAL, "unknown command");
	}
	// libbpf 1.x returns -errno.
	return rc < 0 ? failed(t, fd, cmd, -rc, NULL) : 0;
}

static wasm_trap_t *wb_mapop(void *env, wasmtime_caller_t *caller, wasmtime_val_raw_t *args, size_t n)
{
	// (fd i32, cmd i32, key i32, value i32, next_key i32, flags i64) -> i32
	args[0].i32 = map_operate(env, caller, args[0].i32, args[1].i32, (uint32_t)args[2].i32,
				  (uint32_t)args[3].i32, (uint32_t)args[4].i32, (uint64_t)args[5].i64);
	return NULL;
}


// wb_is_buffer reports whether fd is a ring or perf buffer map of the
// guest: a poll's C path checks it beside its consumer, which exists only
// for such maps (the Go side checked), in case the two tables disagree.
int wb_is_buffer(const struct wb_maptab *t, int32_t fd)
{
	return kind(t, fd) == WB_MAP && (t->fds[fd].map_type == MT_RINGBUF || t->fds[fd].map_type == MT_PERF_EVENT_ARRAY);
}

void wb_new_func(wasmtime_context_t *ctx, struct wb_maptab *t, wasmtime_func_unchecked_callback_t cb,
		 wasm_valtype_t **ps, size_t np, wasmtime_func_t *out)
{
	wasm_valtype_t *rs[1] = { wasm_valtype_new(WASM_I32) };
	wasm_valtype_vec_t params, results;

	wasm_valtype_vec_new(&params, np, ps);
	wasm_valtype_vec_new(&results, 1, rs);
	wasm_functype_t *ty = wasm_functype_new(&params, &results);
	wasmtime_func_new_unchecked(ctx, ty, cb, t, NULL, out);
	wasm_functype_delete(ty);
}

void wb_mapop_func(wasmtime_context_t *ctx, struct wb_maptab *t, wasmtime_func_t *out)
{
	wasm_valtype_t *ps[6] = {
		wasm_valtype_new(WASM_I32), wasm_valtype_new(WASM_I32), wasm_valtype_new(WASM_I32),
		wasm_valtype_new(WASM_I32), wasm_valtype_new(WASM_I32), wasm_valtype_new(WASM_I64),
	};
	wb_new_func(ctx, t, wb_mapop, ps, 6, out);
}

int wb_buftab_set(struct wb_maptab *t, int32_t fd, uint64_t handle, void *target)
{
	if (fd >= t->bufcap) {
		int32_t cap = t->bufcap ? t->bufcap : 64;
		while (cap <= fd)
			cap *= 2;
		struct wb_bufinfo *bufs = realloc(t->bufs, (size_t)cap * sizeof(*bufs));
		if (!bufs)
			return -ENOMEM;
		memset(bufs + t->bufcap, 0, (size_t)(cap - t->bufcap) * sizeof(*bufs));
		t->bufs = bufs;
		t->bufcap = cap;
	}
	t->bufs[fd] = (struct wb_bufinfo){ handle, target, target != NULL };
	return 0;
}

// slot returns the table entry for fd, growing the table as needed; NULL
// if memory runs out.
static struct wb_fdinfo *slot(struct wb_maptab *t, int32_t fd)
{
	if (fd >= t->cap) {
		int32_t cap = t->cap ? t->cap : 64;
		while (cap <= fd)
			cap *= 2;
		struct wb_fdinfo *fds = realloc(t->fds, (size_t)cap * sizeof(*fds));
		if (!fds)
			return NULL;
		memset(fds + t->cap, 0, (size_t)(cap - t->cap) * sizeof(*fds));
		t->fds = fds;
		t->cap = cap;
	}
	return &t->fds[fd];
}

int wb_maptab_set(struct wb_maptab *t, int32_t fd, uint64_t object, uint32_t map_type, uint32_t key_size,
		  uint32_t value_size)
{
	struct wb_fdinfo *m = slot(t, fd);

	if (!m)
		return -ENOMEM;
	*m = (struct wb_fdinfo){ map_type, key_size, value_size, WB_MAP, object };
	return 0;
}

int wb_progtab_set(struct wb_maptab *t, int32_t fd, uint64_t object)
{
	struct wb_fdinfo *m = slot(t, fd);

	if (!m)
		return -ENOMEM;
	*m = (struct wb_fdinfo){ .kind = WB_PROG, .object = object };
	return 0;
}

int wb_guest_memory(struct wb_maptab *t, wasmtime_caller_t *caller, uint8_t **base, size_t *len)
{
	return memory(t, caller, base, len);
}

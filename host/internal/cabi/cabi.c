#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "cabi.h"
#include "_cgo_export.h"

// The kernel's bpf_cmd numbers the ABI accepts.
enum { CMD_LOOKUP = 1, CMD_UPDATE = 2, CMD_DELETE = 3, CMD_NEXT_KEY = 4 };

static int32_t refuse(struct wb_maptab *t, int32_t fd, int32_t cmd, int err, const char *why)
{
	wbMapopRefused(t->log, fd, cmd, err, (char *)why);
	return -err;
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

static int32_t map_operate(struct wb_maptab *t, wasmtime_caller_t *caller, int32_t fd, int32_t cmd,
			   uint32_t key_ptr, uint32_t value_ptr, uint32_t next_ptr, uint64_t flags)
{
	struct wb_mapinfo *m;
	uint8_t *base;
	size_t len;
	void *key, *value, *next;
	int ok = 1, rc;

	if (fd < 0 || fd >= t->cap || !t->fds[fd].valid)
		return refuse(t, fd, cmd, EBADF, "fd is not a map of this guest");
	m = &t->fds[fd];
	if (!memory(t, caller, &base, &len))
		return refuse(t, fd, cmd, EFAULT, "guest exports no memory");

	switch (cmd) {
	case CMD_LOOKUP:
	case CMD_UPDATE:
		key = ref(base, len, key_ptr, m->key_size, &ok);
		value = ref(base, len, value_ptr, m->value_size, &ok);
		if (!ok)
			return refuse(t, fd, cmd, EFAULT, "key or value range outside guest memory");
		rc = cmd == CMD_LOOKUP ? bpf_map_lookup_elem_flags(fd, key, value, flags)
				       : bpf_map_update_elem(fd, key, value, flags);
		break;
	case CMD_DELETE:
		key = ref(base, len, key_ptr, m->key_size, &ok);
		if (!ok)
			return refuse(t, fd, cmd, EFAULT, "key range outside guest memory");
		rc = bpf_map_delete_elem_flags(fd, key, flags);
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
	return rc < 0 ? rc : 0;
}

static wasm_trap_t *wb_mapop(void *env, wasmtime_caller_t *caller, wasmtime_val_raw_t *args, size_t n)
{
	// (fd i32, cmd i32, key i32, value i32, next_key i32, flags i64) -> i32
	args[0].i32 = map_operate(env, caller, args[0].i32, args[1].i32, (uint32_t)args[2].i32,
				  (uint32_t)args[3].i32, (uint32_t)args[4].i32, (uint64_t)args[5].i64);
	return NULL;
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

int wb_maptab_set(struct wb_maptab *t, int32_t fd, uint32_t key_size, uint32_t value_size)
{
	if (fd >= t->cap) {
		int32_t cap = t->cap ? t->cap : 64;
		while (cap <= fd)
			cap *= 2;
		struct wb_mapinfo *fds = realloc(t->fds, (size_t)cap * sizeof(*fds));
		if (!fds)
			return -ENOMEM;
		memset(fds + t->cap, 0, (size_t)(cap - t->cap) * sizeof(*fds));
		t->fds = fds;
		t->cap = cap;
	}
	t->fds[fd] = (struct wb_mapinfo){ key_size, value_size, 1 };
	return 0;
}

int wb_guest_memory(struct wb_maptab *t, wasmtime_caller_t *caller, uint8_t **base, size_t *len)
{
	return memory(t, caller, base, len);
}

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wasmtime.h>

// WASI preview1 values.
enum { ERRNO_SUCCESS = 0, ERRNO_FAULT = 21, ERRNO_INVAL = 28, ERRNO_NOTSUP = 58 };

struct clock_env {
	wasmtime_memory_t mem;
	int have_mem;
};

static int32_t clock_time_get(struct clock_env *env, wasmtime_caller_t *caller, int32_t id, uint32_t out)
{
	wasmtime_context_t *ctx = wasmtime_caller_context(caller);
	struct timespec ts;
	uint64_t ns;

	switch (id) {
	case 0:
		clock_gettime(CLOCK_REALTIME, &ts);
		break;
	case 1:
		clock_gettime(CLOCK_MONOTONIC, &ts);
		break;
	case 2:
	case 3: // process and thread CPU time, which wasmtime does not offer either
		return ERRNO_NOTSUP;
	default:
		return ERRNO_INVAL;
	}
	if (!env->have_mem) {
		wasmtime_extern_t item;
		if (!wasmtime_caller_export_get(caller, "memory", 6, &item) || item.kind != WASMTIME_EXTERN_MEMORY)
			return ERRNO_FAULT;
		env->mem = item.of.memory;
		env->have_mem = 1;
	}
	if ((uint64_t)out + 8 > wasmtime_memory_data_size(ctx, &env->mem))
		return ERRNO_FAULT;
	ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	memcpy(wasmtime_memory_data(ctx, &env->mem) + out, &ns, 8); // wasm is little endian, as our hosts
	return ERRNO_SUCCESS;
}

static wasm_trap_t *wb_clock(void *env, wasmtime_caller_t *caller, wasmtime_val_raw_t *args, size_t n)
{
	// (id i32, precision i64, time i32) -> errno i32
	args[0].i32 = clock_time_get(env, caller, args[0].i32, (uint32_t)args[2].i32);
	return NULL;
}

void wb_clock_func(wasmtime_context_t *ctx, wasmtime_func_t *out)
{
	wasm_valtype_t *ps[3] = { wasm_valtype_new(WASM_I32), wasm_valtype_new(WASM_I64), wasm_valtype_new(WASM_I32) };
	wasm_valtype_t *rs[1] = { wasm_valtype_new(WASM_I32) };
	wasm_valtype_vec_t params, results;

	wasm_valtype_vec_new(&params, 3, ps);
	wasm_valtype_vec_new(&results, 1, rs);
	wasm_functype_t *ty = wasm_functype_new(&params, &results);
	// The environment lives as long as the store: wasmtime frees it.
	wasmtime_func_new_unchecked(ctx, ty, wb_clock, calloc(1, sizeof(struct clock_env)), free, out);
	wasm_functype_delete(ty);
}

// The polls of the host ABI: wasm_bpf_buffer_poll (a table function per
// record), the callback-wrapper's poll (an exported function per record)
// and wasm_bpf_ext's batched poll. The common case, a buffer whose consumer
// exists and sound arguments, runs here from the guest's call to its
// return with no Go on the way: records reach the guest through
// wasmtime_func_call_unchecked. The rest asks the host (wbPoll): a first
// poll (the host checks the handle and fd and creates the consumer), the
// log line of a refusal, a pause or stop, a callback that ended the guest,
// and closes put off while callbacks ran.
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cabi.h"
// The libbpf package's polls, linked into the same program.
#include "shim.h"
#include "_cgo_export.h"

static const char table_export[] = "__indirect_function_table";

static int32_t ask(struct wb_maptab *t, int op, struct wb_pollreq *r)
{
	return wbPoll(t->host, op, r);
}

static int32_t refuse(struct wb_maptab *t, struct wb_pollreq *r, int err, const char *why)
{
	r->err = err;
	r->why = why;
	ask(t, WB_ASK_REFUSED, r);
	return -err;
}

// consumer returns the buffer (handle, fd), which the host creates on a
// first poll; NULL with the poll's result in *rc if there is none.
static struct wb_target *consumer(struct wb_maptab *t, struct wb_pollreq *r, int32_t *rc)
{
	for (int asked = 0;; asked = 1) {
		if (r->fd >= 0 && r->fd < t->bufcap && t->bufs[r->fd].valid && t->bufs[r->fd].handle == r->handle &&
		    wb_is_buffer(t, r->fd))
			return t->bufs[r->fd].target;
		if (asked) {
			*rc = -EINVAL; // cannot happen: the host registers the consumers it creates
			return NULL;
		}
		if ((*rc = ask(t, WB_ASK_SETUP, r)) != 0)
			return NULL;
	}
}

// guest_range points at guest[ptr:ptr+size], or is NULL if that is not
// all inside guest memory. The memory never moves and only grows: a range
// inside its last known length needs no call into wasmtime.
static uint8_t *guest_range(struct wb_maptab *t, wasmtime_caller_t *caller, uint32_t ptr, uint32_t size)
{
	if (!t->base || (uint64_t)ptr + size > t->len) {
		if (!wb_guest_memory(t, caller, &t->base, &t->len)) {
			t->base = NULL;
			return NULL;
		}
		if ((uint64_t)ptr + size > t->len)
			return NULL;
	}
	return t->base + ptr;
}

static int is_sample_func(wasmtime_context_t *ctx, const wasmtime_func_t *f)
{
	wasm_functype_t *ty = wasmtime_func_type(ctx, f);
	const wasm_valtype_vec_t *ps = wasm_functype_params(ty), *rs = wasm_functype_results(ty);
	int ok = ps->size == 3 && rs->size == 1 && wasm_valtype_kind(rs->data[0]) == WASM_I32;

	for (size_t i = 0; ok && i < ps->size; i++)
		ok = wasm_valtype_kind(ps->data[i]) == WASM_I32;
	wasm_functype_delete(ty);
	return ok;
}

static int is_func_table(wasmtime_context_t *ctx, const wasmtime_table_t *tab)
{
	wasm_tabletype_t *ty = wasmtime_table_type(ctx, tab);
	int ok = wasm_valtype_kind(wasm_tabletype_element(ty)) == WASM_FUNCREF;

	wasm_tabletype_delete(ty);
	return ok;
}

// table_func resolves sample_func, an index into the guest's function
// table, to a function of the record callback's type: 0, or -errno.
static int32_t table_func(struct wb_maptab *t, wasmtime_caller_t *caller, struct wb_pollreq *r, uint32_t idx,
			  wasmtime_func_t *out)
{
	wasmtime_context_t *ctx = wasmtime_caller_context(caller);
	wasmtime_val_t v;

	if (!t->have_table) {
		wasmtime_extern_t e;

		// A table of anything but funcrefs is no function table.
		if (!wasmtime_caller_export_get(caller, table_export, sizeof(table_export) - 1, &e) ||
		    e.kind != WASMTIME_EXTERN_TABLE || !is_func_table(ctx, &e.of.table))
			return refuse(t, r, EINVAL,
				      "guest exports no function table __indirect_function_table (link with -Wl,--export-table)");
		t->table = e.of.table;
		t->have_table = 1;
	}
	r->key1 = "index";
	r->val1 = idx;
	if (!wasmtime_table_get(ctx, &t->table, idx, &v))
		return refuse(t, r, EINVAL, "sample_func index out of range");
	if (v.kind != WASMTIME_FUNCREF || v.of.funcref.store_id == 0)
		return refuse(t, r, EINVAL, "sample_func is not a function (ctx, data, size i32) -> i32");
	// The table may change (table.set), so the entry is read every time,
	// but a function already checked needs no second type check.
	if (!t->have_sample || t->sample.store_id != v.of.funcref.store_id ||
	    t->sample.__private != v.of.funcref.__private) {
		if (!is_sample_func(ctx, &v.of.funcref))
			return refuse(t, r, EINVAL, "sample_func is not a function (ctx, data, size i32) -> i32");
		t->sample = v.of.funcref;
		t->have_sample = 1;
	}
	r->key1 = NULL;
	*out = v.of.funcref;
	return 0;
}

// export_func resolves the callback-wrapper's callback, a guest export
// (exports never change: one look-up and type check serve every poll).
static int32_t export_func(struct wb_maptab *t, wasmtime_caller_t *caller, struct wb_pollreq *r, wasmtime_func_t *out)
{
	if (!t->have_callback) {
		wasmtime_extern_t e;

		if (!t->callback_name ||
		    !wasmtime_caller_export_get(caller, t->callback_name, strlen(t->callback_name), &e) ||
		    e.kind != WASMTIME_EXTERN_FUNC || !is_sample_func(wasmtime_caller_context(caller), &e.of.func)) {
			r->skey = "export";
			r->sval = t->callback_name;
			return refuse(t, r, EINVAL, "guest exports no callback (ctx, data, size i32) -> i32 under this name");
		}
		t->callback = e.of.func;
		t->have_callback = 1;
	}
	*out = t->callback;
	return 0;
}

// deliver is a classic poll's wb_classic fn: it copies the record into the
// guest's buffer (cut to max) and calls the guest's callback. The buffer
// was checked once: the guest's memory never moves (host.engineConfig)
// nor shrinks, however the callbacks grow it.
struct deliver {
	wasmtime_context_t *ctx;
	wasmtime_func_t fn;
	uint8_t *buf;
	int32_t cb_ctx;
	uint32_t data, max;
	int failed; // 1: a trap or error, 2: proc_exit(status)
	int status;
	wasm_message_t msg;
};

static int deliver(void *p, void *rec, uint32_t size)
{
	struct deliver *d = p;
	uint32_t n = size < d->max ? size : d->max;
	wasmtime_val_raw_t vals[3];
	wasm_trap_t *trap = NULL;
	wasmtime_error_t *err;

	memcpy(d->buf, rec, n);
	memset(vals, 0, sizeof(vals));
	vals[0].i32 = d->cb_ctx;
	vals[1].i32 = (int32_t)d->data;
	vals[2].i32 = (int32_t)n;
	err = wasmtime_func_call_unchecked(d->ctx, &d->fn, vals, 3, &trap);
	if (err) {
		d->failed = wasmtime_error_exit_status(err, &d->status) ? 2 : 1;
		wasmtime_error_message(err, &d->msg);
		wasmtime_error_delete(err);
	} else if (trap) {
		d->failed = 1;
		wasm_trap_message(trap, &d->msg);
		wasm_trap_delete(trap);
	} else {
		return vals[0].i32;
	}
	return -1;
}

// woken waits out the pause that interrupted a poll (0), or tells that the
// guest was stopped (-1, r->trap set); *timeout becomes what is left of it.
static int woken(struct wb_maptab *t, struct wb_pollreq *r, int64_t deadline, int32_t *timeout)
{
	ask(t, WB_ASK_WOKEN, r);
	if (r->trap)
		return -1;
	if (*timeout >= 0) {
		int64_t left = deadline - wb_now_ms();
		*timeout = left > 0 ? (int32_t)left : 0;
	}
	return 0;
}

static int32_t failed(struct wb_maptab *t, struct wb_pollreq *r, int64_t rc)
{
	if (rc == -EBUSY)
		return refuse(t, r, EBUSY, "this buffer is being polled already (a poll from its own callback)");
	r->rc = (int32_t)rc;
	ask(t, WB_ASK_FAILED, r);
	return (int32_t)rc;
}

// classic is a classic poll: wait, then call the callback for each record,
// in order. A pause or stop between records ends the consume before the
// next record, which the next consume delivers first.
static int32_t classic(struct wb_maptab *t, wasmtime_caller_t *caller, struct wb_pollreq *r, uint32_t idx, int32_t cb_ctx,
		       uint32_t data, uint32_t max, int32_t timeout)
{
	int64_t deadline = wb_now_ms() + timeout;
	struct deliver d = { .ctx = wasmtime_caller_context(caller), .cb_ctx = cb_ctx, .data = data, .max = max };
	struct wb_classic cl = { .fn = deliver, .ctx = &d, .raised = t->raised };
	struct wb_target *tg;
	int32_t rc, done = 0; // records delivered by consumes that a pause interrupted

	if (!(tg = consumer(t, r, &rc)))
		return rc;
	if (!(d.buf = guest_range(t, caller, data, max))) {
		r->key1 = "data", r->val1 = data, r->key2 = "max_size", r->val2 = (int32_t)max;
		return refuse(t, r, EFAULT, "data range outside guest memory");
	}
	rc = r->kind == WB_POLL_TABLE ? table_func(t, caller, r, idx, &d.fn) : export_func(t, caller, r, &d.fn);
	if (rc)
		return rc;
	for (;;) {
		int64_t n = wb_poll_classic(tg, t->wake_fd, timeout, &cl);

		if (d.failed) {
			r->failed = d.failed, r->status = d.status;
			r->msg = d.msg.data, r->msg_len = d.msg.size;
			ask(t, WB_ASK_ENDED, r);
			wasm_byte_vec_delete(&d.msg);
			return 0;
		}
		if (n == WB_WOKEN || cl.held) {
			done += cl.count;
			if (woken(t, r, deadline, &timeout))
				return 0;
			continue;
		}
		if (cl.stopped < 0)
			rc = cl.stopped;
		else if (n < 0)
			rc = failed(t, r, n);
		else
			rc = cl.count + done;
		break;
	}
	if (t->closing)
		ask(t, WB_ASK_CLOSED, r);
	return rc;
}

// batch is a batched poll: wait, then copy ready records into the buffer.
static int32_t batch(struct wb_maptab *t, wasmtime_caller_t *caller, struct wb_pollreq *r, uint32_t buf, int32_t size,
		     int32_t timeout)
{
	int64_t deadline = wb_now_ms() + timeout;
	struct wb_target *tg;
	uint8_t *dst;
	int32_t rc;

	if (!(tg = consumer(t, r, &rc)))
		return rc;
	r->key1 = "buf", r->val1 = buf, r->key2 = "buf_size", r->val2 = size;
	if (!(dst = guest_range(t, caller, buf, (uint32_t)size)))
		return refuse(t, r, EFAULT, "batch buffer outside guest memory");
	if (size < 8)
		return refuse(t, r, EINVAL, "batch buffer smaller than 8 bytes");
	for (;;) {
		int64_t n = wb_poll_batch(tg, t->wake_fd, timeout, (char *)dst, (uint32_t)size);

		if (n != WB_WOKEN)
			return n < 0 ? failed(t, r, n) : (int32_t)n;
		if (woken(t, r, deadline, &timeout))
			return 0;
	}
}

static wasm_trap_t *result(wasmtime_val_raw_t *args, int32_t rc, struct wb_pollreq *r)
{
	wasm_trap_t *trap;

	if (!r->trap) {
		args[0].i32 = rc;
		return NULL;
	}
	trap = wasmtime_trap_new(r->trap, strlen(r->trap));
	free(r->trap);
	return trap;
}

static wasm_trap_t *poll_table(void *env, wasmtime_caller_t *caller, wasmtime_val_raw_t *args, size_t n)
{
	// (handle i64, fd i32, sample_func i32, ctx i32, data i32, max_size i32, timeout_ms i32) -> i32
	struct wb_pollreq r = { .kind = WB_POLL_TABLE, .handle = (uint64_t)args[0].i64, .fd = args[1].i32 };
	int32_t rc = classic(env, caller, &r, (uint32_t)args[2].i32, args[3].i32, (uint32_t)args[4].i32,
			     (uint32_t)args[5].i32, args[6].i32);

	return result(args, rc, &r);
}

static wasm_trap_t *poll_wrapper(void *env, wasmtime_caller_t *caller, wasmtime_val_raw_t *args, size_t n)
{
	// (handle i64, fd i32, ctx i32, data i32, max_size i32, timeout_ms i32) -> i32
	struct wb_pollreq r = { .kind = WB_POLL_WRAPPER, .handle = (uint64_t)args[0].i64, .fd = args[1].i32 };
	int32_t rc = classic(env, caller, &r, 0, args[2].i32, (uint32_t)args[3].i32, (uint32_t)args[4].i32, args[5].i32);

	return result(args, rc, &r);
}

static wasm_trap_t *poll_batch(void *env, wasmtime_caller_t *caller, wasmtime_val_raw_t *args, size_t n)
{
	// (handle i64, fd i32, buf i32, buf_size i32, timeout_ms i32) -> i32
	struct wb_pollreq r = { .kind = WB_POLL_BATCH, .handle = (uint64_t)args[0].i64, .fd = args[1].i32 };
	int32_t rc = batch(env, caller, &r, (uint32_t)args[2].i32, args[3].i32, args[4].i32);

	return result(args, rc, &r);
}

void wb_poll_funcs(wasmtime_context_t *ctx, struct wb_maptab *t, wasmtime_func_t *table, wasmtime_func_t *wrapper,
		   wasmtime_func_t *batch)
{
	wasm_valtype_t *pt[7], *pw[6], *pb[5];

	pt[0] = wasm_valtype_new(WASM_I64);
	for (int i = 1; i < 7; i++)
		pt[i] = wasm_valtype_new(WASM_I32);
	wb_new_func(ctx, t, poll_table, pt, 7, table);
	pw[0] = wasm_valtype_new(WASM_I64);
	for (int i = 1; i < 6; i++)
		pw[i] = wasm_valtype_new(WASM_I32);
	wb_new_func(ctx, t, poll_wrapper, pw, 6, wrapper);
	pb[0] = wasm_valtype_new(WASM_I64);
	for (int i = 1; i < 5; i++)
		pb[i] = wasm_valtype_new(WASM_I32);
	wb_new_func(ctx, t, poll_batch, pb, 5, batch);
}

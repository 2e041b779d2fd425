/* hostile.c: calls every host function with bad arguments and prints
 * "case <name> <ret>" for each call (the Go test holds the expected values,
 * from abi.md). Then it behaves as events.c in ring mode: loads, attaches,
 * prints "ready" and reports execs until one of STOPCOMM.
 * usage: hostile.wasm STOPCOMM */
#include "guest.h"
#include "events_bpf.h"
#include "reject_bpf.h"

/* An address far outside any memory this guest will have. */
#define BAD ((void *)(uintptr_t)0xFFFFFF00u)
/* A handle value this runtime never handed out. */
#define UNKNOWN_HANDLE 0x0123456789abcdefULL

static void report(const char *name, long long ret)
{
	say("case %s %lld", name, ret);
}

/* Functions of other signatures than the poll callback, kept in the table
 * by taking their addresses. */
static void not_a_callback_void(void) {}
static int not_a_callback_int(int x) { return x + 1; }
static void (*volatile keep_void)(void) = not_a_callback_void;
static int (*volatile keep_int)(int) = not_a_callback_int;

/* Fills the last n bytes of memory with 'A' (no terminator up to the end)
 * and returns their address. */
static char *unterminated_tail(uint32_t n)
{
	char *p = (char *)(uintptr_t)(mem_end() - n);

	memset(p, 'A', n);
	return p;
}

/* Address of a range of n bytes that ends one byte past the end of memory. */
static void *past_end(uint32_t n)
{
	return (void *)(uintptr_t)(mem_end() - n + 1);
}

static char garbage[512];

int main(int argc, char **argv)
{
	const unsigned char *obj = events_bpf;
	const int len = (int)events_bpf_len;
	uint64_t h1, h2, hc;
	int rb1, rb2, hash1, hash2, hashc;
	uint32_t key = 7, next = 0;
	uint64_t value = 0;
	int32_t cb = TABLE_INDEX(on_event);
	struct watch w = { 0 };

	if (argc != 2)
		die("usage: %s STOPCOMM", argv[0]);
	w.stop = argv[1];
	/* A page of our own at the end of memory: nothing else lives there. */
	if (__builtin_wasm_memory_grow(0, 1) < 0)
		die("memory.grow failed");
	memset(garbage, 'x', sizeof(garbage));

	/* load: every failure is handle 0. */
	report("load_ptr_oob", (long long)wasm_load_bpf_object(BAD, 1024));
	report("load_ptr_at_end", (long long)wasm_load_bpf_object((void *)(uintptr_t)mem_end(), 1));
	report("load_end_plus1", (long long)wasm_load_bpf_object(past_end(4096), 4096));
	report("load_size0", (long long)wasm_load_bpf_object(obj, 0));
	report("load_size_neg", (long long)wasm_load_bpf_object(obj, -1));
	report("load_size_huge", (long long)wasm_load_bpf_object(obj, 0x7fffffff));
	report("load_garbage", (long long)wasm_load_bpf_object(garbage, sizeof(garbage)));
	report("load_truncated_elf", (long long)wasm_load_bpf_object(obj, 64));
	report("load_verifier_reject", (long long)wasm_load_bpf_object(reject_bpf, (int)reject_bpf_len));

	h1 = must_load(obj, len);
	h2 = must_load(obj, len); /* the same object, a second handle */
	rb1 = must_map_fd(h1, "rb");
	rb2 = must_map_fd(h2, "rb");
	hash1 = must_map_fd(h1, "scratch");
	hash2 = must_map_fd(h2, "scratch");
	say("info handles %s fds rb1=%d rb2=%d hash1=%d hash2=%d",
	    h1 != h2 ? "distinct" : "SAME", rb1, rb2, hash1, hash2);

	/* A handle that was closed; its cases come right after the close. */
	hc = must_load(obj, len);
	hashc = must_map_fd(hc, "scratch");
	report("close_valid", wasm_close_bpf_object(hc));
	report("close_closed", wasm_close_bpf_object(hc));
	report("attach_closed_handle", wasm_attach_bpf_program(hc, "handle_exec_rb", NULL));
	report("poll_closed_handle", wasm_bpf_buffer_poll(hc, rb1, cb, GUEST_ADDR(&w), poll_buf, sizeof(poll_buf), 0));
	report("mapfd_closed_handle", wasm_bpf_map_fd_by_name(hc, "rb"));
	report("mop_closed_handle_fd", wasm_bpf_map_operate(hashc, WASM_BPF_MAP_LOOKUP_ELEM, &key, &value, NULL, 0));

	/* close */
	report("close_0", wasm_close_bpf_object(0));
	report("close_unknown", wasm_close_bpf_object(UNKNOWN_HANDLE));

	/* attach */
	report("attach_handle0", wasm_attach_bpf_program(0, "handle_exec_rb", NULL));
	report("attach_unknown_handle", wasm_attach_bpf_program(UNKNOWN_HANDLE, "handle_exec_rb", NULL));
	report("attach_name_oob", wasm_attach_bpf_program(h1, BAD, NULL));
	report("attach_name_unterminated", wasm_attach_bpf_program(h1, unterminated_tail(16), NULL));
	report("attach_unknown_prog", wasm_attach_bpf_program(h1, "no_such_prog", NULL));
	report("attach_target_oob", wasm_attach_bpf_program(h1, "handle_exec_rb", BAD));
	report("attach_target_unterminated", wasm_attach_bpf_program(h1, "handle_exec_rb", unterminated_tail(32)));

	/* buffer_poll */
	report("poll_handle0", wasm_bpf_buffer_poll(0, rb1, cb, 0, poll_buf, sizeof(poll_buf), 0));
	report("poll_unknown_handle", wasm_bpf_buffer_poll(UNKNOWN_HANDLE, rb1, cb, 0, poll_buf, sizeof(poll_buf), 0));
	report("poll_fd0", wasm_bpf_buffer_poll(h1, 0, cb, 0, poll_buf, sizeof(poll_buf), 0));
	report("poll_fd1", wasm_bpf_buffer_poll(h1, 1, cb, 0, poll_buf, sizeof(poll_buf), 0));
	report("poll_fd2", wasm_bpf_buffer_poll(h1, 2, cb, 0, poll_buf, sizeof(poll_buf), 0));
	report("poll_fd_negative", wasm_bpf_buffer_poll(h1, -1, cb, 0, poll_buf, sizeof(poll_buf), 0));
	report("poll_hash_fd", wasm_bpf_buffer_poll(h1, hash1, cb, 0, poll_buf, sizeof(poll_buf), 0));
	report("poll_other_handle_rb", wasm_bpf_buffer_poll(h1, rb2, cb, 0, poll_buf, sizeof(poll_buf), 0));
	report("poll_data_oob", wasm_bpf_buffer_poll(h1, rb1, cb, 0, BAD, 64, 0));
	report("poll_data_end_plus1", wasm_bpf_buffer_poll(h1, rb1, cb, 0, past_end(64), 64, 0));
	report("poll_max_size_neg", wasm_bpf_buffer_poll(h1, rb1, cb, 0, poll_buf, -1, 0));
	report("poll_table_oob", wasm_bpf_buffer_poll(h1, rb1, 100000, 0, poll_buf, sizeof(poll_buf), 0));
	report("poll_table_null", wasm_bpf_buffer_poll(h1, rb1, 0, 0, poll_buf, sizeof(poll_buf), 0));
	report("poll_table_negative", wasm_bpf_buffer_poll(h1, rb1, -1, 0, poll_buf, sizeof(poll_buf), 0));
	report("poll_sig_void", wasm_bpf_buffer_poll(h1, rb1, TABLE_INDEX(keep_void), 0, poll_buf, sizeof(poll_buf), 0));
	report("poll_sig_int", wasm_bpf_buffer_poll(h1, rb1, TABLE_INDEX(keep_int), 0, poll_buf, sizeof(poll_buf), 0));

	/* map_fd_by_name */
	report("mapfd_handle0", wasm_bpf_map_fd_by_name(0, "rb"));
	report("mapfd_unknown_handle", wasm_bpf_map_fd_by_name(UNKNOWN_HANDLE, "rb"));
	report("mapfd_name_oob", wasm_bpf_map_fd_by_name(h1, BAD));
	report("mapfd_name_unterminated", wasm_bpf_map_fd_by_name(h1, unterminated_tail(8)));
	report("mapfd_unknown_map", wasm_bpf_map_fd_by_name(h1, "no_such_map"));

	/* map_operate: the scratch map has u32 keys and u64 values. */
	report("mop_cmd0", wasm_bpf_map_operate(hash1, 0, &key, &value, NULL, 0));
	report("mop_cmd5", wasm_bpf_map_operate(hash1, 5, &key, &value, NULL, 0));
	report("mop_cmd99", wasm_bpf_map_operate(hash1, 99, &key, &value, NULL, 0));
	report("mop_cmd_negative", wasm_bpf_map_operate(hash1, -1, &key, &value, NULL, 0));
	report("mop_fd0", wasm_bpf_map_operate(0, WASM_BPF_MAP_LOOKUP_ELEM, &key, &value, NULL, 0));
	report("mop_fd1", wasm_bpf_map_operate(1, WASM_BPF_MAP_LOOKUP_ELEM, &key, &value, NULL, 0));
	report("mop_fd2", wasm_bpf_map_operate(2, WASM_BPF_MAP_LOOKUP_ELEM, &key, &value, NULL, 0));
	report("mop_fd12345", wasm_bpf_map_operate(12345, WASM_BPF_MAP_LOOKUP_ELEM, &key, &value, NULL, 0));
	report("mop_fd_negative", wasm_bpf_map_operate(-1, WASM_BPF_MAP_LOOKUP_ELEM, &key, &value, NULL, 0));
	report("mop_key_oob", wasm_bpf_map_operate(hash1, WASM_BPF_MAP_LOOKUP_ELEM, BAD, &value, NULL, 0));
	report("mop_key_end_plus1", wasm_bpf_map_operate(hash1, WASM_BPF_MAP_LOOKUP_ELEM, past_end(sizeof(key)), &value, NULL, 0));
	report("mop_value_oob", wasm_bpf_map_operate(hash1, WASM_BPF_MAP_LOOKUP_ELEM, &key, BAD, NULL, 0));
	report("mop_value_end_plus1", wasm_bpf_map_operate(hash1, WASM_BPF_MAP_LOOKUP_ELEM, &key, past_end(sizeof(value)), NULL, 0));
	report("mop_update_value_end_plus1", wasm_bpf_map_operate(hash1, WASM_BPF_MAP_UPDATE_ELEM, &key, past_end(sizeof(value)), NULL, 0));
	report("mop_next_key_oob", wasm_bpf_map_operate(hash1, WASM_BPF_MAP_GET_NEXT_KEY, NULL, NULL, BAD, 0));
	report("mop_next_key_end_plus1", wasm_bpf_map_operate(hash1, WASM_BPF_MAP_GET_NEXT_KEY, NULL, NULL, past_end(sizeof(next)), 0));
	report("mop_lookup_missing", wasm_bpf_map_operate(hash1, WASM_BPF_MAP_LOOKUP_ELEM, &key, &value, NULL, 0));
	report("mop_delete_missing", wasm_bpf_map_operate(hash1, WASM_BPF_MAP_DELETE_ELEM, &key, NULL, NULL, 0));
	report("mop_next_key_empty", wasm_bpf_map_operate(hash1, WASM_BPF_MAP_GET_NEXT_KEY, NULL, NULL, &next, 0));
	/* Valid operations, to see the error cases did not break the map. */
	value = 42;
	report("mop_update", wasm_bpf_map_operate(hash1, WASM_BPF_MAP_UPDATE_ELEM, &key, &value, NULL, 0));
	report("mop_update_noexist", wasm_bpf_map_operate(hash1, WASM_BPF_MAP_UPDATE_ELEM, &key, &value, NULL, 1 /* BPF_NOEXIST */));
	value = 0;
	report("mop_lookup_present", wasm_bpf_map_operate(hash1, WASM_BPF_MAP_LOOKUP_ELEM, &key, &value, NULL, 0));
	report("mop_lookup_value", (long long)value);
	report("mop_next_key_first", wasm_bpf_map_operate(hash1, WASM_BPF_MAP_GET_NEXT_KEY, NULL, NULL, &next, 0));
	report("mop_next_key_first_value", next);
	report("mop_next_key_last", wasm_bpf_map_operate(hash1, WASM_BPF_MAP_GET_NEXT_KEY, &key, NULL, &next, 0));
	report("mop_other_handle_lookup", wasm_bpf_map_operate(hash2, WASM_BPF_MAP_LOOKUP_ELEM, &key, &value, NULL, 0));
	report("mop_delete", wasm_bpf_map_operate(hash1, WASM_BPF_MAP_DELETE_ELEM, &key, NULL, NULL, 0));
	report("mop_delete_again", wasm_bpf_map_operate(hash1, WASM_BPF_MAP_DELETE_ELEM, &key, NULL, NULL, 0));

	report("close_h2", wasm_close_bpf_object(h2));
	report("mop_fd_after_close", wasm_bpf_map_operate(hash2, WASM_BPF_MAP_LOOKUP_ELEM, &key, &value, NULL, 0));
	say("cases done");

	/* Now a normal run on h1: the host must still work. */
	must_attach(h1, "handle_exec_rb", NULL);
	poll_once(h1, rb1, &w, 0);
	say("ready");
	watch_until_stop(h1, rb1, &w);
	say("done %lu", w.seen);
	return 0;
}

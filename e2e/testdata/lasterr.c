/* lasterr.c: the contract of wasm_bpf_ext.wasm_bpf_last_error
 * (docs/abi.md), one "case <name> <ret> <message>" line per check. */
#include "guest.h"
#include "events_bpf.h"

int wasm_bpf_last_error(char *buf, int size)
	__attribute__((import_module("wasm_bpf_ext"), import_name("wasm_bpf_last_error")));
int wasm_bpf_buffer_poll_batch(uint64_t handle, int fd, void *buf, int buf_size, int timeout_ms)
	__attribute__((import_module("wasm_bpf_ext"), import_name("wasm_bpf_buffer_poll_batch")));

static char buf[4096];

static void last(const char *name, int size)
{
	int rc;

	memset(buf, 'x', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	rc = wasm_bpf_last_error(buf, size);
	say("case %s %d %s", name, rc, size > 0 && rc >= 0 ? buf : "-");
}

int main(void)
{
	uint64_t h = must_load(events_bpf, events_bpf_len);
	uint32_t key = 7;
	uint64_t value = 1;
	int fd = must_map_fd(h, "scratch");

	say("case fd %d -", fd);
	last("none", sizeof(buf));
	say("call map_fd %d", wasm_bpf_map_fd_by_name(h, "wbnope"));
	last("refusal", sizeof(buf));
	last("cut", 8);
	say("case size0 %d -", wasm_bpf_last_error(buf, 0));
	say("case negative %d -", wasm_bpf_last_error(buf, -1));
	say("case fault %d -", wasm_bpf_last_error((char *)(uintptr_t)(mem_end() - 4), 8));
	say("call lookup %d", wasm_bpf_map_operate(fd, WASM_BPF_MAP_LOOKUP_ELEM, &key, &value, NULL, 0));
	last("kernel", sizeof(buf));
	say("call badfd %d", wasm_bpf_map_operate(99, WASM_BPF_MAP_LOOKUP_ELEM, &key, &value, NULL, 0));
	last("badfd", sizeof(buf));
	say("call update %d", wasm_bpf_map_operate(fd, WASM_BPF_MAP_UPDATE_ELEM, &key, &value, NULL, 0));
	last("after-success", sizeof(buf));
	say("call attach %d", wasm_attach_bpf_program(h, "wbnope", NULL));
	last("attach", sizeof(buf));
	/* The polls, served in C: a first poll creates the consumer, then the
	 * C path refuses the range (for the classic poll, before it looks at
	 * the table). */
	int rb = must_map_fd(h, "rb");
	say("call poll %d", wasm_bpf_buffer_poll(h, rb, 0, 0, 0xfffffff0u, 64, 0));
	last("poll-fault", sizeof(buf));
	say("call batch %d", wasm_bpf_buffer_poll_batch(h, rb, (void *)(uintptr_t)0xfffffff0u, 64, 0));
	last("batch-fault", sizeof(buf));
	say("call poll %d", wasm_bpf_buffer_poll(h, rb, TABLE_INDEX(on_event), 0, GUEST_ADDR(buf), 64, 0));
	last("poll-success", sizeof(buf));
	return 0;
}

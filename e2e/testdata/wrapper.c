/* wrapper.c: the events guest over the "callback-wrapper" poll convention:
 * imports wasm_bpf_buffer_poll from module MOD (six parameters, no table
 * index) and exports its record callback as EXP.
 * usage: wrapper.wasm STOPCOMM */
#include "guest.h"
#include "events_bpf.h"

#ifndef MOD
#define MOD "callback-wrapper"
#endif
#ifndef EXP
#define EXP "go-callback"
#endif

int wrapper_poll(uint64_t handle, int fd, uint32_t ctx, char *data, int max_size, int timeout_ms)
	__attribute__((import_module(MOD), import_name("wasm_bpf_buffer_poll")));

__attribute__((export_name(EXP))) int wrapper_callback(uint32_t ctx, char *data, int size)
{
	return print_event((struct watch *)(uintptr_t)ctx, data, (unsigned int)size);
}

static char buf[256];

static void poll_or_die(uint64_t h, int fd, struct watch *w, int timeout_ms)
{
	int n = wrapper_poll(h, fd, GUEST_ADDR(w), buf, sizeof(buf), timeout_ms);

	if (n < 0)
		die(MOD " wasm_bpf_buffer_poll: %d", n);
}

int main(int argc, char **argv)
{
	struct watch w = { 0 };
	uint64_t h;
	int fd;

	if (argc != 2)
		die("usage: %s STOPCOMM", argv[0]);
	w.stop = argv[1];
	h = must_load(events_bpf, events_bpf_len);
	fd = must_map_fd(h, "rb");
	/* Bad arguments get the wasm_bpf poll's errors. */
	say("case wrap_poll_unknown_handle %d",
	    wrapper_poll(0x0123456789abcdefULL, fd, GUEST_ADDR(&w), buf, sizeof(buf), 0));
	say("case wrap_poll_hash_fd %d",
	    wrapper_poll(h, must_map_fd(h, "scratch"), GUEST_ADDR(&w), buf, sizeof(buf), 0));
	say("case wrap_poll_data_oob %d",
	    wrapper_poll(h, fd, GUEST_ADDR(&w), (char *)(uintptr_t)0xFFFFFF00u, 64, 0));
	say("case wrap_poll_max_size_neg %d",
	    wrapper_poll(h, fd, GUEST_ADDR(&w), buf, -1, 0));
	must_attach(h, "handle_exec_rb", "");
	poll_or_die(h, fd, &w, 0);
	say("ready");
	while (!w.done)
		poll_or_die(h, fd, &w, 100);
	say("done %lu", w.seen);
	return 0;
}

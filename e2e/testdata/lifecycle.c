/* lifecycle.c: a guest for the embedding API's pause, resume and terminate.
 * usage: lifecycle.wasm deliver|slow|hang|trap|limits|foreign|reload|nest [STOPCOMM]
 *   deliver  prints "event <pid> <ppid> <comm>" per exec until STOPCOMM
 *   slow     for an exec of STOPCOMM: prints "begin <comm>", runs Wasm for
 *            300 ms in the callback, prints "end <comm>" and returns
 *   hang     prints "begin <comm>" and runs Wasm forever in the callback
 *   trap     traps in the callback of its first record
 *   limits   loads the object three times and attaches it from two of
 *            them, printing "load3 <handle != 0>" and "attach <a> <b>"
 *   foreign  reads a map fd of another guest from stdin and prints what
 *            map_operate ("lookup <ret>") and buffer_poll ("poll <ret>")
 *            say to it, then waits for execs as deliver does
 *   reload   in the callback of its first record, closes its object and
 *            loads and attaches it again ("inner load <ok>", "inner attach
 *            <ret>"); once the poll has returned, does the same ("outer
 *            load <ok>", "outer attach <ret>")
 *   nest     waits for a line on stdin before its first poll (so that
 *            several records are pending), then, in the callback of the
 *            first record, polls the same buffer again, classic and
 *            batched ("nested classic <ret>", "nested batch <ret>"); the
 *            other records print "event ..." until STOPCOMM
 * Every mode prints "fd <ring buffer fd>" and "ready" once attached. */
#include <time.h>

#include "guest.h"
#include "leak_bpf.h"

int wasm_bpf_buffer_poll_batch(uint64_t handle, int fd, void *buf, int buf_size, int timeout_ms)
	__attribute__((import_module("wasm_bpf_ext"), import_name("wasm_bpf_buffer_poll_batch")));

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static volatile int sink;

static void spin_ms(int64_t ms)
{
	int64_t end = now_ms() + ms;

	while (ms < 0 || now_ms() < end)
		sink++;
}

static const char *mode;
static uint64_t current; /* the object reload's callback closes */
static int current_fd;   /* its ring buffer */
static int nested;       /* nest: the nested polls are done */

/* Loads the object again and attaches it; prints "<when> load <ok>" and
 * "<when> attach <ret>". */
static void reload(const char *when)
{
	uint64_t h = wasm_load_bpf_object(leak_bpf, (int)leak_bpf_len);

	say("%s load %d", when, h != 0);
	if (h)
		say("%s attach %d", when, wasm_attach_bpf_program(h, "wbleak_exec", NULL));
}

static int on_record(void *ctx, void *data, unsigned int size)
{
	struct event e;

	if (strcmp(mode, "trap") == 0)
		__builtin_trap();
	if (strcmp(mode, "nest") == 0 && !nested) {
		static char nbuf[256];

		nested = 1;
		say("nested classic %d", wasm_bpf_buffer_poll(current, current_fd, TABLE_INDEX(on_record), GUEST_ADDR(ctx),
							      nbuf, sizeof(nbuf), 0));
		say("nested batch %d", wasm_bpf_buffer_poll_batch(current, current_fd, nbuf, sizeof(nbuf), 0));
	}
	if (strcmp(mode, "reload") == 0) {
		if (!((struct watch *)ctx)->done) {
			((struct watch *)ctx)->done = 1;
			wasm_close_bpf_object(current);
			reload("inner");
		}
		return 0;
	}
	if (strcmp(mode, "slow") != 0 && strcmp(mode, "hang") != 0)
		return print_event(ctx, data, size);
	if (size < sizeof(e))
		return 0;
	memcpy(&e, data, sizeof(e));
	e.comm[EV_COMM_LEN - 1] = '\0';
	/* Other execs on a busy machine must not queue behind slow callbacks. */
	if (strcmp(mode, "slow") == 0 && strcmp(e.comm, ((struct watch *)ctx)->stop) != 0)
		return 0;
	say("begin %s", e.comm);
	spin_ms(strcmp(mode, "hang") == 0 ? -1 : 300);
	say("end %s", e.comm);
	if (strcmp(e.comm, ((struct watch *)ctx)->stop) == 0)
		((struct watch *)ctx)->done = 1;
	return 0;
}

int main(int argc, char **argv)
{
	struct watch w = { 0 };
	static char buf[256];
	uint64_t h;
	int fd;

	if (argc < 2)
		die("usage: %s deliver|slow|hang|trap|limits|foreign|reload|nest [STOPCOMM]", argv[0]);
	mode = argv[1];
	w.stop = argc > 2 ? argv[2] : "";

	if (strcmp(mode, "limits") == 0) {
		uint64_t h1 = must_load(leak_bpf, leak_bpf_len);
		uint64_t h2 = must_load(leak_bpf, leak_bpf_len);

		say("load3 %d", wasm_load_bpf_object(leak_bpf, leak_bpf_len) != 0);
		say("attach %d %d", wasm_attach_bpf_program(h1, "wbleak_exec", NULL),
		    wasm_attach_bpf_program(h2, "wbleak_exec", NULL));
		return 0;
	}

	h = current = must_load(leak_bpf, leak_bpf_len);
	fd = current_fd = must_map_fd(h, "wbleak_rb");
	must_attach(h, "wbleak_exec", NULL);
	say("fd %d", fd);
	say("ready");

	if (strcmp(mode, "nest") == 0) {
		char line[8];

		if (!fgets(line, sizeof(line), stdin))
			die("stdin closed");
	}

	if (strcmp(mode, "foreign") == 0) {
		char line[32];
		uint32_t key = 0;
		uint64_t value;
		int other;

		if (!fgets(line, sizeof(line), stdin))
			die("no fd on stdin");
		other = atoi(line);
		say("lookup %d", wasm_bpf_map_operate(other, WASM_BPF_MAP_LOOKUP_ELEM, &key, &value, NULL, 0));
		say("poll %d", wasm_bpf_buffer_poll(h, other, TABLE_INDEX(on_record), GUEST_ADDR(&w), buf,
						    sizeof(buf), 0));
	}
	while (!w.done) {
		int n = wasm_bpf_buffer_poll(h, fd, TABLE_INDEX(on_record), GUEST_ADDR(&w), buf, sizeof(buf), 100);
		if (n < 0)
			die("poll: %d", n);
	}
	if (strcmp(mode, "reload") == 0)
		reload("outer");
	say("done");
	return 0;
}

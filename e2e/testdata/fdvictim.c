/* fdvictim.c: loads fdvictim.bpf.o, writes its secret, and creates the
 * consumers of its ring and perf buffers (so the runtime holds their
 * epoll and perf event fds); prints "ready", then waits for a line on
 * stdin and returns. It attaches nothing. */
#include "guest.h"
#include "fdvictim_bpf.h"

int main(void)
{
	struct watch w = { 0 };
	uint32_t zero = 0;
	uint64_t secret = 0x5ec2e75ec2e7ULL, h;
	char line[16];
	int err;

	h = must_load(fdvictim_bpf, fdvictim_bpf_len);
	err = wasm_bpf_map_operate(must_map_fd(h, "wbfdv_secret"), WASM_BPF_MAP_UPDATE_ELEM, &zero, &secret, NULL, 0);
	if (err)
		die("update wbfdv_secret: %d", err);
	poll_once(h, must_map_fd(h, "wbfdv_rb"), &w, 0);
	poll_once(h, must_map_fd(h, "wbfdv_pb"), &w, 0);
	say("ready");
	if (!fgets(line, sizeof(line), stdin))
		die("stdin closed");
	return 0;
}

package e2e

import (
	"strings"
	"testing"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// wasm_bpf_ext.wasm_bpf_last_error (docs/abi.md): the errno and the
// explanation of the guest's last failed call, from the Go and the C
// paths alike (the polls' refusals included); cut to size-1 bytes; left as it was by calls that succeed
// and by its own refusals.
func TestLastError(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := guestWasm(t, "lasterr", []string{"events"})
	g := startCLI(t, nil, wasm)
	if code := g.waitExit(exitTimeout); code != 0 {
		g.fatalf("exit %d", code)
	}
	got := map[string]string{}
	for _, l := range g.stdout.snapshot() {
		f := strings.SplitN(l.text, " ", 3)
		if len(f) == 3 && f[0] == "case" {
			got[f[1]] = f[2]
		}
	}
	fd := strings.TrimSuffix(got["fd"], " -") // the scratch map's
	refusal := `wasm_bpf_map_fd_by_name: no such map map=wbnope (no such file or directory)`
	badfd := `wasm_bpf_map_operate: lookup in fd 99: fd is not a map of this guest (bad file descriptor)`
	want := map[string]string{
		"none":          "0 ",
		"refusal":       "2 " + refusal,
		"cut":           "2 " + refusal[:7],
		"size0":         "2 -",
		"negative":      "-22 -",
		"fault":         "-14 -",
		"kernel":        `2 wasm_bpf_map_operate: lookup in map "scratch" (fd ` + fd + `): no such file or directory`,
		"badfd":         "9 " + badfd,
		"after-success": "9 " + badfd,
		"attach":        `2 cannot attach program "wbnope": the BPF object has no program of that name`,
		"poll-fault":    "14 wasm_bpf_buffer_poll: data range outside guest memory data=4294967280 max_size=64 (bad address)",
		"batch-fault":   "14 wasm_bpf_buffer_poll_batch: batch buffer outside guest memory buf=4294967280 buf_size=64 (bad address)",
		"poll-success":  "14 wasm_bpf_buffer_poll_batch: batch buffer outside guest memory buf=4294967280 buf_size=64 (bad address)",
	}
	for name, w := range want {
		if got[name] != w {
			g.errorf("case %s:\n\tgot  %q\n\twant %q", name, got[name], w)
		}
	}
}

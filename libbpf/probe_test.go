package libbpf

import (
	"errors"
	"syscall"
	"testing"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

func TestProbes(t *testing.T) {
	testenv.RequireBPF(t)
	for _, tc := range []struct {
		name string
		got  func() (bool, error)
		want bool
	}{
		{"program type socket_filter", func() (bool, error) { return ProgTypeSupported(1) }, true},
		{"map type hash", func() (bool, error) { return MapTypeSupported(1) }, true},
		{"map type ringbuf", func() (bool, error) { return MapTypeSupported(27) }, true},
		{"helper bpf_map_lookup_elem in socket filters", func() (bool, error) { return HelperSupported(1, 1) }, true},
		{"helper bpf_send_signal in tracepoints", func() (bool, error) { return HelperSupported(5, 109) }, true},
		{"helper no kernel has", func() (bool, error) { return HelperSupported(5, 100000) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := tc.got()
			if err != nil || ok != tc.want {
				t.Fatalf("= %v, %v; want %v, nil", ok, err, tc.want)
			}
		})
	}
	// A type the kernel has never had is an error, not "unsupported".
	if ok, err := MapTypeSupported(1 << 20); ok || err == nil {
		t.Errorf("map type 1<<20: %v, %v; want an error", ok, err)
	}
}

// libbpfgo's probes say "not supported" as the error syscall.Errno(0).
func TestProbed(t *testing.T) {
	for _, tc := range []struct {
		ok      bool
		err     error
		want    bool
		wantErr bool
	}{
		{true, nil, true, false},
		{false, syscall.Errno(0), false, false},
		{false, syscall.EPERM, false, true},
	} {
		got, err := probed(tc.ok, tc.err, "x")
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("probed(%v, %v) = %v, %v", tc.ok, tc.err, got, err)
		}
		if tc.wantErr && !errors.Is(err, tc.err) {
			t.Errorf("probed(%v, %v): %v does not wrap the errno", tc.ok, tc.err, err)
		}
	}
}

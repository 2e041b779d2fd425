// Package wasmbpf is the guest SDK of wasm-bpf for Go programs built with
// the standard toolchain (GOOS=wasip1 GOARCH=wasm, Go 1.24 or later).
//
// A guest embeds a BPF object (clang -target bpf), loads it into the
// kernel through the runtime, attaches its programs and reads its maps and
// ring or perf buffers:
//
//	//go:embed execve.bpf.o
//	var object []byte
//
//	obj, err := wasmbpf.Load(object)
//	...
//	defer obj.Close()
//	err = obj.Attach("handle_execve", "")
//	rd, err := obj.RingBuffer("events")
//	for {
//		_, err := rd.Poll(100*time.Millisecond, func(rec []byte) error {
//			ev := DecodeExecveEvent(rec) // written by `wasm-bpf gen go`
//			...
//			return nil
//		})
//	}
//
// The package talks to the runtime through the host ABI of wasm-bpf
// (import module "wasm_bpf") and reads ring and perf buffers with the
// batched poll of import module "wasm_bpf_ext": one host call moves many
// records into a buffer the guest owns, and no guest function is called
// back, which matters for Go, where every exported function called by the
// host re-enters the Go runtime. Building with -tags wasmbpf_callback
// uses the "callback-wrapper" poll instead (an exported go-callback per
// record), for runtimes without wasm_bpf_ext.
//
// Errors returned by this package wrap a syscall.Errno in the guest's
// numbering (errors.Is(err, syscall.ENOENT) works), converted from the
// Linux numbers the host returns.
//
// Outside GOOS=wasip1 the package compiles, so that code using it can be
// vetted and unit-tested on the build machine, but every call fails with
// ENOSYS.
package wasmbpf

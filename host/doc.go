// Package host runs wasm-bpf guests: WebAssembly (WASI preview1) command
// modules whose user-space half drives real eBPF programs in the running
// kernel through the host ABI of the existing wasm-bpf runtimes (import
// module "wasm_bpf" and the "callback-wrapper" poll).
//
// [Run] compiles a module, links WASI and the ABI, and runs its _start:
//
//	code, err := host.Run(ctx, wasm, host.Config{
//		Args:   []string{"bootstrap.wasm"},
//		Stdout: os.Stdout,
//		Stderr: os.Stderr,
//	})
//
// Each guest has its own handle table: a handle names one BPF object the
// guest loaded, is never a host pointer, and is refused to any other guest;
// likewise a map fd must belong to one of the guest's own objects. Every
// guest pointer is checked against the guest's memory before the host
// touches it, and a bad argument returns a negative errno, never a crash.
// However the guest ends (return, proc_exit, trap, or cancellation of ctx),
// every link it attached is destroyed and every object it loaded is closed,
// so nothing it created stays in the kernel.
//
// Cancelling ctx stops the guest wherever it is: in Wasm code (through
// wasmtime's epoch interruption) or blocked in a poll.
package host

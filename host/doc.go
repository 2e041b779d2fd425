// Package host runs wasm-bpf guests: WebAssembly (WASI preview1) command
// modules whose user-space half drives real eBPF programs in the running
// kernel through the host ABI of the existing wasm-bpf runtimes (import
// module "wasm_bpf" and the "callback-wrapper" poll).
//
// # Running guests
//
// [Run] runs one guest to the end, as the wasm-bpf CLI does. A platform
// that loads guests as plug-ins creates one [Runtime] (the engine and the
// compile cache) and starts any number of guests from it, concurrently:
//
//	rt, err := host.NewRuntime(host.RuntimeConfig{CacheDir: dir})
//	defer rt.Close()
//	inst, err := rt.Start(ctx, wasm, host.Config{Args: []string{"tool.wasm"}, Stdout: w})
//	...
//	code, err := inst.Wait()
//
// Start returns errors that keep the guest from starting (not Wasm, no
// _start or memory, an import nobody provides, with the name of the import
// and the runtime that would provide it). [Instance.Wait] returns the exit
// code: 0 when _start returns, n & 0xff after proc_exit(n) (main returning
// n), [ExitTrap] with a [*TrapError] after a trap, 1 with the reason as
// the error for a guest stopped from outside.
//
// # Stopping and pausing
//
// [Instance.Terminate], cancelling the context given to Start, exceeding
// Config.CPULimit, and [Runtime.Close] stop a guest wherever it is: in Wasm
// code (wasmtime epoch interruption, checked every 10 ms), blocked in a
// poll, inside a poll callback, sleeping, reading stdin or writing to an
// output nobody reads in WASI, or waiting for the verifier in a load (the
// load then finishes in the background and closes its object). Wait's
// error then matches the reason with errors.Is ([ErrTerminated],
// [ErrCPULimit], or the context's cause). [Instance.Pause] holds the guest
// at the same places; records stay in the kernel's ring and perf buffers
// (up to their size) and are delivered in order after [Instance.Resume].
//
// However a guest ends, every link it attached is destroyed and every BPF
// object it loaded is closed before [Instance.Done] is closed, so nothing
// it created stays in the kernel (but for a load it was stopped in, which
// closes its object when the verifier is done); everything it wrote has
// reached Config.Stdout and Config.Stderr by then, unless it was stopped
// and a writer takes nothing more for 20 ms. [Runtime.Start] after or
// during [Runtime.Close] returns [ErrClosed].
//
// # Isolation and limits
//
// Each guest has its own handle table: a handle names one BPF object the
// guest loaded, is never a host pointer, and means nothing to another
// guest; likewise a map fd must belong to one of the guest's own objects
// (-EBADF otherwise). Every guest pointer is checked against the guest's
// memory before the host touches it, and a bad argument returns a negative
// errno and a debug log line, never a crash. Config bounds a guest's
// memory (MaxMemory: memory.grow fails inside the guest), its CPU time
// (CPULimit: its thread's, so time asleep or blocked costs nothing), the BPF objects and links it holds at once (MaxObjects,
// MaxLinks), and the file descriptors it makes the host hold (MaxFDs, 1024
// unless set): the refused call is logged at warn level, naming the limit.
// A wall-clock bound is a context deadline. Every BPF object is read and
// checked in Go before libbpf parses it (package internal/objcheck): what
// would hang or crash libbpf is refused.
//
// What a guest's BPF objects may ask of the kernel is Config.Policy (nil:
// the "observe" profile of package policy; policy.New(policy.All) grants
// what the other wasm-bpf runtimes allow), checked on the guest's bytes
// before libbpf or the kernel see them and again on each attach target;
// Config.MaxMapMemory bounds the kernel memory of the maps of the objects
// it holds. A refused load returns 0 and a refused attach -EPERM, with one
// line at warn level naming the guest, the object, what it asked for, the
// rule and the grant (docs/policy.md).
//
// # Extending
//
// Config.HostFuncs adds host functions, typed Go functions, that the guest
// imports beside the ABI. [SetLibbpfLogger] routes libbpf's own log (the
// verifier's whole log when a load fails) to a logger; without one, libbpf
// prints nothing.
//
// # Failures
//
// A failure that stops a guest's load, attach or read of a buffer is
// logged to Config.Logger at warn level in one line that names the cause
// and its fix (missing capabilities, tracefs not mounted, an object built
// without -g, a kernel without BTF, the verifier's refusal with the end of
// its log, a program type, helper or attach target the kernel lacks); the
// guest reads the same line with wasm_bpf_ext.wasm_bpf_last_error
// (docs/abi.md).
//
// # Compile cache
//
// With RuntimeConfig.CacheDir set (the CLI uses [DefaultCacheDir]), a
// guest's native code is kept on disk, keyed by the module's hash and the
// engine's version and settings. An entry is used only if its checksum
// holds and wasmtime accepts it for this engine; a corrupt or stale entry
// is deleted and compiled again.
package host

// Package policy says what a BPF object asks of the kernel and whether it
// is granted.
//
// [Analyze] reads a BPF ELF object (through github.com/cilium/ebpf: ELF,
// BTF, instructions) and lists, per program, its type and expected attach
// type as its section gives them, where it attaches, how many instructions
// it has, and every helper and kfunc it calls, subprograms and callbacks
// included; per map, its type, sizes, limits and the kernel memory it will
// take. The same [Object] serves the check before a load and
// `wasm-bpf inspect`.
//
// A [Policy] is what a guest is granted: ready-made profiles named for what
// a user grants ("observe", "network", "security", "signal", "write-user",
// "all") and finer rules on top ("helper:NAME", "kfunc:NAME", "prog:KIND",
// "attach:PATTERN", "cgroup:PATH", "iface:NAME"). [Policy.Check] refuses an
// object that asks for more, and [Policy.CheckAttach] an attachment outside
// the granted targets, with a [*Refusal] that names what was asked, the
// rule that refused it and the grant that would allow it.
//
// The package runs no cgo and no Wasm, and loads nothing: it only reads.
package policy

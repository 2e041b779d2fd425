// Package wasmtimex reaches the few parts of wasmtime's C API that
// wasmtime-go v39 does not expose, through the libwasmtime.a that
// wasmtime-go already links, with the C headers of the same version in
// include/: the epoch deadline callback, a config's memory_may_move, and
// (past the C API) the Winch compiler. Where it relies on a layout (a
// wasmtime-go Store or Config begins with its C pointer; the byte of
// wasmtime's Rust config that holds the compiler), the layout is checked
// at run time, and a mismatch is an error that leaves things as they were.
package wasmtimex

// Package wasmtimex reaches the few parts of wasmtime's C API that
// wasmtime-go v39 does not expose, through the libwasmtime.a that
// wasmtime-go already links. The prototypes below are declared here, pinned
// to wasmtime v39; Store's layout is checked at run time before use.
package wasmtimex

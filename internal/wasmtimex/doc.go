// Package wasmtimex reaches the few parts of wasmtime's C API that
// wasmtime-go v39 does not expose, through the libwasmtime.a that
// wasmtime-go already links, with the C headers of the same version in
// include/. Where it relies on the layout of a wasmtime-go type (Store
// begins with its *wasmtime_store_t), the layout is checked at run time.
package wasmtimex

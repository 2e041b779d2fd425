// Package wasi sets up a guest's WASI preview1 environment on a wasmtime
// store (argv, environment, standard streams) and interprets how a WASI
// command ended (proc_exit, return from _start, or a trap).
//
// wasmtime-go only accepts file paths for the standard streams; this
// package connects any io.Reader or io.Writer through a pipe and a copying
// goroutine, and hands the process's own streams over directly.
package wasi

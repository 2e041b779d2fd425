// Package wasi sets up a guest's WASI preview1 environment on a wasmtime
// store (argv, environment, standard streams) and interprets how a WASI
// command ended (proc_exit, return from _start, or a trap).
//
// The guest's reads, writes and waits (fd_read, fd_write, poll_oneoff)
// are served here rather than by wasmtime, whose versions block in system
// calls that nothing interrupts: the streams are any io.Reader and
// io.Writer, read and written by goroutines of their own, and a stopped
// guest leaves every wait at once.
package wasi

// Package gen generates the C headers, Go or Rust types a wasm-bpf guest
// is built with, from a BPF ELF object and its BTF:
//
//   - [WriteSkeleton] writes foo.skel.h, a libbpf-style skeleton (struct
//     foo_bpf with maps, progs and typed rodata/data/bss) that embeds the
//     object and drives it through sdk/c/libbpf-wasm.h;
//   - [WriteHeader] writes foo.wasm.h, C definitions of BTF types laid out
//     for wasm32, where long and pointers are 4 bytes while the kernel's
//     are 8, with _Static_assert on every size and field offset; a run of
//     bitfields is its bytes (__bfN, the bits in a comment), and a tag,
//     typedef, member or enumerator that wasi-libc's headers also define
//     (struct stat, struct iovec, st_atime) is renamed kernel_NAME or
//     left out, so that the header compiles beside them;
//   - [WriteGo] writes the same types in Go, for sdk/go/wasmbpf;
//   - [WriteRust] writes them in Rust, for the crate of sdk/rust, with
//     compile-time checks of the same sizes and offsets.
//
// The three lay a struct out with one walk (layout.go: members by
// offset, bitfields gathered into runs of bytes, padding, packing) and
// spell scalars with one mapping (scalar.go); each writes what its
// language can say. All three compile for every shape a record takes and
// for every type of the kernel's BTF (compile_test.go,
// rustgen_test.go), but for Rust the few structs too large for rustc to
// check (past 192 KiB).
//
// BTF and the object's maps and programs are read with
// github.com/cilium/ebpf: pure Go, so the generator needs no cgo and
// builds and runs wherever the CLI does, and its CollectionSpec already
// decodes BTF map definitions (type, key and value) and the data
// sections. Loading stays on libbpf in the runtime; this package never
// touches the kernel.
package gen

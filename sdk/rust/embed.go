// Package rust holds the Rust guest SDK, the crate wasm-bpf of this
// directory, as files: no crate registry serves it, so `wasm-bpf new --lang
// rust` writes them beside a new tool, whose Cargo.toml (from
// sdk/templates/rust) depends on them by path.
package rust

import "embed"

// Crate is the crate's Cargo.toml and sources.
//
//go:embed Cargo.toml src/*.rs
var Crate embed.FS

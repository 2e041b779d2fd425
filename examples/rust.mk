# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Shared build rules for the Rust examples (Debian's rustc and cargo, target
# wasm32-wasi, on the wasm-bpf crate of sdk/rust). An example's Makefile sets
# RUST_APP (its directory name: the crate's binary and the module
# $(RUST_APP).wasm), BPF_SRC (the kernel half, often a C example's .bpf.c)
# and optionally RUST_TYPES (type names for `wasm-bpf gen rust`; default:
# those of the maps and of global pointers), then includes this file.
#
# CARGO and RUSTC are Debian's by default: rustup's toolchain, often first
# on PATH, usually has no wasm32-wasi standard library.

include ../common.mk

CARGO ?= /usr/bin/cargo
RUSTC ?= /usr/bin/rustc
CARGO_FLAGS ?= --offline --release --quiet
SDK_RUST_DIR := $(abspath $(EXAMPLES_DIR)/../sdk/rust)
SDK_RUST_SRCS := $(SDK_RUST_DIR)/Cargo.toml $(wildcard $(SDK_RUST_DIR)/src/*.rs)
RUST_GEN := src/bpf.rs
RUST_SRCS := Cargo.toml $(wildcard build.rs) $(filter-out $(RUST_GEN),$(wildcard src/*.rs))

.PHONY: all clean
all: $(RUST_APP).wasm

$(RUST_GEN): $(BPF_NAME).bpf.o $(WASM_BPF)
	$(call msg,GEN-RUST,$@)
	$(Q)$(WASM_BPF) gen rust $< $(RUST_TYPES) > $@.tmp
	$(Q)mv $@.tmp $@

$(RUST_APP).wasm: $(RUST_SRCS) $(RUST_GEN) $(BPF_NAME).bpf.o $(SDK_RUST_SRCS)
	$(call msg,CARGO,$@)
	$(Q)RUSTC=$(RUSTC) $(CARGO) build $(CARGO_FLAGS) --target wasm32-wasi
	$(Q)cp target/wasm32-wasi/release/$(RUST_APP).wasm $@

clean::
	$(call msg,CLEAN,$(RUST_APP))
	$(Q)rm -rf target $(BPF_NAME).tmp.bpf.o $(BPF_NAME).bpf.o $(RUST_GEN) $(RUST_APP).wasm *.tmp src/*.tmp

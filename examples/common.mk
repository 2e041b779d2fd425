# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Shared build rules for the examples. An example's Makefile sets APP (the
# stem of APP.bpf.c and APP.c) and includes this file; examples/Makefile
# includes it too, without APP, for the variables and vmlinux.h.

# The rules below must not become the default goal of the including file.
.DEFAULT_GOAL := all

EXAMPLES_DIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD_DIR := $(EXAMPLES_DIR)/build
SDK_DIR := $(abspath $(EXAMPLES_DIR)/../sdk/c)
VMLINUX := $(BUILD_DIR)/vmlinux.h

CLANG ?= clang
BPFTOOL ?= bpftool
XXD ?= xxd
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

# The kernel arch name bpf_tracing.h expects, as libbpf-bootstrap maps it.
ARCH ?= $(shell uname -m | sed 's/x86_64/x86/' \
			 | sed 's/arm.*/arm/' \
			 | sed 's/aarch64/arm64/' \
			 | sed 's/ppc64le/powerpc/' \
			 | sed 's/mips.*/mips/' \
			 | sed 's/riscv64/riscv/' \
			 | sed 's/loongarch64/loongarch/')

# -g is not optional: it emits the BTF that CO-RE and .rodata/.maps need.
BPF_CFLAGS ?= -g -O2 -Wall
# The BTF's line info names the source files: relative to examples/, a
# guest is the same bytes wherever it is built (and compiled code cached
# for one build serves the next).
BPF_PATHS := -ffile-prefix-map=$(EXAMPLES_DIR)/=
WASM_CFLAGS ?= -O2 -Wall
# The host calls ring buffer callbacks through the exported function table;
# wasi-libc.a carries DWARF that would triple the module size.
WASM_LDFLAGS ?= -Wl,--export-table -Wl,--strip-debug

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# Generated once, from the running kernel; written atomically so that an
# interrupted bpftool leaves no truncated header behind.
$(VMLINUX):
	$(call msg,BTF,$@)
	$(Q)mkdir -p $(BUILD_DIR)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp
	$(Q)mv $@.tmp $@

# The wasm-bpf CLI writes the skeleton and type headers; by default the one
# built from this repository (go build), or give WASM_BPF=/path/to/wasm-bpf.
WASM_BPF ?= $(abspath $(EXAMPLES_DIR)/..)/wasm-bpf
GO ?= go

ifdef APP
# An example's own headers (shared between its BPF and guest halves).
HDRS := $(filter-out $(APP).skel.h $(APP).wasm.h,$(wildcard *.h))
# Set HEADER_TYPES (type names, or "default" for those of the maps and of
# global pointers) to generate $(APP).wasm.h with `wasm-bpf gen header`.
WASM_H := $(if $(HEADER_TYPES),$(APP).wasm.h)

.PHONY: all clean
all: $(APP).wasm

$(APP).tmp.bpf.o: $(APP).bpf.c $(HDRS) $(VMLINUX)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(BPF_PATHS) $(EXTRA_BPF_CFLAGS) -target bpf -D__TARGET_ARCH_$(ARCH) -I$(BUILD_DIR) -c $< -o $@

# As libbpf-bootstrap does: bpftool's linker keeps the BTF but drops the
# DWARF, which is ~95% of the object and would be embedded in the guest.
$(APP).bpf.o: $(APP).tmp.bpf.o
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $<

$(APP).skel.h: $(APP).bpf.o $(WASM_BPF)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(WASM_BPF) gen skeleton $< > $@.tmp
	$(Q)mv $@.tmp $@

$(APP).wasm.h: $(APP).bpf.o $(WASM_BPF)
	$(call msg,GEN-HDR,$@)
	$(Q)$(WASM_BPF) gen header $< $(filter-out default,$(HEADER_TYPES)) > $@.tmp
	$(Q)mv $@.tmp $@

$(APP).wasm: $(APP).c $(APP).skel.h $(WASM_H) $(HDRS) $(SDK_DIR)/wasm-bpf.h $(SDK_DIR)/libbpf-wasm.h
	$(call msg,WASM,$@)
	$(Q)$(CLANG) --target=wasm32-wasi $(WASM_CFLAGS) -I$(SDK_DIR) $(WASM_LDFLAGS) -o $@ $<

clean::
	$(call msg,CLEAN,$(APP))
	$(Q)rm -f $(APP).tmp.bpf.o $(APP).bpf.o $(APP).skel.h $(APP).wasm.h $(APP).wasm *.tmp
endif

# The kernel half of a Go or Rust example: BPF_SRC, often the .bpf.c of the
# C example of the same name, compiled here as $(BPF_NAME).bpf.o.
ifdef BPF_SRC
BPF_NAME := $(basename $(basename $(notdir $(BPF_SRC))))

$(BPF_NAME).tmp.bpf.o: $(BPF_SRC) $(wildcard $(dir $(BPF_SRC))*.h) $(VMLINUX)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(BPF_PATHS) -target bpf -D__TARGET_ARCH_$(ARCH) -I$(BUILD_DIR) -c $< -o $@

$(BPF_NAME).bpf.o: $(BPF_NAME).tmp.bpf.o
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $<
endif

# Built once if missing; `make -C examples WASM_BPF=...` uses another.
$(abspath $(EXAMPLES_DIR)/..)/wasm-bpf:
	$(call msg,GO,$@)
	$(Q)cd $(EXAMPLES_DIR)/.. && $(GO) build -o wasm-bpf .

# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Shared build rules for the Go examples (standard Go, GOOS=wasip1). An
# example's Makefile sets GO_APP (its directory name; the module is
# $(GO_APP).wasm), BPF_SRC (the kernel half, often a C example's .bpf.c)
# and optionally GO_TYPES (type names for `wasm-bpf gen go`; default: those
# of the maps and of global pointers), then includes this file.

include ../common.mk

SDK_GO_DIR := $(abspath $(EXAMPLES_DIR)/../sdk/go)
SDK_GO_SRCS := $(wildcard $(SDK_GO_DIR)/*/*.go)
# The generated file's _wasip1 suffix keeps it out of host builds (go vet
# ./... on the build machine), as the example's own files are.
GO_GEN := bpf_wasip1.go
GO_SRCS := $(filter-out $(GO_GEN),$(wildcard *.go))
GOFLAGS_WASM ?= -trimpath -ldflags=-s

.PHONY: all clean
all: $(GO_APP).wasm

$(GO_GEN): $(BPF_NAME).bpf.o $(WASM_BPF)
	$(call msg,GEN-GO,$@)
	$(Q)$(WASM_BPF) gen go $< $(GO_TYPES) > $@.tmp
	$(Q)mv $@.tmp $@

$(GO_APP).wasm: $(GO_SRCS) $(GO_GEN) $(BPF_NAME).bpf.o $(SDK_GO_SRCS)
	$(call msg,GO-WASM,$@)
	$(Q)GOOS=wasip1 GOARCH=wasm $(GO) build $(GOFLAGS_WASM) -o $@ .

clean::
	$(call msg,CLEAN,$(GO_APP))
	$(Q)rm -f $(BPF_NAME).tmp.bpf.o $(BPF_NAME).bpf.o $(GO_GEN) $(GO_APP).wasm *.tmp

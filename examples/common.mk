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

ifdef APP
HDRS := $(filter-out $(APP).bpf.o.h,$(wildcard *.h))

.PHONY: all clean
all: $(APP).wasm

$(APP).tmp.bpf.o: $(APP).bpf.c $(HDRS) $(VMLINUX)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -target bpf -D__TARGET_ARCH_$(ARCH) -I$(BUILD_DIR) -c $< -o $@

# As libbpf-bootstrap does: bpftool's linker keeps the BTF but drops the
# DWARF, which is ~95% of the object and would be embedded in the guest.
$(APP).bpf.o: $(APP).tmp.bpf.o
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $<

# xxd names the array after its input: run it on the bare file name so
# that APP.bpf.o becomes APP_bpf_o[] / APP_bpf_o_len.
$(APP).bpf.o.h: $(APP).bpf.o
	$(call msg,XXD,$@)
	$(Q)$(XXD) -i $< > $@.tmp
	$(Q)mv $@.tmp $@

$(APP).wasm: $(APP).c $(APP).bpf.o.h $(HDRS) $(SDK_DIR)/wasm-bpf.h
	$(call msg,WASM,$@)
	$(Q)$(CLANG) --target=wasm32-wasi $(WASM_CFLAGS) -I$(SDK_DIR) $(WASM_LDFLAGS) -o $@ $<

clean:
	$(call msg,CLEAN,$(APP))
	$(Q)rm -f $(APP).tmp.bpf.o $(APP).bpf.o $(APP).bpf.o.h $(APP).bpf.o.h.tmp $(APP).wasm
endif

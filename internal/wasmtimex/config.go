package wasmtimex

/*
#cgo CFLAGS: -I${SRCDIR}/include
#include <stdint.h>
#include <wasmtime.h>

// The offset of wasmtime::Config's compiler strategy (an Option<Strategy>,
// one byte: Auto 0, Cranelift 1, Winch 2) in the wasm_config_t of the
// libwasmtime.a that wasmtime-go v39.0.1 links: the byte
// wasmtime_config_strategy_set writes.
#define WBX_STRATEGY_OFFSET 0x179
#define WBX_STRATEGY_CRANELIFT 1
#define WBX_STRATEGY_WINCH 2

// wbx_use_winch checks that WBX_STRATEGY_OFFSET is the byte
// wasmtime_config_strategy_set writes, with Cranelift's value, and then
// writes Winch's there. If it is not, the config is left as it was and -1
// returned.
static int wbx_use_winch(wasm_config_t *c)
{
	volatile uint8_t *p = (uint8_t *)c + WBX_STRATEGY_OFFSET;
	uint8_t saved = *p;

	*p = 0xee;
	wasmtime_config_strategy_set(c, WASMTIME_STRATEGY_CRANELIFT);
	if (*p != WBX_STRATEGY_CRANELIFT) {
		*p = saved;
		return -1;
	}
	*p = WBX_STRATEGY_WINCH;
	return 0;
}

static void wbx_fixed_memory(wasm_config_t *c)
{
	wasmtime_config_memory_may_move_set(c, false);
}
*/
import "C"

import (
	"errors"
	"unsafe"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// UseWinch makes the engine created from cfg compile with Winch,
// wasmtime's baseline compiler: about seven times less compile time than
// Cranelift for code that runs slower. wasmtime's C API (v39) offers no
// way to choose it (wasmtime_config_strategy_set knows Auto and
// Cranelift), so UseWinch writes the strategy into the Rust config, at an
// offset it first checks is the one wasmtime_config_strategy_set writes;
// with another libwasmtime it returns an error and leaves cfg as it was.
// Code compiled by Winch does not load into a Cranelift engine, nor the
// other way round, whatever else the two configs share.
func UseWinch(cfg *wasmtime.Config) error {
	raw := configPtr(cfg)
	if raw == nil {
		return errors.New("UseWinch: config already used")
	}
	if C.wbx_use_winch(raw) != 0 {
		return errors.New("UseWinch: the libwasmtime linked in is not the one this package was written for (wasmtime-go v39.0.1)")
	}
	return nil
}

// FixMemory makes the linear memories of the engine created from cfg never
// move (wasmtime's memory_may_move(false)): a memory grows in place, within
// its reservation (4 GiB for a 32-bit memory: all of it), so a pointer
// into it stays valid for the store's life, and compiled code need not
// reload the base after a call.
func FixMemory(cfg *wasmtime.Config) {
	if raw := configPtr(cfg); raw != nil {
		C.wbx_fixed_memory(raw)
	}
}

// configPtr is cfg's wasm_config_t: wasmtime-go's Config begins with it
// (nil once an engine was made from it).
func configPtr(cfg *wasmtime.Config) *C.wasm_config_t {
	return *(**C.wasm_config_t)(unsafe.Pointer(cfg))
}

package wasi

import (
	"fmt"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// Exiter serves proc_exit so that a guest ends as a native program does:
// proc_exit(n), and main returning n (wasi-libc's _start calls
// proc_exit), end the process with n & 0xff, as the C++ runtime (WAMR)
// and exit(3) do. wasmtime's own proc_exit refuses codes of 126 and
// more with a trap ("invalid exit status"): main returning -1, as the
// reference lsm.c and sockops.c do, exited 134 instead of 255.
type Exiter struct {
	code   int
	called bool
}

// DefineExit replaces wasmtime's proc_exit in linker, which must already
// hold wasmtime's WASI.
func DefineExit(linker *wasmtime.Linker) (*Exiter, error) {
	e := &Exiter{}
	i32 := wasmtime.NewValType(wasmtime.KindI32)
	linker.AllowShadowing(true)
	defer linker.AllowShadowing(false)
	ty := wasmtime.NewFuncType([]*wasmtime.ValType{i32}, nil)
	if err := linker.FuncNew(moduleWASI, "proc_exit", ty, e.procExit); err != nil {
		return nil, fmt.Errorf("define proc_exit: %w", err)
	}
	return e, nil
}

// procExit records the code and unwinds the guest with a trap, which no
// guest code can catch; Exit then reports the code.
func (e *Exiter) procExit(_ *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
	e.code, e.called = int(uint32(args[0].I32())&0xff), true
	return nil, wasmtime.NewTrap(fmt.Sprintf("proc_exit(%d)", args[0].I32()))
}

// Exit is the package's Exit for a guest whose proc_exit e serves: once
// the guest called proc_exit, its code is the exit code whatever error
// the unwinding left.
func (e *Exiter) Exit(err error) (int, error) {
	if e.called {
		return e.code, nil
	}
	return Exit(err)
}

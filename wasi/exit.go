package wasi

import (
	"errors"
	"strings"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/wasm-bpf/wasm-bpf/internal/wasmtimex"
)

// ExitTrap is the exit code of a guest that trapped: 128+SIGABRT, as the
// wasmtime CLI reports it.
const ExitTrap = 134

// TrapError is a guest trap: unreachable, an out-of-bounds access, a stack
// overflow, or a host function that ended the guest.
type TrapError struct {
	Message string // wasmtime's message, with the guest backtrace
}

func (e *TrapError) Error() string { return "guest trapped: " + e.Message }

// Exit interprets the error of a call into the guest (its _start, or a
// callback that ended it): nil means the guest returned (exit code 0);
// proc_exit(n) gives n and no error (wasmtime reports even proc_exit(0) as
// an error); a trap gives ExitTrap and a *TrapError; anything else is
// returned as it is, with exit code 1.
func Exit(err error) (int, error) {
	if err == nil {
		return 0, nil
	}
	var exit *wasmtimex.Exit
	if errors.As(err, &exit) {
		return exit.Code, nil
	}
	var xtrap *wasmtimex.Trap
	if errors.As(err, &xtrap) {
		return ExitTrap, &TrapError{Message: xtrap.Message}
	}
	var werr *wasmtime.Error
	if errors.As(err, &werr) {
		if code, ok := werr.ExitStatus(); ok {
			return int(code), nil
		}
	}
	var trap *wasmtime.Trap
	if errors.As(err, &trap) {
		return ExitTrap, &TrapError{Message: strings.TrimSpace(trap.Message())}
	}
	if werr != nil {
		return ExitTrap, &TrapError{Message: strings.TrimSpace(werr.Error())}
	}
	return 1, err
}

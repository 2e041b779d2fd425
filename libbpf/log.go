package libbpf

// #include "shim.h"
import "C"

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
)

// printer holds the logger behind libbpf's print hook. libbpf has exactly
// one print callback per process (libbpf_set_print), so this is the one
// piece of process-wide state the package keeps.
var printer struct {
	once   sync.Once
	logger atomic.Pointer[slog.Logger]
}

// SetLogger sends libbpf's own messages (warnings, verifier logs of failed
// loads, CO-RE relocation details) to l at debug level. It replaces the
// previous logger for the whole process, as libbpf_set_print does; nil
// silences libbpf.
func SetLogger(l *slog.Logger) {
	printer.logger.Store(l)
	printer.once.Do(func() { C.wb_install_print() })
}

//export wbGoPrint
func wbGoPrint(_ C.int, msg *C.char) {
	l := printer.logger.Load()
	if l == nil || !l.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	// libbpf's messages already start with "libbpf: ".
	l.Debug(strings.TrimRight(C.GoString(msg), "\n"))
}

package agent

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// ListenUnix listens on a unix socket at path with mode 0600 (its owner,
// root, alone may start and stop guests), creating its directory. A socket
// file left by an agent that is gone is replaced; one that an agent still
// answers on is an error.
func ListenUnix(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("socket directory: %w", err)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("another agent listens on %s: stop it, or give this one another --socket", path)
	} else if !errors.Is(err, syscall.ENOENT) {
		// A socket nobody answers on: left by an agent that died.
		if fi, serr := os.Lstat(path); serr == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(path)
		}
	}
	// The umask makes the socket 0600 from the start, not after a chmod.
	old := syscall.Umask(0o177)
	l, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	return l, nil
}

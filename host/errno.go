package host

import (
	"errors"
	"syscall"
)

// errnoOf maps an error to the negative errno the ABI returns; errors that
// carry no errno become -EINVAL.
func errnoOf(err error) int32 {
	var errno syscall.Errno
	if errors.As(err, &errno) && errno != 0 {
		return -int32(errno)
	}
	return -int32(syscall.EINVAL)
}

package libbpf

// #include <bpf/libbpf.h>
import "C"

import (
	"fmt"
	"syscall"
)

// libbpf's feature probes load a trivial program of the type asked about,
// so they need the privileges a load needs; without them they fail with
// EPERM, which says nothing about the kernel.
//
// These are called here rather than through libbpfgo's wrappers
// (aquasecurity/libbpfgo v0.7.0-libbpf-1.4): that version wraps only the
// program type probe, not libbpf_probe_bpf_helper, and each wrapper is the
// same one-line cgo call as below, while the package would add a second
// cgo layer over the same libbpf to the binary.

// ProgTypeSupported reports whether the kernel loads programs of type t
// (libbpf_probe_bpf_prog_type).
func ProgTypeSupported(t ProgType) (bool, error) {
	installPrint()
	rc := C.libbpf_probe_bpf_prog_type(C.enum_bpf_prog_type(t), nil)
	if rc < 0 {
		return false, fmt.Errorf("probe program type %s: %w", t, syscall.Errno(-rc))
	}
	return rc == 1, nil
}

// HelperSupported reports whether programs of type t may call the BPF
// helper function numbered id (libbpf_probe_bpf_helper).
func HelperSupported(t ProgType, id int) (bool, error) {
	installPrint()
	rc := C.libbpf_probe_bpf_helper(C.enum_bpf_prog_type(t), C.enum_bpf_func_id(id), nil)
	if rc < 0 {
		return false, fmt.Errorf("probe helper %d for %s programs: %w", id, t, syscall.Errno(-rc))
	}
	return rc == 1, nil
}

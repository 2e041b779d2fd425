package libbpf

// #include <bpf/libbpf.h>
import "C"

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/aquasecurity/libbpfgo"
)

// libbpf's feature probes load a trivial program of the type asked about,
// so they need the privileges a load needs; without them they fail with
// EPERM, which says nothing about the kernel.
//
// The program and map type probes are libbpfgo's (its package functions
// only: its module constructors raise RLIMIT_MEMLOCK, which fails where
// the hard limit is low). v0.7.0-libbpf-1.4 has no helper probe, so that
// one is called here.

// ProgTypeSupported reports whether the kernel loads programs of type t
// (libbpf_probe_bpf_prog_type).
func ProgTypeSupported(t ProgType) (bool, error) {
	installPrint()
	ok, err := libbpfgo.BPFProgramTypeIsSupported(libbpfgo.BPFProgType(t))
	return probed(ok, err, fmt.Sprintf("program type %s", t))
}

// MapTypeSupported reports whether the kernel creates maps of type t
// (libbpf_probe_bpf_map_type).
func MapTypeSupported(t MapType) (bool, error) {
	installPrint()
	ok, err := libbpfgo.BPFMapTypeIsSupported(libbpfgo.MapType(t))
	return probed(ok, err, fmt.Sprintf("map type %s", t))
}

// probed reads a libbpfgo probe's answer: it reports "not supported" as
// the error syscall.Errno(0), which is no error.
func probed(ok bool, err error, what string) (bool, error) {
	if errors.Is(err, syscall.Errno(0)) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("probe %s: %w", what, err)
	}
	return ok, nil
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

// Package testenv holds helpers shared by the tests that need a real kernel
// with eBPF and the toolchains that build BPF objects and wasm guests.
//
// The rule for an environment that cannot run such a test: when the
// environment variable CI is "true" the test FAILS (a BPF test must never be
// skipped silently in CI); otherwise it is skipped with the reason.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// VmlinuxBTF is where the running kernel exposes its BTF.
const VmlinuxBTF = "/sys/kernel/btf/vmlinux"

// InCI reports whether the tests run in CI (env CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

// Unavailable stops the test because the environment lacks something: it
// fails in CI and skips elsewhere.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("environment cannot run this test (CI=true, so this is a failure): %s", msg)
	}
	t.Skipf("skipping: %s", msg)
}

// RequiredEnv names the environment variable that lists, comma-separated,
// the kernel features ("lsm", "fentry") the tests must find working.
// scripts/kernel-matrix.sh sets it in its virtual machines, whose kernels
// have them; elsewhere a test may instead check that the kernel's refusal
// reaches the user.
const RequiredEnv = "WASM_BPF_TEST_REQUIRE"

// Required reports whether $WASM_BPF_TEST_REQUIRE lists feature.
func Required(feature string) bool {
	for _, f := range strings.Split(os.Getenv(RequiredEnv), ",") {
		if strings.TrimSpace(f) == feature {
			return true
		}
	}
	return false
}

// RequireBPF stops the test (see Unavailable) unless the process is root,
// the kernel has BTF and the bpf() syscall can create a map.
func RequireBPF(t testing.TB) {
	t.Helper()
	if err := CheckBPF(); err != nil {
		Unavailable(t, "%v", err)
	}
}

// CheckBPF returns why this process cannot run BPF tests, or nil.
func CheckBPF() error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("eBPF tests need Linux, not %s", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		return errors.New("eBPF tests need root")
	}
	if _, err := os.Stat(VmlinuxBTF); err != nil {
		return fmt.Errorf("kernel BTF missing: %v", err)
	}
	return probeMapCreate()
}

// bpfSyscallNumbers is the number of the bpf(2) syscall per GOARCH (the
// syscall package does not define SYS_BPF on every architecture).
var bpfSyscallNumbers = map[string]uintptr{
	"amd64":    321,
	"386":      357,
	"arm64":    280,
	"arm":      386,
	"riscv64":  280,
	"loong64":  280,
	"ppc64":    361,
	"ppc64le":  361,
	"s390x":    351,
	"mips64":   5315,
	"mips64le": 5315,
}

// BPFSyscallNumber returns the bpf(2) syscall number for goarch.
func BPFSyscallNumber(goarch string) (uintptr, bool) {
	n, ok := bpfSyscallNumbers[goarch]
	return n, ok
}

// probeMapCreate creates (and closes) a one-element BPF array map.
func probeMapCreate() error {
	nr, ok := BPFSyscallNumber(runtime.GOARCH)
	if !ok {
		return fmt.Errorf("no bpf syscall number known for GOARCH=%s", runtime.GOARCH)
	}
	// The head of union bpf_attr for BPF_MAP_CREATE; the rest stays zero.
	var attr struct {
		mapType    uint32
		keySize    uint32
		valueSize  uint32
		maxEntries uint32
		mapFlags   uint32
		_          [44]byte
	}
	attr.mapType = 2 // BPF_MAP_TYPE_ARRAY
	attr.keySize = 4
	attr.valueSize = 4
	attr.maxEntries = 1
	const bpfMapCreate = 0
	fd, _, errno := syscall.Syscall(nr, bpfMapCreate, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	if errno != 0 {
		return fmt.Errorf("bpf(BPF_MAP_CREATE) failed: %v", errno)
	}
	syscall.Close(int(fd))
	return nil
}

// TargetArch maps a GOARCH to the value of clang's -D__TARGET_ARCH_<x> that
// libbpf's bpf_tracing.h expects.
func TargetArch(goarch string) (string, bool) {
	switch goarch {
	case "amd64", "386":
		return "x86", true
	case "arm64":
		return "arm64", true
	case "arm":
		return "arm", true
	case "riscv64":
		return "riscv", true
	case "loong64":
		return "loongarch", true
	case "ppc64", "ppc64le":
		return "powerpc", true
	case "s390x":
		return "s390", true
	case "mips64", "mips64le":
		return "mips", true
	}
	return "", false
}

// RepoRoot returns the directory holding go.mod, searching upwards from the
// working directory (a test's working directory is its package directory).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

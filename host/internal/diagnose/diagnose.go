// Package diagnose explains why a guest's BPF object could not be loaded or
// a program attached, in one line that names the cause and its fix:
// missing capabilities (which, and for what), tracefs not mounted, an
// object built without BTF, a kernel without BTF, the verifier's refusal
// (with the end of its log, as lines), a program type, helper or attach
// target the kernel lacks (libbpf's feature probes decide).
//
// The explanation is built from libbpf's error, the warnings libbpf
// printed during the failed call (libbpf.Error.Log), what the object holds
// and what the machine is: the process's capabilities, its mounts, the
// kernel's BTF. libbpf's own hints are not repeated when they mislead (it
// suggests raising RLIMIT_MEMLOCK with every EPERM, which kernels since
// 5.11 do not use for BPF).
package diagnose

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/wasm-bpf/wasm-bpf/libbpf"
)

// Program is a program of the object in question.
type Program struct {
	Name    string
	Section string // "tp/sched/sched_process_exec"
	Type    libbpf.ProgType
}

// Object is the BPF object that failed to load.
type Object struct {
	Name      string
	BTF       bool   // it has a .BTF section
	KernelBTF string // the file given for the kernel's BTF (wasm-bpf run --btf), or ""
	Programs  []Program
}

// verifierTail is how many lines of the verifier's log the explanation
// quotes: the verdict and what led to it are at the end.
const verifierTail = 5

// NoBTF explains why an object called name that has no BTF cannot load.
func NoBTF(name string) string {
	return fmt.Sprintf("cannot load BPF object %q: it has no BTF (.BTF section), which BTF-defined maps and CO-RE relocations need: build it with clang -g", name)
}

// Load explains why loading o failed with err.
func Load(m Machine, o Object, err error) string {
	what := fmt.Sprintf("cannot load BPF object %q", o.Name)
	log := logOf(err)
	errno := errnoOf(err)
	if errno == syscall.EPERM || errno == syscall.EACCES {
		if miss := m.missing(loadNeeds(o.Programs)); len(miss) > 0 {
			return what + ": " + errno.Error() + ": " + lacks(miss)
		}
	}
	if !o.BTF && isLibbpf(err) && (log.Contains("BTF is required") || errno == syscall.ENOENT) {
		return NoBTF(o.Name)
	}
	if o.KernelBTF == "" && (log.Contains("failed to find valid kernel BTF") || log.Contains("Error loading vmlinux BTF") ||
		(!m.KernelBTF() && (log.Contains("CO-RE") || log.Contains("kernel BTF")))) {
		return what + ": the kernel has no BTF (" + vmlinuxBTF + " is missing), which CO-RE relocations need: give the kernel's BTF in a file (wasm-bpf run --btf FILE; BTFHub has it for many kernels), or run it on a kernel built with CONFIG_DEBUG_INFO_BTF=y"
	}
	if o.KernelBTF != "" && (log.Contains("failed to parse target BTF") || log.Contains("kernel BTF")) {
		return what + ": the kernel BTF in " + o.KernelBTF + " (--btf) cannot be used: give the BTF of the running kernel (BTFHub, or bpftool btf dump file VMLINUX format raw)"
	}
	if prog, target, ok := missingBTFTarget(log); ok {
		p := find(o.Programs, prog)
		return fmt.Sprintf("%s: the kernel has no function or BTF tracepoint %q, which program %q (%s) attaches to: this program cannot run on this kernel", what, target, prog, p.Section)
	}
	// Without the privileges to load, a probe fails as the load did and
	// says nothing about the kernel.
	if len(m.missing(loadNeeds(o.Programs))) == 0 {
		for _, p := range o.Programs {
			if ok, err := m.ProgType(p.Type); err == nil && !ok {
				return fmt.Sprintf("%s: the kernel does not support BPF programs of type %s (program %q, section %s), by libbpf's feature probe: this program cannot run on this kernel (`bpftool feature probe kernel` lists the types it supports)", what, p.Type, p.Name, p.Section)
			}
		}
	}
	if prog, lines := log.VerifierLog(); lines != nil {
		p := find(o.Programs, prog)
		if name, id, ok := unknownHelper(lines); ok {
			if ok, err := m.Helper(p.Type, id); err == nil && !ok {
				return fmt.Sprintf("%s: the kernel does not provide BPF helper %s to %s programs such as %q, by libbpf's feature probe: the program needs a newer kernel", what, helperName(name, id), p.Type, prog)
			}
		}
		msg := fmt.Sprintf("%s: the kernel's verifier refused program %q (%s): %s; the end of its log (wasm-bpf -v prints all of it):", what, prog, p.Section, errnoText(err))
		for _, l := range tail(lines, verifierTail) {
			msg += "\n    " + l
		}
		return msg
	}
	if errno == syscall.EPERM {
		return what + ": operation not permitted, although the process has the capabilities a load needs: " + m.forbidden() + libbpfSays(log)
	}
	return what + ": " + errnoText(err) + libbpfSays(log) + "; wasm-bpf -v prints libbpf's whole log"
}

// Attach explains why attaching p to target ("" for its section's
// target) failed with err.
func Attach(m Machine, p Program, target string, err error) string {
	what := fmt.Sprintf("cannot attach program %q (%s)", p.Name, p.Section)
	if target != "" {
		what = fmt.Sprintf("cannot attach program %q (%s) to %q", p.Name, p.Section, target)
	}
	log := logOf(err)
	errno := errnoOf(err)
	if errno == syscall.EPERM || errno == syscall.EACCES {
		if miss := m.missing(attachNeeds(p.Type)); len(miss) > 0 {
			return what + ": " + errno.Error() + ": " + lacks(miss)
		}
	}
	kind, rest, _ := strings.Cut(p.Section, "/")
	switch {
	case errno == syscall.ENOENT && (kind == "tp" || kind == "tracepoint"):
		if !m.tracefs() {
			return what + ": tracefs is not mounted, and the kernel's tracepoints are found through it: mount -t tracefs tracefs " + tracefsDir
		}
		return fmt.Sprintf("%s: the kernel has no tracepoint %s (it is not in %s/events): check the name in %s/available_events", what, rest, tracefsDir, tracefsDir)
	case errno == syscall.ENOENT && (kind == "kprobe" || kind == "kretprobe"):
		if !m.Exists(kprobePMU) && !m.Exists(tracefsDir+"/kprobe_events") && !m.Exists(debugfsTracing+"/kprobe_events") {
			if !m.tracefs() {
				return what + ": the kernel has no kprobe PMU (" + kprobePMU + ") and tracefs, which the other way to make kprobes needs, is not mounted: mount -t tracefs tracefs " + tracefsDir
			}
			return what + ": the kernel has no kprobes (no " + kprobePMU + ", no kprobe_events in tracefs): it was built without CONFIG_KPROBE_EVENTS, and this program cannot attach here"
		}
		fn, _, _ := strings.Cut(rest, "+")
		return fmt.Sprintf("%s: the kernel has no function %q to probe (see /proc/kallsyms): this program cannot attach on this kernel", what, fn)
	case errno == syscall.ENOENT && (kind == "uprobe" || kind == "uretprobe"):
		file, _, _ := strings.Cut(rest, ":")
		return fmt.Sprintf("%s: no file %q to probe, or no symbol of that name in it", what, file)
	case errno == syscall.ENODEV:
		return fmt.Sprintf("%s: no network interface %q", what, target)
	case errno == syscall.ENOENT && p.Type.IsCgroup():
		return fmt.Sprintf("%s: no cgroup v2 directory %q", what, target)
	case errno == syscall.EEXIST:
		return what + ": it is already attached there (the kernel allows a program once per hook)"
	}
	return what + ": " + errnoText(err) + libbpfSays(log) + "; wasm-bpf -v prints libbpf's whole log"
}

// Buffer explains why the consumer of a ring or perf buffer map could not
// be created.
func Buffer(m Machine, mapName, kind string, err error) string {
	what := fmt.Sprintf("cannot read %s map %q", kind, mapName)
	errno := errnoOf(err)
	if kind == "perf buffer" && (errno == syscall.EPERM || errno == syscall.EACCES) {
		if miss := m.missing([]need{{capPerfmon, "the perf events of a perf buffer"}}); len(miss) > 0 {
			return what + ": " + errno.Error() + ": " + lacks(miss)
		}
	}
	return what + ": " + errnoText(err) + libbpfSays(logOf(err))
}

func logOf(err error) libbpf.Log {
	var le *libbpf.Error
	if errors.As(err, &le) {
		return le.Log
	}
	return nil
}

func errnoOf(err error) syscall.Errno {
	var errno syscall.Errno
	errors.As(err, &errno)
	return errno
}

// errnoText is the errno of libbpf's error as strerror has it; another
// error (the ELF check's, an attach the runtime makes itself) says more
// itself.
func errnoText(err error) string {
	if errno := errnoOf(err); errno != 0 && isLibbpf(err) {
		return errno.Error()
	}
	return err.Error()
}

func isLibbpf(err error) bool {
	var le *libbpf.Error
	return errors.As(err, &le)
}

// libbpfSays quotes libbpf's first warning that names a cause: the
// later ones repeat that the load failed. Its RLIMIT_MEMLOCK advice is
// not quoted (see the package comment).
func libbpfSays(log libbpf.Log) string {
	for _, m := range log {
		switch {
		case strings.Contains(m, "failed to load"), strings.Contains(m, "RLIMIT_MEMLOCK"), strings.Contains(m, "ulimit -l"):
			continue
		}
		m, _, _ = strings.Cut(m, "\n")
		return " (" + m + ")"
	}
	return ""
}

func find(ps []Program, name string) Program {
	for _, p := range ps {
		if p.Name == name {
			return p
		}
	}
	return Program{Name: name, Section: "?"}
}

func tail(lines []string, n int) []string {
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// "libbpf: prog 'x': failed to find kernel BTF type ID of 'foo': -3"
var btfTargetRE = regexp.MustCompile(`prog '([^']*)': failed to find kernel BTF type ID of '([^']*)'`)

func missingBTFTarget(log libbpf.Log) (prog, target string, ok bool) {
	for _, m := range log {
		if s := btfTargetRE.FindStringSubmatch(m); s != nil {
			return s[1], s[2], true
		}
	}
	return "", "", false
}

// The verifier's words for a call of a helper it does not know or does
// not allow: "invalid func unknown#250", "unknown func bpf_foo#123",
// "program of this type cannot use helper bpf_foo#123".
var helperRE = regexp.MustCompile(`(?:invalid func|unknown func|cannot use helper) (\S+)#(\d+)`)

func unknownHelper(lines []string) (name string, id int, ok bool) {
	for i := len(lines) - 1; i >= 0; i-- {
		if s := helperRE.FindStringSubmatch(lines[i]); s != nil {
			id, err := strconv.Atoi(s[2])
			return s[1], id, err == nil
		}
	}
	return "", 0, false
}

func helperName(name string, id int) string {
	if name == "" || name == "unknown" {
		return fmt.Sprintf("#%d", id)
	}
	return fmt.Sprintf("%s (#%d)", name, id)
}

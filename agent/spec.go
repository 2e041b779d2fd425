package agent

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/wasm-bpf/wasm-bpf/host"
	"github.com/wasm-bpf/wasm-bpf/oci"
	"github.com/wasm-bpf/wasm-bpf/policy"
)

// Spec is one guest, as the guest file lists it and the API takes it.
type Spec struct {
	// ID names the guest in the API, the CLI, logs and metrics, and its
	// BPF objects in the kernel (the guest's argv[0]).
	ID string `json:"id"`
	// Module is the path of a module file or a registry reference
	// (REGISTRY/REPO:TAG or REGISTRY/REPO@sha256:...), as `wasm-bpf run`
	// takes it.
	Module string `json:"module"`
	// Args follow argv[0].
	Args []string `json:"args,omitempty"`
	// Env is KEY=VALUE pairs; none by default.
	Env []string `json:"env,omitempty"`
	// Allow and PolicyFile are the guest's capability policy, as
	// `run --allow` and `--policy` give it (docs/policy.md); none: observe.
	Allow      []string `json:"allow,omitempty"`
	PolicyFile string   `json:"policyFile,omitempty"`
	// Restart says when the guest is started again after it ends.
	Restart RestartPolicy `json:"restart,omitempty"`
	// Pull is the pull policy of a registry guest: missing (default),
	// always or never.
	Pull string `json:"pull,omitempty"`
	// VerifyKey is the path of a cosign public key: a registry guest must
	// carry a signature by it.
	VerifyKey string `json:"verifyKey,omitempty"`
	// BTF is the path of a file holding the kernel's BTF, as `run --btf`
	// takes it, for kernels without /sys/kernel/btf/vmlinux.
	BTF string `json:"btf,omitempty"`
	// WrapperModule and CallbackExport rename the callback-wrapper poll's
	// import module and the guest export it calls per record, as `run -m`
	// and `-c` do; absent: host.DefaultWrapperModule and
	// host.DefaultCallbackExport.
	WrapperModule  string `json:"wrapperModule,omitempty"`
	CallbackExport string `json:"callbackExport,omitempty"`
	Limits         Limits `json:"limits,omitzero"`
}

// Limits bound one guest, as run's flags of the same names do, with the
// same defaults when absent.
type Limits struct {
	// MaxMemory bounds its linear memory; absent: DefaultMaxMemory, 0: the
	// 4 GiB of wasm32.
	MaxMemory  *policy.Bytes `json:"maxMemory,omitempty"`
	CPULimit   Duration      `json:"cpuLimit,omitempty"`
	MaxObjects int           `json:"maxObjects,omitempty"`
	// MaxLinks bounds its attachments; absent: DefaultMaxLinks, 0: no limit.
	MaxLinks *int `json:"maxLinks,omitempty"`
	// MaxFDs bounds the file descriptors it makes the host hold; absent or
	// 0: host.DefaultMaxFDs, negative: no limit.
	MaxFDs int `json:"maxFds,omitempty"`
	// MaxMapMemory bounds the kernel memory of the guest's maps; absent:
	// DefaultMaxMapMemory, 0: no limit.
	MaxMapMemory *policy.Bytes `json:"maxMapMemory,omitempty"`
}

// The limits of a guest whose spec (or `run`'s flags) gives none.
const (
	// DefaultMaxMemory is a quarter of what wasm32 can address, far more
	// than guests use, and a bound on what a runaway one takes from the
	// host.
	DefaultMaxMemory policy.Bytes = 1 << 30
	// DefaultMaxLinks is as many links as host.DefaultMaxFDs allows of
	// links that hold two descriptors, far more than tools attach.
	DefaultMaxLinks = host.DefaultMaxFDs / 2
	// DefaultMaxMapMemory bounds the kernel memory of a guest's maps.
	DefaultMaxMapMemory policy.Bytes = 256 << 20
)

// Config is how one run of the guest goes, for host.Runtime.Start: the
// agent's guests and `wasm-bpf run`'s (which describes its guest as a
// Spec, from its flags) both start from it. pol is the guest's policy
// (Spec.Policy); argv[0] is the guest's ID. The caller adds the guest's
// I/O and logger.
func (s Spec) Config(pol *policy.Policy) host.Config {
	l := s.Limits
	return host.Config{
		Args:           append([]string{s.ID}, s.Args...),
		Env:            s.Env,
		Policy:         pol,
		BTFPath:        s.BTF,
		WrapperModule:  cmp.Or(s.WrapperModule, host.DefaultWrapperModule),
		CallbackExport: cmp.Or(s.CallbackExport, host.DefaultCallbackExport),
		MaxMemory:      uint64(orDefault(l.MaxMemory, DefaultMaxMemory)),
		CPULimit:       time.Duration(l.CPULimit),
		MaxObjects:     l.MaxObjects,
		MaxLinks:       orDefault(l.MaxLinks, DefaultMaxLinks),
		MaxFDs:         cmp.Or(l.MaxFDs, host.DefaultMaxFDs),
		MaxMapMemory:   uint64(orDefault(l.MaxMapMemory, DefaultMaxMapMemory)),
	}
}

func orDefault[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// RestartPolicy says when a guest that ended starts again.
type RestartPolicy string

const (
	RestartNever     RestartPolicy = "never"      // the default
	RestartOnFailure RestartPolicy = "on-failure" // after an exit code other than 0, a trap, a limit or a failed start
	RestartAlways    RestartPolicy = "always"     // whenever it ends, unless stopped
)

// Duration is a time.Duration that files and the API write as "10s".
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("duration: want a string such as \"30s\" or \"5m\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

var idPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9_.-]{0,62})$`)

// Check says what is wrong with a spec, in words a user can act on. base
// is the directory relative paths are resolved against; "" requires
// absolute paths (the API: the agent's working directory is no one's).
// It returns the spec with paths made absolute.
func (s Spec) Check(base string) (Spec, error) {
	if !idPattern.MatchString(s.ID) {
		return s, fmt.Errorf("guest id %q: want 1 to 63 characters of a-z, 0-9, '-', '_' and '.', starting with a letter or digit", s.ID)
	}
	bad := func(format string, args ...any) (Spec, error) {
		return s, fmt.Errorf("guest %s: %s", s.ID, fmt.Sprintf(format, args...))
	}
	if s.Module == "" {
		return bad("no module: give the path of a .wasm file or a registry reference")
	}
	abs := func(field, p string) (string, error) {
		if p == "" || filepath.IsAbs(p) {
			return p, nil
		}
		if base == "" {
			return "", fmt.Errorf("guest %s: %s %q is relative: give an absolute path (the agent does not share your working directory)", s.ID, field, p)
		}
		return filepath.Join(base, p), nil
	}
	var err error
	if !oci.IsReference(s.Module) {
		if s.Module, err = abs("module", s.Module); err != nil {
			return s, err
		}
	}
	if s.PolicyFile, err = abs("policyFile", s.PolicyFile); err != nil {
		return s, err
	}
	if s.VerifyKey, err = abs("verifyKey", s.VerifyKey); err != nil {
		return s, err
	}
	if s.BTF, err = abs("btf", s.BTF); err != nil {
		return s, err
	}
	if s.BTF != "" {
		// libbpf would only say "failed to parse target BTF" at load.
		if _, err := os.Stat(s.BTF); err != nil {
			return bad("btf: %v", err)
		}
	}
	switch s.Restart {
	case "", RestartNever, RestartOnFailure, RestartAlways:
	default:
		return bad("restart %q: want never, on-failure or always", s.Restart)
	}
	if s.Pull != "" {
		if _, err := oci.ParsePullPolicy(s.Pull); err != nil {
			return bad("%v", err)
		}
	}
	for _, kv := range s.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return bad("env %q: want KEY=VALUE", kv)
		}
	}
	l := s.Limits
	if l.MaxObjects < 0 || orDefault(l.MaxLinks, 0) < 0 || l.CPULimit < 0 {
		return bad("limits must not be negative")
	}
	if _, err := s.Policy(); err != nil {
		return bad("%v", err)
	}
	return s, nil
}

// Policy is the guest's capability policy: its policy file, if any, with
// its grants added (policy.Load).
func (s Spec) Policy() (*policy.Policy, error) {
	return policy.Load(s.PolicyFile, s.Allow...)
}

func (s Spec) restart() RestartPolicy {
	if s.Restart == "" {
		return RestartNever
	}
	return s.Restart
}

// hash identifies what the spec says: reconcile restarts a guest whose
// hash changed.
func (s Spec) hash() string {
	b, _ := json.Marshal(s)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

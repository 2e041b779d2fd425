package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

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
	Limits    Limits `json:"limits,omitzero"`
}

// Limits bound one guest, as run's flags of the same names do.
type Limits struct {
	MaxMemory  policy.Bytes `json:"maxMemory,omitempty"`
	CPULimit   Duration     `json:"cpuLimit,omitempty"`
	MaxObjects int          `json:"maxObjects,omitempty"`
	MaxLinks   int          `json:"maxLinks,omitempty"`
	// MaxMapMemory bounds the kernel memory of the guest's maps; absent:
	// 256MiB (as run's default), 0: no limit.
	MaxMapMemory *policy.Bytes `json:"maxMapMemory,omitempty"`
}

// DefaultMaxMapMemory is a guest's MaxMapMemory when its spec gives none.
const DefaultMaxMapMemory = 256 << 20

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
	if l.MaxObjects < 0 || l.MaxLinks < 0 || l.CPULimit < 0 {
		return bad("limits must not be negative")
	}
	if _, err := s.policy(); err != nil {
		return bad("%v", err)
	}
	return s, nil
}

// policy is the guest's capability policy.
func (s Spec) policy() (*policy.Policy, error) {
	return policy.Load(s.PolicyFile, s.Allow...)
}

func (s Spec) restart() RestartPolicy {
	if s.Restart == "" {
		return RestartNever
	}
	return s.Restart
}

func (s Spec) maxMapMemory() uint64 {
	if s.Limits.MaxMapMemory == nil {
		return DefaultMaxMapMemory
	}
	return uint64(*s.Limits.MaxMapMemory)
}

// hash identifies what the spec says: reconcile restarts a guest whose
// hash changed.
func (s Spec) hash() string {
	b, _ := json.Marshal(s)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

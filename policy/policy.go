package policy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"sigs.k8s.io/yaml"
)

// The ready-made profiles, named for what a user grants.
const (
	// Observe grants tracing programs (tracepoint, raw_tp, tp_btf,
	// kprobe/kretprobe/ksyscall, uprobe/uretprobe/usdt, fentry/fexit,
	// perf_event, iter) and socket filters, every helper that only reads
	// and reports, and no kfunc. It is the default.
	Observe = "observe"
	// Network adds the programs that decide the fate of packets and
	// connections (XDP, tc, cgroup skb/sock/sockopt, sock_ops,
	// sk_msg/sk_skb, flow dissector, ...) and the helpers that change
	// packets, redirect them and set socket options.
	Network = "network"
	// Security adds LSM, fmod_ret, cgroup device and sysctl programs and
	// the helpers that change what the kernel decides (bpf_set_retval,
	// bpf_override_return, ...).
	Security = "security"
	// Signal adds bpf_send_signal and bpf_send_signal_thread.
	Signal = "signal"
	// WriteUser adds bpf_probe_write_user.
	WriteUser = "write-user"
	// All grants everything the kernel allows: the behaviour of the other
	// wasm-bpf runtimes, for a trusted guest.
	All = "all"
)

// profiles in the order a refusal suggests them.
var profiles = []string{Observe, Network, Security, Signal, WriteUser, All}

// Policy is what a guest's BPF objects may ask of the kernel: the
// "observe" profile, what its grants add, and the limits. The zero value
// is not valid: use New or Parse. A Policy is immutable and safe for
// concurrent use.
type Policy struct {
	grants   []string // as given, in order, without duplicates
	profiles map[string]bool
	helpers  map[int32]bool
	kinds    map[string]bool
	maps     map[string]bool
	kfuncs   []string // patterns
	attach   []string // patterns; none: any target
	cgroups  []string // cleaned absolute paths; none: any cgroup
	ifaces   []string // patterns; none: any interface

	maxPrograms     int
	maxInstructions int
}

// New returns the policy that grants "observe" and each of grants: a
// profile name or a rule:
//
//	helper:NAME     a helper by name (bpf_send_signal, or send_signal) or id
//	kfunc:PATTERN   kfuncs whose name matches
//	prog:KIND       programs of a kind (xdp, lsm, fmod_ret, tracing, ...)
//	map:TYPE        maps of a type (sockmap, struct_ops, ...)
//	attach:PATTERN  attach points (tracepoint/sched/*, kprobe/do_unlinkat,
//	                uprobe//usr/bin/*); with any attach rule, programs
//	                that attach by their section may attach only there
//	cgroup:PATH     a cgroup v2 directory and its subtree; with any cgroup
//	                rule, cgroup programs may attach only there
//	iface:PATTERN   network interfaces; with any iface rule, XDP programs
//	                and socket filters may attach only there
//
// In patterns, * matches any run of characters ("/" included) and ? any
// one character.
func New(grants ...string) (*Policy, error) {
	p := &Policy{
		profiles: map[string]bool{Observe: true},
		helpers:  map[int32]bool{}, kinds: map[string]bool{}, maps: map[string]bool{},
	}
	for _, g := range grants {
		if err := p.grant(strings.TrimSpace(g)); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Default is the policy of a guest nobody granted anything: "observe".
func Default() *Policy {
	p, _ := New()
	return p
}

func (p *Policy) grant(g string) error {
	if slices.Contains(p.grants, g) {
		return nil
	}
	kind, arg, ok := strings.Cut(g, ":")
	if !ok {
		if !slices.Contains(profiles, g) {
			return fmt.Errorf("unknown capability %q: want a profile (%s) or a rule (helper:, kfunc:, prog:, map:, attach:, cgroup:, iface:)",
				g, strings.Join(profiles, ", "))
		}
		p.profiles[g] = true
		p.grants = append(p.grants, g)
		return nil
	}
	if arg == "" {
		return fmt.Errorf("capability %q: empty %s", g, kind)
	}
	switch kind {
	case "helper":
		if id, err := strconv.ParseInt(arg, 10, 32); err == nil {
			p.helpers[int32(id)] = true
		} else if fn, ok := helperByName(arg); ok {
			p.helpers[int32(fn)] = true
		} else {
			return fmt.Errorf("capability %q: no helper is called %s", g, arg)
		}
	case "kfunc":
		p.kfuncs = append(p.kfuncs, arg)
	case "prog":
		p.kinds[arg] = true
	case "map":
		p.maps[arg] = true
	case "attach":
		p.attach = append(p.attach, arg)
	case "cgroup":
		if !filepath.IsAbs(arg) {
			return fmt.Errorf("capability %q: the cgroup path must be absolute", g)
		}
		p.cgroups = append(p.cgroups, filepath.Clean(arg))
	case "iface":
		p.ifaces = append(p.ifaces, arg)
	default:
		return fmt.Errorf("unknown capability %q: want a profile (%s) or a rule (helper:, kfunc:, prog:, map:, attach:, cgroup:, iface:)",
			g, strings.Join(profiles, ", "))
	}
	p.grants = append(p.grants, g)
	return nil
}

// File is a policy file (YAML or JSON; see docs/policy.md).
type File struct {
	// Allow lists profiles and rules, as New takes them.
	Allow []string `json:"allow"`
	// MaxPrograms limits the programs of one object; 0: no limit.
	MaxPrograms int `json:"maxPrograms,omitempty"`
	// MaxInstructions limits the instructions of one program, its
	// subprograms included; 0: no limit.
	MaxInstructions int `json:"maxInstructions,omitempty"`
}

// Parse reads a policy file. Unknown fields are errors: a misspelt limit
// must not silently grant more.
func Parse(data []byte) (*Policy, error) {
	var f File
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, err
	}
	return f.Policy()
}

// Policy is the policy the file describes.
func (f File) Policy() (*Policy, error) {
	if f.MaxPrograms < 0 || f.MaxInstructions < 0 {
		return nil, errors.New("limits must not be negative")
	}
	p, err := New(f.Allow...)
	if err != nil {
		return nil, err
	}
	p.maxPrograms, p.maxInstructions = f.MaxPrograms, f.MaxInstructions
	return p, nil
}

// With returns a policy that also grants grants.
func (p *Policy) With(grants ...string) (*Policy, error) {
	q, err := New(append(slices.Clone(p.grants), grants...)...)
	if err != nil {
		return nil, err
	}
	q.maxPrograms, q.maxInstructions = p.maxPrograms, p.maxInstructions
	return q, nil
}

// String names the policy as refusals do: `profile "observe"`, or
// `policy "observe,GRANT,..."`.
func (p *Policy) String() string {
	if len(p.grants) == 0 {
		return `profile "observe"`
	}
	return fmt.Sprintf("policy %q", strings.Join(append([]string{Observe}, p.grants...), ","))
}

// Refusal is why a policy refuses an object or an attachment. It wraps
// syscall.EPERM.
type Refusal struct {
	Program string // the program that asked; "" for the object as a whole
	Asked   string // what was asked: `calls bpf_send_signal (helper 109)`
	Policy  string // the policy that refused, as Policy.String names it
	Rule    string // why, if not "does not grant": `allows at most 4 programs per object`
	Grant   string // the --allow value that would grant it; "" if a limit refused it
	Hint    string // what to do instead of Grant
}

func (r *Refusal) Error() string {
	var b strings.Builder
	if r.Program != "" {
		fmt.Fprintf(&b, "program %q ", r.Program)
	}
	b.WriteString(r.Asked)
	if r.Rule != "" {
		fmt.Fprintf(&b, ", but %s %s", r.Policy, r.Rule)
	} else {
		fmt.Fprintf(&b, ", which %s does not grant", r.Policy)
	}
	switch {
	case r.Grant != "":
		fmt.Fprintf(&b, "; run with --allow %s", r.Grant)
	case r.Hint != "":
		b.WriteString("; " + r.Hint)
	}
	return b.String()
}

func (r *Refusal) Unwrap() error { return syscall.EPERM }

// Check refuses an object that asks for more than the policy grants: a
// program kind, a helper or kfunc (its programs' and, independently of
// how they link, its code's: see Analyze), a map type, or more programs or
// instructions than the limits allow. It returns the first refusal, or
// nil.
func (p *Policy) Check(o *Object) error {
	if p.maxPrograms > 0 && len(o.Programs) > p.maxPrograms {
		return p.refuse("", fmt.Sprintf("has %d programs", len(o.Programs)), "",
			fmt.Sprintf("allows at most %d programs per object", p.maxPrograms), "raise maxPrograms in the policy file")
	}
	for _, prog := range o.Programs {
		if err := p.checkProgram(prog); err != nil {
			return err
		}
	}
	for _, m := range o.Maps {
		if !p.grantsMap(m.Type) {
			return p.refuse("", fmt.Sprintf("map %q is of type %s", m.Name, m.TypeName()),
				grantFor(mapProfile(m.Type), "map:"+m.TypeName()), "", "")
		}
		if in := m.Inner; in != nil && !p.grantsMap(in.Type) {
			return p.refuse("", fmt.Sprintf("map %q holds maps of type %s", m.Name, in.TypeName()),
				grantFor(mapProfile(in.Type), "map:"+in.TypeName()), "", "")
		}
	}
	// What no program reaches by this analysis' linking, another's might.
	for _, h := range o.Helpers {
		if !p.grantsHelper(h.ID) {
			return p.refuse("", "code outside its programs calls "+h.String(), helperGrant(h.ID), "", "")
		}
	}
	for _, k := range o.Kfuncs {
		if !p.grantsKfunc(k) {
			return p.refuse("", "declares kfunc "+k, "kfunc:"+k, "", "")
		}
	}
	return nil
}

func (p *Policy) checkProgram(prog Program) error {
	if !p.grantsKind(prog.Kind) {
		return p.refuse(prog.Name, fmt.Sprintf("(section %q) is of kind %s", prog.Section, prog.Kind),
			grantFor(kindProfiles[prog.Kind], "prog:"+prog.Kind), "", "")
	}
	for _, h := range prog.Helpers {
		if !p.grantsHelper(h.ID) {
			return p.refuse(prog.Name, "calls "+h.String(), helperGrant(h.ID), "", "")
		}
	}
	for _, k := range prog.Kfuncs {
		if !p.grantsKfunc(k) {
			return p.refuse(prog.Name, "calls kfunc "+k, "kfunc:"+k, "", "")
		}
	}
	if p.maxInstructions > 0 && prog.Instructions > p.maxInstructions {
		return p.refuse(prog.Name, fmt.Sprintf("has %d instructions", prog.Instructions), "",
			fmt.Sprintf("allows at most %d per program", p.maxInstructions), "raise maxInstructions in the policy file")
	}
	return nil
}

func (p *Policy) refuse(prog, asked, grant, rule, hint string) *Refusal {
	return &Refusal{Program: prog, Asked: asked, Policy: p.String(), Grant: grant, Rule: rule, Hint: hint}
}

func (p *Policy) grantsKind(kind string) bool {
	return p.profiles[All] || p.kinds[kind] || p.profiles[kindProfiles[kind]]
}

func (p *Policy) grantsHelper(id int32) bool {
	if p.profiles[All] || p.helpers[id] {
		return true
	}
	prof, ok := helperProfiles[asm.BuiltinFunc(id)]
	return ok && id >= 0 && p.profiles[prof]
}

func (p *Policy) grantsKfunc(name string) bool {
	if p.profiles[All] {
		return true
	}
	for _, pat := range p.kfuncs {
		if match(pat, name) {
			return true
		}
	}
	return false
}

func (p *Policy) grantsMap(t ebpf.MapType) bool {
	return p.profiles[All] || p.maps[mapTypeName(t)] || p.profiles[mapProfile(t)]
}

// Grants reports whether the policy grants capability, a profile or a rule
// as New takes them and Needs lists them: what a guest declares it needs
// (an OCI label) is judged with it before the guest is even fetched. A
// declaration is only a claim: the objects themselves are still checked at
// load. attach:, cgroup: and iface: rules narrow targets at attach time and
// are never needs, so they are not granted here.
func (p *Policy) Grants(capability string) bool {
	if p.profiles[All] {
		return true
	}
	kind, arg, ok := strings.Cut(strings.TrimSpace(capability), ":")
	if !ok {
		return kind == Observe || p.profiles[kind]
	}
	switch kind {
	case "helper":
		if id, err := strconv.ParseInt(arg, 10, 32); err == nil {
			return p.grantsHelper(int32(id))
		}
		fn, ok := helperByName(arg)
		return ok && p.grantsHelper(int32(fn))
	case "kfunc":
		return p.grantsKfunc(arg)
	case "prog":
		return p.grantsKind(arg)
	case "map":
		t, ok := mapTypeByName(arg)
		return ok && p.grantsMap(t)
	}
	return false
}

// helperGrant is the smallest grant of a helper: its profile, unless only
// "all" has it; then the helper by name, or "all" for an unknown id.
func helperGrant(id int32) string {
	prof, ok := helperProfiles[asm.BuiltinFunc(id)]
	if !ok || id < 0 {
		return All
	}
	return grantFor(prof, "helper:"+helperName(asm.BuiltinFunc(id)))
}

// grantFor is the profile that grants something, or its fine rule when
// only "all" (or nothing) does.
func grantFor(profile, rule string) string {
	if profile == "" || profile == All {
		return rule
	}
	return profile
}

// CheckAttach refuses to attach prog outside the granted targets: for
// socket filters and XDP, target is the network interface; for cgroup
// programs, the cgroup v2 directory, which must lie under a granted one
// once symlinks and ".." are resolved; other programs attach where their
// section says (prog.Target; a uprobe's binary path resolved). It returns
// the target to attach to: the resolved cgroup directory for cgroup
// programs, target itself otherwise.
func (p *Policy) CheckAttach(prog *Program, target string) (string, error) {
	switch {
	case prog.Kind == "socket_filter" || prog.Kind == "xdp":
		if len(p.ifaces) == 0 || matchAny(p.ifaces, target) {
			return target, nil
		}
		return "", p.refuse(prog.Name, fmt.Sprintf("attaches to interface %q", target), "iface:"+target,
			fmt.Sprintf("grants only interfaces %s", strings.Join(p.ifaces, ", ")), "")
	case isCgroupKind(prog.Kind):
		if len(p.cgroups) == 0 {
			return target, nil
		}
		dir, err := resolve(target)
		if err != nil {
			return "", fmt.Errorf("cgroup %q: %w", target, err)
		}
		for _, c := range p.cgroups {
			granted, err := resolve(c)
			if err != nil {
				continue // a granted cgroup that does not exist holds nothing
			}
			if under(dir, granted) {
				return dir, nil
			}
		}
		return "", p.refuse(prog.Name, fmt.Sprintf("attaches to cgroup %s", dir), "cgroup:"+dir,
			fmt.Sprintf("grants only cgroups under %s", strings.Join(p.cgroups, ", ")), "")
	}
	if len(p.attach) == 0 {
		return target, nil
	}
	point := prog.Target
	if prefix, rest, ok := strings.Cut(point, "/"); ok && strings.HasPrefix(prefix, "u") {
		// uprobe, uretprobe, usdt: match the binary the kernel will open,
		// from the path as written ("link/.." is the parent of where link
		// leads, which the cleaned Target does not say). libbpf looks a
		// name without a slash up in PATH: that is matched as written.
		_, fn, _ := strings.Cut(rest, ":")
		if path, ok := sectionPath(prog.Section); ok && strings.Contains(path, "/") {
			real, err := resolveFile(path)
			if err != nil {
				return "", fmt.Errorf("binary of %s: %w", point, err)
			}
			point = prefix + "/" + real + ":" + fn
		}
	}
	if matchAny(p.attach, point) {
		return target, nil
	}
	return "", p.refuse(prog.Name, "attaches to "+point, "attach:"+point,
		fmt.Sprintf("grants only attach points %s", strings.Join(p.attach, ", ")), "")
}

// resolveFile makes a path absolute and resolves its symlinks and "..",
// as the kernel does when it opens it: a ".." after a symlink leads to
// the parent of the symlink's target, which cleaning the path first (as
// filepath.Abs does) would get wrong.
func resolveFile(path string) (string, error) {
	if !filepath.IsAbs(path) {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		path = wd + string(filepath.Separator) + path
	}
	return filepath.EvalSymlinks(path)
}

// resolve is resolveFile for a directory.
func resolve(path string) (string, error) {
	real, err := resolveFile(path)
	if err != nil {
		return "", err
	}
	if st, err := os.Stat(real); err != nil {
		return "", err
	} else if !st.IsDir() {
		return "", syscall.ENOTDIR
	}
	return real, nil
}

// under reports whether path is dir or below it.
func under(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if match(p, s) {
			return true
		}
	}
	return false
}

// match reports whether s matches the glob pattern: * is any run of
// characters, ? any one. It runs in O(len(pattern)*len(s)) at worst.
func match(pattern, s string) bool {
	px, sx := 0, 0
	starP, starS := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pattern) && (pattern[px] == '?' || pattern[px] == s[sx]):
			px++
			sx++
		case px < len(pattern) && pattern[px] == '*':
			starP, starS = px, sx
			px++
		case starP >= 0:
			starS++
			px, sx = starP+1, starS
		default:
			return false
		}
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}

// Needs lists the smallest grants under which the object passes Check,
// besides "observe": the profiles it needs, and rules for what only "all"
// would grant otherwise.
func Needs(o *Object) []string {
	var needs []string
	p := Default()
	for range 1 + len(o.Programs)*2 + len(o.Maps) + len(o.Helpers) + len(o.Kfuncs) {
		var r *Refusal
		if !errors.As(p.Check(o), &r) || r.Grant == "" {
			break
		}
		needs = append(needs, r.Grant)
		p, _ = p.With(r.Grant)
	}
	return needs
}

// Covering is the smallest single profile that grants needs (as Needs
// lists them): "observe" for none, the profile for one profile, "all"
// otherwise.
func Covering(needs []string) string {
	switch {
	case len(needs) == 0:
		return Observe
	case len(needs) == 1 && slices.Contains(profiles, needs[0]):
		return needs[0]
	}
	return All
}

// Package kubernetes_test holds the manifests of deploy/kubernetes to the
// Kubernetes API types and to what `wasm-bpf serve` listens on and needs.
package kubernetes_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/wasm-bpf/wasm-bpf/agent"
	"github.com/wasm-bpf/wasm-bpf/internal/releaseimage"
	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

type manifests struct {
	daemonSets []*appsv1.DaemonSet
	configMaps []*corev1.ConfigMap
	namespaces []*corev1.Namespace
}

// load decodes every document of every manifest strictly: an unknown
// field, or a kind this test does not know, is an error.
func load(t *testing.T) manifests {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	var m manifests
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
			if strings.TrimSpace(regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(doc, "")) == "" {
				continue
			}
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s #%d: %v", f, i, err)
			}
			var obj any
			switch tm.APIVersion + " " + tm.Kind {
			case "apps/v1 DaemonSet":
				d := &appsv1.DaemonSet{}
				m.daemonSets, obj = append(m.daemonSets, d), d
			case "v1 ConfigMap":
				c := &corev1.ConfigMap{}
				m.configMaps, obj = append(m.configMaps, c), c
			case "v1 Namespace":
				n := &corev1.Namespace{}
				m.namespaces, obj = append(m.namespaces, n), n
			default:
				t.Fatalf("%s #%d: kind %s %s: the agent needs no other (no RBAC: it never calls the API server)", f, i, tm.APIVersion, tm.Kind)
			}
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				t.Fatalf("%s #%d (%s): %v", f, i, tm.Kind, err)
			}
		}
	}
	if len(m.daemonSets) != 1 || len(m.configMaps) != 1 || len(m.namespaces) != 1 {
		t.Fatalf("want one DaemonSet, ConfigMap and Namespace; have %d, %d, %d", len(m.daemonSets), len(m.configMaps), len(m.namespaces))
	}
	return m
}

// flags reads --name=value and --name value flags.
func flags(args []string) map[string]string {
	out := map[string]string{}
	for i := 0; i < len(args); i++ {
		name, ok := strings.CutPrefix(args[i], "--")
		if !ok {
			continue
		}
		if k, v, ok := strings.Cut(name, "="); ok {
			out[k] = v
		} else if i+1 < len(args) {
			out[name] = args[i+1]
			i++
		}
	}
	return out
}

// mountOf is the volume mount that holds path, and its volume.
func mountOf(pod corev1.PodSpec, c corev1.Container, path string) (corev1.VolumeMount, corev1.Volume, bool) {
	var best corev1.VolumeMount
	for _, vm := range c.VolumeMounts {
		if (path == vm.MountPath || strings.HasPrefix(path, vm.MountPath+"/")) && len(vm.MountPath) > len(best.MountPath) {
			best = vm
		}
	}
	for _, v := range pod.Volumes {
		if best.Name != "" && v.Name == best.Name {
			return best, v, true
		}
	}
	return best, corev1.Volume{}, false
}

type setup struct {
	m         manifests
	pod       corev1.PodSpec
	c         corev1.Container
	args      []string // after the binary
	flags     map[string]string
	port      int32
	guestFile string
}

// check holds the manifests to what serve listens on and needs.
func check(t *testing.T) setup {
	t.Helper()
	m := load(t)
	ds := m.daemonSets[0]
	ns := m.namespaces[0].Name
	for _, o := range []metav1.ObjectMeta{ds.ObjectMeta, m.configMaps[0].ObjectMeta} {
		if o.Namespace != ns {
			t.Errorf("%s is in namespace %q, not %q", o.Name, o.Namespace, ns)
		}
	}
	pod := ds.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want the agent alone", len(pod.Containers))
	}
	c := pod.Containers[0]
	s := setup{m: m, pod: pod, c: c}

	// The release image, running serve.
	if !regexp.MustCompile(`/wasm-bpf(:[\w.-]+|@sha256:[0-9a-f]{64})$`).MatchString(c.Image) {
		t.Errorf("image %q is not the release image (REGISTRY/.../wasm-bpf:TAG)", c.Image)
	}
	if len(c.Command) < 2 || c.Command[0] != releaseimage.Path || c.Command[1] != "serve" {
		t.Fatalf("command %q, want %s serve ...", c.Command, releaseimage.Path)
	}
	s.args = c.Command[1:]
	s.flags = flags(s.args)

	// No API server: no token, no RBAC (load refused any other kind).
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken must be false: the agent does not call the API server")
	}
	if !pod.HostPID {
		t.Error("hostPID must be true: guests see and name the host's pids")
	}

	// Capabilities spelled out, not privileged.
	sc := c.SecurityContext
	if sc == nil || sc.Privileged != nil && *sc.Privileged || sc.Capabilities == nil {
		t.Fatal("the agent must run unprivileged, with capabilities added")
	}
	var add []string
	for _, cp := range sc.Capabilities.Add {
		add = append(add, string(cp))
	}
	for _, need := range []string{"BPF", "PERFMON"} {
		if !slices.Contains(add, need) {
			t.Errorf("capability %s not added (have %v)", need, add)
		}
	}
	if !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("drop %v, want ALL", sc.Capabilities.Drop)
	}

	// The guest file: the ConfigMap's, at the path --config names.
	cfg := s.flags["config"]
	vm, v, ok := mountOf(pod, c, cfg)
	if !ok || v.ConfigMap == nil || v.ConfigMap.Name != m.configMaps[0].Name {
		t.Fatalf("--config %s is not in the ConfigMap %s's volume", cfg, m.configMaps[0].Name)
	}
	key := strings.TrimPrefix(cfg, vm.MountPath+"/")
	s.guestFile = m.configMaps[0].Data[key]
	if s.guestFile == "" {
		t.Fatalf("ConfigMap %s has no key %q", m.configMaps[0].Name, key)
	}
	if _, err := agent.ParseFile([]byte(s.guestFile), vm.MountPath); err != nil {
		t.Errorf("the ConfigMap's guest file: %v", err)
	}

	// The socket's directory and the cache are writable volumes on the
	// node (the root file system is read-only).
	sock := s.flags["socket"]
	if sock == "" {
		sock = agent.DefaultSocket
	}
	var cache string
	for _, e := range c.Env {
		if e.Name == "XDG_CACHE_HOME" {
			cache = e.Value
		}
	}
	for _, dir := range []string{filepath.Dir(sock), cache} {
		vm, v, ok := mountOf(pod, c, dir)
		if !ok || v.HostPath == nil || vm.ReadOnly || vm.MountPath != dir {
			t.Errorf("%s is not a writable hostPath volume", dir)
		}
	}

	// The kernel's file systems, from the host at the same paths.
	for _, hm := range agent.HostMounts {
		vm, v, ok := mountOf(pod, c, hm.Path)
		if !ok || vm.MountPath != hm.Path || v.HostPath == nil || v.HostPath.Path != hm.Path {
			t.Errorf("%s (%s) is not mounted from the host's %s", hm.Path, hm.Why, hm.Path)
		}
	}

	// Metrics and probes on the port serve --metrics-listen listens on.
	_, portText, err := net.SplitHostPort(s.flags["metrics-listen"])
	if err != nil {
		t.Fatalf("--metrics-listen %q: %v", s.flags["metrics-listen"], err)
	}
	port, _ := strconv.Atoi(portText)
	s.port = int32(port)
	var named string
	for _, p := range c.Ports {
		if p.ContainerPort == s.port {
			named = p.Name
		}
	}
	if named == "" {
		t.Errorf("no container port %d", s.port)
	}
	for _, p := range []struct {
		probe *corev1.Probe
		path  string
	}{{c.LivenessProbe, agent.PathHealthz}, {c.ReadinessProbe, agent.PathReadyz}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.String() != named && p.probe.HTTPGet.Port.IntValue() != port {
			t.Errorf("probe %+v: want GET %s on port %d", p.probe, p.path, port)
		}
	}
	ann := ds.Spec.Template.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != portText || ann["prometheus.io/path"] != agent.PathMetrics {
		t.Errorf("scrape annotations %v, want port %s path %s", ann, portText, agent.PathMetrics)
	}
	if grace := pod.TerminationGracePeriodSeconds; grace == nil || s.flags["shutdown-timeout"] == "" {
		t.Error("terminationGracePeriodSeconds and --shutdown-timeout: both must be set, the first longer")
	}
	return s
}

func TestManifests(t *testing.T) { check(t) }

// The DaemonSet's command as a kubelet would start it: its volumes
// mounted where it says (in a mount namespace of the test's own), in a
// network namespace of its own; the probes and the scrape reach it on its
// port, and it creates its socket.
func TestManifestsRun(t *testing.T) {
	s := check(t)
	if os.Geteuid() != 0 {
		testenv.Unavailable(t, "mounting the DaemonSet's volumes needs root")
	}
	for _, tool := range []string{"unshare", "ip", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Unavailable(t, "%s: %v", tool, err)
		}
	}
	tc, err := testenv.NewToolchain("")
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	bin := tc.CLIT(t)

	// The volumes that are not kernel file systems: the ConfigMap, the
	// socket's and the cache's directories, each a fresh directory here.
	var script strings.Builder
	script.WriteString("set -e\nip link set lo up\n")
	for _, vm := range s.c.VolumeMounts {
		_, v, _ := mountOf(s.pod, s.c, vm.MountPath)
		if v.HostPath != nil && strings.HasPrefix(v.HostPath.Path, "/sys/") {
			continue // from the host as they are
		}
		src := t.TempDir()
		if v.ConfigMap != nil {
			for k, data := range s.m.configMaps[0].Data {
				if err := os.WriteFile(filepath.Join(src, k), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := os.Stat(vm.MountPath); os.IsNotExist(err) {
			if err := os.MkdirAll(vm.MountPath, 0o755); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Remove(vm.MountPath) })
		}
		fmt.Fprintf(&script, "mount --bind %s %s\n", src, vm.MountPath)
	}
	var env []string
	for _, e := range s.c.Env {
		env = append(env, e.Name+"="+e.Value)
	}
	probe := func(path string) string {
		return fmt.Sprintf("curl -sf http://127.0.0.1:%d%s", s.port, path)
	}
	fmt.Fprintf(&script, "env %s %s %s > $AGENT_LOG 2>&1 &\nagent=$!\n", strings.Join(env, " "), bin, strings.Join(s.args, " "))
	fmt.Fprintf(&script, "for i in $(seq 600); do %s >/dev/null 2>&1 && break; sleep 0.1; done\n", probe(agent.PathReadyz))
	fmt.Fprintf(&script, "echo readyz: $(%s)\necho healthz: $(%s)\n", probe(agent.PathReadyz), probe(s.c.LivenessProbe.HTTPGet.Path))
	fmt.Fprintf(&script, "echo metrics: $(%s | grep -c '^wasm_bpf_guests{')\n", probe(agent.PathMetrics))
	sock := s.flags["socket"]
	fmt.Fprintf(&script, "test -S %s && echo socket: ok\n", sock)
	script.WriteString("kill -TERM $agent\nwait $agent && echo exit: 0\n")

	logFile := filepath.Join(t.TempDir(), "agent.log")
	cmd := exec.Command("unshare", "--mount", "--net", "--fork", "--propagation", "private", "sh", "-c", script.String())
	cmd.Env = append(os.Environ(), "AGENT_LOG="+logFile)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	log, _ := os.ReadFile(logFile)
	for _, want := range []string{`readyz: {"status":"ready"}`, `healthz: {"status":"ok"}`, "metrics: 7", "socket: ok", "exit: 0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q: %v\n%s\nscript:\n%s\nagent:\n%s", want, err, out.String(), script.String(), log)
		}
	}
}

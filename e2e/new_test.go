package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
	"github.com/wasm-bpf/wasm-bpf/sdk"
)

// `wasm-bpf new NAME --lang L DIR` writes a tool, in C, Go or Rust, that
// `make` builds with the installed wasm-bpf (first in PATH) and the
// machine's toolchains, out of the repository, and that runs against the
// kernel: it prints a line per exec. Run without privileges, the guest
// prints the runtime's explanation.
func TestNewTool(t *testing.T) {
	testenv.RequireBPF(t)
	cli := tc.CLIT(t)
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	path := filepath.Dir(cli) + ":" + filepath.Dir(goBin) + ":" + os.Getenv("PATH")
	for _, lang := range sdk.LanguageNames() {
		t.Run(lang, func(t *testing.T) {
			if lang == "rust" {
				testenv.RustT(t)
			}
			name := "wbnew" + lang
			parent, err := os.MkdirTemp("", "wasm-bpf-new")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(parent) })
			dir := filepath.Join(parent, name)
			run := func(dir string, argv ...string) string {
				t.Helper()
				cmd := exec.Command(argv[0], argv[1:]...)
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "PATH="+path)
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
				}
				return string(out)
			}
			out := run(parent, cli, "new", name, "--lang", lang, dir)
			if !strings.Contains(out, "cd "+dir+" && make && sudo wasm-bpf "+name+".wasm") {
				t.Errorf("new does not say what to do next:\n%s", out)
			}
			run(dir, "make")
			wasm := filepath.Join(dir, name+".wasm")

			ready := bigReadyTimeout
			if lang == "c" {
				ready = readyTimeout
			}
			g := startCLI(t, nil, wasm)
			header := "PID     COMM             FILENAME"
			if lang == "rust" {
				header = "PID     PPID    COMM             FILENAME"
			}
			g.waitLine(header, ready)
			// The tool prints the file each exec runs: a copy of true at a
			// path of this test's own.
			probe := filepath.Join(parent, "wbnew"+runID())
			trueBin, _ := os.ReadFile("/bin/true")
			os.WriteFile(probe, trueBin, 0o755)
			if err := exec.Command(probe).Run(); err != nil {
				t.Fatal(err)
			}
			g.waitFor("the exec of "+probe, eventTimeout, func(ls []line) int {
				for i, l := range ls {
					if strings.HasSuffix(l.text, " "+probe) {
						return i
					}
				}
				return -1
			})
			g.signal(syscall.SIGINT)
			if code := g.waitExit(exitTimeout); code != 130 {
				g.fatalf("exit %d after SIGINT, want 130", code)
			}

			// Without privileges: the runtime's line, and the guest's.
			bin, pub := publicCopy(t, cli, wasm)
			cmd := exec.Command(asNobody[0], append(asNobody[1:], bin, "--no-cache", pub)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			cmd.Run()
			why := `cannot load BPF object "` + name + `": operation not permitted: the process lacks CAP_BPF (for BPF maps and programs) and CAP_PERFMON (for tracepoint programs); run wasm-bpf as root, or give it these capabilities`
			guest := map[string]string{
				"c":    name + ": load: Operation not permitted",
				"go":   name + ": wasmbpf: load: " + why,
				"rust": name + ": load: operation not permitted (EPERM): " + why,
			}[lang]
			if want := "wasm-bpf: " + why + "\n" + guest + "\n"; stderr.String() != want {
				t.Errorf("as user 65534, stderr is\n%s\nwant\n%s", stderr.String(), want)
			}
		})
	}
}

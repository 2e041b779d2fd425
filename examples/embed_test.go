package examples_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// examples/embed runs as its README says: two guests from one runtime,
// output merged behind prefixes, guest 1 paused and resumed, both ended by
// Ctrl-C.
func TestEmbed(t *testing.T) {
	dir := examplesDir(t)
	bin := filepath.Join(t.TempDir(), "embed")
	if out, err := exec.Command("go", "build", "-o", bin, "./embed").CombinedOutput(); err != nil {
		t.Fatalf("go build ./embed: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, filepath.Join(dir, "bootstrap", "bootstrap.wasm"), filepath.Join(dir, "execve", "execve.wasm"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 4096)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var seen []string
	waitFor := func(what string, ok func(string) bool) {
		t.Helper()
		timeout := time.After(20 * time.Second)
		for {
			select {
			case l, open := <-lines:
				if !open {
					t.Fatalf("embed ended before %s; output:\n%s", what, strings.Join(seen, "\n"))
				}
				seen = append(seen, l)
				if ok(l) {
					return
				}
			case <-timeout:
				t.Fatalf("no %s within 20s; output:\n%s", what, strings.Join(seen, "\n"))
			}
		}
	}
	waitFor("resume", func(l string) bool { return l == "[embed] resumed guest 1" })

	probe := filepath.Join(t.TempDir(), fmt.Sprintf("embprobe%d", time.Now().UnixNano()%1e6))
	if err := os.Symlink("/bin/true", probe); err != nil {
		t.Fatal(err)
	}
	// On a busy machine a guest's ring buffer may overflow and drop the
	// probe's record: exec it again until both guests have shown it.
	stopProbing := make(chan struct{})
	defer close(stopProbing)
	go func() {
		for {
			exec.Command(probe).Run()
			select {
			case <-stopProbing:
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	name := filepath.Base(probe)
	var fromBootstrap, fromExecve bool
	waitFor("the probe from both guests", func(l string) bool {
		fromBootstrap = fromBootstrap || strings.HasPrefix(l, "[1 bootstrap.wasm] ") && strings.Contains(l, "EXEC  "+name)
		fromExecve = fromExecve || strings.HasPrefix(l, "[2 execve.wasm] ") && strings.Contains(l, probe)
		return fromBootstrap && fromExecve
	})

	cmd.Process.Signal(syscall.SIGINT)
	ended := 0
	waitFor("both guests ending", func(l string) bool {
		if strings.Contains(l, "] ended: ") && strings.Contains(l, "interrupt") {
			ended++
		}
		return ended == 2
	})
	if err := cmd.Wait(); err != nil {
		t.Fatalf("embed: %v; output:\n%s", err, strings.Join(seen, "\n"))
	}
}

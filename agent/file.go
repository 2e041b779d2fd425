package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"sigs.k8s.io/yaml"
)

// File is the agent's guest file (YAML or JSON, docs/agent.md).
type File struct {
	Guests []Spec `json:"guests"`
}

// ParseFile reads a guest file. Unknown keys are errors, as in policy
// files: a misspelt limit must not silently drop it. Relative paths are
// resolved against dir, the file's directory.
func ParseFile(data []byte, dir string) ([]Spec, error) {
	var f File
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	specs := make([]Spec, 0, len(f.Guests))
	for i, s := range f.Guests {
		c, err := s.Check(dir)
		if err != nil {
			return nil, fmt.Errorf("guests[%d]: %w", i, err)
		}
		if seen[c.ID] {
			return nil, fmt.Errorf("guests[%d]: a second guest with id %q", i, c.ID)
		}
		seen[c.ID] = true
		specs = append(specs, c)
	}
	return specs, nil
}

// ReadFile reads and parses the guest file at path.
func ReadFile(path string) ([]Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	specs, err := ParseFile(data, filepath.Dir(abs))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return specs, nil
}

// ApplyFile reads the guest file and applies it; a file that does not
// parse changes nothing. The reload metrics count the outcome.
func (a *Agent) ApplyFile(ctx context.Context, path string) error {
	specs, err := ReadFile(path)
	if err == nil {
		err = a.Apply(ctx, specs)
	}
	if err != nil {
		a.reloadsFailed.Add(1)
		return err
	}
	a.reloadsOK.Add(1)
	return nil
}

// Apply reconciles the guests of the guest file with specs, checked specs:
// a guest that is new starts; one whose spec changed is stopped and
// started with the new one (its log continues, its restart count starts
// over); one that is gone is stopped and forgotten; one whose spec is
// unchanged is left as it is, whatever its state (one stopped through the
// API stays stopped). Guests started through the API are not touched: a
// file entry with the id of one is refused. Errors name the entries that
// could not be applied; the rest are.
func (a *Agent) Apply(ctx context.Context, specs []Spec) error {
	a.apply.Lock()
	defer a.apply.Unlock()
	var errs []error
	want := map[string]bool{}
	for _, spec := range specs {
		want[spec.ID] = true
		a.mu.Lock()
		old, ok := a.guests[spec.ID]
		closed := a.closed
		a.mu.Unlock()
		switch {
		case closed:
			return errShuttingDown
		case ok && old.source != SourceFile:
			errs = append(errs, fmt.Errorf("guest %s: a guest of that id was started through the API; not started from the guest file (stop and remove it: wasm-bpf rm %s)", spec.ID, spec.ID))
			continue
		case ok && old.hash == spec.hash():
			continue
		case ok:
			old.say("its entry in the guest file changed: restarting with the new one")
			if err := old.stopWait(ctx); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		a.mu.Lock()
		var logs *logBuffer
		if ok {
			logs = old.logs
		}
		if a.closed {
			a.mu.Unlock()
			return errShuttingDown
		}
		if _, err := a.startLocked(spec, SourceFile, logs); err != nil {
			errs = append(errs, err)
		}
		a.mu.Unlock()
	}
	a.mu.Lock()
	var gone []*guest
	for id, g := range a.guests {
		if g.source == SourceFile && !want[id] {
			gone = append(gone, g)
		}
	}
	a.mu.Unlock()
	for _, g := range gone {
		g.say("its entry left the guest file: stopping")
		if err := g.stopWait(ctx); err != nil {
			errs = append(errs, err)
			continue
		}
		a.log.Info("guest removed", "guest", g.spec.ID)
		a.mu.Lock()
		if a.guests[g.spec.ID] == g {
			delete(a.guests, g.spec.ID)
		}
		a.mu.Unlock()
	}
	return errors.Join(errs...)
}

// WatchFile calls changed whenever the content of the file at path
// changes, until ctx ends. It watches the file's directory, since editors
// and Kubernetes (a ConfigMap volume swaps a symlink) replace files rather
// than write them; without inotify it looks every 2 s.
func WatchFile(ctx context.Context, path string, log *slog.Logger, changed func()) {
	sum := func() []byte {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		h := sha256.Sum256(data)
		return h[:]
	}
	last := sum()
	check := func() {
		if s := sum(); !bytes.Equal(s, last) {
			last = s
			changed()
		}
	}
	w, err := fsnotify.NewWatcher()
	if err == nil {
		err = w.Add(filepath.Dir(path))
		if err != nil {
			w.Close()
		}
	}
	if err != nil {
		log.Warn("cannot watch the guest file; looking at it every 2s", "file", path, "err", err)
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				check()
			}
		}
	}
	defer w.Close()
	// Events come in bursts (write, chmod, rename): settle, then look.
	var settle <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-w.Events:
			if !ok {
				return
			}
			settle = time.After(100 * time.Millisecond)
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			log.Warn("watching the guest file", "file", path, "err", err)
		case <-settle:
			settle = nil
			check()
		}
	}
}

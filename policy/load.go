package policy

import (
	"fmt"
	"os"
)

// Load is the policy a guest is given as a policy file (YAML or JSON; ""
// for none: the "observe" profile) and grants added to it, as New takes
// them: what `wasm-bpf run --policy FILE --allow GRANT` and a guest of the
// agent's guest file (policyFile, allow) are given.
func Load(file string, grants ...string) (*Policy, error) {
	p := Default()
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, &LoadError{File: file, Err: err}
		}
		if p, err = Parse(data); err != nil {
			return nil, &LoadError{File: file, Err: fmt.Errorf("%s: %w", file, err)}
		}
	}
	q, err := p.With(grants...)
	if err != nil {
		return nil, &LoadError{Err: err}
	}
	return q, nil
}

// LoadError is why Load failed: reading or parsing File, or (File "") a
// grant.
type LoadError struct {
	File string
	Err  error
}

func (e *LoadError) Error() string { return e.Err.Error() }
func (e *LoadError) Unwrap() error { return e.Err }

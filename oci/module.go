package oci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/wasm-bpf/wasm-bpf/policy"
)

// What a guest is given as its module, by `wasm-bpf run` and by the agent
// alike: a path that exists stays a path; otherwise a reference with an
// explicit registry (registry/repo:tag, registry/repo@sha256:...) is
// pulled.

// IsModuleFile says whether arg names a module file rather than a guest in
// a registry: a path that exists, or anything that is not a reference.
func IsModuleFile(arg string) bool {
	_, err := os.Stat(arg)
	return err == nil || !IsReference(arg)
}

// ErrFileSignature refuses a signature check of a module file, which
// carries none.
var ErrFileSignature = errors.New("a module file carries no signature: give a registry reference (REGISTRY/REPO:TAG or @sha256:...)")

// LoadOptions say how LoadModule pulls a guest from a registry.
type LoadOptions struct {
	Pull      PullPolicy
	VerifyKey *PublicKey // a signature by this key is required
	// Policy, if set, refuses a guest whose label asks for more than it
	// grants, before the module is fetched (see AdmitLabel).
	Policy *policy.Policy
}

// LoadModule reads the module arg names: a file, or a guest pulled from a
// registry through client (nil: references are refused). g is the pulled
// guest, nil for a file.
func LoadModule(ctx context.Context, client *Client, arg string, o LoadOptions) (wasm []byte, g *Guest, err error) {
	if IsModuleFile(arg) {
		if o.VerifyKey != nil {
			return nil, nil, fmt.Errorf("%s: %w", arg, ErrFileSignature)
		}
		wasm, err := os.ReadFile(arg)
		if err != nil {
			return nil, nil, fmt.Errorf("read module: %w", err)
		}
		return wasm, nil, nil
	}
	if client == nil {
		return nil, nil, fmt.Errorf("%s: no registry client", arg)
	}
	opts := PullOptions{Policy: o.Pull, VerifyKey: o.VerifyKey}
	if o.Policy != nil {
		opts.Admit = AdmitLabel(o.Policy)
	}
	g, err = client.Pull(ctx, arg, opts)
	if err != nil {
		return nil, nil, err
	}
	return g.Wasm, g, nil
}

// AdmitLabel judges a guest by what its label says it needs, for
// PullOptions.Admit. The label is the pusher's claim, read to refuse
// early; the objects themselves are checked at load whatever it says.
func AdmitLabel(pol *policy.Policy) func(map[string]string) error {
	return func(ann map[string]string) error {
		var missing []string
		for _, need := range SplitList(ann[AnnotationCapabilities]) {
			if !pol.Grants(need) {
				missing = append(missing, need)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		return fmt.Errorf("its label says it needs %s, which %v does not grant; run with --allow %s",
			strings.Join(missing, ", "), pol, strings.Join(missing, " --allow "))
	}
}

// Label lists what a guest's annotations say it asks of the kernel, as
// name and value pairs (programs, helpers, capabilities).
func Label(ann map[string]string) [][2]string {
	var l [][2]string
	for _, k := range []string{AnnotationPrograms, AnnotationHelpers, AnnotationCapabilities} {
		if v, ok := ann[k]; ok {
			l = append(l, [2]string{strings.TrimPrefix(k, AnnotationPrefix), v})
		}
	}
	return l
}

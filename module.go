package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/wasm-bpf/wasm-bpf/host"
	"github.com/wasm-bpf/wasm-bpf/oci"
	"github.com/wasm-bpf/wasm-bpf/policy"
)

// What `run` is given is a module file, or a guest in a registry: a path
// that exists stays a path; otherwise a reference with an explicit registry
// (registry/repo:tag, registry/repo@sha256:...) is pulled.

var insecureFlag = &cli.BoolFlag{Name: "insecure", Usage: "allow plain HTTP and unverified TLS to the registry (loopback registries need no flag)"}

// moduleFlags are run's flags for guests from a registry.
func moduleFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "pull", Value: "missing", Usage: "`POLICY` for a registry reference: missing (use the local store's copy of the tag or digest), always (ask the registry), never (the local store only)"},
		&cli.StringFlag{Name: "verify-key", Usage: "run a registry guest only if it carries a cosign signature by the public key in `FILE`"},
		insecureFlag,
	}
}

// loadModule reads the module `run` was given. A guest from a registry
// whose label declares needs beyond pol is refused before its module is
// fetched.
func loadModule(c *cli.Context, arg string, pol *policy.Policy, logger *slog.Logger) ([]byte, error) {
	if _, err := os.Stat(arg); err == nil || !oci.IsReference(arg) {
		if c.IsSet("verify-key") {
			return nil, fmt.Errorf("--verify-key: %s is a file, which carries no signature: run a registry reference (REGISTRY/REPO:TAG or @sha256:...)", arg)
		}
		wasm, err := os.ReadFile(arg)
		if err != nil {
			return nil, fmt.Errorf("read module: %w", err)
		}
		return wasm, nil
	}
	pullPolicy, err := oci.ParsePullPolicy(c.String("pull"))
	if err != nil {
		return nil, fmt.Errorf("--pull: %w", err)
	}
	client, err := newOCIClient(c, logger)
	if err != nil {
		return nil, err
	}
	opts := oci.PullOptions{Policy: pullPolicy, Admit: admit(pol)}
	key := c.String("verify-key")
	if key != "" {
		if opts.VerifyKey, err = loadVerifyKey(key); err != nil {
			return nil, err
		}
	}
	g, err := client.Pull(c.Context, arg, opts)
	if errors.Is(err, oci.ErrUnsigned) || errors.Is(err, oci.ErrBadSignature) {
		return nil, fmt.Errorf("%w; not started (--verify-key %s)", err, key)
	} else if err != nil {
		return nil, err
	}
	level := slog.LevelDebug
	if g.Fetched {
		level = slog.LevelInfo
	}
	attrs := []any{"ref", g.Ref.String(), "signed", key != ""}
	for _, kv := range label(g.Annotations) {
		attrs = append(attrs, kv[0], kv[1])
	}
	logger.Log(c.Context, level, "guest from registry", attrs...)
	return g.Wasm, nil
}

// admit judges a guest by what its label says it needs. The label is the
// pusher's claim, read to refuse early; the objects themselves are checked
// at load whatever it says.
func admit(pol *policy.Policy) func(map[string]string) error {
	return func(ann map[string]string) error {
		var missing []string
		for _, need := range oci.SplitList(ann[oci.AnnotationCapabilities]) {
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

// label lists what a guest's annotations say it asks of the kernel, as
// name and value pairs.
func label(ann map[string]string) [][2]string {
	var l [][2]string
	for _, k := range []string{oci.AnnotationPrograms, oci.AnnotationHelpers, oci.AnnotationCapabilities} {
		if v, ok := ann[k]; ok {
			l = append(l, [2]string{strings.TrimPrefix(k, oci.AnnotationPrefix), v})
		}
	}
	return l
}

func loadVerifyKey(path string) (*oci.PublicKey, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--verify-key: %w", err)
	}
	v, err := oci.LoadPublicKey(pem)
	if err != nil {
		return nil, fmt.Errorf("--verify-key %s: %w", path, err)
	}
	return v, nil
}

// newOCIClient is the registry client of the commands: the local store in
// the cache directory, credentials from the Docker config, warnings on
// stderr (nil logger).
func newOCIClient(c *cli.Context, logger *slog.Logger) (*oci.Client, error) {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(c.App.ErrWriter, nil))
	}
	dir, err := host.DefaultCacheDir()
	if err != nil {
		return nil, fmt.Errorf("local store: %w", err)
	}
	store, err := oci.OpenStore(filepath.Join(dir, "oci"))
	if err != nil {
		return nil, err
	}
	return &oci.Client{
		Store:     store,
		Insecure:  c.Bool("insecure"),
		UserAgent: "wasm-bpf/" + readVersionInfo().Version,
		Logger:    logger,
	}, nil
}

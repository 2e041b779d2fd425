package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

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

// loadModule reads the module `run` was given (oci.LoadModule). A guest
// from a registry whose label declares needs beyond pol is refused before
// its module is fetched.
func loadModule(c *cli.Context, arg string, pol *policy.Policy, logger *slog.Logger) ([]byte, error) {
	key := c.String("verify-key")
	if oci.IsModuleFile(arg) {
		if key != "" {
			return nil, fmt.Errorf("--verify-key: %s is a file, which carries no signature: run a registry reference (REGISTRY/REPO:TAG or @sha256:...)", arg)
		}
		wasm, _, err := oci.LoadModule(c.Context, nil, arg, oci.LoadOptions{})
		return wasm, err
	}
	pullPolicy, err := oci.ParsePullPolicy(c.String("pull"))
	if err != nil {
		return nil, fmt.Errorf("--pull: %w", err)
	}
	client, err := newOCIClient(c, logger)
	if err != nil {
		return nil, err
	}
	opts := oci.LoadOptions{Pull: pullPolicy, Policy: pol}
	if key != "" {
		if opts.VerifyKey, err = loadVerifyKey(key); err != nil {
			return nil, err
		}
	}
	wasm, g, err := oci.LoadModule(c.Context, client, arg, opts)
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
	for _, kv := range oci.Label(g.Annotations) {
		attrs = append(attrs, kv[0], kv[1])
	}
	logger.Log(c.Context, level, "guest from registry", attrs...)
	return wasm, nil
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

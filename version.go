package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"

	"github.com/wasm-bpf/wasm-bpf/libbpf"
)

// Release builds (scripts/build-static.sh) stamp these with -ldflags -X; a
// plain `go build` leaves them empty and `wasm-bpf version` falls back to
// what the Go toolchain recorded (debug.ReadBuildInfo) and to libbpf's own
// major.minor.
var (
	buildVersion  string // git describe --tags --always --dirty
	buildCommit   string // git rev-parse HEAD
	buildLibbpf   string // pkg-config --modversion libbpf (has the patch level)
	buildWasmtime string // WASMTIME_VERSION of the wasmtime.h linked in
	buildLinkage  string // "static" for the release binary
)

const wasmtimeGoModule = "github.com/bytecodealliance/wasmtime-go/v39"

// versionInfo is what `wasm-bpf version` reports.
type versionInfo struct {
	Version    string // project version
	Commit     string
	Modified   bool // built from a tree with uncommitted changes
	WasmtimeGo string
	Wasmtime   string
	Libbpf     string
	Go         string
	Platform   string
	Linkage    string
}

func readVersionInfo() versionInfo {
	v := versionInfo{
		Version:  buildVersion,
		Commit:   buildCommit,
		Wasmtime: buildWasmtime,
		Libbpf:   buildLibbpf,
		Go:       runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
		Linkage:  buildLinkage,
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == wasmtimeGoModule {
				v.WasmtimeGo = d.Version
				if d.Replace != nil {
					v.WasmtimeGo += " => " + d.Replace.Path + " " + d.Replace.Version
				}
			}
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && v.Commit == "":
				v.Commit = s.Value
			case s.Key == "vcs.modified" && s.Value == "true":
				v.Modified = true
			}
		}
		if v.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
	}
	if v.Version == "" {
		v.Version = "devel"
	}
	if v.Libbpf == "" {
		v.Libbpf = libbpf.Version()
	}
	if v.Linkage == "" {
		v.Linkage = "dynamic"
	}
	return v
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// writeTo prints one "key: value" line per item, so scripts can grep them.
func (v versionInfo) writeTo(w io.Writer) {
	commit := orUnknown(v.Commit)
	if v.Modified {
		commit += " (modified)"
	}
	fmt.Fprintf(w, "wasm-bpf:    %s\n", v.Version)
	fmt.Fprintf(w, "commit:      %s\n", commit)
	fmt.Fprintf(w, "wasmtime:    %s\n", orUnknown(v.Wasmtime))
	fmt.Fprintf(w, "wasmtime-go: %s\n", orUnknown(v.WasmtimeGo))
	fmt.Fprintf(w, "libbpf:      %s\n", v.Libbpf)
	fmt.Fprintf(w, "go:          %s\n", v.Go)
	fmt.Fprintf(w, "platform:    %s (%s)\n", v.Platform, v.Linkage)
}

// versionCommand is `wasm-bpf version`. A module named "version" still runs
// as `wasm-bpf run version` (or `wasm-bpf ./version`).
func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the versions of wasm-bpf and of the wasmtime, libbpf and Go it was built with",
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("version takes no arguments (to run a module named %q: wasm-bpf run %s)", c.Args().First(), c.Args().First())
			}
			readVersionInfo().writeTo(c.App.Writer)
			return nil
		},
	}
}

package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/wasm-bpf/wasm-bpf/host"
)

// compileCommand is `wasm-bpf compile`: it puts a module's optimized code
// into the compile cache, so that its first run starts at once with the
// code later runs get (a first run otherwise starts on quickly compiled,
// slower code while the optimized code is compiled in the background).
// What it writes is the cache `run` reads: no file of native code is ever
// taken from elsewhere.
func compileCommand() *cli.Command {
	return &cli.Command{
		Name:      "compile",
		Usage:     "compile modules into the compile cache ($XDG_CACHE_HOME/wasm-bpf), ahead of their first run",
		ArgsUsage: "MODULE.wasm...",
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return errors.New("compile: give one or more modules")
			}
			dir, err := host.DefaultCacheDir()
			if err != nil {
				return fmt.Errorf("compile: no cache directory: %w", err)
			}
			rt, err := host.NewRuntime(host.RuntimeConfig{CacheDir: dir})
			if err != nil {
				return fmt.Errorf("compile: %w", err)
			}
			defer rt.Close()
			for _, path := range c.Args().Slice() {
				wasm, err := os.ReadFile(path)
				if err != nil {
					return fmt.Errorf("compile: %w", err)
				}
				start := time.Now()
				if err := rt.Precompile(wasm); err != nil {
					return fmt.Errorf("compile %s: %w", path, err)
				}
				fmt.Fprintf(c.App.Writer, "%s: compiled in %v into %s\n", path, time.Since(start).Round(time.Millisecond), dir)
			}
			return nil
		},
	}
}

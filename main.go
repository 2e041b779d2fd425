// Command wasm-bpf runs wasm-bpf guests: WebAssembly modules whose
// user-space half drives eBPF programs in the running kernel.
//
//	wasm-bpf [run] [flags] MODULE.wasm|REF [ARGS...]
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/wasm-bpf/wasm-bpf/agent"
	"github.com/wasm-bpf/wasm-bpf/host"
	"github.com/wasm-bpf/wasm-bpf/internal/logline"
	"github.com/wasm-bpf/wasm-bpf/libbpf"
	"github.com/wasm-bpf/wasm-bpf/policy"
)

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// errTimeout is the cancellation cause of --timeout.
var errTimeout = errors.New("--timeout reached")

// signalError is the cancellation cause when the runtime is signalled.
type signalError struct{ sig syscall.Signal }

func (e signalError) Error() string { return "received " + e.sig.String() }

func runFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "log host calls, refusals and libbpf's output (the verifier log) to stderr"},
		&cli.StringFlag{Name: "wrapper-module-name", Aliases: []string{"m"}, Value: host.DefaultWrapperModule, Usage: "import module of the callback-wrapper poll"},
		&cli.StringFlag{Name: "callback-export-name", Aliases: []string{"c"}, Value: host.DefaultCallbackExport, Usage: "guest export the callback-wrapper poll calls per record"},
		&cli.StringSliceFlag{Name: "env", Usage: "pass `KEY=VALUE` to the guest's environment (repeatable; default: none)"},
		&cli.StringFlag{Name: "max-memory", Value: agent.DefaultMaxMemory.Flag(), Usage: "limit the guest's linear memory to `SIZE` (e.g. 64MiB; 0: the 4 GiB of wasm32); growth beyond fails in the guest"},
		&cli.DurationFlag{Name: "timeout", Usage: "stop the guest after `DURATION` of wall time"},
		&cli.DurationFlag{Name: "cpu-limit", Usage: "stop the guest after `DURATION` of CPU time (its Wasm code and its host calls; not time asleep)"},
		&cli.IntFlag{Name: "max-objects", Usage: "refuse to load more than `N` BPF objects at once"},
		&cli.IntFlag{Name: "max-links", Value: agent.DefaultMaxLinks, Usage: "refuse to attach more than `N` programs at once (0: no limit)"},
		&cli.IntFlag{Name: "max-fds", Value: host.DefaultMaxFDs, Usage: "refuse loads and attaches that would make the runtime hold more than `N` file descriptors for the guest (negative: no limit)"},
		&cli.StringSliceFlag{Name: "allow", Usage: "grant the guest's BPF objects `CAP`, besides the default profile observe: a profile (network, security, signal, write-user, all) or a rule (helper:NAME, kfunc:NAME, prog:KIND, map:TYPE, attach:PATTERN, cgroup:PATH, iface:NAME); repeatable (docs/policy.md)"},
		&cli.StringFlag{Name: "policy", Usage: "read what the guest's BPF objects may do from `FILE` (YAML or JSON, docs/policy.md); --allow adds to it"},
		&cli.StringFlag{Name: "max-map-memory", Value: agent.DefaultMaxMapMemory.Flag(), Usage: "limit the kernel memory of the guest's BPF maps, estimated before each load, to `SIZE`; 0: no limit"},
		&cli.StringFlag{Name: "btf", Usage: "relocate the guest's BPF objects against the kernel BTF in `FILE` (for kernels without /sys/kernel/btf/vmlinux; BTFHub has such files)"},
		&cli.BoolFlag{Name: "no-cache", Usage: "compile the module every time instead of using the compile cache ($XDG_CACHE_HOME/wasm-bpf)"},
	}, moduleFlags()...)
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	exitCode := 0
	action := func(c *cli.Context) error {
		code, err := runModule(c, stdin, stdout, stderr)
		exitCode = code
		return err
	}
	// -v is --verbose, as in the existing runtimes, so --version has no short form.
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version"}
	app := &cli.App{
		Name:      "wasm-bpf",
		Usage:     "run WebAssembly guests that drive eBPF programs",
		UsageText: "wasm-bpf [run] [flags] MODULE.wasm|REF [ARGS...]",
		Version:   version(),
		Reader:    stdin,
		Writer:    stdout,
		ErrWriter: stderr,
		Flags:     runFlags(),
		Action:    action,
		Commands: []*cli.Command{{
			Name:      "run",
			Usage:     "run a guest module (the default command)",
			ArgsUsage: "MODULE.wasm|REF [ARGS...]",
			Flags:     runFlags(),
			Action:    action,
		}, compileCommand(), genCommand(), newCommand(), inspectCommand(), versionCommand(),
			pushCommand(), pullCommand(), imagesCommand(), loginCommand(), signCommand(), generateKeyPairCommand(),
			serveCommand(), psCommand(), startCommand(), stopCommand(), restartCommand(), pauseCommand(), resumeCommand(), logsCommand(), rmCommand()},
		ExitErrHandler: func(*cli.Context, error) {},
	}
	if err := app.Run(args); err != nil {
		fmt.Fprintf(stderr, "wasm-bpf: %v\n", err)
		if exitCode == 0 {
			exitCode = 1
		}
	}
	return exitCode
}

func runModule(c *cli.Context, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if c.NArg() == 0 {
		cli.ShowAppHelp(c)
		return 2, errors.New("no module given")
	}
	path := c.Args().First()
	// The guest as the agent would run it (guestSpec, Spec.Config): run's
	// flags are read in one place, and the limits' defaults are the
	// agent's.
	spec, err := guestSpec(c)
	if err != nil {
		return 2, err
	}
	pol, err := readPolicy(c.String("policy"), c.StringSlice("allow"))
	if err != nil {
		return 2, err
	}

	level := slog.LevelInfo
	if c.Bool("verbose") {
		level = slog.LevelDebug
	}
	logger := slog.New(logline.NewHandler(stderr, level))
	libbpf.SetLogger(logger)
	wasm, err := loadModule(c, path, pol, logger)
	if err != nil {
		return 1, err
	}

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	if d := c.Duration("timeout"); d > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeoutCause(ctx, d, errTimeout)
		defer stop()
	}
	// A closed stdout or stderr is the guest's to handle (its fd_write
	// returns EPIPE), as under wasmtime: the runtime must not die of
	// SIGPIPE while the guest's BPF objects are loaded.
	signal.Ignore(syscall.SIGPIPE)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		if s, ok := <-sigs; ok {
			// A second signal takes the default action: the kernel still
			// frees every fd-held BPF object when the process dies.
			signal.Stop(sigs)
			cancel(signalError{s.(syscall.Signal)})
		}
	}()
	defer signal.Stop(sigs)

	rt, cached, err := newRuntime(c, logger)
	if err != nil {
		return 1, err
	}
	defer rt.Close()
	done := compileNotice(stderr, filepath.Base(path), cached, compileNoticeDelay)
	cfg := spec.Config(pol)
	cfg.Args = c.Args().Slice() // argv[0] is the module as given
	cfg.Stdin, cfg.Stdout, cfg.Stderr, cfg.Logger = stdin, stdout, stderr, logger
	inst, err := rt.Start(ctx, wasm, cfg)
	done()
	if len(wasm) >= 1<<20 {
		// A large module's bytes (a Go guest's are megabytes) are not needed
		// any more: give them back now rather than when the scavenger gets
		// to them, while the guest starts on its own thread. (For a small
		// module the collection costs more pages than it frees.)
		wasm = nil
		debug.FreeOSMemory()
	}
	if err != nil {
		return 1, fmt.Errorf("%s: %w", path, err)
	}
	code, err := inst.Wait()
	var sig signalError
	switch {
	case errors.As(err, &sig):
		logger.Debug("guest stopped", "signal", sig.sig.String())
		return 128 + int(sig.sig), nil
	case err != nil:
		return code, fmt.Errorf("%s: %w", path, err)
	}
	return code, nil
}

// newRuntime is the runtime of run and serve: with the compile cache
// unless --no-cache (cached says whether it has one).
func newRuntime(c *cli.Context, logger *slog.Logger) (rt *host.Runtime, cached bool, err error) {
	var rcfg host.RuntimeConfig
	if !c.Bool("no-cache") {
		if dir, err := host.DefaultCacheDir(); err == nil {
			rcfg.CacheDir = dir
		}
	}
	rt, err = host.NewRuntime(rcfg)
	if err != nil {
		// An unusable cache directory only costs compile time.
		logger.Warn("compile cache disabled", "err", err)
		rt, err = host.NewRuntime(host.RuntimeConfig{})
		return rt, false, err
	}
	return rt, rcfg.CacheDir != "", nil
}

// readPolicy is the policy of --policy FILE (default: observe) with the
// grants of --allow added.
func readPolicy(file string, allow []string) (*policy.Policy, error) {
	p, err := policy.Load(file, allow...)
	var lerr *policy.LoadError
	if errors.As(err, &lerr) {
		if lerr.File == "" {
			return nil, fmt.Errorf("--allow: %w", err)
		}
		return nil, fmt.Errorf("--policy: %w", err)
	}
	return p, err
}

// compileNoticeDelay is how long a start may take before the CLI says it is
// compiling: a cached start takes milliseconds, a first compile more.
const compileNoticeDelay = 250 * time.Millisecond

// compileNotice prints "compiling NAME (...)" to w if w is a terminal and
// done is not called within delay: a first run's compile is the one start
// that takes long enough for a user to wonder.
func compileNotice(w io.Writer, name string, cached bool, delay time.Duration) (done func()) {
	f, ok := w.(*os.File)
	if !ok {
		return func() {}
	}
	if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err != nil {
		return func() {} // not a terminal: a log or a pipe gets no progress line
	}
	why := "first run; cached afterwards"
	if !cached {
		why = "the compile cache is off"
	}
	var mu sync.Mutex
	finished := false
	t := time.AfterFunc(delay, func() {
		mu.Lock()
		defer mu.Unlock()
		if !finished {
			fmt.Fprintf(f, "wasm-bpf: compiling %s (%s)\n", name, why)
		}
	})
	return func() {
		t.Stop()
		mu.Lock()
		finished = true
		mu.Unlock()
	}
}

// version reports the module version and VCS revision the binary was built
// from, and the versions of the engine and libbpf it uses.
func version() string {
	v, rev, wasmtime := "devel", "", "?"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = " " + s.Value[:12]
			}
		}
		for _, d := range bi.Deps {
			if d.Path == "github.com/bytecodealliance/wasmtime-go/v39" {
				wasmtime = d.Version
			}
		}
	}
	return fmt.Sprintf("%s%s (wasmtime-go %s, libbpf %s)", v, rev, wasmtime, libbpf.Version())
}

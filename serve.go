package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/wasm-bpf/wasm-bpf/agent"
	"github.com/wasm-bpf/wasm-bpf/internal/logline"
	"github.com/wasm-bpf/wasm-bpf/libbpf"
	"github.com/wasm-bpf/wasm-bpf/policy"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the node agent: many guests in one process, from a guest file and an API (docs/agent.md)",
		Description: `The agent runs the guests of --config FILE (reconciled at start, on SIGHUP
and when the file changes) and those started through its API, an HTTP+JSON
API on a unix socket (wasm-bpf ps, start, stop, logs, ... talk to it).
SIGTERM or SIGINT stops every guest; the exit code is 0 when every guest
ended and nothing of theirs stayed in the kernel.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "run the guests of `FILE` (YAML or JSON; docs/agent.md)"},
			socketFlag,
			&cli.StringFlag{Name: "listen", Usage: "also serve the API on TCP `ADDR` (host:port), to clients that send the bearer token of --token-file"},
			&cli.StringFlag{Name: "token-file", Usage: "the bearer token of --listen is the content of `FILE`"},
			&cli.StringFlag{Name: "metrics-listen", Usage: "serve /metrics, /healthz and /readyz (and nothing else) on TCP `ADDR`, without a token"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "log every host call and refusal, and libbpf's output"},
			&cli.StringFlag{Name: "log-buffer", Value: "1MiB", Usage: "keep the last `SIZE` of each guest's output"},
			&cli.DurationFlag{Name: "restart-backoff", Value: time.Second, Usage: "first delay before a guest is restarted; it doubles with each restart"},
			&cli.DurationFlag{Name: "restart-backoff-max", Value: 5 * time.Minute, Usage: "longest delay before a restart"},
			&cli.DurationFlag{Name: "shutdown-timeout", Value: 30 * time.Second, Usage: "on SIGTERM, wait this long for the guests to end"},
			&cli.BoolFlag{Name: "no-cache", Usage: "compile every module instead of using the compile cache"},
			insecureFlag,
		},
		Action: serve,
	}
}

func serve(c *cli.Context) error {
	level := slog.LevelInfo
	if c.Bool("verbose") {
		level = slog.LevelDebug
	}
	logger := slog.New(logline.NewHandler(c.App.ErrWriter, level))
	libbpf.SetLogger(logger)
	logBuf, err := policy.ParseBytes(c.String("log-buffer"))
	if err != nil {
		return fmt.Errorf("--log-buffer: %w", err)
	}
	token := ""
	if f := c.String("token-file"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("--token-file: %w", err)
		}
		if token = strings.TrimSpace(string(b)); token == "" {
			return fmt.Errorf("--token-file %s is empty", f)
		}
	}
	if c.String("listen") != "" && token == "" {
		return errors.New("--listen needs --token-file: whoever reaches the port could start and stop guests")
	}

	rt, _, err := newRuntime(c, logger)
	if err != nil {
		return err
	}
	defer rt.Close()
	registry, err := newOCIClient(c, logger)
	if err != nil {
		logger.Warn("no registry client: guests by reference will not start", "err", err)
	}
	a := agent.New(agent.Config{
		Runtime:        rt,
		Registry:       registry,
		Logger:         logger,
		Level:          slog.LevelInfo,
		LogBuffer:      int(min(logBuf, 1<<30)),
		BackoffInitial: c.Duration("restart-backoff"),
		BackoffMax:     c.Duration("restart-backoff-max"),
		File:           c.String("config"),
	})

	// Listen first: a second agent on the same socket fails here, before
	// it loads anything.
	var servers []*http.Server
	serveOn := func(l net.Listener, h http.Handler) {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
		servers = append(servers, srv)
		go srv.Serve(l)
	}
	socket := c.String("socket")
	ul, err := agent.ListenUnix(socket)
	if err != nil {
		return err
	}
	serveOn(ul, a.Handler(""))
	if addr := c.String("listen"); addr != "" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("--listen: %w", err)
		}
		serveOn(l, a.Handler(token))
	}
	if addr := c.String("metrics-listen"); addr != "" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("--metrics-listen: %w", err)
		}
		serveOn(l, a.MetricsHandler())
	}
	closeServers := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		for _, s := range servers {
			if s.Shutdown(ctx) != nil {
				s.Close()
			}
		}
	}

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	file := c.String("config")
	reload := make(chan string, 1)
	if file != "" {
		if err := a.ApplyFile(ctx, file); err != nil {
			a.Shutdown(ctx)
			closeServers()
			return fmt.Errorf("guest file: %w", err)
		}
		go agent.WatchFile(ctx, file, logger, func() {
			select {
			case reload <- "the file changed":
			default:
			}
		})
	}
	for _, m := range agent.CheckHostMounts() {
		logger.Warn("kernel file system missing; guests that need it will fail", "mount", m)
	}
	a.SetReady()
	logger.Info("agent ready", "socket", socket, "guests", len(a.List()), "config", file)

	for {
		var why string
		select {
		case s := <-sigs:
			if s == syscall.SIGHUP {
				if file == "" {
					logger.Info("SIGHUP: no guest file to reload")
					continue
				}
				why = "SIGHUP"
				break
			}
			logger.Info("stopping every guest", "signal", s.String())
			signal.Stop(sigs) // a second signal kills the agent; the kernel then frees what it held
			sctx, scancel := context.WithTimeout(context.Background(), c.Duration("shutdown-timeout"))
			err := a.Shutdown(sctx)
			scancel()
			closeServers()
			if err != nil {
				return fmt.Errorf("shutdown: %w", err)
			}
			logger.Info("every guest stopped; nothing of theirs is left in the kernel")
			return nil
		case why = <-reload:
		}
		if err := a.ApplyFile(ctx, file); err != nil {
			logger.Error("guest file not applied; the running guests are kept as they were", "reason", why, "err", err)
		} else {
			logger.Info("guest file applied", "reason", why, "guests", len(a.List()))
		}
	}
}

// socketFlag is the agent's socket, for serve and its clients.
var socketFlag = &cli.StringFlag{Name: "socket", Value: agent.DefaultSocket, Usage: "the agent's unix socket `PATH`"}

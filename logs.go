package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/wasm-bpf/wasm-bpf/agent"
)

func logsCommand() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "print a guest's output (stdout to stdout; stderr and what the agent said about it to stderr)",
		ArgsUsage: "ID",
		Flags: []cli.Flag{
			socketFlag,
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing new lines until the guest ends for good"},
			&cli.IntFlag{Name: "tail", Usage: "only the last `N` lines held"},
			&cli.BoolFlag{Name: "timestamps", Aliases: []string{"t"}, Usage: "prefix each line with its time"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("want one guest id: wasm-bpf logs [-f] ID")
			}
			o := agent.LogOptions{Follow: c.Bool("follow"), Tail: c.Int("tail")}
			return agentClient(c).Logs(c.Context, c.Args().First(), o, func(l agent.LogLine) error {
				// The agent's lines are as `wasm-bpf run` prints its own
				// on stderr, "wasm-bpf: " included.
				w, text := c.App.ErrWriter, l.Text
				if l.Stream == agent.StreamStdout {
					w = c.App.Writer
				}
				if c.Bool("timestamps") {
					text = l.Time.Format(time.RFC3339Nano) + " " + text
				}
				_, err := fmt.Fprintln(w, text)
				return err
			})
		},
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/wasm-bpf/wasm-bpf/agent"
)

func psCommand() *cli.Command {
	return &cli.Command{
		Name:  "ps",
		Usage: "list the agent's guests",
		Flags: []cli.Flag{socketFlag, &cli.BoolFlag{Name: "json", Usage: "print the API's status objects"}},
		Action: func(c *cli.Context) error {
			list, err := agentClient(c).List(c.Context)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tSTATE\tRESTARTS\tEXIT\tSTARTED\tSOURCE\tMODULE")
			for _, s := range list {
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", s.ID, stateText(s), s.Restarts, exitText(s), ago(s.StartedAt), s.Source, s.Spec.Module)
			}
			w.Flush()
			for _, s := range list {
				if s.LastError != "" && (s.State == agent.StateFailed || s.State == agent.StateBackoff) {
					fmt.Fprintf(c.App.Writer, "%s: %s\n", s.ID, s.LastError)
				}
			}
			return nil
		},
	}
}

func stateText(s agent.Status) string {
	if s.State == agent.StateBackoff && s.NextRestart != nil {
		return fmt.Sprintf("backoff (restart in %v)", time.Until(*s.NextRestart).Round(time.Second))
	}
	return string(s.State)
}

func exitText(s agent.Status) string {
	if s.ExitCode == nil {
		return "-"
	}
	return strconv.Itoa(*s.ExitCode)
}

func ago(t *time.Time) string {
	if t == nil {
		return "-"
	}
	d := time.Since(*t)
	switch {
	case d < time.Hour:
		return d.Round(time.Second).String() + " ago"
	}
	return t.Format(time.DateTime)
}

// agentClient is the client of the agent at --socket.
func agentClient(c *cli.Context) *agent.Client { return agent.NewClient(c.String("socket")) }

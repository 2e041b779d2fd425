package main

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/wasm-bpf/wasm-bpf/agent"
)

func rmCommand() *cli.Command {
	return guestCommand("rm", "stop guests started through the agent's API and forget them (guests of the guest file leave with their entry)",
		func(c *agent.Client, ctx context.Context, id string) (agent.Status, error) {
			return agent.Status{ID: id, State: "removed"}, c.Remove(ctx, id)
		})
}

package main

import (
	"github.com/urfave/cli/v2"

	"github.com/wasm-bpf/wasm-bpf/agent"
)

func restartCommand() *cli.Command {
	return guestCommand("restart", "stop guests of the agent if they run and start them again", (*agent.Client).Restart)
}

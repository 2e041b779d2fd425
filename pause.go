package main

import (
	"github.com/urfave/cli/v2"

	"github.com/wasm-bpf/wasm-bpf/agent"
)

func pauseCommand() *cli.Command {
	return guestCommand("pause", "hold guests of the agent; their records wait in the kernel until resume", (*agent.Client).Pause)
}

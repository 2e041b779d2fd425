package main

import (
	"github.com/urfave/cli/v2"

	"github.com/wasm-bpf/wasm-bpf/agent"
)

func resumeCommand() *cli.Command {
	return guestCommand("resume", "continue paused guests of the agent", (*agent.Client).Resume)
}

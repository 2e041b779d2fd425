// Package agent runs many wasm-bpf guests in one long-running process, a
// node agent (`wasm-bpf serve`): one host.Runtime shares the engine and the
// compile cache among them, and each guest gets a supervisor that starts
// it, restarts it by its restart policy with capped exponential backoff,
// keeps its output in a bounded buffer, and counts what it does.
//
// Guests come from a declarative file (Config, reconciled by Apply) and
// from an HTTP+JSON API (Handler) that the CLI clients (Client) and other
// programs use; docs/agent.md describes both and docs/agent-api.yaml is the
// API's OpenAPI document. Metrics are served in Prometheus's format
// (Collector).
//
// A guest's crash, trap or limit ends that guest only: each runs on its own
// goroutine in its own store with its own BPF objects, and the host closes
// every object a guest loaded however it ends. Shutdown stops every guest
// and then checks that the process holds no BPF object any more.
package agent

package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
)

// DefaultSocket is where `wasm-bpf serve` listens and the CLI clients
// connect unless told otherwise.
const DefaultSocket = "/run/wasm-bpf/agent.sock"

// Client talks to an agent's API.
type Client struct {
	base   string // scheme and host
	http   *http.Client
	token  string
	socket string // for messages; "" over TCP
}

// NewClient returns a client of the agent listening on the unix socket.
func NewClient(socket string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}
	return &Client{base: "http://agent", http: &http.Client{Transport: tr}, socket: socket}
}

// NewTCPClient returns a client of the agent at baseURL
// (http://host:port) that sends token as a bearer token.
func NewTCPClient(baseURL, token string) *Client {
	return &Client{base: baseURL, http: &http.Client{}, token: token}
}

// do sends a request and decodes a JSON answer into out (nil: none); an
// error answer becomes an *Error with the agent's message.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	resp, err := c.send(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: answer: %w", method, path, err)
	}
	return nil
}

func (c *Client) send(ctx context.Context, method, path string, in any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if c.socket != "" && (errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED)) {
			return nil, fmt.Errorf("no agent listens on %s: start one with `wasm-bpf serve`, or give its socket with --socket", c.socket)
		}
		if c.socket != "" && errors.Is(err, syscall.EACCES) {
			return nil, fmt.Errorf("%s: %w (the agent's socket is its owner's only: run as root)", c.socket, err)
		}
		return nil, err
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		var e ErrorBody
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = fmt.Sprintf("%s %s: %s", method, path, resp.Status)
		}
		return nil, &Error{resp.StatusCode, e.Error}
	}
	return resp, nil
}

// List returns every guest's status.
func (c *Client) List(ctx context.Context) ([]Status, error) {
	var out []Status
	return out, c.do(ctx, "GET", "/v1/guests", nil, &out)
}

// Get returns a guest's status.
func (c *Client) Get(ctx context.Context, id string) (Status, error) {
	var out Status
	return out, c.do(ctx, "GET", guestPath(url.PathEscape(id)), nil, &out)
}

// Start starts a guest.
func (c *Client) Start(ctx context.Context, spec Spec) (Status, error) {
	var out Status
	return out, c.do(ctx, "POST", "/v1/guests", spec, &out)
}

// Remove stops a guest started through the API and forgets it.
func (c *Client) Remove(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", guestPath(url.PathEscape(id)), nil, nil)
}

// Stop, Pause, Resume and Restart act on a guest and return its status.
func (c *Client) Stop(ctx context.Context, id string) (Status, error) {
	return c.action(ctx, id, "stop")
}

func (c *Client) Pause(ctx context.Context, id string) (Status, error) {
	return c.action(ctx, id, "pause")
}

func (c *Client) Resume(ctx context.Context, id string) (Status, error) {
	return c.action(ctx, id, "resume")
}

func (c *Client) Restart(ctx context.Context, id string) (Status, error) {
	return c.action(ctx, id, "restart")
}

func (c *Client) action(ctx context.Context, id, action string) (Status, error) {
	var out Status
	return out, c.do(ctx, "POST", guestPath(url.PathEscape(id), action), nil, &out)
}

// LogOptions choose the lines Logs reads.
type LogOptions struct {
	Follow bool   // then every new line, until the guest ends for good
	Tail   int    // only the last Tail lines held (0: all)
	Since  uint64 // only lines after this Seq
}

// Logs calls fn with each line of a guest's log, in order, until the
// lines end (with Follow: until the guest ends for good), ctx ends, or fn
// returns an error.
func (c *Client) Logs(ctx context.Context, id string, o LogOptions, fn func(LogLine) error) error {
	q := url.Values{}
	if o.Follow {
		q.Set("follow", "1")
	}
	if o.Tail > 0 {
		q.Set("tail", strconv.Itoa(o.Tail))
	}
	if o.Since > 0 {
		q.Set("since", strconv.FormatUint(o.Since, 10))
	}
	resp, err := c.send(ctx, "GET", guestPath(url.PathEscape(id), "logs")+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var l LogLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fmt.Errorf("log line: %w", err)
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// Ready returns nil when the agent is ready (/readyz), or why not.
func (c *Client) Ready(ctx context.Context) error {
	return c.do(ctx, "GET", PathReadyz, nil, nil)
}

// Metrics returns the agent's metrics, in Prometheus's text format.
func (c *Client) Metrics(ctx context.Context) (string, error) {
	resp, err := c.send(ctx, "GET", PathMetrics, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

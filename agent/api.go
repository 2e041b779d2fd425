package agent

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Paths of the endpoints outside /v1.
const (
	PathMetrics = "/metrics"
	PathHealthz = "/healthz" // liveness: the agent answers
	PathReadyz  = "/readyz"  // readiness: the guest file is applied and the agent is not shutting down
)

// route is one endpoint of the API.
type route struct {
	method, path string
	handle       func(a *Agent, w http.ResponseWriter, r *http.Request) error
}

// routes are every endpoint; docs/agent-api.yaml documents each, and a
// test holds them to it.
var routes = []route{
	{"GET", PathHealthz, (*Agent).healthz},
	{"GET", PathReadyz, (*Agent).readyz},
	{"GET", PathMetrics, nil}, // promhttp
	{"GET", "/v1/guests", (*Agent).apiList},
	{"POST", "/v1/guests", (*Agent).apiStart},
	{"GET", "/v1/guests/{id}", (*Agent).apiGet},
	{"DELETE", "/v1/guests/{id}", (*Agent).apiRemove},
	{"POST", "/v1/guests/{id}/stop", (*Agent).apiStop},
	{"POST", "/v1/guests/{id}/pause", (*Agent).apiPause},
	{"POST", "/v1/guests/{id}/resume", (*Agent).apiResume},
	{"POST", "/v1/guests/{id}/restart", (*Agent).apiRestart},
	{"GET", "/v1/guests/{id}/logs", (*Agent).apiLogs},
}

// Routes lists the API's endpoints as "METHOD PATH".
func Routes() []string {
	out := make([]string, len(routes))
	for i, r := range routes {
		out[i] = r.method + " " + r.path
	}
	return out
}

// Handler serves the whole API. With a token, every request but the
// health checks must carry it as "Authorization: Bearer TOKEN" (for TCP;
// the unix socket's mode is its access control).
func (a *Agent) Handler(token string) http.Handler {
	mux := http.NewServeMux()
	metrics := promhttp.HandlerFor(a.Registry(), promhttp.HandlerOpts{})
	for _, rt := range routes {
		var h http.Handler = metrics
		if rt.handle != nil {
			h = a.wrap(rt.handle)
		}
		if token != "" && rt.path != PathHealthz && rt.path != PathReadyz {
			h = requireToken(token, h)
		}
		mux.Handle(rt.method+" "+rt.path, h)
	}
	mux.Handle("/", a.wrap(func(_ *Agent, _ http.ResponseWriter, r *http.Request) error {
		return &Error{http.StatusNotFound, fmt.Sprintf("no endpoint %s %s (docs/agent-api.yaml lists them)", r.Method, r.URL.Path)}
	}))
	return mux
}

// MetricsHandler serves only the metrics and the health checks: what a
// scraper and a kubelet need, and nothing that changes a guest.
func (a *Agent) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+PathMetrics, promhttp.HandlerFor(a.Registry(), promhttp.HandlerOpts{}))
	mux.Handle("GET "+PathHealthz, a.wrap((*Agent).healthz))
	mux.Handle("GET "+PathReadyz, a.wrap((*Agent).readyz))
	return mux
}

func requireToken(token string, next http.Handler) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			writeError(w, &Error{http.StatusUnauthorized, "missing or wrong bearer token: send \"Authorization: Bearer TOKEN\" with the token of the agent's --token-file"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a *Agent) wrap(h func(a *Agent, w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(a, w, r); err != nil {
			writeError(w, err)
		}
	})
}

// ErrorBody is the body of every error response.
type ErrorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var e *Error
	if errors.As(err, &e) {
		status = e.Status
	}
	writeJSON(w, status, ErrorBody{err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

func (a *Agent) healthz(w http.ResponseWriter, r *http.Request) error {
	// The agent's lock is what every request and every guest's end take:
	// held for long, the agent is stuck and should be restarted.
	got := make(chan struct{})
	go func() {
		a.mu.Lock()
		a.mu.Unlock()
		close(got)
	}()
	select {
	case <-got:
		return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	case <-time.After(5 * time.Second):
		return &Error{http.StatusServiceUnavailable, "the agent's state has been locked for 5s"}
	}
}

func (a *Agent) readyz(w http.ResponseWriter, r *http.Request) error {
	a.mu.Lock()
	ready, closed := a.ready, a.closed
	a.mu.Unlock()
	switch {
	case closed:
		return errShuttingDown
	case !ready:
		return &Error{http.StatusServiceUnavailable, "the agent is starting: its guest file is not applied yet"}
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (a *Agent) apiList(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, a.List())
}

func (a *Agent) apiStart(w http.ResponseWriter, r *http.Request) error {
	var spec Spec
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return &Error{http.StatusBadRequest, fmt.Sprintf("guest spec: %v", err)}
	}
	st, err := a.Start(spec)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, st)
}

func (a *Agent) apiGet(w http.ResponseWriter, r *http.Request) error {
	st, err := a.Get(r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

func (a *Agent) apiRemove(w http.ResponseWriter, r *http.Request) error {
	if err := a.Remove(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *Agent) apiStop(w http.ResponseWriter, r *http.Request) error {
	return a.respond(w, func() (Status, error) { return a.Stop(r.Context(), r.PathValue("id")) })
}

func (a *Agent) apiPause(w http.ResponseWriter, r *http.Request) error {
	return a.respond(w, func() (Status, error) { return a.Pause(r.PathValue("id")) })
}

func (a *Agent) apiResume(w http.ResponseWriter, r *http.Request) error {
	return a.respond(w, func() (Status, error) { return a.Resume(r.PathValue("id")) })
}

func (a *Agent) apiRestart(w http.ResponseWriter, r *http.Request) error {
	return a.respond(w, func() (Status, error) { return a.Restart(r.Context(), r.PathValue("id")) })
}

func (a *Agent) respond(w http.ResponseWriter, f func() (Status, error)) error {
	st, err := f()
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

// apiLogs streams a guest's log as JSON lines (LogLine): the lines it
// holds, or the last ?tail=N, or those after ?since=SEQ; with ?follow=1
// also every line after, until the guest ends for good or the client
// goes.
func (a *Agent) apiLogs(w http.ResponseWriter, r *http.Request) error {
	g, err := a.guest(r.PathValue("id"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	follow := q.Get("follow") == "1" || q.Get("follow") == "true"
	tail, seq := 0, uint64(0)
	if v := q.Get("tail"); v != "" {
		if tail, err = strconv.Atoi(v); err != nil || tail < 0 {
			return &Error{http.StatusBadRequest, fmt.Sprintf("tail %q: want a number of lines", v)}
		}
	}
	if v := q.Get("since"); v != "" {
		if seq, err = strconv.ParseUint(v, 10, 64); err != nil {
			return &Error{http.StatusBadRequest, fmt.Sprintf("since %q: want the seq of a line", v)}
		}
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	flusher, _ := w.(http.Flusher)
	send := func() (<-chan struct{}, error) {
		lines, last, changed := g.logs.since(seq, tail)
		tail, seq = 0, last
		for _, l := range lines {
			if err := enc.Encode(l); err != nil {
				return nil, err
			}
		}
		if flusher != nil {
			flusher.Flush()
		}
		return changed, nil
	}
	for {
		changed, err := send()
		if err != nil || !follow {
			return nil // the client went: nothing to tell it
		}
		if !g.status().State.active() {
			send() // the lines that came with the end
			return nil
		}
		select {
		case <-changed:
		case <-r.Context().Done():
			return nil
		}
	}
}

// Paths of a guest's endpoints, for clients.
func guestPath(id string, action ...string) string {
	return strings.Join(append([]string{"/v1/guests", id}, action...), "/")
}

package collector

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/krakend-usage/krakend-usage/usage"
)

// apiError is what a handler returns to refuse a request: the status, the
// message the client reads and the reason counted in the metrics and
// logs. The one place that turns it into an answer is [Server.route].
type apiError struct {
	code       int
	reason     string // metric label, e.g. "bad_token"
	msg        string
	retryAfter int    // seconds; 0: no Retry-After header
	allow      string // Allow header of a 405
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.code, e.reason, e.msg) }

func fail(code int, reason, format string, args ...any) *apiError {
	return &apiError{code: code, reason: reason, msg: fmt.Sprintf(format, args...)}
}

func methodNotAllowed(allow string) *apiError {
	return &apiError{code: http.StatusMethodNotAllowed, reason: reasonMethod, msg: "method not allowed, use " + allow, allow: allow}
}

// errNotFound answers every path the collector does not serve.
var errNotFound = &apiError{code: http.StatusNotFound, reason: "not_found", msg: "not found"}

// handler is a request handler that returns its refusal instead of
// writing it.
type handler func(w http.ResponseWriter, r *http.Request) error

// route wraps h: promhttp measures it under the handler label name, and an
// error it returns becomes the JSON error reply, counted (and logged, for
// reports) by reason.
func (s *Server) route(name string, h handler) http.Handler {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		e, ok := err.(*apiError)
		if !ok {
			s.log.Error("collector: "+name, "err", err)
			e = fail(http.StatusInternalServerError, "internal", "internal error")
		}
		s.count(name, e)
		if e.allow != "" {
			w.Header().Set("Allow", e.allow)
		}
		if e.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
		}
		if name == "dashboard" {
			writeErrorPage(w, e.code, e.msg)
			return
		}
		writeError(w, e.code, e.msg)
	})
	labels := prometheus.Labels{"handler": name}
	return promhttp.InstrumentHandlerInFlight(s.metrics.inFlight.With(labels),
		promhttp.InstrumentHandlerDuration(s.metrics.duration.MustCurryWith(labels), inner))
}

// count records a refusal in the metric of its endpoint.
func (s *Server) count(name string, e *apiError) {
	switch name {
	case "report":
		s.metrics.rejected.WithLabelValues(e.reason).Inc()
		s.logRejected(e)
	case "session":
		result := "rejected"
		if e.code == http.StatusTooManyRequests {
			result = "limited"
		}
		s.metrics.sessions.WithLabelValues(result).Inc()
	}
}

// writeJSON writes v with status code. v is encoded first: a value that
// cannot be encoded is returned as an error, for the route to answer 500
// and log, instead of a 200 with an empty or cut body.
func writeJSON(w http.ResponseWriter, code int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding the answer: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write(append(b, '\n')) // a write error is the client gone
	return nil
}

// maxErrorMessage bounds an error answer's message: with the envelope
// every error answer stays under 1 KiB.
const maxErrorMessage = 512

// writeError writes the collector's error reply, {"status":N,"message":...}.
func writeError(w http.ResponseWriter, code int, msg string) {
	if len(msg) > maxErrorMessage {
		msg = strings.ToValidUTF8(msg[:maxErrorMessage], "") + "…"
	}
	writeJSON(w, code, usage.ReportReply{Status: code, Message: msg})
}

// writeErrorPage is the error answer of the dashboard's pages, read in a
// browser: a short HTML page with the message and the way back. The
// /api/* routes keep answering JSON.
func writeErrorPage(w http.ResponseWriter, code int, msg string) {
	if len(msg) > maxErrorMessage {
		msg = strings.ToValidUTF8(msg[:maxErrorMessage], "") + "…"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	w.WriteHeader(code)
	fmt.Fprintf(w, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>%d %s · usage collector</title></head>\n"+
		"<body><h1>%d %s</h1><p>%s</p><p><a href=\"/\">Fleet</a> · <a href=\"/clusters\">Clusters</a></p></body></html>\n",
		code, http.StatusText(code), code, http.StatusText(code), html.EscapeString(msg))
}

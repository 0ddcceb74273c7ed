package httpx

import (
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func testRouter(log *slog.Logger) *Router {
	return &Router{Log: log, Prefix: "test: ",
		InFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "in_flight"}, []string{"handler"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "duration"}, []string{"handler", "code"})}
}

// TestEncodingFailureIs500: an answer that cannot be encoded is a logged
// 500, not a 200 with an empty body.
func TestEncodingFailureIs500(t *testing.T) {
	var logs strings.Builder
	h := testRouter(slog.New(slog.NewTextHandler(&logs, nil))).Handler(Route{Name: "test", Handle: func(w http.ResponseWriter, r *http.Request) error {
		return WriteJSON(w, http.StatusOK, map[string]float64{"x": math.Inf(1)})
	}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 || !json.Valid(rec.Body.Bytes()) {
		t.Errorf("got %d %q, want a JSON 500", rec.Code, rec.Body.String())
	}
	if !strings.Contains(logs.String(), "encoding the answer") {
		t.Errorf("logs %q, want the encoding error", logs.String())
	}
}

// TestRouteRefusals: a refusal is answered with its status, headers and
// a bounded message, as JSON or through the route's ErrorPage, and the
// route's Refused hook sees it.
func TestRouteRefusals(t *testing.T) {
	long := strings.Repeat("é", 1000)
	refusal := &Error{Code: 503, Reason: "busy", Msg: long, RetryAfter: 7}
	for _, tc := range []struct {
		name  string
		page  bool
		ctype string
	}{{"json", false, "application/json"}, {"page", true, "text/html"}} {
		t.Run(tc.name, func(t *testing.T) {
			var seen []*Error
			var pageMsg string
			rt := Route{Name: "x", Handle: func(http.ResponseWriter, *http.Request) error { return refusal },
				Refused: func(e *Error) { seen = append(seen, e) }}
			if tc.page {
				rt.ErrorPage = func(w http.ResponseWriter, code int, msg string) {
					pageMsg = msg
					w.Header().Set("Content-Type", "text/html")
					w.WriteHeader(code)
				}
			}
			rec := httptest.NewRecorder()
			testRouter(slog.New(slog.DiscardHandler)).Handler(rt).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			if rec.Code != 503 || rec.Header().Get("Retry-After") != "7" || !strings.HasPrefix(rec.Header().Get("Content-Type"), tc.ctype) {
				t.Errorf("got %d, Retry-After %q, %q; want 503, 7, %s", rec.Code, rec.Header().Get("Retry-After"), rec.Header().Get("Content-Type"), tc.ctype)
			}
			if len(seen) != 1 || seen[0] != refusal {
				t.Errorf("Refused saw %v, want the refusal once", seen)
			}
			if tc.page && (len(pageMsg) > maxMessage+len("…") || !strings.HasPrefix(long, strings.TrimSuffix(pageMsg, "…"))) {
				t.Errorf("the page got a message of %d bytes, want the first %d bytes of it", len(pageMsg), maxMessage)
			}
			if !tc.page && rec.Body.Len() >= 1024 {
				t.Errorf("an error answer of %d bytes, want under 1 KiB", rec.Body.Len())
			}
		})
	}
}

// TestRecover: a panic is a 500 for that request, logged; an aborted
// answer stays aborted.
func TestRecover(t *testing.T) {
	var logs strings.Builder
	rr := testRouter(slog.New(slog.NewTextHandler(&logs, nil)))
	rec := httptest.NewRecorder()
	rr.Recover(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })).ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != 500 || !strings.Contains(logs.String(), "boom") {
		t.Errorf("got %d, logs %q; want 500 and the panic logged", rec.Code, logs.String())
	}
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler to go through", p)
		}
	}()
	rr.Recover(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
}

package httpx

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HandlerFunc is a request handler that returns its refusal instead of
// writing it.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Route is one registered handler and what its refusals do.
type Route struct {
	// Pattern is the http.ServeMux pattern it is served at.
	Pattern string
	// Name labels the route's request metrics and its log lines.
	Name   string
	Handle HandlerFunc
	// ErrorPage, when set, writes the route's refusals instead of
	// [WriteError]: a page for a route a browser opens.
	ErrorPage func(w http.ResponseWriter, code int, msg string)
	// Refused, when set, is told of every refusal before it is
	// answered, to count or log it.
	Refused func(*Error)
}

// Router turns Routes into handlers that share a log and two request
// metrics.
type Router struct {
	// Log receives an error a handler returned that is not an [*Error]
	// (answered 500) and a panic, with Prefix and the route's name.
	Log    *slog.Logger
	Prefix string
	// InFlight (label handler) and Duration (labels handler, code)
	// measure every route, labelled by its name.
	InFlight *prometheus.GaugeVec
	Duration *prometheus.HistogramVec
}

// Handler serves rt: promhttp measures it under its name, and an error it
// returns becomes the error answer.
func (rr *Router) Handler(rt Route) http.Handler {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := rt.Handle(w, r)
		if err == nil {
			return
		}
		e, ok := err.(*Error)
		if !ok {
			rr.Log.Error(rr.Prefix+rt.Name, "err", err)
			e = Fail(http.StatusInternalServerError, "internal", "internal error")
		}
		if rt.Refused != nil {
			rt.Refused(e)
		}
		if e.Allow != "" {
			w.Header().Set("Allow", e.Allow)
		}
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
		}
		if rt.ErrorPage != nil {
			rt.ErrorPage(w, e.Code, bound(e.Msg))
			return
		}
		WriteError(w, e.Code, e.Msg)
	})
	labels := prometheus.Labels{"handler": rt.Name}
	return promhttp.InstrumentHandlerInFlight(rr.InFlight.With(labels),
		promhttp.InstrumentHandlerDuration(rr.Duration.MustCurryWith(labels), inner))
}

// Recover answers a panic in h with a 500 for that request only, and
// logs it. http.ErrAbortHandler, the way to cut an answer midway, goes
// through.
func (rr *Router) Recover(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				rr.Log.Error(rr.Prefix+"panic", "path", r.URL.Path, "panic", fmt.Sprint(p))
				WriteError(w, http.StatusInternalServerError, "internal error")
			}
		}()
		h.ServeHTTP(w, r)
	})
}

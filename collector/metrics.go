package collector

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics live in a registry of the Server's own, so several servers (in
// tests) never clash.
type metrics struct {
	reg      *prometheus.Registry
	accepted prometheus.Counter
	dups     prometheus.Counter
	rejected *prometheus.CounterVec
	sessions *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight *prometheus.GaugeVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "usage_collector_reports_accepted_total",
			Help: "Reports verified and stored.",
		}),
		dups: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "usage_collector_reports_duplicate_total",
			Help: "Reports already stored, sent again (a retry after a lost answer): answered 200, not stored twice.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "usage_collector_reports_rejected_total",
			Help: "Reports rejected, by reason.",
		}, []string{"reason"}),
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "usage_collector_sessions_total",
			Help: "Session requests, by result (issued, rejected, limited).",
		}, []string{"result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "usage_collector_request_duration_seconds",
			Help:    "HTTP request duration, by handler and status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"handler", "code"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "usage_collector_requests_in_flight",
			Help: "Requests being served, by handler.",
		}, []string{"handler"}),
	}
	m.reg.MustRegister(m.accepted, m.dups, m.rejected, m.inFlight, m.sessions, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, r := range rejectReasons {
		m.rejected.WithLabelValues(r) // export zeros, so rates work from the start
	}
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

package collector

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/usage"
)

// Server is the collector's HTTP handler: session and report endpoints,
// stats API, dashboard, metrics and health check.
type Server struct {
	cfg     Config
	store   store.Store
	tokens  *signer
	limiter *limiter
	metrics *metrics
	mux     *http.ServeMux
	log     *slog.Logger
}

// New returns a Server storing into st. It fails only for an invalid
// Config (a *ConfigError).
func New(st store.Store, cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		store:   st,
		tokens:  &signer{key: cfg.Secret, ttl: cfg.TokenTTL},
		metrics: newMetrics(),
		mux:     http.NewServeMux(),
		log:     cfg.Logger,
	}
	if cfg.SessionRate > 0 {
		s.limiter = newLimiter(cfg.SessionRate, cfg.SessionBurst, cfg.MaxClients)
	}
	m := s.metrics
	s.mux.HandleFunc(cfg.SessionPath, m.instrument("session", s.handleSession))
	s.mux.HandleFunc(cfg.ReportPath, m.instrument("report", s.handleReport))
	s.apiRoutes() // /api/stats, /api/stats.csv, /api/clusters (api.go)
	s.mux.HandleFunc("/healthz", m.instrument("healthz", s.handleHealth))
	s.mux.Handle("/metrics", m.handler())
	s.mux.Handle("/static/", m.instrument("static", staticHandler().ServeHTTP))
	s.mux.HandleFunc("/{$}", m.instrument("dashboard", s.handleDashboard))
	return s, nil
}

// ServeHTTP implements http.Handler. A panic in a handler becomes a 500
// for that request only.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("collector: panic", "path", r.URL.Path, "panic", fmt.Sprint(p))
			writeError(w, http.StatusInternalServerError, "internal error")
		}
	}()
	s.mux.ServeHTTP(w, r)
}

// writeJSON writes v with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// writeError writes the collector's error reply, {"status":N,"message":...}.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, usage.ReportReply{Status: code, Message: msg})
}

func (s *Server) methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, "method not allowed, use "+allow)
}

// clientIP is the rate limiter's key. It is never logged or stored.
func (s *Server) clientIP(r *http.Request) string {
	if h := s.cfg.ClientIPHeader; h != "" {
		if v := r.Header.Values(h); len(v) > 0 {
			last := v[len(v)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if ip := strings.TrimSpace(last); ip != "" {
				return ip
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("collector: health check", "err", err)
		writeError(w, http.StatusServiceUnavailable, "database unavailable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

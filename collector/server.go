package collector

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

// Server is the collector's HTTP handler. As an http.Handler it is the
// intake: the session and report endpoints and /healthz, plus the admin
// routes (dashboard, /api/*, /metrics) unless Config.SeparateAdmin moves
// them to [Server.Admin].
type Server struct {
	cfg     Config
	store   store.Store
	tokens  *signer
	limiter *limiter
	bodies  *bodyGate
	full    *saturation
	writes  *writeWatch
	logs    *logLimiter
	metrics *metrics
	names   *store.Names
	public  *publicCache
	intake  *http.ServeMux
	admin   *http.ServeMux
	log     *slog.Logger
	serving servingState

	// exports holds one token per export being sent (at most
	// maxExports); exportStall is how long an export waits for its
	// client to read.
	exports     chan struct{}
	exportStall time.Duration
	fleet       *fleetCollector // with Config.FleetMetrics
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
		full:    &saturation{},
		writes:  &writeWatch{inflight: map[uint64]time.Time{}},
		logs:    newLogLimiter(),
		metrics: newMetrics(),
		intake:  http.NewServeMux(),
		admin:   http.NewServeMux(),
		log:     cfg.Logger,
	}
	s.exports, s.exportStall = make(chan struct{}, maxExports), exportStall
	s.names, _ = store.NewNames(cfg.Features) // checked by withDefaults
	s.bodies = newBodyGate(cfg.BodyMemory, cfg.MaxBody, s.full)
	if cfg.SessionRate > 0 {
		s.limiter = newLimiter(cfg.SessionRate, cfg.SessionBurst, cfg.MaxClients)
	}
	s.intake.Handle(cfg.SessionPath, s.route("session", s.handleSession))
	s.intake.Handle(cfg.ReportPath, s.route("report", s.handleReport))
	for _, mux := range []*http.ServeMux{s.intake, s.admin} {
		mux.Handle("/healthz", s.route("healthz", s.handleHealth))
		mux.Handle("/", s.route("not_found", func(http.ResponseWriter, *http.Request) error { return errNotFound }))
	}
	if cfg.Public {
		s.public = &publicCache{}
		for pattern, h := range s.publicRoutes() {
			s.intake.Handle(pattern, h)
		}
	}
	if cfg.FleetMetrics {
		s.fleet = newFleetCollector(s)
		s.metrics.reg.MustRegister(s.fleet)
		s.fleet.refresh() // the figures are ready for the first scrape
	}
	for pattern, h := range s.adminRoutes() {
		h = s.requireAdmin(h)
		s.admin.Handle(pattern, h)
		if !cfg.SeparateAdmin {
			s.intake.Handle(pattern, s.loopbackAdmin(h))
		}
	}
	return s, nil
}

// adminRoutes are the routes for the collector's operator: none of them
// is needed by a reporter, so they can be kept private (Config.AdminToken,
// Config.SeparateAdmin). Every /api/* endpoint is registered here.
func (s *Server) adminRoutes() map[string]http.Handler {
	return map[string]http.Handler{
		"/{$}":                s.route("dashboard", s.handleDashboard),
		"/static/":            s.route("static", s.handleStatic()),
		"/metrics":            s.metrics.handler(),
		"/api/stats":          s.route("stats", s.handleStats),
		"/api/stats.csv":      s.route("stats_csv", s.handleStatsCSV),
		"/api/clusters":       s.route("clusters", s.handleClusters),
		"/api/reports.ndjson": s.route("export", s.handleExport),
		"/api/clusters/{id}":  s.route("cluster", s.handleCluster),
		"/api/openapi.yaml":   s.route("openapi", s.handleOpenAPI),
		"/clusters":           s.route("dashboard", s.handleClustersPage),
		"/clusters/{id}":      s.route("dashboard", s.handleClusterPage),
	}
}

// Admin returns the handler of the admin routes (dashboard, /api/*,
// /metrics) and /healthz, for a listener of their own.
func (s *Server) Admin() http.Handler { return recoverer(s.log, closeUnread(s.admin)) }

// ServeHTTP implements http.Handler for the intake. A panic in a handler
// becomes a 500 for that request only.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	recoverer(s.log, closeUnread(s.intake)).ServeHTTP(w, r)
}

func recoverer(log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.Error("collector: panic", "path", r.URL.Path, "panic", fmt.Sprint(p))
				writeError(w, http.StatusInternalServerError, "internal error")
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// requireAdmin checks Config.AdminToken, when set: as a bearer token
// (Prometheus, curl) or as the password of HTTP basic authentication, with
// any user name, which a browser asks for once and then sends with every
// request of the dashboard, its static files included.
func (s *Server) requireAdmin(h http.Handler) http.Handler {
	if s.cfg.AdminToken == "" {
		return h
	}
	// The digests are compared, not the tokens: ConstantTimeCompare
	// returns at once for a length that differs, which would tell the
	// token's length; digests have one length.
	want := sha256.Sum256([]byte(s.cfg.AdminToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := "", false
		if _, pw, basic := r.BasicAuth(); basic {
			got, ok = pw, true
		} else if v, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); found {
			got, ok = v, true
		}
		if sum := sha256.Sum256([]byte(got)); !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="usage-collector admin", charset="UTF-8"`)
			writeError(w, http.StatusUnauthorized, "admin token required")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// loopbackAdmin keeps the admin routes on the intake to clients on the
// collector's own machine (loopback addresses), unless they need the
// AdminToken or Config.AdminAnywhere says otherwise: a collector started
// with no admin setting on a public address shows nobody else its fleet.
// The client is the one clientNet believes, so behind a trusted proxy it
// is the address the proxy names, not the proxy's.
func (s *Server) loopbackAdmin(h http.Handler) http.Handler {
	if s.cfg.AdminToken != "" || s.cfg.AdminAnywhere {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a, ok := s.clientAddr(r); !ok || !a.IsLoopback() {
			writeError(w, http.StatusForbidden, "the dashboard, /api/* and /metrics answer clients on the collector's machine only: its operator can set an admin token to open them to others")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// handleHealth answers 200 when the database answers and no write has
// been waiting longer than Config.StallAfter, 503 saying which otherwise.
// A saturated intake (clients refused for lack of body budget or
// connection slots in the last 10 s) is said in the answer, which stays
// 200: the collector works, and a load balancer taking it out of rotation
// for an attack would finish the attacker's job.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	if oldest := s.writes.oldest(s.cfg.Now()); oldest > s.cfg.StallAfter {
		return &apiError{code: http.StatusServiceUnavailable, reason: "stalled", retryAfter: 5,
			msg: fmt.Sprintf("database writes stalled: one has waited %s", oldest.Round(time.Second))}
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("collector: health check", "err", err)
		return &apiError{code: http.StatusServiceUnavailable, reason: "unavailable", retryAfter: 5, msg: "database unavailable"}
	}
	ans := map[string]string{"status": "ok", "intake": "ok"}
	if st := s.full.state(time.Now()); st != "" {
		ans["intake"], ans["saturated"] = "saturated", st
	}
	return writeJSON(w, http.StatusOK, ans)
}

// isJSON reports whether a request's Content-Type, when it has one, is
// JSON. A missing one is accepted (curl -d sends none that fits, scripts
// often none at all); a form or text body is refused.
func isJSON(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return true
	}
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

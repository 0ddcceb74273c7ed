package collector

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/internal/httpx"
	"github.com/krakend-usage/krakend-usage/collector/internal/ui"
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
	pages   *ui.Pages
	router  *httpx.Router
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
		full:    &saturation{now: cfg.Now},
		writes:  &writeWatch{inflight: map[uint64]time.Time{}},
		logs:    newLogLimiter(),
		metrics: newMetrics(),
		intake:  http.NewServeMux(),
		admin:   http.NewServeMux(),
		log:     cfg.Logger,
	}
	s.router = &httpx.Router{Log: s.log, Prefix: "collector: ", InFlight: s.metrics.inFlight, Duration: s.metrics.duration}
	s.exports, s.exportStall = make(chan struct{}, maxExports), exportStall
	s.names, _ = store.NewNames(cfg.Features) // checked by withDefaults
	s.bodies = newBodyGate(cfg.BodyMemory, cfg.MaxBody, s.full)
	if cfg.SessionRate > 0 {
		s.limiter = newLimiter(cfg.SessionRate, cfg.SessionBurst, cfg.MaxClients)
	}
	s.pages = ui.New(ui.Config{Stats: s.stats, Clusters: s.clusters, Cluster: s.cluster,
		Store: st, Now: cfg.Now, Bits: cfg.Bits, MinClusters: cfg.PublicMinClusters,
		EstablishedDays: cfg.PublicEstablishedDays, Log: s.log})
	if cfg.FleetMetrics {
		s.fleet = newFleetCollector(s)
		s.metrics.reg.MustRegister(s.fleet)
		s.fleet.refresh() // the figures are ready for the first scrape
	}
	s.register()
	return s, nil
}

// Admin returns the handler of the admin routes (dashboard, /api/*,
// /metrics) and /healthz, for a listener of their own.
func (s *Server) Admin() http.Handler { return s.router.Recover(closeUnread(s.admin)) }

// ServeHTTP implements http.Handler for the intake. A panic in a handler
// becomes a 500 for that request only.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.router.Recover(closeUnread(s.intake)).ServeHTTP(w, r)
}

// handleHealth answers 200 when the database answers and no write has
// been waiting longer than Config.StallAfter, 503 saying which otherwise.
// A saturated intake (clients refused for lack of body budget or
// connection slots in the last 10 s) is said in the answer, which stays
// 200: the collector works, and a load balancer taking it out of rotation
// for an attack would finish the attacker's job.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	now := s.cfg.Now()
	if oldest := s.writes.oldest(now); oldest > s.cfg.StallAfter {
		return &httpx.Error{Code: http.StatusServiceUnavailable, Reason: "stalled", RetryAfter: 5,
			Msg: fmt.Sprintf("database writes stalled: one has waited %s", oldest.Round(time.Second))}
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("collector: health check", "err", err)
		return errUnavailable
	}
	ans := map[string]string{"status": "ok", "intake": "ok"}
	if st := s.full.state(now); st != "" {
		ans["intake"], ans["saturated"] = "saturated", st
	}
	return httpx.WriteJSON(w, http.StatusOK, ans)
}

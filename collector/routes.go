package collector

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/krakend-usage/krakend-usage/collector/internal/httpx"
)

// intakeRoutes are the reporters' endpoints. Their refusals are counted
// in metrics of their own (and a report's logged), besides the request
// metrics every route has.
func (s *Server) intakeRoutes() []httpx.Route {
	return []httpx.Route{
		{Pattern: s.cfg.SessionPath, Name: "session", Handle: s.handleSession, Refused: s.sessionRefused},
		{Pattern: s.cfg.ReportPath, Name: "report", Handle: s.handleReport, Refused: s.reportRefused},
	}
}

// commonRoutes are served by the intake and the admin listener alike.
func (s *Server) commonRoutes() []httpx.Route {
	return []httpx.Route{
		{Pattern: "/healthz", Name: "healthz", Handle: s.handleHealth},
		{Pattern: "/", Name: "not_found", Handle: func(http.ResponseWriter, *http.Request) error { return httpx.ErrNotFound }},
	}
}

// adminRoutes are the routes for the collector's operator, /metrics
// aside: none of them is needed by a reporter, so they can be kept
// private (Config.AdminToken, Config.SeparateAdmin). Every /api/*
// endpoint is registered here.
func (s *Server) adminRoutes() []httpx.Route {
	return append([]httpx.Route{
		{Pattern: "/api/stats", Name: "stats", Handle: s.handleStats},
		{Pattern: "/api/stats.csv", Name: "stats_csv", Handle: s.handleStatsCSV},
		{Pattern: "/api/clusters", Name: "clusters", Handle: s.handleClusters},
		{Pattern: "/api/reports.ndjson", Name: "export", Handle: s.handleExport},
		{Pattern: "/api/clusters/{id}", Name: "cluster", Handle: s.handleCluster},
		{Pattern: "/api/openapi.yaml", Name: "openapi", Handle: handleOpenAPI},
	}, s.pages.AdminRoutes()...)
}

// publicRoutes are the public view's (Config.Public), served on the
// intake to anyone.
func (s *Server) publicRoutes() []httpx.Route {
	if !s.cfg.Public {
		return nil
	}
	return s.pages.PublicRoutes()
}

// register puts every route on its listeners: the intake's and common
// routes, the public view, then the admin routes behind the admin
// guards, on the intake too unless Config.SeparateAdmin.
func (s *Server) register() {
	for _, rt := range s.intakeRoutes() {
		s.intake.Handle(rt.Pattern, s.router.Handler(rt))
	}
	for _, rt := range s.commonRoutes() {
		s.intake.Handle(rt.Pattern, s.router.Handler(rt))
		s.admin.Handle(rt.Pattern, s.router.Handler(rt))
	}
	for _, rt := range s.publicRoutes() {
		s.intake.Handle(rt.Pattern, s.router.Handler(rt))
	}
	admin := map[string]http.Handler{"/metrics": s.metrics.handler()}
	for _, rt := range s.adminRoutes() {
		admin[rt.Pattern] = s.router.Handler(rt)
	}
	for pattern, h := range admin {
		h = s.requireAdmin(h)
		s.admin.Handle(pattern, h)
		if !s.cfg.SeparateAdmin {
			s.intake.Handle(pattern, s.loopbackAdmin(h))
		}
	}
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
			httpx.WriteError(w, http.StatusUnauthorized, "admin token required")
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
			httpx.WriteError(w, http.StatusForbidden, "the dashboard, /api/* and /metrics answer clients on the collector's machine only: its operator can set an admin token to open them to others")
			return
		}
		h.ServeHTTP(w, r)
	})
}

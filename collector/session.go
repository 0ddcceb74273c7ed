package collector

import (
	"encoding/json"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/krakend-usage/krakend-usage/usage"
)

func (s *Server) handleSession(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		return methodNotAllowed("POST")
	}
	if !isJSON(r) {
		return fail(http.StatusUnsupportedMediaType, reasonContentType, "Content-Type must be application/json")
	}
	now := s.cfg.Now()
	if s.limiter != nil {
		if ok, wait := s.limiter.allow(s.clientIP(r), now); !ok {
			return &apiError{code: http.StatusTooManyRequests, reason: "limited", retryAfter: int(math.Ceil(wait.Seconds())),
				msg: "too many sessions from this address"}
		}
	}
	body, release, err := s.readBody(w, r, maxSessionBody)
	if err != nil {
		return err
	}
	defer release()
	var req usage.SessionRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return fail(http.StatusBadRequest, reasonBadJSON, "invalid JSON")
	}
	for _, id := range []struct{ field, v string }{{"cluster_id", req.ClusterID}, {"server_id", req.ServerID}} {
		if err := usage.ValidateID(id.field, id.v); err != nil {
			return fieldError(err)
		}
	}
	s.metrics.sessions.WithLabelValues("issued").Inc()
	writeJSON(w, http.StatusOK, usage.SessionReply{
		Token: s.tokens.issue(req.ClusterID, req.ServerID, now),
		Bits:  s.cfg.Bits,
	})
	return nil
}

// clientIP is the rate limiter's key. It is never logged or stored. The
// ClientIPHeader is believed only when the connection comes from a
// trusted proxy; the client is then the last address in it that is not a
// trusted proxy itself.
func (s *Server) clientIP(r *http.Request) string {
	peer := r.RemoteAddr
	if host, _, err := net.SplitHostPort(peer); err == nil {
		peer = host
	}
	h := s.cfg.ClientIPHeader
	if h == "" || !s.trusted(peer) {
		return peer
	}
	var addrs []string
	for _, v := range r.Header.Values(h) {
		addrs = append(addrs, strings.Split(v, ",")...)
	}
	for i := len(addrs) - 1; i >= 0; i-- {
		a := strings.TrimSpace(addrs[i])
		if a == "" {
			continue
		}
		if !s.trusted(a) {
			return a
		}
		peer = a
	}
	return peer
}

func (s *Server) trusted(addr string) bool {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

package collector

import (
	"encoding/json"
	"math"
	"net/http"

	"github.com/krakend-usage/krakend-usage/collector/internal/httpx"
	"github.com/krakend-usage/krakend-usage/usage"
)

// sessionRefused counts a refused session request, as limited when the
// rate limit refused it.
func (s *Server) sessionRefused(e *httpx.Error) {
	result := "rejected"
	if e.Code == http.StatusTooManyRequests {
		result = "limited"
	}
	s.metrics.sessions.WithLabelValues(result).Inc()
}

// handleSession issues a session token for a cluster and server ID.
func (s *Server) handleSession(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		return httpx.MethodNotAllowed("POST")
	}
	if !httpx.IsJSON(r) {
		return httpx.Fail(http.StatusUnsupportedMediaType, reasonContentType, "Content-Type must be application/json")
	}
	now := s.cfg.Now()
	if s.limiter != nil {
		if ok, wait := s.limiter.allow(s.clientNet(r), now); !ok {
			return &httpx.Error{Code: http.StatusTooManyRequests, Reason: "limited", RetryAfter: int(math.Ceil(wait.Seconds())),
				Msg: "too many sessions from this address"}
		}
	}
	body, release, err := s.readBody(w, r, maxSessionBody)
	if err != nil {
		return err
	}
	defer release()
	var req usage.SessionRequest
	// The keys first: a bounded, linear pass that refuses what decoding
	// would read ambiguously, or at length.
	if err := checkKeys(body); err != nil {
		return err
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return httpx.Fail(http.StatusBadRequest, reasonBadJSON, "invalid JSON")
	}
	for _, id := range []struct{ field, v string }{{"cluster_id", req.ClusterID}, {"server_id", req.ServerID}} {
		if err := usage.ValidateID(id.field, id.v); err != nil {
			return fieldError(err)
		}
	}
	s.metrics.sessions.WithLabelValues("issued").Inc()
	return httpx.WriteJSON(w, http.StatusOK, usage.SessionReply{
		Token: s.tokens.issue(req.ClusterID, req.ServerID, now),
		Bits:  s.cfg.Bits,
	})
}

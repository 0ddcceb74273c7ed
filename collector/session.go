package collector

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"

	"github.com/krakend-usage/krakend-usage/usage"
)

// maxSessionBody bounds a session request: two IDs of at most 128
// characters fit many times over.
const maxSessionBody = 4 << 10

func (s *Server) handleSession(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.methodNotAllowed(w, "POST")
		return
	}
	now := s.cfg.Now()
	if s.limiter != nil {
		if ok, wait := s.limiter.allow(s.clientIP(r), now); !ok {
			s.metrics.sessions.WithLabelValues("limited").Inc()
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			writeError(w, http.StatusTooManyRequests, "too many sessions from this address")
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSessionBody))
	if err != nil {
		s.metrics.sessions.WithLabelValues("rejected").Inc()
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
			return
		}
		writeError(w, http.StatusBadRequest, "cannot read request body")
		return
	}
	var req usage.SessionRequest
	if err := json.Unmarshal(body, &req); err != nil {
		s.metrics.sessions.WithLabelValues("rejected").Inc()
		writeError(w, http.StatusBadRequest, "invalid JSON")
		return
	}
	if !validID(req.ClusterID) || !validID(req.ServerID) {
		s.metrics.sessions.WithLabelValues("rejected").Inc()
		writeError(w, http.StatusBadRequest, "cluster_id and server_id must be 1 to 128 printable characters")
		return
	}
	s.metrics.sessions.WithLabelValues("issued").Inc()
	writeJSON(w, http.StatusOK, usage.SessionReply{
		Token: s.tokens.issue(req.ClusterID, req.ServerID, now),
		Bits:  s.cfg.Bits,
	})
}

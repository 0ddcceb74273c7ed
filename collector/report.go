package collector

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/hashcash"
)

// Rejection reasons, the label values of
// usage_collector_reports_rejected_total.
const (
	reasonMethod       = "method"
	reasonTooLarge     = "too_large"
	reasonBadJSON      = "bad_json"
	reasonBadToken     = "bad_token"
	reasonExpiredToken = "expired_token"
	reasonIDMismatch   = "id_mismatch"
	reasonStale        = "stale"
	reasonMalformed    = "stamp_malformed"
	reasonVersion      = "stamp_version"
	reasonWeak         = "stamp_weak"
	reasonDate         = "stamp_date"
	reasonResource     = "stamp_resource"
	reasonInsufficient = "stamp_insufficient"
	reasonReplay       = "replay"
	reasonStore        = "store_error"
)

var rejectReasons = []string{
	reasonMethod, reasonTooLarge, reasonBadJSON, reasonBadToken, reasonExpiredToken,
	reasonIDMismatch, reasonStale, reasonMalformed, reasonVersion, reasonWeak, reasonDate,
	reasonResource, reasonInsufficient, reasonReplay, reasonStore,
}

// stampReasons maps hashcash's sentinel errors to reasons.
var stampReasons = []struct {
	err    error
	reason string
}{
	{hashcash.ErrMalformed, reasonMalformed},
	{hashcash.ErrVersion, reasonVersion},
	{hashcash.ErrWeak, reasonWeak},
	{hashcash.ErrDate, reasonDate},
	{hashcash.ErrResource, reasonResource},
	{hashcash.ErrInsufficient, reasonInsufficient},
}

// handleReport verifies a report, cheapest check first, and stores it.
// It answers 200 only once the report is committed; every rejection
// stores nothing.
func (s *Server) handleReport(w http.ResponseWriter, r *http.Request) {
	reject := func(code int, reason, msg string) {
		s.metrics.rejected.WithLabelValues(reason).Inc()
		writeError(w, code, msg)
	}
	if r.Method != http.MethodPost {
		s.metrics.rejected.WithLabelValues(reasonMethod).Inc()
		s.methodNotAllowed(w, "POST")
		return
	}
	if r.ContentLength > s.cfg.MaxBody {
		reject(http.StatusRequestEntityTooLarge, reasonTooLarge, fmt.Sprintf("request body larger than %d bytes", s.cfg.MaxBody))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			reject(http.StatusRequestEntityTooLarge, reasonTooLarge, fmt.Sprintf("request body larger than %d bytes", s.cfg.MaxBody))
			return
		}
		reject(http.StatusBadRequest, reasonBadJSON, "cannot read request body")
		return
	}
	var req usage.ReportRequest
	if err := json.Unmarshal(body, &req); err != nil {
		reject(http.StatusBadRequest, reasonBadJSON, "invalid JSON")
		return
	}
	now := s.cfg.Now()
	c, err := s.tokens.verify(req.Token, now)
	if err != nil {
		if errors.Is(err, errTokenExpired) {
			reject(http.StatusUnauthorized, reasonExpiredToken, "session token expired")
			return
		}
		reject(http.StatusUnauthorized, reasonBadToken, "invalid session token")
		return
	}
	if c.cluster != req.Data.ClusterID || c.server != req.Data.ServerID {
		reject(http.StatusForbidden, reasonIDMismatch, "report IDs differ from the session's")
		return
	}
	reported := time.Unix(req.Data.Time, 0)
	if d := now.Sub(reported); d > s.cfg.Expiration || d < -s.cfg.Expiration {
		reject(http.StatusBadRequest, reasonStale, fmt.Sprintf("report time more than %s from the server clock", s.cfg.Expiration))
		return
	}
	// Parse alone is cheap; hashing the data (up to MaxBody of extra) is
	// not, so a garbage stamp is refused before it.
	if _, err := hashcash.Parse(req.Pow); err != nil {
		s.rejectStamp(w, err)
		return
	}
	hash, err := req.Data.Hash()
	if err != nil {
		reject(http.StatusBadRequest, reasonBadJSON, "cannot hash report data")
		return
	}
	if _, err := hashcash.Verify(req.Pow, req.Token+hash, s.cfg.Bits, now); err != nil {
		s.rejectStamp(w, err)
		return
	}
	err = s.store.Insert(r.Context(), &store.Report{
		Received:   now.UTC(),
		ClusterID:  req.Data.ClusterID,
		ServerID:   req.Data.ServerID,
		Version:    req.Data.Version,
		OS:         req.Data.OS,
		Arch:       req.Data.Arch,
		Uptime:     req.Data.Uptime,
		ReportTime: reported.UTC(),
		Extra:      req.Data.Extra,
		Stamp:      req.Pow,
	})
	switch {
	case errors.Is(err, store.ErrDuplicate):
		reject(http.StatusConflict, reasonReplay, "proof of work already used")
		return
	case err != nil:
		s.log.Error("collector: storing report", "err", err)
		reject(http.StatusServiceUnavailable, reasonStore, "cannot store the report, try again later")
		return
	}
	s.metrics.accepted.Inc()
	writeJSON(w, http.StatusOK, usage.ReportReply{Status: http.StatusOK})
}

func (s *Server) rejectStamp(w http.ResponseWriter, err error) {
	reason := reasonMalformed
	for _, sr := range stampReasons {
		if errors.Is(err, sr.err) {
			reason = sr.reason
			break
		}
	}
	s.metrics.rejected.WithLabelValues(reason).Inc()
	writeError(w, http.StatusBadRequest, "invalid proof of work: "+err.Error())
}

package collector

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/internal/httpx"
	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/hashcash"
)

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

// reportRefused counts a refused report by reason, and logs it.
func (s *Server) reportRefused(e *httpx.Error) {
	s.metrics.rejected.WithLabelValues(e.Reason).Inc()
	s.logRejected(e)
}

// logRejected logs a refused report with its reason, at warn level for
// what points at a misconfigured reporter or the server itself and at info
// for the rest, rate-limited.
func (s *Server) logRejected(e *httpx.Error) {
	ok, held := s.logs.allow(s.cfg.Now())
	if !ok {
		return
	}
	level := slog.LevelInfo
	if e.Code >= 500 {
		level = slog.LevelWarn
	}
	attrs := []any{"reason", e.Reason, "status", e.Code, "message", e.Msg}
	if held > 0 {
		attrs = append(attrs, "suppressed", held)
	}
	s.log.Log(context.Background(), level, "collector: report rejected", attrs...)
}

// handleReport verifies a report, cheapest check first, and stores it.
// It answers 200 only once the report is committed (or was already: a
// retry of a stored report); every rejection stores nothing.
func (s *Server) handleReport(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		return httpx.MethodNotAllowed("POST")
	}
	if !httpx.IsJSON(r) {
		return httpx.Fail(http.StatusUnsupportedMediaType, reasonContentType, "Content-Type must be application/json")
	}
	body, release, err := s.readBody(w, r, s.cfg.MaxBody)
	if err != nil {
		return err
	}
	rep, err := s.verify(body, s.cfg.Now())
	release() // the body is not read again: its share of the memory budget goes back
	if err != nil {
		return err
	}
	done := s.writes.start(s.cfg.Now())
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.QueueTimeout)
	err = s.store.Insert(ctx, rep)
	cancel()
	done()
	switch {
	case errors.Is(err, store.ErrDuplicate):
		// The stamp's resource binds the token and the data's hash, so a
		// stored stamp that passed verification is this very report sent
		// again: a retry after a lost answer. It is stored once; the
		// reporter is told it is.
		s.metrics.dups.Inc()
		s.log.Debug("collector: report already stored", "cluster_id", rep.ClusterID, "server_id", rep.ServerID)
	case errors.Is(err, store.ErrBusy):
		return &httpx.Error{Code: http.StatusServiceUnavailable, Reason: reasonBusy, RetryAfter: 5,
			Msg: "the database is busy, try again later"}
	case err != nil:
		s.log.Error("collector: storing report", "err", err)
		return &httpx.Error{Code: http.StatusServiceUnavailable, Reason: reasonStore, RetryAfter: 5,
			Msg: "cannot store the report, try again later"}
	default:
		s.metrics.accepted.Inc()
		s.log.Debug("collector: report stored", "cluster_id", rep.ClusterID, "server_id", rep.ServerID, "version", rep.Version)
	}
	return httpx.WriteJSON(w, http.StatusOK, usage.ReportReply{Status: http.StatusOK})
}

// verify decodes and checks a report body, and returns what to store.
func (s *Server) verify(body []byte, now time.Time) (*store.Report, error) {
	var req usage.ReportRequest
	// The keys first: a bounded, linear pass that refuses what decoding
	// would read ambiguously, or at length.
	if err := checkKeys(body); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, httpx.Fail(http.StatusBadRequest, reasonBadJSON, "invalid JSON")
	}
	c, err := s.tokens.verify(req.Token, now)
	if err != nil {
		if errors.Is(err, errTokenExpired) {
			return nil, httpx.Fail(http.StatusUnauthorized, reasonExpiredToken, "session token expired")
		}
		return nil, httpx.Fail(http.StatusUnauthorized, reasonBadToken, "invalid session token")
	}
	if c.cluster != req.Data.ClusterID || c.server != req.Data.ServerID {
		return nil, httpx.Fail(http.StatusForbidden, reasonIDMismatch, "report IDs differ from the session's")
	}
	if err := req.Data.Validate(); err != nil {
		return nil, fieldError(err)
	}
	reported := time.Unix(req.Data.Time, 0)
	if d := now.Sub(reported); d > s.cfg.Expiration || d < -s.cfg.Expiration {
		return nil, httpx.Fail(http.StatusBadRequest, reasonStale, "invalid time: more than %s from the server clock", s.cfg.Expiration)
	}
	// Parse alone is cheap; hashing the data (up to MaxBody of extra) is
	// not, so a garbage stamp is refused before it.
	if len(req.Pow) > MaxStamp {
		return nil, httpx.Fail(http.StatusBadRequest, reasonMalformed, "invalid pow: longer than %d bytes", MaxStamp)
	}
	if _, err := hashcash.Parse(req.Pow); err != nil {
		return nil, stampError(err)
	}
	hash, err := req.Data.Hash()
	if err != nil {
		return nil, httpx.Fail(http.StatusBadRequest, reasonBadJSON, "cannot hash report data")
	}
	if _, err := hashcash.Verify(req.Pow, req.Token+hash, s.cfg.Bits, now); err != nil {
		return nil, stampError(err)
	}
	rep := &store.Report{
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
	}
	if len(rep.Extra) > usage.MaxStoredExtra {
		// Still a report that counts; its payload is not kept.
		rep.Extra, rep.ExtraOmitted = nil, true
	}
	// Parsed here, with the operator's allowlist, so the writer never
	// parses JSON.
	rep.Payload = s.names.Parse(rep.Extra, rep.ExtraOmitted)
	return rep, nil
}

// fieldError turns a *usage.FieldError into a 400 naming the field.
func fieldError(err error) *httpx.Error {
	var fe *usage.FieldError
	if errors.As(err, &fe) {
		return httpx.Fail(http.StatusBadRequest, reasonBadField, "invalid %s: %s", fe.Field, fe.Reason)
	}
	return httpx.Fail(http.StatusBadRequest, reasonBadField, "%v", err)
}

func stampError(err error) *httpx.Error {
	reason := reasonMalformed
	for _, sr := range stampReasons {
		if errors.Is(err, sr.err) {
			reason = sr.reason
			break
		}
	}
	return httpx.Fail(http.StatusBadRequest, reason, "invalid proof of work: %v", err)
}

package usage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"time"

	"github.com/krakend-usage/krakend-usage/usage/hashcash"
)

// SingleReport sends one report, opening a session first when there is
// none, and once more after a new session when the collector answers 401 or
// 403. It never panics: a panic in the client or minter is logged and
// becomes the error.
func (r *Reporter) SingleReport(ctx context.Context) (err error) {
	r.init()
	defer func() {
		if p := recover(); p != nil {
			err = r.recovered("SingleReport", p)
		}
	}()
	if r.token() == "" {
		if err := r.openSession(ctx); err != nil {
			return err
		}
	}
	err = r.send(ctx)
	var se *StatusError
	if errors.As(err, &se) && (se.Code == http.StatusUnauthorized || se.Code == http.StatusForbidden) {
		r.log.Info(fmt.Sprintf("Report refused (%d): opening a new session", se.Code))
		if err := r.openSession(ctx); err != nil {
			return err
		}
		err = r.send(ctx)
	}
	return err
}

func (r *Reporter) openSession(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	var reply *SessionReply
	err := r.protect("UsageClient.NewSession", func() (err error) {
		reply, err = r.Client.NewSession(ctx, &SessionRequest{ClusterID: r.ClusterID, ServerID: r.ServerID})
		return err
	})
	if err != nil {
		return &opError{op: "session", url: r.URL, path: r.SessionEndpoint, err: err}
	}
	if reply == nil || reply.Token == "" {
		return &opError{op: "session", err: errors.New("reply has no token")}
	}
	bits := r.HashBits
	if reply.Bits > bits {
		bits = min(reply.Bits, MaxHashBits)
	}
	r.mu.Lock()
	r.Token, r.bits = reply.Token, bits
	r.mu.Unlock()
	where := ""
	if r.URL != "" {
		where = " with " + r.URL
	}
	r.log.Info(fmt.Sprintf("Session opened%s (proof of work: %d bits)", where, bits))
	return nil
}

func (r *Reporter) send(ctx context.Context) error {
	req, err := r.request(ctx)
	if err != nil {
		return &opError{op: "report", err: err}
	}
	sctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	var reply *ReportReply
	err = r.protect("UsageClient.SendReport", func() (err error) {
		reply, err = r.Client.SendReport(sctx, req)
		return err
	})
	if err == nil && reply != nil && reply.Status >= 400 {
		err = &StatusError{Code: reply.Status, Message: oneLine(reply.Message, maxReasonLen)}
	}
	withExtra := len(req.Data.Extra) > 0
	r.mu.Lock()
	r.pending = nil
	if err != nil && resendable(err) {
		r.pending = req
	}
	if err == nil && withExtra {
		r.extraAcked = true
	}
	r.mu.Unlock()
	if err != nil {
		return &opError{op: "report", err: err}
	}
	r.log.Info(fmt.Sprintf("Report accepted (uptime %ds, extra payload: %t)", req.Data.Uptime, withExtra))
	return nil
}

// resendable reports whether the collector may have received, or even
// stored, a report that failed with err: a timeout, a network error, a 5xx
// or a 429. Its retry then re-sends the very same request, so a report
// whose answer was lost is never counted twice.
func resendable(err error) bool {
	var se *StatusError
	return !errors.As(err, &se) || se.Code >= 500 || se.Code == http.StatusTooManyRequests
}

// request returns the report to send: the pending one, unchanged, while
// the collector would still take it (same token, data fresh, stamp dated
// within a day); otherwise a fresh one with its own proof of work.
func (r *Reporter) request(ctx context.Context) (*ReportRequest, error) {
	now := time.Now()
	r.mu.Lock()
	token, bits, withExtra, p := r.Token, r.bits, !r.extraAcked && len(r.ExtraPayload) > 0, r.pending
	r.mu.Unlock()
	if p != nil && p.Token == token && r.stillFresh(p, now) {
		return p, nil
	}
	ud := UsageData{
		Version:   r.Version,
		Arch:      runtime.GOARCH,
		OS:        runtime.GOOS,
		ClusterID: r.ClusterID,
		ServerID:  r.ServerID,
		Uptime:    int64(now.Sub(r.Start) / time.Second),
		Time:      now.Unix(),
	}
	if withExtra {
		ud.Extra = r.ExtraPayload
	}
	hash, err := ud.Hash()
	if err != nil {
		return nil, err
	}
	pow, err := r.mint(ctx, token+hash, bits)
	if err != nil {
		return nil, fmt.Errorf("proof of work: %w", err)
	}
	return &ReportRequest{Token: token, Pow: pow, Data: ud}, nil
}

// stillFresh reports whether p will still be fresh when a retry of it
// ends: its Time no further than ReportExpiration, less the request's
// Timeout (at most half of it), from now, and its stamp dated today, give
// or take the day a verifier allows.
func (r *Reporter) stillFresh(p *ReportRequest, now time.Time) bool {
	age := now.Sub(time.Unix(p.Data.Time, 0))
	if age < 0 || age+min(r.Timeout, ReportExpiration/2) > ReportExpiration {
		return false
	}
	s, err := hashcash.Parse(p.Pow)
	if err != nil {
		return false
	}
	d := s.Date.Sub(now.UTC().Truncate(24 * time.Hour))
	return d >= -24*time.Hour && d <= 24*time.Hour
}

// mint uses the default minter at the session's difficulty, or the
// configured Minter as it is, cancellable when it supports a context.
func (r *Reporter) mint(ctx context.Context, resource string, bits uint) (stamp string, err error) {
	err = r.protect("Minter", func() (err error) {
		if m, ok := r.Minter.(*hashcash.Minter); ok && m == r.ownMinter && bits != m.Bits {
			m = &hashcash.Minter{Bits: bits, SaltChars: m.SaltChars}
			stamp, err = m.MintContext(ctx, resource)
			return err
		}
		if m, ok := r.Minter.(ContextMinter); ok {
			stamp, err = m.MintContext(ctx, resource)
			return err
		}
		stamp, err = r.Minter.Mint(resource)
		return err
	})
	return stamp, err
}

package usage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/krakend-usage/krakend-usage/usage/hashcash"
)

// Reporter sends a report every ReportLapse. Build it with [New]; run it
// with its Report method, or use the package-level [Report].
type Reporter struct {
	Options
	Client UsageClient
	Start  time.Time
	Token  string

	mu         sync.Mutex
	bits       uint             // difficulty in use: max(HashBits, advertised)
	extraAcked bool             // a report carrying ExtraPayload got a 2xx
	ownMinter  *hashcash.Minter // the default Minter, when New installed it
	ownHTTP    *http.Client     // closed when Report returns
	lastErr    error            // why the last session attempt failed
	initOnce   sync.Once
}

// Report validates opt and starts a reporter in a new goroutine that runs
// until ctx is done. It returns an error only for invalid options (an
// *OptionError naming the field); a collector that is down or misbehaving is
// retried in the background, never reported here. It does not block on the
// network.
func Report(ctx context.Context, opt Options, c UsageClient) error {
	r, err := newReporter(opt, c)
	if err != nil {
		return err
	}
	go func() {
		r.lastErr = r.openSession(ctx)
		r.Report(ctx)
	}()
	return nil
}

// New validates opt, resolves its defaults and opens a session. For
// invalid options it returns a nil Reporter and an *OptionError. When the
// session fails it returns the Reporter and the error: the Reporter's
// Report loop retries the session with backoff.
func New(opt Options, c UsageClient) (*Reporter, error) {
	r, err := newReporter(opt, c)
	if err != nil {
		return nil, err
	}
	r.lastErr = r.openSession(context.Background())
	return r, r.lastErr
}

func newReporter(opt Options, c UsageClient) (*Reporter, error) {
	if err := opt.validate(c == nil); err != nil {
		return nil, err
	}
	r := &Reporter{Options: opt, Client: c}
	r.init()
	return r, nil
}

// Report sends a report now and then every ReportLapse until ctx is done.
// Failures are logged and retried with backoff (see the package docs).
func (r *Reporter) Report(ctx context.Context) {
	r.init()
	defer r.closeIdle()
	failures := 0
	var wait time.Duration
	if r.token() == "" && r.lastErr != nil {
		// The session opened by New or Report failed: retry it after a backoff.
		wait = backoff(0, r.ReportLapse)
		failures = 1
		r.Logger.Warning(fmt.Sprintf("%v; next attempt at %s", r.lastErr, at(wait)))
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		err := r.SingleReport(ctx)
		if ctx.Err() != nil {
			return
		}
		var counts bool
		wait, counts = nextDelay(err, failures, r.ReportLapse)
		switch {
		case err == nil:
			failures = 0
			r.Logger.Debug(fmt.Sprintf("usage: next report at %s", at(wait)))
		case counts:
			failures++
			r.Logger.Warning(fmt.Sprintf("%v; next attempt at %s", err, at(wait)))
		default:
			failures = 0
			r.Logger.Warning(fmt.Sprintf("%v; next report at %s", err, at(wait)))
		}
		timer.Reset(wait)
	}
}

// SingleReport sends one report, opening a session first when there is
// none, and once more after a new session when the collector answers 401 or
// 403. It never panics: a panic in the client or minter becomes the error.
func (r *Reporter) SingleReport(ctx context.Context) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("usage: recovered from panic: %v", p)
		}
	}()
	r.init()
	if r.token() == "" {
		if err := r.openSession(ctx); err != nil {
			return err
		}
	}
	err = r.send(ctx)
	var se *StatusError
	if errors.As(err, &se) && (se.Code == http.StatusUnauthorized || se.Code == http.StatusForbidden) {
		r.Logger.Info(fmt.Sprintf("usage: report refused (%d): opening a new session", se.Code))
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
	reply, err := r.Client.NewSession(ctx, &SessionRequest{ClusterID: r.ClusterID, ServerID: r.ServerID})
	if err != nil {
		return fmt.Errorf("usage: session: %w", err)
	}
	if reply == nil || reply.Token == "" {
		return errors.New("usage: session: reply has no token")
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
	r.Logger.Info(fmt.Sprintf("usage: session opened%s (proof of work: %d bits)", where, bits))
	return nil
}

func (r *Reporter) send(ctx context.Context) error {
	r.mu.Lock()
	token, bits, withExtra := r.Token, r.bits, !r.extraAcked && len(r.ExtraPayload) > 0
	r.mu.Unlock()

	ud := UsageData{
		Version:   r.Version,
		Arch:      runtime.GOARCH,
		OS:        runtime.GOOS,
		ClusterID: r.ClusterID,
		ServerID:  r.ServerID,
		Uptime:    int64(time.Since(r.Start) / time.Second),
		Time:      time.Now().Unix(),
	}
	if withExtra {
		ud.Extra = r.ExtraPayload
	}
	hash, err := ud.Hash()
	if err != nil {
		return fmt.Errorf("usage: report: %w", err)
	}
	pow, err := r.mint(ctx, token+hash, bits)
	if err != nil {
		return fmt.Errorf("usage: report: proof of work: %w", err)
	}

	sctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	reply, err := r.Client.SendReport(sctx, &ReportRequest{Token: token, Pow: pow, Data: ud})
	if err != nil {
		return fmt.Errorf("usage: report: %w", err)
	}
	if reply != nil && reply.Status >= 400 {
		return fmt.Errorf("usage: report: %w", &StatusError{Code: reply.Status, Message: reply.Message})
	}
	if withExtra {
		r.mu.Lock()
		r.extraAcked = true
		r.mu.Unlock()
	}
	r.Logger.Info(fmt.Sprintf("usage: report accepted (uptime %ds, extra payload: %t)", ud.Uptime, withExtra))
	return nil
}

// mint uses the default minter at the session's difficulty, or the
// configured Minter as it is, cancellable when it supports a context.
func (r *Reporter) mint(ctx context.Context, resource string, bits uint) (string, error) {
	if m, ok := r.Minter.(*hashcash.Minter); ok && m == r.ownMinter && bits != m.Bits {
		m = &hashcash.Minter{Bits: bits, SaltChars: m.SaltChars}
		return m.MintContext(ctx, resource)
	}
	if m, ok := r.Minter.(ContextMinter); ok {
		return m.MintContext(ctx, resource)
	}
	return r.Minter.Mint(resource)
}

// init resolves every default in one place: for New, and for a Reporter
// built as a struct literal on its first use.
func (r *Reporter) init() {
	r.initOnce.Do(func() {
		r.Options = r.Options.withDefaults()
		if r.ReportLapse < 0 {
			r.ReportLapse = reportLapse
		}
		if r.Timeout < 0 {
			r.Timeout = timeout
		}
		if r.Minter == nil {
			r.ownMinter = &hashcash.Minter{Bits: r.HashBits, SaltChars: r.SaltChars}
			r.Minter = r.ownMinter
		}
		if r.Client == nil {
			hc := r.Options.Client
			if hc == nil {
				r.ownHTTP = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
				hc = r.ownHTTP
			}
			r.Client = &Client{
				HTTPClient:      &BasicClient{Client: hc, URL: r.URL, UserAgent: r.UserAgent},
				SessionEndpoint: r.SessionEndpoint,
				ReportEndpoint:  r.ReportEndpoint,
			}
		}
		r.mu.Lock()
		if r.bits == 0 {
			r.bits = r.HashBits
		}
		if r.Start.IsZero() {
			r.Start = time.Now()
		}
		r.mu.Unlock()
	})
}

func (r *Reporter) token() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.Token
}

func (r *Reporter) closeIdle() {
	if r.ownHTTP != nil {
		r.ownHTTP.CloseIdleConnections()
	}
}

func at(d time.Duration) string {
	return time.Now().Add(d).UTC().Format(time.RFC3339)
}

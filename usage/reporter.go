package usage

import (
	"context"
	"net/http"
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
	pending    *ReportRequest   // sent, unanswered: re-sent as is while fresh
	ownMinter  *hashcash.Minter // the default Minter, when New installed it
	ownHTTP    *http.Client     // closed when Report returns
	lastErr    error            // why the last session attempt failed
	log        Logger           // Options.Logger, shielded from its panics
	rand       func() float64   // jitter source; nil means math/rand/v2
	initOnce   sync.Once
}

// Report validates opt and starts a reporter in a new goroutine that runs
// until ctx is done. It returns an error only for invalid options (an
// *OptionError naming the field); a collector that is down or misbehaving is
// retried in the background, never reported here. It does not block on the
// network.
//
// A nil c means the package's own HTTP client for opt.URL (built from
// opt.Client, UserAgent, SessionEndpoint and ReportEndpoint); opt.URL is
// then required. A non-nil c is used as it is, and opt.URL only names the
// collector in the log.
func Report(ctx context.Context, opt Options, c UsageClient) error {
	r, err := newReporter(opt, c)
	if err != nil {
		return err
	}
	go r.run(ctx)
	return nil
}

// run is the goroutine of [Report]. Nothing in it may take down the host.
func (r *Reporter) run(ctx context.Context) {
	defer func() {
		if p := recover(); p != nil {
			_ = r.recovered("the reporter goroutine", p)
		}
	}()
	r.lastErr = r.openSession(ctx)
	r.Report(ctx)
}

// New validates opt, resolves its defaults and opens a session. For
// invalid options it returns a nil Reporter and an *OptionError. When the
// session fails (a panicking c included) it returns the Reporter and the
// error: the Reporter's Report loop retries the session with backoff. A nil
// c means what it means for [Report].
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
		r.log = safeLogger{r.Logger}
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
			r.Start = r.Started
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

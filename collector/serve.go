package collector

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Timeouts of the HTTP servers [Server.Serve] and [Server.ServeAdmin]
// run. A report is answered within Config.QueueTimeout plus
// store.CommitTimeout, well inside WriteTimeout; an idle keep-alive
// connection is closed soon, so idle clients cannot hold the connection
// limit.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 30 * time.Second
	IdleTimeout       = 30 * time.Second
	MaxHeaderBytes    = 64 << 10
)

// refusedWarnEvery is how often, at most, a listener logs that it refuses
// connections for a network's limit.
const refusedWarnEvery = time.Minute

// listening is one listener given to Serve or ServeAdmin, with its HTTP
// server.
type listening struct {
	name     string
	hs       *http.Server
	fair     *fairListener // nil without a connection limit
	max      int
	open     atomic.Int64
	shedding atomic.Bool
}

// Serve accepts connections on ln and serves the intake (the Server
// itself) on them until [Server.Shutdown], with the collector's defences:
// the timeouts above, and at most Config.MaxConns connections open at
// once, Config.MaxClientConns of one client network. When the limit is
// reached, the connections that hold a slot without using it are shed
// first (see RELIABILITY.md); from nine tenths of MaxConns on, keep-alive
// is switched off, which closes idle connections at once, until the count
// is back under half. A negative MaxConns opts out of the connection
// limit; mounting the Server in an http.Server of one's own opts out of
// everything here.
//
// Like http.Server.Serve, it returns http.ErrServerClosed after Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	return s.serve("intake", ln, s, s.cfg.MaxConns, s.cfg.MaxClientConns)
}

// ServeAdmin serves [Server.Admin] on ln, as Serve does, for at most
// DefaultAdminMaxConns connections at once, a quarter of them per client
// network: one client (a script gone wrong, or anyone who can reach the
// listener) cannot take the slots of Prometheus and the health probes.
func (s *Server) ServeAdmin(ln net.Listener) error {
	return s.serve("admin", ln, s.Admin(), DefaultAdminMaxConns, DefaultAdminMaxConns/4)
}

// ListenAndServe listens on the TCP address addr and calls Serve.
func (s *Server) ListenAndServe(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Shutdown stops every Serve and ServeAdmin of s gracefully: they stop
// accepting connections at once, and Shutdown waits for the requests in
// flight until ctx is done (see http.Server.Shutdown). A report being read
// when Shutdown is called is still answered, and stored first.
func (s *Server) Shutdown(ctx context.Context) error {
	s.serving.Lock()
	s.serving.closed = true
	ls := s.serving.ls
	s.serving.Unlock()
	var errs []error
	for _, l := range ls {
		if err := l.hs.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// servingState is what Shutdown needs of the listeners being served.
type servingState struct {
	sync.Mutex
	closed bool
	ls     []*listening
}

func (s *Server) serve(name string, ln net.Listener, h http.Handler, maxConns, perClient int) error {
	l := &listening{name: name, max: maxConns}
	l.hs = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	if maxConns > 0 {
		l.fair = s.newFairListener(name, ln, maxConns, perClient)
		ln = l.fair
		l.hs.ConnState = l.connState
	}
	s.serving.Lock()
	if s.serving.closed {
		s.serving.Unlock()
		ln.Close()
		return http.ErrServerClosed
	}
	s.serving.ls = append(s.serving.ls, l)
	s.serving.Unlock()
	return l.hs.Serve(ln)
}

// newFairListener wraps ln in a fairListener that tells clients apart as
// s does, reports shedding on /healthz and logs refusals, at most once a
// refusedWarnEvery.
func (s *Server) newFairListener(name string, ln net.Listener, maxConns, perClient int) *fairListener {
	fl := newFairListener(ln, maxConns, perClient)
	fl.network = s.clientNetwork
	fl.saturated = s.saturated
	var refused, lastWarn atomic.Int64
	fl.refused = func() {
		n := refused.Add(1)
		if now := s.cfg.Now().Unix(); now-lastWarn.Load() >= int64(refusedWarnEvery/time.Second) {
			lastWarn.Store(now)
			s.log.Warn("collector: connections refused: a client network is at its connection limit (MaxClientConns)",
				"server", name, "max_client_conns", perClient, "refused_total", n)
		}
	}
	return fl
}

// saturated tells the collector that its intake refused a client for
// lack of room outside the handler (the connection limit of [Server.Serve]
// shed a connection), so that /healthz reports it.
func (s *Server) saturated(cause string) { s.full.mark(cause) }

// connState keeps the fair listener's waiting list and switches
// keep-alive off near the connection limit.
func (l *listening) connState(c net.Conn, state http.ConnState) {
	l.fair.connState(c, state)
	var n int64
	switch state {
	case http.StateNew:
		n = l.open.Add(1)
	case http.StateClosed, http.StateHijacked:
		n = l.open.Add(-1)
	default:
		return
	}
	high, low := int64(l.max)*9/10, int64(l.max)/2
	if n >= high && l.shedding.CompareAndSwap(false, true) {
		l.hs.SetKeepAlivesEnabled(false)
	} else if n < low && l.shedding.CompareAndSwap(true, false) {
		l.hs.SetKeepAlivesEnabled(true)
	}
}

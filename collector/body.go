package collector

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// bodyGate bounds the memory of request bodies read at once, and shares
// it out by what each client does rather than by what it declares:
//
//   - A body holds the bytes it has sent, not the Content-Length it
//     declared: room is reserved as the body arrives, in chunks that
//     double from 4 KiB, so a connection trickling a byte a second holds
//     4 KiB, not 64 KiB or 2 MiB.
//   - A body must arrive at minBodyRate (16 KiB/s) after a grace of 5 s;
//     a slower one is cut off (408), so nothing holds room for long.
//   - One client network holds at most an eighth of the budget (at least
//     one largest body); past it its own bodies get 503 "too many request
//     bodies from your network", and nobody else's.
//   - Bodies declared up to 64 KiB (every ordinary report) come from a
//     quarter of the budget kept for them, where they wait their turn up
//     to 2 s; larger or undeclared ones from the rest, refused at once
//     when it is full. A flood of large bodies therefore gets 503s while
//     small reports keep being read.
type bodyGate struct {
	small, large *semaphore.Weighted
	perClient    int64
	full         *saturation

	mu   sync.Mutex
	held map[netip.Prefix]int64 // bytes held per client network
}

const (
	// smallWait is how long a small body may wait for room.
	smallWait = 2 * time.Second
	// firstChunk is the room a body reserves before its first read.
	firstChunk = 4 << 10
	// bodyGrace and minBodyRate give a body of n bytes bodyGrace +
	// n/minBodyRate to arrive, at most maxBodyTime.
	bodyGrace   = 5 * time.Second
	minBodyRate = 16 << 10 // bytes per second
	maxBodyTime = 30 * time.Second
)

func newBodyGate(budget, maxBody int64, full *saturation) *bodyGate {
	return &bodyGate{
		full:      full,
		small:     semaphore.NewWeighted(budget / 4),
		large:     semaphore.NewWeighted(budget - budget/4),
		perClient: max(budget/8, maxBody+1),
		held:      map[netip.Prefix]int64{},
	}
}

var (
	errBusyLarge = &apiError{code: http.StatusServiceUnavailable, reason: reasonBusy, retryAfter: 2,
		msg: "the collector is reading too many large request bodies at once, try again later"}
	errBusySmall = &apiError{code: http.StatusServiceUnavailable, reason: reasonBusy, retryAfter: 2,
		msg: "the collector is reading too many request bodies at once, try again later"}
	errBusyClient = &apiError{code: http.StatusServiceUnavailable, reason: reasonClientBusy, retryAfter: 2,
		msg: "too many request bodies from your network are being read at once, try again later"}
	errSlowBody = &apiError{code: http.StatusRequestTimeout, reason: reasonSlowBody,
		msg: "request body arrived too slowly"}
)

// reservation is the room one body holds.
type reservation struct {
	g      *bodyGate
	client netip.Prefix
	sem    *semaphore.Weighted
	ctx    context.Context // the request's
	held   int64
}

// grow reserves n more bytes: from the client's share first, then from
// the body's pool.
func (rs *reservation) grow(n int64) error {
	g := rs.g
	g.mu.Lock()
	if g.held[rs.client]+n > g.perClient {
		g.mu.Unlock()
		return errBusyClient
	}
	g.held[rs.client] += n
	g.mu.Unlock()
	var err error
	if rs.sem == g.small {
		// Each chunk may wait smallWait for room: a body that is slow to
		// arrive is the read deadline's business, not the budget's.
		if !g.small.TryAcquire(n) {
			ctx, cancel := context.WithTimeout(rs.ctx, smallWait)
			if g.small.Acquire(ctx, n) != nil {
				err = errBusySmall
			}
			cancel()
		}
	} else if !g.large.TryAcquire(n) {
		err = errBusyLarge
	}
	if err != nil {
		g.unhold(rs.client, n)
		g.full.mark(err.(*apiError).msg)
		return err
	}
	rs.held += n
	return nil
}

func (g *bodyGate) unhold(client netip.Prefix, n int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held[client] -= n; g.held[client] <= 0 {
		delete(g.held, client)
	}
}

func (rs *reservation) release() {
	if rs.held > 0 {
		rs.sem.Release(rs.held)
		rs.g.unhold(rs.client, rs.held)
		rs.held = 0
	}
}

// readBody reads r's body, at most limit bytes, reserving room in the gate
// as it arrives. release gives the room back; call it once the body and
// what was decoded from it are no longer needed.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, limit int64) (body []byte, release func(), err error) {
	if r.ContentLength > limit {
		return nil, nil, fail(http.StatusRequestEntityTooLarge, reasonTooLarge, "request body larger than %d bytes", limit)
	}
	expect := r.ContentLength
	if expect < 0 {
		expect = limit
	}
	// The deadline bounds how long a body holds its room and its
	// connection; net/http sets the connection's next deadline itself.
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(min(maxBodyTime, bodyGrace+time.Duration(expect)*time.Second/minBodyRate)))
	rs := &reservation{g: s.bodies, client: s.clientNet(r), sem: s.bodies.large, ctx: r.Context()}
	if r.ContentLength >= 0 && r.ContentLength <= smallBody {
		rs.sem = s.bodies.small
	}
	buf, err := rs.read(http.MaxBytesReader(w, r.Body, limit), expect+1)
	if err != nil {
		rs.release()
		var mbe *http.MaxBytesError
		var ae *apiError
		switch {
		case errors.As(err, &ae):
			// The body is left unread: net/http closes the connection
			// after the 503, so a client still uploading may see a reset
			// instead. Draining it would cost the CPU that /healthz and
			// the small reports need.
			w.Header().Set("Connection", "close")
			return nil, nil, ae
		case errors.As(err, &mbe):
			return nil, nil, fail(http.StatusRequestEntityTooLarge, reasonTooLarge, "request body larger than %d bytes", limit)
		case errors.Is(err, os.ErrDeadlineExceeded):
			w.Header().Set("Connection", "close")
			return nil, nil, errSlowBody
		}
		return nil, nil, fail(http.StatusBadRequest, reasonBadJSON, "cannot read request body")
	}
	return buf, rs.release, nil
}

// read reads body into a buffer of at most most bytes, growing the
// reservation before the buffer.
func (rs *reservation) read(body io.Reader, most int64) ([]byte, error) {
	var buf []byte
	for {
		if len(buf) == cap(buf) {
			n := min(max(int64(cap(buf)), firstChunk), most-int64(cap(buf)))
			if n <= 0 {
				return buf, nil // the declared length was read; net/http refuses more
			}
			if err := rs.grow(n); err != nil {
				return nil, err
			}
			nb := make([]byte, len(buf), int64(cap(buf))+n)
			copy(nb, buf)
			buf = nb
		}
		m, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil {
			if errors.Is(err, io.EOF) {
				return buf, nil
			}
			return nil, err
		}
	}
}

package collector

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/krakend-usage/krakend-usage/collector/internal/httpx"
)

// bodyGate bounds the memory of request bodies read at once, and shares
// it out by what each client does rather than by what it declares:
//
//   - A body holds the bytes it has sent, not the Content-Length it
//     declared: room is reserved as the body arrives, in chunks that
//     double from 4 KiB, so a connection trickling a byte a second holds
//     4 KiB, not 64 KiB or 2 MiB.
//   - A body must keep arriving, whatever length it declared: on average
//     at minBodyRate (16 KiB/s) after a grace of 5 s, and never silent
//     for bodyGrace; a slower one is cut off (408), so nothing holds room
//     or a connection for long.
//   - Each pool is shared among the client networks holding room in it:
//     a network holds at most the pool divided by one more than their
//     number, a quarter at most (at least one largest body in the large
//     pool, one small body in the small), so a few networks cannot take
//     it all between them;
//     past its share its own bodies get 503 "too many request bodies from
//     your network", and nobody else's. The IPv6 networks of one /56 or
//     /48 hold a few shares between them at most (see ipv6Blocks).
//   - Bodies declared up to 64 KiB (every ordinary report) come from a
//     quarter of the budget kept for them, where they wait their turn up
//     to 2 s; larger or undeclared ones from the rest, refused at once
//     when it is full. A flood of large bodies therefore gets 503s while
//     small reports keep being read.
type bodyGate struct {
	small, large *pool
	full         *saturation

	mu sync.Mutex
}

// pool is one part of the body budget, shared among client networks.
type pool struct {
	*semaphore.Weighted
	size  int64
	floor int64                  // the least share of a network
	held  map[netip.Prefix]int64 // bytes held per client network (under bodyGate.mu)
	// heldBlock is the bytes held per IPv6 block of client networks
	// (under bodyGate.mu).
	heldBlock map[netip.Prefix]int64
}

// fits reports whether client may hold n more bytes of p: within its
// share, and its IPv6 blocks within theirs.
func (p *pool) fits(client netip.Prefix, n int64) bool {
	share := p.share(client)
	if p.held[client]+n > share {
		return false
	}
	for _, b := range blocks(client) {
		if p.heldBlock[b.p]+n > int64(b.shares)*share {
			return false
		}
	}
	return true
}

// hold adds n (negative: takes off) to the bytes client holds in p.
func (p *pool) hold(client netip.Prefix, n int64) {
	if p.held[client] += n; p.held[client] <= 0 {
		delete(p.held, client)
	}
	for _, b := range blocks(client) {
		if p.heldBlock[b.p] += n; p.heldBlock[b.p] <= 0 {
			delete(p.heldBlock, b.p)
		}
	}
}

// share is how much of p the network client may hold, with p's holders
// as they are: the pool divided by one more than the networks holding
// room in it, client included (a quarter while they are fewer than
// three), and at least floor.
func (p *pool) share(client netip.Prefix) int64 {
	n := int64(len(p.held))
	if _, ok := p.held[client]; !ok {
		n++
	}
	return max(p.floor, p.size/max(n+1, 4))
}

const (
	// smallWait is how long a small body may wait for room.
	smallWait = 2 * time.Second
	// firstChunk is the room a body reserves before its first read.
	firstChunk = 4 << 10
	// A body that has sent n bytes must send more within bodyGrace, and
	// by bodyGrace + (n+firstChunk)/minBodyRate from its start; all of
	// it within maxBodyTime.
	bodyGrace   = 5 * time.Second
	minBodyRate = 16 << 10 // bytes per second
	maxBodyTime = 30 * time.Second
)

func newBodyGate(budget, maxBody int64, full *saturation) *bodyGate {
	newPool := func(size, floor int64) *pool {
		return &pool{Weighted: semaphore.NewWeighted(size), size: size, floor: floor, held: map[netip.Prefix]int64{}, heldBlock: map[netip.Prefix]int64{}}
	}
	return &bodyGate{
		full:  full,
		small: newPool(budget/4, smallBody+firstChunk),
		large: newPool(budget-budget/4, maxBody+1),
	}
}

var (
	errBusyLarge = &httpx.Error{Code: http.StatusServiceUnavailable, Reason: reasonBusy, RetryAfter: 2,
		Msg: "the collector is reading too many large request bodies at once, try again later"}
	errBusySmall = &httpx.Error{Code: http.StatusServiceUnavailable, Reason: reasonBusy, RetryAfter: 2,
		Msg: "the collector is reading too many request bodies at once, try again later"}
	errBusyClient = &httpx.Error{Code: http.StatusServiceUnavailable, Reason: reasonClientBusy, RetryAfter: 2,
		Msg: "too many request bodies from your network are being read at once, try again later"}
	errSlowBody = &httpx.Error{Code: http.StatusRequestTimeout, Reason: reasonSlowBody,
		Msg: "request body arrived too slowly"}
)

// reservation is the room one body holds.
type reservation struct {
	g      *bodyGate
	client netip.Prefix
	sem    *pool
	ctx    context.Context // the request's
	held   int64
}

// grow reserves n more bytes: from the client's share first, then from
// the body's pool.
func (rs *reservation) grow(n int64) error {
	g := rs.g
	g.mu.Lock()
	if !rs.sem.fits(rs.client, n) {
		g.mu.Unlock()
		return errBusyClient
	}
	rs.sem.hold(rs.client, n)
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
		g.unhold(rs.sem, rs.client, n)
		g.full.mark(err.(*httpx.Error).Msg)
		return err
	}
	rs.held += n
	return nil
}

func (g *bodyGate) unhold(p *pool, client netip.Prefix, n int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	p.hold(client, -n)
}

func (rs *reservation) release() {
	if rs.held > 0 {
		rs.sem.Release(rs.held)
		rs.g.unhold(rs.sem, rs.client, rs.held)
		rs.held = 0
	}
}

// readBody reads r's body, at most limit bytes, reserving room in the gate
// as it arrives. release gives the room back; call it once the body and
// what was decoded from it are no longer needed.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, limit int64) (body []byte, release func(), err error) {
	if r.ContentLength > limit {
		return nil, nil, httpx.Fail(http.StatusRequestEntityTooLarge, reasonTooLarge, "request body larger than %d bytes", limit)
	}
	expect := r.ContentLength
	if expect < 0 {
		expect = limit
	}
	// The deadlines bound how long a body holds its room and its
	// connection; net/http sets the connection's next deadline itself.
	rs := &reservation{g: s.bodies, client: s.clientNet(r), sem: s.bodies.large, ctx: r.Context()}
	if r.ContentLength >= 0 && r.ContentLength <= smallBody {
		rs.sem = s.bodies.small
	}
	in := &progressReader{r: http.MaxBytesReader(w, r.Body, limit), rc: http.NewResponseController(w), start: time.Now()}
	buf, err := rs.read(in, expect+1)
	if err != nil {
		rs.release()
		var mbe *http.MaxBytesError
		var ae *httpx.Error
		switch {
		case errors.As(err, &ae):
			// The body is left unread: net/http closes the connection
			// after the 503, so a client still uploading may see a reset
			// instead. Draining it would cost the CPU that /healthz and
			// the small reports need.
			w.Header().Set("Connection", "close")
			return nil, nil, ae
		case errors.As(err, &mbe):
			return nil, nil, httpx.Fail(http.StatusRequestEntityTooLarge, reasonTooLarge, "request body larger than %d bytes", limit)
		case errors.Is(err, os.ErrDeadlineExceeded):
			w.Header().Set("Connection", "close")
			return nil, nil, errSlowBody
		}
		return nil, nil, httpx.Fail(http.StatusBadRequest, reasonBadJSON, "cannot read request body")
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

// progressReader reads a request body under a deadline moved after each
// read: the next bytes must come within bodyGrace of the last ones, and
// by bodyGrace + (n+firstChunk)/minBodyRate from the start once n bytes
// came, all within maxBodyTime. A body declaring 2 MiB and sending a byte
// a second is cut after about 5 s, one that sent half and stalled 5 s
// after it stalled; one arriving at minBodyRate is never cut.
type progressReader struct {
	r     io.Reader
	rc    *http.ResponseController
	start time.Time
	n     int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	since := time.Since(p.start)
	due := min(maxBodyTime, bodyGrace+time.Duration(p.n+firstChunk)*time.Second/minBodyRate, since+bodyGrace)
	p.rc.SetReadDeadline(p.start.Add(due))
	n, err := p.r.Read(b)
	p.n += int64(n)
	return n, err
}

// closeUnread answers a request whose body the handler left unread (a
// 404, a 401, a route that takes no body) with "Connection: close", and
// closes the connection after the answer instead of letting net/http read
// up to 256 KiB of the body first, for as long as the client takes to
// send it, on a connection that can be neither used nor shed meanwhile.
func closeUnread(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			h.ServeHTTP(w, r)
			return
		}
		body := &eofBody{ReadCloser: r.Body}
		r.Body = body
		cw := &closeIfUnread{ResponseWriter: w, body: body}
		h.ServeHTTP(cw, r)
		if !cw.wrote {
			cw.WriteHeader(http.StatusOK) // what net/http would send
		}
		if !body.eof {
			// net/http reads what is left of the body (up to 256 KiB)
			// after the handler, even with "Connection: close": with the
			// read deadline passed, that read fails at once. A body
			// marked too large has the connection closed gracefully (its
			// side shut first, then a moment for the client to read the
			// answer before the rest of its upload resets it).
			markTooLarge(w)
			http.NewResponseController(w).SetReadDeadline(time.Now())
		}
	})
}

// eofBody is a request body that knows whether it was read to its end.
type eofBody struct {
	io.ReadCloser
	eof bool
}

func (b *eofBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

// closeIfUnread adds "Connection: close" to the answer when its request's
// body was not read to its end.
type closeIfUnread struct {
	http.ResponseWriter
	body  *eofBody
	wrote bool
}

func (w *closeIfUnread) WriteHeader(code int) {
	if !w.wrote && code >= 200 {
		w.wrote = true
		if !w.body.eof {
			w.Header().Set("Connection", "close")
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *closeIfUnread) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *closeIfUnread) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// markTooLarge tells net/http that the request's body is over its limit,
// as http.MaxBytesReader does when a read passes the limit, without
// reading any of it.
func markTooLarge(w http.ResponseWriter) {
	http.MaxBytesReader(w, io.NopCloser(strings.NewReader("x")), 0).Read(make([]byte, 1))
}

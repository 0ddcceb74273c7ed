package collector

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"time"

	"golang.org/x/sync/semaphore"
)

// bodyGate bounds the memory of request bodies read at once. Each body
// holds its declared length (MaxBody when undeclared) from two budgets:
// small bodies, every ordinary report, from a quarter of the budget kept
// for them, where they wait their turn briefly; large ones from the rest,
// where a body that does not fit is refused at once. A flood of large
// bodies therefore gets 503s while small reports keep being read.
type bodyGate struct {
	small, large *semaphore.Weighted
}

// smallWait is how long a small body may wait for room.
const smallWait = 2 * time.Second

func newBodyGate(budget int64) *bodyGate {
	return &bodyGate{small: semaphore.NewWeighted(budget / 4), large: semaphore.NewWeighted(budget - budget/4)}
}

var errBusyBodies = &apiError{code: http.StatusServiceUnavailable, reason: "busy", retryAfter: 2,
	msg: "too many large requests being read, try again later"}

// readBody reads r's body, at most limit bytes, once the gate has room
// for it. release gives the room back; call it once the body and what was
// decoded from it are no longer needed.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, limit int64) (body []byte, release func(), err error) {
	if r.ContentLength > limit {
		return nil, nil, fail(http.StatusRequestEntityTooLarge, reasonTooLarge, "request body larger than %d bytes", limit)
	}
	n := r.ContentLength
	if n < 0 {
		n = limit
	}
	n = max(n, 1)
	sem := s.bodies.large
	if n <= smallBody {
		sem = s.bodies.small
		ctx, cancel := context.WithTimeout(r.Context(), smallWait)
		err = sem.Acquire(ctx, n)
		cancel()
	} else if !sem.TryAcquire(n) {
		err = errBusyBodies
	}
	if err != nil {
		// The body is left unread: net/http closes the connection after
		// the 503, so a client still uploading may see a reset instead.
		// Draining it would cost the CPU that /healthz and the small
		// reports need.
		w.Header().Set("Connection", "close")
		return nil, nil, errBusyBodies
	}
	release = func() { sem.Release(n) }
	buf := bytes.NewBuffer(make([]byte, 0, min(n, limit)+1))
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		release()
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, nil, fail(http.StatusRequestEntityTooLarge, reasonTooLarge, "request body larger than %d bytes", limit)
		}
		return nil, nil, fail(http.StatusBadRequest, reasonBadJSON, "cannot read request body")
	}
	return buf.Bytes(), release, nil
}

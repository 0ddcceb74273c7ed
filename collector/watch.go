package collector

import (
	"sync"
	"time"
)

// writeWatch remembers the store writes in flight, so that /healthz can
// tell a database that answers pings but does not commit (a table lock, a
// full disk) from a healthy one.
type writeWatch struct {
	mu       sync.Mutex
	next     uint64
	inflight map[uint64]time.Time
}

// start records a write beginning at now; call the returned func when it
// is over.
func (w *writeWatch) start(now time.Time) (done func()) {
	w.mu.Lock()
	id := w.next
	w.next++
	w.inflight[id] = now
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		delete(w.inflight, id)
		w.mu.Unlock()
	}
}

// oldest returns how long the oldest write in flight has waited, 0 when
// none is.
func (w *writeWatch) oldest(now time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var d time.Duration
	for _, t := range w.inflight {
		d = max(d, now.Sub(t))
	}
	return d
}

package collector

import (
	"container/list"
	"math"
	"net/netip"
	"sync"
	"time"
)

// limiter is a token bucket per client network (see clientNet). Networks
// live only in this map, in memory, never on disk. The map is bounded,
// and forgetting a client must never give it a fresh burst: only a bucket
// that has refilled to the full burst is forgotten (the least recently
// seen first), which loses nothing, since a new bucket is exactly that.
// When every remembered bucket is still refilling, the map is full of
// clients active in the last burst/rate seconds, and a new client shares
// one overflow bucket with the other newcomers until room is made.
type limiter struct {
	rate  float64 // tokens per second
	burst float64
	max   int

	mu       sync.Mutex
	buckets  map[netip.Prefix]*list.Element // of *bucket
	lru      *list.List                     // most recently seen first
	overflow bucket
}

type bucket struct {
	net    netip.Prefix
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst, max int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), max: max, buckets: make(map[netip.Prefix]*list.Element), lru: list.New(),
		overflow: bucket{tokens: float64(burst)}}
}

// refill brings b's tokens up to now.
func (l *limiter) refill(b *bucket, now time.Time) {
	if b.last.IsZero() {
		b.last = now
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(l.burst, b.tokens+el*l.rate)
		b.last = now
	}
}

// allow takes a token for the client network n. When there is none it
// returns false and how long until there will be one.
func (l *limiter) allow(n netip.Prefix, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(n, now)
	l.refill(b, now)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

// bucket returns n's bucket, making one when there is room.
func (l *limiter) bucket(n netip.Prefix, now time.Time) *bucket {
	if e := l.buckets[n]; e != nil {
		l.lru.MoveToFront(e)
		return e.Value.(*bucket)
	}
	for l.lru.Len() >= l.max {
		old := l.lru.Back()
		ob := old.Value.(*bucket)
		l.refill(ob, now)
		if ob.tokens < l.burst {
			return &l.overflow
		}
		delete(l.buckets, ob.net)
		l.lru.Remove(old)
	}
	b := &bucket{net: n, tokens: l.burst, last: now}
	l.buckets[n] = l.lru.PushFront(b)
	return b
}

package collector

import (
	"container/list"
	"math"
	"sync"
	"time"
)

// limiter is a token bucket per client IP address. Addresses live only in
// this map, in memory, never on disk. The map is bounded: when it is full
// the least recently seen address is forgotten, so a client that is being
// limited right now keeps its empty bucket.
type limiter struct {
	rate  float64 // tokens per second
	burst float64
	max   int

	mu      sync.Mutex
	buckets map[string]*list.Element // of *bucket
	lru     *list.List               // most recently seen first
}

type bucket struct {
	ip     string
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst, max int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), max: max, buckets: make(map[string]*list.Element), lru: list.New()}
}

// allow takes a token for ip. When there is none it returns false and how
// long until there will be one.
func (l *limiter) allow(ip string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.buckets[ip]
	if e == nil {
		for l.lru.Len() >= l.max {
			old := l.lru.Back()
			delete(l.buckets, old.Value.(*bucket).ip)
			l.lru.Remove(old)
		}
		e = l.lru.PushFront(&bucket{ip: ip, tokens: l.burst, last: now})
		l.buckets[ip] = e
	} else {
		l.lru.MoveToFront(e)
	}
	b := e.Value.(*bucket)
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(l.burst, b.tokens+el*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

package collector

import (
	"container/list"
	"math"
	"net/netip"
	"slices"
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
//
// An IPv6 network also takes a token from a bucket of each block holding
// it (see ipv6Blocks), whose rate and burst are its shares' worth, so the
// /64s of one /48 together get four networks' rate, not 65,536.
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
	scale  float64 // the limiter's rate and burst times this: 1, or a block's shares
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst, max int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), max: max, buckets: make(map[netip.Prefix]*list.Element), lru: list.New(),
		overflow: bucket{scale: 1, tokens: float64(burst)}}
}

// refill brings b's tokens up to now.
func (l *limiter) refill(b *bucket, now time.Time) {
	if b.last.IsZero() {
		b.last = now
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(l.burst*b.scale, b.tokens+el*l.rate*b.scale)
		b.last = now
	}
}

// allow takes a token for the client network n, and one for each of its
// IPv6 blocks. When one of them has none it takes nothing and returns
// false and how long until they all will have one.
func (l *limiter) allow(n netip.Prefix, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	bs := []*bucket{l.bucket(n, 1, now)}
	for _, b := range blocks(n) {
		if bb := l.bucket(b.p, float64(b.shares), now); !slices.Contains(bs, bb) {
			bs = append(bs, bb) // not the overflow bucket twice
		}
	}
	var wait time.Duration
	for _, b := range bs {
		l.refill(b, now)
		if b.tokens < 1 {
			wait = max(wait, time.Duration((1-b.tokens)/(l.rate*b.scale)*float64(time.Second)))
		}
	}
	if wait > 0 {
		return false, wait
	}
	for _, b := range bs {
		b.tokens--
	}
	return true, 0
}

// bucket returns n's bucket, making one of scale when there is room.
func (l *limiter) bucket(n netip.Prefix, scale float64, now time.Time) *bucket {
	if e := l.buckets[n]; e != nil {
		l.lru.MoveToFront(e)
		return e.Value.(*bucket)
	}
	for l.lru.Len() >= l.max {
		old := l.lru.Back()
		ob := old.Value.(*bucket)
		l.refill(ob, now)
		if ob.tokens < l.burst*ob.scale {
			return &l.overflow
		}
		delete(l.buckets, ob.net)
		l.lru.Remove(old)
	}
	b := &bucket{net: n, scale: scale, tokens: l.burst * scale, last: now}
	l.buckets[n] = l.lru.PushFront(b)
	return b
}

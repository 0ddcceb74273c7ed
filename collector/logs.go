package collector

import (
	"sync"
	"time"
)

// logLimiter lets through a burst of log lines, then one per second, and
// counts what it held back, so that an attack cannot flood the log while
// the operator still learns of it.
type logLimiter struct {
	mu         sync.Mutex
	tokens     float64
	last       time.Time
	suppressed int
}

const (
	logBurst = 20
	logRate  = 1 // lines per second after the burst
)

func newLogLimiter() *logLimiter { return &logLimiter{tokens: logBurst} }

// allow reports whether a line may be logged now, and how many were held
// back since the last one that was.
func (l *logLimiter) allow(now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() {
		l.tokens = min(logBurst, l.tokens+now.Sub(l.last).Seconds()*logRate)
	}
	l.last = now
	if l.tokens < 1 {
		l.suppressed++
		return false, 0
	}
	l.tokens--
	n := l.suppressed
	l.suppressed = 0
	return true, n
}

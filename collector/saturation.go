package collector

import (
	"fmt"
	"sync"
	"time"
)

// saturationWindow is how long /healthz reports the intake as saturated
// after the last request it had to refuse for lack of room.
const saturationWindow = 10 * time.Second

// saturation remembers when the intake last had to refuse a client for
// lack of a shared resource (the body budget, the connection slots), and
// why, for /healthz.
type saturation struct {
	now   func() time.Time // Config.Now
	mu    sync.Mutex
	last  time.Time
	cause string
	n     int // refusals since the window opened
}

func (s *saturation) mark(cause string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if now.Sub(s.last) > saturationWindow {
		s.n = 0
	}
	s.last, s.cause = now, cause
	s.n++
}

// state describes the saturation of the last saturationWindow, or is "".
func (s *saturation) state(now time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last.IsZero() || now.Sub(s.last) > saturationWindow {
		return ""
	}
	return fmt.Sprintf("%d refused in the last %s, the last one: %s", s.n, saturationWindow, s.cause)
}

package collector

import (
	"context"
	"math/rand/v2"
	"time"
)

// pruneEvery is how often RunRetention prunes after the first pass.
const pruneEvery = time.Hour

// Prune deletes the raw reports older than the retention, in small
// batches, and returns how many it deleted. Every stats answer stays the
// same: they are computed from rollups.
func (s *Server) Prune(ctx context.Context) (int64, error) {
	now := s.cfg.Now()
	return s.store.Prune(ctx, now, now.Add(-s.cfg.Retention))
}

// RunRetention prunes at once, then every hour (with a little jitter, so
// collectors sharing a database spread their passes), until ctx ends.
func (s *Server) RunRetention(ctx context.Context) {
	for {
		// The pass's duration and the wait between passes are wall
		// time; what is pruned is decided by Config.Now (Prune).
		start := time.Now()
		n, err := s.Prune(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.log.Error("collector: retention", "err", err)
		case n > 0:
			s.log.Info("collector: retention pruned raw reports", "deleted", n,
				"older_than", s.cfg.Retention.String(), "took", time.Since(start).Round(time.Millisecond).String())
		}
		wait := pruneEvery + rand.N(pruneEvery/10)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

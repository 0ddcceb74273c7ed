package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

// pruneBatch is how many rows one pruning transaction deletes: small, so
// the writer's next batch of reports never waits long behind it.
const pruneBatch = 2000

// Prune implements store.Store. Each batch is its own transaction on the
// writer pool, interleaved with the insert transactions.
func (s *DB) Prune(ctx context.Context, now, cutoff time.Time) (int64, error) {
	var total int64
	for {
		n, err := s.pruneReports(ctx, cutoff.UnixMilli())
		total += n
		if err != nil {
			return total, fmt.Errorf("store: prune reports: %w", err)
		}
		if n == 0 {
			break
		}
	}
	// A stamp verifies while the server's UTC day is within one day of
	// its date: one dated before yesterday can no longer be replayed,
	// hashcash.Verify refuses it first.
	if err := s.pruneLoop(ctx, "p.stamps", dayPrefix(store.DayKey(now)-1)); err != nil {
		return total, fmt.Errorf("store: prune stamps: %w", err)
	}
	// A week's marks are needed while reports can arrive for that week.
	if err := s.pruneLoop(ctx, "p.marks", store.WeekKey(store.DayKey(now))-1); err != nil {
		return total, fmt.Errorf("store: prune week marks: %w", err)
	}
	for _, q := range []string{"p.zero", "p.zero.weeks", "p.zero.pairs", "p.zero.pairs.weeks"} {
		if _, err := s.w.ExecContext(ctx, s.q[q]); err != nil {
			return total, fmt.Errorf("store: prune counters: %w", err)
		}
	}
	return total, nil
}

// pruneReports deletes one batch of reports and takes them off the
// retained count, in one transaction.
func (s *DB) pruneReports(ctx context.Context, cutoffMS int64) (int64, error) {
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer sqlTx.Rollback()
	res, err := sqlTx.ExecContext(ctx, s.q["p.reports"], pruneBatch, cutoffMS)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return 0, err
	}
	if _, err := sqlTx.ExecContext(ctx, s.q["w.total"], "retained", -n); err != nil {
		return 0, err
	}
	return n, sqlTx.Commit()
}

func (s *DB) pruneLoop(ctx context.Context, name string, before any) error {
	for {
		res, err := s.w.ExecContext(ctx, s.q[name], before, pruneBatch)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n < pruneBatch {
			return err
		}
	}
}

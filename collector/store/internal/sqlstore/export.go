package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

// exportMargin is how far out of receipt order a report's id may be: ids
// follow the receipt order closely (each writer commits in order; two
// writers, or two collectors, commit within seconds of each other).
const exportMargin = 10 * time.Minute

// Export implements store.Store. The reports table has no index on
// received_ms (it would cost every insert); ids follow the receipt order,
// so the day's id range is found by a binary search on the primary key,
// with a margin, and only that range is read.
func (s *DB) Export(ctx context.Context, day int64, fn func(*store.Report) error) error {
	from, to := day*86400_000, (day+1)*86400_000
	lo, err := s.firstID(ctx, from-exportMargin.Milliseconds())
	if err != nil {
		return fmt.Errorf("store: export: %w", err)
	}
	hi, err := s.firstID(ctx, to+exportMargin.Milliseconds())
	if err != nil {
		return fmt.Errorf("store: export: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, s.q["r.export"], lo, hi, from, to)
	if err != nil {
		return fmt.Errorf("store: export: %w", err)
	}
	defer rows.Close()
	var r store.Report
	for rows.Next() {
		var recv, rt, omitted int64
		r.Extra = r.Extra[:0]
		if err := rows.Scan(&recv, &r.ClusterID, &r.ServerID, &r.Version, &r.OS, &r.Arch, &r.Uptime, &rt, &r.Extra, &omitted, &r.Stamp); err != nil {
			return fmt.Errorf("store: export: %w", err)
		}
		r.Received = time.UnixMilli(recv).UTC()
		r.ReportTime = time.Unix(rt, 0).UTC()
		r.ExtraOmitted = omitted != 0
		if err := fn(&r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: export: %w", err)
	}
	return nil
}

// firstID is the smallest id whose report was received at ms or later,
// or one past the last id, by binary search over the ids.
func (s *DB) firstID(ctx context.Context, ms int64) (int64, error) {
	var lo, hi sql.NullInt64
	if err := s.r.QueryRowContext(ctx, s.q["r.idrange"]).Scan(&lo, &hi); err != nil {
		return 0, err
	}
	if !lo.Valid {
		return 0, nil // no reports
	}
	a, b := lo.Int64, hi.Int64+1 // the answer is in [a, b]
	for a < b {
		mid := a + (b-a)/2
		var id, recv int64
		err := s.r.QueryRowContext(ctx, s.q["r.idat"], mid).Scan(&id, &recv)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			b = mid
		case err != nil:
			return 0, err
		case recv >= ms:
			b = mid
		default:
			a = id + 1
		}
	}
	return a, nil
}

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

// exportPage bounds one page of an export: at most exportRows reports,
// and no more once exportBytes of payload and stamps are read.
const (
	exportRows  = 256
	exportBytes = 1 << 20
)

// Export implements store.Store. The reports table has no index on
// received_ms (it would cost every insert); ids follow the receipt order,
// so the day's id range is found by a binary search on the primary key,
// with a margin, and only that range is read.
//
// The range is read a page at a time, each page a query of its own whose
// rows are all read and closed before fn sees them: however slowly the
// caller consumes the reports, no read transaction stays open (it would
// keep SQLite from checkpointing and hold a connection of the pool).
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
	var page []store.Report
	for lo < hi {
		if page, lo, err = s.exportPage(ctx, page[:0], lo, hi, from, to); err != nil {
			return fmt.Errorf("store: export: %w", err)
		}
		for i := range page {
			if err := fn(&page[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// exportPage appends to page the reports of ids lo to hi-1 received in
// [from, to), a page at most, and returns the id to read from next (hi
// when the range is done).
func (s *DB) exportPage(ctx context.Context, page []store.Report, lo, hi, from, to int64) ([]store.Report, int64, error) {
	rows, err := s.r.QueryContext(ctx, s.q["r.export"], lo, hi, from, to, exportRows)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	next, size := hi, 0
	for rows.Next() {
		var id, recv, rt, omitted int64
		var r store.Report
		if err := rows.Scan(&id, &recv, &r.ClusterID, &r.ServerID, &r.Version, &r.OS, &r.Arch, &r.Uptime, &rt, &r.Extra, &omitted, &r.Stamp); err != nil {
			return nil, 0, err
		}
		r.Received = time.UnixMilli(recv).UTC()
		r.ReportTime = time.Unix(rt, 0).UTC()
		r.ExtraOmitted = omitted != 0
		page = append(page, r)
		if size += len(r.Extra) + len(r.Stamp); len(page) == exportRows || size >= exportBytes {
			next = id + 1
			break
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	return page, next, nil
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

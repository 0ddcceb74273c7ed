package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

// distKinds are the latest kinds whose values are distribution buckets
// (store.LogLow): schema 3 kept them rounded down to one significant
// digit, schema 4 to two. "up" is a pair: the bucket, then the version.
var distKinds = map[string]bool{"up": true, "c.ep": true, "c.be": true, "c.srv": true}

// OneDigitLow is schema 3's bucket of n: n below 10, else n rounded down
// to one significant digit. It is also the schema-3 bucket of any value's
// schema-4 bucket, since rounding down to two digits and then to one is
// rounding down to one.
func OneDigitLow(n int64) int64 {
	if n < 10 {
		return max(n, 0)
	}
	p := int64(1)
	for n/p >= 10 {
		p *= 10
	}
	return n / p * p
}

// schema3Value is the value schema 3 stored for a distribution kind's
// value of now.
func schema3Value(kind, v string) string {
	bucket, rest, pair := strings.Cut(v, " ")
	n, err := strconv.ParseInt(bucket, 10, 64)
	if err != nil {
		return v
	}
	old := strconv.FormatInt(OneDigitLow(n), 10)
	if pair && kind == "up" {
		return store.Pair(old, rest)
	}
	return old
}

// migrate4 moves every server and cluster in the rollups of the
// distribution kinds from its schema-3 bucket to its bucket of now, in
// the migration's transaction: one off the old row, one onto the new,
// for its last day and that day's week. The servers and clusters tables
// hold every ID ever seen, so the rollups come out as if every report had
// been counted at two significant digits; the rows left at zero are
// deleted.
func (s *DB) migrate4(ctx context.Context, sqlTx *sql.Tx) error {
	d := newDeltas()
	move := func(last int64, vals []kv) {
		for _, x := range vals {
			if !distKinds[x.kind] {
				continue
			}
			if old := schema3Value(x.kind, x.value); old != x.value {
				d.latest[lk{day(last), x.kind, old}]--
				d.latest[lk{day(last), x.kind, x.value}]++
			}
		}
	}
	if err := everyIDValues(ctx, sqlTx, true, move); err != nil {
		return err
	}
	if err := s.flushMigrated(ctx, sqlTx, d); err != nil {
		return err
	}
	for _, q := range []string{"p.zero", "p.zero.weeks", "p.zero.pairs", "p.zero.pairs.weeks"} {
		if _, err := sqlTx.ExecContext(ctx, s.q[q]); err != nil {
			return err
		}
	}
	return nil
}

package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

// Tracked values. A version, an OS or an architecture is whatever a
// reporter sends, so the rollups would hold a row per value sent. Each of
// these kinds counts by name at most store.MaxValues distinct values per
// ISO week, its "set" (tables tracked and tracked_sets); every other
// value of that week counts as store.Other, and so do the pairs holding
// it (uptime and version, feature and version).
//
// A value's fate in a week never changes once decided: a set only grows,
// and once full it takes nothing more, its capacity being fixed when the
// set is created. So a server counted under a value (or under Other) is
// taken off the same row when it moves on, whichever collector writes the
// move, and no counter goes below zero or counts twice.
//
// A new week's set starts with the values that counted the most servers
// the week before (half its capacity), so a crowd of made-up values at
// the start of a week cannot push the fleet's established versions into
// Other; the other half goes to the first new values of the week.

// trackedKind is the set a latest kind's value is decided by, and whether
// the value is the second of a pair (a version after an uptime bucket or
// a feature). "" for the kinds whose values the collector bounds itself
// (allowlisted names, buckets).
func trackedKind(kind string) (set string, pair bool) {
	switch kind {
	case "version", "c.version":
		return "version", false
	case "os", "arch", "os_arch":
		return kind, false
	case "up", "c.fver":
		return "version", true
	}
	return "", false
}

// setKey names one week's set of one kind.
type setKey struct {
	week int64
	kind string
}

func compareSetKeys(a, b setKey) int {
	return cmp.Or(cmp.Compare(a.week, b.week), cmp.Compare(a.kind, b.kind))
}

// valueSet is what a transaction knows of a set: members it holds, and
// whether it is full (then every value not among them counts as Other).
type valueSet struct {
	members map[string]bool
	full    bool
}

func (v *valueSet) counts(value string) bool { return v != nil && v.members[value] }

// setCache remembers the sets committed transactions read or grew. A
// member stays a member and a full set stays full, so what it says holds
// for good; a set not full may have grown since (another collector's
// write) and is read again for a value it does not hold. It holds the sets
// of the most recent weeks only (maxCachedSets).
type setCache struct {
	mu   sync.Mutex
	sets map[setKey]*valueSet
}

// maxCachedSets: a few weeks of the four kinds.
const maxCachedSets = 32

// get returns the cached set when it decides every value of vals.
func (c *setCache) get(k setKey, vals map[string]bool) *valueSet {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.sets[k]
	if v == nil {
		return nil
	}
	if !v.full {
		for x := range vals {
			if !v.members[x] {
				return nil
			}
		}
	}
	return v
}

// put records the sets of a committed transaction, dropping the oldest
// weeks beyond maxCachedSets.
func (c *setCache) put(learned map[setKey]*valueSet) {
	if len(learned) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sets == nil {
		c.sets = map[setKey]*valueSet{}
	}
	maps.Copy(c.sets, learned)
	for len(c.sets) > maxCachedSets {
		oldest := slices.MinFunc(slices.Collect(maps.Keys(c.sets)), compareSetKeys)
		delete(c.sets, oldest)
	}
}

// track decides which values of a transaction's deltas and marks count
// by name, growing their weeks' sets where there is room, and rewrites
// the deltas and the marks with the others as Other. It returns the sets
// it read or grew, for the cache once the transaction commits.
//
// The sets are locked in key order (their tracked_sets row), after the
// clusters and before the marks, like every other table (package doc).
func (s *DB) track(t *tx, d *deltas, marks []mark) (map[setKey]*valueSet, error) {
	want := map[setKey]map[string]bool{}
	add := func(k setKey, v string) {
		if want[k] == nil {
			want[k] = map[string]bool{}
		}
		want[k][v] = true
	}
	for k, n := range d.latest {
		set, pair := trackedKind(k.kind)
		if set == "" || n == 0 {
			continue
		}
		v := k.value
		if pair {
			_, v, _ = store.Unpair(v)
		}
		add(setKey{store.WeekKey(k.day), set}, v)
	}
	for _, m := range marks {
		add(setKey{m.week, "version"}, m.version)
	}
	sets := map[setKey]*valueSet{}
	learned := map[setKey]*valueSet{}
	for _, k := range sortedKeys(want, compareSetKeys) {
		if v := s.sets.get(k, want[k]); v != nil {
			sets[k] = v
			continue
		}
		v, err := s.grow(t, k, want[k])
		if err != nil {
			return nil, err
		}
		sets[k], learned[k] = v, v
	}
	folded := make(map[lk]int64, len(d.latest))
	for k, n := range d.latest {
		if n != 0 {
			k.value = foldValue(sets, store.WeekKey(k.day), k.kind, k.value)
			folded[k] += n
		}
	}
	d.latest = folded
	for i, m := range marks {
		if !sets[setKey{m.week, "version"}].counts(m.version) {
			marks[i].version = store.Other
		}
	}
	return learned, nil
}

// foldValue is the value a latest kind's value counts as in a week.
func foldValue(sets map[setKey]*valueSet, week int64, kind, value string) string {
	set, pair := trackedKind(kind)
	switch {
	case set == "":
		return value
	case !pair:
		if sets[setKey{week, set}].counts(value) {
			return value
		}
		return store.Other
	}
	first, v, _ := store.Unpair(value)
	if sets[setKey{week, set}].counts(v) {
		return value
	}
	return store.Pair(first, store.Other)
}

// grow reads a set, locking it, and adds the values of vals it does not
// hold while it has room (in value order, so two collectors deciding the
// same values decide alike). A new set is first seeded from the week
// before (see the top of this file).
func (s *DB) grow(t *tx, k setKey, vals map[string]bool) (*valueSet, error) {
	var capacity int64
	rows, err := t.queryNamed(upSet.name, k.week, k.kind, store.MaxValues)
	if err != nil {
		return nil, err
	}
	if rows.Next() {
		err = rows.Scan(&capacity)
	}
	rows.Close()
	if err == nil {
		err = rows.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", upSet.name, err)
	}
	members := map[string]bool{}
	if err := s.scanValues(t, "w.tracked.get", func(v string) { members[v] = true }, k.week, k.kind); err != nil {
		return nil, err
	}
	var fresh []string
	if len(members) == 0 {
		err := s.scanValues(t, "w.tracked.seed", func(v string) {
			if !members[v] {
				members[v] = true
				fresh = append(fresh, v)
			}
		}, k.week-1, k.kind, capacity/2)
		if err != nil {
			return nil, err
		}
	}
	for _, v := range slices.Sorted(maps.Keys(vals)) {
		if int64(len(members)) >= capacity {
			break
		}
		if !members[v] {
			members[v] = true
			fresh = append(fresh, v)
		}
	}
	slices.Sort(fresh)
	rs := make([][]any, len(fresh))
	for i, v := range fresh {
		rs[i] = []any{k.week, k.kind, v}
	}
	if err := t.upsert(upTracked, rs); err != nil {
		return nil, err
	}
	return &valueSet{members: members, full: int64(len(members)) >= capacity}, nil
}

// scanValues runs a named query of one text column in the transaction.
func (s *DB) scanValues(t *tx, name string, f func(string), args ...any) error {
	rows, err := t.queryNamed(name, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		f(v)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// trackExisting puts every value the rollups hold into its week's set, for
// a database of a schema without sets: what was counted by name stays
// counted by name, and moves off its row like any other value. A week
// holding more than store.MaxValues values gets a set of their number,
// full: its new values count as Other.
func (s *DB) trackExisting(ctx context.Context, sqlTx *sql.Tx) error {
	t := &tx{Tx: sqlTx, ctx: ctx, s: s}
	sets := map[setKey]map[string]bool{}
	add := func(week int64, kind, value string) {
		set, pair := trackedKind(kind)
		if set == "" {
			return
		}
		if pair {
			_, value, _ = store.Unpair(value)
		}
		k := setKey{week, set}
		if sets[k] == nil {
			sets[k] = map[string]bool{}
		}
		sets[k][value] = true
	}
	for _, q := range []string{
		`SELECT week, kind, value FROM latest_weeks`,
		`SELECT week, kind, value FROM latest_pairs_weeks`,
		`SELECT week, 'version', version FROM week_versions`,
		`SELECT week, 'version', version FROM week_marks`,
	} {
		err := scanAll(t.ctx, t.Tx, q, func(rows *sql.Rows) error {
			var week int64
			var kind, value string
			if err := rows.Scan(&week, &kind, &value); err != nil {
				return err
			}
			add(week, kind, value)
			return nil
		})
		if err != nil {
			return fmt.Errorf("%.40s: %w", q, err)
		}
	}
	var capRows, valueRows [][]any
	for _, k := range sortedKeys(sets, compareSetKeys) {
		capRows = append(capRows, []any{k.week, k.kind, max(store.MaxValues, int64(len(sets[k])))})
		for _, v := range slices.Sorted(maps.Keys(sets[k])) {
			valueRows = append(valueRows, []any{k.week, k.kind, v})
		}
	}
	if err := t.upsert(upSetMigrated, capRows); err != nil {
		return err
	}
	return t.upsert(upTracked, valueRows)
}

package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // the "sqlite" database/sql driver
)

// refusingDB is a real database with a table that refuses one kind of row:
// PostgreSQL refuses a NUL byte in text; the SQLite table has a CHECK.
type refusingDB struct {
	db    *sql.DB
	table string
	bad   string // a value the database refuses
}

func databases(t *testing.T) map[string]func(t *testing.T) refusingDB {
	return map[string]func(t *testing.T) refusingDB{
		"sqlite": func(t *testing.T) refusingDB {
			db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "b.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if _, err := db.Exec(`CREATE TABLE r (v TEXT NOT NULL CHECK (instr(v, 'refuse') = 0))`); err != nil {
				t.Fatal(err)
			}
			return refusingDB{db, "r", "please refuse me"}
		},
		"postgres": func(t *testing.T) refusingDB {
			dsn := os.Getenv("USAGE_TEST_POSTGRES_DSN")
			if dsn == "" {
				t.Skip("PostgreSQL case skipped: set USAGE_TEST_POSTGRES_DSN (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
			}
			db, err := sql.Open("pgx", dsn)
			if err != nil {
				t.Fatal(err)
			}
			b := make([]byte, 6)
			rand.Read(b)
			table := "batch_test_" + hex.EncodeToString(b)
			if _, err := db.Exec(`CREATE TABLE ` + table + ` (v TEXT NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Exec(`DROP TABLE ` + table); db.Close() })
			return refusingDB{db, table, "nul\x00byte"}
		},
	}
}

// commit stores each report's Version in one transaction, like the real
// stores: one refused row fails them all.
func (d refusingDB) commit(ctx context.Context, rs []*Report) []error {
	errs := make([]error, len(rs))
	err := func() error {
		tx, err := d.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for _, r := range rs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO `+d.table+` (v) VALUES ($1)`, r.Version); err != nil {
				return err
			}
		}
		return tx.Commit()
	}()
	for i := range errs {
		errs[i] = err
	}
	return errs
}

func (d refusingDB) count(t *testing.T) int {
	t.Helper()
	var n int
	if err := d.db.QueryRow(`SELECT count(*) FROM ` + d.table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// gated wraps commit so that the first call waits for open: the test
// queues the reports of the next batch meanwhile.
func gated(commit func(context.Context, []*Report) []error) (c func(context.Context, []*Report) []error, entered, open chan struct{}) {
	entered, open = make(chan struct{}), make(chan struct{})
	var once sync.Once
	return func(ctx context.Context, rs []*Report) []error {
		once.Do(func() { close(entered); <-open })
		return commit(ctx, rs)
	}, entered, open
}

func waitQueued(t *testing.T, b *Batcher, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for b.Queued() < n {
		if time.Now().After(deadline) {
			t.Fatalf("queued %d, want %d", b.Queued(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestBatchIsolatesRefusedReport: a batch holding one report the database
// refuses still stores every other report of the batch.
func TestBatchIsolatesRefusedReport(t *testing.T) {
	for name, open := range databases(t) {
		t.Run(name, func(t *testing.T) {
			d := open(t)
			commit, entered, gate := gated(d.commit)
			b := NewBatcher(commit)
			defer b.Close()
			ctx := context.Background()
			first := make(chan error, 1)
			go func() { first <- b.Insert(ctx, &Report{Version: "first"}) }()
			<-entered

			const n = 9
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				v := fmt.Sprintf("good %d", i)
				if i == 4 {
					v = d.bad
				}
				wg.Go(func() { errs[i] = b.Insert(ctx, &Report{Version: v}) })
			}
			waitQueued(t, b, n) // all nine in the next batch
			close(gate)
			wg.Wait()
			if err := <-first; err != nil {
				t.Fatalf("first report: %v", err)
			}
			for i, err := range errs {
				if i == 4 && err == nil {
					t.Errorf("refused report: got nil error")
				}
				if i != 4 && err != nil {
					t.Errorf("report %d in the batch of the refused one: %v", i, err)
				}
			}
			if got := d.count(t); got != n {
				t.Errorf("stored %d rows, want %d (the first and 8 good)", got, n)
			}
		})
	}
}

// TestBatchQueueHonoursContext: with the writer stuck and the queue full,
// Insert gives up when its context ends, and a report whose caller gave up
// while queued is never stored.
func TestBatchQueueHonoursContext(t *testing.T) {
	d := databases(t)["sqlite"](t)
	commit, entered, gate := gated(d.commit)
	b := NewBatcher(commit)
	defer b.Close()
	go b.Insert(context.Background(), &Report{Version: "stuck"})
	<-entered

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make([]error, MaxBatch)
	for i := range MaxBatch {
		wg.Go(func() { errs[i] = b.Insert(ctx, &Report{Version: "queued"}) })
	}
	waitQueued(t, b, MaxBatch)
	short, cancelShort := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelShort()
	if err := b.Insert(short, &Report{Version: "late"}); !errors.Is(err, ErrBusy) {
		t.Errorf("insert into a full queue: got %v, want ErrBusy", err)
	}
	cancel() // every queued caller gives up
	close(gate)
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, ErrBusy) {
			t.Fatalf("queued insert %d whose caller gave up: got %v, want ErrBusy", i, err)
		}
	}
	if got := d.count(t); got != 1 {
		t.Errorf("stored %d rows, want 1 (only the one committed before)", got)
	}
}

// TestBatchStalledCommitIsBounded: a transaction stuck on a lock fails
// once CommitTimeout passes, storing nothing, and is not retried report by
// report.
func TestBatchStalledCommitIsBounded(t *testing.T) {
	var calls int
	var mu sync.Mutex
	b := NewBatcher(func(ctx context.Context, rs []*Report) []error {
		mu.Lock()
		calls++
		mu.Unlock()
		<-ctx.Done() // a lock that never goes away
		errs := make([]error, len(rs))
		for i := range errs {
			errs[i] = ctx.Err()
		}
		return errs
	})
	b.timeout = 20 * time.Millisecond
	defer b.Close()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if err := b.Insert(context.Background(), &Report{}); err == nil {
				t.Error("insert during a stall: got nil error")
			}
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if calls >= 20 {
		t.Errorf("%d transactions for 20 reports: a stalled batch was retried one by one", calls)
	}
}

// TestBatchWritersCommitConcurrently: with two writers, a second batch is
// taken and committed while the first one's commit is still under way,
// and every caller gets its own batch's answer.
func TestBatchWritersCommitConcurrently(t *testing.T) {
	inside := make(chan string, 2)
	release := make(chan struct{})
	b := NewBatcherN(func(ctx context.Context, rs []*Report) []error {
		inside <- rs[0].Version
		<-release // held until both batches are inside commit
		errs := make([]error, len(rs))
		if rs[0].Version == "second" {
			errs[0] = ErrDuplicate
		}
		return errs
	}, 2)
	defer b.Close()
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	defer open() // before Close, so a failing test does not hang there
	first := make(chan error, 1)
	go func() { first <- b.Insert(context.Background(), &Report{Version: "first"}) }()
	if got := <-inside; got != "first" {
		t.Fatalf("first commit holds %q", got)
	}
	second := make(chan error, 1)
	go func() { second <- b.Insert(context.Background(), &Report{Version: "second"}) }()
	select {
	case got := <-inside:
		if got != "second" {
			t.Fatalf("second commit holds %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second batch did not start while the first was committing")
	}
	open()
	if err := <-first; err != nil {
		t.Errorf("first: %v", err)
	}
	if err := <-second; !errors.Is(err, ErrDuplicate) {
		t.Errorf("second: got %v, want its own batch's ErrDuplicate", err)
	}
}

package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store/storetest"
)

// hostileV1 creates a first-version database whose reports table takes
// anything (no NOT NULL: a damaged or hand-edited database), with the
// given token key, and returns its DSN, a new DSN and a function that
// runs a statement with ? placeholders on it.
func hostileV1(t *testing.T, kind string, key []byte) (oldDSN, newDSN string, exec func(q string, args ...any)) {
	t.Helper()
	var db *sql.DB
	var err error
	tables := []string{
		`CREATE TABLE meta (key TEXT PRIMARY KEY, value {blob} NOT NULL)`,
		`CREATE TABLE reports (id {serial} PRIMARY KEY, received_ms BIGINT, cluster_id TEXT, server_id TEXT, version TEXT,
			os TEXT, arch TEXT, uptime BIGINT, report_time BIGINT, extra {blob}, stamp TEXT)`,
		`CREATE TABLE breakdown (kind TEXT NOT NULL, value TEXT NOT NULL, servers BIGINT NOT NULL, PRIMARY KEY (kind, value))`,
	}
	dialect := strings.NewReplacer("{blob}", "BLOB", "{serial}", "INTEGER")
	ph := func(q string) string { return q }
	if kind == "sqlite" {
		dir := t.TempDir()
		oldDSN, newDSN = "sqlite:"+filepath.Join(dir, "v1.db"), "sqlite:"+filepath.Join(dir, "v2.db")
		db, err = sql.Open("sqlite", filepath.Join(dir, "v1.db"))
	} else {
		oldDSN, newDSN = storetest.PostgresDSN(t), storetest.PostgresDSN(t)
		db, err = sql.Open("pgx", oldDSN)
		dialect = strings.NewReplacer("{blob}", "BYTEA", "{serial}", "BIGSERIAL")
		ph = func(q string) string {
			for i := 1; strings.Contains(q, "?"); i++ {
				q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
			}
			return q
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, q := range tables {
		if _, err := db.Exec(dialect.Replace(q)); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec = func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(ph(q), args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if key != nil {
		exec(`INSERT INTO meta (key, value) VALUES ('token_key', ?)`, key)
	}
	return oldDSN, newDSN, exec
}

const v1Insert = `INSERT INTO reports (received_ms, cluster_id, server_id, version, os, arch, uptime, report_time, extra, stamp)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// TestImportLikeIntake: import applies the live rules to every row: a bad
// one is counted with its reason and skipped, never fatal, and the
// collector then starts on the new database and answers every API call
// with JSON.
func TestImportLikeIntake(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			oldDSN, newDSN, exec := hostileV1(t, kind, []byte{'k'})
			now := time.Now()
			ms, sec := now.UnixMilli(), now.Unix()
			good := func(i int) []any {
				return []any{ms, "c1", fmt.Sprintf("s%d", i), "2.13.2", "linux", "amd64", 60, sec, nil, v1Stamp(i)}
			}
			exec(v1Insert, good(1)...)
			for _, bad := range [][]any{
				{int64(9e15), "c1", "s2", "2.13.2", "linux", "amd64", 60, sec, nil, v1Stamp(2)},
				{int64(-9e15), "c1", "s3", "2.13.2", "linux", "amd64", 60, sec, nil, v1Stamp(3)},
				{ms, "c1", "s4", "2.13.2", "linux", "amd64", 60, sec, nil, strings.Repeat("s", 1_000_000)},
				{ms, "c1", "s5", "2.13.2", "linux", "amd64", 60, sec, nil, ""},
				{ms, nil, "s6", "2.13.2", "linux", "amd64", 60, sec, nil, v1Stamp(6)},
				{ms, "c1", "s7", "2.13.2", "linux", "amd64", 60, int64(9e15), nil, v1Stamp(7)},
			} {
				exec(v1Insert, bad...)
			}
			exec(v1Insert, good(8)...)

			var out, errb bytes.Buffer
			if err := run(context.Background(), []string{"import", "-from", oldDSN, "-db", newDSN}, &out, &errb); err != nil {
				t.Fatalf("import: %v\n%s", err, errb.String())
			}
			for _, want := range []string{"imported 2 of 8 reports", "refused 2 reports for their received_ms", "refused 2 reports for their stamp",
				"refused 1 reports for their NULL cluster_id", "refused 1 reports for their report_time"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("import printed %q, want %q in it", out.String(), want)
				}
			}
			if !strings.Contains(errb.String(), "old token key is 1 bytes") {
				t.Errorf("import log %q, want the short token key named", errb.String())
			}

			p := startDSN(t, newDSN)
			for _, path := range []string{"/api/clusters", "/api/clusters/c1", "/api/stats"} {
				resp, err := http.Get(p.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !json.Valid(b) || len(b) == 0 {
					t.Errorf("%s after the import: %d %q, want 200 with JSON", path, resp.StatusCode, b)
				}
			}
		})
	}
}

// TestImportKilledLeavesNoDatabase: an import killed halfway leaves a
// database the collector refuses to start on, naming the way out; running
// the import again completes it.
func TestImportKilledLeavesNoDatabase(t *testing.T) {
	const n = 20_000
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			oldDSN, newDSN, exec := hostileV1(t, kind, oldKey)
			now := time.Now()
			const batch = 500 // rows per INSERT
			for i := 0; i < n; i += batch {
				var args []any
				for j := i; j < i+batch; j++ {
					args = append(args, now.UnixMilli(), "c1", fmt.Sprintf("s%d", j%500), "2.13.2", "linux", "amd64", 60, now.Unix(), nil, v1Stamp(j))
				}
				exec(v1Insert+strings.Repeat(", (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch-1), args...)
			}

			cmd := exec_(t, "import", "-from", oldDSN, "-db", newDSN)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Killed once it has begun copying reports.
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				if ok, _ := importIncomplete(context.Background(), newDSN); ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the import did not start within 30 s")
				}
			}
			time.Sleep(300 * time.Millisecond)
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err == nil {
				t.Fatalf("the import finished before the kill: nothing to kill (make n larger)")
			}

			var out, errb bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := run(ctx, []string{"-db", newDSN, "-listen", "127.0.0.1:0"}, &out, &errb)
			if err == nil || !strings.Contains(err.Error(), "import that did not finish") {
				t.Fatalf("starting on the killed import's database: %v, want a refusal naming the unfinished import", err)
			}
			out.Reset()
			if err := run(context.Background(), []string{"import", "-from", oldDSN, "-db", newDSN}, &out, &errb); err != nil {
				t.Fatalf("import again: %v\n%s", err, errb.String())
			}
			p := startDSN(t, newDSN)
			var s struct{ Reports int64 }
			resp, err := http.Get(p.URL + "/api/stats")
			if err != nil {
				t.Fatal(err)
			}
			json.NewDecoder(resp.Body).Decode(&s)
			resp.Body.Close()
			t.Logf("after the kill and a second import: %s", strings.TrimSpace(out.String()))
			if s.Reports != n {
				t.Errorf("after the kill and a second import: %d reports, want %d", s.Reports, n)
			}
		})
	}
}

// exec_ is the command binary with args.
func exec_(t *testing.T, args ...string) *exec.Cmd {
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), "USAGE_COLLECTOR_SECRET=")
	return cmd
}

// TestImportAccountsForEveryRow: import reads every column as it is
// stored and accounts for every row of the old table: a row with a text
// where an integer belongs is refused for that column (SQLite keeps what
// it is given), a row without an id is counted as refused, and a table
// whose ids are not unique is refused whole before anything is copied,
// since reading by id would skip a row at a page boundary. Before: the
// wrongly typed row failed every run at the same row, and the other two
// were dropped without a word.
func TestImportAccountsForEveryRow(t *testing.T) {
	defer func(n int) { importPage = n }(importPage)
	importPage = 2
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			// A table without a primary key, as a hand-made or damaged one.
			oldDSN, newDSN, exec := hostileV1(t, kind, oldKey)
			exec(`DROP TABLE reports`)
			exec(`CREATE TABLE reports (id BIGINT, received_ms BIGINT, cluster_id TEXT, server_id TEXT, version TEXT,
				os TEXT, arch TEXT, uptime BIGINT, report_time BIGINT, extra ` + map[string]string{"sqlite": "BLOB", "postgres": "BYTEA"}[kind] + `, stamp TEXT)`)
			now := time.Now()
			row := func(id any, i int) []any {
				return []any{id, now.UnixMilli(), "c1", fmt.Sprintf("s%d", i), "2.13.2", "linux", "amd64", 60, now.Unix(), nil, v1Stamp(i)}
			}
			const insert = `INSERT INTO reports (id, received_ms, cluster_id, server_id, version, os, arch, uptime, report_time, extra, stamp)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
			for i := 1; i <= 5; i++ {
				exec(insert, row(i, i)...)
			}
			exec(insert, row(nil, 6)...)
			want := []string{"imported 5 of 6 reports", "refused 1 reports for their NULL id"}
			if kind == "sqlite" {
				typed := row(7, 7)
				typed[1] = "yesterday" // received_ms
				exec(insert, typed...)
				want = []string{"imported 5 of 7 reports", "refused 1 reports for their NULL id", "refused 1 reports for their received_ms"}
			}
			var out, errb bytes.Buffer
			if err := run(context.Background(), []string{"import", "-from", oldDSN, "-db", newDSN}, &out, &errb); err != nil {
				t.Fatalf("import: %v\n%s", err, errb.String())
			}
			for _, w := range want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("import printed %q, want %q in it", out.String(), w)
				}
			}
			st, err := openStore(context.Background(), newDSN)
			if err != nil {
				t.Fatal(err)
			}
			s, err := st.Stats(context.Background(), time.Now())
			st.Close()
			if err != nil {
				t.Fatal(err)
			}
			if s.Reports != 5 {
				t.Errorf("%d reports stored, want 5", s.Reports)
			}

			// Two rows with id 2, read two at a time: refused whole.
			oldDSN, newDSN, exec = hostileV1(t, kind, oldKey)
			exec(`DROP TABLE reports`)
			exec(`CREATE TABLE reports (id BIGINT, received_ms BIGINT, cluster_id TEXT, server_id TEXT, version TEXT,
				os TEXT, arch TEXT, uptime BIGINT, report_time BIGINT, extra ` + map[string]string{"sqlite": "BLOB", "postgres": "BYTEA"}[kind] + `, stamp TEXT)`)
			for i, id := range []int{1, 2, 2, 3} {
				exec(insert, row(id, i)...)
			}
			out.Reset()
			err = run(context.Background(), []string{"import", "-from", oldDSN, "-db", newDSN}, &out, &errb)
			if err == nil || !strings.Contains(err.Error(), "1 reports share their id with another (id 2") {
				t.Errorf("import of a table with a duplicated id: %v (printed %q), want a refusal naming id 2", err, out.String())
			}
		})
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/collector/store/postgres"
	"github.com/krakend-usage/krakend-usage/collector/store/sqlite"
	"github.com/krakend-usage/krakend-usage/collector/store/storetest"
	"github.com/krakend-usage/krakend-usage/usage"
)

// kills is how many times each backend's collector is killed.
const kills = 5

// TestKillMidLoad SIGKILLs the collector while clients send reports, five
// times on each backend, restarting it on the same database each time.
// Every report it answered 200 must be stored afterwards: acknowledged
// means durable.
func TestKillMidLoad(t *testing.T) {
	for _, b := range []struct {
		name string
		db   func(t *testing.T) (dsn string, open func() (store.Store, error))
	}{
		{"sqlite", func(t *testing.T) (string, func() (store.Store, error)) {
			path := filepath.Join(t.TempDir(), "usage.db")
			return "sqlite:" + path, func() (store.Store, error) { return sqlite.Open(context.Background(), path) }
		}},
		{"postgres", func(t *testing.T) (string, func() (store.Store, error)) {
			dsn := storetest.PostgresDSN(t)
			return dsn, func() (store.Store, error) { return postgres.Open(context.Background(), dsn) }
		}},
	} {
		t.Run(b.name, func(t *testing.T) {
			dsn, open := b.db(t)
			var acked sync.Map // stamp -> true
			var total atomic.Int64
			for round := range kills {
				p := startDSN(t, dsn)
				n := loadUntilKilled(t, p, round, &acked)
				total.Add(n)
			}
			st, err := open()
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			stats, err := st.Stats(context.Background(), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			stored, err := st.Recent(context.Background(), int(stats.Reports)+1)
			if err != nil {
				t.Fatal(err)
			}
			have := make(map[string]bool, len(stored))
			for _, r := range stored {
				have[r.Stamp] = true
			}
			lost := 0
			acked.Range(func(k, _ any) bool {
				if !have[k.(string)] {
					lost++
				}
				return true
			})
			t.Logf("%s: %d SIGKILLs, %d reports acknowledged, %d stored, %d acknowledged reports lost", b.name, kills, total.Load(), len(stored), lost)
			if lost > 0 {
				t.Errorf("%d of %d acknowledged reports are not stored", lost, total.Load())
			}
			if total.Load() < kills*50 {
				t.Errorf("only %d reports acknowledged: the load did not run", total.Load())
			}
		})
	}
}

// loadUntilKilled runs 8 reporters against p, SIGKILLs p once they have
// had at least 150 (more each round) reports acknowledged and while they are still sending,
// and returns how many were.
func loadUntilKilled(t *testing.T, p *proc, round int, acked *sync.Map) int64 {
	t.Helper()
	var n atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	client := &http.Client{Timeout: 20 * time.Second}
	for w := range 8 {
		cluster, server := fmt.Sprintf("kill-c%d", w%3), fmt.Sprintf("kill-r%d-w%d", round, w)
		tok := session(t, p.URL, cluster, server)
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				body := reportBody(t, tok, cluster, server)
				resp, err := client.Post(p.URL+"/report", "application/json", bytes.NewReader(body))
				if err != nil {
					return // the collector is gone
				}
				var reply usage.ReportReply
				json.NewDecoder(resp.Body).Decode(&reply)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					var req usage.ReportRequest
					json.Unmarshal(body, &req)
					acked.Store(req.Pow, true)
					n.Add(1)
				}
			}
		})
	}
	deadline := time.Now().Add(30 * time.Second)
	for n.Load() < 150+int64(round)*25 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	p.Cmd.Process.Kill() // SIGKILL, mid-load
	p.Wait(t)
	close(stop)
	wg.Wait()
	return n.Load()
}

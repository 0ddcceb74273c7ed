package collector

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

// healthz returns /healthz's status and message, and how long it took.
func healthz(t *testing.T, url string) (int, string, time.Duration) {
	t.Helper()
	start := time.Now()
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct{ Message string }
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m.Message, time.Since(start)
}

func p99(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[(len(ds)-1)*99/100]
}

// TestStalledWrites: while another connection holds the database's write
// lock, /healthz answers 503 "stalled" (promptly), and the report waiting
// on it is answered once the lock goes: 200 and stored when it goes soon,
// 503 and not stored when it outlasts store.CommitTimeout.
func TestStalledWrites(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st, lock := b.open(t)
			e := newEnvWith(t, st, Config{StallAfter: 300 * time.Millisecond})

			for _, outlast := range []bool{false, true} {
				tok := e.session("c", "s")
				before := e.reports()
				release := lock(t)
				answered := make(chan int, 1)
				go func() {
					resp, err := http.Post(e.ts.URL+"/report", "application/json", strings.NewReader(mustJSON(t, validReport(t, tok, "c", "s", testBits))))
					if err != nil {
						answered <- -1
						return
					}
					resp.Body.Close()
					answered <- resp.StatusCode
				}()
				var lat []time.Duration
				deadline := time.Now().Add(5 * time.Second)
				for {
					code, msg, d := healthz(t, e.ts.URL)
					lat = append(lat, d)
					if code == 503 && strings.Contains(msg, "stalled") {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("/healthz never said writes are stalled: last %d %q", code, msg)
					}
					time.Sleep(20 * time.Millisecond)
				}
				want := 200
				if outlast {
					want = 503
					// Hold the lock until the collector gives up.
					select {
					case code := <-answered:
						answered <- code
					case <-time.After(store.CommitTimeout + 10*time.Second):
						t.Fatal("a report waiting on a stalled database was never answered")
					}
				}
				release()
				code := <-answered
				if code != want {
					t.Errorf("report during the stall (outlasting CommitTimeout: %v): got %d, want %d", outlast, code, want)
				}
				stored := int64(0)
				if want == 200 {
					stored = 1
				}
				if got := e.reports() - before; got != stored {
					t.Errorf("stored %d reports, want %d: the answer must match what is stored", got, stored)
				}
				t.Logf("%s, outlasting CommitTimeout %v: /healthz p99 %s over %d calls during the stall", b.name, outlast, p99(lat), len(lat))
				if code, msg, _ := healthz(t, e.ts.URL); code != 200 {
					t.Errorf("/healthz after the stall: %d %q", code, msg)
				}
			}
		})
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/internal/httpx"
	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/collector/store/postgres"
	"github.com/krakend-usage/krakend-usage/collector/store/sqlite"
	"github.com/krakend-usage/krakend-usage/collector/store/storetest"
	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/hashcash"
)

// benchBits is the difficulty of the benchmark collectors: low, so the
// stamps are minted before the clock starts and the load generator is
// not the bottleneck.
const benchBits = 4

// trivialHandler is the yardstick: decode the JSON body, answer JSON.
func trivialHandler(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 2<<20))
	if err != nil {
		httpx.WriteError(w, 413, "too large")
		return
	}
	var req usage.ReportRequest
	if err := json.Unmarshal(body, &req); err != nil {
		httpx.WriteError(w, 400, "bad json")
		return
	}
	httpx.WriteJSON(w, 200, usage.ReportReply{Status: 200})
}

// load posts bodies[i] for i in 0..b.N-1 from clients concurrent clients
// over keep-alive connections and checks every status.
func load(b *testing.B, clients int, url string, bodies func(i int) []byte, want int) {
	b.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var next atomic.Int64
	b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1) - 1)
			resp, err := client.Post(url, "application/json", bytes.NewReader(bodies(i)))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want {
				b.Errorf("got %d, want %d", resp.StatusCode, want)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
}

// preMint builds n distinct valid report bodies for one session.
func preMint(b *testing.B, url string, n int) [][]byte {
	b.Helper()
	resp, err := http.Post(url+"/session", "application/json", bytes.NewReader([]byte(`{"cluster_id":"bench-c","server_id":"bench-s"}`)))
	if err != nil {
		b.Fatal(err)
	}
	var sr usage.SessionReply
	json.NewDecoder(resp.Body).Decode(&sr)
	resp.Body.Close()
	m := &hashcash.Minter{Bits: benchBits, Workers: 1}
	bodies := make([][]byte, n)
	req := usage.ReportRequest{Token: sr.Token, Data: usage.UsageData{Version: "v2.6.0", OS: "linux", Arch: "amd64",
		ClusterID: "bench-c", ServerID: "bench-s", Time: time.Now().Unix(), Extra: []byte(`{"endpoints":12}`)}}
	h, _ := req.Data.Hash()
	for i := range bodies {
		if req.Pow, err = m.Mint(sr.Token + h); err != nil {
			b.Fatal(err)
		}
		bodies[i], _ = json.Marshal(req)
	}
	return bodies
}

func benchServer(b *testing.B, st store.Store) *httptest.Server {
	b.Helper()
	srv, err := New(st, Config{Bits: benchBits, Secret: testKey, SessionRate: -1, Public: true})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	b.Cleanup(ts.Close)
	return ts
}

func sqliteStore(b *testing.B) store.Store {
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "usage.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// BenchmarkReports compares, on loopback with the same load generator, the
// trivial JSON handler, accepted reports (SQLite, PostgreSQL) and rejected
// bad-stamp reports, at two fleet sizes: 64 and 256 concurrent clients.
// Accepted reports are group-committed, one fsync per transaction, so their
// rate grows with the number of clients waiting together; the others are
// bound by CPU alone.
func BenchmarkReports(b *testing.B) {
	for _, clients := range []int{64, 256} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			benchReports(b, clients)
		})
	}
}

func benchReports(b *testing.B, clients int) {
	b.Run("trivial", func(b *testing.B) {
		ts := httptest.NewServer(http.HandlerFunc(trivialHandler))
		defer ts.Close()
		body := preMint(&testing.B{}, benchServer(b, sqliteStore(b)).URL, 1)[0]
		load(b, clients, ts.URL, func(int) []byte { return body }, 200)
	})
	b.Run("accepted-sqlite", func(b *testing.B) {
		ts := benchServer(b, sqliteStore(b))
		bodies := preMint(b, ts.URL, b.N)
		load(b, clients, ts.URL+"/report", func(i int) []byte { return bodies[i] }, 200)
	})
	b.Run("accepted-postgres", func(b *testing.B) {
		if os.Getenv(storetest.PostgresEnv) == "" {
			b.Skip("PostgreSQL benchmark skipped: set " + storetest.PostgresEnv)
		}
		st, err := postgres.Open(context.Background(), storetest.PostgresDSN(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		ts := benchServer(b, st)
		bodies := preMint(b, ts.URL, b.N)
		load(b, clients, ts.URL+"/report", func(i int) []byte { return bodies[i] }, 200)
	})
	b.Run("rejected-bad-stamp", func(b *testing.B) {
		ts := benchServer(b, sqliteStore(b))
		var r usage.ReportRequest
		json.Unmarshal(preMint(b, ts.URL, 1)[0], &r)
		r.Pow = unworkedBits(r.Pow, benchBits)
		body, _ := json.Marshal(r)
		load(b, clients, ts.URL+"/report", func(int) []byte { return body }, 400)
	})
}

func unworkedBits(stamp string, bits int) string {
	for n := 0; ; n++ {
		s := fmt.Sprintf("%s%x", stamp[:len(stamp)-1], n)
		if hashcash.LeadingZeroBits(s) < bits {
			return s
		}
	}
}

// seedFleet stores n reports from servers servers (in clusters of 10)
// spread over the last 60 days, with concurrent inserts so they are group
// committed.
func seedFleet(b *testing.B, st store.Store, n, servers int) {
	b.Helper()
	now := time.Now()
	versions := []string{"v2.4.0", "v2.5.0", "v2.6.0", "v2.6.1", "v2.7.0"}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 128 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				s := i % servers
				recv := now.Add(-time.Duration(n-i) * 60 * 24 * time.Hour / time.Duration(n))
				r := &store.Report{Received: recv, ReportTime: recv, ClusterID: fmt.Sprintf("cluster-%d", s/10),
					ServerID: fmt.Sprintf("server-%d", s), Version: versions[(s+i/(n/5+1))%len(versions)],
					OS: []string{"linux", "darwin"}[s%2], Arch: []string{"amd64", "arm64"}[s/2%2], Uptime: int64(i),
					Stamp: fmt.Sprintf("1:20:250101:seed%d::salt:%x", i, i)}
				if i < servers {
					r.Extra = fmt.Appendf(nil, `{"endpoints":%d,"methods":{"GET":1}}`, s%300)
				}
				if err := st.Insert(context.Background(), r); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkStats1M measures GET /api/stats over loopback with 1,000,000
// stored reports in SQLite (seeding takes a while and is not timed).
// USAGE_BENCH_STATS_SERVERS sets the fleet size (default 20,000).
func BenchmarkStats1M(b *testing.B) {
	servers := 20_000
	if v := os.Getenv("USAGE_BENCH_STATS_SERVERS"); v != "" {
		fmt.Sscan(v, &servers)
	}
	st := sqliteStore(b)
	start := time.Now()
	seedFleet(b, st, 1_000_000, servers)
	b.Logf("seeded 1,000,000 reports from %d servers in %s", servers, time.Since(start).Round(time.Second))
	ts := benchServer(b, st)
	b.ResetTimer()
	var worst time.Duration
	for b.Loop() {
		t0 := time.Now()
		resp, err := http.Get(ts.URL + "/api/stats")
		if err != nil {
			b.Fatal(err)
		}
		var s store.Stats
		err = json.NewDecoder(resp.Body).Decode(&s)
		resp.Body.Close()
		if err != nil || s.Reports != 1_000_000 {
			b.Fatalf("stats: %v, %d reports", err, s.Reports)
		}
		worst = max(worst, time.Since(t0))
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
}

// nopStore is a collector's store whose Insert stores nothing and answers
// at once: the side-by-side benchmark's "no-op" target, which measures the
// accepted path's cost without the database (HTTP, JSON, token, hash and
// stamp checks). Everything else is a real SQLite store.
type nopStore struct{ store.Store }

func (nopStore) Insert(context.Context, *store.Report) error { return nil }

// BenchmarkReportsSideBySide alternates, second by second, the trivial
// handler, the collector with a no-op store, and accepted reports into
// SQLite and into PostgreSQL, 64 clients each, for rounds × 1 s each, and
// reports each collector's rate as a share of the trivial handler's over
// the same rounds. Interleaving keeps a shared host's background load from
// favouring whichever ran first. The no-op target bounds what any store
// could reach on this host: the rest of the gap is the store's.
func BenchmarkReportsSideBySide(b *testing.B) {
	const clients, rounds, slice = 64, 6, time.Second
	type target struct {
		name   string
		url    string
		bodies [][]byte
		next   atomic.Int64
		done   int64
	}
	sq := benchServer(b, sqliteStore(b))
	nop := benchServer(b, nopStore{sqliteStore(b)})
	targets := []*target{{name: "trivial"}, {name: "sqlite", url: sq.URL + "/report"}, {name: "noop", url: nop.URL + "/report"}}
	triv := httptest.NewServer(http.HandlerFunc(trivialHandler))
	defer triv.Close()
	targets[0].url = triv.URL
	if os.Getenv(storetest.PostgresEnv) != "" {
		st, err := postgres.Open(context.Background(), storetest.PostgresDSN(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		targets = append(targets, &target{name: "postgres", url: benchServer(b, st).URL + "/report"})
	}
	// Enough stamps for 40k reports/s per slice.
	for _, t := range targets[1:] {
		t.bodies = preMint(b, t.url[:len(t.url)-len("/report")], rounds*40_000)
	}
	targets[0].bodies = targets[1].bodies[:1]
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	run := func(t *target) {
		deadline := time.Now().Add(slice)
		var wg sync.WaitGroup
		var n atomic.Int64
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					i := int(t.next.Add(1) - 1)
					body := t.bodies[0]
					if len(t.bodies) > 1 {
						if i >= len(t.bodies) {
							return
						}
						body = t.bodies[i]
					}
					resp, err := client.Post(t.url, "application/json", bytes.NewReader(body))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("%s: got %d", t.name, resp.StatusCode)
						return
					}
					n.Add(1)
				}
			}()
		}
		wg.Wait()
		t.done += n.Load()
	}
	for b.Loop() {
		for range rounds {
			for _, t := range targets {
				run(t)
			}
		}
	}
	secs := float64(rounds) * slice.Seconds() * float64(b.N)
	for _, t := range targets {
		b.ReportMetric(float64(t.done)/secs, t.name+"/s")
		if t != targets[0] {
			b.ReportMetric(100*float64(t.done)/float64(targets[0].done), t.name+"-%")
		}
	}
}

// BenchmarkInsert measures the store alone, without HTTP: 64 goroutines
// insert reports for 3 s through Store.Insert, from one server (as the
// side-by-side benchmark sends) and from 10,000 servers in 1,000 clusters
// (a fleet, where nearly every report of a batch has another server and
// cluster row to read and write).
func BenchmarkInsert(b *testing.B) {
	backends := map[string]func(b *testing.B) store.Store{"sqlite": sqliteStore}
	if os.Getenv(storetest.PostgresEnv) != "" {
		backends["postgres"] = func(b *testing.B) store.Store {
			st, err := postgres.Open(context.Background(), storetest.PostgresDSN(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st
		}
	}
	for _, name := range []string{"sqlite", "postgres"} {
		open := backends[name]
		for _, servers := range []int64{1, 10_000} {
			b.Run(fmt.Sprintf("%s/servers=%d", name, servers), func(b *testing.B) {
				if open == nil {
					b.Skip("PostgreSQL benchmark skipped: set " + storetest.PostgresEnv)
				}
				for b.Loop() {
					benchInsert(b, open(b), servers)
				}
			})
		}
	}
}

func benchInsert(b *testing.B, st store.Store, servers int64) {
	const clients, span = 64, 3 * time.Second
	now := time.Now()
	day := now.UTC().Format("060102")
	var next atomic.Int64
	var wg sync.WaitGroup
	deadline := now.Add(span)
	for range clients {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				i := next.Add(1)
				r := &store.Report{Received: time.Now(), ReportTime: now, Version: "v2.6.0", OS: "linux", Arch: "amd64",
					ClusterID: fmt.Sprintf("c%d", i%servers/10), ServerID: fmt.Sprintf("s%d", i%servers),
					Extra: []byte(`{"endpoints":12}`), Stamp: fmt.Sprintf("1:4:%s:bench-token-and-hash::salt%d:%x", day, i, i)}
				if err := st.Insert(context.Background(), r); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(next.Load())/span.Seconds(), "reports/s")
}

package interop

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	original "github.com/krakend/krakend-usage/v2"

	"github.com/krakend-usage/krakend-usage/collector"
	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/collector/store/sqlite"
	"github.com/krakend-usage/krakend-usage/usage"
)

// newCollector runs a collector requiring bits over a real SQLite file on
// a loopback HTTP server.
func newCollector(t *testing.T, bits uint) (string, store.Store) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "usage.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv, err := collector.New(st, collector.Config{Bits: bits, Expiration: mintBudget, Secret: []byte("interop-test-key-0123456789")})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts.URL, st
}

// mintBudget is how long the original client may take to mint and send a
// report. Its minter is slow (catalinc: about 2 M hashes/s, so a 20-bit
// stamp takes about half a second on average) and its report timeout (15 s
// by default) includes the minting: under -race on a busy 2-core host one
// 20-bit stamp has taken more than a minute. The original's Timeout, the
// collector's freshness window and the wait for stored reports all get this
// budget, so the test checks interoperability, not the host's speed.
const mintBudget = 10 * time.Minute

// waitReports polls until n reports are stored.
func waitReports(t *testing.T, st store.Store, n int) []store.Report {
	t.Helper()
	deadline := time.Now().Add(mintBudget)
	for {
		rs, err := st.Recent(context.Background(), n+1)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) >= n {
			if len(rs) > n {
				t.Fatalf("got %d reports, want %d", len(rs), n)
			}
			return rs
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d reports after %s, want %d", len(rs), mintBudget, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var extra = []byte(`{"endpoints":7,"methods":{"GET":5,"POST":2},"backends":9,"async_agents":0}`)

func TestOriginalClient(t *testing.T) {
	for _, tt := range []struct {
		name string
		bits uint // 0: the original's default, 20
	}{
		{"12 bits", 12},
		{"default 20 bits", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.bits == 0 && testing.Short() {
				t.Skip("20-bit minting skipped in -short mode")
			}
			want := tt.bits
			if want == 0 {
				want = 20
			}
			url, st := newCollector(t, want)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			err := original.Report(ctx, original.Options{
				ClusterID: "orig-cluster", ServerID: "orig-server", URL: url, Version: "v2.1.0-orig",
				HashBits: tt.bits, ExtraPayload: extra, ReportLapse: time.Hour, Timeout: mintBudget,
			}, nil)
			if err != nil {
				t.Fatalf("original Report: %v", err)
			}
			r := waitReports(t, st, 1)[0]
			if r.ClusterID != "orig-cluster" || r.ServerID != "orig-server" || r.Version != "v2.1.0-orig" || !bytes.Equal(r.Extra, extra) {
				t.Errorf("stored %+v", r)
			}
			s, err := st.Stats(context.Background(), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if s.Endpoints[2].Label != "6-10" || s.Endpoints[2].Servers != 1 {
				t.Errorf("endpoints %+v, want one server in 6-10", s.Endpoints)
			}
		})
	}
}

// TestOriginalSingleReports drives the original Reporter by hand: each
// report is accepted, and one with a forged token is refused.
func TestOriginalSingleReports(t *testing.T) {
	url, st := newCollector(t, 8)
	rep, err := original.New(original.Options{ClusterID: "c", ServerID: "s", URL: url, HashBits: 8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := rep.SingleReport(context.Background()); err != nil {
			t.Fatalf("SingleReport: %v", err)
		}
	}
	waitReports(t, st, 3)

	// The original client with a forged token is refused.
	rep.Token = "forged"
	if err := rep.SingleReport(context.Background()); err == nil {
		t.Error("report with a forged token accepted")
	}
	waitReports(t, st, 3)
}

func TestOurReporter(t *testing.T) {
	url, st := newCollector(t, 12)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := usage.Report(ctx, usage.Options{
		ClusterID: "ours-cluster", ServerID: "ours-server", URL: url, Version: "v0.1.0",
		HashBits: 8, ExtraPayload: extra, ReportLapse: time.Hour, Client: &http.Client{},
	}, nil); err != nil {
		t.Fatal(err)
	}
	// The reporter mints 8 bits, the collector asks for 12 in its session
	// reply: the report must honour the collector's difficulty.
	r := waitReports(t, st, 1)[0]
	if r.ClusterID != "ours-cluster" || r.ServerID != "ours-server" || !bytes.Equal(r.Extra, extra) {
		t.Errorf("stored %+v", r)
	}
}

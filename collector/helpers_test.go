package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/collector/store/sqlite"
	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/hashcash"
)

const testBits = 8

var testKey = []byte("0123456789abcdef0123456789abcdef")

type env struct {
	t     *testing.T
	srv   *Server
	ts    *httptest.Server
	store store.Store
}

// newEnv runs a collector over a real SQLite file on a loopback server.
func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "usage.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newEnvWith(t, st, cfg)
}

// newEnvWith runs a collector over st on a loopback server.
func newEnvWith(t *testing.T, st store.Store, cfg Config) *env {
	t.Helper()
	if cfg.Bits == 0 {
		cfg.Bits = testBits
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Secret == nil {
		cfg.Secret = testKey
	}
	srv, err := New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &env{t: t, srv: srv, ts: ts, store: st}
}

// post sends body (a value to encode, or []byte/string as is) and returns
// the status and decoded reply.
func (e *env) post(path string, body any) (int, map[string]any, http.Header) {
	e.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			e.t.Fatal(err)
		}
	}
	resp, err := http.Post(e.ts.URL+path, "application/json", bytes.NewReader(raw))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	return decode(e.t, resp)
}

func decode(t *testing.T, resp *http.Response) (int, map[string]any, http.Header) {
	t.Helper()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("reply %d is not JSON: %q", resp.StatusCode, data)
	}
	return resp.StatusCode, m, resp.Header
}

func (e *env) session(cluster, server string) string {
	e.t.Helper()
	code, m, _ := e.post("/session", usage.SessionRequest{ClusterID: cluster, ServerID: server})
	if code != 200 {
		e.t.Fatalf("session: got %d %v", code, m)
	}
	return m["token"].(string)
}

func (e *env) reports() int64 {
	e.t.Helper()
	st, err := e.store.Stats(context.Background(), time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return st.Reports
}

// validReport builds a report for token with a freshly minted stamp.
func validReport(t testing.TB, token, cluster, server string, bits uint) *usage.ReportRequest {
	t.Helper()
	req := &usage.ReportRequest{Token: token, Data: usage.UsageData{
		Version: "v2.6.0", Arch: "amd64", OS: "linux", ClusterID: cluster, ServerID: server,
		Uptime: 10, Time: time.Now().Unix(), Extra: []byte(`{"endpoints":12,"methods":{"GET":8,"POST":4}}`),
	}}
	mint(t, req, &hashcash.Minter{Bits: bits})
	return req
}

func mint(t testing.TB, req *usage.ReportRequest, m *hashcash.Minter) {
	t.Helper()
	h, err := req.Data.Hash()
	if err != nil {
		t.Fatal(err)
	}
	if req.Pow, err = m.Mint(req.Token + h); err != nil {
		t.Fatal(err)
	}
}

package collector

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/krakend-usage/krakend-usage/collector/store/postgres"
	"github.com/krakend-usage/krakend-usage/collector/store/storetest"
	"github.com/krakend-usage/krakend-usage/usage"
)

// TestTwoCollectorsPostgres: two collectors on one PostgreSQL database
// share the token key kept there, accept each other's tokens, and store a
// report sent to both (a retry through another collector) once.
func TestTwoCollectorsPostgres(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	var envs [2]*env
	for i := range envs {
		st, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		key, err := st.Secret(context.Background(), []byte(fmt.Sprintf("key of collector %d, 32 bytes", i)))
		if err != nil {
			t.Fatal(err)
		}
		srv, err := New(st, Config{Bits: testBits, Secret: key})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv)
		t.Cleanup(ts.Close)
		envs[i] = &env{t: t, srv: srv, ts: ts, store: st}
	}
	a, b := envs[0], envs[1]
	tok := a.session("c", "s")
	r := validReport(t, tok, "c", "s", testBits)
	if code, m, _ := b.post("/report", r); code != 200 {
		t.Fatalf("report to the other collector: got %d %v, want 200", code, m)
	}
	if code, m, _ := a.post("/report", r); code != 200 {
		t.Errorf("the same report to the first collector: got %d %v, want 200 (already stored)", code, m)
	}
	if n := a.reports(); n != 1 {
		t.Errorf("got %d reports, want 1", n)
	}
	rep, err := usage.New(usage.Options{ClusterID: "c2", ServerID: "s2", URL: b.ts.URL, HashBits: testBits}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.SingleReport(context.Background()); err != nil {
		t.Fatalf("our reporter: %v", err)
	}
	if n := a.reports(); n != 2 {
		t.Errorf("got %d reports, want 2", n)
	}
}

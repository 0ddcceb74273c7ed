package collector

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/hashcash"
)

func TestReportAccepted(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.session("cluster-1", "server-1")
	code, m, _ := e.post("/report", validReport(t, tok, "cluster-1", "server-1", testBits))
	if code != 200 || m["status"] != float64(200) {
		t.Fatalf("got %d %v, want 200 {\"status\":200}", code, m)
	}
	recent, err := e.store.Recent(t.Context(), 1)
	if err != nil || len(recent) != 1 {
		t.Fatalf("Recent: %v %v", recent, err)
	}
	if r := recent[0]; r.ClusterID != "cluster-1" || r.ServerID != "server-1" || r.Version != "v2.6.0" ||
		!strings.Contains(string(r.Extra), `"endpoints":12`) || r.Stamp == "" {
		t.Errorf("stored %+v", r)
	}
}

// TestReportRejections is the matrix of bad and hostile reports: each is
// answered with its 4xx as JSON {"status","message"} and stores nothing.
func TestReportRejections(t *testing.T) {
	e := newEnv(t, Config{MaxBody: 64 << 10})
	const cl, sv = "cluster-r", "server-r"
	tok := e.session(cl, sv)
	accepted := validReport(t, tok, cl, sv, testBits)
	if code, m, _ := e.post("/report", accepted); code != 200 {
		t.Fatalf("valid report: got %d %v", code, m)
	}
	foreign := (&signer{key: []byte("another collector's key!!")}).issue(cl, sv, time.Now())
	other := e.session("cluster-x", "server-x")

	tests := []struct {
		name string
		code int
		body func() any
	}{
		{"malformed JSON", 400, func() any { return `{"token":` }},
		{"JSON array", 400, func() any { return `[1,2]` }},
		{"extra not base64", 400, func() any {
			return fmt.Sprintf(`{"token":%q,"pow":"x","data":{"extra":"%%%%%%"}}`, tok)
		}},
		{"empty token", 401, func() any { r := validReport(t, "", cl, sv, testBits); return r }},
		{"forged token", 401, func() any { return validReport(t, "bm90IGEgdG9rZW4.c2lnbmF0dXJl", cl, sv, testBits) }},
		{"foreign collector's token", 401, func() any { return validReport(t, foreign, cl, sv, testBits) }},
		{"tampered token", 401, func() any { return validReport(t, tamper(tok), cl, sv, testBits) }},
		{"token of other IDs", 403, func() any { return validReport(t, other, cl, sv, testBits) }},
		{"data IDs changed", 403, func() any { return validReport(t, tok, cl, "someone-else", testBits) }},
		{"report too old", 400, func() any {
			r := validReport(t, tok, cl, sv, testBits)
			r.Data.Time -= 120
			mint(t, r, &hashcash.Minter{Bits: testBits})
			return r
		}},
		{"report from the future", 400, func() any {
			r := validReport(t, tok, cl, sv, testBits)
			r.Data.Time += 120
			mint(t, r, &hashcash.Minter{Bits: testBits})
			return r
		}},
		{"stamp garbage", 400, func() any { r := validReport(t, tok, cl, sv, testBits); r.Pow = "garbage"; return r }},
		{"stamp empty", 400, func() any { r := validReport(t, tok, cl, sv, testBits); r.Pow = ""; return r }},
		{"stamp version 2", 400, func() any { r := validReport(t, tok, cl, sv, testBits); r.Pow = "2" + r.Pow[1:]; return r }},
		{"stamp weak", 400, func() any { return validReport(t, tok, cl, sv, testBits-4) }},
		{"stamp zero bits", 400, func() any {
			r := validReport(t, tok, cl, sv, testBits)
			r.Pow = strings.Replace(r.Pow, fmt.Sprintf("1:%d:", testBits), "1:0:", 1)
			return r
		}},
		{"stamp dated 3 days ago", 400, func() any {
			r := validReport(t, tok, cl, sv, testBits)
			mint(t, r, &hashcash.Minter{Bits: testBits, Now: func() time.Time { return time.Now().Add(-72 * time.Hour) }})
			return r
		}},
		{"stamp for other data", 400, func() any {
			r := validReport(t, tok, cl, sv, testBits)
			r.Data.Uptime++ // tampered after minting
			return r
		}},
		{"stamp for other token", 400, func() any {
			r := validReport(t, other, cl, sv, testBits)
			r.Token = tok
			return r
		}},
		{"stamp without the work", 400, func() any {
			r := validReport(t, tok, cl, sv, testBits)
			r.Pow = unworked(r.Pow)
			return r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.reports()
			code, m, _ := e.post("/report", tt.body())
			if code != tt.code {
				t.Errorf("got %d %v, want %d", code, m, tt.code)
			}
			if m["status"] != float64(code) || m["message"] == "" || m["message"] == nil {
				t.Errorf("reply %v, want {\"status\":%d,\"message\":...}", m, code)
			}
			if after := e.reports(); after != before {
				t.Errorf("reports went from %d to %d", before, after)
			}
		})
	}

	t.Run("GET", func(t *testing.T) {
		resp, err := http.Get(e.ts.URL + "/report")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		code, m, h := decode(t, resp)
		if code != 405 || m["status"] != float64(405) || h.Get("Allow") != "POST" {
			t.Errorf("got %d %v Allow %q, want 405 and Allow POST", code, m, h.Get("Allow"))
		}
	})
	t.Run("oversize body", func(t *testing.T) {
		r := validReport(t, tok, cl, sv, testBits)
		r.Data.Extra = bytes.Repeat([]byte("x"), 100<<10)
		code, m, _ := e.post("/report", r)
		if code != 413 || m["status"] != float64(413) {
			t.Errorf("got %d %v, want 413", code, m)
		}
	})
	t.Run("oversize chunked body", func(t *testing.T) {
		body := io.MultiReader(strings.NewReader(`{"token":"`), strings.NewReader(strings.Repeat("a", 100<<10)))
		resp, err := http.Post(e.ts.URL+"/report", "application/json", body)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if code, m, _ := decode(t, resp); code != 413 {
			t.Errorf("got %d %v, want 413", code, m)
		}
	})
	if n := e.reports(); n != 1 {
		t.Errorf("stored %d reports, want only the valid one", n)
	}
}

// tamper flips one byte of the token's payload, keeping its signature.
func tamper(tok string) string {
	enc, sig, _ := strings.Cut(tok, ".")
	p, _ := b64.DecodeString(enc)
	p[len(p)-1] ^= 1
	return b64.EncodeToString(p) + "." + sig
}

// unworked changes the counter until the digest no longer has the
// claimed zero bits.
func unworked(stamp string) string {
	i := strings.LastIndexByte(stamp, ':')
	for n := 0; ; n++ {
		s := fmt.Sprintf("%s:%x", stamp[:i], n)
		if hashcash.LeadingZeroBits(s) < testBits {
			return s
		}
	}
}

func TestReportExpiredToken(t *testing.T) {
	var skew atomic.Int64
	e := newEnv(t, Config{TokenTTL: time.Hour, Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	tok := e.session("c", "s")
	skew.Store(int64(2 * time.Hour))
	r := validReport(t, tok, "c", "s", testBits)
	r.Data.Time = time.Now().Add(2 * time.Hour).Unix()
	mint(t, r, &hashcash.Minter{Bits: testBits})
	if code, m, _ := e.post("/report", r); code != 401 {
		t.Errorf("got %d %v, want 401", code, m)
	}
	// A new session works again: what our reporter does on 401.
	tok = e.session("c", "s")
	r = validReport(t, tok, "c", "s", testBits)
	r.Data.Time = time.Now().Add(2 * time.Hour).Unix()
	mint(t, r, &hashcash.Minter{Bits: testBits})
	if code, m, _ := e.post("/report", r); code != 200 {
		t.Errorf("after a new session: got %d %v, want 200", code, m)
	}
}

// TestReportLargeExtra: the original client's own test sends a 1 MiB
// extra payload; the default body limit takes it, and the report counts,
// but an extra above usage.MaxStoredExtra is not kept.
func TestReportLargeExtra(t *testing.T) {
	e := newEnv(t, Config{})
	for i, size := range []int{usage.MaxStoredExtra, usage.MaxStoredExtra + 1, 1 << 20} {
		tok := e.session("c", "s")
		r := validReport(t, tok, "c", "s", testBits)
		r.Data.Extra = bytes.Repeat([]byte{0xa5}, size)
		mint(t, r, &hashcash.Minter{Bits: testBits})
		if code, m, _ := e.post("/report", r); code != 200 {
			t.Fatalf("extra of %d bytes: got %d %v, want 200", size, code, m)
		}
		if n := e.reports(); n != int64(i+1) {
			t.Fatalf("extra of %d bytes: %d reports stored, want %d", size, n, i+1)
		}
		rs, err := e.store.Recent(t.Context(), 1)
		if err != nil {
			t.Fatal(err)
		}
		if keep := size <= usage.MaxStoredExtra; (len(rs[0].Extra) == size) != keep || (!keep && rs[0].Extra != nil) {
			t.Errorf("extra of %d bytes: stored %d bytes, want it kept: %v", size, len(rs[0].Extra), keep)
		}
	}
}

// TestReportRetryIsNotStoredTwice: the identical report sent again (a
// retry after a lost answer) is answered 200, counted as a duplicate, and
// stored once.
func TestReportRetryIsNotStoredTwice(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.session("c", "s")
	r := validReport(t, tok, "c", "s", testBits)
	for i := range 3 {
		if code, m, _ := e.post("/report", r); code != 200 || m["status"] != float64(200) {
			t.Fatalf("send %d: got %d %v, want 200", i+1, code, m)
		}
	}
	if n := e.reports(); n != 1 {
		t.Errorf("stored %d reports, want 1", n)
	}
	_, body := get(t, e.ts.URL+"/metrics")
	for _, want := range []string{"usage_collector_reports_duplicate_total 2", "usage_collector_reports_accepted_total 1"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// The same stamp on other data is no retry: it fails verification.
	r.Data.Uptime++
	if code, m, _ := e.post("/report", r); code != 400 {
		t.Errorf("stamp reused on other data: got %d %v, want 400", code, m)
	}
}

func TestReportWithOurReporter(t *testing.T) {
	e := newEnv(t, Config{})
	rep, err := usage.New(usage.Options{ClusterID: "c", ServerID: "s", URL: e.ts.URL, Version: "v1", HashBits: testBits,
		ExtraPayload: []byte(`{"endpoints":3}`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.SingleReport(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := e.reports(); n != 1 {
		t.Errorf("got %d reports, want 1", n)
	}
	var st struct {
		Endpoints []struct {
			Label   string
			Servers int64
		}
	}
	resp, err := http.Get(e.ts.URL + "/api/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(&st)
	if st.Endpoints[1].Label != "1-5" || st.Endpoints[1].Servers != 1 {
		t.Errorf("endpoints %+v, want one server in 1-5", st.Endpoints)
	}
}

package collector

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/internal/httpx"
	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/hashcash"
)

var fuzzNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func fuzzServer(t testing.TB) *Server {
	s, err := New(nil, Config{Bits: 4, SessionRate: -1, Secret: testKey, Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return fuzzNow }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// FuzzReportVerify feeds report bodies to the collector's decoding and
// verification. Whatever the input: no panic; a refusal is a 4xx with a
// known reason; an accepted report has every field within usage's rules
// and a stored extra within usage.MaxStoredExtra.
func FuzzReportVerify(f *testing.F) {
	s := fuzzServer(f)
	tok := s.tokens.issue("c", "s", fuzzNow)
	valid := &usage.ReportRequest{Token: tok, Data: usage.UsageData{Version: "2.13.2", OS: "linux", Arch: "amd64",
		ClusterID: "c", ServerID: "s", Uptime: 60, Time: fuzzNow.Unix(), Extra: []byte(`{"endpoints":3}`)}}
	h, _ := valid.Data.Hash()
	valid.Pow, _ = (&hashcash.Minter{Bits: 4, Now: func() time.Time { return fuzzNow }}).Mint(tok + h)
	b, _ := json.Marshal(valid)
	f.Add(b)
	f.Add([]byte(strings.Replace(string(b), `"linux"`, `"Linux\u0000"`, 1)))
	f.Add([]byte(strings.Replace(string(b), `"uptime":60`, `"uptime":-1`, 1)))
	f.Add([]byte(`{"token":"` + tok + `","pow":"1:4:261128:x::y:0","data":{"cluster_id":"c","server_id":"s"}}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"data":{"extra":"AAAA"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		rep, err := s.verify(body, fuzzNow)
		if err != nil {
			var e *httpx.Error
			if !errors.As(err, &e) || e.Code < 400 || e.Code >= 500 || !slices.Contains(rejectReasons, e.Reason) || e.Msg == "" {
				t.Fatalf("refusal %#v, want a 4xx httpx.Error with a known reason", err)
			}
			return
		}
		d := usage.UsageData{Version: rep.Version, OS: rep.OS, Arch: rep.Arch, ClusterID: rep.ClusterID, ServerID: rep.ServerID, Uptime: rep.Uptime}
		if err := d.Validate(); err != nil {
			t.Fatalf("accepted a report that fails usage's rules: %v", err)
		}
		if len(rep.Extra) > usage.MaxStoredExtra || (rep.ExtraOmitted && rep.Extra != nil) {
			t.Fatalf("extra of %d bytes kept (omitted: %v)", len(rep.Extra), rep.ExtraOmitted)
		}
		if len(rep.Stamp) > MaxStamp {
			t.Fatalf("accepted a stamp of %d bytes", len(rep.Stamp))
		}
	})
}

// FuzzSessionBody feeds session bodies to the session handler: the answer
// is 200 with a token only for IDs within usage.ValidateID, and otherwise
// a 4xx JSON error.
func FuzzSessionBody(f *testing.F) {
	s := fuzzServer(f)
	f.Add([]byte(`{"cluster_id":"c","server_id":"s"}`))
	f.Add([]byte(`{"cluster_id":"c\u0000","server_id":"s"}`))
	f.Add([]byte(`{"cluster_id":"` + strings.Repeat("c", 129) + `","server_id":"s"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/session", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/json")
		s.ServeHTTP(w, r)
		var reply struct {
			Token  string
			Status int
		}
		if err := json.Unmarshal(w.Body.Bytes(), &reply); err != nil {
			t.Fatalf("answer %d is not JSON: %q", w.Code, w.Body)
		}
		var req usage.SessionRequest
		jsonErr := json.Unmarshal(body, &req)
		ok := jsonErr == nil && usage.ValidateID("cluster_id", req.ClusterID) == nil && usage.ValidateID("server_id", req.ServerID) == nil
		switch {
		case w.Code == http.StatusOK && (!ok || reply.Token == ""):
			t.Fatalf("200 %q for a body that should be refused", w.Body)
		case w.Code != http.StatusOK && (w.Code < 400 || w.Code >= 500 || reply.Status != w.Code):
			t.Fatalf("answer %d %q, want a 4xx JSON error", w.Code, w.Body)
		case w.Code != http.StatusOK && ok && len(body) <= maxSessionBody:
			t.Fatalf("refused valid IDs: %d %q", w.Code, w.Body)
		}
	})
}

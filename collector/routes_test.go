package collector

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/krakend-usage/krakend-usage/usage"
)

// TestConfigPathsAreErrors: an endpoint path the mux would panic on, or
// one shadowing the collector's own routes, is a *ConfigError from New.
func TestConfigPathsAreErrors(t *testing.T) {
	for _, p := range []string{"/metrics", "/healthz", "/a b", "/", "/api/stats", "/api/x", "/static/x", "/static",
		"report", "/x/../y", "/x//y", "/{x}", "/x?y", "/é", "/x\x00"} {
		for _, field := range []string{"SessionPath", "ReportPath"} {
			cfg := Config{Secret: testKey}
			if field == "SessionPath" {
				cfg.SessionPath = p
			} else {
				cfg.ReportPath = p
			}
			var ce *ConfigError
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s %q: New panicked: %v", field, p, r)
					}
				}()
				_, err := New(nil, cfg)
				if !errors.As(err, &ce) || ce.Field != field {
					t.Errorf("%s %q: got %v, want a ConfigError naming %s", field, p, err, field)
				}
			}()
		}
	}
	for name, cfg := range map[string]Config{
		"bits above usage.MaxHashBits": {Secret: testKey, Bits: usage.MaxHashBits + 1},
		"header without proxies":       {Secret: testKey, ClientIPHeader: "X-Forwarded-For"},
		"body memory below two bodies": {Secret: testKey, BodyMemory: 3 << 20},
	} {
		if _, err := New(nil, cfg); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	if _, err := New(nil, Config{Secret: testKey, SessionPath: "/v1/session", ReportPath: "/v1/report"}); err != nil {
		t.Errorf("nested paths: %v", err)
	}
}

// TestClientIPHeaderTrustedOnly: X-Forwarded-For is believed only from a
// trusted proxy, so a client cannot pick a fresh address per session.
func TestClientIPHeaderTrustedOnly(t *testing.T) {
	loopback := netip.MustParsePrefix("127.0.0.0/8")
	for _, tt := range []struct {
		name    string
		proxies []netip.Prefix
		spoofOK bool // whether rotating the header escapes the limit
	}{
		{"untrusted peer", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, false},
		{"trusted peer", []netip.Prefix{loopback}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Config{SessionRate: 0.001, SessionBurst: 2, ClientIPHeader: "X-Forwarded-For", TrustedProxies: tt.proxies})
			limited := 0
			for i := range 10 {
				req, _ := http.NewRequest("POST", e.ts.URL+"/session", strings.NewReader(`{"cluster_id":"c","server_id":"s"}`))
				req.Header.Set("X-Forwarded-For", "198.51.100."+string(rune('0'+i))+", 127.0.0.1")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode == 429 {
					limited++
				}
			}
			if got := limited == 0; got != tt.spoofOK {
				t.Errorf("%d of 10 sessions limited; want the header believed: %v", limited, tt.spoofOK)
			}
		})
	}
}

// TestUnknownAndStaticPaths: unknown paths get the documented JSON error,
// and /static/ lists nothing.
func TestUnknownAndStaticPaths(t *testing.T) {
	e := newEnv(t, Config{})
	for _, p := range []string{"/nope", "/static/", "/static", "/api/", "/api/nope", "/session/x", "/static/../static/"} {
		resp, err := http.Get(e.ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		code, m, h := decode(t, resp)
		resp.Body.Close()
		if code != 404 || m["status"] != float64(404) || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
			t.Errorf("GET %s: got %d %v (%s), want the JSON 404", p, code, m, h.Get("Content-Type"))
		}
	}
	if code, body := get(t, e.ts.URL+"/static/dashboard.css"); code != 200 || len(body) == 0 {
		t.Errorf("a static file: got %d", code)
	}
}

// TestContentType: a report or session sent as a form or text is 415; as
// JSON (with parameters) or without a type it is read.
func TestContentType(t *testing.T) {
	e := newEnv(t, Config{})
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
		for _, p := range []string{"/session", "/report"} {
			resp, err := http.Post(e.ts.URL+p, ct, strings.NewReader(`{"cluster_id":"c","server_id":"s"}`))
			if err != nil {
				t.Fatal(err)
			}
			code, m, _ := decode(t, resp)
			resp.Body.Close()
			if code != 415 {
				t.Errorf("POST %s as %s: got %d %v, want 415", p, ct, code, m)
			}
		}
	}
	for _, ct := range []string{"application/json; charset=utf-8", ""} {
		req, _ := http.NewRequest("POST", e.ts.URL+"/session", strings.NewReader(`{"cluster_id":"c","server_id":"s"}`))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("session as %q: got %d, want 200", ct, resp.StatusCode)
		}
	}
}

// TestAdminRoutesPrivate: with an admin token the dashboard, /api/* and
// /metrics want it; with SeparateAdmin they are not on the intake at all;
// the reporter's endpoints and /healthz stay open.
func TestAdminRoutesPrivate(t *testing.T) {
	admin := []string{"/", "/api/stats", "/metrics", "/static/dashboard.js"}
	t.Run("token", func(t *testing.T) {
		e := newEnv(t, Config{AdminToken: "let-me-in"})
		for _, p := range admin {
			if code, _ := get(t, e.ts.URL+p); code != 401 {
				t.Errorf("GET %s without the token: got %d, want 401", p, code)
			}
			for _, a := range []struct {
				set  func(r *http.Request)
				good bool
			}{
				{func(r *http.Request) { r.Header.Set("Authorization", "Bearer let-me-in") }, true},
				{func(r *http.Request) { r.SetBasicAuth("admin", "let-me-in") }, true}, // a browser
				{func(r *http.Request) { r.Header.Set("Authorization", "Bearer let-me-in!") }, false},
				{func(r *http.Request) { r.SetBasicAuth("let-me-in", "") }, false},
			} {
				req, _ := http.NewRequest("GET", e.ts.URL+p, nil)
				a.set(req)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if (resp.StatusCode == 200) != a.good {
					t.Errorf("GET %s with %q: got %d", p, req.Header.Get("Authorization"), resp.StatusCode)
				}
			}
		}
		if code, _ := get(t, e.ts.URL+"/healthz"); code != 200 {
			t.Errorf("/healthz: got %d, want 200 without a token", code)
		}
		e.session("c", "s")
	})
	t.Run("loopback only by default", func(t *testing.T) {
		// Behind a trusted proxy on this machine, the client is the
		// address the proxy names.
		for _, tc := range []struct {
			cfg  Config
			from string
			want int
		}{
			{Config{}, "", 200},
			{Config{}, "127.0.0.1", 200},
			{Config{}, "198.51.100.7", 403},
			{Config{}, "2001:db8::7", 403},
			{Config{AdminAnywhere: true}, "198.51.100.7", 200},
		} {
			tc.cfg.ClientIPHeader, tc.cfg.TrustedProxies = "X-Forwarded-For", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
			e := newEnv(t, tc.cfg)
			for _, p := range admin {
				req, _ := http.NewRequest("GET", e.ts.URL+p, nil)
				if tc.from != "" {
					req.Header.Set("X-Forwarded-For", tc.from)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.want {
					t.Errorf("GET %s from %q, AdminAnywhere %v: got %d, want %d", p, tc.from, tc.cfg.AdminAnywhere, resp.StatusCode, tc.want)
				}
			}
			if code, _, _ := e.post("/session", usage.SessionRequest{ClusterID: "c", ServerID: "s"}); code != 200 {
				t.Errorf("session: %d", code)
			}
		}
	})
	t.Run("separate listener", func(t *testing.T) {
		e := newEnv(t, Config{SeparateAdmin: true})
		as := httptest.NewServer(e.srv.Admin())
		defer as.Close()
		for _, p := range admin {
			if code, _ := get(t, e.ts.URL+p); code != 404 {
				t.Errorf("GET %s on the intake: got %d, want 404", p, code)
			}
			if code, _ := get(t, as.URL+p); code != 200 {
				t.Errorf("GET %s on the admin listener: got %d, want 200", p, code)
			}
		}
		for _, u := range []string{e.ts.URL, as.URL} {
			if code, _ := get(t, u+"/healthz"); code != 200 {
				t.Errorf("%s/healthz: got %d", u, code)
			}
		}
		if code, _, _ := e.post("/session", usage.SessionRequest{ClusterID: "c", ServerID: "s"}); code != 200 {
			t.Errorf("session on the intake: %d", code)
		}
	})
}

// TestAdminTokenAnyLength: tokens of every length but the right one are
// refused. The comparison is of SHA-256 digests, of one length whatever
// was sent, so how long the refusal takes does not depend on how close
// the length was (subtle.ConstantTimeCompare returns at once on a length
// mismatch).
func TestAdminTokenAnyLength(t *testing.T) {
	e := newEnv(t, Config{AdminToken: "let-me-in"})
	for _, tok := range []string{"", "l", "let-me-i", "let-me-inn", strings.Repeat("x", 4096)} {
		req, _ := http.NewRequest("GET", e.ts.URL+"/api/stats", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("token of %d bytes: got %d, want 401", len(tok), resp.StatusCode)
		}
	}
}

// TestDashboardErrorsAreHTML: a dashboard page that fails answers an HTML
// page a browser shows; /api/* keeps answering JSON.
func TestDashboardErrorsAreHTML(t *testing.T) {
	e := newEnv(t, Config{})
	for _, tc := range []struct {
		path, ctype string
		code        int
	}{
		{"/clusters/unknown-id", "text/html", 404},
		{"/clusters/%3Cscript%3E", "text/html", 404},
		{"/clusters?after=bad", "text/html", 400},
		{"/?days=0", "text/html", 400},
		{"/api/clusters/unknown-id", "application/json", 404},
	} {
		resp, err := http.Get(e.ts.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ctype) {
			t.Errorf("%s: %d %s, want %d %s", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.code, tc.ctype)
		}
		if tc.ctype == "text/html" && (!strings.Contains(string(b), "<h1>") || strings.Contains(string(b), "<script>")) {
			t.Errorf("%s: page %q, want an HTML page with the input escaped", tc.path, b)
		}
	}
}

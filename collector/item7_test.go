package collector

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestDuplicateKeysRefused: a body naming a member twice, in any case, is
// refused and stores nothing.
func TestDuplicateKeysRefused(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.session("dup-c", "dup-s")
	rep := validReport(t, tok, "dup-c", "dup-s", testBits)
	valid, _ := json.Marshal(rep)
	data, _ := json.Marshal(rep.Data)
	dataStr := string(data)
	for _, tc := range []struct{ path, body string }{
		{"/report", `{"token":"garbage","TOKEN":` + strings.TrimPrefix(string(valid), `{"token":`)},
		{"/report", strings.Replace(string(valid), `{"token":`, `{"Token":"garbage","token":`, 1)},
		{"/report", strings.Replace(string(valid), `{"token":`, `{"to\u212aen":"garbage","token":`, 1)}, // KELVIN SIGN folds to k
		{"/report", strings.Replace(string(valid), dataStr, strings.Replace(dataStr, `{`, `{"VERSION":"9.9.9",`, 1), 1)},
		{"/session", `{"cluster_id":"a","server_id":"s","CLUSTER_ID":"b"}`},
	} {
		code, m, _ := e.post(tc.path, tc.body)
		if code != 400 || !strings.Contains(m["message"].(string), "duplicate key") {
			t.Errorf("%s %.60s…: got %d %v, want 400 duplicate key", tc.path, tc.body, code, m)
		}
	}
	if n := e.reports(); n != 0 {
		t.Errorf("%d reports stored, want 0", n)
	}
	if code, m, _ := e.post("/report", valid); code != 200 {
		t.Errorf("the report itself: got %d %v, want 200", code, m)
	}
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

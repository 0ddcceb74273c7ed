package usage

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzReportRequest decodes arbitrary bytes as a collector does: decoding,
// Validate and Hash never panic, and Validate's verdict and the hash the
// proof of work covers survive a JSON round trip, so the reporter and the
// collector cannot disagree about a report they both decoded.
func FuzzReportRequest(f *testing.F) {
	d := validData()
	good, _ := json.Marshal(ReportRequest{Token: "t", Pow: "1:20:261128:t::s:0", Data: d})
	f.Add(good)
	d.Extra = []byte(`{"endpoints":3}`)
	withExtra, _ := json.Marshal(ReportRequest{Token: "t", Data: d})
	f.Add(withExtra)
	for _, s := range []string{
		`{}`, `null`, `[]`, `{"data":null}`, `{"data":{"uptime":-1}}`,
		`{"data":{"version":"\u0000","os":"linux","arch":"amd64","cluster_id":"c","server_id":"s"}}`,
		`{"data":{"version":"\xff\xfe","extra":"!!notbase64"}}`,
		`{"data":{"uptime":1e400}}`, `{"token":"` + strings.Repeat("a", 5000) + `"}`,
		`{"data":{"cluster_id":"a b","server_id":"\u00e9"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var rr ReportRequest
		if json.Unmarshal(b, &rr) != nil {
			return
		}
		verdict := rr.Data.Validate()
		h1, err := rr.Data.Hash()
		if err != nil {
			t.Fatalf("Hash of decoded data: %v", err)
		}
		again, err := json.Marshal(rr)
		if err != nil {
			t.Fatalf("re-encoding decoded request: %v", err)
		}
		var rr2 ReportRequest
		if err := json.Unmarshal(again, &rr2); err != nil {
			t.Fatalf("decoding %s: %v", again, err)
		}
		if got := rr2.Data.Validate(); fieldOf(got) != fieldOf(verdict) {
			t.Fatalf("Validate: %v, after a JSON round trip %v", verdict, got)
		}
		if h2, _ := rr2.Data.Hash(); h2 != h1 {
			t.Fatalf("Hash %s, after a JSON round trip %s", h1, h2)
		}
		if verdict == nil {
			checkValid(t, &rr.Data)
		}
	})
}

// FuzzValidate checks Validate against the rules it documents, field by
// field: it accepts exactly what they allow, and names the first bad field.
func FuzzValidate(f *testing.F) {
	d := validData()
	f.Add(d.Version, d.OS, d.Arch, d.ClusterID, d.ServerID, d.Uptime)
	f.Add("", "linux", "arm64", "c", "s", int64(0))
	f.Add(strings.Repeat("v", MaxVersionLen+1), "Linux", "x86-64", "a b", "", int64(-1))
	f.Add("2.13\x00", "", "", strings.Repeat("c", MaxIDLen+1), "\u00e9", MaxUptime+1)
	f.Fuzz(func(t *testing.T, version, os, arch, cluster, server string, uptime int64) {
		u := UsageData{Version: version, OS: os, Arch: arch, ClusterID: cluster, ServerID: server, Uptime: uptime}
		err := u.Validate()
		var want string
		switch {
		case !refVersion(version):
			want = "version"
		case !refPlatform(os):
			want = "os"
		case !refPlatform(arch):
			want = "arch"
		case !refID(cluster):
			want = "cluster_id"
		case !refID(server):
			want = "server_id"
		case uptime < 0 || uptime > MaxUptime:
			want = "uptime"
		}
		if got := fieldOf(err); got != want {
			t.Fatalf("Validate(%+v) = %v, want a verdict on %q", u, err, want)
		}
		if err != nil && (!errors.Is(err, ErrInvalidField) || len(err.Error()) > 200) {
			t.Fatalf("Validate error %q: not a short *FieldError", err)
		}
		// The same rules guard Options: what New accepts, a collector takes.
		opt := Options{ClusterID: cluster, ServerID: server, Version: version, URL: "http://127.0.0.1:1"}
		if oerr := opt.validate(true); (oerr == nil) != (refID(cluster) && refID(server) && refVersion(version)) {
			t.Fatalf("Options.validate(%q, %q, %q) = %v", cluster, server, version, oerr)
		}
	})
}

// FuzzReplySummary: whatever a server answers with an error status, the
// error is one short line of text, fit for a log.
func FuzzReplySummary(f *testing.F) {
	f.Add(404, "text/html; charset=utf-8", []byte("<!DOCTYPE html>\n<html><body>Not Found</body></html>"))
	f.Add(400, "application/json", []byte(`{"status":400,"message":"bad\nstamp"}`))
	f.Add(503, "text/plain", []byte("database is locked\n"))
	f.Add(500, "", []byte("\x00\xff\xfe"))
	f.Add(502, "text/"+strings.Repeat("x", 5000), []byte("<html>"))
	f.Fuzz(func(t *testing.T, code int, ctype string, body []byte) {
		resp := &http.Response{StatusCode: code, Header: http.Header{"Content-Type": {ctype}}}
		msg := statusError(resp, body).Error()
		if len(msg) > 300 || !utf8.ValidString(msg) ||
			strings.ContainsFunc(msg, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			t.Fatalf("status %d %q body %q: error %q is not one short line", code, ctype, body, msg)
		}
	})
}

func fieldOf(err error) string {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	if err != nil {
		return "not a FieldError: " + err.Error()
	}
	return ""
}

// The reference rules, written out plainly from the documentation.

func refVersion(s string) bool {
	if len(s) > MaxVersionLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func refPlatform(s string) bool {
	if s == "" || len(s) > MaxPlatformLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func refID(s string) bool {
	if s == "" || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func checkValid(t *testing.T, u *UsageData) {
	t.Helper()
	if !refVersion(u.Version) || !refPlatform(u.OS) || !refPlatform(u.Arch) || !refID(u.ClusterID) ||
		!refID(u.ServerID) || u.Uptime < 0 || u.Uptime > MaxUptime {
		t.Fatalf("Validate accepted %+v", u)
	}
}

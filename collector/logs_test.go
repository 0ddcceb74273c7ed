package collector

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/usage/usagetest"
)

// TestRejectedReportsLogged: a refused report is logged with its reason,
// a flood of them only up to a burst, and an accepted one at debug level.
func TestRejectedReportsLogged(t *testing.T) {
	var buf usagetest.Log
	e := newEnv(t, Config{Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	tok := e.session("c", "s")
	if code, m, _ := e.post("/report", validReport(t, tok, "c", "s", testBits)); code != 200 {
		t.Fatalf("valid report: %d %v", code, m)
	}
	if !strings.Contains(buf.String(), "level=DEBUG msg=\"collector: report stored\"") {
		t.Errorf("accepted report not logged at debug:\n%s", buf.String())
	}
	for range 500 {
		e.post("/report", `{"token":"forged"}`)
	}
	lines := strings.Count(buf.String(), "report rejected")
	if lines == 0 || !strings.Contains(buf.String(), "reason=bad_token") {
		t.Fatalf("refused reports not logged with their reason:\n%s", buf.String())
	}
	if lines > logBurst+5 {
		t.Errorf("500 refused reports made %d log lines, want about %d (the burst)", lines, logBurst)
	}
	if strings.Contains(buf.String(), "forged") {
		t.Errorf("the log repeats what the client sent")
	}
}

// TestLogLimiterCountsHeldBack: after the burst, the next line let through
// says how many were held back.
func TestLogLimiterCountsHeldBack(t *testing.T) {
	l := newLogLimiter()
	now := fuzzNow
	for range logBurst {
		if ok, _ := l.allow(now); !ok {
			t.Fatal("burst refused")
		}
	}
	for range 7 {
		if ok, _ := l.allow(now); ok {
			t.Fatal("line allowed past the burst")
		}
	}
	ok, held := l.allow(now.Add(1500 * time.Millisecond))
	if !ok || held != 7 {
		t.Errorf("after a second and a half: allowed %v, held back %d, want true, 7", ok, held)
	}
}

package krakendusage

import (
	"strings"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/internal/testenv"
	"github.com/krakend-usage/krakend-usage/usage/krakend"
	"github.com/krakend-usage/krakend-usage/usage/usagetest"
)

func TestDryRun(t *testing.T) {
	col := usagetest.NewCollector(t, 20)
	l, buf := testLogger(t)
	cfg := serviceWith(t, map[string]interface{}{"url": col.URL, "dry_run": true, "report_lapse": "1h"})
	stop := runServer(t, l, cfg)
	defer stop()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(buf.String(), "Would send a report to "+col.URL+"/report: ") {
		if time.Now().After(deadline) {
			t.Fatalf("no report logged:\n%s", buf.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	log := buf.String()
	testenv.CheckLogLines(t, log, krakend.LogPrefix)
	if !strings.Contains(log, "INFO: [SERVICE: Usage] Dry run, nothing is sent: cluster ID ") {
		t.Errorf("no dry-run start line:\n%s", log)
	}
	session, report := testenv.DryRunRequests(t, log, col.URL)
	hash, _ := ConfigDigest(cfg)
	if session.ClusterID != ClusterID(hash) || report.Data.ClusterID != session.ClusterID {
		t.Errorf("got session %+v and report IDs %s, want cluster ID %s", session, report.Data.ClusterID, ClusterID(hash))
	}
	if got, want := string(report.Data.Extra), string(sentPayload(cfg, krakend.ModeDecorator)); got != want {
		t.Errorf("logged payload %s, want %s", got, want)
	}
	for _, untrue := range []string{"Session opened", "Report accepted"} {
		if strings.Contains(log, untrue) {
			t.Errorf("a dry run logs %q:\n%s", untrue, log)
		}
	}
	if raw := col.Requests(); len(raw) != 0 {
		t.Errorf("dry run sent %d requests", len(raw))
	}
}

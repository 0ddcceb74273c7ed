package krakendusage

import (
	"encoding/json"
	"github.com/krakend-usage/krakend-usage/usage/krakend"
	"strings"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/hashcash"
)

func TestDryRun(t *testing.T) {
	col := newTestCollector(t, 20)
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
	checkLogLines(t, log, krakend.LogPrefix)
	if !strings.Contains(log, "INFO: [SERVICE: Usage] Dry run, nothing is sent: cluster ID ") {
		t.Errorf("no dry-run start line:\n%s", log)
	}
	session, report := dryRunRequests(t, log, col.URL)
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
	if _, _, raw, _ := col.snapshot(); len(raw) != 0 {
		t.Errorf("dry run sent %d requests", len(raw))
	}
}

// dryRunRequests finds the session and report a dry run logged for the
// collector at url, checks that the extra payload is shown as JSON (not
// base64), and returns the report as it would go on the wire, whose
// stamp must verify: the logged line is exactly what would be sent.
func dryRunRequests(t *testing.T, log, url string) (usage.SessionRequest, usage.ReportRequest) {
	t.Helper()
	var session usage.SessionRequest
	var shown struct {
		usage.ReportRequest
		Data struct {
			usage.UsageData
			Extra json.RawMessage `json:"extra"`
		} `json:"data"`
	}
	sessionPrefix, reportPrefix := "Would open a session with "+url+"/session: ", "Would send a report to "+url+"/report: "
	for _, l := range strings.Split(log, "\n") {
		if i := strings.Index(l, sessionPrefix); i >= 0 {
			if err := json.Unmarshal([]byte(l[i+len(sessionPrefix):]), &session); err != nil {
				t.Errorf("session line %q: %v", l, err)
			}
		}
		if i := strings.Index(l, reportPrefix); i >= 0 {
			if err := json.Unmarshal([]byte(l[i+len(reportPrefix):]), &shown); err != nil {
				t.Errorf("report line %q: %v", l, err)
			}
		}
	}
	isUUID5(t, session.ClusterID)
	isUUID5(t, session.ServerID)
	if len(shown.Data.Extra) == 0 || shown.Data.Extra[0] != '{' {
		t.Fatalf("extra payload not shown as a JSON object: %s\n%s", shown.Data.Extra, log)
	}
	report := usage.ReportRequest{Token: shown.Token, Pow: shown.Pow, Data: shown.Data.UsageData}
	report.Data.Extra = []byte(shown.Data.Extra)
	hash, err := report.Data.Hash()
	if err == nil {
		_, err = hashcash.Verify(report.Pow, report.Token+hash, 20, time.Now())
	}
	if err != nil {
		t.Errorf("logged report does not verify: %v\n%s", err, log)
	}
	return session, report
}

// checkLogLines checks the log contract on every line carrying tag:
// exactly one component tag, then a capitalised message that does not
// start with a Go error prefix.
func checkLogLines(t *testing.T, log, tag string) {
	t.Helper()
	n := 0
	for _, l := range strings.Split(log, "\n") {
		i := strings.Index(l, tag)
		if i < 0 {
			continue
		}
		n++
		msg := l[i+len(tag):]
		if strings.Count(l, "[PLUGIN: krakend-usage]")+strings.Count(l, "[SERVICE: Usage]") != 1 ||
			!strings.HasPrefix(msg, " ") || len(msg) < 2 || msg[1] < 'A' || msg[1] > 'Z' ||
			strings.Contains(msg, "usage:") || strings.Contains(msg, "krakend-usage:") || strings.Contains(msg, "(dry run)") {
			t.Errorf("log line breaks the log contract (one tag, then a capitalised message): %q", l)
		}
	}
	if n == 0 {
		t.Errorf("no %s line in the log:\n%s", tag, log)
	}
}

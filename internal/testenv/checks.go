package testenv

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/hashcash"
	"github.com/luraproject/lura/v2/config"
)

// PrivacyMarkers are hidden in the test configs where a careless reporter
// would pick them up. None of them may ever reach a collector.
var PrivacyMarkers = []string{
	"markerhost", "markerpath", "Marker-Header", "markerquery", "markersecret",
	"markerplugin", "markername", "marker/namespace", "markerbackendpath",
}

// MarkerHeaderParsed fails the test unless the header-name marker reached
// the parsed config: a privacy check on a marker the parser dropped (as
// lura v2 drops the KrakenD 1.x key "headers_to_pass") would prove nothing.
func MarkerHeaderParsed(t testing.TB, cfg config.ServiceConfig) {
	t.Helper()
	for _, e := range cfg.Endpoints {
		for _, h := range e.HeadersToPass {
			if strings.EqualFold(h, "X-Marker-Header") {
				return
			}
		}
	}
	t.Fatal("the X-Marker-Header marker is not in the parsed config (input_headers): the privacy check would prove nothing")
}

// IsUUID5 fails the test unless s is a canonical version 5 UUID, as the
// cluster and server IDs are.
func IsUUID5(t testing.TB, s string) {
	t.Helper()
	u, err := uuid.Parse(s)
	if err != nil || u.Version() != 5 || u.String() != s {
		t.Errorf("%q is not a canonical version 5 UUID (%v)", s, err)
	}
}

// CheckLogLines checks the reporter's lines (those holding tag) in a
// gateway's log: exactly one component tag, then a capitalised message
// that does not start with a Go error prefix.
func CheckLogLines(t testing.TB, log, tag string) {
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

// NoEnv is an environment with nothing set, for NewConfigParser.
func NoEnv(string) string { return "" }

// DryRunRequests finds the session and report a dry run logged for the
// collector at url, checks that the extra payload is shown as JSON (not
// base64), and returns the first report as it would go on the wire, whose
// stamp must verify: the logged line is exactly what would be sent.
func DryRunRequests(t testing.TB, log, url string) (usage.SessionRequest, usage.ReportRequest) {
	t.Helper()
	var session usage.SessionRequest
	var shown struct {
		usage.ReportRequest
		Data struct {
			usage.UsageData
			Extra json.RawMessage `json:"extra"`
		} `json:"data"`
	}
	found := false
	sessionPrefix, reportPrefix := "Would open a session with "+url+"/session: ", "Would send a report to "+url+"/report: "
	for _, l := range strings.Split(log, "\n") {
		if i := strings.Index(l, sessionPrefix); i >= 0 {
			if err := json.Unmarshal([]byte(l[i+len(sessionPrefix):]), &session); err != nil {
				t.Errorf("session line %q: %v", l, err)
			}
		}
		// The first report: it carries the extra payload, which a dry run,
		// like a collector's acknowledgement, leaves out of the later ones.
		if i := strings.Index(l, reportPrefix); i >= 0 && !found {
			if err := json.Unmarshal([]byte(l[i+len(reportPrefix):]), &shown); err != nil {
				t.Errorf("report line %q: %v", l, err)
			}
			found = true
		}
	}
	IsUUID5(t, session.ClusterID)
	IsUUID5(t, session.ServerID)
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

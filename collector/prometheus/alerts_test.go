package prometheus

import (
	"bufio"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestAlertRules: alerts.yml is valid for Prometheus, and every rule
// passes its promtool unit tests in alerts_test.yml.
func TestAlertRules(t *testing.T) {
	promtool := tool(t, "promtool")
	for _, args := range [][]string{
		{"check", "rules", "alerts.yml"},
		{"test", "rules", "alerts_test.yml"},
	} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestEveryAlertTested: each alert in alerts.yml has a promtool case where
// it fires and one where it stays silent, so a new rule cannot ship
// untested.
func TestEveryAlertTested(t *testing.T) {
	rules, err := os.ReadFile("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`(?m)^\s*- alert: (\S+)\s*$`).FindAllStringSubmatch(string(rules), -1)
	if len(names) == 0 {
		t.Fatal("no alert in alerts.yml")
	}
	fires, silent := casesByAlert(t, "alerts_test.yml")
	for _, m := range names {
		name := m[1]
		if fires[name] == 0 {
			t.Errorf("alert %s: no case in alerts_test.yml where it fires", name)
		}
		if silent[name] == 0 {
			t.Errorf("alert %s: no case in alerts_test.yml where it stays silent", name)
		}
	}
}

// casesByAlert counts, per alert name, the alert_rule_test cases that
// expect alerts and those that expect none (exp_alerts: []).
func casesByAlert(t *testing.T, path string) (fires, silent map[string]int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fires, silent = map[string]int{}, map[string]int{}
	current := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "alertname:"); ok {
			current = strings.TrimSpace(v)
			continue
		}
		if v, ok := strings.CutPrefix(line, "exp_alerts:"); ok && current != "" {
			v, _, _ = strings.Cut(v, "#")
			if strings.TrimSpace(v) == "[]" {
				silent[current]++
			} else {
				fires[current]++
			}
			current = ""
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return fires, silent
}

package prometheus

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/internal/proctest"
	"github.com/krakend-usage/krakend-usage/usage/usagetest"
)

// The real parts of the dashboard test: the usage-collector binary built
// from this module, and Debian's Prometheus, each a process on loopback.

func TestMain(m *testing.M) {
	code := m.Run()
	proctest.Clean()
	os.Exit(code)
}

// stopOnCleanup ends cmd when the test is over (SIGTERM, then SIGKILL
// after 10 s) and waits for it, before t.TempDir is removed.
func stopOnCleanup(t *testing.T, cmd *exec.Cmd, exited <-chan struct{}) {
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
}

var addrRE = regexp.MustCompile(`addr=(\S+)`)

// startCollector runs the collector binary with -fleet-metrics on a
// loopback port over the SQLite file db, and returns its base URL. Its
// token key is the one kept in the database, so collectors on one file
// accept each other's tokens.
func startCollector(t *testing.T, db string) string {
	t.Helper()
	cmd := exec.Command(proctest.Build(t, "../cmd/usage-collector"), "-listen", "127.0.0.1:0", "-db", "sqlite:"+db, "-bits", "8", "-fleet-metrics")
	cmd.Env = append(os.Environ(), "USAGE_COLLECTOR_SECRET=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs, addr, exited := new(usagetest.Log), make(chan string, 1), make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintln(logs, sc.Text())
			if m := addrRE.FindStringSubmatch(sc.Text()); m != nil && strings.Contains(sc.Text(), "listening") {
				addr <- m[1]
			}
		}
		cmd.Wait()
		close(exited)
	}()
	stopOnCleanup(t, cmd, exited)
	select {
	case a := <-addr:
		return "http://" + a
	case <-exited:
		t.Fatalf("collector exited:\n%s", logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("collector did not start:\n%s", logs)
	}
	return ""
}

// prom is a running Prometheus.
type prom struct {
	url  string
	logs *usagetest.Log
}

// startPrometheus runs Prometheus on a free loopback port with its own
// configuration and storage in t.TempDir: it scrapes the collectors'
// /metrics every second, as job "usage", and evaluates alerts.yml.
func startPrometheus(t *testing.T, exe string, collectors ...string) *prom {
	t.Helper()
	dir := t.TempDir()
	rules, err := filepath.Abs("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, c := range collectors {
		targets = append(targets, fmt.Sprintf("%q", strings.TrimPrefix(c, "http://")))
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: usage
    static_configs:
      - targets: [%s]
`, rules, strings.Join(targets, ", "))
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + proctest.FreePort(t)
	cmd := exec.Command(exe, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	p := &prom{url: "http://" + addr, logs: new(usagetest.Log)}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stopOnCleanup(t, cmd, exited)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(p.url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-exited:
			t.Fatalf("prometheus exited:\n%s", p.logs)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready after 60 s:\n%s", p.logs)
		}
	}
}

// sample is one series of a query answer: its labels and its values (one
// for an instant query).
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value"`
	Values [][]any           `json:"values"`
}

// key is the series' label set, as PromQL prints it.
func (s sample) key() string {
	var parts []string
	for k, v := range s.Metric {
		parts = append(parts, fmt.Sprintf("%s=%q", k, v))
	}
	slices.Sort(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

// value is an instant sample's value, as Prometheus formats it.
func (s sample) value() string {
	if len(s.Value) != 2 {
		return ""
	}
	v, _ := s.Value[1].(string)
	return v
}

// query runs expr through the HTTP API: an instant query at `at`, or a
// range query over the 30 s before it when rng is true.
func (p *prom) query(ctx context.Context, expr string, at time.Time, rng bool) ([]sample, error) {
	q := url.Values{"query": {expr}}
	path := "/api/v1/query"
	if rng {
		path = "/api/v1/query_range"
		q.Set("start", fmt.Sprint(at.Add(-30*time.Second).Unix()))
		q.Set("end", fmt.Sprint(at.Unix()))
		q.Set("step", "2")
	} else {
		q.Set("time", fmt.Sprint(at.Unix()))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+path+"?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: %d, %w", path, resp.StatusCode, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s %q: %s", path, expr, r.Error)
	}
	if r.Data.ResultType != "vector" && r.Data.ResultType != "matrix" {
		return nil, fmt.Errorf("%s %q: result type %s, want a vector", path, expr, r.Data.ResultType)
	}
	var out []sample
	err = json.Unmarshal(r.Data.Result, &out)
	return out, err
}

// instant runs an instant query now and returns its answer by label set.
func (p *prom) instant(t *testing.T, expr string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := p.query(ctx, expr, time.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range res {
		out[s.key()] = s.value()
	}
	return out
}

// waitFor polls expr until it gives want (by label set), for up to 60 s.
func (p *prom) waitFor(t *testing.T, expr string, want map[string]string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := p.instant(t, expr)
		if equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s gives %v after 60 s, want %v\n%s", p.url, expr, got, want, p.logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

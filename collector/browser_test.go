package collector

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/usage/krakend"
)

// chromium finds Debian's Chromium. Without it the browser test skips,
// unless USAGE_TEST_REQUIRE_BROWSER=1 (CI), where it fails.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("USAGE_TEST_REQUIRE_BROWSER") == "1" {
		t.Fatal("chromium not found and USAGE_TEST_REQUIRE_BROWSER=1: install it (apt-get install chromium)")
	}
	t.Skip("browser test skipped: chromium not found (apt-get install chromium)")
	return ""
}

// longVersion is cut on the charts: at a character, never inside one.
const longVersion = "2.14.0-ñandú-ßuper-long-build"

// seed stores a small fleet over the last 120 days: clusters of 1 to 6
// servers, upgrades, gateway payloads with components, and one cluster
// that stopped reporting.
func seed(t *testing.T, st store.Store, now time.Time) {
	t.Helper()
	versions := []string{"2.11.0", "2.12.1", "2.13.2", longVersion}
	platforms := [][2]string{{"linux", "amd64"}, {"linux", "arm64"}, {"darwin", "arm64"}, {"windows", "amd64"}}
	components := []string{"qos/ratelimit/router", "auth/validator", "telemetry/opentelemetry", "security/cors", "backend/grpc", "qos/circuit-breaker"}
	n := 0
	for day := 119; day >= 0; day-- {
		for s := 0; s < 16; s++ {
			cluster := s % 5
			if cluster == 4 && day < 50 {
				continue // cluster-4 churned 50 days ago
			}
			if s >= 12 && day > 60 {
				continue // four servers joined 60 days ago
			}
			n++
			p := platforms[s%len(platforms)]
			ns := map[string]int{}
			for i, c := range components {
				if (cluster+i)%3 != 0 {
					ns[c] = 1 + i
				}
			}
			r := &store.Report{
				Received: now.Add(-time.Duration(day)*24*time.Hour - time.Duration(s)*time.Minute), ClusterID: fmt.Sprintf("cluster-%d", cluster),
				ServerID: fmt.Sprintf("server-%d", s), Version: versions[min(len(versions)-1, (120-day)/30+s%2)], OS: p[0], Arch: p[1],
				Uptime: int64(day * 3600), Stamp: fmt.Sprintf("1:8:250101:seed-%d::salt:%x", n, n),
				Extra: krakend.Payload{Endpoints: []int{3, 8, 15, 40, 120, 7}[s%6], Backends: []int{3, 12, 15, 90, 130, 7}[s%6],
					Methods: map[string]int{"GET": 4, "POST": s % 3}, Namespaces: ns,
					Mode: []string{krakend.ModePlugin, krakend.ModeDecorator, ""}[cluster%3], Libc: []string{krakend.LibcMusl, krakend.LibcGlibc, ""}[cluster%3]}.JSON(),
			}
			r.ReportTime = r.Received
			if err := st.Insert(context.Background(), r); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// page is what the browser test reads from a loaded page.
type pageInfo struct {
	Charts  map[string]int `json:"charts"` // shapes per chart, -1 when invisible
	Text    string         `json:"text"`
	Range   string         `json:"range"` // the selected range link
	GridW   float64        `json:"gridW"`
	ViewW   float64        `json:"viewW"`
	Labels  []string       `json:"labels"`
	Rows    int            `json:"rows"`
	Links   []string       `json:"links"`
	Updated string         `json:"updated"`
	// Overlaps are pairs of axis labels of one chart drawn over each
	// other ("W48this week").
	Overlaps []string `json:"overlaps"`
}

const readPage = `(() => {
	const out = {charts: {}, labels: [], links: [], overlaps: []};
	for (const svg of document.querySelectorAll("svg.chart")) {
		const box = svg.getBoundingClientRect();
		out.charts[svg.dataset.chart] = (box.width > 0 && box.height > 0) ? svg.querySelectorAll("rect, polyline").length : -1;
		const ticks = [...svg.querySelectorAll("text.tick[text-anchor=middle]")].map(t => [t.textContent, t.getBoundingClientRect()]);
		for (let i = 1; i < ticks.length; i++) {
			const [a, ra] = ticks[i-1], [b, rb] = ticks[i];
			if (ra.right > rb.left && ra.top < rb.bottom && rb.top < ra.bottom) out.overlaps.push(svg.dataset.chart + ": " + a + " / " + b);
		}
	}
	for (const t of document.querySelectorAll("svg text.label, svg text.tick")) out.labels.push(t.textContent);
	for (const a of document.querySelectorAll("table.list a")) out.links.push(a.getAttribute("href"));
	const cur = document.querySelector("nav.range a[aria-current]");
	out.range = cur ? cur.textContent : "";
	const grid = document.querySelector(".charts");
	out.gridW = grid ? grid.getBoundingClientRect().width : 0;
	out.viewW = document.documentElement.clientWidth;
	out.rows = document.querySelectorAll("table.list tbody tr").length;
	out.text = document.body.innerText;
	const up = document.getElementById("generated");
	out.updated = up ? up.textContent : "";
	return out;
})()`

func TestDashboardInBrowser(t *testing.T) {
	exe := chromium(t)
	e := newEnv(t, Config{Public: true})
	seed(t, e.store, time.Now())

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 1400),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 120*time.Second)
	defer cancel()

	// Subscribe to the console (calls, uncaught exceptions, browser log)
	// before the page loads, and collect everything it says.
	cctx, stopConsole := context.WithCancel(ctx)
	messages := chromedp.Console(cctx)
	var problems []string
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError {
				problems = append(problems, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line))
			}
		}
	}()

	visit := func(path, shot string, reload bool) pageInfo {
		t.Helper()
		actions := []chromedp.Action[chromedp.Void]{chromedp.Navigate(e.ts.URL + path), chromedp.WaitVisible(chromedp.CSS(`html[data-ready="1"]`))}
		if reload {
			actions = append(actions, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`html[data-ready="1"]`)))
		}
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("browser %s: %v", path, err)
		}
		info, err := chromedp.Run(ctx, chromedp.Evaluate[pageInfo](readPage))
		if err != nil {
			t.Fatalf("browser %s: %v", path, err)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", path, err)
		}
		saveScreenshot(t, shot, png)
		return info
	}

	charts := []string{"active", "versions-weekly", "growth", "features", "versions", "os-arch", "methods", "endpoints", "backends", "sizes", "reports",
		"features-weekly", "channels"}
	for _, days := range []int{30, 90, 365} {
		path := fmt.Sprintf("/?days=%d", days)
		if days == 30 {
			path = "/"
		}
		// The 90-day view is reloaded: the refresh keeps the range.
		p := visit(path, fmt.Sprintf("dashboard-%dd.png", days), days == 90)
		for _, id := range charts {
			if p.Charts[id] <= 0 {
				t.Errorf("%s: chart %q missing, invisible or empty (got %d shapes)", path, id, p.Charts[id])
			}
		}
		if p.Range != fmt.Sprintf("%d days", days) {
			t.Errorf("%s: selected range %q", path, p.Range)
		}
		if p.GridW < 0.85*(p.ViewW-48) {
			t.Errorf("%s: charts span %.0f of %.0f px: part of the page is left empty", path, p.GridW, p.ViewW)
		}
		if p.Updated == "" || !strings.Contains(p.Text, "Updated") {
			t.Errorf("%s: no visible update time", path)
		}
		if !has(p.Labels, "today") || !has(p.Labels, "this week") {
			t.Errorf("%s: today's bar or this week's is not labelled (labels %v)", path, p.Labels)
		}
		for _, l := range p.Labels {
			if strings.ContainsRune(l, '\uFFFD') {
				t.Errorf("%s: label %q has a broken character", path, l)
			}
		}
		if !contains(p.Labels, []rune(longVersion)[:27]...) && days == 30 {
			t.Errorf("%s: long version not cut at 28 characters: labels %v", path, p.Labels)
		}
		if !has(p.Labels, "telemetry/opentelemetry") {
			t.Errorf("%s: telemetry/opentelemetry cut although there is room (labels %v)", path, p.Labels)
		}
		if len(p.Overlaps) > 0 {
			t.Errorf("%s: axis labels drawn over each other: %v", path, p.Overlaps)
		}
		if !strings.HasSuffix(p.Updated, " UTC") || strings.Contains(p.Text, " AM") || strings.Contains(p.Text, " PM") {
			t.Errorf("%s: update time %q is not UTC, or a time is local 12-hour", path, p.Updated)
		}
		if strings.Contains(p.Text, "random UUID") || !strings.Contains(p.Text, "name-based UUID") {
			t.Errorf("%s: the header misdescribes the IDs", path)
		}
		for _, want := range []string{"Components by gateway version", "p50", "uptime, 2.1", "plugin/musl", "decorator/glibc", "unknown/unknown"} {
			if !strings.Contains(p.Text, want) {
				t.Errorf("%s: %q not on the page", path, want)
			}
		}
	}

	// The public view: no JavaScript, a page of tables.
	if err := chromedp.Do(ctx, chromedp.Navigate(e.ts.URL+"/public"), chromedp.WaitVisible(chromedp.CSS(`main`))); err != nil {
		t.Fatalf("browser /public: %v", err)
	}
	pub, err := chromedp.Run(ctx, chromedp.Evaluate[pageInfo](readPage))
	if err != nil {
		t.Fatal(err)
	}
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		saveScreenshot(t, "public.png", png)
	}
	// Five clusters, one silent for 50 days: fewer than k=5 in the range,
	// so every entry is folded and the total is "< 5".
	if !strings.Contains(pub.Text, "Components used") || !strings.Contains(pub.Text, "< 5 clusters") || strings.Contains(pub.Text, "13 servers") ||
		strings.Contains(pub.Text, "auth/validator") || strings.Contains(pub.Text, "cluster-0") {
		t.Errorf("public page: %.400q", pub.Text)
	}

	p := visit("/clusters", "clusters.png", false)
	if p.Rows != 5 || len(p.Links) != 5 {
		t.Fatalf("clusters page: %d rows, links %v, want 5", p.Rows, p.Links)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`table.list a[href="/clusters/cluster-0"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#servers`))); err != nil {
		t.Fatalf("opening a cluster: %v", err)
	}
	p = visit("/clusters/cluster-0", "cluster.png", false)
	if p.Rows != 4 || !strings.Contains(p.Text, "server-0") || !strings.Contains(p.Text, "auth/validator") {
		t.Errorf("cluster page: %d server rows, text %.300q", p.Rows, p.Text)
	}

	stopConsole()
	<-collected
	for _, p := range problems {
		t.Errorf("browser console: %s", p)
	}
}

func has(got []string, want string) bool {
	for _, g := range got {
		if g == want {
			return true
		}
	}
	return false
}

// contains reports whether one of got starts with the prefix made of want.
func contains(got []string, want ...rune) bool {
	prefix := string(want)
	for _, g := range got {
		if strings.HasPrefix(g, prefix) {
			return true
		}
	}
	return false
}

// saveScreenshot keeps a screenshot in $USAGE_TEST_ARTIFACTS when set,
// else in testdata/screenshots (ignored by git).
func saveScreenshot(t *testing.T, name string, png []byte) {
	dir := os.Getenv("USAGE_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("testdata", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("screenshot not saved: %v", err)
		return
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Logf("screenshot not saved: %v", err)
		return
	}
	t.Logf("screenshot: %s", path)
}

package collector

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/krakend-usage/krakend-usage/collector/store"
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

// seed stores a small fleet over the last 30 days.
func seed(t *testing.T, st store.Store, now time.Time) {
	t.Helper()
	versions := []string{"v2.6.0", "v2.6.1", "v2.7.0", "v2.5.4"}
	platforms := [][2]string{{"linux", "amd64"}, {"linux", "arm64"}, {"darwin", "arm64"}, {"windows", "amd64"}}
	n := 0
	for day := 29; day >= 0; day-- {
		for s := 0; s < 10+day%7; s++ {
			n++
			p := platforms[s%len(platforms)]
			r := &store.Report{
				Received: now.Add(-time.Duration(day)*24*time.Hour - time.Duration(s)*time.Minute), ClusterID: fmt.Sprintf("cluster-%d", s%4),
				ServerID: fmt.Sprintf("server-%d", s), Version: versions[(s+day/10)%len(versions)], OS: p[0], Arch: p[1],
				Uptime: int64(day * 3600), Stamp: fmt.Sprintf("1:8:250101:seed-%d::salt:%x", n, n),
				Extra: fmt.Appendf(nil, `{"endpoints":%d,"methods":{"GET":%d}}`, []int{3, 8, 15, 40, 120, 7}[s%6], s),
			}
			r.ReportTime = r.Received
			if err := st.Insert(context.Background(), r); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestDashboardInBrowser(t *testing.T) {
	exe := chromium(t)
	e := newEnv(t, Config{})
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
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
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

	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.ts.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`html[data-ready="1"]`)),
	); err != nil {
		t.Fatalf("browser: %v", err)
	}
	charts, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]int](`(() => {
		const out = {};
		for (const svg of document.querySelectorAll("svg.chart")) {
			const box = svg.getBoundingClientRect();
			out[svg.dataset.chart] = (box.width > 0 && box.height > 0) ? svg.querySelectorAll("rect, polyline").length : -1;
		}
		return out;
	})()`))
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	for _, id := range []string{"active", "reports", "versions", "os-arch", "endpoints"} {
		if charts[id] <= 0 {
			t.Errorf("chart %q missing, invisible or empty (got %d shapes)", id, charts[id])
		}
	}
	stopConsole()
	<-collected
	for _, p := range problems {
		t.Errorf("browser console: %s", p)
	}
	saveScreenshot(t, png)
}

// saveScreenshot keeps the screenshot in $USAGE_TEST_ARTIFACTS when set,
// else in testdata/screenshots (ignored by git).
func saveScreenshot(t *testing.T, png []byte) {
	dir := os.Getenv("USAGE_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("testdata", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("screenshot not saved: %v", err)
		return
	}
	path := filepath.Join(dir, "dashboard.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Logf("screenshot not saved: %v", err)
		return
	}
	t.Logf("dashboard screenshot: %s", path)
}

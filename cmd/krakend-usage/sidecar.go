package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/krakend"
	"github.com/luraproject/lura/v2/config"
)

// downAfter is how many health checks in a row must fail before the
// sidecar says the gateway stopped and stops reporting: one lost answer
// is not a stopped gateway.
const downAfter = 3

// runSidecar is "krakend-usage sidecar -c FILE [--gateway URL]". It runs
// until ctx ends. It exits non-zero only for bad flags: a config it cannot
// use, or the off switch, leaves it idle instead, so that a pod does not
// restart it in a loop (and mark itself not ready) over the reporter.
func runSidecar(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	s := newSettings("sidecar", stderr)
	gatewayURL := s.fs.String("gateway", envOr("USAGE_GATEWAY", ""), "the gateway's base `URL` (USAGE_GATEWAY; default http://127.0.0.1:PORT with the config's port)")
	healthPath := s.fs.String("health-path", envOr("USAGE_HEALTH_PATH", "/__health"), "the gateway's health endpoint (USAGE_HEALTH_PATH)")
	interval := s.fs.Duration("health-interval", 10*time.Second, "time between health checks")
	s.fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: krakend-usage sidecar -c FILE [--gateway URL] [flags]")
		s.fs.PrintDefaults()
	}
	if err := s.fs.Parse(args); err != nil {
		return exitUsage
	}
	if s.config == "" || s.fs.NArg() > 0 || *interval <= 0 {
		s.fs.Usage()
		return exitUsage
	}
	logger, err := s.logger(stdout)
	if err != nil {
		fmt.Fprintln(stderr, "krakend-usage sidecar:", err)
		return exitUsage
	}
	sc := &sidecar{s: s, logger: logger, healthPath: *healthPath, interval: *interval}
	sc.run(ctx, *gatewayURL)
	return exitOK
}

type sidecar struct {
	s          *settings
	logger     usage.Logger
	healthPath string
	interval   time.Duration
	client     http.Client
}

func (sc *sidecar) run(ctx context.Context, base string) {
	defer func() {
		if p := recover(); p != nil {
			sc.logger.Error(fmt.Sprintf("Recovered from panic in the usage reporter: %v; it is stopped, the gateway goes on", p))
			<-ctx.Done()
		}
	}()
	if why := krakend.OffSwitch(sc.s.getenv); why != "" {
		sc.logger.Info("Usage reporter disabled by " + why)
		<-ctx.Done()
		return
	}
	gc, err := readGateway([]string{"-c", sc.s.config}, sc.s.getenv)
	if err != nil {
		sc.logger.Error(fmt.Sprintf("Usage reporter not started: cannot read the gateway config (%s); the gateway is not affected", krakend.LogDetail(err)))
		<-ctx.Done()
		return
	}
	sc.s.followGateway(gc.ExtraConfig)
	if base == "" {
		port := gc.Port
		if port == 0 {
			port = 8080 // KrakenD's default
		}
		base = fmt.Sprintf("http://127.0.0.1:%d", port)
	}
	base = strings.TrimRight(base, "/")
	sc.client.Timeout = min(sc.interval, 5*time.Second)
	sc.logger.Info(fmt.Sprintf("Reporting while the gateway answers %s%s", base, sc.healthPath))

	var stop context.CancelFunc
	failures := 0
	t := time.NewTicker(sc.interval)
	defer t.Stop()
	for {
		switch {
		case sc.healthy(ctx, base):
			failures = 0
			if stop == nil {
				rctx, cancel := context.WithCancel(ctx)
				g := sc.gatewayNow(ctx, base, gc)
				if !startReporter(rctx, sc.logger, sc.s, g, krakend.ModeSidecar) {
					cancel()
					<-ctx.Done() // a config that cannot report will not start to
					return
				}
				stop = cancel
			}
		case ctx.Err() == nil:
			failures++
			if stop != nil && failures == downAfter {
				stop()
				stop = nil
				sc.logger.Warning(fmt.Sprintf("The gateway stopped answering %s%s: reporting stopped until it answers again", base, sc.healthPath))
			}
		}
		select {
		case <-ctx.Done():
			if stop != nil {
				stop()
			}
			return
		case <-t.C:
		}
	}
}

// healthy reports whether the gateway's health endpoint answers 2xx.
func (sc *sidecar) healthy(ctx context.Context, base string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+sc.healthPath, nil)
	if err != nil {
		return false
	}
	resp, err := sc.client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}

// gatewayNow describes the gateway that just answered: from its process
// when the pod shares its process namespace (version, libc and start time
// from the binary and /proc of the process listening on the gateway's
// port), else its version from the X-KrakenD header of one of its
// endpoints, its libc unknown and its uptime counted from now. The config
// file is the sidecar's -c.
func (sc *sidecar) gatewayNow(ctx context.Context, base string, gc config.ServiceConfig) *gateway {
	args := []string{"-c", sc.s.config}
	if port := loopbackPort(base); port > 0 {
		if g, err := gatewayOnPort(port); err == nil {
			g.args, g.dir = args, ""
			return g
		}
	}
	g := &gateway{args: args, uid: -1, gid: -1, started: time.Now()}
	g.bin.Version = "undefined"
	if v := sc.headerVersion(ctx, base, gc); v != "" {
		g.bin.Version = v
	}
	return g
}

// headerVersion reads the version KrakenD puts in the X-KrakenD header of
// its endpoints' answers ("Version 2.13.8"; not on /__health): from an
// OPTIONS request (answered when the router has auto_options), else from
// a GET of the first GET endpoint without parameters. It tries at most one
// of each, and returns "" when none says.
func (sc *sidecar) headerVersion(ctx context.Context, base string, gc config.ServiceConfig) string {
	var first, firstGet string
	for _, e := range gc.Endpoints {
		if strings.ContainsAny(e.Endpoint, "{:*") {
			continue
		}
		if first == "" {
			first = e.Endpoint
		}
		if firstGet == "" && strings.EqualFold(e.Method, http.MethodGet) {
			firstGet = e.Endpoint
		}
	}
	for _, try := range []struct{ method, path string }{{http.MethodOptions, first}, {http.MethodGet, firstGet}} {
		if try.path == "" {
			continue
		}
		req, err := http.NewRequestWithContext(ctx, try.method, base+try.path, nil)
		if err != nil {
			continue
		}
		resp, err := sc.client.Do(req)
		if err != nil {
			continue
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if v, ok := strings.CutPrefix(resp.Header.Get("X-Krakend"), "Version "); ok && usage.ValidateVersion(v) == nil {
			return v
		}
	}
	return ""
}

// loopbackPort is the port of a gateway URL on this host's network
// (127.0.0.1, ::1 or localhost), 0 for any other host: only a gateway on
// the shared network can be matched to a process by its socket.
func loopbackPort(base string) int {
	u, err := url.Parse(base)
	if err != nil {
		return 0
	}
	switch u.Hostname() {
	case "127.0.0.1", "::1", "localhost":
	default:
		return 0
	}
	if u.Port() == "" {
		if u.Scheme == "https" {
			return 443
		}
		return 80
	}
	port, _ := strconv.Atoi(u.Port())
	return port
}

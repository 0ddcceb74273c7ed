package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"

	"github.com/krakend-usage/krakend-usage/usage/krakend"
)

// runDryRun is "krakend-usage dry-run -c FILE": it prints the IDs and the
// bodies of the first session and report requests, sends nothing, and
// exits 0; a config it cannot use exits 2 with the reason, naming the key.
func runDryRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	s := newSettings("dry-run", stderr)
	mode := s.fs.String("mode", krakend.ModeWrapper, "the way in the payload names: wrapper or sidecar")
	binPath := s.fs.String("krakend", "", "the gateway `binary` to read the version and libc from (default: krakend on PATH)")
	s.fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: krakend-usage dry-run -c FILE [flags]")
		s.fs.PrintDefaults()
	}
	if err := s.fs.Parse(args); err != nil {
		return exitUsage
	}
	if s.config == "" || s.fs.NArg() > 0 || (*mode != krakend.ModeWrapper && *mode != krakend.ModeSidecar) {
		s.fs.Usage()
		return exitUsage
	}
	fail := func(format string, a ...interface{}) int {
		fmt.Fprintf(stderr, "krakend-usage dry-run: "+format+"\n", a...)
		return exitUsage
	}
	if why := krakend.OffSwitch(s.getenv); why != "" {
		fmt.Fprintf(stdout, "Usage reporting is disabled by %s: nothing would be sent\n", why)
		return exitOK
	}
	gc, err := readGateway([]string{"-c", s.config}, s.getenv)
	if err != nil {
		return fail("cannot read the gateway config: %s", krakend.LogDetail(err))
	}
	cfg, err := s.usageConfig(gc.ExtraConfig)
	if errors.Is(err, krakend.ErrNoConfig) {
		fmt.Fprintf(stdout, "No %q block in %s and no USAGE_URL: nothing would be sent\n", krakend.Namespace, s.config)
		return exitOK
	}
	if err != nil {
		return fail("%s", krakend.LogDetail(err))
	}
	if cfg.Disabled {
		fmt.Fprintf(stdout, "Usage reporting is disabled by the \"disabled\" config key: nothing would be sent\n")
		return exitOK
	}
	svc, err := krakend.DescribeService(gc)
	if err != nil {
		return fail("cannot describe the gateway config: %s", krakend.LogDetail(err))
	}
	bin := gatewayBinary(*binPath)
	host := krakend.Host{Version: bin.Version, UserAgent: "KrakenD Version " + bin.Version, Mode: *mode, Libc: bin.Libc}
	session, report, err := krakend.FirstRequests(ctx, host, cfg, krakend.NewInstance(svc))
	if err != nil {
		return fail("%s", krakend.LogDetail(err))
	}
	sb, _ := json.Marshal(session)
	rb, _ := json.Marshal(report)
	fmt.Fprintf(stdout, "cluster ID: %s\nserver ID:  %s\n\n", session.ClusterID, session.ServerID)
	fmt.Fprintf(stdout, "POST %s%s\n%s\n\n", cfg.URL, cfg.SessionEndpoint, sb)
	fmt.Fprintf(stdout, "POST %s%s (token: the one the collector answers; pow: minted for each report)\n%s\n", cfg.URL, cfg.ReportEndpoint, rb)
	if len(report.Data.Extra) > 0 {
		fmt.Fprintf(stdout, "\nextra, decoded from base64:\n%s\n", report.Data.Extra)
	}
	return exitOK
}

// gatewayBinary reads the gateway binary at path, or krakend on PATH; a
// binary it cannot read gives the version "undefined" and no libc.
func gatewayBinary(path string) krakend.Binary {
	if path == "" {
		path, _ = exec.LookPath("krakend")
	}
	if path != "" {
		if b, err := krakend.ReadBinary(path); err == nil {
			return b
		}
	}
	return krakend.Binary{Version: "undefined"}
}

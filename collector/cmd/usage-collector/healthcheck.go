package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// runHealthcheck asks the collector on this machine for /healthz and
// returns nil when it answers 200: the health check of a container image
// with no shell and no curl (HEALTHCHECK CMD ["usage-collector",
// "healthcheck"]). It finds the collector where the collector itself
// listens: -listen, else USAGE_COLLECTOR_LISTEN, else :8090, on the
// loopback address when the collector listens on every interface.
func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("usage-collector healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := defaultListen
	if v, ok := os.LookupEnv(envPrefix + "LISTEN"); ok {
		listen = v
	}
	fs.StringVar(&listen, "listen", listen, "the collector's -listen address")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: usage-collector healthcheck [-listen ADDR] [-timeout D]\n\nExits 0 when the collector's /healthz answers 200, 1 otherwise.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := checkAddr("-listen", listen); err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(listen)
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	url := "http://" + net.JoinHostPort(host, port) + "/healthz"
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d: %s", url, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	fmt.Fprintln(stdout, strings.TrimSpace(string(body)))
	return nil
}

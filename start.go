package krakendusage

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/krakend-usage/krakend-usage/usage"
)

// Start delay: the first session waits firstDelay plus up to
// firstDelayJitter, so the router is up first and a fleet restarted
// together does not call the collector at the same instant.
var (
	firstDelay       = time.Second
	firstDelayJitter = 2 * time.Second
)

// instance is what the reporter knows about the gateway it runs in.
type instance struct {
	hash    string // config hash, for the cluster ID
	port    int    // listening port, for the server ID
	payload []byte // ExtraPayload
}

// offSwitch names what turned the reporter off, or "" when it is on.
// The environment is checked first, before any other work.
func offSwitch(getenv func(string) string) string {
	for _, k := range []string{"USAGE_DISABLE", "DO_NOT_TRACK"} {
		if v := strings.TrimSpace(getenv(k)); v != "" && v != "0" && !strings.EqualFold(v, "false") {
			return "the " + k + " environment variable"
		}
	}
	return ""
}

// ids returns the cluster and server IDs: the overrides when set, else
// derived from inst.
func ids(cfg Config, inst instance) (string, string) {
	cluster, server := cfg.ClusterID, cfg.ServerID
	if cluster == "" {
		cluster = ClusterID(inst.hash)
	}
	if server == "" {
		server = ServerID(instanceIdentity(), inst.port)
	}
	return cluster, server
}

// launch applies the off switches, then starts the reporter in the
// background and returns at once. Off switches and config errors are
// logged here, once; the rest (the instance, the IDs, the start line, the
// reporter after a short jittered delay) happens in a goroutine that ends
// with ctx. logger must already carry the component prefix. It reports
// whether a goroutine was started.
func launch(ctx context.Context, logger usage.Logger, getenv func(string) string, cfg Config, cfgErr error, inst func() instance) bool {
	if why := offSwitch(getenv); why != "" {
		logger.Info("Usage reporter disabled by " + why)
		return false
	}
	if cfgErr != nil {
		logger.Error("Usage reporter not started: " + logDetail(cfgErr))
		return false
	}
	if cfg.Disabled {
		logger.Info(`Usage reporter disabled by the "disabled" config key`)
		return false
	}
	go func() {
		defer func() {
			if p := recover(); p != nil {
				logger.Error(fmt.Sprintf("Recovered from panic in the usage reporter: %v; it is stopped, the gateway goes on", p))
			}
		}()
		run(ctx, logger, cfg, inst())
	}()
	return true
}

// run logs the start line, waits a short jittered delay and starts the
// reporter, which stops when ctx is done.
func run(ctx context.Context, logger usage.Logger, cfg Config, inst instance) {
	cluster, server := ids(cfg, inst)
	if cfg.ReportLapse < shortLapse {
		logger.Warning(fmt.Sprintf("Report lapse %s is below %s: this gateway will report far more often than needed", cfg.ReportLapse, shortLapse))
	}
	opts := usage.Options{
		ClusterID:       cluster,
		ServerID:        server,
		URL:             cfg.URL,
		Version:         cfg.Version,
		ExtraPayload:    inst.payload,
		HashBits:        cfg.HashBits,
		SessionEndpoint: cfg.SessionEndpoint,
		ReportEndpoint:  cfg.ReportEndpoint,
		Timeout:         cfg.Timeout,
		ReportLapse:     cfg.ReportLapse,
		UserAgent:       cfg.UserAgent,
		Logger:          logger,
	}
	var client usage.UsageClient
	what := "Starting the usage reporter"
	if cfg.DryRun {
		client = &dryRunClient{logger: logger, url: cfg.URL, sessionPath: cfg.SessionEndpoint, reportPath: cfg.ReportEndpoint}
		// The dry-run client logs what would be sent; the library's own
		// "Session opened" and "Report accepted" would be untrue.
		opts.Logger = dryRunLogger{logger}
		what = "Dry run, nothing is sent"
	}
	logger.Info(fmt.Sprintf("%s: cluster ID %s, server ID %s, collector %s, report lapse %s",
		what, cluster, server, cfg.URL, cfg.ReportLapse))

	t := time.NewTimer(firstDelay + rand.N(firstDelayJitter+1))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return
	case <-t.C:
	}
	if err := usage.Report(ctx, opts, client); err != nil {
		logger.Error("Usage reporter not started: " + logDetail(err))
	}
}

// logDetail is err for a log line: the component tag replaces the
// "krakend-usage:" or "usage:" prefix of the error value.
func logDetail(err error) string {
	var ce *ConfigError
	if errors.As(err, &ce) {
		return ce.detail()
	}
	s := err.Error()
	for _, p := range []string{"krakend-usage: ", "usage: "} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}

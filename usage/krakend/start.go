package krakend

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
	firstDelayJitter = MaxStartDelay - time.Second
)

// MaxStartDelay is the longest the reporter waits, after the router
// starts, before it opens its first session.
const MaxStartDelay = 3 * time.Second

// Host is what an adapter tells the extension about the gateway it runs
// in: the defaults lura holds for the version and User-Agent, and how the
// extension was loaded.
type Host struct {
	// Version is the default Config.Version: lura's core.KrakendVersion.
	Version string
	// UserAgent is the default Config.UserAgent: lura's
	// core.KrakendUserAgent.
	UserAgent string
	// Mode is ModePlugin, ModeDecorator, ModeWrapper or ModeSidecar; it is
	// sent in the payload.
	Mode string
	// Libc is the gateway binary's C library, sent in the payload: [Libc]
	// for an adapter inside the gateway process, [ReadBinary]'s for a
	// process beside it. Empty means not known, and it is left out.
	Libc string
}

// Instance is what the reporter knows about the configuration it runs.
type Instance struct {
	// Digest of the configuration, for the cluster ID ([Service.Digest],
	// or [BlockDigest] when the configuration cannot be read).
	Digest string
	// Port is the listening port, for the server ID.
	Port int
	// Payload is the extra payload of the first report; nil sends none.
	// Mode and Libc are filled in by Start.
	Payload *Payload
	// Started is when the gateway process started; the reports' uptime
	// counts from it. Zero means when the reporter starts, which inside
	// the gateway process is within seconds of it.
	Started time.Time
}

// NewInstance describes a service for the reporter.
func NewInstance(s *Service) Instance {
	p := s.Payload()
	return Instance{Digest: s.Digest(), Port: s.Port, Payload: &p}
}

// OffSwitch names what turns the reporter off in the environment read
// with getenv (USAGE_DISABLE or DO_NOT_TRACK set to anything but "", "0"
// or "false"), or "" when it is on. Every way in checks it first, before
// any other work.
func OffSwitch(getenv func(string) string) string {
	for _, k := range []string{"USAGE_DISABLE", "DO_NOT_TRACK"} {
		if v := strings.TrimSpace(getenv(k)); v != "" && v != "0" && !strings.EqualFold(v, "false") {
			return "the " + k + " environment variable"
		}
	}
	return ""
}

// ids returns the cluster and server IDs: the overrides when set, else
// derived from inst.
func ids(cfg Config, inst Instance) (string, string) {
	cluster, server := cfg.ClusterID, cfg.ServerID
	if cluster == "" {
		cluster = ClusterID(inst.Digest)
	}
	if server == "" {
		server = ServerID(InstanceIdentity(), inst.Port)
	}
	return cluster, server
}

// Start applies the off switches (USAGE_DISABLE and DO_NOT_TRACK, read
// with getenv, then cfgErr, then the "disabled" key), then starts the
// reporter in the background and returns at once. Off switches and config
// errors are logged here, once; the rest (inst, the IDs, the start line,
// the reporter after a short jittered delay) happens in a goroutine that
// ends with ctx and recovers from any panic. logger must already carry the
// component prefix ([Prefixed]). Start reports whether a goroutine was
// started. It is the machinery of the lura adapters; a gateway built on
// something else can call it too.
func Start(ctx context.Context, logger usage.Logger, getenv func(string) string, host Host, cfg Config, cfgErr error, inst func() Instance) bool {
	if why := OffSwitch(getenv); why != "" {
		logger.Info("Usage reporter disabled by " + why)
		return false
	}
	if cfgErr != nil {
		logger.Error("Usage reporter not started: " + LogDetail(cfgErr))
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
		run(ctx, logger, host.Defaults(cfg), withHost(inst(), host))
	}()
	return true
}

// run logs the start line, waits a short jittered delay and starts the
// reporter, which stops when ctx is done.
func run(ctx context.Context, logger usage.Logger, cfg Config, inst Instance) {
	cluster, server := ids(cfg, inst)
	if cfg.ReportLapse < shortLapse {
		logger.Warning(fmt.Sprintf("Report lapse %s is below %s: this gateway will report far more often than needed", cfg.ReportLapse, shortLapse))
	}
	opts := options(cfg, inst, cluster, server)
	opts.Logger = logger
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
		logger.Error("Usage reporter not started: " + LogDetail(err))
	}
}

// Defaults returns cfg with the host's version and User-Agent where cfg
// leaves them empty.
func (h Host) Defaults(cfg Config) Config {
	if cfg.Version == "" {
		cfg.Version = h.Version
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = h.UserAgent
	}
	return cfg
}

// options are the reporter's options for cfg and inst, under the IDs
// cluster and server, without a logger.
func options(cfg Config, inst Instance, cluster, server string) usage.Options {
	return usage.Options{
		ClusterID:       cluster,
		ServerID:        server,
		URL:             cfg.URL,
		Version:         cfg.Version,
		ExtraPayload:    extra(inst.Payload),
		HashBits:        cfg.HashBits,
		SessionEndpoint: cfg.SessionEndpoint,
		ReportEndpoint:  cfg.ReportEndpoint,
		Timeout:         cfg.Timeout,
		ReportLapse:     cfg.ReportLapse,
		UserAgent:       cfg.UserAgent,
		Started:         inst.Started,
	}
}

// withHost stamps the host's mode and libc into the payload.
func withHost(inst Instance, host Host) Instance {
	if inst.Payload != nil {
		p := *inst.Payload
		p.Mode = host.Mode
		p.Libc = host.Libc
		inst.Payload = &p
	}
	return inst
}

func extra(p *Payload) []byte {
	if p == nil {
		return nil
	}
	return p.JSON()
}

// LogDetail is err for a log line: the component tag replaces the
// "krakend-usage:" or "usage:" prefix of the error value.
func LogDetail(err error) string {
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

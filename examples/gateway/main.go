// Command gateway is a small lura gateway that loads handler plugins the
// way the stock KrakenD binary does: from the plugin folder and pattern of
// its config, honouring the "plugin/http-server" alias. It exists to run
// the krakend-usage plugin without KrakenD itself, during development; the
// proof is the stock KrakenD (see docs/gateway.md):
//
//	build/gateway [run] -c examples/krakend.json [-l DEBUG] [-p 8080]
//	build/gateway version
//	build/gateway -h
//
// It reads its config with krakendusage.NewConfigParser, the parser KrakenD
// CE builds: JSON, YAML or TOML, KRAKEND_* overrides, FC_* flexible config.
//
// Logs go to stdout. SIGINT or SIGTERM stops it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	krakendusage "github.com/krakend-usage/krakend-usage"
	"github.com/luraproject/lura/v2/config"
	"github.com/luraproject/lura/v2/core"
	"github.com/luraproject/lura/v2/logging"
	"github.com/luraproject/lura/v2/proxy"
	router "github.com/luraproject/lura/v2/router/gin"
	"github.com/luraproject/lura/v2/transport/http/server"
	serverplugin "github.com/luraproject/lura/v2/transport/http/server/plugin"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) > 0 && args[0] == "version" {
		// The version stamped at build time, as make gateway does.
		fmt.Fprintf(out, "example gateway: KrakenD version %s (lura core.KrakendVersion), %s\n", core.KrakendVersion, runtime.Version())
		return nil
	}
	if len(args) > 0 && args[0] == "run" { // `krakend run -c FILE` works too
		args = args[1:]
	}
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintln(out, "usage: gateway [run] [-c krakend.json] [-l DEBUG] [-p PORT] [-access-log]\n       gateway version")
		fs.PrintDefaults()
	}
	file := fs.String("c", "./krakend.json", "path to the configuration file")
	fs.StringVar(file, "config", "./krakend.json", "path to the configuration file")
	// DEBUG, as KrakenD CE logs without a "telemetry/logging" block.
	level := fs.String("l", "DEBUG", "log level: DEBUG, INFO, WARNING, ERROR, CRITICAL")
	port := fs.Int("p", 0, "port of the service (overrides the config)")
	access := fs.Bool("access-log", false, "write the access log to stdout")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil // -h: the usage is printed
	} else if err != nil {
		return err
	}

	// The aliases KrakenD registers for the plugin namespaces.
	config.ExtraConfigAlias["plugin/http-server"] = serverplugin.Namespace
	// Parsed as KrakenD CE parses it (JSON, YAML or TOML; KRAKEND_*
	// overrides; flexible configuration with FC_ENABLE), so that this
	// gateway and the plugin re-reading its config agree.
	cfg, err := krakendusage.NewConfigParser(os.Getenv).Parse(*file)
	if err != nil {
		return err
	}
	cfg.Normalize() // applies the aliases, as KrakenD does after parsing
	if *port != 0 {
		cfg.Port = *port
	}
	logger, err := logging.NewLogger(*level, out, "[KRAKEND]")
	if err != nil {
		return err
	}

	if cfg.Plugin != nil {
		n, err := serverplugin.LoadWithLogger(cfg.Plugin.Folder, cfg.Plugin.Pattern, serverplugin.RegisterHandler, logger)
		if err != nil {
			logger.Warning("[SERVICE: Handler Plugin]", err.Error())
		}
		logger.Info("[SERVICE: Handler Plugin] Total plugins loaded:", n)
	}

	accessLog := io.Discard
	if *access {
		accessLog = out
	}
	runServer := serverplugin.New(logger, server.RunServerWithLoggerFactory(logger))
	router.NewFactory(router.Config{
		Engine:         router.NewEngine(cfg, router.EngineOptions{Logger: logger, Writer: accessLog}),
		Middlewares:    nil,
		HandlerFactory: router.EndpointHandler,
		ProxyFactory:   proxy.DefaultFactory(logger),
		Logger:         logger,
		RunServer:      router.RunServerFunc(runServer),
	}).NewWithContext(ctx).Run(cfg)
	return nil
}

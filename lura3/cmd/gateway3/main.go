// Command gateway3 is a small lura v3 gateway with the krakend-usage
// RunServer decorator (package lura3): what a custom build of KrakenD CE
// 3.0 does with it, in a few lines. It reads a JSON config with lura v3's
// own parser:
//
//	gateway3 [run] -c krakend.json [-l DEBUG] [-p 8080]
//
// Logs go to stdout. SIGINT or SIGTERM stops it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	usage3 "github.com/krakend-usage/krakend-usage/lura3"
	"github.com/luraproject/lura/v3/config"
	"github.com/luraproject/lura/v3/logging"
	"github.com/luraproject/lura/v3/proxy"
	router "github.com/luraproject/lura/v3/router/gin"
	"github.com/luraproject/lura/v3/transport/http/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gateway3:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) > 0 && args[0] == "run" {
		args = args[1:]
	}
	fs := flag.NewFlagSet("gateway3", flag.ContinueOnError)
	file := fs.String("c", "./krakend.json", "path to the configuration file")
	level := fs.String("l", "DEBUG", "log level: DEBUG, INFO, WARNING, ERROR, CRITICAL")
	port := fs.Int("p", 0, "port of the service (overrides the config)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.NewParser().Parse(*file)
	if err != nil {
		return err
	}
	if *port != 0 {
		cfg.Port = *port
	}
	logger, err := logging.NewLogger(*level, out, "[KRAKEND]")
	if err != nil {
		return err
	}
	routerFactory := router.NewFactory(router.Config{
		Engine:         router.NewEngine(cfg, router.EngineOptions{Logger: logger}),
		HandlerFactory: router.EndpointHandler,
		ProxyFactory:   proxy.DefaultFactory(logger),
		Logger:         logger,
		// The one line a custom build adds: the usage decorator around
		// the server.
		RunServer: router.RunServerFunc(usage3.New(logger, server.RunServer)),
	})
	routerFactory.NewWithContext(ctx).Run(cfg)
	return nil
}

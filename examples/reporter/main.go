// Command reporter is a program that is not a gateway reporting its usage
// with the library, github.com/krakend-usage/krakend-usage/usage, its
// events in its own log. With a collector on this machine (make collector):
//
//	build/usage-collector -listen 127.0.0.1:8090 -db sqlite:build/usage.db &
//	go run ./examples/reporter -url http://127.0.0.1:8090
//
// It logs the session and the first report, then one report every -lapse
// until Ctrl-C; the collector's dashboard shows it.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/krakend-usage/krakend-usage/usage"
)

// logger writes the reporter's events to the standard log, debug ones
// included; lura's logging.Logger fits usage.Options.Logger as it is.
type logger struct{}

func (logger) Debug(v ...any)   { log.Print(append([]any{"DEBUG "}, v...)...) }
func (logger) Info(v ...any)    { log.Print(append([]any{"INFO "}, v...)...) }
func (logger) Warning(v ...any) { log.Print(append([]any{"WARNING "}, v...)...) }
func (logger) Error(v ...any)   { log.Print(append([]any{"ERROR "}, v...)...) }

func main() {
	url := flag.String("url", "http://127.0.0.1:8090", "the collector's URL")
	lapse := flag.Duration("lapse", time.Minute, "the time between reports")
	flag.Parse()
	log.SetPrefix("[reporter] ")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := usage.Report(ctx, usage.Options{
		ClusterID:    "6ba7b810-9dad-11d1-80b4-00c04fd430c8", // the same on every node of the program
		ServerID:     "6ba7b811-9dad-11d1-80b4-00c04fd430c8", // one per instance
		URL:          *url,
		Version:      "v0.0.1",
		ExtraPayload: []byte(`{"example":true}`),
		ReportLapse:  *lapse,
		Logger:       logger{},
	}, nil)
	if err != nil {
		log.Fatal(err) // an invalid option, named
	}
	<-ctx.Done()
}

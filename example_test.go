package krakendusage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	krakendusage "github.com/krakend-usage/krakend-usage"
	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/luraproject/lura/v2/config"
	"github.com/luraproject/lura/v2/logging"
	"github.com/luraproject/lura/v2/proxy"
	router "github.com/luraproject/lura/v2/router/gin"
	"github.com/luraproject/lura/v2/transport/http/server"
)

// A custom lura build wraps its RunServer with New and enables the
// reporter in the service extra_config.
func ExampleNew() {
	// A stand-in collector that prints the first report's payload.
	got := make(chan []byte, 1)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/session" {
			io.WriteString(w, `{"token":"t"}`)
			return
		}
		var rep usage.ReportRequest
		json.NewDecoder(r.Body).Decode(&rep)
		select {
		case got <- rep.Data.Extra:
		default:
		}
		io.WriteString(w, `{"status":200}`)
	}))
	defer collector.Close()

	cfg, err := config.NewParserWithFileReader(func(string) ([]byte, error) {
		return []byte(fmt.Sprintf(`{
			"version": 3,
			"extra_config": {"telemetry/usage": {"url": %q, "hash_bits": 8}},
			"endpoints": [
				{"endpoint": "/a", "backend": [{"host": ["http://localhost:19"], "url_pattern": "/a"}]},
				{"endpoint": "/b", "method": "POST", "backend": [{"host": ["http://localhost:19"], "url_pattern": "/b"}]}
			]}`, collector.URL)), nil
	}).Parse("krakend.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg.Port = 0 // any free port (the parser's default is 8080)

	logger := logging.NoOp
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go router.NewFactory(router.Config{
		Engine:         router.NewEngine(cfg, router.EngineOptions{Logger: logger, Writer: io.Discard}),
		HandlerFactory: router.EndpointHandler,
		ProxyFactory:   proxy.DefaultFactory(logger),
		Logger:         logger,
		// The one line a custom build adds:
		RunServer: krakendusage.New(logger, server.RunServer),
	}).NewWithContext(ctx).Run(cfg)

	select {
	case extra := <-got:
		var p krakendusage.Payload
		json.Unmarshal(extra, &p)
		// libc depends on the machine: glibc, musl, or none for a static build.
		fmt.Printf("%d endpoints, methods %v, %d backends, mode %s\n", p.Endpoints, p.Methods, p.Backends, p.Mode)
	case <-time.After(30 * time.Second):
		fmt.Println("no report")
	}
	// Output: 2 endpoints, methods map[GET:1 POST:1], 2 backends, mode decorator
}

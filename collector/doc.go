// Package collector is the krakend-usage collector: the server that
// receives the reports of krakend-usage reporters (ours in package usage,
// and the original github.com/krakend/krakend-usage/v2 client), verifies
// them, stores them and shows them.
//
// It is a library: the command cmd/usage-collector parses flags and
// environment, opens the database and calls it. A program can run a
// [Server] itself:
//
//	st, err := sqlite.Open(ctx, "usage.db")
//	...
//	srv, err := collector.New(st, collector.Config{Secret: key})
//	...
//	go srv.RunRetention(ctx)
//	go srv.ListenAndServe(":8090")
//	<-ctx.Done()
//	srv.Shutdown(shutdownCtx) // in-flight reports are answered and stored
//
// [Config] holds every default and limit of the collector; its zero value
// (with a Secret) is the production default.
//
// # Defences
//
// [Server.Serve] (and ListenAndServe, ServeAdmin) runs the HTTP server
// with the collector's defences: header, read, write and idle timeouts,
// and a connection limit shared out per client network that sheds idle
// connections first (Config.MaxConns, Config.MaxClientConns). The body
// budget, the session rate limit and the admin token live in the handler
// itself. A Server is also an http.Handler: mounted in an http.Server of
// one's own, it keeps the handler's defences, and the timeouts and the
// connection limit are that server's to set. A negative MaxConns opts out
// of the connection limit alone.
//
// # Endpoints
//
//	POST /session    {"cluster_id","server_id"} -> {"token","bits"}
//	POST /report     {"token","pow","data"}     -> {"status":200}
//	GET  /healthz    {"status":"ok"} when the database answers and no write is stalled
//
// The admin routes:
//
//	GET  /api/stats            totals, activity, breakdowns, features by week and
//	                           by version, install channels, distributions (JSON)
//	GET  /api/stats.csv        one series of the stats as CSV (?series=)
//	GET  /api/clusters         the clusters, a page at a time (?after=, ?limit=)
//	GET  /api/clusters/{id}    one cluster and its servers
//	GET  /api/reports.ndjson   the stored reports of a UTC day (?day=)
//	GET  /api/openapi.yaml     the OpenAPI document of the intake and /api/*
//	GET  /                     the dashboard (HTML with inline SVG charts)
//	GET  /clusters, /clusters/{id}   the cluster list and one cluster's page
//	GET  /static/...           the dashboard's style sheet and script
//	GET  /metrics              Prometheus metrics
//
// With Config.Public, on the intake and open to anyone: GET /public, the
// fleet's aggregates safe to publish, /public/stats.json and
// /public/public.css.
//
// Every error reply, an unknown path's 404 included, is
// {"status":N,"message":"reason"}; the dashboard's pages answer theirs
// with an HTML page. Handlers return their refusal as an error, and one
// place (package internal/httpx's Router) writes it; what else a route
// does with a refusal (count it by reason, log it, rate-limited) is set
// where the route is registered (routes.go). The dashboard, /static/,
// /api/* and /metrics are admin routes, registered together. On the
// intake they answer clients on the collector's own machine only
// (loopback), unless Config.AdminToken requires a token of every client,
// Config.SeparateAdmin moves them to a listener of their own, or
// Config.AdminAnywhere opens them to all.
//
// # Verification
//
// A report goes through the cheapest checks first, so spam costs almost
// nothing to refuse: method (405), Content-Type (415), body size (413),
// room in the body-memory budget (503), JSON (400), token signature and
// TTL (401), token IDs equal the data's IDs (403), every field within
// usage's rules (400 naming the field), report time within Expiration of
// the server clock (400), the hashcash stamp (length, parse, version,
// claimed bits, date, resource = token + data hash, real leading zero
// bits: 400), then the insert, bounded in time (503). It is answered 200
// only after the insert committed. A stamp already stored that passed
// verification is the same report sent again (the stamp binds token and
// data): it is answered 200 and not stored twice.
//
// # Tokens
//
// Session tokens are HMAC-SHA256 signed and carry the cluster ID, server ID
// and issue time, so no session is stored and any collector holding the
// key accepts them. The key comes from the configuration or, in the
// command, from the database, where the first collector to start stored a
// random one.
//
// # Privacy
//
// Client IP addresses are used, in memory only, to tell client networks
// apart: for the session rate limit, the shares of the body budget and
// of the connection limit, and to keep the admin routes to loopback.
// They are never logged or stored. A feature or method counts by
// name only when usage/krakend (or Config.Features) knows it, so no
// reporter can put a word of its choice on the dashboard. The public
// view holds no ID and shows the figures of the last complete UTC day, of
// clusters established for Config.PublicEstablishedDays days, every count
// rounded down to a multiple of Config.PublicMinClusters and every entry
// of fewer clusters folded into "other" (see store.PublicFigures). A
// server new to a cluster changes neither its version nor its payload
// before its second UTC day, so a report under a guessed cluster ID
// changes neither the dashboard's view of it nor the public view.
//
// # Layout
//
// The package is flat, a file per concern: server.go (the Server and
// /healthz), routes.go (every route and the admin guards), session.go,
// report.go and strictjson.go (the intake), body.go, listener.go,
// clientnet.go and ratelimit.go (the defences), api.go and export.go (the
// read API), serve.go (the HTTP servers), config.go (every default and
// limit). Beside it:
//
//   - internal/httpx: the HTTP envelope (errors, JSON answers, query
//     parameters, the route wrapper), which knows nothing of reports;
//   - internal/ui: the dashboard, its charts, the cluster pages, their
//     static files and the public view, which read through the read
//     API and the store;
//   - store: the storage interface and the stats, with store/sqlite and
//     store/postgres passing one suite (store/storetest);
//   - prometheus: the alert rules; cmd/usage-collector: the command.
package collector

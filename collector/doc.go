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
//	GET  /api/stats  totals, activity, breakdowns, features by week and by
//	                 version, install channels, distributions (JSON)
//	GET  /api/reports.ndjson?day=D  the stored reports of a UTC day
//	GET  /           dashboard (HTML with inline SVG charts)
//	GET  /public     with Config.Public, on the intake: aggregates safe to
//	                 publish (and /public/stats.json)
//	GET  /metrics    Prometheus metrics
//	GET  /healthz    {"status":"ok"} when the database answers and no write is stalled
//
// Every error reply, an unknown path's 404 included, is
// {"status":N,"message":"reason"}. Handlers return their refusal as an
// error, and one place ([Server] route) writes it, counts it by reason and
// logs it (rate-limited). The dashboard, /static/, /api/* and /metrics are
// admin routes, registered together. On the intake they answer clients on
// the collector's own machine only (loopback), unless Config.AdminToken
// requires a token of every client, Config.SeparateAdmin moves them to a
// listener of their own, or Config.AdminAnywhere opens them to all.
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
// Client IP addresses are used only for the session rate limiter, in
// memory; they are never logged or stored. A feature or method counts by
// name only when usage/krakend (or Config.Features) knows it, so no
// reporter can put a word of its choice on the dashboard. The public
// view holds no ID and shows the figures of the last complete UTC day, of
// clusters established for Config.PublicEstablishedDays days, every count
// rounded down to a multiple of Config.PublicMinClusters and every entry
// of fewer clusters folded into "other" (see store.PublicFigures). A
// server new to a cluster changes neither its version nor its payload
// before its second UTC day, so a report under a guessed cluster ID
// changes neither the dashboard's view of it nor the public view.
package collector

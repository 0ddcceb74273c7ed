// Package collector is the krakend-usage collector: the server that
// receives the reports of krakend-usage reporters (ours in package usage,
// and the original github.com/krakend/krakend-usage/v2 client), verifies
// them, stores them and shows them.
//
// The command is cmd/usage-collector; [Run] is its whole life. A program
// can also mount a [Server], an http.Handler, itself:
//
//	st, err := collector.OpenStore(ctx, "sqlite:usage.db")
//	...
//	srv, err := collector.New(st, collector.Config{Secret: key})
//	...
//	http.ListenAndServe(":8090", srv)
//
// # Endpoints
//
//	POST /session    {"cluster_id","server_id"} -> {"token","bits"}
//	POST /report     {"token","pow","data"}     -> {"status":200}
//	GET  /api/stats  totals, activity, breakdowns (JSON)
//	GET  /           dashboard (HTML with inline SVG charts)
//	GET  /metrics    Prometheus metrics
//	GET  /healthz    {"status":"ok"} when the database answers
//
// Every error reply is {"status":N,"message":"reason"}.
//
// # Verification
//
// A report goes through the cheapest checks first, so spam costs almost
// nothing to refuse: method (405), body size (413), JSON (400), token
// signature and TTL (401), token IDs equal the data's IDs (403), report
// time within Expiration of the server clock (400), the hashcash stamp
// (parse, version, claimed bits, date, resource = token + data hash, real
// leading zero bits: 400), then the insert, where a stamp already stored
// is a replay (409). It is answered 200 only after the insert committed.
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
// memory; they are never logged or stored.
package collector

// Package httpx is the collector's HTTP envelope: handlers that return
// their refusal as an [*Error], the one place ([Router.Handler]) that
// turns it into an answer, counts it and measures the route, JSON
// answers, query parameters and the panic guard. It knows nothing of
// reports, sessions or the store: what a route does with a refusal beyond
// answering it (count it in a metric of its own, log it, answer a browser
// with a page) is a property of the route, set where it is registered.
//
// Every error answer is {"status":N,"message":"reason"}, under 1 KiB
// whatever the request held.
package httpx

package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/collector/store/sqlite"
	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/hashcash"
)

// apiDoc loads and validates openapi.yaml as OpenAPI 3.1.
func apiDoc(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openapiDoc)
	if err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi.yaml is OpenAPI %s, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	// The public page and its style sheet are text, as text/plain is.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/css", openapi3filter.PlainBodyDecoder)
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc, router
}

// apiCase is one request and the status it must get. Its answer is
// checked against the operation documented for route ("GET
// /api/clusters/x"), which is the request itself unless the request is
// deliberately one the document does not describe (a wrong method).
type apiCase struct {
	method, path string
	route        string
	ctype        string // Content-Type; "" is application/json for a body
	body         any    // []byte, string or a value to encode as JSON
	noAuth       bool   // leave out the admin token
	basic        bool   // send it as a browser does, the password of basic authentication
	header       map[string]string
	want         int
}

const adminToken = "openapi-test-admin-token"

var quiet = slog.New(slog.DiscardHandler)

// contract sends cases to a collector at base and checks each answer,
// status, headers, content type and body, against the document. It
// returns the (operation, status) pairs it saw.
type contract struct {
	t      *testing.T
	router routers.Router
	seen   map[string]bool // "GET /api/stats 400"
}

func (c *contract) run(base string, cases ...apiCase) []*http.Response {
	c.t.Helper()
	var out []*http.Response
	for _, tc := range cases {
		out = append(out, c.do(base, tc))
	}
	return out
}

func (c *contract) do(base string, tc apiCase) *http.Response {
	t := c.t
	t.Helper()
	var raw []byte
	switch b := tc.body.(type) {
	case nil:
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(tc.method, base+tc.path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if tc.body != nil {
		ct := tc.ctype
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	// Ask for no compression unless the case does: Go's transport would
	// otherwise ask for gzip itself and hide the answer's encoding.
	req.Header.Set("Accept-Encoding", "identity")
	for k, v := range tc.header {
		req.Header.Set(k, v)
	}
	switch {
	case tc.basic:
		req.SetBasicAuth("anyone", adminToken)
	case !tc.noAuth:
		req.Header.Set("Authorization", "Bearer "+adminToken)
	}
	name := tc.method + " " + tc.path
	route := tc.route
	if route == "" {
		route = name
	}
	method, target, _ := strings.Cut(route, " ")
	lookup, err := http.NewRequest(method, base+target, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	lookup.Header = req.Header.Clone()
	op, params, err := c.router.FindRoute(lookup)
	if err != nil {
		t.Errorf("%s: not in openapi.yaml: %v", route, err)
		return nil
	}
	input := &openapi3filter.RequestValidationInput{Request: lookup, PathParams: params, Route: op,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if resp.StatusCode != tc.want {
		t.Errorf("%s: got %d %q, want %d", name, resp.StatusCode, body, tc.want)
		return resp
	}
	c.seen[fmt.Sprintf("%s %s %d", op.Method, op.Path, resp.StatusCode)] = true
	if resp.StatusCode < 300 && tc.route == "" {
		// A request the collector took must be one the document allows:
		// its parameters and body.
		if err := openapi3filter.ValidateRequest(context.Background(), input); err != nil {
			t.Errorf("%s: the request, answered %d, does not match openapi.yaml: %v", name, resp.StatusCode, err)
		}
		lookup.Body = io.NopCloser(bytes.NewReader(raw))
	}
	if resp.StatusCode == http.StatusNotModified {
		// kin-openapi does not check a 304: its headers are checked here.
		c.notModified(name, op, resp, body)
		return resp
	}
	ndjson := resp.Header.Get("Content-Type") == "application/x-ndjson"
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: input,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
			// kin-openapi has no NDJSON decoder: its lines are checked below.
			ExcludeResponseBody: ndjson},
	})
	if err != nil {
		shown := body
		if ce := resp.Header.Get("Content-Encoding"); ce != "" {
			shown = fmt.Appendf(nil, "(%d bytes of %s)", len(body), ce)
		}
		t.Errorf("%s: the %d answer does not match openapi.yaml: %v\n%s", name, resp.StatusCode, err, shown)
	}
	if ndjson {
		plain := c.ndjsonLines(name, op, resp, body)
		resp.Body = io.NopCloser(bytes.NewReader(plain))
	}
	return resp
}

// schemaOpts are the options kin-openapi validates an answer's body with
// for an OpenAPI 3.1 document.
var schemaOpts = []openapi3.SchemaValidationOption{openapi3.MultiErrors(), openapi3.EnableJSONSchema2020(), openapi3.VisitAsResponse()}

// ndjsonLines checks an application/x-ndjson answer: its body, gunzipped
// when its Content-Encoding says so, is lines each ending in a newline,
// each a JSON object valid against the media type's schema (the schema
// of one line). It returns the plain body.
func (c *contract) ndjsonLines(name string, op *routers.Route, resp *http.Response, body []byte) []byte {
	t := c.t
	t.Helper()
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Errorf("%s: Content-Encoding gzip, but %v", name, err)
			return nil
		}
		if body, err = io.ReadAll(zr); err != nil {
			t.Errorf("%s: Content-Encoding gzip, but %v", name, err)
			return nil
		}
	}
	media := op.Operation.Responses.Status(resp.StatusCode).Value.Content.Get("application/x-ndjson")
	if media == nil || media.Schema == nil {
		t.Errorf("%s: openapi.yaml has no application/x-ndjson schema for %d", name, resp.StatusCode)
		return body
	}
	if len(body) > 0 && body[len(body)-1] != '\n' {
		t.Errorf("%s: the NDJSON answer does not end with a newline", name)
	}
	for i, line := range bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n")) {
		if len(body) == 0 {
			break
		}
		var v any
		if err := json.Unmarshal(line, &v); err != nil {
			t.Errorf("%s: line %d is not JSON: %v\n%s", name, i+1, err, line)
			continue
		}
		if err := media.Schema.Value.VisitJSON(v, schemaOpts...); err != nil {
			t.Errorf("%s: line %d does not match openapi.yaml: %v\n%s", name, i+1, err, line)
		}
	}
	return body
}

// notModified checks a 304 answer, which kin-openapi leaves alone: no
// body, and every header the document requires, valid.
func (c *contract) notModified(name string, op *routers.Route, resp *http.Response, body []byte) {
	t := c.t
	t.Helper()
	if len(body) > 0 {
		t.Errorf("%s: a 304 with a body: %q", name, body)
	}
	doc := op.Operation.Responses.Status(http.StatusNotModified)
	if doc == nil {
		t.Errorf("%s: openapi.yaml documents no 304", name)
		return
	}
	for k, h := range doc.Value.Headers {
		v := resp.Header.Get(k)
		if v == "" {
			if h.Value.Required {
				t.Errorf("%s: the 304 has no %s header", name, k)
			}
			continue
		}
		if err := h.Value.Schema.Value.VisitJSON(v, schemaOpts...); err != nil {
			t.Errorf("%s: the 304's %s header does not match openapi.yaml: %v", name, k, err)
		}
	}
}

// TestOpenAPIContract sends real requests over HTTP to a collector on
// each backend, the successes and every 4xx each route documents, and
// checks every answer against openapi.yaml. It fails when a documented
// 2xx or 4xx was not exercised, so the document says nothing the test
// does not check.
func TestOpenAPIContract(t *testing.T) {
	doc, router := apiDoc(t)
	onBothBackends(t, func(t *testing.T, open func() store.Store) {
		st := open()
		_, base := serve(t, st, Config{AdminToken: adminToken, MaxBody: 64 << 10, Logger: quiet})
		_, limited := serve(t, st, Config{AdminToken: adminToken, SessionRate: 0.001, SessionBurst: 1, Logger: quiet})
		c := &contract{t: t, router: router, seen: map[string]bool{}}

		// An empty collector first: no fleet yet.
		today := time.Now().UTC().Format(time.DateOnly)
		_, emptyPublic := serve(t, st, Config{AdminToken: adminToken, Public: true, Logger: quiet})
		c.run(base,
			apiCase{method: "GET", path: "/api/stats", want: 200},
			apiCase{method: "GET", path: "/api/clusters", want: 200},
			apiCase{method: "GET", path: "/api/stats.csv?series=features", want: 200},
			apiCase{method: "GET", path: "/api/reports.ndjson?day=" + today, want: 200},
		)
		c.run(emptyPublic,
			apiCase{method: "GET", path: "/public/stats.json", noAuth: true, want: 200},
			apiCase{method: "GET", path: "/public", noAuth: true, want: 200},
		)

		// A fleet, reported by our reporter through the HTTP intake.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for i, s := range []struct{ cluster, server string }{{"c-1", "s-1"}, {"c-1", "s-2"}, {"c-2", "s-3"}} {
			rep, err := usage.New(usage.Options{ClusterID: s.cluster, ServerID: s.server, URL: base, Version: "2.13.2", HashBits: testBits,
				ExtraPayload: gatewayPayload(10+i, 12, map[string]int{"GET": 10}, map[string]int{"qos/ratelimit/router": 1})}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := rep.SingleReport(ctx); err != nil {
				t.Fatalf("our reporter: %v", err)
			}
		}

		// The intake.
		tokens := c.run(base, apiCase{method: "POST", path: "/session", body: usage.SessionRequest{ClusterID: "c-3", ServerID: "s-4"}, want: 200})
		var sess usage.SessionReply
		if tokens[0] == nil || json.NewDecoder(tokens[0].Body).Decode(&sess) != nil || sess.Token == "" {
			t.Fatal("no session token")
		}
		good := validReport(t, sess.Token, "c-3", "s-4", testBits)
		stale := validReport(t, sess.Token, "c-3", "s-4", testBits)
		stale.Data.Time -= 3600
		mint(t, stale, &hashcash.Minter{Bits: testBits})
		other := validReport(t, sess.Token, "c-3", "s-5", testBits)
		forged := validReport(t, sess.Token, "c-3", "s-4", testBits)
		forged.Token = "bm90LWEtdG9rZW4.c2lnbmF0dXJl"
		c.run(base,
			apiCase{method: "POST", path: "/session", body: `{"cluster_id":`, want: 400},
			apiCase{method: "POST", path: "/session", body: usage.SessionRequest{ClusterID: "has space", ServerID: "s"}, want: 400},
			apiCase{method: "GET", path: "/session", route: "POST /session", want: 405},
			apiCase{method: "POST", path: "/session", body: strings.Repeat("x", 5<<10), want: 413},
			apiCase{method: "POST", path: "/session", body: "cluster_id=c", ctype: "application/x-www-form-urlencoded", want: 415},
			apiCase{method: "POST", path: "/report", body: good, want: 200},
			apiCase{method: "POST", path: "/report", body: good, want: 200}, // a retry: stored once
			apiCase{method: "POST", path: "/report", body: "{", want: 400},
			apiCase{method: "POST", path: "/report", body: stale, want: 400},
			apiCase{method: "POST", path: "/report", body: forged, want: 401},
			apiCase{method: "POST", path: "/report", body: other, want: 403},
			apiCase{method: "GET", path: "/report", route: "POST /report", want: 405},
			apiCase{method: "POST", path: "/report", body: bytes.Repeat([]byte("x"), 65<<10), want: 413},
			apiCase{method: "POST", path: "/report", body: "token=x", ctype: "text/plain", want: 415},
			apiCase{method: "GET", path: "/healthz", want: 200},
		)
		c.run(limited,
			apiCase{method: "POST", path: "/session", body: usage.SessionRequest{ClusterID: "c", ServerID: "s"}, want: 200},
			apiCase{method: "POST", path: "/session", body: usage.SessionRequest{ClusterID: "c", ServerID: "s"}, want: 429},
		)

		// The read API.
		c.run(base,
			apiCase{method: "GET", path: "/api/stats", want: 200},
			apiCase{method: "GET", path: "/api/stats?days=365", want: 200},
			apiCase{method: "GET", path: "/api/stats?days=7", basic: true, want: 200},
			apiCase{method: "GET", path: "/api/stats?days=6", want: 400},
			apiCase{method: "POST", path: "/api/stats", route: "GET /api/stats", want: 405},
			apiCase{method: "GET", path: "/api/stats", noAuth: true, want: 401},
		)
		for _, series := range []string{"days", "versions_weekly", "growth", "features", "features_weekly", "feature_versions"} {
			c.run(base, apiCase{method: "GET", path: "/api/stats.csv?days=90&series=" + series, want: 200})
		}
		c.run(base,
			apiCase{method: "GET", path: "/api/stats.csv?series=servers", want: 400},
			apiCase{method: "GET", path: "/api/stats.csv?series=days&days=x", want: 400},
			apiCase{method: "DELETE", path: "/api/stats.csv?series=days", route: "GET /api/stats.csv?series=days", want: 405},
			apiCase{method: "GET", path: "/api/stats.csv?series=days", noAuth: true, want: 401},
		)
		pages := c.run(base, apiCase{method: "GET", path: "/api/clusters?limit=1", want: 200})
		var page store.ClusterPage
		if pages[0] == nil || json.NewDecoder(pages[0].Body).Decode(&page) != nil || page.Next == "" {
			t.Fatal("no second page of clusters")
		}
		c.run(base,
			apiCase{method: "GET", path: "/api/clusters?limit=1&after=" + page.Next, want: 200},
			apiCase{method: "GET", path: "/api/clusters?limit=0", want: 400},
			apiCase{method: "GET", path: "/api/clusters?after=not-a-cursor", want: 400},
			apiCase{method: "POST", path: "/api/clusters", route: "GET /api/clusters", want: 405},
			apiCase{method: "GET", path: "/api/clusters", noAuth: true, want: 401},
			apiCase{method: "GET", path: "/api/clusters/c-1", want: 200},
			apiCase{method: "GET", path: "/api/clusters/c-1?limit=1", want: 200},
			apiCase{method: "GET", path: "/api/clusters/unknown", want: 404},
			apiCase{method: "GET", path: "/api/clusters/" + strings.Repeat("x", 129), want: 400},
			apiCase{method: "GET", path: "/api/clusters/c-1?limit=501", want: 400},
			apiCase{method: "PUT", path: "/api/clusters/c-1", route: "GET /api/clusters/c-1", want: 405},
			apiCase{method: "GET", path: "/api/clusters/c-1", noAuth: true, want: 401},
			apiCase{method: "GET", path: "/api/openapi.yaml", want: 200},
			apiCase{method: "POST", path: "/api/openapi.yaml", route: "GET /api/openapi.yaml", want: 405},
			apiCase{method: "GET", path: "/api/openapi.yaml", noAuth: true, want: 401},
		)

		// The export: the fleet's reports of today, plain and gzip.
		for _, enc := range []string{"identity", "gzip"} {
			got := c.run(base, apiCase{method: "GET", path: "/api/reports.ndjson?day=" + today,
				header: map[string]string{"Accept-Encoding": enc}, want: 200})
			if got[0] == nil {
				continue
			}
			if ce := got[0].Header.Get("Content-Encoding"); (enc == "gzip") != (ce == "gzip") {
				t.Errorf("export asking for %s: Content-Encoding %q", enc, ce)
			}
			plain, _ := io.ReadAll(got[0].Body)
			// Four reports (the retry stored once), unless the UTC day
			// turned meanwhile.
			if n := bytes.Count(plain, []byte("\n")); n != 4 && today == time.Now().UTC().Format(time.DateOnly) {
				t.Errorf("export asking for %s: %d lines, want 4:\n%s", enc, n, plain)
			}
		}
		c.run(base,
			apiCase{method: "GET", path: "/api/reports.ndjson?day=2020-01-01", want: 200},
			apiCase{method: "GET", path: "/api/reports.ndjson", want: 400},
			apiCase{method: "GET", path: "/api/reports.ndjson?day=yesterday", want: 400},
			apiCase{method: "GET", path: "/api/reports.ndjson?day=2026-02-30", want: 400},
			apiCase{method: "GET", path: "/api/reports.ndjson?day=" + time.Now().UTC().AddDate(0, 0, 2).Format(time.DateOnly), want: 400},
			apiCase{method: "POST", path: "/api/reports.ndjson?day=" + today, route: "GET /api/reports.ndjson?day=" + today, want: 405},
			apiCase{method: "GET", path: "/api/reports.ndjson?day=" + today, noAuth: true, want: 401},
		)
		// No admin token: the admin routes answer the collector's own
		// machine only; a client a trusted proxy names from elsewhere
		// gets 403.
		_, noToken := serve(t, st, Config{ClientIPHeader: "X-Forwarded-For", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Logger: quiet})
		remote := map[string]string{"X-Forwarded-For": "198.51.100.7"}
		for _, p := range []string{"/api/stats", "/api/stats.csv?series=days", "/api/clusters", "/api/clusters/c-1", "/api/openapi.yaml", "/api/reports.ndjson?day=" + today} {
			c.run(noToken, apiCase{method: "GET", path: p, noAuth: true, header: remote, want: 403})
		}

		// The public view, without the admin token, the next day (clusters
		// established the day they start): k = 5 hides the three
		// clusters, k = 2 shows them rounded down, and no server (each
		// reported on one day only: none is known).
		tomorrow := func() time.Time { return time.Now().Add(24 * time.Hour) }
		_, public := serve(t, st, Config{AdminToken: adminToken, Public: true, PublicEstablishedDays: 1, Now: tomorrow, Logger: quiet})
		_, public2 := serve(t, st, Config{AdminToken: adminToken, Public: true, PublicMinClusters: 2, PublicEstablishedDays: 1, Now: tomorrow, Logger: quiet})
		for _, p := range []string{public, public2} {
			for _, path := range []string{"/public/stats.json", "/public"} {
				got := c.run(p, apiCase{method: "GET", path: path, noAuth: true, want: 200})
				if got[0] == nil {
					continue
				}
				body, _ := io.ReadAll(got[0].Body)
				for _, id := range []string{"c-1", "c-2", "c-3", "s-1", "s-2", "s-3", "s-4"} {
					if bytes.Contains(body, []byte(id)) {
						t.Errorf("GET %s%s holds the ID %s:\n%s", p, path, id, body)
					}
				}
				tag := got[0].Header.Get("ETag")
				not := c.run(p,
					apiCase{method: "GET", path: path, noAuth: true, header: map[string]string{"If-None-Match": tag}, want: 304},
					apiCase{method: "GET", path: path, noAuth: true, header: map[string]string{"If-None-Match": `"000000000000000000000000"`}, want: 200},
				)
				if not[0] != nil && not[0].Header.Get("ETag") != tag {
					t.Errorf("GET %s: the 304's ETag %q is not the 200's %q", path, not[0].Header.Get("ETag"), tag)
				}
			}
		}
		var hidden, shown map[string]any
		for p, v := range map[string]*map[string]any{public: &hidden, public2: &shown} {
			if got := c.run(p, apiCase{method: "GET", path: "/public/stats.json", noAuth: true, want: 200}); got[0] != nil {
				json.NewDecoder(got[0].Body).Decode(v)
			}
		}
		if hidden["active_clusters"] != 0.0 || hidden["active_servers"] != nil || shown["active_clusters"] != 2.0 || shown["active_servers"] != 0.0 {
			t.Errorf("public active clusters and servers: k=5 %v %v, want 0 null; k=2 %v %v, want 2 0",
				hidden["active_clusters"], hidden["active_servers"], shown["active_clusters"], shown["active_servers"])
		}
		c.run(public,
			apiCase{method: "POST", path: "/public/stats.json", route: "GET /public/stats.json", noAuth: true, want: 405},
			apiCase{method: "PUT", path: "/public", route: "GET /public", noAuth: true, want: 405},
			apiCase{method: "GET", path: "/public/public.css", noAuth: true, want: 200},
			apiCase{method: "DELETE", path: "/public/public.css", route: "GET /public/public.css", noAuth: true, want: 405},
		)

		// Every documented success and client error was seen.
		for path, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				for code := range op.Responses.Map() {
					if (code[0] == '2' || code[0] == '4') && !c.seen[method+" "+path+" "+code] {
						t.Errorf("%s %s: openapi.yaml documents %s, which this test never got", method, path, code)
					}
				}
			}
		}
	})
}

// TestOpenAPIRoutes: every route the collector registers under /api/,
// the intake's and the public view's, is in openapi.yaml, and every path of the document
// is served by the real handler (not its catch-all 404).
func TestOpenAPIRoutes(t *testing.T) {
	doc, _ := apiDoc(t)
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "usage.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, base := serve(t, st, Config{Logger: quiet, Public: true})
	routes := []string{srv.cfg.SessionPath, srv.cfg.ReportPath, "/healthz"}
	for _, rt := range srv.adminRoutes() {
		if strings.HasPrefix(rt.Pattern, "/api/") {
			routes = append(routes, rt.Pattern)
		}
	}
	for _, rt := range srv.publicRoutes() {
		routes = append(routes, rt.Pattern)
	}
	sort.Strings(routes)
	for _, r := range routes {
		if doc.Paths.Find(r) == nil {
			t.Errorf("route %s is not in openapi.yaml", r)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			url := base + strings.ReplaceAll(path, "{id}", "some-id")
			req, _ := http.NewRequest(method, url, strings.NewReader("{}"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusNotFound && strings.Contains(string(body), `"message":"not found"`) {
				t.Errorf("%s %s is in openapi.yaml, but the collector does not serve it", method, path)
			}
		}
	}
}

// TestOpenAPIServed: GET /api/openapi.yaml is the embedded document.
func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t, Config{})
	resp, err := http.Get(e.ts.URL + "/api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/yaml" || !bytes.Equal(body, openapiDoc) {
		t.Errorf("got %d %q, %d bytes; want 200 application/yaml, the %d bytes of openapi.yaml",
			resp.StatusCode, resp.Header.Get("Content-Type"), len(body), len(openapiDoc))
	}
}

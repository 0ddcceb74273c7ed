package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
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
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: input,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
	if err != nil {
		t.Errorf("%s: the %d answer does not match openapi.yaml: %v\n%s", name, resp.StatusCode, err, body)
	}
	return resp
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
		c.run(base,
			apiCase{method: "GET", path: "/api/stats", want: 200},
			apiCase{method: "GET", path: "/api/clusters", want: 200},
			apiCase{method: "GET", path: "/api/stats.csv?series=features", want: 200},
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
		for _, series := range []string{"days", "versions_weekly", "growth", "features"} {
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
// and the intake's, is in openapi.yaml, and every path of the document
// is served by the real handler (not its catch-all 404).
func TestOpenAPIRoutes(t *testing.T) {
	doc, _ := apiDoc(t)
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "usage.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, base := serve(t, st, Config{Logger: quiet})
	routes := []string{srv.cfg.SessionPath, srv.cfg.ReportPath, "/healthz"}
	for pattern := range srv.adminRoutes() {
		if strings.HasPrefix(pattern, "/api/") {
			routes = append(routes, pattern)
		}
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

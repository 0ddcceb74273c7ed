package collector

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/hashcash"
	"github.com/krakend-usage/krakend-usage/usage/krakend"
)

// The fleet the public view attacks run against: 40 single-server
// clusters, k = 5. Three run 2.12.0 and two run the decorator; the
// victim, the last one, is one of both and the only one using
// auth/validator.
const (
	attackFleet = 40
	victim      = "cluster-39"
)

// attackTruth are the counts the attacks are after, all below k.
var attackTruth = map[string]int64{"versions/2.12.0": 3, "mode/decorator": 2, "features/auth/validator": 1}

func attackMember(i int) (version string, p krakend.Payload) {
	version, mode := "2.13.2", krakend.ModePlugin
	if i >= 37 {
		version = "2.12.0"
	}
	if i >= 38 {
		mode = krakend.ModeDecorator
	}
	ns := map[string]int{"router": 1}
	if i >= 36 {
		ns["qos/http-cache"] = 1
	}
	if i == 39 {
		ns["auth/validator"] = 1
	}
	return version, krakend.Payload{Endpoints: 10, Backends: 10, Methods: map[string]int{"GET": 10}, Namespaces: ns, Mode: mode, Libc: krakend.LibcMusl}
}

// publicFigures is /public/stats.json as any reader sees it; a count is
// a number, or "< k" on collectors that show small counts that way.
type publicFigures map[string]any

// count is the number a reader takes for a count (ok false for "< k").
func count(v any) (int64, bool) {
	n, ok := v.(float64)
	return int64(n), ok
}

// entries are the named entries of a breakdown, "other" apart.
func (p publicFigures) entries(kind string) (named map[string]any, other any) {
	named = map[string]any{}
	list, _ := p[kind].([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		if v, _ := m["value"].(string); v == store.Other {
			other = m["clusters"]
		} else {
			named[v] = m["clusters"]
		}
	}
	return named, other
}

// without is p less the fields that tell the time.
func (p publicFigures) without() publicFigures {
	out := publicFigures{}
	for k, v := range p {
		if k != "generated" && k != "day" {
			out[k] = v
		}
	}
	return out
}

// postJSON posts v as JSON and returns the status and body.
func postJSON(t *testing.T, url string, v any) (int, string) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestPublicAttacks runs the attacks on the public view against a real
// collector over HTTP, and fails when one of them recovers a count below
// k or one cluster's values:
//
//   - totals minus the visible parts of a breakdown;
//   - four sybil clusters per rare value, the page read a minute later
//     and the next day;
//   - one report under a known cluster ID, which must change neither the
//     operator's view of that cluster nor the public page;
//   - a new cluster, whose features must not show a minute after it
//     starts (nor the next day).
func TestPublicAttacks(t *testing.T) {
	onBothBackends(t, func(t *testing.T, open func() store.Store) {
		// Monday 10:00 UTC: the fleet reports on days 0 and 3, the
		// attacks run on day 4 (a Friday) and the next day is in the same
		// ISO week.
		start := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
		clk := &clock{offset: time.Until(start)}
		_, url := serve(t, open(), Config{Now: clk.now, Public: true, PublicMinClusters: 5, SessionRate: -1})
		send := func(cluster, server, version string, p *krakend.Payload) {
			t.Helper()
			code, body := postJSON(t, url+"/session", usage.SessionRequest{ClusterID: cluster, ServerID: server})
			var tok struct{ Token string }
			if json.Unmarshal([]byte(body), &tok); code != 200 {
				t.Fatalf("session: %d %s", code, body)
			}
			req := &usage.ReportRequest{Token: tok.Token, Data: usage.UsageData{Version: version, Arch: "amd64", OS: "linux",
				ClusterID: cluster, ServerID: server, Uptime: 60, Time: clk.now().Unix()}}
			if p != nil {
				req.Data.Extra = p.JSON()
			}
			mint(t, req, &hashcash.Minter{Bits: testBits, Now: clk.now})
			if code, body := postJSON(t, url+"/report", req); code != 200 {
				t.Fatalf("report of %s/%s: %d %s", cluster, server, code, body)
			}
		}
		for _, day := range []int{0, 3} {
			for i := range attackFleet {
				v, p := attackMember(i)
				send(fmt.Sprintf("cluster-%d", i), fmt.Sprintf("server-%d", i), v, &p)
			}
			clk.advance(24 * time.Hour * time.Duration(3-day))
		}
		clk.advance(24 * time.Hour) // day 4, 10:00
		read := func() (publicFigures, string) {
			t.Helper()
			var p publicFigures
			resp, err := http.Get(url + "/public/stats.json")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&p) != nil {
				t.Fatalf("GET /public/stats.json: %d", resp.StatusCode)
			}
			return p, resp.Header.Get("ETag")
		}
		// recovered names each count of attackTruth a reader can read in
		// p, knowing that sybils clusters of their own have each rare
		// value.
		recovered := func(p publicFigures, sybils int64) []string {
			var out []string
			for key, truth := range attackTruth {
				var kind, value string
				for i := range key {
					if key[i] == '/' {
						kind, value = key[:i], key[i+1:]
						break
					}
				}
				named, _ := p.entries(kind)
				if n, ok := count(named[value]); ok && n-sybils == truth {
					out = append(out, fmt.Sprintf("%s: %d shown, less %d sybils", key, n, sybils))
				}
			}
			return out
		}
		base, baseTag := read()
		if n, _ := count(base["active_clusters"]); n < 35 {
			t.Fatalf("the fleet is not in the public view: %v", base)
		}

		t.Run("difference", func(t *testing.T) {
			total, ok := count(base["active_clusters"])
			if !ok {
				t.Fatalf("active_clusters %v", base["active_clusters"])
			}
			for _, kind := range []string{"versions", "mode"} {
				named, _ := base.entries(kind)
				hidden := total
				for _, v := range named {
					n, _ := count(v)
					hidden -= n
				}
				for key, truth := range attackTruth {
					if key[:len(kind)] == kind && hidden == truth {
						t.Errorf("active_clusters %d less the named %s gives %d, exactly %s", total, kind, hidden, key)
					}
				}
			}
			for _, kind := range []string{"versions", "features", "methods", "mode", "libc"} {
				named, other := base.entries(kind)
				named["other"] = other
				for v, c := range named {
					if n, ok := count(c); c != nil && (!ok || n%5 != 0) {
						t.Errorf("%s %s: %v clusters, not a multiple of k", kind, v, c)
					}
				}
			}
		})

		t.Run("new cluster", func(t *testing.T) {
			clk.advance(time.Minute)
			_, p := attackMember(39)
			p.Namespaces["telemetry/logging"] = 1
			send("cluster-new", "server-new", "2.13.2", &p)
			clk.advance(time.Minute)
			if got, tag := read(); tag != baseTag || !reflect.DeepEqual(got, base) {
				t.Errorf("a minute after a new cluster started, the public view changed:\nbefore %v\nafter  %v", base, got)
			}
		})

		t.Run("sybils", func(t *testing.T) {
			clk.advance(time.Minute)
			for i := range 4 {
				send(fmt.Sprintf("sybil-v%d", i), fmt.Sprintf("sybil-v%d", i), "2.12.0", &krakend.Payload{Mode: krakend.ModePlugin, Namespaces: map[string]int{"router": 1}})
				send(fmt.Sprintf("sybil-m%d", i), fmt.Sprintf("sybil-m%d", i), "2.13.2", &krakend.Payload{Mode: krakend.ModeDecorator, Namespaces: map[string]int{"router": 1}})
				send(fmt.Sprintf("sybil-f%d", i), fmt.Sprintf("sybil-f%d", i), "2.13.2", &krakend.Payload{Mode: krakend.ModePlugin, Namespaces: map[string]int{"router": 1, "auth/validator": 1}})
			}
			clk.advance(time.Minute)
			got, _ := read()
			if r := recovered(got, 4); len(r) > 0 {
				t.Errorf("a minute after 4 sybils per rare value, the public view gives away %v", r)
			}
		})

		t.Run("known cluster ID", func(t *testing.T) {
			var before, after store.ClusterDetail
			getJSON(t, url+"/api/clusters/"+victim, &before)
			clk.advance(time.Minute)
			probe := krakend.Payload{Endpoints: 1, Mode: krakend.ModeWrapper, Libc: krakend.LibcGlibc, Namespaces: map[string]int{"router": 1}}
			send(victim, "probe", "0.0.1", &probe)
			getJSON(t, url+"/api/clusters/"+victim, &after)
			// The probe shows as a server of the cluster (the operator
			// sees it); the cluster's values stay its own.
			if before.Version != after.Version || before.Endpoints != after.Endpoints || !reflect.DeepEqual(before.Features, after.Features) {
				t.Errorf("a report under %s changed its version, endpoints or features: before %s %d %v, after %s %d %v",
					victim, before.Version, before.Endpoints, before.Features, after.Version, after.Endpoints, after.Features)
			}
			clk.advance(time.Minute)
			if got, tag := read(); tag != baseTag || !reflect.DeepEqual(got, base) {
				t.Errorf("a minute after a report under %s, the public view changed:\nbefore %v\nafter  %v", victim, base, got)
			}
		})

		t.Run("next day", func(t *testing.T) {
			clk.advance(24*time.Hour - 6*time.Minute)
			got, _ := read()
			if r := recovered(got, 4); len(r) > 0 {
				t.Errorf("the day after 4 sybils per rare value, the public view gives away %v", r)
			}
			// No cluster established since: the same figures, for the
			// next day.
			if !reflect.DeepEqual(got.without(), base.without()) {
				t.Errorf("the day after the new cluster, the sybils and the probe, the public view changed:\nbefore %v\nafter  %v", base, got)
			}
		})
	})
}

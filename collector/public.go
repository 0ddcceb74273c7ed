package collector

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

// The public view (Config.Public): GET /public and /public/stats.json on
// the intake. It shows the fleet's aggregates and nothing that tells one
// cluster from another:
//
//   - no cluster or server ID, no per-cluster row, no server counts of an
//     entry (a cluster's size could single it out);
//   - a breakdown entry seen in fewer than k clusters
//     (Config.PublicMinClusters) is folded into "other";
//   - a total below k is shown as "< k", never as its value, and the
//     servers of fewer than k clusters not at all.

// publicTTL is how long a computed public answer is served: the page is
// meant to be hit by anyone, so it costs one stats query per TTL
// whatever the load.
const publicTTL = time.Minute

// publicCount is a public number: its value when 0 or at least k, else
// "< k".
type publicCount struct {
	n, k int64
	// hidden: not shown at all (null), e.g. the servers of fewer than k
	// clusters, which would tell one cluster's size.
	hidden bool
}

func (c publicCount) small() bool { return c.n > 0 && c.n < c.k }

func (c publicCount) MarshalJSON() ([]byte, error) {
	switch {
	case c.hidden:
		return []byte("null"), nil
	case c.small():
		return json.Marshal(c.String())
	}
	return strconv.AppendInt(nil, c.n, 10), nil
}

func (c publicCount) String() string {
	if c.hidden {
		return "–"
	}
	if c.small() {
		return "< " + strconv.FormatInt(c.k, 10)
	}
	return strconv.FormatInt(c.n, 10)
}

// publicEntry is one value of a public breakdown and its clusters.
type publicEntry struct {
	Value    string      `json:"value"`
	Clusters publicCount `json:"clusters"`
}

// publicWeek is one ISO week of the public growth series.
type publicWeek struct {
	Week           string      `json:"week"`
	ActiveClusters publicCount `json:"active_clusters"`
	NewClusters    publicCount `json:"new_clusters"`
}

// PublicStats is /public/stats.json.
type publicStats struct {
	Generated      time.Time     `json:"generated"`
	RangeDays      int           `json:"range_days"`
	MinClusters    int           `json:"min_clusters"`
	ActiveClusters publicCount   `json:"active_clusters"`
	ActiveServers  publicCount   `json:"active_servers"`
	Versions       []publicEntry `json:"versions"`
	Features       []publicEntry `json:"features"`
	Methods        []publicEntry `json:"methods"`
	Mode           []publicEntry `json:"mode"`
	Libc           []publicEntry `json:"libc"`
	Weeks          []publicWeek  `json:"weeks"`
}

// fold keeps the entries seen in at least k clusters, in order, and sums
// the others (and any "other" already there) into a last "other".
func fold(values []string, clusters []int64, k int64) []publicEntry {
	out := []publicEntry{}
	var other int64
	for i, v := range values {
		if v == store.Other || clusters[i] < k {
			other += clusters[i]
			continue
		}
		out = append(out, publicEntry{Value: v, Clusters: publicCount{n: clusters[i], k: k}})
	}
	if other > 0 {
		out = append(out, publicEntry{Value: store.Other, Clusters: publicCount{n: other, k: k}})
	}
	return out
}

func foldFeatures(fs []store.Feature, k int64) []publicEntry {
	vs, cs := make([]string, len(fs)), make([]int64, len(fs))
	for i, f := range fs {
		vs[i], cs[i] = f.Value, f.Clusters
	}
	return fold(vs, cs, k)
}

func foldSizes(ss []store.Size, k int64) []publicEntry {
	vs, cs := make([]string, len(ss)), make([]int64, len(ss))
	for i, s := range ss {
		vs[i], cs[i] = s.Value, s.Clusters
	}
	return fold(vs, cs, k)
}

// publicOf derives the public answer from the stats.
func publicOf(st *store.Stats, k int) *publicStats {
	kk := int64(k)
	p := &publicStats{Generated: st.Generated, RangeDays: st.RangeDays, MinClusters: k,
		ActiveClusters: publicCount{n: st.ActiveClusters.Range, k: kk},
		ActiveServers:  publicCount{n: st.ActiveServers.Range, k: kk, hidden: st.ActiveClusters.Range < kk},
		Versions:       foldSizes(st.ClusterVersions, kk), Features: foldFeatures(st.Features, kk),
		Methods: foldFeatures(st.Methods, kk), Mode: foldFeatures(st.Channels.Mode, kk), Libc: foldFeatures(st.Channels.Libc, kk),
		Weeks: []publicWeek{}}
	for _, g := range st.Growth {
		p.Weeks = append(p.Weeks, publicWeek{Week: g.Week, ActiveClusters: publicCount{n: g.ActiveClusters, k: kk},
			NewClusters: publicCount{n: g.NewClusters, k: kk}})
	}
	return p
}

// publicAnswer is one computed public view, JSON and page, with their
// ETags.
type publicAnswer struct {
	at               time.Time
	json, page       []byte
	jsonTag, pageTag string
}

// publicCache computes the public view at most once per publicTTL; a
// request meanwhile waits for the one computing it.
type publicCache struct {
	mu  sync.Mutex
	cur *publicAnswer
}

var publicTmpl = template.Must(template.New("public.html").Funcs(template.FuncMap{
	"rows": func(title string, rows []publicEntry) any {
		return struct {
			Title string
			Rows  []publicEntry
		}{title, rows}
	},
}).ParseFS(staticFS, "static/public.html"))

// publicRoutes are the public view's routes (Config.Public), served on
// the intake without the admin token.
func (s *Server) publicRoutes() map[string]http.Handler {
	return map[string]http.Handler{
		"/public":            s.route("public", s.handlePublic(false)),
		"/public/stats.json": s.route("public", s.handlePublic(true)),
		"/public/public.css": s.route("public", s.handlePublicCSS),
	}
}

// handlePublicCSS serves the public page's style sheet.
func (s *Server) handlePublicCSS(w http.ResponseWriter, r *http.Request) error {
	if err := readOnly(r); err != nil {
		return err
	}
	css, _ := staticFS.ReadFile("static/public.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(css)
	return nil
}

func etag(b []byte) string {
	h := sha256.Sum256(b)
	return `"` + hex.EncodeToString(h[:12]) + `"`
}

func (s *Server) publicAnswer(r *http.Request) (*publicAnswer, error) {
	c := s.public
	c.mu.Lock()
	defer c.mu.Unlock()
	now := s.cfg.Now()
	if c.cur != nil && now.Sub(c.cur.at) < publicTTL && now.Sub(c.cur.at) >= 0 {
		return c.cur, nil
	}
	st, err := s.store.StatsRange(r.Context(), now, store.DefaultDays)
	if err != nil {
		s.log.Error("collector: public stats", "err", err)
		return nil, errUnavailable
	}
	p := publicOf(st, s.cfg.PublicMinClusters)
	js, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("public stats: %w", err)
	}
	var page bytes.Buffer
	if err := publicTmpl.Execute(&page, p); err != nil {
		return nil, fmt.Errorf("public page: %w", err)
	}
	js = append(js, '\n')
	c.cur = &publicAnswer{at: now, json: js, page: page.Bytes(), jsonTag: etag(js), pageTag: etag(page.Bytes())}
	return c.cur, nil
}

// handlePublic serves /public and /public/stats.json.
func (s *Server) handlePublic(asJSON bool) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := readOnly(r); err != nil {
			return err
		}
		a, err := s.publicAnswer(r)
		if err != nil {
			return err
		}
		body, tag, ctype := a.page, a.pageTag, "text/html; charset=utf-8"
		if asJSON {
			body, tag, ctype = a.json, a.jsonTag, "application/json"
		}
		h := w.Header()
		h.Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(publicTTL.Seconds())))
		h.Set("ETag", tag)
		h.Set("X-Content-Type-Options", "nosniff")
		if !asJSON {
			h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'")
		}
		if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, tag) {
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
		h.Set("Content-Type", ctype)
		h.Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method == http.MethodHead {
			return nil
		}
		w.Write(body)
		return nil
	}
}

// etagMatch reports whether an If-None-Match header holds tag (or *).
func etagMatch(header, tag string) bool {
	for _, t := range bytes.Split([]byte(header), []byte(",")) {
		t = bytes.TrimSpace(t)
		t = bytes.TrimPrefix(t, []byte("W/"))
		if string(t) == tag || string(t) == "*" {
			return true
		}
	}
	return false
}

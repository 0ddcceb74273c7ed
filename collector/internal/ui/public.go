package ui

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/internal/httpx"
	"github.com/krakend-usage/krakend-usage/collector/store"
)

// The public view: GET /public, /public/stats.json and the page's style
// sheet, served on the intake to anyone, without the admin token. It
// shows the figures of store.PublicSnapshot: those of the last complete
// UTC day, established clusters only, every count rounded down to a
// multiple of k, no value of fewer than k clusters by name, no cluster
// or server ID, no per-cluster row.

// publicAnswer is the public view of one day, JSON and page, with their
// ETags.
type publicAnswer struct {
	day              int64
	json, page       []byte
	jsonTag, pageTag string
}

// publicView keeps the public view of the day; a request meanwhile
// waits for the one computing it.
type publicView struct {
	cfg Config
	mu  sync.Mutex
	cur *publicAnswer
}

// publicPage is what the page template's tables read.
type publicPage struct {
	*store.Public
	Title string
	Rows  []store.PublicEntry
}

var publicTmpl = template.Must(template.New("public.html").Funcs(template.FuncMap{
	"rows": func(p *store.Public, title string, rows []store.PublicEntry) any {
		return publicPage{Public: p, Title: title, Rows: rows}
	},
	// span is a rounded count as the range it stands for.
	"span": func(p *store.Public, n int64) string {
		k := int64(p.Rounding)
		if n == 0 {
			return "< " + strconv.FormatInt(k, 10)
		}
		return strconv.FormatInt(n, 10) + "–" + strconv.FormatInt(n+k-1, 10)
	},
}).ParseFS(staticFS, "static/public.html"))

// PublicRoutes are the public view's routes, for the intake, open to
// anyone. They share one cache of the view.
func (p *Pages) PublicRoutes() []httpx.Route {
	v := &publicView{cfg: p.cfg}
	return []httpx.Route{
		{Pattern: "/public", Name: "public", Handle: v.handlePublic(false)},
		{Pattern: "/public/stats.json", Name: "public", Handle: v.handlePublic(true)},
		{Pattern: "/public/public.css", Name: "public", Handle: handlePublicCSS},
	}
}

// handlePublicCSS serves the public page's style sheet.
func handlePublicCSS(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.ReadOnly(r); err != nil {
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

// errUnavailable answers a public view the store could not compute.
var errUnavailable = httpx.Unavailable("database unavailable")

// publicAnswer returns the public view of the current day, computed by
// the day's first request.
func (v *publicView) publicAnswer(r *http.Request) (*publicAnswer, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.cfg.Now()
	day := store.PublicDay(now)
	if v.cur != nil && v.cur.day == day {
		return v.cur, nil
	}
	pub, js, err := store.PublicSnapshot(r.Context(), v.cfg.Store, now, store.PublicOptions{
		MinClusters: v.cfg.MinClusters, EstablishedDays: v.cfg.EstablishedDays})
	if err != nil {
		v.cfg.Log.Error("collector: public figures", "err", err)
		return nil, errUnavailable
	}
	var page bytes.Buffer
	if err := publicTmpl.Execute(&page, pub); err != nil {
		return nil, fmt.Errorf("public page: %w", err)
	}
	v.cur = &publicAnswer{day: day, json: js, page: page.Bytes(), jsonTag: etag(js), pageTag: etag(page.Bytes())}
	return v.cur, nil
}

// publicMaxAge is how long a public answer may be cached at now: until
// the next UTC day, whose figures replace it.
func publicMaxAge(now time.Time) int {
	next := time.Unix((store.DayKey(now)+1)*86400, 0)
	return max(int(next.Sub(now).Seconds()), 1)
}

// handlePublic serves /public and /public/stats.json.
func (v *publicView) handlePublic(asJSON bool) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := httpx.ReadOnly(r); err != nil {
			return err
		}
		a, err := v.publicAnswer(r)
		if err != nil {
			return err
		}
		body, tag, ctype := a.page, a.pageTag, "text/html; charset=utf-8"
		if asJSON {
			body, tag, ctype = a.json, a.jsonTag, "application/json"
		}
		h := w.Header()
		h.Set("Cache-Control", fmt.Sprintf("public, max-age=%d", publicMaxAge(v.cfg.Now())))
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

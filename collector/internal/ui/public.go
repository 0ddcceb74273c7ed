package ui

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

	"github.com/krakend-usage/krakend-usage/collector/internal/httpx"
	"github.com/krakend-usage/krakend-usage/collector/store"
)

// The public view: GET /public, /public/stats.json and the page's style
// sheet, served on the intake to anyone, without the admin token. What it
// shows is derived in publicfold.go.

// publicTTL is how long a computed public answer is served: the page is
// meant to be hit by anyone, so it costs one stats query per TTL
// whatever the load.
const publicTTL = time.Minute

// publicAnswer is one computed public view, JSON and page, with their
// ETags.
type publicAnswer struct {
	at               time.Time
	json, page       []byte
	jsonTag, pageTag string
}

// publicView computes the public view at most once per publicTTL; a
// request meanwhile waits for the one computing it.
type publicView struct {
	cfg Config
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

// publicAnswer returns the public view, computed at most once per
// publicTTL.
func (v *publicView) publicAnswer(r *http.Request) (*publicAnswer, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.cfg.Now()
	if v.cur != nil && now.Sub(v.cur.at) < publicTTL && now.Sub(v.cur.at) >= 0 {
		return v.cur, nil
	}
	st, err := v.cfg.Store.StatsRange(r.Context(), now, store.DefaultDays)
	if err != nil {
		v.cfg.Log.Error("collector: public stats", "err", err)
		return nil, errUnavailable
	}
	pub := publicOf(st, v.cfg.MinClusters)
	js, err := json.Marshal(pub)
	if err != nil {
		return nil, fmt.Errorf("public stats: %w", err)
	}
	var page bytes.Buffer
	if err := publicTmpl.Execute(&page, pub); err != nil {
		return nil, fmt.Errorf("public page: %w", err)
	}
	js = append(js, '\n')
	v.cur = &publicAnswer{at: now, json: js, page: page.Bytes(), jsonTag: etag(js), pageTag: etag(page.Bytes())}
	return v.cur, nil
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

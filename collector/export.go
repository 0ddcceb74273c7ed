package collector

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/internal/httpx"
	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/usage"
)

// exportLine is one line of /api/reports.ndjson: the report's wire fields
// (usage.UsageData's names; extra base64, as on the wire) and when the
// collector received it.
type exportLine struct {
	usage.UsageData
	ExtraOmitted bool      `json:"extra_omitted,omitempty"`
	Pow          string    `json:"pow"`
	Received     time.Time `json:"received"`
}

const (
	// maxExports is how many exports one collector streams at once; one
	// more gets 503 at once. Each reads the database a page at a time.
	maxExports = 2
	// exportStall is how long an export waits for its client to take
	// more of the answer before it cuts the connection.
	exportStall = 30 * time.Second
)

var errBusyExport = &httpx.Error{Code: http.StatusServiceUnavailable, Reason: reasonBusy, RetryAfter: 10,
	Msg: fmt.Sprintf("%d exports are already being sent, try again later", maxExports)}

// handleExport serves GET /api/reports.ndjson?day=YYYY-MM-DD: the stored
// reports of that UTC day, one JSON object per line, streamed a page at a
// time (bounded memory, no read transaction held while the client reads),
// gzip when the client accepts it. A client that takes nothing for
// exportStall is cut off.
func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.ReadOnly(r); err != nil {
		return err
	}
	select {
	case s.exports <- struct{}{}:
		defer func() { <-s.exports }()
	default:
		return errBusyExport
	}
	v := r.URL.Query().Get("day")
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return httpx.InvalidParam("day", v, "a UTC day, YYYY-MM-DD")
	}
	day := store.DayKey(d)
	if day > store.DayKey(s.cfg.Now()) {
		return httpx.InvalidParam("day", v, "today or an earlier day")
	}
	// A day may be large: instead of one deadline for the whole answer,
	// each write must go through within the stall timeout.
	sent := &progressWriter{w: w, rc: http.NewResponseController(w), stall: s.exportStall}
	h := w.Header()
	h.Set("Content-Type", "application/x-ndjson")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="reports-%s.ndjson"`, v))
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "Accept-Encoding")
	out := bufio.NewWriterSize(sent, 32<<10)
	var gz *gzip.Writer
	if acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		gz = gzip.NewWriter(sent)
		out.Reset(gz)
	}
	enc := json.NewEncoder(out)
	started := false
	err = s.store.Export(r.Context(), day, func(rep *store.Report) error {
		started = true
		return enc.Encode(exportLine{UsageData: usage.UsageData{Version: rep.Version, Arch: rep.Arch, OS: rep.OS, ClusterID: rep.ClusterID,
			ServerID: rep.ServerID, Uptime: rep.Uptime, Time: rep.ReportTime.Unix(), Extra: rep.Extra},
			ExtraOmitted: rep.ExtraOmitted, Pow: rep.Stamp, Received: rep.Received})
	})
	if err != nil && !started && !errors.Is(err, r.Context().Err()) {
		// Nothing sent yet: a proper error answer.
		for _, k := range []string{"Content-Encoding", "Content-Disposition", "Vary"} {
			h.Del(k)
		}
		s.log.Error("collector: export", "err", err)
		return errUnavailable
	}
	if err != nil {
		// Midway: the client sees a cut stream (no final newline, a
		// broken gzip trailer); there is nothing better to send.
		s.log.Warn("collector: export cut", "day", v, "err", err)
		panic(http.ErrAbortHandler)
	}
	out.Flush()
	if gz != nil {
		gz.Close()
	}
	return nil
}

// progressWriter gives each write to the client stall to go through, so
// a client that stops reading is cut off after stall, and one that keeps
// reading, however slowly, is not.
type progressWriter struct {
	w     io.Writer
	rc    *http.ResponseController
	stall time.Duration
}

func (p *progressWriter) Write(b []byte) (int, error) {
	// A deadline is the network's, on the wall clock, not Config.Now.
	p.rc.SetWriteDeadline(time.Now().Add(p.stall))
	return p.w.Write(b)
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.ReplaceAll(strings.TrimSpace(q), " ", "") != "q=0" {
			return true
		}
	}
	return false
}

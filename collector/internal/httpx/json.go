package httpx

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/krakend-usage/krakend-usage/usage"
)

// WriteJSON writes v with status code. v is encoded first: a value that
// cannot be encoded is returned as an error, for the route to answer 500
// and log, instead of a 200 with an empty or cut body.
func WriteJSON(w http.ResponseWriter, code int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding the answer: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write(append(b, '\n')) // a write error is the client gone
	return nil
}

// maxMessage bounds an error answer's message: with the envelope every
// error answer stays under 1 KiB.
const maxMessage = 512

// bound cuts msg to maxMessage bytes, never inside a UTF-8 sequence.
func bound(msg string) string {
	if len(msg) > maxMessage {
		return strings.ToValidUTF8(msg[:maxMessage], "") + "…"
	}
	return msg
}

// WriteError writes the error answer, {"status":N,"message":...}: the
// reply of the wire protocol (usage.ReportReply), so a reporter reads
// every refusal the same way.
func WriteError(w http.ResponseWriter, code int, msg string) {
	WriteJSON(w, code, usage.ReportReply{Status: code, Message: bound(msg)})
}

// IsJSON reports whether a request's Content-Type, when it has one, is
// JSON. A missing one is accepted (curl -d sends none that fits, scripts
// often none at all); a form or text body is refused.
func IsJSON(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return true
	}
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

package collector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/krakend-usage/krakend-usage/collector/internal/httpx"
)

// maxKeys bounds the members of a request body's object, and of its
// "data" object. A report names 3 and 8; a body naming more is refused
// before anything else is read from it.
const maxKeys = 64

var (
	// errDuplicateKey is a JSON object naming a member twice.
	errDuplicateKey = errors.New("duplicate key")
	// errTooManyKeys is a JSON object naming more than maxKeys members.
	errTooManyKeys = fmt.Errorf("more than %d keys in one object", maxKeys)
)

// checkKeys refuses a request body whose object, or whose "data" object,
// names a member twice in any case, or more than maxKeys members.
// encoding/json matches keys without regard to case and keeps the last,
// so {"token":"x","TOKEN":"y"} would be read as a token the sender did not
// show first; any such body is refused instead of guessed at.
//
// It runs before the body is decoded or the token checked, so its cost is
// what an anonymous sender can make the collector spend: one pass over the
// body, each key folded once and looked up in a set.
func checkKeys(body []byte) error {
	d := json.NewDecoder(bytes.NewReader(body))
	if err := objectKeys(d, 1); err != nil {
		if errors.Is(err, errDuplicateKey) || errors.Is(err, errTooManyKeys) {
			return httpx.Fail(http.StatusBadRequest, reasonBadJSON, "invalid JSON: %v", err)
		}
		return httpx.Fail(http.StatusBadRequest, reasonBadJSON, "invalid JSON")
	}
	return nil
}

// objectKeys reads one value from d; when it is an object, it checks its
// keys, and those of its "data" member down to depth more levels.
func objectKeys(d *json.Decoder, depth int) error {
	tok, err := d.Token()
	if err != nil {
		return err
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '{' {
		if ok { // an array or other value: skip the rest of it
			return skipRest(d)
		}
		return nil
	}
	seen := make(map[string]struct{}, 8)
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		folded := foldKey(key)
		if _, dup := seen[folded]; dup {
			return errors.Join(errDuplicateKey, errors.New(httpx.Echo(key)))
		}
		if len(seen) == maxKeys {
			return errTooManyKeys
		}
		seen[folded] = struct{}{}
		if depth > 0 && folded == foldedData {
			if err := objectKeys(d, depth-1); err != nil {
				return err
			}
			continue
		}
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			return err
		}
	}
	_, err = d.Token() // '}'
	return err
}

var foldedData = foldKey("data")

// foldKey maps every rune of s to the smallest rune that Unicode simple
// case folding makes equal to it, so that two keys fold to the same string
// exactly when strings.EqualFold (and encoding/json's key matching) holds
// them equal.
func foldKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		if least < utf8.RuneSelf {
			b.WriteByte(byte(least))
		} else {
			b.WriteRune(least)
		}
	}
	return b.String()
}

// skipRest reads to the end of the array d has just opened.
func skipRest(d *json.Decoder) error {
	for d.More() {
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			return err
		}
	}
	_, err := d.Token()
	return err
}

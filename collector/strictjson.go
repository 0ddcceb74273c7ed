package collector

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// errDuplicateKey is a JSON object naming a member twice.
var errDuplicateKey = errors.New("duplicate key")

// checkKeys refuses a request body whose object, or whose "data" object,
// names a member twice in any case. encoding/json matches keys without
// regard to case and keeps the last, so {"token":"x","TOKEN":"y"} would be
// read as a token the sender did not show first; any such body is refused
// instead of guessed at.
func checkKeys(body []byte) error {
	d := json.NewDecoder(bytes.NewReader(body))
	if err := objectKeys(d, 1); err != nil {
		if errors.Is(err, errDuplicateKey) {
			return fail(http.StatusBadRequest, reasonBadJSON, "invalid JSON: %v", err)
		}
		return fail(http.StatusBadRequest, reasonBadJSON, "invalid JSON")
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
	var seen []string
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		for _, k := range seen {
			if strings.EqualFold(k, key) {
				return errors.Join(errDuplicateKey, errors.New(echo(key)))
			}
		}
		seen = append(seen, key)
		if depth > 0 && strings.EqualFold(key, "data") {
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

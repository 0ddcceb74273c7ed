package collector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/krakend-usage/krakend-usage/collector/internal/httpx"
)

// keysBody is an object with n distinct keys of about 8 bytes each.
func keysBody(n int) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%06d":0`, i)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// TestManyKeysRefused: a body naming more keys than a report has room for
// is refused with a 400 saying so, before its token is looked at, on both
// anonymous routes, at the top level and in "data"; the largest such body
// is refused as such (not 401 after the whole body was compared).
func TestManyKeysRefused(t *testing.T) {
	e := newEnv(t, Config{SessionRate: -1})
	many := keysBody(maxKeys + 1)
	inData := []byte(`{"token":"x","data":` + string(many) + `}`)
	huge := keysBody((1 << 20) / 12) // 1 MiB of distinct keys
	for _, c := range []struct {
		path string
		body []byte
	}{
		{"/report", many}, {"/report", inData}, {"/report", huge}, {"/session", many},
	} {
		code, reply, _ := e.post(c.path, c.body)
		msg, _ := reply["message"].(string)
		if code != http.StatusBadRequest || !strings.Contains(msg, fmt.Sprintf("more than %d keys", maxKeys)) {
			t.Errorf("%s, %d bytes: got %d %q, want 400 naming the key limit", c.path, len(c.body), code, msg)
		}
	}
	if n := e.reports(); n != 0 {
		t.Errorf("%d reports stored, want 0", n)
	}
}

// FuzzCheckKeys holds the linear duplicate-key check to the pairwise one
// it replaces: for any list of keys, at the top level or in "data", it
// refuses a body exactly when some key equals an earlier one under
// strings.EqualFold, and one with more than maxKeys keys otherwise.
func FuzzCheckKeys(f *testing.F) {
	f.Add("token\x00TOKEN")
	f.Add("toKen\x00to\u212aen")            // Kelvin sign
	f.Add("data\x00pow\x00DaTa")            //
	f.Add("\xff\x00\xfe\x00\u00df\x00SS")   // invalid UTF-8; ß does not fold to SS
	f.Add("\u03a3\x00\u03c3\x00\u03c2\x00") // the three sigmas
	f.Add(strings.Repeat("a\x00", 70))
	f.Fuzz(func(t *testing.T, list string) {
		keys := strings.Split(list, "\x00")
		obj := map[bool][]byte{}
		var b bytes.Buffer
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteString(":0")
		}
		b.WriteByte('}')
		obj[false] = b.Bytes()
		obj[true] = []byte(`{"token":"t","data":` + b.String() + `}`)
		want := pairwiseVerdict(t, b.Bytes())
		for _, nested := range []bool{false, true} {
			got := ""
			if err := checkKeys(obj[nested]); err != nil {
				var ae *httpx.Error
				if !errors.As(err, &ae) || ae.Code != http.StatusBadRequest {
					t.Fatalf("refusal %#v, want a 400", err)
				}
				got = ae.Msg
			}
			if !strings.Contains(got, want) || (want == "") != (got == "") {
				t.Fatalf("keys %q (in data: %v): got %q, want %q", keys, nested, got, want)
			}
		}
	})
}

// pairwiseVerdict is what checkKeys must say of the object body: "" to
// accept it, else the start of its refusal, found by comparing every key
// with every earlier one.
func pairwiseVerdict(t *testing.T, body []byte) string {
	d := json.NewDecoder(bytes.NewReader(body))
	var m []string
	if _, err := d.Token(); err != nil {
		t.Fatal(err)
	}
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		k := tok.(string)
		for _, prev := range m {
			if strings.EqualFold(prev, k) {
				return "invalid JSON: duplicate key"
			}
		}
		if len(m) == maxKeys {
			return "invalid JSON: " + errTooManyKeys.Error()
		}
		m = append(m, k)
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return ""
}

// BenchmarkVerifyHostile measures what one anonymous /report body costs
// the collector before its token is checked: decoding, the key check and
// the token check, per byte (MB/s), for bodies shaped to cost the most.
func BenchmarkVerifyHostile(b *testing.B) {
	s := fuzzServer(b)
	size := 2 << 20
	pad := func(open, unit, close string) []byte {
		n := (size - len(open) - len(close)) / len(unit)
		return []byte(open + strings.Repeat(unit, n) + close)
	}
	var escaped strings.Builder
	escaped.WriteString(`{"token":"x","data":{"version":"`)
	for escaped.Len() < size-16 {
		escaped.WriteString(`\u00e9`)
	}
	escaped.WriteString(`"}}`)
	for _, c := range []struct {
		name string
		body []byte
	}{
		{"distinct-keys-64KiB", keysBody((64 << 10) / 12)},
		{"distinct-keys-256KiB", keysBody((256 << 10) / 12)},
		{"distinct-keys-1MiB", keysBody((1 << 20) / 12)},
		{"distinct-keys-2MiB", keysBody((2 << 20) / 12)},
		{"keys-in-unread-member-2MiB", pad(`{"token":"x","x":{`, `"k":0,`, `"k":0}}`)},
		{"nested-arrays-2MiB", pad(`{"token":"x","x":`, `[`, ``)},
		{"numbers-2MiB", pad(`{"token":"x","x":[`, `0,`, `0]}`)},
		{"escaped-string-2MiB", []byte(escaped.String())},
		{"base64-extra-2MiB", pad(`{"token":"x","data":{"extra":"`, `AAAA`, `"}}`)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			for b.Loop() {
				if _, err := s.verify(c.body, fuzzNow); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}

// TestDuplicateKeysRefused: a body naming a member twice, in any case, is
// refused and stores nothing.
func TestDuplicateKeysRefused(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.session("dup-c", "dup-s")
	rep := validReport(t, tok, "dup-c", "dup-s", testBits)
	valid, _ := json.Marshal(rep)
	data, _ := json.Marshal(rep.Data)
	dataStr := string(data)
	for _, tc := range []struct{ path, body string }{
		{"/report", `{"token":"garbage","TOKEN":` + strings.TrimPrefix(string(valid), `{"token":`)},
		{"/report", strings.Replace(string(valid), `{"token":`, `{"Token":"garbage","token":`, 1)},
		{"/report", strings.Replace(string(valid), `{"token":`, `{"to\u212aen":"garbage","token":`, 1)}, // KELVIN SIGN folds to k
		{"/report", strings.Replace(string(valid), dataStr, strings.Replace(dataStr, `{`, `{"VERSION":"9.9.9",`, 1), 1)},
		{"/session", `{"cluster_id":"a","server_id":"s","CLUSTER_ID":"b"}`},
	} {
		code, m, _ := e.post(tc.path, tc.body)
		if code != 400 || !strings.Contains(m["message"].(string), "duplicate key") {
			t.Errorf("%s %.60s…: got %d %v, want 400 duplicate key", tc.path, tc.body, code, m)
		}
	}
	if n := e.reports(); n != 0 {
		t.Errorf("%d reports stored, want 0", n)
	}
	if code, m, _ := e.post("/report", valid); code != 200 {
		t.Errorf("the report itself: got %d %v, want 200", code, m)
	}
}

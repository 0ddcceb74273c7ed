package compat

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/catalinc/hashcash"
	orig "github.com/krakend/krakend-usage/v2"

	"github.com/krakend-usage/krakend-usage/usage"
	ours "github.com/krakend-usage/krakend-usage/usage/hashcash"
)

// originalCollector checks reports exactly the way krakend-usage v2's own
// test server does: catalinc/hashcash Check at the given bits, the stamp
// contains the data hash, the data is not expired.
func originalCollector(t *testing.T, bits uint, reports chan<- orig.ReportRequest) *httptest.Server {
	hasher := hashcash.New(bits, 40, "")
	var mu sync.Mutex // catalinc's Hash is not safe for concurrent use
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/session" {
			fmt.Fprint(w, `{"token":"some_token_value"}`)
			return
		}
		var msg orig.ReportRequest
		if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
			t.Errorf("decoding report: %v", err)
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		mu.Lock()
		ok := hasher.Check(msg.Pow)
		mu.Unlock()
		h, _ := msg.Data.Hash()
		switch {
		case !ok:
			t.Errorf("catalinc rejects stamp %s", msg.Pow)
		case !strings.Contains(msg.Pow, "some_token_value"+h):
			t.Errorf("stamp %s is not for token+hash %s", msg.Pow, h)
		case msg.Data.Expired():
			t.Errorf("expired report %v", msg.Data.Time)
		}
		fmt.Fprint(w, `{"status":200}`)
		reports <- msg
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestOurReporterPassesOriginalChecks: five reports, the first with a 1 MiB
// extra payload, each accepted by the original verification.
func TestOurReporterPassesOriginalChecks(t *testing.T) {
	for _, bits := range []uint{18, 20} {
		t.Run(fmt.Sprint(bits), func(t *testing.T) {
			reports := make(chan orig.ReportRequest, 10)
			srv := originalCollector(t, bits, reports)
			extra := make([]byte, 1<<20)
			rand.Read(extra)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			err := usage.Report(ctx, usage.Options{
				ClusterID: "clusterId", ServerID: "serverId", URL: srv.URL,
				HashBits: bits, ExtraPayload: extra, ReportLapse: 300 * time.Millisecond,
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 5; i++ {
				select {
				case msg := <-reports:
					if i == 0 && !bytes.Equal(msg.Data.Extra, extra) {
						t.Errorf("first report extra has %d bytes, want the 1 MiB payload", len(msg.Data.Extra))
					}
					if i > 0 && len(msg.Data.Extra) > 0 {
						t.Errorf("report %d repeats the extra payload", i+1)
					}
				case <-time.After(20 * time.Second):
					t.Fatalf("only %d reports", i)
				}
			}
		})
	}
}

// TestCatalincStampsVerify: our verifier accepts stamps minted by the
// original's hashcash library.
func TestCatalincStampsVerify(t *testing.T) {
	for _, bits := range []uint{8, 16, 20} {
		resource := "some_token_value" + strings.Repeat("A", 44)
		stamp, err := hashcash.New(bits, 40, "").Mint(resource)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ours.Verify(stamp, resource, bits, time.Now()); err != nil {
			t.Errorf("Verify(catalinc %d-bit stamp %s) = %v", bits, stamp, err)
		}
		if _, err := ours.Verify(stamp, resource+"x", bits, time.Now()); err == nil {
			t.Errorf("Verify accepted a catalinc stamp for another resource")
		}
	}
}

// TestOurStampsPassCatalinc at every bit count, including ones that are not
// a whole number of hex digits.
func TestOurStampsPassCatalinc(t *testing.T) {
	for bits := uint(1); bits <= 20; bits++ {
		stamp, err := (&ours.Minter{Bits: bits}).Mint("res")
		if err != nil {
			t.Fatal(err)
		}
		if !hashcash.New(bits, 40, "").Check(stamp) {
			t.Errorf("catalinc rejects our %d-bit stamp %s", bits, stamp)
		}
	}
}

func TestHashMatchesOriginal(t *testing.T) {
	extra := []byte(`{"endpoints":3,"html":"<a&b>"}`)
	o := orig.UsageData{Version: "v2", Arch: "arm64", OS: "darwin", ClusterID: "c", ServerID: "s", Uptime: 9, Time: 1764201600, Extra: extra}
	n := usage.UsageData(o)
	oh, _ := o.Hash()
	nh, _ := n.Hash()
	if oh != nh {
		t.Errorf("Hash() = %s, original %s", nh, oh)
	}
	oj, _ := json.Marshal(orig.ReportRequest{Token: "t", Pow: "p", Data: o})
	nj, _ := json.Marshal(usage.ReportRequest{Token: "t", Pow: "p", Data: n})
	if !bytes.Equal(oj, nj) {
		t.Errorf("report JSON differs:\n ours %s\n orig %s", nj, oj)
	}
}

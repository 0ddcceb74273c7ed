package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/hashcash"
)

// The fairness tests: one client (from 127.0.0.2, an address of its own on
// the loopback interface) attacks while eight honest reporters (from
// 127.0.0.1) post a report every 100 ms each, 80/s in all, well within
// what the collector takes on a loaded 2-core machine even under -race.
// Their accepted rate during the attack is compared with their rate
// before it: paced, the offered rate is the same in both phases, so the
// share measures the collector's fairness rather than the CPU left over
// by whatever else runs on the machine.
//
// The targets are 90% of the rate and p99 under 1 s; the bounds
// asserted are looser, for a busy 2-core CI machine where the load
// generators share the cores with the collector. Today's code measured
// far below them (see RELIABILITY.md).
const (
	minFairShare = 0.50            // honest accepted rate during / before
	maxFairP99   = 2 * time.Second // honest p99 latency during the attack
	honestPhase  = 4 * time.Second
	honest       = 8
	honestEvery  = 100 * time.Millisecond // per reporter: 80 reports/s offered in all
)

// attacker is the address the attacks come from.
var attacker = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}

func attackerDial(addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: attacker, Timeout: 5 * time.Second}
	return d.Dial("tcp", addr)
}

// honestResult is what the honest reporters saw in one phase.
type honestResult struct {
	accepted, total int
	codes           map[int]int
	p99             time.Duration
	rate            float64 // accepted per second
}

func (h honestResult) String() string {
	return fmt.Sprintf("%.1f accepted/s (%d of %d, answers %v), p99 %s", h.rate, h.accepted, h.total, h.codes, h.p99.Round(time.Millisecond))
}

// honestLoad posts reports from honest reporters, each with a session of
// its own, one every honestEvery, for d, and says what they got. With extra, each report carries
// a 100 KB extra, like a gateway's first report.
func honestLoad(t *testing.T, url string, tokens []string, extra bool, d time.Duration) honestResult {
	t.Helper()
	var payload json.RawMessage
	if extra {
		payload = json.RawMessage(fmt.Sprintf(`{"pad":%q}`, strings.Repeat("x", 100_000)))
	}
	var mu sync.Mutex
	res := honestResult{codes: map[int]int{}}
	var lats []time.Duration
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for i, tok := range tokens {
		wg.Go(func() {
			c := &http.Client{Timeout: 30 * time.Second}
			for next := time.Now(); time.Now().Before(deadline); {
				// Paced: a report every honestEvery, none skipped up for
				// when one took longer. The offered rate is the same in
				// both phases whatever else the machine is doing.
				time.Sleep(time.Until(next))
				if next = next.Add(honestEvery); next.Before(time.Now()) {
					next = time.Now()
				}
				req := usage.ReportRequest{Token: tok, Data: usage.UsageData{Version: "v1", OS: "linux", Arch: "amd64",
					ClusterID: "fair-c", ServerID: fmt.Sprintf("fair-s%d", i), Time: time.Now().Unix(), Extra: payload}}
				h, _ := req.Data.Hash()
				req.Pow, _ = (&hashcash.Minter{Bits: 8}).Mint(tok + h)
				b, _ := json.Marshal(req)
				start := time.Now()
				resp, err := c.Post(url+"/report", "application/json", bytes.NewReader(b))
				lat := time.Since(start)
				code := -1
				if err == nil {
					code = resp.StatusCode
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				mu.Lock()
				res.codes[code]++
				res.total++
				lats = append(lats, lat)
				if code == 200 {
					res.accepted++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.rate = float64(res.accepted) / d.Seconds()
	res.p99 = quantile(lats, .99)
	return res
}

// fairShare measures the honest reporters before and during attack (which
// runs until stop is closed) and asserts they kept their share.
func fairShare(t *testing.T, name string, p *proc, extra bool, attack func(addr string, stop <-chan struct{})) {
	t.Helper()
	var tokens []string
	for i := range honest {
		tokens = append(tokens, session(t, p.url, "fair-c", fmt.Sprintf("fair-s%d", i)))
	}
	before := honestLoad(t, p.url, tokens, extra, honestPhase)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); attack(strings.TrimPrefix(p.url, "http://"), stop) }()
	time.Sleep(2 * time.Second) // the attack takes hold
	during := honestLoad(t, p.url, tokens, extra, honestPhase)
	close(stop)
	<-done
	share := during.rate / max(before.rate, 1e-9)
	t.Logf("%s: before %s; during %s; share %.0f%%", name, before, during, share*100)
	if before.accepted == 0 {
		t.Fatalf("%s: no report accepted before the attack", name)
	}
	if share < minFairShare {
		t.Errorf("%s: honest reporters kept %.0f%% of their accepted rate, want at least %.0f%%", name, share*100, minFairShare*100)
	}
	if during.p99 > maxFairP99 {
		t.Errorf("%s: honest p99 %s during the attack, want under %s", name, during.p99, maxFairP99)
	}
}

// slowBodies holds n connections from the attacker, each declaring a body
// of declared bytes and sending one byte a second; a connection the
// collector closes is opened again.
func slowBodies(n, declared int) func(addr string, stop <-chan struct{}) {
	return func(addr string, stop <-chan struct{}) {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					c, err := attackerDial(addr)
					if err != nil {
						time.Sleep(100 * time.Millisecond)
						continue
					}
					fmt.Fprintf(c, "POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", declared)
					for i := 0; ; i++ {
						if _, err := c.Write([]byte{'{'}); err != nil {
							break
						}
						select {
						case <-stop:
							c.Close()
							return
						case <-time.After(time.Second):
						}
					}
					c.Close()
				}
			})
		}
		wg.Wait()
	}
}

// TestSlowSmallBodiesFair: 140 connections from one address, each
// declaring 64 KiB and sending a byte a second, do not starve the other
// clients' small reports (before: 87.5% of them got 503).
func TestSlowSmallBodiesFair(t *testing.T) {
	p := start(t, t.TempDir()+"/usage.db")
	fairShare(t, "140 slow 64 KiB bodies from one address", p, false, slowBodies(140, 64<<10))
}

// TestSlowLargeBodiesFair: 13 connections from one address, each
// declaring 2 MiB and sending a byte a second, do not starve the other
// clients' reports with a 100 KB extra (before: 98% got 503).
func TestSlowLargeBodiesFair(t *testing.T) {
	p := start(t, t.TempDir()+"/usage.db")
	fairShare(t, "13 slow 2 MiB bodies from one address", p, true, slowBodies(13, 2<<20))
}

// TestIdleConnectionsFromOneHostFair: 1,100 connections from one address
// that send nothing, reopened as soon as they are closed, do not take the
// connection slots of the other clients (before: their accepted rate fell
// from 258/s to 6.6/s, p99 4.7 s).
func TestIdleConnectionsFromOneHostFair(t *testing.T) {
	p := start(t, t.TempDir()+"/usage.db")
	var opened atomic.Int64
	fairShare(t, "1,100 silent connections from one address", p, false, func(addr string, stop <-chan struct{}) {
		var wg sync.WaitGroup
		for range 1100 {
			wg.Go(func() {
				for {
					c, err := attackerDial(addr)
					if err == nil {
						opened.Add(1)
						go func() { <-stop; c.Close() }()
						c.Read(make([]byte, 1)) // until the collector closes it
						c.Close()
					}
					select {
					case <-stop:
						return
					case <-time.After(10 * time.Millisecond):
					}
				}
			})
		}
		wg.Wait()
	})
	t.Logf("the attacker opened %d connections", opened.Load())
}

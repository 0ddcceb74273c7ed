package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"strconv"
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
// 127.0.0.1) post a report every 100 ms each, 80/s in all (every 400 ms
// when they carry a 100 KB extra), well within what the collector takes
// on a loaded 2-core machine even under -race. Their accepted rate during
// the attack is compared with their rate before it: paced, the offered
// rate is the same in both phases, so the share measures the collector's
// fairness rather than the CPU left over by whatever else runs on the
// machine. The attacker runs in a process of its own (this test binary,
// run again), as it would on a machine of its own: in the reporters'
// process its thousand goroutines would queue theirs in Go's scheduler.
//
// The bounds asserted are the targets, 90% of the rate and p99
// under 1 s, on the best of up to three attempts: on a busy 2-core machine
// a neighbour's build can take a third of one 4 s window, and such noise
// only ever lowers a measurement. The code before the fix measured 0–24%
// in every attempt (see RELIABILITY.md).
const (
	minFairShare = 0.90        // honest accepted rate during / before
	maxFairP99   = time.Second // honest p99 latency during the attack
	fairAttempts = 3
	honestPhase  = 4 * time.Second
	honest       = 8
	honestEvery  = 100 * time.Millisecond // per reporter: 80 reports/s offered in all
	extraEvery   = 400 * time.Millisecond // the same with a 100 KB extra: 20/s
)

// USAGE_COLLECTOR_TEST_BACK_TO_BACK=1 has each honest reporter send its
// next report as soon as the last is answered, the issue's own way of
// measuring: the rates are then the most the machine takes, and the
// share says as much about what else it is doing as about the collector,
// so the bounds are not asserted: it measures, it does not test.
var backToBack = os.Getenv("USAGE_COLLECTOR_TEST_BACK_TO_BACK") == "1"

// attacker is the address the attacks come from.
var attacker = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}

func attackerDial(addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: attacker, Timeout: 5 * time.Second}
	return d.Dial("tcp", addr)
}

// attack is one attack, run against addr until stop closes; it counts
// the connections it opened.
type attack func(addr string, stop <-chan struct{}, opened *atomic.Int64)

// attacks are the fairness tests' attacks, by the name the attacker
// process is given.
var attacks = map[string]attack{
	"slow-small-bodies": slowBodies(140, 64<<10),
	"slow-large-bodies": slowBodies(13, 2<<20),
	"silent-conns":      silentConns(1100),
	// From several networks at once (127.0.0.2, .3, ...).
	"trickle-404-4nets":   spread(4, heldBodies(300, "/nothing", 200_000, 0, true)),
	"declared-2mib-4nets": spread(4, heldBodies(300, "/report", 2<<20, 0, true)),
	"half-64kib-3nets":    spread(3, heldBodies(70, "/report", 64<<10, 32<<10, false)),
	"half-2mib-7nets":     spread(7, heldBodies(3, "/report", 2<<20, 1<<20, false)),
}

// spread runs the attack a makes from each of nets networks at once:
// 127.0.0.2, .3, ..., each a client network of its own.
func spread(nets int, a func(dial func(string) (net.Conn, error)) attack) attack {
	return func(addr string, stop <-chan struct{}, opened *atomic.Int64) {
		var wg sync.WaitGroup
		for i := range nets {
			d := dialFrom(net.IPv4(127, 0, 0, byte(2+i)))
			wg.Go(func() { a(func(addr string) (net.Conn, error) { return d.Dial("tcp", addr) })(addr, stop, opened) })
		}
		wg.Wait()
	}
}

// heldBodies holds n connections, each posting to path a body declaring
// declared bytes: it sends first bytes at once, then, with trickle, a
// byte a second, else nothing more, whatever the answer, until the
// collector closes the connection; then it opens another.
func heldBodies(n int, path string, declared, first int, trickle bool) func(dial func(string) (net.Conn, error)) attack {
	return func(dial func(string) (net.Conn, error)) attack {
		return func(addr string, stop <-chan struct{}, opened *atomic.Int64) {
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						c, err := dial(addr)
						if err != nil {
							time.Sleep(100 * time.Millisecond)
							continue
						}
						opened.Add(1)
						closed := make(chan struct{})
						go func() {
							io.Copy(io.Discard, c) // the answer too: until the collector closes the connection
							close(closed)
						}()
						fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", path, declared)
						c.Write(bytes.Repeat([]byte{' '}, first))
						for done := false; !done; {
							select {
							case <-stop:
								c.Close()
								return
							case <-closed:
								done = true
							case <-time.After(time.Second):
								if trickle {
									c.Write([]byte{' '})
								}
							}
						}
						c.Close()
					}
				})
			}
			wg.Wait()
		}
	}
}

// The attacker process: the test binary with these variables set runs
// the attack until its standard input closes, prints how many connections
// it opened and exits (see TestMain).
const (
	attackEnv     = "USAGE_COLLECTOR_TEST_ATTACK"
	attackAddrEnv = "USAGE_COLLECTOR_TEST_ATTACK_ADDR"
)

// attackMain is the attacker process's main.
func attackMain(name string) int {
	a, ok := attacks[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "no attack %q\n", name)
		return 2
	}
	stop := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(stop) }()
	var opened atomic.Int64
	a(os.Getenv(attackAddrEnv), stop, &opened)
	fmt.Println(opened.Load())
	return 0
}

// startAttack runs the attack name against addr in a process of its own;
// the function it returns stops it and says how many connections it
// opened.
func startAttack(t *testing.T, name, addr string) (stop func() int64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), attackEnv+"="+name, attackAddrEnv+"="+addr)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return func() int64 {
		t.Helper()
		in.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("attacker: %v\n%s", err, errs.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("the attacker did not stop\n%s", errs.String())
		}
		n, _ := strconv.ParseInt(strings.TrimSpace(out.String()), 10, 64)
		return n
	}
}

// honestResult is what the honest reporters saw in one phase.
type honestResult struct {
	accepted, total int
	codes           map[int]int
	p99             time.Duration
	rate            float64       // accepted per second
	dials           int           // new connections the reporters opened
	dialP99         time.Duration // of the time to get a connection, new or reused
}

func (h honestResult) String() string {
	return fmt.Sprintf("%.1f accepted/s (%d of %d, answers %v), p99 %s (%d new connections, p99 %s to get one)",
		h.rate, h.accepted, h.total, h.codes, h.p99.Round(time.Millisecond), h.dials, h.dialP99.Round(time.Millisecond))
}

// honestLoad posts reports from honest reporters, each with a session of
// its own, one every honestEvery (extraEvery with extra; see backToBack),
// for d, and says what they got. With extra, each report carries
// a 100 KB extra, like a gateway's first report.
func honestLoad(t *testing.T, url string, tokens []string, extra bool, d time.Duration) honestResult {
	t.Helper()
	var payload json.RawMessage
	every := honestEvery
	if extra {
		every = extraEvery
		payload = json.RawMessage(fmt.Sprintf(`{"pad":%q}`, strings.Repeat("x", 100_000)))
	}
	if backToBack {
		every = 0
	}
	var mu sync.Mutex
	res := honestResult{codes: map[int]int{}}
	var lats, conns []time.Duration
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for i, tok := range tokens {
		wg.Go(func() {
			c := &http.Client{Timeout: 30 * time.Second}
			for next := time.Now(); time.Now().Before(deadline); {
				// Paced: a report every period, none made up for
				// when one took longer. The offered rate is the same in
				// both phases whatever else the machine is doing.
				time.Sleep(time.Until(next))
				if next = next.Add(every); next.Before(time.Now()) {
					next = time.Now()
				}
				req := usage.ReportRequest{Token: tok, Data: usage.UsageData{Version: "v1", OS: "linux", Arch: "amd64",
					ClusterID: "fair-c", ServerID: fmt.Sprintf("fair-s%d", i), Time: time.Now().Unix(), Extra: payload}}
				h, _ := req.Data.Hash()
				req.Pow, _ = (&hashcash.Minter{Bits: 8}).Mint(tok + h)
				b, _ := json.Marshal(req)
				start := time.Now()
				var got time.Duration
				var dialed bool
				trace := &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) {
					got, dialed = time.Since(start), !ci.Reused
				}}
				hreq, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
					http.MethodPost, url+"/report", bytes.NewReader(b))
				hreq.Header.Set("Content-Type", "application/json")
				resp, err := c.Do(hreq)
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
				lats, conns = append(lats, lat), append(conns, got)
				if dialed {
					res.dials++
				}
				if code == 200 {
					res.accepted++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.rate = float64(res.accepted) / d.Seconds()
	res.p99, res.dialP99 = quantile(lats, .99), quantile(conns, .99)
	return res
}

// fairShare measures the honest reporters before and during the attack
// name, and asserts they kept their share, on the best of fairAttempts
// attempts.
func fairShare(t *testing.T, name string, p *proc, extra bool) {
	t.Helper()
	var tokens []string
	for i := range honest {
		tokens = append(tokens, session(t, p.URL, "fair-c", fmt.Sprintf("fair-s%d", i)))
	}
	for attempt := 1; ; attempt++ {
		before := honestLoad(t, p.URL, tokens, extra, honestPhase)
		if before.accepted == 0 {
			t.Fatalf("%s: no report accepted before the attack: %s", name, before)
		}
		stop := startAttack(t, name, strings.TrimPrefix(p.URL, "http://"))
		time.Sleep(2 * time.Second) // the attack takes hold
		during := honestLoad(t, p.URL, tokens, extra, honestPhase)
		opened := stop()
		share := during.rate / before.rate
		t.Logf("%s, attempt %d: before %s; during %s; share %.0f%%; the attacker opened %d connections",
			name, attempt, before, during, share*100, opened)
		var failed []string
		if share < minFairShare {
			failed = append(failed, fmt.Sprintf("honest reporters kept %.0f%% of their accepted rate, want at least %.0f%%", share*100, minFairShare*100))
		}
		if during.p99 > maxFairP99 {
			failed = append(failed, fmt.Sprintf("honest p99 %s during the attack, want under %s", during.p99.Round(time.Millisecond), maxFairP99))
		}
		switch {
		case failed == nil || backToBack:
			return
		case attempt == fairAttempts:
			t.Errorf("%s, in each of %d attempts; the last: %s", name, fairAttempts, strings.Join(failed, "; "))
			return
		}
		time.Sleep(5 * time.Second) // the collector closes what the attacker left
	}
}

// slowBodies holds n connections from the attacker, each declaring a body
// of declared bytes and sending one byte a second; a connection the
// collector closes is opened again.
func slowBodies(n, declared int) attack {
	return func(addr string, stop <-chan struct{}, opened *atomic.Int64) {
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
					opened.Add(1)
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

// silentConns holds n connections from the attacker that send nothing; a
// connection the collector closes is opened again 10 ms later.
func silentConns(n int) attack {
	return func(addr string, stop <-chan struct{}, opened *atomic.Int64) {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				for {
					c, err := attackerDial(addr)
					if err == nil {
						opened.Add(1)
						closed := make(chan struct{})
						go func() {
							select {
							case <-stop:
							case <-closed:
							}
							c.Close()
						}()
						c.Read(make([]byte, 1)) // until the collector closes it
						close(closed)
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
	}
}

// TestSlowSmallBodiesFair: 140 connections from one address, each
// declaring 64 KiB and sending a byte a second, do not starve the other
// clients' small reports.
func TestSlowSmallBodiesFair(t *testing.T) {
	fairShare(t, "slow-small-bodies", start(t, t.TempDir()+"/usage.db"), false)
}

// TestSlowLargeBodiesFair: 13 connections from one address, each
// declaring 2 MiB and sending a byte a second, do not starve the other
// clients' reports with a 100 KB extra.
func TestSlowLargeBodiesFair(t *testing.T) {
	fairShare(t, "slow-large-bodies", start(t, t.TempDir()+"/usage.db"), true)
}

// TestIdleConnectionsFromOneHostFair: 1,100 connections from one address
// that send nothing, reopened as soon as they are closed, do not take the
// connection slots of the other clients.
func TestIdleConnectionsFromOneHostFair(t *testing.T) {
	fairShare(t, "silent-conns", start(t, t.TempDir()+"/usage.db"), false)
}

// TestTrickleToUnreadRouteFair: 4 networks of 300 connections each, each
// posting a 200,000-byte body to a path that does not exist at a byte a
// second, do not take the connection slots.
func TestTrickleToUnreadRouteFair(t *testing.T) {
	fairShare(t, "trickle-404-4nets", start(t, t.TempDir()+"/usage.db"), false)
}

// TestDeclaredLargeBodiesFromNetworksFair: 4 networks of 300 connections
// each, each declaring a 2 MiB report and sending a byte a second, do not
// take the connection slots.
func TestDeclaredLargeBodiesFromNetworksFair(t *testing.T) {
	fairShare(t, "declared-2mib-4nets", start(t, t.TempDir()+"/usage.db"), false)
}

// TestHalfSentSmallBodiesFromNetworksFair: 3 networks of 70 connections
// each, each sending half of a 64 KiB report and stopping, do not take
// the small bodies' budget.
func TestHalfSentSmallBodiesFromNetworksFair(t *testing.T) {
	fairShare(t, "half-64kib-3nets", start(t, t.TempDir()+"/usage.db"), false)
}

// TestHalfSentLargeBodiesFromNetworksFair: 7 networks of 3 connections
// each, each sending half of a 2 MiB report and stopping, do not take the
// large bodies' budget from reports with a 100 KB extra.
func TestHalfSentLargeBodiesFromNetworksFair(t *testing.T) {
	fairShare(t, "half-2mib-7nets", start(t, t.TempDir()+"/usage.db"), true)
}

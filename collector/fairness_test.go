package collector

import (
	"bufio"
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

// The fairness harness: one client (from 127.0.0.2, an address of its
// own on the loopback interface, or from several networks, 127.0.0.2,
// .3, ...) attacks while eight honest reporters (from 127.0.0.1) post a
// report every 100 ms each, 80/s in all (every 400 ms when they carry a
// 100 KB extra), well within what the collector takes on a loaded 2-core
// machine even under -race. The attacker runs in a process of its own
// (this test binary, run again), as it would on a machine of its own: in
// the reporters' process its thousand goroutines would queue theirs in
// Go's scheduler.
//
// The tests (TestXxxFair) assert what the honest reporters and the
// attacker observe: during the attack every honest request is answered,
// most honest reports are accepted, and the attacker's connections are
// the ones the collector closes. BenchmarkFairness measures how much of
// their accepted rate the honest reporters keep during each attack, and
// their latency: the figures of RELIABILITY.md.
const (
	honestPhase = 4 * time.Second
	attackHold  = 2 * time.Second // the attack takes hold before the honest phase
	honest      = 8
	honestEvery = 100 * time.Millisecond // per reporter: 80 reports/s offered in all
	extraEvery  = 400 * time.Millisecond // the same with a 100 KB extra: 20/s
	// honestTimeout is the honest client's timeout: an answer later than
	// that is no answer. It is far above any answer the collector gives
	// under attack (RELIABILITY.md), and below the collector's own
	// WriteTimeout, so that a request held until the collector gives up
	// on it counts as unanswered.
	honestTimeout = 20 * time.Second
)

// USAGE_COLLECTOR_TEST_BACK_TO_BACK=1 has each honest reporter send its
// next report as soon as the last is answered: BenchmarkFairness's rates
// are then the most the machine takes, and its share says as much about
// what else the machine is doing as about the collector.
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

// attacks are the fairness attacks, by the name the attacker process is
// given.
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

// attackConns is how many connections each attack holds at once: it
// opens more only when the collector closes some.
var attackConns = map[string]int64{
	"slow-small-bodies": 140, "slow-large-bodies": 13, "silent-conns": 1100,
	"trickle-404-4nets": 4 * 300, "declared-2mib-4nets": 4 * 300, "half-64kib-3nets": 3 * 70, "half-2mib-7nets": 7 * 3,
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
// the attack until its standard input closes, printing how many
// connections it has opened every attackTick and once more when it
// stops (see TestMain).
const (
	attackEnv     = "USAGE_COLLECTOR_TEST_ATTACK"
	attackAddrEnv = "USAGE_COLLECTOR_TEST_ATTACK_ADDR"
	attackTick    = 200 * time.Millisecond
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
	go func() {
		for range time.Tick(attackTick) {
			fmt.Println(opened.Load())
		}
	}()
	a(os.Getenv(attackAddrEnv), stop, &opened)
	fmt.Println(opened.Load())
	return 0
}

// attackRun is an attack running in a process of its own.
type attackRun struct {
	t      testing.TB
	cmd    *exec.Cmd
	in     io.Closer
	errs   *bytes.Buffer
	opened atomic.Int64  // as last printed by the attacker
	out    chan struct{} // closed when its output ends
}

// startAttack runs the attack name against addr in a process of its own.
func startAttack(t testing.TB, name, addr string) *attackRun {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), attackEnv+"="+name, attackAddrEnv+"="+addr)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	a := &attackRun{t: t, cmd: cmd, in: in, errs: &bytes.Buffer{}, out: make(chan struct{})}
	cmd.Stderr = a.errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	go func() {
		defer close(a.out)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if n, err := strconv.ParseInt(sc.Text(), 10, 64); err == nil {
				a.opened.Store(n)
			}
		}
	}()
	return a
}

// waitOpened waits until the attacker has opened more than n connections,
// at most d, and says how many it has.
func (a *attackRun) waitOpened(n int64, d time.Duration) int64 {
	for deadline := time.Now().Add(d); a.opened.Load() <= n && time.Now().Before(deadline); {
		time.Sleep(attackTick)
	}
	return a.opened.Load()
}

// stop stops the attacker and says how many connections it opened.
func (a *attackRun) stop() int64 {
	a.t.Helper()
	a.in.Close()
	done := make(chan error, 1)
	go func() { <-a.out; done <- a.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			a.t.Fatalf("attacker: %v\n%s", err, a.errs.String())
		}
	case <-time.After(30 * time.Second):
		a.t.Fatalf("the attacker did not stop\n%s", a.errs.String())
	}
	return a.opened.Load()
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
func honestLoad(t testing.TB, url string, tokens []string, extra bool, d time.Duration) honestResult {
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
			c := &http.Client{Timeout: honestTimeout}
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

// honestTokens opens a session for each honest reporter.
func honestTokens(t testing.TB, url string) []string {
	t.Helper()
	var tokens []string
	for i := range honest {
		tokens = append(tokens, session(t, url, "fair-c", fmt.Sprintf("fair-s%d", i)))
	}
	return tokens
}

// underAttack runs the honest reporters for honestPhase while the attack
// name runs, and says what they saw. The attack is still running.
func underAttack(t testing.TB, name string, p *proc, tokens []string, extra bool) (honestResult, *attackRun) {
	t.Helper()
	a := startAttack(t, name, strings.TrimPrefix(p.URL, "http://"))
	time.Sleep(attackHold)
	return honestLoad(t, p.URL, tokens, extra, honestPhase), a
}

// fair runs the attack name against a fresh collector and checks what the
// honest reporters and the attacker saw: every honest request answered,
// most honest reports accepted, and the attacker's connections closed
// (it had to open more than it holds at once), not theirs.
func fair(t *testing.T, name string, extra bool) {
	p := start(t, t.TempDir()+"/usage.db")
	during, a := underAttack(t, name, p, honestTokens(t, p.URL), extra)
	// The collector cuts a stalled body bodyGrace after its last byte
	// and an idle connection over its network's share within seconds;
	// the attack may have started late on a busy machine.
	opened := a.waitOpened(attackConns[name], 3*bodyGrace)
	a.stop()
	t.Logf("%s: honest reporters during the attack: %s; the attacker opened %d connections", name, during, opened)
	if n := during.codes[-1]; n > 0 {
		t.Errorf("%s: %d of %d honest requests got no answer within %s", name, n, during.total, honestTimeout)
	}
	if during.accepted*2 <= during.total {
		t.Errorf("%s: %d of %d honest reports accepted during the attack (answers %v), want most", name, during.accepted, during.total, during.codes)
	}
	if opened <= attackConns[name] {
		t.Errorf("%s: the attacker opened %d connections, holding %d at once: the collector closed none of them", name, opened, attackConns[name])
	}
}

// BenchmarkFairness measures, for each attack, the accepted rate of the
// honest reporters before and during it, and their latency during it. Run
// it once per attack:
//
//	go test -run '^$' -bench Fairness -benchtime 1x .
//
// kept-% is the rate during the attack over the rate before it; paced,
// the offered rate is the same in both phases, so it measures the
// collector's fairness rather than the CPU left over by whatever else
// runs on the machine.
func BenchmarkFairness(b *testing.B) {
	names := []struct {
		name  string
		extra bool
	}{
		{"slow-small-bodies", false}, {"slow-large-bodies", true}, {"silent-conns", false},
		{"trickle-404-4nets", false}, {"declared-2mib-4nets", false}, {"half-64kib-3nets", false}, {"half-2mib-7nets", true},
	}
	for _, a := range names {
		b.Run(a.name, func(b *testing.B) {
			p := start(b, b.TempDir()+"/usage.db")
			tokens := honestTokens(b, p.URL)
			for b.Loop() {
				before := honestLoad(b, p.URL, tokens, a.extra, honestPhase)
				during, run := underAttack(b, a.name, p, tokens, a.extra)
				opened := run.stop()
				b.Logf("before %s; during %s; the attacker opened %d connections", before, during, opened)
				if before.rate > 0 {
					b.ReportMetric(during.rate/before.rate*100, "kept-%")
				}
				b.ReportMetric(before.rate, "before-accepted/s")
				b.ReportMetric(during.rate, "accepted/s")
				b.ReportMetric(float64(during.p99.Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(opened), "attacker-conns")
			}
		})
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
	fair(t, "slow-small-bodies", false)
}

// TestSlowLargeBodiesFair: 13 connections from one address, each
// declaring 2 MiB and sending a byte a second, do not starve the other
// clients' reports with a 100 KB extra.
func TestSlowLargeBodiesFair(t *testing.T) {
	fair(t, "slow-large-bodies", true)
}

// TestIdleConnectionsFromOneHostFair: 1,100 connections from one address
// that send nothing, reopened as soon as they are closed, do not take the
// connection slots of the other clients.
func TestIdleConnectionsFromOneHostFair(t *testing.T) {
	fair(t, "silent-conns", false)
}

// TestTrickleToUnreadRouteFair: 4 networks of 300 connections each, each
// posting a 200,000-byte body to a path that does not exist at a byte a
// second, do not take the connection slots.
func TestTrickleToUnreadRouteFair(t *testing.T) {
	fair(t, "trickle-404-4nets", false)
}

// TestDeclaredLargeBodiesFromNetworksFair: 4 networks of 300 connections
// each, each declaring a 2 MiB report and sending a byte a second, do not
// take the connection slots.
func TestDeclaredLargeBodiesFromNetworksFair(t *testing.T) {
	fair(t, "declared-2mib-4nets", false)
}

// TestHalfSentSmallBodiesFromNetworksFair: 3 networks of 70 connections
// each, each sending half of a 64 KiB report and stopping, do not take
// the small bodies' budget.
func TestHalfSentSmallBodiesFromNetworksFair(t *testing.T) {
	fair(t, "half-64kib-3nets", false)
}

// TestHalfSentLargeBodiesFromNetworksFair: 7 networks of 3 connections
// each, each sending half of a 2 MiB report and stopping, do not take the
// large bodies' budget from reports with a 100 KB extra.
func TestHalfSentLargeBodiesFromNetworksFair(t *testing.T) {
	fair(t, "half-2mib-7nets", true)
}

package collector

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/krakend-usage/krakend-usage/collector/internal/proctest"
	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/hashcash"
)

// Bounds the resource tests assert, with the collector's defaults.
const (
	maxRSS = 300 << 20
	// healthzTimeout is the probes' client timeout: a /healthz answered
	// later than that is not answered. The latencies are logged (and
	// quoted in RELIABILITY.md), not asserted.
	healthzTimeout = 20 * time.Second
	maxStatsAnswer = 64 << 10
)

// peakRSS reads the process's peak resident set size (VmHWM) from /proc.
func peakRSS(t testing.TB, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

// prober is the address /healthz is probed from, another client than
// the attacks' (the collector's limits are per client network: a client
// sharing the attacker's address shares its limits).
var prober = net.IPv4(127, 0, 9, 9)

// dialFrom dials from the loopback address ip.
func dialFrom(ip net.IP) *net.Dialer {
	return &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: ip}}
}

// probes are the /healthz calls made during an attack.
type probes struct {
	lat    []time.Duration // of the calls answered 200
	failed []string        // the others: the error or the status
}

// probe calls /healthz on a fresh connection every 20ms until stop is
// closed, and returns what the calls got.
func probe(url string, stop <-chan struct{}) <-chan probes {
	out := make(chan probes, 1)
	go func() {
		c := &http.Client{Timeout: healthzTimeout, Transport: &http.Transport{DisableKeepAlives: true, DialContext: dialFrom(prober).DialContext}}
		var p probes
		for {
			select {
			case <-stop:
				out <- p
				return
			case <-time.After(20 * time.Millisecond):
			}
			start := time.Now()
			resp, err := c.Get(url + "/healthz")
			switch {
			case err != nil:
				p.failed = append(p.failed, err.Error())
			case resp.StatusCode != 200:
				p.failed = append(p.failed, resp.Status)
			default:
				p.lat = append(p.lat, time.Since(start))
			}
			if resp != nil {
				resp.Body.Close()
			}
		}
	}()
	return out
}

func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[int(float64(len(ds)-1)*q)]
}

// abuse runs attack against a fresh collector with the default limits
// while /healthz is probed, then checks the peak RSS and /healthz. With
// nofile > 0 the collector runs with that many file descriptors at most.
func abuse(t *testing.T, name string, nofile uint64, attack func(t *testing.T, p *proc)) {
	t.Helper()
	p := start(t, filepath.Join(t.TempDir(), "usage.db"))
	if nofile > 0 {
		lim := unix.Rlimit{Cur: nofile, Max: nofile}
		if err := unix.Prlimit(p.Cmd.Process.Pid, unix.RLIMIT_NOFILE, &lim, nil); err != nil {
			t.Fatalf("prlimit: %v", err)
		}
	}
	stop := make(chan struct{})
	lats := probe(p.URL, stop)
	attack(t, p)
	close(stop)
	got := <-lats
	rss := peakRSS(t, p.Cmd.Process.Pid)
	t.Logf("%s: peak RSS %d MB, /healthz p50 %s p99 %s max %s over %d calls answered",
		name, rss>>20, quantile(got.lat, .5), quantile(got.lat, .99), quantile(got.lat, 1), len(got.lat))
	if rss > maxRSS {
		t.Errorf("%s: peak RSS %d MB, want under %d MB", name, rss>>20, maxRSS>>20)
	}
	if len(got.failed) > 0 {
		t.Errorf("%s: %d of %d /healthz calls not answered 200 (the first: %s), want every one answered", name, len(got.failed), len(got.failed)+len(got.lat), got.failed[0])
	}
}

// TestLargeBodiesBounded: 200 clients at once, three times each, send
// 2 MiB bodies with a bad token. The collector reads a bounded number at a
// time and answers the rest 503 with Retry-After.
func TestLargeBodiesBounded(t *testing.T) {
	extra := make([]byte, (2<<20)*3/4-1024) // base64: just under 2 MiB
	body := []byte(fmt.Sprintf(`{"token":"bad","pow":"x","data":{"version":"v","extra":%q}}`, base64.StdEncoding.EncodeToString(extra)))
	if len(body) > 2<<20 {
		t.Fatalf("body of %d bytes", len(body))
	}
	abuse(t, "200 concurrent 2 MiB bodies, bad token", 0, func(t *testing.T, p *proc) {
		var mu sync.Mutex
		codes := map[int]int{}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 200 {
			wg.Go(func() {
				<-start
				c := &http.Client{Timeout: time.Minute}
				for range 3 {
					resp, err := c.Post(p.URL+"/report", "application/json", bytes.NewReader(body))
					code := -1
					if err == nil {
						code = resp.StatusCode
						if code == 503 && resp.Header.Get("Retry-After") == "" {
							t.Error("503 without Retry-After")
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
					mu.Lock()
					codes[code]++
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		t.Logf("answers: %v", codes)
		for code := range codes {
			if code != 401 && code != 503 && code != -1 {
				t.Errorf("%d answers %d, want 401 (read), 503 (no room) or the connection closed after a 503", codes[code], code)
			}
		}
		if codes[401] == 0 || codes[503] == 0 {
			t.Error("want some bodies read (401) and some refused (503)")
		}
	})
}

// TestIdleConnectionsBounded: 3,000 idle keep-alive connections from 60
// addresses to a collector allowed 2,000 file descriptors do not exhaust
// them, and do not starve a new client: /healthz keeps answering. (One
// address holding them all is TestIdleConnectionsFromOneHostFair.)
func TestIdleConnectionsBounded(t *testing.T) {
	abuse(t, "3000 idle keep-alive connections, 2000 descriptors", 2000, func(t *testing.T, p *proc) {
		addr := strings.TrimPrefix(p.URL, "http://")
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for i := range 3000 {
			// From 60 addresses, 50 each: under the limit of one client
			// network, over the limit of them all.
			c, err := dialFrom(net.IPv4(127, 0, 1, byte(1+i%60))).Dial("tcp", addr)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			conns = append(conns, c)
			// One request, then idle: a keep-alive connection held open.
			fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		}
		// While they are held, a new client must get through, every time.
		c := &http.Client{Timeout: healthzTimeout, Transport: &http.Transport{DisableKeepAlives: true, DialContext: dialFrom(prober).DialContext}}
		var lat []time.Duration
		for i := range 50 {
			start := time.Now()
			resp, err := c.Get(p.URL + "/healthz")
			if err != nil {
				t.Fatalf("/healthz %d with the connections held: %v", i, err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("/healthz %d with the connections held: %d", i, resp.StatusCode)
			}
			lat = append(lat, time.Since(start))
		}
		t.Logf("50 of 50 /healthz on new connections answered, p99 %s", quantile(lat, .99))
	})
}

// TestHugeFieldsKeepStatsSmall: reports with 600 KB versions are refused,
// so /api/stats, called 20 at a time meanwhile, stays small.
func TestHugeFieldsKeepStatsSmall(t *testing.T) {
	abuse(t, "50 reports with 600 KB fields, 20 parallel /api/stats", 0, func(t *testing.T, p *proc) {
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() {
				cl, sv := "huge-c", fmt.Sprintf("huge-s%d", i)
				// Each from an address of its own: 50 bodies of 600 KB at
				// once from one address are more than its share of the body
				// budget (TestBodyBudgetShares), and 50 connections more
				// than its share of the connections.
				c := &http.Client{Transport: &http.Transport{DialContext: dialFrom(net.IPv4(127, 0, 2, byte(1+i))).DialContext}}
				tok := proctest.SessionWith(t, c, p.URL, cl, sv)
				req := usage.ReportRequest{Token: tok, Data: usage.UsageData{Version: fmt.Sprintf("%d-%s", i, strings.Repeat("v", 600<<10)), OS: "linux", Arch: "amd64",
					ClusterID: cl, ServerID: sv, Time: time.Now().Unix()}}
				h, _ := req.Data.Hash()
				req.Pow, _ = (&hashcash.Minter{Bits: 8}).Mint(tok + h)
				b, _ := json.Marshal(req)
				resp, err := c.Post(p.URL+"/report", "application/json", bytes.NewReader(b))
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 400 {
					t.Errorf("report with a 600 KB version: got %d, want 400", resp.StatusCode)
				}
			})
		}
		var biggest int
		var mu sync.Mutex
		for i := range 20 {
			wg.Go(func() {
				// Each reader from an address of its own too: with the 50
				// reporters' networks holding connections, one network's
				// share of the 1,024 is 19 (the fair listener's), fewer
				// than 20 readers' connections.
				c := &http.Client{Transport: &http.Transport{DialContext: dialFrom(net.IPv4(127, 0, 3, byte(1+i))).DialContext}}
				for range 5 {
					resp, err := c.Get(p.URL + "/api/stats")
					if err != nil {
						t.Error(err)
						return
					}
					n, _ := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					mu.Lock()
					biggest = max(biggest, int(n))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		t.Logf("largest /api/stats answer: %d bytes", biggest)
		if biggest > maxStatsAnswer {
			t.Errorf("/api/stats answered %d bytes, want at most %d", biggest, maxStatsAnswer)
		}
	})
}

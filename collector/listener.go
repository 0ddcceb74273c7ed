package collector

import (
	"container/list"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// tarpit is how long a connection refused for its network's limit is held,
// unread, before it is closed, as long as a silent connection would have
// lasted (ReadHeaderTimeout): a client reconnecting at once then costs an
// accept every 5 s per connection, not a busy loop. At most twice max
// connections are held so.
const tarpit = ReadHeaderTimeout

// minSilence is how long a keep-alive connection of a network at its
// limit stays idle before a newer one of the same network takes its slot:
// its client may be about to reuse it, and would see a reset. A
// connection silent since it opened keeps its slot until the header
// timeout ends it: shedding it would let a client that reconnects at
// once turn its own slots over as fast as it can dial.
const minSilence = time.Second

// minClientShare is the least share of the connections a client network
// has, however many networks hold connections.
const minClientShare = 8

// fairListener bounds the open connections, in all (max) and per client
// network (the networks of Server.clientNetwork; trusted proxies speak
// for many clients and are not counted). A network's share is max
// divided by one more than the networks holding connections, itself
// included, at most perClient and at least minClientShare: the more
// networks, the smaller each one's share, so a few of them cannot take
// every slot between them; an IPv6 network's block holds a few shares at
// most (see ipv6Blocks). It sheds first the connections that hold a
// slot without using it, those still waiting for a request's headers:
//
//   - At max, the oldest connection waiting for headers (new or idle
//     keep-alive) is closed to admit the new one. When every connection
//     is busy with a request, the network holding the most connections
//     beyond its share loses its connection busy for the longest; only
//     when none is beyond its share does Accept wait, as
//     netutil.LimitListener does.
//   - A network at its share loses its own oldest idle keep-alive
//     connection for the new one, if it has been idle a second or more.
//     When it has none (every connection of its is busy, silent since it
//     opened, or idle for less than a second), the new connection is
//     refused: held unread for the tarpit, then closed. Other networks
//     never lose a slot to it.
type fairListener struct {
	net.Listener
	max, perClient int
	network        func(remote string) (p netip.Prefix, trusted, ok bool)
	saturated      func(cause string) // a connection was shed at max
	refused        func()             // a connection was refused for its network's limit

	mu       sync.Mutex
	cond     *sync.Cond
	open     int
	byClient map[netip.Prefix]int
	byBlock  map[netip.Prefix]int // IPv6 blocks holding client networks (see ipv6Blocks)
	waiting  list.List            // of *fairConn waiting for headers, oldest first
	busy     map[*fairConn]struct{}
	tarpits  int
}

// share is how many connections the network p may hold, with the
// networks holding connections as they are. l.mu is held.
func (l *fairListener) share(p netip.Prefix) int {
	n := len(l.byClient)
	if _, ok := l.byClient[p]; !ok {
		n++
	}
	return min(l.perClient, max(minClientShare, l.max/(n+1)))
}

// blockFull reports whether an IPv6 block holding p holds all its
// shares. l.mu is held.
func (l *fairListener) blockFull(p netip.Prefix) bool {
	for _, b := range blocks(p) {
		if l.byBlock[b.p] >= b.shares*l.share(p) {
			return true
		}
	}
	return false
}

// longestBusy takes the connection busy for the longest of the network
// holding the most connections beyond its share (not p), or nil when no
// network is beyond its share. l.mu is held.
func (l *fairListener) longestBusy(p netip.Prefix) *fairConn {
	var most netip.Prefix
	over := 0
	for q, n := range l.byClient {
		if q != p && n-l.share(q) > over {
			most, over = q, n-l.share(q)
		}
	}
	if over == 0 {
		return nil
	}
	var victim *fairConn
	for fc := range l.busy {
		if fc.counted && fc.client == most && (victim == nil || fc.since.Before(victim.since)) {
			victim = fc
		}
	}
	if victim != nil {
		delete(l.busy, victim)
	}
	return victim
}

func newFairListener(ln net.Listener, max, perClient int) *fairListener {
	l := &fairListener{Listener: ln, max: max, perClient: perClient, byClient: map[netip.Prefix]int{}, byBlock: map[netip.Prefix]int{}, busy: map[*fairConn]struct{}{},
		network:   func(string) (netip.Prefix, bool, bool) { return netip.Prefix{}, false, false },
		saturated: func(string) {}, refused: func() {}}
	l.cond = sync.NewCond(&l.mu)
	return l
}

// fairConn is an admitted connection.
type fairConn struct {
	net.Conn
	l       *fairListener
	client  netip.Prefix
	counted bool // in l.byClient
	served  bool // has had a request: waiting means idle keep-alive
	closed  bool
	since   time.Time     // when it began to wait, or its request began
	elem    *list.Element // in l.waiting, or nil while busy
	once    sync.Once
}

func (l *fairListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if fc := l.admit(c); fc != nil {
			return fc, nil
		}
	}
}

// admit returns c admitted, or nil when c was refused.
func (l *fairListener) admit(c net.Conn) *fairConn {
	p, trusted, ok := l.network(c.RemoteAddr().String())
	counted := ok && !trusted
	shed := false
	defer func() {
		if shed {
			l.saturated("connection slots full: closed connections still waiting for a request")
		}
	}()
	for {
		l.mu.Lock()
		var victim *fairConn
		switch {
		case counted && (l.byClient[p] >= l.share(p) || l.blockFull(p)):
			now := time.Now()
			victim = l.oldestWaiting(func(fc *fairConn) bool {
				return fc.counted && fc.client == p && fc.served && now.Sub(fc.since) >= minSilence
			})
			if victim == nil {
				l.refuse(c)
				l.mu.Unlock()
				l.refused()
				return nil
			}
		case l.open >= l.max:
			victim = l.oldestWaiting(func(*fairConn) bool { return true })
			if victim == nil && counted {
				victim = l.longestBusy(p)
			}
			if victim == nil {
				l.cond.Wait()
				l.mu.Unlock()
				continue
			}
			shed = true
		default:
			fc := &fairConn{Conn: c, l: l, client: p, counted: counted, since: time.Now()}
			l.open++
			if counted {
				l.byClient[p]++
				for _, b := range blocks(p) {
					l.byBlock[b.p]++
				}
			}
			fc.elem = l.waiting.PushBack(fc)
			l.mu.Unlock()
			return fc
		}
		l.mu.Unlock()
		victim.Close() // its slot is free once closed
	}
}

// refuse holds c unread for the tarpit, then closes it; past 2*max of
// them at once it closes c at once. l.mu is held.
func (l *fairListener) refuse(c net.Conn) {
	if l.tarpits >= 2*l.max {
		c.Close()
		return
	}
	l.tarpits++
	time.AfterFunc(tarpit, func() {
		c.Close()
		l.mu.Lock()
		l.tarpits--
		l.mu.Unlock()
	})
}

// oldestWaiting takes the oldest waiting connection that match accepts
// out of the waiting list. l.mu is held.
func (l *fairListener) oldestWaiting(match func(*fairConn) bool) *fairConn {
	for e := l.waiting.Front(); e != nil; e = e.Next() {
		if fc := e.Value.(*fairConn); match(fc) {
			l.waiting.Remove(e)
			fc.elem = nil
			return fc
		}
	}
	return nil
}

// connState keeps the waiting list: a connection waits for headers when
// new and when idle, and is busy from its first byte of a request on.
func (l *fairListener) connState(c net.Conn, state http.ConnState) {
	fc, ok := c.(*fairConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if fc.closed {
		return
	}
	switch state {
	case http.StateActive:
		fc.served = true
		if fc.elem != nil {
			l.waiting.Remove(fc.elem)
			fc.elem = nil
		}
		fc.since = time.Now()
		l.busy[fc] = struct{}{}
	case http.StateIdle:
		delete(l.busy, fc)
		if fc.elem == nil {
			fc.elem, fc.since = l.waiting.PushBack(fc), time.Now()
		}
	}
}

func (fc *fairConn) Close() error {
	err := fc.Conn.Close()
	fc.once.Do(func() {
		l := fc.l
		l.mu.Lock()
		defer l.mu.Unlock()
		fc.closed = true
		l.open--
		if fc.counted {
			if l.byClient[fc.client]--; l.byClient[fc.client] <= 0 {
				delete(l.byClient, fc.client)
			}
			for _, b := range blocks(fc.client) {
				if l.byBlock[b.p]--; l.byBlock[b.p] <= 0 {
					delete(l.byBlock, b.p)
				}
			}
		}
		if fc.elem != nil {
			l.waiting.Remove(fc.elem)
			fc.elem = nil
		}
		delete(l.busy, fc)
		l.cond.Signal()
	})
	return err
}

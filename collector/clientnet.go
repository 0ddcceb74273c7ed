package collector

import (
	"net/http"
	"net/netip"
	"strings"
)

// Clients are told apart by network, not by address text: the rate
// limiter, the body budget and the connection limit of [Server.Serve] all
// key on the client's network. An IPv4 client is its address
// (Config.IPv4Prefix, default /32); an IPv6 client is its /64
// (Config.IPv6Prefix), the smallest network a site is given, so that one
// host cannot pick a fresh address from its 2^64 for every request, and
// its /56 and /48 bound what their /64s hold together (see ipv6Blocks). Every
// spelling of an address is one client: case, leading zeros, brackets, a
// port, a zone and the IPv4-mapped form (::ffff:a.b.c.d) are all
// normalised away by net/netip.

// parseAddr reads an address in any of its spellings: 2001:DB8::1,
// [2001:db8::1], [2001:db8::1]:443, 2001:db8::1%eth0, 192.0.2.1:80,
// ::ffff:192.0.2.1.
func parseAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		if perr != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}

// network is the client network of a.
func (c *Config) network(a netip.Addr) netip.Prefix {
	bits := c.IPv4Prefix
	if a.Is6() {
		bits = c.IPv6Prefix
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return netip.PrefixFrom(a, a.BitLen())
	}
	return p
}

// clientNetwork returns the client network of a connection's remote
// address (net.Conn.RemoteAddr().String()), and whether that address is
// one of Config.TrustedProxies, which speak for many clients. ok is false
// for an address that is not IP.
func (s *Server) clientNetwork(remoteAddr string) (p netip.Prefix, trusted, ok bool) {
	a, ok := parseAddr(remoteAddr)
	if !ok {
		return netip.Prefix{}, false, false
	}
	return s.cfg.network(a), s.trusted(a), true
}

// clientNet is the client network of r: the key of the rate limiter and
// of the body budget. It is never logged or stored.
func (s *Server) clientNet(r *http.Request) netip.Prefix {
	a, ok := s.clientAddr(r)
	if !ok {
		return netip.Prefix{}
	}
	return s.cfg.network(a)
}

// clientAddr is the address of r's client. The ClientIPHeader is
// believed only when the connection comes from a trusted proxy; the
// client is then the last address in it that is not a trusted proxy
// itself. An entry that is not an address ends the search: what comes
// before it was not written by a proxy we trust.
func (s *Server) clientAddr(r *http.Request) (netip.Addr, bool) {
	peer, ok := parseAddr(r.RemoteAddr)
	if !ok {
		return netip.Addr{}, false
	}
	if h := s.cfg.ClientIPHeader; h != "" && s.trusted(peer) {
		var addrs []string
		for _, v := range r.Header.Values(h) {
			addrs = append(addrs, strings.Split(v, ",")...)
		}
		for i := len(addrs) - 1; i >= 0; i-- {
			if strings.TrimSpace(addrs[i]) == "" {
				continue
			}
			a, ok := parseAddr(addrs[i])
			if !ok {
				break
			}
			peer = a
			if !s.trusted(a) {
				break
			}
		}
	}
	return peer, true
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// IPv6 networks are counted in the blocks that hold them too, by every
// per-network limit (the connection shares of Server.Serve, the body
// budget, the session rate): all the client networks of a block 256 times
// as wide (a /56 for /64 networks) hold at most twice a network's share
// between them, those of a block 65,536 times as wide (a /48) four times,
// so a client given a /48 holds no more than four networks would, however
// it spreads its addresses over its /64s.
var ipv6Blocks = []struct{ wider, shares int }{{8, 2}, {16, 4}}

// block is an IPv6 block holding a client network, and how many shares
// its networks may hold between them.
type block struct {
	p      netip.Prefix
	shares int
}

// blocks returns the IPv6 blocks that hold the client network p; none for
// IPv4.
func blocks(p netip.Prefix) []block {
	if !p.Addr().Is6() || p.Addr().Is4In6() {
		return nil
	}
	var out []block
	for _, b := range ipv6Blocks {
		if bits := p.Bits() - b.wider; bits > 0 {
			bp, _ := p.Addr().Prefix(bits)
			out = append(out, block{bp, b.shares})
		}
	}
	return out
}

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
// host cannot pick a fresh address from its 2^64 for every request. Every
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

package webui

import (
	"net"
	"net/netip"
)

// Login throttling is core's (Service.LoginThrottled); it and the rate
// limits of ratelimit.go count per client address as clientKey gives it.

// clientKey is the throttle key of the client address r.RemoteAddr (a
// proxy's X-Forwarded-For is not trusted). IPv6 clients are grouped by /64,
// the block one subscriber usually gets.
func clientKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return "ip:" + host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return "ip:" + p.String()
		}
	}
	return "ip:" + ip.String()
}

package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
)

// checkTarget parses raw as the base URL of a replica and refuses it unless
// it is http or https on a loopback host: "localhost", an address in
// 127.0.0.0/8, or ::1. It never resolves names: any other host name is
// refused, however it would resolve.
func checkTarget(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("target %q: scheme must be http or https", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("target %q: want scheme://host:port[/path], without user, query or fragment", raw)
	}
	if !isLoopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("target %q: host %q is not loopback (127.0.0.0/8, ::1 or localhost): isrload only loads this machine", raw, u.Hostname())
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

// isLoopbackHost reports whether host (without port or brackets) is
// "localhost" or a loopback IP address (127.0.0.0/8, ::1, or ::1's
// IPv4-mapped forms of 127.0.0.0/8).
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if i := strings.IndexByte(host, '%'); i >= 0 { // a zone: fe80::1%lo is not loopback anyway
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackOnly is a net.Dialer Control function that refuses to connect to
// anything but a loopback address. It is the second guard: it holds even if
// "localhost" resolves elsewhere.
func loopbackOnly(_ context.Context, network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("isrload: refusing to dial %s %s: not a loopback address", network, address)
	}
	return nil
}

package server

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit bounds the requests to the token endpoints (/api/revalidate and
// /api/inspect) of one replica. Each limit is a token bucket that holds one
// second's worth of requests (at least one). A zero limit is no limit.
type RateLimit struct {
	// PerClient is how many requests per second one client address may
	// send, counting every request, with or without a valid token: it slows
	// down token guessing too. IPv6 clients are counted by /64.
	PerClient float64
	// Total is how many authenticated requests per second the replica
	// takes from all clients together. Requests without a valid token do
	// not count, so they cannot lock the token holders out.
	Total float64
	// TrustedProxies are the networks of the proxies (load balancers,
	// ingress controllers) whose X-Forwarded-For names the client. A
	// request from one of them counts against the last address in its
	// X-Forwarded-For that is not itself a trusted proxy. Nil trusts no
	// one: the client is the connection's peer, and X-Forwarded-For, which
	// any client can write, is ignored.
	TrustedProxies []netip.Prefix
}

// maxClients bounds how many client addresses the limiter remembers. When
// it is reached, the addresses whose bucket is full again (idle ones) are
// forgotten; if none is, all are.
const maxClients = 10_000

// limiter enforces a RateLimit. Its zero value limits nothing.
type limiter struct {
	trusted   []netip.Prefix
	perClient rate.Limit
	burst     int
	total     *rate.Limiter // nil: no overall limit

	mu      sync.Mutex
	clients map[netip.Prefix]*rate.Limiter
}

func newLimiter(rl RateLimit) *limiter {
	l := &limiter{trusted: rl.TrustedProxies, clients: map[netip.Prefix]*rate.Limiter{}}
	if rl.PerClient > 0 {
		l.perClient, l.burst = rate.Limit(rl.PerClient), burstOf(rl.PerClient)
	}
	if rl.Total > 0 {
		l.total = rate.NewLimiter(rate.Limit(rl.Total), burstOf(rl.Total))
	}
	return l
}

// burstOf is one second's worth of requests at r per second, at least one.
func burstOf(r float64) int {
	return int(math.Max(1, math.Ceil(r)))
}

// client takes one request of r's client address and reports how long to
// wait before it could be allowed, or 0 if it is.
func (l *limiter) client(r *http.Request, now time.Time) time.Duration {
	if l.perClient == 0 {
		return 0
	}
	who := clientPrefix(l.clientAddr(r))
	l.mu.Lock()
	lim, ok := l.clients[who]
	if !ok {
		if len(l.clients) >= maxClients {
			l.forgetIdle(now)
		}
		lim = rate.NewLimiter(l.perClient, l.burst)
		l.clients[who] = lim
	}
	l.mu.Unlock()
	return take(lim, now)
}

// forgetIdle drops the clients whose bucket is full, or all of them if
// none is. l.mu is held.
func (l *limiter) forgetIdle(now time.Time) {
	for k, lim := range l.clients {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.clients, k)
		}
	}
	if len(l.clients) >= maxClients {
		clear(l.clients)
	}
}

// overall takes one authenticated request from the overall limit and
// reports how long to wait before it could be allowed, or 0 if it is.
func (l *limiter) overall(now time.Time) time.Duration {
	if l.total == nil {
		return 0
	}
	return take(l.total, now)
}

// take takes one token from lim at now if there is one, and returns 0;
// else it takes nothing and returns how long until there is one.
func take(lim *rate.Limiter, now time.Time) time.Duration {
	res := lim.ReserveN(now, 1)
	if !res.OK() {
		return time.Second
	}
	d := res.DelayFrom(now)
	if d > 0 {
		res.CancelAt(now)
	}
	return d
}

// clientAddr returns the address of r's client: its peer, unless the peer
// is a trusted proxy; then the last address of X-Forwarded-For that is not
// a trusted proxy (the first one if all are). A malformed entry ends the
// walk at the proxy that wrote it.
func (l *limiter) clientAddr(r *http.Request) string {
	addr := peerAddr(r.RemoteAddr)
	if !l.isTrusted(addr) {
		return addr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := peerAddr(strings.TrimSpace(hops[i]))
		if _, err := netip.ParseAddr(hop); err != nil {
			return addr
		}
		addr = hop
		if !l.isTrusted(addr) {
			return addr
		}
	}
	return addr
}

// isTrusted reports whether addr is in a trusted proxy's network.
func (l *limiter) isTrusted(addr string) bool {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range l.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerAddr returns the host of a host:port, or s itself without brackets.
func peerAddr(s string) string {
	if host, _, err := net.SplitHostPort(s); err == nil {
		return host
	}
	return strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
}

// clientPrefix returns the address of a request's client, as a prefix:
// the address itself for IPv4, its /64 for IPv6 (one host usually holds a
// whole /64). An address that does not parse counts as one client.
func clientPrefix(addr string) netip.Prefix {
	a, err := netip.ParseAddr(peerAddr(addr))
	if err != nil {
		return netip.Prefix{}
	}
	a = a.Unmap().WithZone("")
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// writeTooMany answers 429 with a Retry-After of wait, in whole seconds
// (at least one).
func writeTooMany(w http.ResponseWriter, wait time.Duration) {
	secs := max(1, int(math.Ceil(wait.Seconds())))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, http.StatusTooManyRequests, codeRateLimited, "too many requests: retry after "+strconv.Itoa(secs)+"s")
}

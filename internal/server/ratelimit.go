package server

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
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
}

// maxClients bounds how many client addresses the limiter remembers. When
// it is reached, the addresses whose bucket is full again (idle ones) are
// forgotten; if none is, all are.
const maxClients = 10_000

// limiter enforces a RateLimit. Its zero value limits nothing.
type limiter struct {
	perClient rate.Limit
	burst     int
	total     *rate.Limiter // nil: no overall limit

	mu      sync.Mutex
	clients map[netip.Prefix]*rate.Limiter
}

func newLimiter(rl RateLimit) *limiter {
	l := &limiter{clients: map[netip.Prefix]*rate.Limiter{}}
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
	who := clientPrefix(r.RemoteAddr)
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

// clientPrefix returns the address of a request's client, as a prefix:
// the address itself for IPv4, its /64 for IPv6 (one host usually holds a
// whole /64). An address that does not parse counts as one client.
func clientPrefix(remote string) netip.Prefix {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
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

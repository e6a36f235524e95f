package integration

import (
	"context"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"

	"github.com/isrcache/isrcache/pkg/isr"
)

// pubSubDialer dials a replica's Redis connections directly, except its
// pub/sub connections: the first (or, with always, every one) goes through
// p. go-redis dials pub/sub connections from its PubSubPool; nothing else
// in a dial tells them apart, so the dialer looks for it on the stack.
type pubSubDialer struct {
	p      *toxiproxy.Proxy
	always bool
	viaP   atomic.Int64 // pub/sub connections dialed through p
	direct atomic.Int64 // pub/sub connections dialed directly
}

func (d *pubSubDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	buf := make([]byte, 16<<10)
	stack := string(buf[:runtime.Stack(buf, false)])
	if strings.Contains(stack, "(*PubSubPool).NewConn") {
		if d.always || d.viaP.Load() == 0 {
			d.viaP.Add(1)
			addr = d.p.Listen
		} else {
			d.direct.Add(1)
		}
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

// TestClusterToxiPubSubCut: only replica r1's pub/sub connection is cut,
// silently (its packets dropped, no RST, no FIN), while its other Redis
// connections work, as when a NAT or conntrack entry is lost. The hot
// cache's maximum age is a minute here, so that only the delivery probe
// can end r1's outdated copy.
//
//   - "connection lost": the cut connection is the only casualty. r1's
//     probe finds events missing, subscribes again (a new connection gets
//     through), flushes its hot cache and serves the revalidated page,
//     within a few probe intervals (1s each).
//   - "path lost": every pub/sub connection r1 opens is black-holed. r1
//     cannot subscribe again, so nothing flushes its hot cache: the bound
//     is the hot cache's maximum age. This run sets it to 3s and shows r1
//     serving the new page once it passed.
func TestClusterToxiPubSubCut(t *testing.T) {
	t.Run("connection lost", func(t *testing.T) { t.Parallel(); testPubSubCut(t, false, time.Minute) })
	t.Run("path lost", func(t *testing.T) { t.Parallel(); testPubSubCut(t, true, 3*time.Second) })
}

func testPubSubCut(t *testing.T, always bool, l1MaxAge time.Duration) {
	c := newCluster(t)
	d := &pubSubDialer{p: newToxiProxy(t, "pubsub-r1", c.redis.Addr()), always: always}
	opts := isr.Options{Revalidate: time.Hour, L1MaxAge: l1MaxAge}
	r1 := c.startReplica(t, "r1", replicaConfig{Options: opts, Dial: d.dial})
	r2 := c.startReplica(t, "r2", replicaConfig{Options: opts})
	if d.viaP.Load() != 1 {
		t.Fatalf("pub/sub connections of r1 through the proxy = %d, want 1", d.viaP.Load())
	}
	const path = "/toxi/pubsub"
	mustGet(t, c.client, r2.URL+path)
	eventually(t, "r1 holds v1 in its hot cache", serves(t.Context(), c.client, r1.URL+path, version(path, 1), "HIT"))
	resets := r1.Backend.Stats().Resets

	partition(t, d.p)
	c.origin.SetVersion(path, 2)
	c.revalidateOK(t, r2.URL, "path="+path, "")
	cut := time.Now()
	var old tally
	eventually(t, "r1 serves v2", func() error {
		start := time.Now()
		a, err := do(t.Context(), c.client, "GET", r1.URL+path, "")
		old.add(a, err, time.Since(start))
		return serves(t.Context(), c.client, r1.URL+path, version(path, 2), "")()
	})
	took := time.Since(cut)
	t.Logf("r1 served v1 for %v after the revalidation (%v); pub/sub dials through the cut %d, direct %d, resets %d -> %d",
		took.Round(time.Millisecond), &old, d.viaP.Load(), d.direct.Load(), resets, r1.Backend.Stats().Resets)
	if len(old.errors) > 0 {
		t.Errorf("errors on r1: %v", old.errors)
	}
	if !always && (d.direct.Load() == 0 || r1.Backend.Stats().Resets <= resets) {
		t.Errorf("r1 did not subscribe again over a new connection (direct dials %d, resets %d -> %d)",
			d.direct.Load(), resets, r1.Backend.Stats().Resets)
	}
	// took also counts the polling: the margin is for that, not the bound.
	if took > l1MaxAge+time.Second {
		t.Errorf("r1 served the outdated page %v, longer than its hot cache's maximum age %v", took, l1MaxAge)
	}
}

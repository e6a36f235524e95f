package integration

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/isrcache/isrcache/pkg/isr"
)

// TestClusterPubSubLoss proves that a lost invalidation event does not leave
// a replica serving an outdated page for as long as its hot cache would
// keep it (C8): the replica flushes its hot cache when it subscribes again.
//
// The loss is made certain: Redis refuses new connections (maxclients 1,
// existing connections stay), `CLIENT KILL TYPE pubsub` drops both
// replicas' subscriptions, and r1's revalidation is published to no
// subscriber. r2 then still serves v1 from its hot cache (the control).
// Once Redis accepts connections again, r2 resubscribes, gets a Reset and
// serves v2, long before its hot cache's maximum age (a minute) and the
// page's revalidate time (an hour).
func TestClusterPubSubLoss(t *testing.T) {
	c := newCluster(t)
	reps := c.startReplicas(t, 2, replicaConfig{Options: isr.Options{Revalidate: time.Hour, L1MaxAge: time.Minute}})
	r1, r2 := reps[0], reps[1]
	const path = "/pubsub"
	for _, r := range reps {
		mustGet(t, c.client, r.URL+path)
		eventually(t, r.Name+" serves v1 from its hot cache", serves(t.Context(), c.client, r.URL+path, version(path, 1), "HIT"))
	}

	ctx := t.Context()
	for _, r := range reps {
		warmPool(t, r.Redis, 8) // so that r1 needs no new connection while Redis refuses them
	}
	maxclients, err := c.admin.ConfigGet(ctx, "maxclients").Result()
	if err != nil {
		t.Fatal(err)
	}
	restore := func() {
		_ = c.admin.ConfigSet(context.WithoutCancel(ctx), "maxclients", maxclients["maxclients"]).Err()
	}
	t.Cleanup(restore)
	if err := c.admin.ConfigSet(ctx, "maxclients", "1").Err(); err != nil {
		t.Fatal(err)
	}
	resets := r2.Backend.Stats().Resets
	killed, err := c.admin.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Int()
	if err != nil || killed < len(reps) {
		t.Fatalf("CLIENT KILL TYPE pubsub = %d, %v; want at least %d connections killed", killed, err, len(reps))
	}
	if n, err := c.subscribers(ctx); err != nil || n != 0 {
		t.Fatalf("subscribers after the kill = %d, %v; want 0", n, err)
	}
	c.origin.SetVersion(path, 2)
	c.revalidateOK(t, r1.URL, "path="+path, "")
	if a := mustGet(t, c.client, r2.URL+path); a.State != "HIT" || !strings.Contains(a.Body, version(path, 1)) {
		t.Fatalf("control: r2 without its subscription got %v, want HIT v1 from its hot cache", a)
	}

	restore()
	eventually(t, "r2 serves the revalidated page", serves(ctx, c.client, r2.URL+path, version(path, 2), "HIT"))
	if got := r2.Backend.Stats().Resets; got <= resets {
		t.Errorf("r2's Reset events = %d, want more than %d: only a Reset can have flushed it", got, resets)
	}
	eventually(t, "both replicas subscribed again", func() error {
		n, err := c.subscribers(ctx)
		if err == nil && n != int64(len(reps)) {
			err = fmt.Errorf("subscribers = %d, want %d", n, len(reps))
		}
		return err
	})
}

// warmPool opens n connections in rdb's pool by running n short blocking
// commands at once; the pool keeps them idle for later use.
func warmPool(t *testing.T, rdb redis.UniversalClient, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { _ = rdb.BLPop(t.Context(), 50*time.Millisecond, "isr-test:warm").Err() })
	}
	wg.Wait()
	if got := rdb.PoolStats().TotalConns; got < uint32(n) {
		t.Fatalf("warm pool: %d connections, want at least %d", got, n)
	}
}

package redistest_test

import (
	"context"
	"testing"

	"github.com/isrcache/isrcache/internal/redistest"
)

func TestClusterFailoverAndMigrate(t *testing.T) {
	ctx := context.Background()
	c := redistest.StartCluster(t)
	cc := c.Client(t)
	const key = "k" // slot 12539
	if err := cc.Set(ctx, key, "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	slot := 12539
	old := c.Master(slot)
	now := c.Failover(slot)
	if now == old || now == nil {
		t.Fatalf("CLUSTER FAILOVER kept master %v", old.Addr())
	}
	if v, err := cc.Get(ctx, key).Result(); err != nil || v != "v" {
		t.Fatalf("after failover: %q, %v", v, err)
	}
	c.MigrateSlot(slot, 0)
	if c.Master(slot) != c.Master(0) {
		t.Fatal("slot not migrated")
	}
	if v, err := cc.Get(ctx, key).Result(); err != nil || v != "v" {
		t.Fatalf("after migration: %q, %v", v, err)
	}
	killed, promoted := c.KillMaster(slot)
	if killed == promoted {
		t.Fatal("no promotion")
	}
	if v, err := cc.Get(ctx, key).Result(); err != nil || v != "v" {
		t.Fatalf("after kill: %q, %v", v, err)
	}
}

func TestSentinelFailover(t *testing.T) {
	g := redistest.StartSentinel(t)
	old := g.Master()
	if old != g.Servers[0] {
		t.Fatalf("primary %v, want the first server", old)
	}
	if now := g.Failover(); now != g.Servers[1] {
		t.Fatalf("primary after failover %v, want the replica", now)
	}
}

package isrredis_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/isrcache/isrcache/internal/redistest"
	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
	"github.com/isrcache/isrcache/pkg/isr/isrtest"
)

// TestCluster runs against one Redis Cluster (three masters with a replica
// each): the mode detection, the backend and budget conformance suites, and
// the cluster's faults.
func TestCluster(t *testing.T) {
	c := redistest.StartCluster(t)
	t.Run("Connect", func(t *testing.T) {
		client, mode := connect(t, c.URL(), isrredis.ModeDetect)
		if mode != isrredis.ModeCluster {
			t.Fatalf("mode %q, want cluster", mode)
		}
		// One seed is enough.
		if _, mode := connect(t, "redis://"+c.Nodes[3].Addr(), isrredis.ModeCluster); mode != isrredis.ModeCluster {
			t.Fatalf("mode %q from one seed", mode)
		}
		b := isrredis.New(client, &isrredis.Options{Mode: mode, Prefix: fmt.Sprintf("c%d", prefixes.Add(1))})
		tok := mustToken(t, b, "/p")
		mustPut(t, b, "/p", tok, page("/p", "x", time.Minute, "t1", "t2"))
		if e := mustGet(t, b, "/p"); string(e.Page.Body) != "x" {
			t.Fatalf("body %q", e.Page.Body)
		}
	})
	t.Run("Conformance", func(t *testing.T) {
		isrtest.TestBackend(t, func(t *testing.T) isr.Backend {
			return isrredis.New(c.Client(t), &isrredis.Options{Mode: isrredis.ModeCluster,
				Prefix: fmt.Sprintf("c%d", prefixes.Add(1)), ProbeInterval: 100 * time.Millisecond})
		})
	})
	t.Run("Confirm", func(t *testing.T) { testClusterConfirm(t, c) })
	t.Run("Budget", func(t *testing.T) {
		isrtest.TestBudget(t, func(t *testing.T, limit int) isr.Budget {
			return isrredis.NewBudget(c.Client(t), fmt.Sprintf("c%d", prefixes.Add(1)), limit)
		})
	})
}

// testClusterConfirm: invalidations of pages spread over every master, then
// a confirmation: each replica acknowledged only after applying all of
// them, though their events came from three masters over the cluster bus.
func testClusterConfirm(t *testing.T, c *redistest.Cluster) {
	ctx := context.Background()
	prefix := fmt.Sprintf("c%d", prefixes.Add(1))
	var bs []*isrredis.Backend
	var evs []*events
	for _, name := range []string{"r1", "r2", "r3"} {
		b := isrredis.New(c.Client(t), &isrredis.Options{Mode: isrredis.ModeCluster, Prefix: prefix, Replica: name,
			ProbeInterval: 100 * time.Millisecond})
		bs, evs = append(bs, b), append(evs, listen(t, b))
	}
	eventually(t, "three live replicas", func() bool {
		live, err := bs[0].Replicas(ctx)
		return err == nil && len(live) == 3
	})
	keys := make([]string, 30)
	for i := range keys {
		keys[i] = fmt.Sprintf("/c/%d", i)
		mustPut(t, bs[0], keys[i], mustToken(t, bs[0], keys[i]), page(keys[i], "x", time.Hour))
	}
	if _, err := bs[1].Invalidate(ctx, isr.ModeStale, keys...); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	conf, err := bs[1].Confirm(cctx)
	cancel()
	if err != nil || !conf.Complete() || len(conf.Acked) != 3 {
		t.Fatalf("Confirm = %+v, %v; want three replicas acked", conf, err)
	}
	for i, r := range evs {
		for _, k := range keys {
			if _, ok := r.find(0, func(ev isr.Event) bool { return ev.Kind == isr.EventStale && ev.Key == k }); !ok {
				t.Errorf("r%d acknowledged before applying the invalidation of %s", i+1, k)
			}
		}
	}
}

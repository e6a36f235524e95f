package integration

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
)

// Sizes of the stale wave.
const (
	wavePages  = 10000
	waveBudget = isr.DefaultRegenBudget
	waveRev    = time.Second
)

// TestClusterBudgetStaleWave: 10,000 pages go stale at once on 3 replicas
// with ISR_REGEN_BUDGET at its default (32). See testStaleWave.
func TestClusterBudgetStaleWave(t *testing.T) {
	testStaleWave(t, newCluster(t))
}

// TestRedisClusterBudgetStaleWave is the same wave on a Redis Cluster (3
// masters with a replica each): the budget's two sorted sets live in one
// slot, the pages in 256 shards.
func TestRedisClusterBudgetStaleWave(t *testing.T) {
	c, _ := newRedisCluster(t)
	testStaleWave(t, c)
}

// testStaleWave stores wavePages pages that go stale after a second, holds
// every origin request, and visits every page once, spread over three
// replicas: every visit must be answered STALE while the origin answers
// nothing (so no visitor waits on it), with no more than the budget of
// regenerations at the origin at once. Then an on-demand revalidation
// waits for a slot while the budget is spent; when the origin is released,
// it takes the first freed slot, ahead of the stale pages visited
// meanwhile, and the origin's concurrency never went above the budget.
func testStaleWave(t *testing.T, c *cluster) {
	obs := &regenCounter{}
	// The origin is held for longer than the default render timeout (10s)
	// on a slow machine: a render that timed out would free its slot while
	// the origin still counts its request.
	reps := c.startReplicas(t, 3, replicaConfig{Budget: waveBudget,
		Options: isr.Options{Observer: obs, RenderTimeout: 2 * time.Minute}})
	path := func(i int) string { return fmt.Sprintf("/wave/%d", i) }
	fillPages(t, c, wavePages, path)
	be := c.store()
	eventually(t, "the pages to go stale", func() error {
		for _, i := range []int{0, wavePages - 1} {
			if e, err := be.Get(t.Context(), path(i)); err != nil || !e.Stale() {
				return fmt.Errorf("%s: %v %v", path(i), e, err)
			}
		}
		return nil
	})

	release := c.origin.HoldAll(t)
	visit(t, c, reps, 0, wavePages, path, true)
	_, most := c.origin.Concurrency()
	t.Logf("%d stale visits answered while the origin was held: %d regenerations at the origin, %d deferred",
		wavePages, most, obs.count(isr.RegenDeferred))
	if most > waveBudget || most == 0 {
		t.Fatalf("origin concurrency %d, want 1 to the budget %d", most, waveBudget)
	}

	// The budget is spent: an on-demand revalidation waits for a slot.
	urgent := path(wavePages / 2)
	revalidated := make(chan answer, 1)
	go func() {
		a, err := do(context.WithoutCancel(t.Context()), c.client, http.MethodPost,
			reps[0].URL+"/api/revalidate?path="+urgent, "", "Authorization", "Bearer "+testSecret)
		if err != nil {
			t.Errorf("revalidate: %v", err)
		}
		revalidated <- a
	}()
	eventually(t, "the revalidation to wait for the budget", func() error {
		if n := c.admin.ZCard(t.Context(), isrredis.DefaultPrefix+":{budget}:wait").Val(); n != 1 {
			return fmt.Errorf("%d callers wait", n)
		}
		return nil
	})
	before := len(c.origin.Order())
	var wg sync.WaitGroup
	wg.Go(func() { visit(t, c, reps, 0, wavePages/4, path, false) }) // stale pages compete for the freed slots
	release()
	a := <-revalidated
	wg.Wait()
	if r := decodeRevalidate(t, a); a.Status != http.StatusOK || len(r.Results) != 1 || r.Results[0].Result != string(isr.ResultRegenerated) {
		t.Fatalf("revalidation of %s while the budget was spent: %v", urgent, a)
	}
	// While it waited, no stale page got a slot: it took the first one
	// freed. Stale pages may take the others freed at the same time and
	// reach the origin before it, but no more than the budget of them.
	order := c.origin.Order()[before:]
	if i := slices.Index(order, urgent); i < 0 || i >= waveBudget {
		t.Fatalf("the revalidated page reached the origin in position %d of %d, want one of the first %d", i, len(order), waveBudget)
	}
	_, most = c.origin.Concurrency()
	if most > waveBudget {
		t.Fatalf("origin concurrency %d, over the budget %d", most, waveBudget)
	}
}

// fillPages stores n pages that go stale after waveRev, straight into Redis
// as a replica's render would (token, then fenced write).
func fillPages(t *testing.T, c *cluster, n int, path func(int) string) {
	t.Helper()
	be := c.store()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				p := &isr.Page{Key: path(i), Status: http.StatusOK, Body: []byte("v1 " + path(i)),
					Header: http.Header{"Content-Type": {"text/plain"}}, Revalidate: waveRev}
				tok, err := be.Token(t.Context(), p.Key)
				if err == nil {
					_, err = be.Put(t.Context(), p.Key, tok, p, time.Hour)
				}
				if err != nil {
					t.Errorf("store %s: %v", p.Key, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

// visit GETs pages [from, to) once each, round robin over reps, from 64
// clients at once, and fails the test unless every answer is a 200 HIT or
// STALE; held (the origin answers nothing) wants the stored page, STALE.
func visit(t *testing.T, c *cluster, reps []*replica, from, to int, path func(int) string, held bool) {
	var next atomic.Int64
	next.Store(int64(from))
	var bad atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < to; i = int(next.Add(1)) - 1 {
				a, err := do(t.Context(), c.client, http.MethodGet, reps[i%len(reps)].URL+path(i), "")
				ok := err == nil && a.Status == http.StatusOK && (a.State == "STALE" || !held && a.State == "HIT")
				if !ok || held && a.Body != "v1 "+path(i) {
					if bad.Add(1) <= 5 {
						t.Errorf("GET %s: %v %v, want a page served from the cache (the stored one STALE: %v)", path(i), a, err, held)
					}
				}
			}
		})
	}
	wg.Wait()
	if n := bad.Load(); n > 0 {
		t.Fatalf("%d of %d visits were not answered from the cache", n, to-from)
	}
}

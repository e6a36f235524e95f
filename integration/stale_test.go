package integration

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

// TestClusterStaleWhileRevalidate proves the stale path across replicas
// (C6): once a page is past its revalidate time, visitors of every replica
// get the old page at once, labelled STALE, while exactly one replica in
// the cluster regenerates it; after that render is stored, every replica
// serves the new page as a HIT.
//
// "At once" is proven structurally, not by timing: the origin holds the
// regeneration's request until the test releases it, and every visitor's
// answer is collected before that release.
func TestClusterStaleWhileRevalidate(t *testing.T) {
	c := newCluster(t)
	reps := c.startReplicas(t, 3, replicaConfig{Options: isr.Options{Revalidate: time.Second}})
	const path = "/stale"
	v1 := path + " v1 render #1"
	for _, r := range reps {
		if a := mustGet(t, c.client, r.URL+path); a.Body != v1 {
			t.Fatalf("%s: first visits got %v, want %q", r.Name, a, v1)
		}
	}

	// The origin now has v2, fresh for a minute, and holds its renders.
	c.origin.SetVersion(path, 2)
	c.origin.SetHeader(path, "Cache-Control", "s-maxage=60")
	release := c.origin.Hold(t, path)
	eventually(t, "r1 serves the page STALE", serves(t.Context(), c.client, reps[0].URL+path, v1, "STALE"))
	eventually(t, "the regeneration reaches the origin", func() error {
		if n := c.origin.InFlight(path); n != 1 {
			return fmt.Errorf("origin requests in flight for %s = %d, want 1", path, n)
		}
		return nil
	})

	const perReplica = 30
	start := make(chan struct{})
	answers := make([]answer, perReplica*len(reps))
	errs := make([]error, len(answers))
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			<-start
			answers[i], errs[i] = do(t.Context(), c.client, http.MethodGet, reps[i%len(reps)].URL+path, "")
		})
	}
	close(start)
	wg.Wait()
	for i, a := range answers {
		if err := errs[i]; err != nil || a.Status != http.StatusOK || a.State != "STALE" || a.Body != v1 {
			t.Errorf("visitor %d (%s) got %v, %v; want 200 STALE %q", i, reps[i%len(reps)].Name, a, err, v1)
		}
	}
	if got, inFlight := c.origin.Renders(path), c.origin.InFlight(path); got != 2 || inFlight != 1 {
		t.Fatalf("while visitors were answered: origin requests = %d (%d in flight), want 2 (the first render, "+
			"and the one regeneration still in flight)", got, inFlight)
	}

	release()
	v2 := path + " v2 render #2"
	for _, r := range reps {
		eventually(t, r.Name+" serves the regenerated page", serves(t.Context(), c.client, r.URL+path, v2, "HIT"))
	}
	if got := c.origin.Renders(path); got != 2 {
		t.Errorf("origin requests for %s = %d, want 2: one first render and one regeneration cluster-wide", path, got)
	}
	if got := c.bodyOf(t, path); got != v2 {
		t.Errorf("page in Redis = %q, want %q", got, v2)
	}
}

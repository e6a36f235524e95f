package integration

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

// TestClusterColdFailureShared proves issue 8's hung-origin case on a real
// Redis: first visitors of a page on three replicas wait for one render;
// the origin hangs past the render timeout; every visitor gets the error
// with Retry-After once that one render times out (not one render timeout
// per replica in turn), and a visitor on any replica during the backoff
// gets it at once, with no render.
func TestClusterColdFailureShared(t *testing.T) {
	c := newCluster(t)
	reps := c.startReplicas(t, 3, replicaConfig{Options: isr.Options{
		Revalidate: time.Hour, RenderTimeout: time.Second, FailureBackoff: time.Minute}})
	const path = "/hung"
	c.origin.Hold(t, path)

	answers := make([]answer, 6)
	errs := make([]error, len(answers))
	took := make([]time.Duration, len(answers))
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			start := time.Now()
			answers[i], errs[i] = do(t.Context(), c.client, http.MethodGet, reps[i%len(reps)].URL+path, "")
			took[i] = time.Since(start)
		})
	}
	wg.Wait()
	for i, a := range answers {
		if errs[i] != nil || a.Status < 500 || a.Header.Get("Retry-After") == "" {
			t.Errorf("first visitor %d on %s: %v, %v, Retry-After %q; want a 5xx with Retry-After", i, reps[i%len(reps)].Name,
				a, errs[i], a.Header.Get("Retry-After"))
		}
	}
	if n := c.origin.Renders(path); n != 1 {
		t.Fatalf("origin renders of %s: %d, want 1 for 6 first visitors on 3 replicas", path, n)
	}
	t.Logf("first visitors answered after %v", took)
	for _, r := range reps {
		a := mustDo(t, c.client, http.MethodGet, r.URL+path, "")
		if a.Status != http.StatusBadGateway || a.Header.Get("Retry-After") == "" || !strings.Contains(a.Body, "did not render") {
			t.Errorf("%s during the backoff: %v, Retry-After %q; want 502 with Retry-After", r.Name, a, a.Header.Get("Retry-After"))
		}
	}
	if n := c.origin.Renders(path); n != 1 {
		t.Errorf("origin renders after the visits during the backoff: %d, want still 1", n)
	}
}

// TestClusterEagerFlood proves that a flood of eager revalidations of one
// page, spread over three replicas while its render is slow, is absorbed:
// every one answers 200 regenerated once a page rendered after it was
// written, and the origin renders a handful of times, not once per call.
func TestClusterEagerFlood(t *testing.T) {
	c := newCluster(t)
	reps := c.startReplicas(t, 3, replicaConfig{Options: isr.Options{Revalidate: time.Hour}})
	const path, calls = "/flood", 90
	mustGet(t, c.client, reps[0].URL+path)
	c.origin.SetDelay(path, 300*time.Millisecond)
	c.origin.SetVersion(path, 2)
	before := c.origin.Renders(path)

	results := make([]answer, calls)
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			results[i] = c.revalidate(t, reps[i%len(reps)].URL, "path="+path, "", "Authorization", "Bearer "+testSecret)
		})
	}
	wg.Wait()
	for i, a := range results {
		if a.Status != http.StatusOK || !strings.Contains(a.Body, `"result":"regenerated"`) {
			t.Errorf("revalidation %d on %s: %v, want 200 regenerated", i, reps[i%len(reps)].Name, a)
		}
	}
	renders := c.origin.Renders(path) - before
	t.Logf("%d eager revalidations on %d replicas: %d renders", calls, len(reps), renders)
	if renders > 2*len(reps) {
		t.Errorf("%d renders for %d revalidations, want at most %d (a running one and one more per replica)", renders, calls, 2*len(reps))
	}
	for _, r := range reps {
		eventually(t, r.Name+" serves v2", serves(t.Context(), c.client, r.URL+path, version(path, 2), ""))
	}
}

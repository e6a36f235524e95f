package integration

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

// TestClusterColdStampede proves cluster-wide cold-miss coalescing (C6): 300
// concurrent first visits of one page, spread over 3 replicas, cause
// exactly one origin render, and every visitor gets that render's page.
// Since the origin saw one request in all, the visitors of the two replicas
// that did not hold the lock waited for the other replica's render instead
// of calling the origin themselves.
func TestClusterColdStampede(t *testing.T) {
	c := newCluster(t)
	reps := c.startReplicas(t, 3, replicaConfig{Options: isr.Options{Revalidate: time.Minute}})
	const path, visitors = "/stampede", 300
	c.origin.SetDelay(path, 200*time.Millisecond)

	start := make(chan struct{})
	answers := make([]answer, visitors)
	errs := make([]error, visitors)
	var wg sync.WaitGroup
	for i := range visitors {
		wg.Go(func() {
			<-start
			answers[i], errs[i] = do(t.Context(), c.client, http.MethodGet, reps[i%len(reps)].URL+path, "")
		})
	}
	close(start)
	wg.Wait()

	if got := c.origin.Renders(path); got != 1 {
		t.Errorf("origin renders of %s = %d, want 1", path, got)
	}
	want := path + " v1 render #1"
	states := map[string]int{}
	for i, a := range answers {
		switch {
		case errs[i] != nil:
			t.Errorf("visitor %d (%s): %v", i, reps[i%len(reps)].Name, errs[i])
		case a.Status != http.StatusOK || a.Body != want:
			t.Errorf("visitor %d (%s) got %v, want 200 %q", i, reps[i%len(reps)].Name, a, want)
		default:
			states[a.State]++
		}
	}
	t.Logf("answers by X-ISR-Cache: %v", states)
	if got := c.bodyOf(t, path); got != want {
		t.Errorf("page in Redis = %q, want %q", got, want)
	}
}

package isr_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrmem"
)

// TestColdFailureShared is issue 8's hung origin: first visitors on two
// replicas of one store wait for one render; when it times out, every one
// of them gets the error with Retry-After (one render in all, not one per
// replica), and the page backs off on both replicas: a visitor during the
// backoff gets the error at once, without a render.
func TestColdFailureShared(t *testing.T) {
	t.Parallel()
	b := isrmem.New(nil)
	opts := isr.Options{Backend: b, RenderTimeout: 300 * time.Millisecond, FailureBackoff: time.Hour}
	r1, r2 := newRig(t, opts), newRig(t, opts)
	for _, r := range []*rig{r1, r2} {
		release := r.origin.Hold("/hung")
		defer release()
	}
	var wg sync.WaitGroup
	answers := make(chan answer, 6)
	for i := range 6 {
		r := []*rig{r1, r2}[i%2]
		wg.Add(1)
		go func() { defer wg.Done(); answers <- r.get(t, "/hung") }()
	}
	wg.Wait()
	close(answers)
	for a := range answers {
		if a.status < 500 || a.header.Get("Retry-After") == "" {
			t.Errorf("first visitor: %d, Retry-After %q; want a 5xx with Retry-After", a.status, a.header.Get("Retry-After"))
		}
	}
	if n := r1.origin.Renders("/hung") + r2.origin.Renders("/hung"); n != 1 {
		t.Fatalf("%d renders for 6 first visitors on 2 replicas, want 1", n)
	}
	for _, r := range []*rig{r1, r2} {
		a := r.get(t, "/hung")
		if a.status != http.StatusBadGateway && a.status != http.StatusGatewayTimeout || a.header.Get("Retry-After") == "" {
			t.Errorf("visitor during the backoff: %d, Retry-After %q; want a 5xx with Retry-After", a.status, a.header.Get("Retry-After"))
		}
	}
	if n := r1.origin.Renders("/hung") + r2.origin.Renders("/hung"); n != 1 {
		t.Fatalf("%d renders after visits during the backoff, want still 1", n)
	}
}

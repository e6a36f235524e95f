package integration

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

// TestClusterColdMissLeaderDisconnect proves that coalesced visitors do not
// depend on the visitor whose request started the render (S19): the first
// visitor of a cold page disconnects while the origin renders it, and the
// 99 visitors waiting for that render on 3 replicas all get it, from one
// origin render.
func TestClusterColdMissLeaderDisconnect(t *testing.T) {
	c := newCluster(t)
	reps := c.startReplicas(t, 3, replicaConfig{Options: isr.Options{Revalidate: time.Minute}})
	const path, followers = "/leader", 99
	release := c.origin.Hold(t, path)

	leaderCtx, hangUp := context.WithCancel(t.Context())
	leader := make(chan error, 1)
	go func() {
		_, err := do(leaderCtx, c.client, http.MethodGet, reps[0].URL+path, "")
		leader <- err
	}()
	eventually(t, "the leader's render reaches the origin", func() error {
		if n := c.origin.InFlight(path); n != 1 {
			return fmt.Errorf("origin requests in flight = %d, want 1", n)
		}
		return nil
	})

	answers := make([]answer, followers)
	errs := make([]error, followers)
	var wg sync.WaitGroup
	for i := range followers {
		wg.Go(func() {
			answers[i], errs[i] = do(t.Context(), c.client, http.MethodGet, reps[i%len(reps)].URL+path, "")
		})
	}
	hangUp()
	if err := <-leader; err == nil {
		t.Fatal("the leader's request succeeded; want it cancelled by its client")
	}
	release()
	wg.Wait()

	want := path + " v1 render #1"
	for i, a := range answers {
		if errs[i] != nil || a.Status != http.StatusOK || a.Body != want {
			t.Errorf("follower %d (%s) got %v, %v; want 200 %q", i, reps[i%len(reps)].Name, a, errs[i], want)
		}
	}
	if got := c.origin.Renders(path); got != 1 {
		t.Errorf("origin requests for %s = %d, want 1", path, got)
	}
}

// TestClusterSetCookieNotShared proves that a response minting a session
// is neither stored nor handed to other visitors (S5): 50 concurrent cold
// visitors of a page whose origin answers carry Set-Cookie (with an
// s-maxage, so it looks cacheable) each get a cookie of their own, and
// Redis holds no page for it.
func TestClusterSetCookieNotShared(t *testing.T) {
	c := newCluster(t)
	reps := c.startReplicas(t, 3, replicaConfig{Options: isr.Options{Revalidate: time.Minute}})
	const path, visitors = "/session", 50
	c.origin.SetHeader(path, "Cache-Control", "public, s-maxage=60")
	c.origin.SetDelay(path, 100*time.Millisecond)
	c.origin.MintCookies(path)

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

	owner := map[string]int{}
	for i, a := range answers {
		sid := a.Header.Get("Set-Cookie")
		switch {
		case errs[i] != nil || a.Status != http.StatusOK:
			t.Errorf("visitor %d (%s) got %v, %v; want 200", i, reps[i%len(reps)].Name, a, errs[i])
		case sid == "":
			t.Errorf("visitor %d (%s) got %v without a Set-Cookie, want a session of its own", i, reps[i%len(reps)].Name, a)
		case owner[sid] != 0:
			t.Errorf("visitors %d and %d got the same cookie %q", owner[sid]-1, i, sid)
		default:
			owner[sid] = i + 1
		}
	}
	if e := c.entry(t, path); e != nil {
		t.Errorf("Redis holds a page for %s (%q); a response with Set-Cookie must not be stored", path, e.Page.Body)
	}
}

package integration

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrtest"
)

// TestClusterOriginFailure proves "stale beats error" (S7, S8, I5) and that a
// failing origin is not hammered (I4): when the regeneration of a stale page
// gets a 500 or a truncated body, every replica keeps answering 200 STALE
// with the old page, Redis keeps the old page and generation, and the
// origin sees one failed regeneration in all: the failed key is left alone
// cluster-wide for FailureBackoff (a minute here, longer than the test).
func TestClusterOriginFailure(t *testing.T) {
	c := newCluster(t)
	reps := c.startReplicas(t, 3, replicaConfig{Options: isr.Options{
		Revalidate: time.Hour, L1MaxAge: time.Minute, FailureBackoff: time.Minute}})

	for _, tc := range []struct {
		name    string
		failure isrtest.Failure
	}{
		{"500", isrtest.FailError},
		{"truncated body", isrtest.FailTruncate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := fmt.Sprintf("/fail/%d", tc.failure)
			v1 := mustGet(t, c.client, reps[0].URL+path).Body
			for _, r := range reps[1:] {
				if a := mustGet(t, c.client, r.URL+path); a.Body != v1 {
					t.Fatalf("%s: GET %s = %v, want %q", r.Name, path, a, v1)
				}
			}
			before := c.entry(t, path)
			c.origin.SetVersion(path, 2)
			c.origin.SetFailure(path, tc.failure)
			seen := make([]uint64, len(reps))
			for i, r := range reps {
				seen[i] = r.Backend.Stats().Messages
			}
			c.revalidateOK(t, reps[1].URL, "", `{"paths":["`+path+`"],"mode":"stale"}`)
			for i, r := range reps {
				eventually(t, r.Name+" applied the revalidation event", func() error {
					if r.Backend.Stats().Messages == seen[i] {
						return fmt.Errorf("%s: no event applied since the revalidation", r.Name)
					}
					return nil
				})
			}

			burst(t, c, reps, path, v1) // the first STALE answer starts the regeneration
			eventually(t, "the failed regeneration is over", func() error {
				if n, in := c.origin.Renders(path), c.origin.InFlight(path); n != 2 || in != 0 {
					return fmt.Errorf("origin requests for %s = %d (%d in flight), want 2 (0)", path, n, in)
				}
				return nil
			})
			burst(t, c, reps, path, v1) // after the failure: still the old page, no new render

			if got := c.origin.Renders(path); got != 2 {
				t.Errorf("origin requests for %s = %d, want 2: one first render and one failed regeneration", path, got)
			}
			failed := 0
			for _, r := range reps {
				for _, line := range strings.Split(r.Logs.String(), "\n") {
					if strings.Contains(line, "regeneration failed: old page kept") && strings.Contains(line, `"key": "`+path+`"`) {
						failed++
					}
				}
			}
			if failed != 1 {
				t.Errorf("replicas logged %d failed regenerations of %s, want 1", failed, path)
			}
			after := c.entry(t, path)
			if after == nil || string(after.Page.Body) != v1 || after.Page.Gen != before.Page.Gen {
				t.Errorf("page in Redis after the failure = %+v, want %q with generation %d", after, v1, before.Page.Gen)
			}
		})
	}
}

// burst sends 20 concurrent GETs of path to each replica and fails the test
// unless every answer is 200 STALE with body want.
func burst(t *testing.T, c *cluster, reps []*replica, path, want string) {
	t.Helper()
	answers := make([]answer, 20*len(reps))
	errs := make([]error, len(answers))
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			answers[i], errs[i] = do(t.Context(), c.client, http.MethodGet, reps[i%len(reps)].URL+path, "")
		})
	}
	wg.Wait()
	for i, a := range answers {
		if errs[i] != nil || a.Status != http.StatusOK || a.State != "STALE" || a.Body != want {
			t.Errorf("%s: GET %s = %v, %v; want 200 STALE %q", reps[i%len(reps)].Name, path, a, errs[i], want)
		}
	}
}

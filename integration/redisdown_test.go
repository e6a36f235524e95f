package integration

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

// TestClusterRedisDown proves that a Redis outage degrades service, never
// correctness (R1, K3): with redis-server stopped, a page a replica has
// seen is still answered 200 (from its hot cache, as STALE once the copy is
// older than the hot cache's max age), a page nobody has seen is rendered
// at the origin and served (MISS, not stored), and /readyz stays 200. Once
// Redis is back, pages are stored and shared again.
func TestClusterRedisDown(t *testing.T) {
	c := newCluster(t)
	reps := c.startReplicas(t, 2, replicaConfig{Options: isr.Options{L1MaxAge: 200 * time.Millisecond}})
	v1 := mustGet(t, c.client, reps[0].URL+"/warm").Body
	mustGet(t, c.client, reps[1].URL+"/warm")

	c.redis.Stop()
	for _, r := range reps {
		eventually(t, r.Name+" serves its outdated copy as STALE", func() error {
			a, err := do(t.Context(), c.client, http.MethodGet, r.URL+"/warm", "")
			if err != nil {
				return err
			}
			if a.Status != 200 || a.Body != v1 {
				return fmt.Errorf("GET /warm = %v, want 200 %q", a, v1)
			}
			if s := a.Header.Get("X-ISR-Cache"); s != "STALE" {
				return fmt.Errorf("X-ISR-Cache = %q, want STALE once the copy is past L1MaxAge", s)
			}
			return nil
		})
		cold := mustGet(t, c.client, r.URL+"/cold-"+r.Name)
		if cold.Status != 200 || cold.Header.Get("X-ISR-Cache") != "MISS" ||
			cold.Header.Get("Cache-Status") != "isrcache; fwd=uri-miss; detail=not-stored-store-unavailable" {
			t.Fatalf("%s: cold page with Redis down = %v %q, want a 200 MISS not stored", r.Name, cold, cold.Header.Get("Cache-Status"))
		}
		if a := mustGet(t, c.client, r.URL+"/readyz"); a.Status != 200 {
			t.Fatalf("%s: /readyz with Redis down = %d, want 200", r.Name, a.Status)
		}
	}

	c.redis.Restart() // an empty Redis on the same port
	eventually(t, "pages stored and shared again", func() error {
		a, err := do(t.Context(), c.client, http.MethodGet, reps[0].URL+"/after", "")
		if err != nil || a.Status != 200 {
			return fmt.Errorf("GET /after on r1 = %v, %v", a, err)
		}
		b, err := do(t.Context(), c.client, http.MethodGet, reps[1].URL+"/after", "")
		if err != nil || b.Header.Get("X-ISR-Cache") != "HIT" {
			return fmt.Errorf("GET /after on r2 = %v, %v; want HIT", b, err)
		}
		return nil
	})
}

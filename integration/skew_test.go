package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/isrcache/isrcache/internal/server"
	"github.com/isrcache/isrcache/pkg/isr"
)

// skewed returns a clock off by d from the machine's.
func skewed(d time.Duration) func() time.Time {
	return func() time.Time { return time.Now().Add(d) }
}

// TestClusterClockSkew: replica "ahead"'s clock is 30s ahead of the
// machine's, "behind"'s 30s behind, "exact"'s right (each replica's local
// clock is the engine's injected Now; Redis keeps the only clock that
// decides freshness, TIME inside the scripts). Pages revalidate every 2s.
// Whoever writes a page, every replica sees it fresh at once (ahead does
// not think it 30s old), and stale once Redis's clock says so (behind does
// not keep it fresh 30s longer); one regeneration follows, cluster-wide.
func TestClusterClockSkew(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	clocks := map[string]time.Duration{"ahead": 30 * time.Second, "behind": -30 * time.Second, "exact": 0}
	reps := map[string]*replica{}
	for name, d := range clocks {
		reps[name] = c.startReplica(t, name, replicaConfig{Options: isr.Options{Now: skewed(d)}})
	}
	for _, writer := range []string{"ahead", "behind", "exact"} {
		path := "/skew/written-by-" + writer
		c.origin.SetHeader(path, "Cache-Control", "s-maxage=2")
		if a := mustGet(t, c.client, reps[writer].URL+path); a.State != "MISS" {
			t.Fatalf("%s: first GET on %s = %v, want MISS", path, writer, a)
		}
		for name, r := range reps {
			if a := mustGet(t, c.client, r.URL+path); a.State != "HIT" || a.Body != version(path, 1)+"render #1" {
				t.Errorf("%s on %s (clock %+v) right after %s wrote it = %v, want HIT render #1", path, name, clocks[name], writer, a)
			}
			if in := inspect(t, c, r, path); in.AgeSeconds > 1 || in.FreshSeconds == nil || *in.FreshSeconds < 1 {
				t.Errorf("%s inspected on %s: age %.3fs, fresh %v; want a page just written, fresh for about 2s",
					path, name, in.AgeSeconds, in.FreshSeconds)
			}
		}
	}
	// Once Redis says the page is stale, every replica says so, the one
	// behind too; one of them regenerates it.
	path := "/skew/written-by-exact"
	c.origin.SetVersion(path, 2)
	for _, name := range []string{"behind", "ahead", "exact"} {
		eventually(t, name+" serves v2 after the page went stale by Redis's clock", func() error {
			a := mustGet(t, c.client, reps[name].URL+path)
			if a.Body != version(path, 2)+"render #2" {
				return fmt.Errorf("GET = %v", a)
			}
			return nil
		})
	}
	if n := c.origin.Renders(path); n != 2 {
		t.Errorf("renders of %s = %d, want 2: one regeneration cluster-wide", path, n)
	}
}

// inspect reads /api/inspect of path on r.
func inspect(t *testing.T, c *cluster, r *replica, path string) server.Inspection {
	t.Helper()
	a := mustDo(t, c.client, http.MethodGet, r.URL+"/api/inspect?path="+path, "", "Authorization", "Bearer "+testSecret)
	var in server.Inspection
	if a.Status != http.StatusOK || json.Unmarshal([]byte(a.Body), &in) != nil {
		t.Fatalf("inspect %s on %s = %v", path, r.Name, a)
	}
	return in
}

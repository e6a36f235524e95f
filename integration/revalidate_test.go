package integration

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
)

// TestClusterRevalidate proves on-demand revalidation for the whole cluster:
// POST /api/revalidate on replica r1, after the origin's content changed,
// answers 200 {"revalidated":true} having regenerated the pages, and r2 and
// r3 then serve the new pages. Their hot caches keep a page for a minute
// and the pages are fresh for an hour, so only the pub/sub event can have
// cleared them. Each way of asking is covered: a Bearer token, the secret
// query parameter, a JSON body of paths, and a tag.
//
// A control replica, deaf, hears no event but Resets: it keeps serving the
// old pages from its hot cache, which shows that the hot caches did hold
// them and that the events are what refreshed r2 and r3.
func TestClusterRevalidate(t *testing.T) {
	c := newCluster(t)
	opts := isr.Options{Revalidate: time.Hour, L1MaxAge: time.Minute}
	reps := c.startReplicas(t, 3, replicaConfig{Options: opts})
	deaf := c.startReplica(t, "deaf", replicaConfig{Options: opts, Wrap: func(_ string, b *isrredis.Backend) isr.Backend {
		return deafBackend{b}
	}})
	c.origin.SetHeader("/tag/1", "Cache-Tag", "news, sport")
	c.origin.SetHeader("/tag/2", "X-ISR-Tags", "news")

	for _, tc := range []struct {
		name        string
		paths       []string
		query, body string
		hdr         []string
	}{
		{name: "bearer", paths: []string{"/bearer"}, query: "path=/bearer",
			hdr: []string{"Authorization", "Bearer " + testSecret}},
		{name: "query secret", paths: []string{"/query"},
			query: url.Values{"secret": {testSecret}, "path": {"/query"}}.Encode()},
		{name: "body paths", paths: []string{"/body/1", "/body/2"}, body: `{"paths":["/body/1","/body/2"]}`,
			hdr: []string{"Authorization", "Bearer " + testSecret}},
		{name: "tag", paths: []string{"/tag/1", "/tag/2"}, body: `{"tags":["news"]}`,
			hdr: []string{"Authorization", "Bearer " + testSecret}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, p := range tc.paths {
				for _, r := range append(reps, deaf) {
					mustGet(t, c.client, r.URL+p) // r1 renders, the others read Redis
					if a := mustGet(t, c.client, r.URL+p); a.State != "HIT" || !strings.Contains(a.Body, version(p, 1)) {
						t.Fatalf("%s: GET %s = %v, want HIT v1", r.Name, p, a)
					}
				}
				c.origin.SetVersion(p, 2)
			}

			a := c.revalidate(t, reps[0].URL, tc.query, tc.body, tc.hdr...)
			res := decodeRevalidate(t, a)
			if a.Status != http.StatusOK || !res.Revalidated || len(res.Results) != len(tc.paths) {
				t.Fatalf("revalidate on r1 = %v, want 200 revalidated:true with %d results", a, len(tc.paths))
			}
			for _, pr := range res.Results {
				if pr.Result != string(isr.ResultRegenerated) {
					t.Errorf("result for %s = %q (%s), want %q", pr.Key, pr.Result, pr.Error, isr.ResultRegenerated)
				}
			}
			for _, p := range tc.paths {
				if a := mustGet(t, c.client, reps[0].URL+p); a.State != "HIT" || !strings.Contains(a.Body, version(p, 2)) {
					t.Errorf("r1 right after revalidating: GET %s = %v, want HIT v2", p, a)
				}
				for _, r := range reps[1:] {
					eventually(t, r.Name+" serves the new "+p, serves(t.Context(), c.client, r.URL+p, version(p, 2), "HIT"))
				}
				if a := mustGet(t, c.client, deaf.URL+p); a.State != "HIT" || !strings.Contains(a.Body, version(p, 1)) {
					t.Errorf("control: the deaf replica's GET %s = %v, want HIT v1 from its hot cache", p, a)
				}
				if got := c.origin.Renders(p); got != 2 {
					t.Errorf("origin requests for %s = %d, want 2 (first visit, revalidation)", p, got)
				}
			}
		})
	}
	for _, r := range reps {
		if strings.Contains(r.Logs.String(), testSecret) {
			t.Errorf("%s's log contains the revalidation secret", r.Name)
		}
	}
}

// deafBackend is a Redis backend whose listener hears only Reset events,
// as if every other pub/sub message were lost.
type deafBackend struct{ *isrredis.Backend }

// Listen passes on the Resets only.
func (b deafBackend) Listen(ctx context.Context, fn func(isr.Event)) error {
	return b.Backend.Listen(ctx, func(ev isr.Event) {
		if ev.Kind == isr.EventReset {
			fn(ev)
		}
	})
}

package integration

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestClusterNextjs proves isrcache in front of a real Next.js app
// (examples/nextjs, Next 16 under `next start`, see newNextStack): App
// Router pages and their RSC and prefetch variants are stored and shared,
// never mixed up; an on-demand revalidation and a time-based regeneration
// reach Next's own cache with one Next render per page, for the App Router
// and the Pages Router (page and data route); Next's static assets pass
// through; a real browser navigates client-side through isrcache. The
// subtests share one stack and use pages of their own. Missing node, npm or
// chromium fail the test.
func TestClusterNextjs(t *testing.T) {
	src := buildNextApp(t)
	bin := buildBinary(t)
	s := newNextStack(t, src, bin)
	t.Run("stored and shared", s.testStoredAndShared)
	t.Run("variants", s.testVariants)
	t.Run("on-demand revalidation", s.testOnDemand)
	t.Run("time-based regeneration", s.testTimeBased)
	t.Run("static assets pass through", s.testAssets)
	t.Run("browser", s.testBrowser)
}

// testStoredAndShared: an App Router page is a MISS on one replica, then a
// HIT with the same page on the others.
func (s *nextStack) testStoredAndShared(t *testing.T) {
	const path = "/posts/1"
	s.next.refresh(t, s.c.client, path)
	html := htmlVariant()
	first := html.get(t, s.c.client, s.reps[0].URL, path)
	html.check(t, first, "first GET on r1", "First post", "MISS")
	for _, r := range s.reps[1:] {
		a := html.get(t, s.c.client, r.URL, path)
		html.check(t, a, "GET on "+r.Name, "First post", "HIT")
		if a.Body != first.Body {
			t.Errorf("%s's HIT differs from the page r1 stored", r.Name)
		}
	}
}

// testVariants: the HTML, the RSC payload of a navigation and the
// prefetches of an App Router page, and a Pages Router page and its data
// route, are each stored (MISS, then HIT on another replica and on repeat)
// and never answered for one another. The RSC variants are asked first, so
// a mix-up would hand HTML visitors an RSC payload.
func (s *nextStack) testVariants(t *testing.T) {
	const path, legacy = "/posts/2", "/legacy/2"
	s.next.refresh(t, s.c.client, path)
	type req struct {
		v          nextVariant
		path, want string
	}
	data := nextVariant{Name: "data route", ContentType: "application/json", Header: []string{"x-nextjs-data", "1"}}
	reqs := []req{
		{rscNavVariant("2"), path, "Second post"},
		{prefetchVariant("/_tree"), path, "__PAGE__"},
		{prefetchVariant("/posts/$d$id/__PAGE__"), path, "Second post"},
		{fullPrefetchVariant(), path, "Second post"},
		// RSC alone: the client then sends a bare _rsc, which Next checks.
		{nextVariant{Name: "rsc alone", ContentType: "text/x-component", Header: []string{"RSC", "1"}}, path, "Second post"},
		{htmlVariant(), path, "Second post"},
		{data, s.next.dataPath(legacy), `"title":"Second post"`},
		{htmlVariant(), legacy, "Second post"},
	}
	stored := make([]string, len(reqs))
	for i, q := range reqs {
		a := q.v.get(t, s.c.client, s.reps[0].URL, q.path)
		q.v.check(t, a, "first GET "+q.path+" on r1", q.want, "MISS")
		stored[i] = a.Body
	}
	for _, r := range []*process{s.reps[1], s.reps[0], s.reps[2]} {
		for i, q := range reqs {
			a := q.v.get(t, s.c.client, r.URL, q.path)
			q.v.check(t, a, "GET "+q.path+" on "+r.Name, q.want, "HIT")
			if a.Body != stored[i] {
				t.Errorf("GET %s on %s, %s: the HIT is not the answer r1 stored for this variant", q.path, r.Name, q.v.Name)
			}
		}
	}
}

// nextRevalidate is the revalidate time of the example's pages. A new page
// that shows within half of it came from isrcache's regeneration, not from
// Next's own cache expiring (which a regeneration without the preview id
// would wait for).
const nextRevalidate = 10 * time.Second

// testOnDemand: after a CMS edit and a revalidation on r1, the other
// replicas serve the new content in every variant - the HTML and RSC of an
// App Router page, a Pages Router page and its data route - at once (within
// nextRevalidate/2), with exactly one Next render per page.
func (s *nextStack) testOnDemand(t *testing.T) {
	const path, legacy = "/posts/5", "/legacy/5"
	data := nextVariant{Name: "data route", ContentType: "application/json"}
	pages := []struct {
		page, path string
		reqs       []pageReq
	}{
		{"posts", path, []pageReq{{path, htmlVariant()}, {path, rscNavVariant("5")}, {path, prefetchVariant("/posts/$d$id/__PAGE__")}}},
		{"legacy", legacy, []pageReq{{legacy, htmlVariant()}, {s.next.dataPath(legacy), data}}},
	}
	for _, p := range pages {
		s.next.refresh(t, s.c.client, p.path)
		s.serveAll(t, eventuallyTimeout, s.reps, p.reqs, "Fifth post")
	}
	s.next.setPost(t, "5", "Fifth post, edited", "Edited in the CMS.")
	for _, p := range pages {
		before := s.next.renders(t, p.page, "5")
		s.c.revalidateOK(t, s.reps[0].URL, "", `{"paths":["`+p.path+`"]}`)
		s.serveAll(t, nextRevalidate/2, s.reps[1:], p.reqs, "Fifth post, edited")
		if got := s.next.renders(t, p.page, "5") - before; got != 1 {
			t.Errorf("revalidating %s: %d Next renders, want exactly 1", p.path, got)
		}
	}
}

// A pageReq is one variant of a page, asked at path.
type pageReq struct {
	path string
	v    nextVariant
}

// serveAll waits up to d until every replica of reps answers every request
// of reqs with a HIT whose body has want.
func (s *nextStack) serveAll(t *testing.T, d time.Duration, reps []*process, reqs []pageReq, want string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for _, r := range reps {
		for _, q := range reqs {
			within(t, time.Until(deadline), r.Name+" serves "+want+" at "+q.path+" ("+q.v.Name+")", func() error {
				return q.v.match(q.v.get(t, s.c.client, r.URL, q.path), want, "HIT")
			})
		}
	}
}

// testTimeBased: once the page's revalidate time (Next's s-maxage=10) has
// passed, a visit gets the old page at once (STALE), then every replica
// serves the new render, in HTML and RSC, soon (within nextRevalidate/2),
// after one Next render.
func (s *nextStack) testTimeBased(t *testing.T) {
	const path = "/posts/6"
	s.next.refresh(t, s.c.client, path)
	reqs := []pageReq{{path, htmlVariant()}, {path, rscNavVariant("6")}}
	s.serveAll(t, eventuallyTimeout, s.reps, reqs, "Sixth post")
	s.next.setPost(t, "6", "Sixth post, edited", "Edited in the CMS.")
	before := s.next.renders(t, "posts", "6")
	html := htmlVariant()
	var first answer
	eventually(t, "the page goes stale on r2", func() error {
		if first = html.get(t, s.c.client, s.reps[1].URL, path); first.State == "HIT" {
			return errors.New("still a HIT")
		}
		return nil
	})
	html.check(t, first, "first GET on r2 after the revalidate time", "Sixth post", "STALE")
	if strings.Contains(first.Body, "Sixth post, edited") {
		t.Fatalf("the STALE answer already has the edit: the visitor waited for the render")
	}
	s.serveAll(t, nextRevalidate/2, s.reps, reqs, "Sixth post, edited")
	if got := s.next.renders(t, "posts", "6") - before; got != 1 {
		t.Errorf("time-based regeneration of %s: %d Next renders, want exactly 1", path, got)
	}
}

// testAssets: /_next/static/ files pass through isrcache (BYPASS) byte for
// byte, with Next's headers; /_next/image bypasses the cache too.
func (s *nextStack) testAssets(t *testing.T) {
	home := mustGet(t, s.c.client, s.next.URL+"/")
	assets := regexp.MustCompile(`/_next/static/[^"?]+\.(?:js|css)`).FindAllString(home.Body, -1)
	if len(assets) == 0 {
		t.Fatalf("the home page names no /_next/static asset: %q", head(home.Body))
	}
	for _, asset := range assets[:min(3, len(assets))] {
		file, err := os.ReadFile(filepath.Join(s.next.Dir, ".next", "static", asset[len("/_next/static/"):]))
		if err != nil {
			t.Fatal(err)
		}
		for _, enc := range []string{"identity", "gzip"} {
			direct := mustDo(t, s.c.client, http.MethodGet, s.next.URL+asset, "", "Accept-Encoding", enc)
			a := mustDo(t, s.c.client, http.MethodGet, s.reps[0].URL+asset, "", "Accept-Encoding", enc)
			switch {
			case a.Status != http.StatusOK || a.State != "BYPASS":
				t.Errorf("GET %s (%s) = %d %q, want 200 BYPASS", asset, enc, a.Status, a.State)
			case a.Body != direct.Body:
				t.Errorf("GET %s (%s): %d bytes through isrcache, %d from Next: not the same bytes", asset, enc, len(a.Body), len(direct.Body))
			case enc == "identity" && a.Body != string(file):
				t.Errorf("GET %s: the body is not the file in .next/static", asset)
			}
			for _, h := range []string{"Content-Type", "Content-Encoding", "Cache-Control", "ETag"} {
				if got, want := a.Header.Get(h), direct.Header.Get(h); got != want {
					t.Errorf("GET %s (%s): %s %q through isrcache, %q from Next", asset, enc, h, got, want)
				}
			}
		}
	}
	const image = "/_next/image?url=%2Fmissing.png&w=64&q=75"
	direct := mustDo(t, s.c.client, http.MethodGet, s.next.URL+image, "")
	if a := mustDo(t, s.c.client, http.MethodGet, s.reps[0].URL+image, ""); a.State != "BYPASS" || a.Status != direct.Status {
		t.Errorf("GET %s = %d %q, want Next's %d and BYPASS", image, a.Status, a.State, direct.Status)
	}
}

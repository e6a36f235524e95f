package isr_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/isrcache/isrcache/pkg/isr"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// nextVary is the Vary header of every App Router page of Next.js 15/16.
const nextVary = "rsc, next-router-state-tree, next-router-prefetch, next-router-segment-prefetch, Accept-Encoding"

// nextOrigin behaves as `next start` does for ISR pages, for the engine's
// unit tests (the integration tests run a real Next.js app): it keeps its
// own cache of each page, renders anew only on a miss or when asked with
// the preview id, answers RSC requests with an RSC payload and data routes
// with JSON, and says where each answer came from in x-nextjs-cache.
type nextOrigin struct {
	previewID string

	mu        sync.Mutex
	version   map[string]int    // page → content version (the "CMS")
	cached    map[string]int    // page → version in Next's own cache
	stale     map[string]bool   // page → Next reports its copy STALE
	renders   map[string]int    // page → renders
	requests  []*http.Request   // every request seen
	override  map[string]string // page → Content-Type forced on RSC answers
	intercept map[string]bool   // pages an interception route can match
}

func newNextOrigin(previewID string) *nextOrigin {
	return &nextOrigin{previewID: previewID, version: map[string]int{}, cached: map[string]int{},
		stale: map[string]bool{}, renders: map[string]int{}, override: map[string]string{}, intercept: map[string]bool{}}
}

func (o *nextOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.requests = append(o.requests, r.Clone(context.Background()))
	if strings.HasPrefix(r.URL.Path, "/_next/static/") {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Header().Set("Content-Type", "application/javascript")
		fmt.Fprint(w, "console.log('chunk')\n")
		return
	}
	page, kind := r.URL.Path, "html"
	if rest, ok := strings.CutPrefix(page, "/_next/data/"); ok {
		_, p, _ := strings.Cut(rest, "/")
		page, kind = "/"+strings.TrimSuffix(p, ".json"), "data"
	} else if r.Header.Get("RSC") == "1" {
		kind = "rsc"
	}
	state := "HIT"
	_, ok := o.cached[page]
	switch {
	case o.previewID != "" && r.Header.Get("X-Prerender-Revalidate") == o.previewID:
		state = "REVALIDATED"
	case !ok:
		state = "MISS"
	case o.stale[page]:
		state = "STALE"
	}
	if state != "HIT" && state != "STALE" {
		o.renders[page]++
		o.cached[page] = o.version[page]
		o.stale[page] = false
	}
	v := o.cached[page]
	h := w.Header()
	h.Set("X-Nextjs-Cache", state)
	h.Set("Cache-Control", "s-maxage=60, stale-while-revalidate=31535940")
	h.Set("Vary", nextVary)
	from := ""
	if o.intercept[page] {
		h.Set("Vary", nextVary+", Next-Url")
		from = " from=" + r.Header.Get("Next-Url")
	}
	h.Set("X-Nextjs-Stale-Time", "300")
	switch kind {
	case "rsc":
		h.Set("Content-Type", "text/x-component")
		if ct := o.override[page]; ct != "" {
			h.Set("Content-Type", ct)
		}
		fmt.Fprintf(w, "0:rsc %s v%d prefetch=%s%s", page, v, r.Header.Get("Next-Router-Prefetch"), from)
	case "data":
		h.Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"pageProps":{"page":%q,"v":%d}}`, page, v)
	default:
		h.Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<html>%s v%d</html>", page, v)
	}
}

func (o *nextOrigin) set(page string, version int, stale bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.version[page], o.stale[page] = version, stale
}

func (o *nextOrigin) rendersOf(page string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.renders[page]
}

// seen returns the requests the origin got for path (its URL path).
func (o *nextOrigin) seen(path string) []*http.Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []*http.Request
	for _, r := range o.requests {
		if r.URL.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// newNextRig is a replica on the in-memory store in front of o.
func newNextRig(t *testing.T, o *nextOrigin, opts isr.Options) *rig {
	t.Helper()
	return newRigFor(t, o, opts)
}

var (
	rscNav      = []string{"RSC", "1", "Next-Router-State-Tree", "%5B%22%22%5D", "Next-Url", "/"}
	rscPrefetch = []string{"RSC", "1", "Next-Router-Prefetch", "1", "Next-Url", "/"}
)

// withRSC returns path with the _rsc value Next's client computes for the
// request headers hdr (name, value pairs), as a browser sends it.
func withRSC(path string, hdr ...string) string {
	h := http.Header{}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "_rsc=" + isr.RSCParam(h)
}

// getRSC is r.get of path with the right _rsc for hdr.
func getRSC(t *testing.T, r *rig, path string, hdr ...string) answer {
	t.Helper()
	return r.get(t, withRSC(path, hdr...), hdr...)
}

func wantBody(t *testing.T, a answer, state, contentType, body string) {
	t.Helper()
	wantState(t, a, state)
	if a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), contentType) || a.body != body {
		t.Fatalf("%s answer: %d %q %q, want 200 %q %q", state, a.status, a.header.Get("Content-Type"), a.body, contentType, body)
	}
}

func TestNextVariantsStoredApart(t *testing.T) {
	t.Parallel()
	o := newNextOrigin("")
	r := newNextRig(t, o, isr.Options{})
	html, rsc, pre := "<html>/posts/1 v0</html>", "0:rsc /posts/1 v0 prefetch=", "0:rsc /posts/1 v0 prefetch=1"
	for _, state := range []string{"MISS", "HIT"} {
		wantBody(t, r.get(t, "/posts/1"), state, "text/html", html)
		wantBody(t, getRSC(t, r, "/posts/1", rscNav...), state, "text/x-component", rsc)
		wantBody(t, getRSC(t, r, "/posts/1", rscPrefetch...), state, "text/x-component", pre)
	}
	// A page request never gets the RSC payload, whatever else it carries.
	wantBody(t, r.get(t, "/posts/1?_rsc=nav1", "Next-Url", "/"), "HIT", "text/html", html)
	hit := getRSC(t, r, "/posts/1", rscNav...)
	if v := hit.header.Get("Vary"); v != nextVary {
		t.Errorf("served Vary = %q, want Next's %q", v, nextVary)
	}
	if st := hit.header.Get("X-Nextjs-Stale-Time"); st != "300" {
		t.Errorf("served X-Nextjs-Stale-Time = %q, want Next's 300 (its client router reads it)", st)
	}
	if c := hit.header.Get("X-Nextjs-Cache"); c != "" {
		t.Errorf("served X-Nextjs-Cache = %q: Next's own cache state is not the page's", c)
	}
	seen := o.seen("/posts/1")
	if len(seen) != 3 {
		t.Fatalf("origin got %d requests for /posts/1, want 3 (one per variant)", len(seen))
	}
	nav := seen[1]
	wantRSC := isr.RSCParam(http.Header{"Next-Router-State-Tree": {"%5B%22%22%5D"}}) // without the visitor's Next-Url
	if nav.URL.Query().Get("_rsc") != wantRSC || nav.Header.Get("RSC") != "1" || nav.Header.Get("Next-Router-State-Tree") != "%5B%22%22%5D" ||
		nav.Header.Get("Next-Url") != "" {
		t.Errorf("the navigation reached the origin as %s %v, want its router headers, no Next-Url and the _rsc Next expects", nav.URL, nav.Header)
	}
	if seen[0].Header.Get("RSC") != "" || seen[0].URL.RawQuery != "" {
		t.Errorf("the page request reached the origin as %s %v, want no variant", seen[0].URL, seen[0].Header)
	}
}

func TestNextRevalidateRendersOnceForAllVariants(t *testing.T) {
	t.Parallel()
	o := newNextOrigin("preview-id-secret")
	r := newNextRig(t, o, isr.Options{NextPreviewID: func() string { return "preview-id-secret" }})
	r.get(t, "/posts/1")
	getRSC(t, r, "/posts/1", rscNav...)
	r.get(t, "/_next/data/b1/posts/1.json", "X-Nextjs-Data", "1")
	if n := o.rendersOf("/posts/1"); n != 1 {
		t.Fatalf("Next rendered /posts/1 %d times for three variants, want 1", n)
	}
	o.set("/posts/1", 2, false) // the CMS edit; Next's cache still has v0
	res, err := r.h.Revalidate(t.Context(), isr.Revalidation{Paths: []string{"/posts/1"}})
	if err != nil || len(res) != 1 || res[0].Result != isr.ResultRegenerated {
		t.Fatalf("Revalidate = %+v, %v", res, err)
	}
	if n := o.rendersOf("/posts/1"); n != 2 {
		t.Fatalf("Next rendered %d times after one revalidation, want 2 (one more)", n)
	}
	wantBody(t, r.get(t, "/posts/1"), "HIT", "text/html", "<html>/posts/1 v2</html>")
	wantBody(t, getRSC(t, r, "/posts/1", rscNav...), "HIT", "text/x-component", "0:rsc /posts/1 v2 prefetch=")
	wantBody(t, r.get(t, "/_next/data/b1/posts/1.json", "X-Nextjs-Data", "1"), "HIT", "application/json", `{"pageProps":{"page":"/posts/1","v":2}}`)
	withID := 0
	for _, req := range append(o.seen("/posts/1"), o.seen("/_next/data/b1/posts/1.json")...) {
		if req.Header.Get("X-Prerender-Revalidate") != "" {
			withID++
		}
	}
	if withID != 1 {
		t.Errorf("%d origin requests carried x-prerender-revalidate, want 1", withID)
	}
	// Revalidating the data route's path revalidates its page.
	if res, err := r.h.Revalidate(t.Context(), isr.Revalidation{Paths: []string{"/_next/data/b1/posts/1.json"}, Mode: isr.ModeStale}); err != nil || res[0].Key != "/posts/1" {
		t.Fatalf("Revalidate(data route) = %+v, %v; want the page /posts/1", res, err)
	}
	wantState(t, r.get(t, "/_next/data/b1/posts/1.json", "X-Nextjs-Data", "1"), "STALE")
}

func TestNextStaleCopyNotStoredFresh(t *testing.T) {
	t.Parallel()
	o := newNextOrigin("")
	core, logs := observer.New(zap.WarnLevel)
	r := newNextRig(t, o, isr.Options{Logger: zap.New(core)})
	r.get(t, "/posts/1")
	o.set("/posts/1", 1, true) // Next's copy went stale
	res, err := r.h.Revalidate(t.Context(), isr.Revalidation{Paths: []string{"/posts/1"}})
	if err != nil || res[0].Result != isr.ResultRegenerated {
		t.Fatalf("Revalidate = %+v, %v", res, err)
	}
	wantState(t, r.get(t, "/posts/1"), "STALE") // Next's STALE copy, stored stale
	if n := logs.FilterMessageSnippet("no preview id is set").Len(); n != 1 {
		t.Errorf("%d warnings about the missing preview id, want 1", n)
	}
}

func TestNextMismatchNotStored(t *testing.T) {
	t.Parallel()
	o := newNextOrigin("")
	o.override["/posts/1"] = "text/html; charset=utf-8"
	r := newNextRig(t, o, isr.Options{})
	for range 2 {
		a := getRSC(t, r, "/posts/1", rscNav...)
		if wantState(t, a, "MISS"); !strings.Contains(a.header.Get("Cache-Status"), "not-stored-variant-mismatch") {
			t.Fatalf("an RSC request answered with HTML: Cache-Status %q, want not stored", a.header.Get("Cache-Status"))
		}
	}
}

func TestNextAssetsPassThrough(t *testing.T) {
	t.Parallel()
	o := newNextOrigin("")
	r := newNextRig(t, o, isr.Options{})
	for range 2 {
		a := r.get(t, "/_next/static/chunks/app.js")
		wantState(t, a, "BYPASS")
		if a.body != "console.log('chunk')\n" || a.header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Fatalf("asset answer %q %v, want the origin's bytes and headers", a.body, a.header)
		}
	}
}

func TestVariantsBounded(t *testing.T) {
	t.Parallel()
	o := newNextOrigin("")
	core, logs := observer.New(zap.WarnLevel)
	r := newNextRig(t, o, isr.Options{Logger: zap.New(core)})
	for i := range isr.MaxVariants {
		seg := []string{"RSC", "1", "Next-Router-Segment-Prefetch", fmt.Sprintf("/seg%d", i)}
		wantState(t, getRSC(t, r, "/posts/1", seg...), "MISS")
	}
	for i := range 3 {
		a := getRSC(t, r, "/posts/1", "RSC", "1", "Next-Router-Segment-Prefetch", fmt.Sprintf("/one-too-many/%d", i))
		if !strings.Contains(a.header.Get("Cache-Status"), "not-stored-too-many-variants") || a.status != 200 {
			t.Fatalf("variant #%d: %d %q, want served unstored", isr.MaxVariants+1+i, a.status, a.header.Get("Cache-Status"))
		}
	}
	if n := logs.FilterMessageSnippet("too many").Len(); n != 1 {
		t.Errorf("%d warnings for 3 refused variants within a minute, want 1", n)
	}
}

func TestNextWrongPreviewIDWarnsAndIsNeverLogged(t *testing.T) {
	t.Parallel()
	o := newNextOrigin("the-current-id")
	core, logs := observer.New(zap.DebugLevel)
	id := "an-old-id-from-the-last-build"
	r := newNextRig(t, o, isr.Options{Logger: zap.New(core), NextPreviewID: func() string { return id }})
	r.get(t, "/posts/1")
	for range 2 {
		if _, err := r.h.Revalidate(t.Context(), isr.Revalidation{Paths: []string{"/posts/1"}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := logs.FilterMessageSnippet("did not render anew").Len(); n != 1 {
		t.Errorf("%d warnings that Next ignored the preview id, want 1", n)
	}
	for _, e := range logs.All() {
		line := e.Message + fmt.Sprint(e.ContextMap())
		if strings.Contains(line, id) {
			t.Fatalf("a log line holds the preview id: %s", line)
		}
	}
}

// TestNextPrefetchSharedAcrossReferrers: a page's prefetch is one stored
// answer, whatever page the browser is on (Next-Url, and so _rsc, differ).
func TestNextPrefetchSharedAcrossReferrers(t *testing.T) {
	t.Parallel()
	o := newNextOrigin("")
	r := newNextRig(t, o, isr.Options{})
	prefetch := func(from string) []string {
		return []string{"RSC", "1", "Next-Router-Prefetch", "1", "Next-Router-Segment-Prefetch", "/_tree", "Next-Url", from}
	}
	wantState(t, getRSC(t, r, "/posts/1", prefetch("/")...), "MISS")
	for i := range 50 {
		wantState(t, getRSC(t, r, "/posts/1", prefetch(fmt.Sprintf("/posts/%d", i))...), "HIT")
	}
	if n := len(o.seen("/posts/1")); n != 1 {
		t.Errorf("the origin got %d prefetches of /posts/1 from 51 pages, want 1", n)
	}
}

// TestNextWrongRSCParamGoesToOrigin: an RSC request whose _rsc Next would
// redirect is passed to Next as sent, never answered from the cache.
func TestNextWrongRSCParamGoesToOrigin(t *testing.T) {
	t.Parallel()
	o := newNextOrigin("")
	r := newNextRig(t, o, isr.Options{})
	getRSC(t, r, "/posts/1", rscPrefetch...) // stored
	a := r.get(t, "/posts/1?_rsc=forged", rscPrefetch...)
	if wantState(t, a, "BYPASS"); !strings.Contains(a.header.Get("Cache-Status"), "detail=rsc-param") {
		t.Errorf("Cache-Status %q, want detail=rsc-param", a.header.Get("Cache-Status"))
	}
	seen := o.seen("/posts/1")
	if last := seen[len(seen)-1]; last.URL.Query().Get("_rsc") != "forged" || last.Header.Get("Next-Url") != "/" {
		t.Errorf("the origin got %s %v, want the visitor's request as sent", last.URL, last.Header)
	}
}

// TestNextInterceptedPageNotShared: an answer that varies on Next-Url (a
// page an interception route can match) is never stored, and each visitor
// gets the answer for the page it is on.
func TestNextInterceptedPageNotShared(t *testing.T) {
	t.Parallel()
	o := newNextOrigin("")
	o.intercept["/photo/1"] = true
	r := newNextRig(t, o, isr.Options{})
	for _, from := range []string{"/", "/feed", "/"} {
		a := getRSC(t, r, "/photo/1", "RSC", "1", "Next-Router-State-Tree", "%5B%22%22%5D", "Next-Url", from)
		if a.header.Get("X-ISR-Cache") == "HIT" || !strings.HasSuffix(a.body, "from="+from) {
			t.Fatalf("from %s: %s %q, want the answer for %s, not stored", from, a.header.Get("X-ISR-Cache"), a.body, from)
		}
	}
}

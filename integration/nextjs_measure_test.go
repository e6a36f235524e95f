//go:build nextmeasure

package integration

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestNextjsMeasure measures, on the Next.js stack of the integration tests
// (examples/nextjs under next start, three replica processes, redis-server):
//
//   - Next renders per 100 on-demand revalidations, of App Router pages with
//     four stored variants each and of a Pages Router page with its data
//     route;
//   - the HIT ratio of navigation-heavy traffic, HTML and RSC counted
//     apart: a scripted replay of what Chromium asks for when people browse
//     the example (document loads, segment prefetches, navigation requests),
//     with CMS edits and revalidations going on, and a real headless
//     chromium clicking through the site;
//   - the HIT ratio of the prefetches of a page linked from 100 pages.
//
// It is not part of make test (build tag nextmeasure):
//
//	go test -tags nextmeasure -run TestNextjsMeasure -v -timeout 20m ./integration/
func TestNextjsMeasure(t *testing.T) {
	s := newNextStack(t, buildNextApp(t), buildBinary(t))
	t.Run("renders per 100 revalidations", s.measureRevalidations)
	t.Run("scripted navigation", s.measureScripted)
	t.Run("browser navigation", s.measureBrowser)
	t.Run("prefetch fan-out", s.measureFanOut)
}

// measureFanOut counts the HIT ratio of the prefetches of one page linked
// from many: the home page's two segment prefetches as browsers on 100
// different pages send them (Next-Url is the page they are on, and _rsc
// depends on it), 20 rounds over the three replicas. Each referring page
// makes variants of its own; a page keeps at most isr.MaxVariants.
func (s *nextStack) measureFanOut(t *testing.T) {
	const pages, rounds = 100, 20
	var ty stateTally
	for round := range rounds {
		for n := range pages {
			for _, segment := range []string{"/_tree", "/__PAGE__"} {
				v := nextVariant{Name: "prefetch", ContentType: "text/x-component", Header: []string{"RSC", "1",
					"Next-Router-Prefetch", "1", "Next-Router-Segment-Prefetch", segment, "Next-Url", fmt.Sprintf("/posts/%d", n+1)}}
				a, err := do(t.Context(), s.c.client, http.MethodGet, v.URL(s.reps[(round+n)%3].URL, "/"), "", v.Header...)
				if err != nil || a.Status != http.StatusOK {
					t.Fatalf("prefetch of / from /posts/%d: %v %v", n+1, err, a)
				}
				ty.add("RSC", a.State)
			}
		}
	}
	t.Logf("prefetch fan-out: the home page prefetched from %d pages, %d rounds", pages, rounds)
	ty.report(t, "prefetch fan-out")
}

// measureRevalidations revalidates 100 times, round robin over /posts/1,
// /posts/2, /posts/3 and /legacy/1 and over the replicas, each after a CMS
// edit, and counts Next's renders of those pages.
func (s *nextStack) measureRevalidations(t *testing.T) {
	type page struct {
		kind, id, path string
		reqs           []pageReq
	}
	var pages []page
	for _, id := range []string{"1", "2", "3"} {
		path := "/posts/" + id
		pages = append(pages, page{"posts", id, path, []pageReq{{path, htmlVariant()}, {path, rscNavVariant(id)},
			{path, prefetchVariant("/_tree")}, {path, prefetchVariant("/posts/$d$id/__PAGE__")}}})
	}
	pages = append(pages, page{"legacy", "1", "/legacy/1", []pageReq{{"/legacy/1", htmlVariant()},
		{s.next.dataPath("/legacy/1"), nextVariant{Name: "data route", ContentType: "application/json"}}}})
	for _, p := range pages {
		for _, r := range s.reps {
			for _, q := range p.reqs {
				q.v.get(t, s.c.client, r.URL, q.path) // store every variant
			}
		}
	}
	rendersOf := func(kind string) int {
		n := 0
		for _, p := range pages {
			if p.kind == kind {
				n += s.next.renders(t, p.kind, p.id)
			}
		}
		return n
	}
	beforePosts, beforeLegacy := rendersOf("posts"), rendersOf("legacy")
	revalidations := map[string]int{}
	start := time.Now()
	for i := range 100 {
		p := pages[i%len(pages)]
		title := fmt.Sprintf("%s %s revision %d", p.kind, p.id, i)
		s.next.setPost(t, p.id, title, "Revision "+fmt.Sprint(i))
		s.c.revalidateOK(t, s.reps[i%3].URL, "", `{"paths":["`+p.path+`"]}`)
		revalidations[p.kind]++
		// The next replica serves the revision in every variant but the
		// route tree (which has no title).
		var check []pageReq
		for _, q := range p.reqs {
			if !strings.Contains(q.v.Name, "_tree") {
				check = append(check, q)
			}
		}
		s.serveAll(t, nextRevalidate/2, []*process{s.reps[(i+1)%3]}, check, title)
	}
	took := time.Since(start)
	posts, legacy := rendersOf("posts")-beforePosts, rendersOf("legacy")-beforeLegacy
	t.Logf("100 revalidations in %v: %d Next renders (%d for %d revalidations of App Router pages with 4 variants each, %d for %d of a Pages Router page with its data route)",
		took.Round(time.Millisecond), posts+legacy, posts, revalidations["posts"], legacy, revalidations["legacy"])
}

// stateTally counts X-ISR-Cache states per class of request; goroutine-safe.
type stateTally struct {
	mu sync.Mutex
	n  map[string]map[string]int // class -> state -> count
}

func (ty *stateTally) add(class, state string) {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	if ty.n == nil {
		ty.n = map[string]map[string]int{}
	}
	if ty.n[class] == nil {
		ty.n[class] = map[string]int{}
	}
	if state == "" {
		state = "(none)"
	}
	ty.n[class][state]++
}

// report logs each class's total, its states and its HIT ratio.
func (ty *stateTally) report(t *testing.T, what string) {
	t.Helper()
	ty.mu.Lock()
	defer ty.mu.Unlock()
	classes := make([]string, 0, len(ty.n))
	for c := range ty.n {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	for _, c := range classes {
		total, parts := 0, []string{}
		for _, st := range []string{"HIT", "STALE", "MISS", "BYPASS", "(none)"} {
			if n := ty.n[c][st]; n > 0 {
				total += n
				parts = append(parts, fmt.Sprintf("%s %d", st, n))
			}
		}
		t.Logf("%s, %s: %d requests, HIT ratio %.1f%% (%s)", what, c, total, 100*float64(ty.n[c]["HIT"])/float64(total), strings.Join(parts, ", "))
	}
}

// measureScripted replays, for 60 seconds with 8 concurrent visitors spread
// over the replicas, what Chromium sends when someone browses the example:
// a document (the home page, or a post when they land on it), the segment
// prefetches of the links in view (route tree and page segment, with
// Next-Url of the page they are on), and a navigation request for the link
// that is not prefetched. Every 5 seconds a post is edited and revalidated.
// The pages' revalidate time is Next's 10 seconds, so time-based
// regenerations happen too.
func (s *nextStack) measureScripted(t *testing.T) {
	const visitors, duration = 8, 60 * time.Second
	var ty stateTally
	get := func(base, path, class string, v nextVariant) {
		a, err := do(t.Context(), s.c.client, http.MethodGet, v.URL(base, path), "", v.Header...)
		if err != nil || a.Status != http.StatusOK {
			ty.add(class, fmt.Sprintf("error %v %d", err, a.Status))
			return
		}
		ty.add(class, a.State)
	}
	from := func(nextURL, segment string) nextVariant {
		return nextVariant{Name: "prefetch", ContentType: "text/x-component",
			Header: []string{"RSC", "1", "Next-Router-Prefetch", "1", "Next-Router-Segment-Prefetch", segment, "Next-Url", nextURL}}
	}
	visit := func(rnd *rand.Rand) {
		base := s.reps[rnd.IntN(len(s.reps))].URL
		if rnd.IntN(4) == 0 { // lands on a post, then goes home
			id := fmt.Sprint(1 + rnd.IntN(3))
			get(base, "/posts/"+id, "HTML", htmlVariant())
			get(base, "/", "RSC", from("/posts/"+id, "/_tree"))
			get(base, "/", "RSC", from("/posts/"+id, "/__PAGE__"))
		}
		get(base, "/", "HTML", htmlVariant())
		for _, id := range []string{"1", "2"} { // the prefetched links
			get(base, "/posts/"+id, "RSC", prefetchVariant("/_tree"))
			get(base, "/posts/"+id, "RSC", prefetchVariant("/posts/$d$id/__PAGE__"))
		}
		if rnd.IntN(2) == 0 {
			get(base, "/posts/3", "RSC", rscNavVariant("3")) // the link without prefetch
		} else { // a click on a prefetched post: no request, then the home link's prefetch
			id := fmt.Sprint(1 + rnd.IntN(2))
			get(base, "/", "RSC", from("/posts/"+id, "/_tree"))
			get(base, "/", "RSC", from("/posts/"+id, "/__PAGE__"))
		}
	}
	renders := func() int {
		n := 0
		for _, id := range []string{"1", "2", "3"} {
			n += s.next.renders(t, "posts", id)
		}
		return n
	}
	before := renders()
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	for i := range visitors {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(i), 42))
			for time.Now().Before(deadline) {
				visit(rnd)
			}
		})
	}
	edits := 0
	for time.Now().Add(5 * time.Second).Before(deadline) {
		time.Sleep(5 * time.Second)
		id := fmt.Sprint(1 + edits%3)
		s.next.setPost(t, id, fmt.Sprintf("Post %s, edit %d", id, edits), "Edited.")
		s.c.revalidateOK(t, s.reps[edits%3].URL, "", `{"paths":["/posts/`+id+`"]}`)
		edits++
	}
	wg.Wait()
	t.Logf("scripted navigation: %d visitors for %v, %d edits and revalidations; %d Next renders of /posts/1..3 (at most %d time-based periods of 10s plus %d revalidations)",
		visitors, duration, edits, renders()-before, 3*int(duration/nextRevalidate), edits)
	ty.report(t, "scripted navigation")
}

// measureBrowser clicks through the example in a real headless chromium for
// 30 rounds: a fresh load of "/" on one replica in turn, a click on a
// prefetched post, back home, a click on the post that is not prefetched,
// back home; every 10 rounds a post is edited and revalidated. It counts
// the documents (HTML) and the RSC requests by X-ISR-Cache.
func (s *nextStack) measureBrowser(t *testing.T) {
	ctx, log := newBrowser(t)
	do := func(actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatal(err)
		}
	}
	const rounds = 30
	for i := range rounds {
		base := s.reps[i%3].URL
		post := fmt.Sprint(1 + i%2)
		do(chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("link-post-"+post)), chromedp.Sleep(300*time.Millisecond),
			chromedp.Click(chromedp.ID("link-post-"+post)), chromedp.WaitVisible(chromedp.ID("title")),
			chromedp.Click(chromedp.ID("home")), chromedp.WaitVisible(chromedp.ID("link-post-3")),
			chromedp.Click(chromedp.ID("link-post-3")), chromedp.WaitVisible(chromedp.ID("title")),
			chromedp.Click(chromedp.ID("home")), chromedp.WaitVisible(chromedp.ID("link-post-1")), chromedp.Sleep(300*time.Millisecond))
		if i%10 == 9 {
			s.next.setPost(t, post, fmt.Sprintf("Post %s, browser edit %d", post, i), "Edited.")
			s.c.revalidateOK(t, s.reps[(i+1)%3].URL, "", `{"paths":["/posts/`+post+`"]}`)
		}
	}
	var ty stateTally
	resp, _ := log.since(0)
	for _, r := range resp {
		switch {
		case r.Type == "Document":
			ty.add("HTML (documents)", r.ISRCache)
		case strings.Contains(r.URL, "_rsc"):
			ty.add("RSC", r.ISRCache)
		}
	}
	t.Logf("browser navigation: %d rounds", rounds)
	ty.report(t, "browser navigation")
}

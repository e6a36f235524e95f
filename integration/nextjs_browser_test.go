package integration

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// browserTimeout bounds the whole browser subtest (the browser is killed
// when it passes); it normally takes a few seconds.
const browserTimeout = 2 * time.Minute

// A browserResponse is one answer the browser received, as the DevTools
// protocol reports it.
type browserResponse struct {
	URL, Type, MimeType string
	Status              int64
	ISRCache            string // X-ISR-Cache; empty if isrcache did not answer
}

// browserLog collects the browser's responses; it is goroutine-safe.
type browserLog struct {
	mu   sync.Mutex
	resp []browserResponse
}

// listen is a chromedp listener: it must return fast and run no command.
func (l *browserLog) listen(ev any) {
	e, ok := ev.(*network.EventResponseReceived)
	if !ok || e.Response == nil {
		return
	}
	r := browserResponse{URL: e.Response.URL, Type: string(e.Type), MimeType: e.Response.MimeType, Status: e.Response.Status}
	for k, v := range e.Response.Headers {
		if strings.EqualFold(k, "X-ISR-Cache") {
			r.ISRCache = fmt.Sprint(v)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.resp = append(l.resp, r)
}

// since returns the responses after the first n, and how many there are.
func (l *browserLog) since(n int) ([]browserResponse, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]browserResponse(nil), l.resp[n:]...), len(l.resp)
}

// newBrowser starts Debian's headless chromium with a fresh profile,
// driven by chromedp, whose responses are recorded in the returned log. It
// is killed at the end of the test. A missing chromium fails the test.
func newBrowser(t *testing.T) (context.Context, *browserLog) {
	t.Helper()
	var bin string
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Fatal("chromium is not on PATH: the browser test needs it (.ci/run installs it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], // --headless --no-first-run --disable-background-networking --disable-sync ...
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true))
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	log := &browserLog{}
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithListener(log.listen))
	t.Cleanup(bcancel)
	return bctx, log
}

// testBrowser: a real browser opens "/" through isrcache and clicks the
// <Link>s to posts. The navigations stay client-side (a value set on window
// before the click survives, no document is loaded) and show the post; the
// RSC requests behind them (segment prefetches of the links in view, the
// navigation request of a link that is not prefetched) went through
// isrcache and got RSC payloads. A Pages Router page's <Link> navigates
// client-side too, with the data route of the next page from isrcache. After a CMS edit and a revalidation on
// another replica, the next navigation, from a fresh load of "/", shows
// the new content.
func (s *nextStack) testBrowser(t *testing.T) {
	ctx, log := newBrowser(t)
	base := s.reps[0].URL
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("browser: %s: %v", what, err)
		}
	}
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("browser: evaluate %s: %v", js, err)
		}
		return v
	}
	// clickTo clicks link, waits for the post titled want, and checks the
	// navigation stayed in the document.
	clickTo := func(link, path, want string) []browserResponse {
		t.Helper()
		_, mark := log.since(0)
		marker := fmt.Sprintf("before %s #%d", link, mark)
		eval(`window.__marker = ` + fmt.Sprintf("%q", marker) + `; ""`)
		step("click "+link, chromedp.Click(chromedp.ID(link)))
		eventually(t, "the browser shows "+want, func() error {
			got := eval(`document.querySelector("#title")?.textContent ?? ""`)
			if loc := eval(`location.pathname`); loc != path || got != want {
				return fmt.Errorf("at %s, title %q; want %s with %q", loc, got, path, want)
			}
			return nil
		})
		if got := eval(`String(window.__marker)`); got != marker {
			t.Errorf("click %s: window.__marker = %q after the navigation, want %q: the document was reloaded", link, got, marker)
		}
		resp, _ := log.since(mark)
		for _, r := range resp {
			if r.Type == string(network.ResourceTypeDocument) {
				t.Errorf("click %s loaded a document (%s): not a client-side navigation", link, r.URL)
			}
		}
		return resp
	}
	// throughCache fails the test unless resp has an answer whose URL
	// starts with want, and every answer whose URL has kind ("_rsc" for
	// RSC requests, "/_next/data/" for data routes) came from isrcache as
	// a 200 of media type mime.
	throughCache := func(what, kind, mime, want string, resp []browserResponse) {
		t.Helper()
		seen := false
		for _, r := range resp {
			if !strings.Contains(r.URL, kind) {
				continue
			}
			seen = seen || strings.HasPrefix(r.URL, want)
			if r.Status != 200 || r.MimeType != mime || r.ISRCache == "" {
				t.Errorf("%s: %s answered %d %s, X-ISR-Cache %q; want 200 %s through isrcache", what, r.URL, r.Status, r.MimeType, r.ISRCache, mime)
			}
		}
		if !seen {
			t.Errorf("%s: no request for %s went through isrcache (responses: %+v)", what, want, resp)
		}
	}
	const rsc, rscType = "_rsc", "text/x-component"

	// Next's own copies are fresh: only a regeneration that makes Next
	// render anew can bring the edit below within nextRevalidate/2.
	s.next.refresh(t, s.c.client, "/posts/1")
	step("open /", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("link-post-1")))
	eventually(t, "the browser prefetched /posts/1 through isrcache", func() error {
		resp, _ := log.since(0)
		for _, r := range resp {
			if strings.HasPrefix(r.URL, base+"/posts/1?_rsc=") && r.Status == 200 {
				return nil
			}
		}
		return errors.New("no prefetch answer for /posts/1 yet")
	})
	loaded, _ := log.since(0)
	throughCache("opening /", rsc, rscType, base+"/posts/1?", loaded)
	clickTo("link-post-1", "/posts/1", "First post")
	step("back home", chromedp.Click(chromedp.ID("home")), chromedp.WaitVisible(chromedp.ID("link-post-3")))
	throughCache("clicking the link that is not prefetched", rsc, rscType, base+"/posts/3?", clickTo("link-post-3", "/posts/3", "Third post"))

	// The Pages Router navigates client-side with the next page's data route.
	_, opened := log.since(0)
	step("open /legacy/3", chromedp.Navigate(base+"/legacy/3"), chromedp.WaitVisible(chromedp.ID("link-legacy-next")))
	clickTo("link-legacy-next", "/legacy/4", "Fourth post")
	legacy, _ := log.since(opened)
	throughCache("clicking a Pages Router link", "/_next/data/", "application/json", base+s.next.dataPath("/legacy/4"), legacy)

	s.next.setPost(t, "1", "First post, edited", "Edited in the CMS.")
	s.c.revalidateOK(t, s.reps[1].URL, "", `{"paths":["/posts/1"]}`)
	prefetch := prefetchVariant("/posts/$d$id/__PAGE__") // as the browser asks for it from "/"
	within(t, nextRevalidate/2, "r1 serves the edit to the browser's prefetch", func() error {
		return prefetch.match(prefetch.get(t, s.c.client, base, "/posts/1"), "First post, edited", "")
	})
	step("reload /", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("link-post-1")))
	clickTo("link-post-1", "/posts/1", "First post, edited")
}

package isr_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrtest"
)

func TestRegenerationSwapsInNewPage(t *testing.T) {
	t.Parallel()
	r := newRig(t, isr.Options{Revalidate: 200 * time.Millisecond, L1MaxAge: 20 * time.Millisecond, Go: inline})
	r.get(t, "/p")
	r.origin.SetVersion("/p", 2)
	r.clock.Advance(250 * time.Millisecond)
	wantState(t, r.get(t, "/p"), "STALE")
	if a := r.get(t, "/p"); a.header.Get("X-ISR-Cache") != "HIT" || a.body != "/p v2 render #2" {
		t.Fatalf("after the regeneration: %s %q, want HIT of the new page", a.header.Get("X-ISR-Cache"), a.body)
	}
}

func TestFailedRegenerationKeepsPage(t *testing.T) {
	t.Parallel()
	for _, f := range []isrtest.Failure{isrtest.FailError, isrtest.FailTruncate} {
		r := newRig(t, isr.Options{Revalidate: 100 * time.Millisecond, L1MaxAge: 20 * time.Millisecond,
			FailureBackoff: time.Hour, Go: inline})
		good := r.get(t, "/p")
		r.origin.SetFailure("/p", f)
		r.clock.Advance(150 * time.Millisecond)
		for i := 0; i < 20; i++ {
			a := r.get(t, "/p")
			wantState(t, a, "STALE")
			if a.status != 200 || a.body != good.body {
				t.Fatalf("failure %d: answer %d %q, want the old page", f, a.status, a.body)
			}
			r.clock.Advance(time.Minute) // within the backoff
		}
		if got := r.origin.Renders("/p"); got != 2 {
			t.Fatalf("failure %d: %d renders; the key should back off after one failure", f, got)
		}
	}
}

func TestWhatIsNeverStored(t *testing.T) {
	t.Parallel()
	r := newRig(t, isr.Options{})
	for _, tc := range []struct {
		path, header, value string
		status              int
	}{
		{"/cookie", "Set-Cookie", "sid=1", 0},
		{"/private", "Cache-Control", "private, max-age=60", 0},
		{"/nostore", "Cache-Control", "no-store", 0},
		{"/error", "", "", 500},
		{"/found", "Location", "/x", 302},
		{"/nocontent", "", "", 204},
		{"/forbidden", "", "", 403},
		{"/vary", "Vary", "Cookie", 0},
	} {
		if tc.header != "" {
			r.origin.SetHeader(tc.path, tc.header, tc.value)
		}
		r.origin.SetStatus(tc.path, tc.status)
		a := r.get(t, tc.path)
		b := r.get(t, tc.path)
		if b.header.Get("X-ISR-Cache") == "HIT" || r.origin.Renders(tc.path) != 2 {
			t.Errorf("%s: second answer %s after %d renders; want it not stored", tc.path, b.header.Get("X-ISR-Cache"), r.origin.Renders(tc.path))
		}
		if tc.header == "Set-Cookie" && a.header.Get("Set-Cookie") == "" {
			t.Errorf("%s: the visitor lost its own Set-Cookie", tc.path)
		}
	}
	for _, p := range []string{"/gone-404", "/moved"} {
		if p == "/moved" {
			r.origin.SetStatus(p, 301)
			r.origin.SetHeader(p, "Location", "/elsewhere")
		} else {
			r.origin.SetStatus(p, 404)
		}
		r.get(t, p)
		if b := r.get(t, p); b.header.Get("X-ISR-Cache") != "HIT" {
			t.Errorf("%s: second answer %s, want HIT", p, b.header.Get("X-ISR-Cache"))
		}
	}
}

func TestBypass(t *testing.T) {
	t.Parallel()
	r := newRig(t, isr.Options{})
	for i, hdr := range [][]string{{"Authorization", "Bearer x"}, {"Cookie", "s=victim"}, {"Range", "bytes=0-3"}} {
		a := r.get(t, "/account", hdr...)
		wantState(t, a, "BYPASS")
		if got := r.origin.LastHeaders("/account").Get(hdr[0]); got != hdr[1] {
			t.Errorf("passed-through %s = %q, want %q", hdr[0], got, hdr[1])
		}
		if r.origin.Renders("/account") != i+1 {
			t.Fatalf("renders %d", r.origin.Renders("/account"))
		}
	}
	wantState(t, r.do(t, http.MethodPost, "/form"), "BYPASS")
	// The anonymous visitor never gets the victim's answer.
	if a := r.get(t, "/account"); a.header.Get("X-ISR-Cache") != "MISS" {
		t.Fatalf("anonymous visit after bypasses: %s", a.header.Get("X-ISR-Cache"))
	}
}

func TestOriginSeesOnlyTheKey(t *testing.T) {
	t.Parallel()
	r := newRig(t, isr.Options{Routes: []isr.Route{{Pattern: "/list", Query: []string{"page"}}}})
	r.get(t, "/list?utm_source=x&page=2", "X-Forwarded-Host", "evil.example", "Accept-Language", "de",
		"X-Middleware-Subrequest", "1")
	got := r.origin.LastHeaders("/list")
	for _, h := range []string{"X-Forwarded-Host", "Accept-Language", "X-Middleware-Subrequest"} {
		if got.Get(h) != "" {
			t.Errorf("origin received %s: %q", h, got.Get(h))
		}
	}
	if a := r.get(t, "/list?page=2&utm_campaign=y"); a.header.Get("X-ISR-Cache") != "HIT" {
		t.Errorf("same page, other dropped params: %s, want HIT", a.header.Get("X-ISR-Cache"))
	}
	if a := r.get(t, "/list?page=3"); a.header.Get("X-ISR-Cache") != "MISS" {
		t.Errorf("other kept param: %s, want MISS", a.header.Get("X-ISR-Cache"))
	}
}

func TestRevalidateTimeOrder(t *testing.T) {
	t.Parallel()
	r := newRig(t, isr.Options{Revalidate: 45 * time.Second,
		Routes: []isr.Route{{Pattern: "/rule/{id}", Revalidate: 30 * time.Second}, {Pattern: "/never", Revalidate: isr.Never}}})
	r.origin.SetHeader("/rule/1", "Cache-Control", "s-maxage=10")
	r.origin.SetHeader("/origin", "Cache-Control", "public, s-maxage=10, stale-while-revalidate")
	for path, want := range map[string]string{
		"/rule/1": "s-maxage=30, stale-while-revalidate",
		"/origin": "s-maxage=10, stale-while-revalidate",
		"/plain":  "s-maxage=45, stale-while-revalidate",
		"/never":  "s-maxage=31536000, stale-while-revalidate",
	} {
		if got := r.get(t, path).header.Get("Cache-Control"); got != want {
			t.Errorf("%s: Cache-Control %q, want %q", path, got, want)
		}
	}
}

func TestFallbackFalse(t *testing.T) {
	t.Parallel()
	r := newRig(t, isr.Options{Routes: []isr.Route{{Pattern: "/posts/{id}", Fallback: isr.FallbackFalse, Paths: []string{"/posts/1"}}}})
	if a := r.get(t, "/posts/2"); a.status != 404 || r.origin.Total() != 0 {
		t.Fatalf("unlisted path: %d after %d origin calls", a.status, r.origin.Total())
	}
	if a := r.get(t, "/posts/1"); a.status != 200 {
		t.Fatalf("listed path: %d", a.status)
	}
}

func TestRevalidateModes(t *testing.T) {
	t.Parallel()
	r := newRig(t, isr.Options{L1MaxAge: time.Minute})
	ctx := context.Background()
	r.origin.SetHeader("/a", "Cache-Tag", "posts, post-a")
	r.get(t, "/a")
	r.get(t, "/b")
	r.origin.SetVersion("/a", 2)

	res, err := r.h.Revalidate(ctx, isr.Revalidation{Paths: []string{"/a"}})
	if err != nil || len(res) != 1 || res[0].Result != isr.ResultRegenerated {
		t.Fatalf("eager: %+v, %v", res, err)
	}
	if a := r.get(t, "/a"); a.header.Get("X-ISR-Cache") != "HIT" || a.body != "/a v2 render #2" {
		t.Fatalf("after eager revalidation: %s %q", a.header.Get("X-ISR-Cache"), a.body)
	}
	res, err = r.h.Revalidate(ctx, isr.Revalidation{Tags: []string{"post-a"}, Mode: isr.ModeStale})
	if err != nil || len(res) != 1 || res[0].Result != isr.ResultStale || res[0].Key != "/a" {
		t.Fatalf("stale by tag: %+v, %v", res, err)
	}
	wantState(t, r.get(t, "/a"), "STALE")
	res, err = r.h.Revalidate(ctx, isr.Revalidation{Paths: []string{"/b", "/never-seen"}, Mode: isr.ModeDelete})
	if err != nil || res[0].Result != isr.ResultDeleted || res[1].Result != isr.ResultNotCached {
		t.Fatalf("delete: %+v, %v", res, err)
	}
	wantState(t, r.get(t, "/b"), "MISS")
	for _, bad := range []string{"posts/1", "//evil.example/", "/%2e%2e/x", "/a\r\nb"} {
		if _, err := r.h.Revalidate(ctx, isr.Revalidation{Paths: []string{"/a", bad}}); !errors.Is(err, isr.ErrBadPath) {
			t.Errorf("Revalidate(%q) error %v, want ErrBadPath", bad, err)
		}
	}
}

func TestColdMissCoalescedInProcess(t *testing.T) {
	t.Parallel()
	r := newRig(t, isr.Options{})
	r.origin.SetDelay("/hot", 100*time.Millisecond)
	var wg sync.WaitGroup
	bodies := make([]string, 100)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := r.get(t, "/hot")
			if a.status != 200 {
				t.Errorf("status %d", a.status)
			}
			bodies[i] = a.body
		}()
	}
	wg.Wait()
	if n := r.origin.Renders("/hot"); n != 1 {
		t.Fatalf("%d renders for 100 concurrent cold visits, want 1", n)
	}
	for _, b := range bodies {
		if b != bodies[0] {
			t.Fatalf("different bodies: %q vs %q", b, bodies[0])
		}
	}
}

func TestSetCookieNeverShared(t *testing.T) {
	t.Parallel()
	r := newRig(t, isr.Options{})
	r.origin.SetHeader("/login", "Set-Cookie", "sid=leader")
	r.origin.SetDelay("/login", 50*time.Millisecond)
	var mu sync.Mutex
	withCookie := 0
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r.get(t, "/login").header.Get("Set-Cookie") != "" {
				mu.Lock()
				withCookie++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if renders := r.origin.Renders("/login"); withCookie > renders {
		t.Fatalf("%d answers carried a Set-Cookie from %d renders: a cookie was shared", withCookie, renders)
	}
}

// TestUnshareableAnswersNeverCoalesced: first visitors who arrive together
// while the origin answers no-store, no-cache or s-maxage=0 each get a
// render of their own (issue 8): the answer may not be shown to anyone
// else, so the fill's render is its owner's only.
func TestUnshareableAnswersNeverCoalesced(t *testing.T) {
	t.Parallel()
	for _, cc := range []string{"no-store", "no-cache", "public, s-maxage=0"} {
		t.Run(cc, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, isr.Options{})
			r.origin.SetHeader("/counter", "Cache-Control", cc)
			r.origin.SetDelay("/counter", 200*time.Millisecond)
			const visitors = 6
			bodies := make(chan string, visitors)
			var wg sync.WaitGroup
			for range visitors {
				wg.Add(1)
				go func() {
					defer wg.Done()
					bodies <- r.get(t, "/counter").body
				}()
			}
			wg.Wait()
			close(bodies)
			seen := map[string]bool{}
			for b := range bodies {
				if seen[b] {
					t.Fatalf("two visitors got the same render %q", b)
				}
				seen[b] = true
			}
			if n := r.origin.Renders("/counter"); n != visitors {
				t.Fatalf("%d renders for %d visitors, want one each", n, visitors)
			}
		})
	}
}

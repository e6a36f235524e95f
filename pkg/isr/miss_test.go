package isr_test

import (
	"sync"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

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

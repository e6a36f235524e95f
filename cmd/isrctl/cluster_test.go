package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/isrcache/isrcache/internal/server"
)

// servesVersion waits until the replica at base serves version n of path.
func servesVersion(t *testing.T, base, path string, n int) {
	t.Helper()
	want := fmt.Sprintf("%s v%d ", path, n)
	eventually(t, base+path+" serves v"+fmt.Sprint(n), func() error {
		if p := get(t, base, path); !strings.HasPrefix(p.Body, want) {
			return fmt.Errorf("body %q (%s)", p.Body, p.Cache)
		}
		return nil
	})
}

func TestRevalidateReachesEveryReplica(t *testing.T) {
	t.Parallel()
	s := newStack(t, 3)
	for _, p := range []string{"/posts/1", "/posts/2"} {
		for _, r := range s.replicas {
			get(t, r, p) // rendered on r1, then HIT in Redis and in each hot cache
		}
	}

	// By path, through the second replica, with stdin and a comment.
	s.origin.SetVersion("/posts/1", 2)
	res := s.ctl(t, "# from the CMS\n/posts/1\n", nil, "-server", s.replicas[1], "revalidate", "-")
	if res.code != 0 || res.stdout != "/posts/1\tregenerated\n" {
		t.Fatalf("revalidate /posts/1: %v", res)
	}
	for _, r := range s.replicas {
		servesVersion(t, r, "/posts/1", 2)
	}
	if n := s.origin.Renders("/posts/1"); n != 2 {
		t.Errorf("/posts/1 rendered %d times, want 2 (first visit, revalidation)", n)
	}

	// By tag, with the flags after the command.
	s.origin.SetVersion("/posts/2", 2)
	res = s.ctl(t, "", nil, "revalidate", "-tag", "posts", "-server", s.replicas[2])
	if res.code != 0 || !strings.Contains(res.stdout, "/posts/1\tregenerated\n") || !strings.Contains(res.stdout, "/posts/2\tregenerated\n") {
		t.Fatalf("revalidate -tag posts: %v", res)
	}
	for _, r := range s.replicas {
		servesVersion(t, r, "/posts/2", 2)
	}
	if n := s.origin.Renders("/posts/2"); n != 2 {
		t.Errorf("/posts/2 rendered %d times, want 2", n)
	}

	// -mode stale: the next visit is STALE and regenerates once.
	res = s.ctl(t, "", nil, "revalidate", "-mode", "stale", "-json", "/posts/1")
	var raw struct {
		Revalidated bool
		Results     []struct{ Path, Result string }
	}
	if err := json.Unmarshal([]byte(res.stdout), &raw); res.code != 0 || err != nil || !raw.Revalidated || raw.Results[0].Result != "stale" {
		t.Fatalf("revalidate -mode stale -json: %v (%v)", res, err)
	}
	if p := get(t, s.replicas[0], "/posts/1"); p.Cache != "STALE" {
		t.Errorf("visit after -mode stale: %s, want STALE", p.Cache)
	}
}

func TestPurgeMakesTheNextVisitAMiss(t *testing.T) {
	t.Parallel()
	s := newStack(t, 2)
	for _, p := range []string{"/posts/3", "/posts/4"} {
		if c := get(t, s.replicas[0], p).Cache; c != "MISS" {
			t.Fatalf("first visit of %s: %s", p, c)
		}
		if c := get(t, s.replicas[0], p).Cache; c != "HIT" {
			t.Fatalf("second visit of %s: %s", p, c)
		}
	}
	res := s.ctl(t, "", nil, "purge", "/posts/3", "/nothing-here")
	if res.code != 0 || res.stdout != "/posts/3\tdeleted\n/nothing-here\tnot_cached\n" {
		t.Fatalf("purge: %v", res)
	}
	if s.entry(t, "/posts/3") != nil {
		t.Fatal("/posts/3 is still in Redis after purge")
	}
	// r2 never held the page; r1 dropped its hot copy when it purged.
	if c := get(t, s.replicas[1], "/posts/3").Cache; c != "MISS" {
		t.Errorf("visit after purge: %s, want MISS", c)
	}
	if n := s.origin.Renders("/posts/3"); n != 2 {
		t.Errorf("/posts/3 rendered %d times, want 2", n)
	}

	res = s.ctl(t, "", nil, "purge", "-tag", "posts")
	if res.code != 0 || !strings.Contains(res.stdout, "/posts/4\tdeleted\n") {
		t.Fatalf("purge -tag posts: %v", res)
	}
	if c := get(t, s.replicas[0], "/posts/4").Cache; c != "MISS" {
		t.Errorf("visit after purge -tag: %s, want MISS", c)
	}
}

func TestInspect(t *testing.T) {
	t.Parallel()
	s := newStack(t, 2)
	s.origin.SetHeader("/posts/5", "Cache-Tag", "post-5")
	get(t, s.replicas[0], "/posts/5")
	e := s.entry(t, "/posts/5")

	res := s.ctl(t, "", nil, "-server", s.replicas[1], "inspect", "/posts/5")
	t.Logf("isrctl inspect /posts/5:\n%s", res.stdout)
	for _, want := range []string{
		"key         /posts/5\n",
		"status      200\n",
		fmt.Sprintf("generation  %d\n", e.Page.Gen),
		"revalidate  1m0s\n",
		"state       fresh for ",
		"tags        post-5, posts\n",
		fmt.Sprintf("size        %d bytes\n", len(e.Page.Body)),
		"headers     ",
		"Content-Type: text/plain; charset=utf-8\n",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("inspect output lacks %q", want)
		}
	}
	if res.code != 0 || t.Failed() {
		t.Fatalf("inspect: %v", res)
	}

	// After an eager revalidation: a newer generation, fresh again; after a
	// stale one: STALE.
	if r := s.ctl(t, "", nil, "revalidate", "/posts/5"); r.code != 0 {
		t.Fatalf("revalidate: %v", r)
	}
	res = s.ctl(t, "", nil, "inspect", "-json", "/posts/5")
	var in server.Inspection
	if err := json.Unmarshal([]byte(res.stdout), &in); err != nil || res.code != 0 {
		t.Fatalf("inspect -json: %v (%v)", res, err)
	}
	if in.Generation <= e.Page.Gen || in.Stale || in.FreshSeconds == nil || *in.RevalidateSeconds != 60 {
		t.Errorf("after eager revalidation: %+v, want a generation above %d, fresh, revalidate 60s", in, e.Page.Gen)
	}
	if r := s.ctl(t, "", nil, "revalidate", "-mode", "stale", "/posts/5"); r.code != 0 {
		t.Fatalf("revalidate -mode stale: %v", r)
	}
	res = s.ctl(t, "", nil, "inspect", "/posts/5")
	if res.code != 0 || !strings.Contains(res.stdout, "state       STALE") {
		t.Errorf("inspect after -mode stale: %v", res)
	}

	res = s.ctl(t, "", nil, "inspect", "/posts/6")
	if res.code != 1 || !strings.Contains(res.stderr, "/posts/6 is not cached (key /posts/6)") {
		t.Errorf("inspect of an uncached page: %v", res)
	}
}

package isr_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

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

func TestInspect(t *testing.T) {
	t.Parallel()
	r := newRig(t, isr.Options{Routes: []isr.Route{{Pattern: "/list", Query: []string{"page"}}}})
	r.origin.SetHeader("/list", "Cache-Tag", "lists")
	r.get(t, "/list?page=2&utm=x")
	key, e, err := r.h.Inspect(context.Background(), "/list?utm=y&page=2")
	if err != nil || key != "/list?page=2" || e.Page.Status != 200 || e.Page.Tags[0] != "lists" || e.Stale() {
		t.Fatalf("Inspect = %q, %+v, %v", key, e, err)
	}
	if _, _, err := r.h.Inspect(context.Background(), "/nothing"); !errors.Is(err, isr.ErrNotFound) {
		t.Fatalf("Inspect of an unknown page: %v, want ErrNotFound", err)
	}
	if _, _, err := r.h.Inspect(context.Background(), "//evil"); !errors.Is(err, isr.ErrBadPath) {
		t.Fatalf("Inspect of a bad path: %v, want ErrBadPath", err)
	}
}

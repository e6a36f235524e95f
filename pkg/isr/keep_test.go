package isr_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrmem"
	"github.com/isrcache/isrcache/pkg/isr/isrtest"
)

var errStoreDown = errors.New("store down")

// flakyStore is a backend whose store and lock calls fail while down is
// set, and whose Puts fail while putsDown is set; the bus keeps working.
type flakyStore struct {
	*isrmem.Backend
	down, putsDown atomic.Bool
}

func (f *flakyStore) Get(ctx context.Context, key string) (*isr.Entry, error) {
	if f.down.Load() {
		return nil, errStoreDown
	}
	return f.Backend.Get(ctx, key)
}

func (f *flakyStore) Token(ctx context.Context, key string) (int64, error) {
	if f.down.Load() {
		return 0, errStoreDown
	}
	return f.Backend.Token(ctx, key)
}

func (f *flakyStore) Put(ctx context.Context, key string, tok int64, p *isr.Page, ttl time.Duration) (bool, error) {
	if f.down.Load() || f.putsDown.Load() {
		return false, errStoreDown
	}
	return f.Backend.Put(ctx, key, tok, p, ttl)
}

func (f *flakyStore) TryLock(ctx context.Context, key string, ttl time.Duration) (isr.Lock, error) {
	if f.down.Load() {
		return nil, errStoreDown
	}
	return f.Backend.TryLock(ctx, key, ttl)
}

func (f *flakyStore) Fail(ctx context.Context, key string, d time.Duration) error {
	if f.down.Load() {
		return errStoreDown
	}
	return f.Backend.Fail(ctx, key, d)
}

// TestMonotonicReadsWhileStoreDown is issue 7's time travel: while the
// store is unreachable, a revalidation executed late drops the replica's
// copy; the replica renders the newer version, unstored. Its other
// visitors get that render (no render storm), and once the store answers
// again, its older page is not served: the replica keeps serving its own
// render, as STALE, and the regeneration that starts stores a new one.
func TestMonotonicReadsWhileStoreDown(t *testing.T) {
	t.Parallel()
	clock := isrtest.NewClock(time.Now())
	b := &flakyStore{Backend: isrmem.New(&isrmem.Options{Now: clock.Now})}
	r := newRig(t, isr.Options{Backend: b, Now: clock.Now, Revalidate: time.Hour, Go: func(f func()) { f() }})
	if a := r.get(t, "/p"); a.body != "/p v1 render #1" {
		t.Fatalf("first visit: %q", a.body)
	}
	clock.Advance(time.Second)
	r.origin.SetVersion("/p", 2)
	b.down.Store(true)
	// Redis runs a revalidation it had queued: every replica drops its copy.
	if _, err := b.Backend.Invalidate(context.Background(), isr.ModeStale, "/p"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the event to drop the hot cache's copy", func() bool { return r.h.Stats().L1Entries == 0 })

	for i := range 5 {
		if a := r.get(t, "/p"); a.body != "/p v2 render #2" {
			t.Fatalf("visit %d with the store down: %d %q, want the replica's one render of v2", i, a.status, a.body)
		}
	}
	b.down.Store(false)
	clock.Advance(3 * time.Second) // past the hot cache's maximum age
	a := r.get(t, "/p")
	wantState(t, a, "STALE")
	if a.body != "/p v2 render #2" {
		t.Fatalf("first visit once the store is back: %q, want v2 still (the store's v1 is older)", a.body)
	}
	// The regeneration it started (synchronously here) stored a new render.
	if a := r.get(t, "/p"); a.body != "/p v2 render #3" {
		t.Fatalf("after the regeneration: %q, want render #3, stored", a.body)
	}
	if e, err := b.Backend.Get(context.Background(), "/p"); err != nil || string(e.Page.Body) != "/p v2 render #3" {
		t.Fatalf("store: %v, %v; want render #3", e, err)
	}
}

// TestUnstoredRenderWrittenBack: a render whose token was issued but whose
// write failed is kept, and written back through the fenced write with that
// token once the store answers, without rendering again.
func TestUnstoredRenderWrittenBack(t *testing.T) {
	t.Parallel()
	clock := isrtest.NewClock(time.Now())
	b := &flakyStore{Backend: isrmem.New(&isrmem.Options{Now: clock.Now})}
	r := newRig(t, isr.Options{Backend: b, Now: clock.Now, Revalidate: time.Hour, Go: func(f func()) { f() }})
	b.putsDown.Store(true)
	if a := r.get(t, "/p"); a.body != "/p v1 render #1" {
		t.Fatalf("first visit: %q", a.body)
	}
	if a := r.get(t, "/p"); a.body != "/p v1 render #1" {
		t.Fatalf("second visit: %q, want the kept render", a.body)
	}
	b.putsDown.Store(false)
	clock.Advance(3 * time.Second)
	wantState(t, r.get(t, "/p"), "STALE") // starts the write-back
	e, err := b.Backend.Get(context.Background(), "/p")
	if err != nil || string(e.Page.Body) != "/p v1 render #1" {
		t.Fatalf("store: %v, %v; want render #1 written back", e, err)
	}
	if n := r.origin.Renders("/p"); n != 1 {
		t.Fatalf("%d renders, want 1: the kept render is written back, not rendered again", n)
	}
}

// TestKeptRenderYieldsToANewerWrite: a render kept while the store was
// down (no token) gives way to a page another replica writes after it:
// the write's event makes the replica ask the store at the next visit,
// and the store's page, written later, is served.
func TestKeptRenderYieldsToANewerWrite(t *testing.T) {
	t.Parallel()
	clock := isrtest.NewClock(time.Now())
	b := &flakyStore{Backend: isrmem.New(&isrmem.Options{Now: clock.Now})}
	r := newRig(t, isr.Options{Backend: b, Now: clock.Now, Revalidate: time.Hour, Go: func(f func()) { f() }})
	b.down.Store(true)
	if a := r.get(t, "/p"); a.body != "/p v1 render #1" {
		t.Fatalf("first visit, store down: %q", a.body)
	}
	b.down.Store(false)
	clock.Advance(100 * time.Millisecond)
	// Another replica writes v2.
	ctx := context.Background()
	tok, err := b.Backend.Token(ctx, "/p")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Backend.Put(ctx, "/p", tok, &isr.Page{Key: "/p", Status: 200, Body: []byte("/p v2 elsewhere"), Revalidate: time.Hour}, time.Hour); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the replica to serve the newer write", func() bool { return r.get(t, "/p").body == "/p v2 elsewhere" })
}

package isrmem

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrtest"
)

func newTest(t *testing.T, maxBytes int64) (*Backend, *isrtest.Clock) {
	t.Helper()
	c := &isrtest.Clock{}
	b := New(&Options{Now: c.Now, MaxBytes: maxBytes})
	t.Cleanup(func() { checkInvariants(t, b) })
	return b, c
}

// checkInvariants checks that the byte count, order list, expiry heap and
// tag index agree with the records.
func checkInvariants(t *testing.T, b *Backend) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var bytes int64
	inHeap := 0
	for key, rec := range b.recs {
		bytes += rec.size
		if rec.heapIdx >= 0 {
			inHeap++
			if b.expiry[rec.heapIdx] != rec {
				t.Errorf("record %q: heap index %d points elsewhere", key, rec.heapIdx)
			}
		}
		if rec.page != nil {
			for _, tag := range rec.page.Tags {
				if _, ok := b.tags[tag][key]; !ok {
					t.Errorf("record %q: tag %q not indexed", key, tag)
				}
			}
		}
	}
	if bytes != b.bytes || b.order.Len() != len(b.recs) || inHeap != len(b.expiry) {
		t.Errorf("bytes %d (records say %d), order %d, heap %d (records say %d), records %d",
			b.bytes, bytes, b.order.Len(), len(b.expiry), inHeap, len(b.recs))
	}
	for tag, keys := range b.tags {
		for key := range keys {
			if rec := b.recs[key]; rec == nil || rec.page == nil || !slices.Contains(rec.page.Tags, tag) {
				t.Errorf("tag %q indexes %q, which does not carry it", tag, key)
			}
		}
	}
}

func page(key, body string, revalidate time.Duration, tags ...string) *isr.Page {
	return &isr.Page{Key: key, Status: 200, Body: []byte(body), Revalidate: revalidate, Tags: tags}
}

func mustPut(t *testing.T, b *Backend, p *isr.Page, ttl time.Duration) int64 {
	t.Helper()
	tok, err := b.Token(t.Context(), p.Key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(t.Context(), p.Key, tok, p, ttl); err != nil {
		t.Fatalf("Put(%q): %v", p.Key, err)
	}
	return tok
}

func present(t *testing.T, b *Backend, key string) bool {
	t.Helper()
	_, err := b.Get(t.Context(), key)
	if err != nil && !errors.Is(err, isr.ErrNotFound) {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return err == nil
}

func TestFreshnessByClock(t *testing.T) {
	b, c := newTest(t, 0)
	mustPut(t, b, page("/p", "v1", 10*time.Second), time.Hour)
	for _, step := range []struct {
		advance time.Duration
		age     time.Duration
		fresh   time.Duration
	}{
		{0, 0, 10 * time.Second},
		{4 * time.Second, 4 * time.Second, 6 * time.Second},
		{6 * time.Second, 10 * time.Second, 0},
		{time.Second, 11 * time.Second, -time.Second},
	} {
		c.Advance(step.advance)
		e, err := b.Get(t.Context(), "/p")
		if err != nil || e.Age != step.age || e.Fresh != step.fresh {
			t.Fatalf("at age %v: Get = Age %v Fresh %v, %v; want %v %v", step.age, e.Age, e.Fresh, err, step.age, step.fresh)
		}
	}
}

func TestHardExpiry(t *testing.T) {
	b, c := newTest(t, 0)
	mustPut(t, b, page("/gone", "v1", isr.Never, "t"), time.Minute)
	mustPut(t, b, page("/kept", "v1", isr.Never, "t"), time.Hour)
	c.Advance(time.Minute - time.Nanosecond)
	if !present(t, b, "/gone") {
		t.Fatal("page gone before its ttl")
	}
	c.Advance(time.Nanosecond)
	if keys, _ := b.TagKeys(t.Context(), "t"); !slices.Equal(keys, []string{"/kept"}) {
		t.Fatalf("TagKeys after expiry = %q, want [/kept]", keys)
	}
	if present(t, b, "/gone") || !present(t, b, "/kept") {
		t.Fatal("want /gone expired and /kept present")
	}
}

func TestPruneDuringWrites(t *testing.T) {
	b, c := newTest(t, 0)
	for i := range 100 {
		mustPut(t, b, page(fmt.Sprintf("/old/%d", i), "x", time.Second), time.Minute)
	}
	c.Advance(2 * time.Minute)
	mustPut(t, b, page("/new", "y", time.Second), time.Minute) // never reading the old ones
	b.mu.Lock()
	n := len(b.recs)
	b.mu.Unlock()
	if n != 1 {
		t.Fatalf("records after a write past every expiry = %d, want 1", n)
	}
}

func TestEvictLeastRecentlyWritten(t *testing.T) {
	size := int64(page("/1", strings.Repeat("x", 100), time.Hour).Size())
	b, _ := newTest(t, 3*size)
	for _, key := range []string{"/1", "/2", "/3"} {
		mustPut(t, b, page(key, strings.Repeat("x", 100), time.Hour), time.Hour)
	}
	present(t, b, "/2") // reading does not count as writing
	mustPut(t, b, page("/1", strings.Repeat("y", 100), time.Hour), time.Hour)
	mustPut(t, b, page("/4", strings.Repeat("x", 100), time.Hour), time.Hour)
	var got []string
	for _, key := range []string{"/1", "/2", "/3", "/4"} {
		if present(t, b, key) {
			got = append(got, key)
		}
	}
	if want := []string{"/1", "/3", "/4"}; !slices.Equal(got, want) {
		t.Fatalf("present after eviction = %q, want %q", got, want)
	}
}

func TestPageLargerThanMaxBytes(t *testing.T) {
	b, _ := newTest(t, 100)
	mustPut(t, b, page("/small", "s", time.Hour), time.Hour)
	tok, _ := b.Token(t.Context(), "/big")
	if _, err := b.Put(t.Context(), "/big", tok, page("/big", strings.Repeat("x", 1000), time.Hour), time.Hour); err != nil {
		t.Fatalf("Put(big) = %v, want nil", err)
	}
	if present(t, b, "/big") || present(t, b, "/small") {
		t.Fatal("want both evicted")
	}
}

func TestUnbounded(t *testing.T) {
	b, _ := newTest(t, -1)
	for i := range 10 {
		mustPut(t, b, page(fmt.Sprintf("/%d", i), strings.Repeat("x", 1<<20), time.Hour), time.Hour)
	}
	if !present(t, b, "/0") {
		t.Fatal("MaxBytes < 0 evicted a page")
	}
}

func TestTombstone(t *testing.T) {
	b, c := newTest(t, 0)
	ctx := t.Context()
	mustPut(t, b, page("/d", "v1", time.Hour), time.Hour)
	old, _ := b.Token(ctx, "/d")
	if _, err := b.Invalidate(ctx, isr.ModeDelete, "/d"); err != nil {
		t.Fatal(err)
	}
	c.Advance(tombstoneTTL - time.Second)
	if _, err := b.Put(ctx, "/d", old, page("/d", "zombie", time.Hour), time.Hour); !errors.Is(err, isr.ErrFenced) {
		t.Fatalf("Put(token before delete) near tombstone end = %v, want ErrFenced", err)
	}
	c.Advance(time.Second)
	mustPut(t, b, page("/other", "x", time.Hour), time.Hour) // prunes
	b.mu.Lock()
	_, kept := b.recs["/d"]
	b.mu.Unlock()
	if kept {
		t.Fatal("tombstone kept past tombstoneTTL")
	}
}

func TestLockByClock(t *testing.T) {
	b, c := newTest(t, 0)
	ctx := t.Context()
	lk, err := b.TryLock(ctx, "/l", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(9 * time.Second)
	if err := lk.Refresh(ctx, 10*time.Second); err != nil {
		t.Fatalf("Refresh before expiry: %v", err)
	}
	c.Advance(9 * time.Second)
	if _, err := b.TryLock(ctx, "/l", time.Second); !errors.Is(err, isr.ErrLocked) {
		t.Fatalf("TryLock within refreshed ttl = %v, want ErrLocked", err)
	}
	c.Advance(time.Second)
	if err := lk.Release(ctx); !errors.Is(err, isr.ErrLockLost) {
		t.Fatalf("Release at expiry = %v, want ErrLockLost", err)
	}
	if _, err := b.TryLock(ctx, "/l", time.Second); err != nil {
		t.Fatalf("TryLock after expiry: %v", err)
	}
}

func TestLockSweep(t *testing.T) {
	b, c := newTest(t, 0)
	for i := range 1000 {
		if _, err := b.TryLock(t.Context(), fmt.Sprint(i), time.Second); err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Second) // each lock expires, unreleased
	}
	if n := len(b.locks); n > 128 {
		t.Fatalf("%d expired locks kept, want at most 128", n)
	}
}

func TestBadInput(t *testing.T) {
	b, _ := newTest(t, 0)
	ctx := t.Context()
	if _, err := b.Put(ctx, "/p", 1, nil, time.Hour); err == nil {
		t.Error("Put(nil page) succeeded")
	}
	if _, err := b.Put(ctx, "/p", 1, page("/p", "x", time.Hour), 0); err == nil {
		t.Error("Put(ttl 0) succeeded")
	}
	if _, err := b.Invalidate(ctx, isr.Mode(42), "/p"); err == nil {
		t.Error("Invalidate(unknown mode) succeeded")
	}
	if _, err := b.TryLock(ctx, "/p", 0); err == nil {
		t.Error("TryLock(ttl 0) succeeded")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.Get(cancelled, "/p"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get(cancelled) = %v, want context.Canceled", err)
	}
	if _, err := b.Token(cancelled, "/p"); !errors.Is(err, context.Canceled) {
		t.Errorf("Token(cancelled) = %v, want context.Canceled", err)
	}
}

package isrtest

import (
	"bytes"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

// Durations used by the suite. They are short, so that the suite runs in a
// few seconds, and every wait on them polls until waitFor.
const (
	shortRevalidate = 500 * time.Millisecond
	shortTTL        = 300 * time.Millisecond
	longTTL         = time.Hour
	waitFor         = 5 * time.Second
	pollEvery       = 10 * time.Millisecond
)

// TestBackend runs the conformance suite against the backends returned by
// newBackend: the Store's fenced writes and freshness, the Locker and the
// Bus. Each call of newBackend must return a fresh backend that shares no
// state with the others; the subtests run in parallel.
func TestBackend(t *testing.T, newBackend func(t *testing.T) isr.Backend) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, b isr.Backend)
	}{
		{"GetEmpty", testGetEmpty},
		{"TokenIncreasing", testTokenIncreasing},
		{"TokenConcurrent", testTokenConcurrent},
		{"PutGet", testPutGet},
		{"GoesStale", testGoesStale},
		{"Never", testNever},
		{"Fenced", testFenced},
		{"StaleFloor", testStaleFloor},
		{"Delete", testDelete},
		{"InvalidateFound", testInvalidateFound},
		{"TagKeys", testTagKeys},
		{"HardTTL", testHardTTL},
		{"Fail", testFail},
		{"LockExclusive", testLockExclusive},
		{"LockConcurrent", testLockConcurrent},
		{"LockExpires", testLockExpires},
		{"LockRefresh", testLockRefresh},
		{"LockRelease", testLockRelease},
		{"LockLost", testLockLost},
		{"BusEvents", testBusEvents},
		{"BusNoEventForMissing", testBusNoEventForMissing},
		{"BusTwoListeners", testBusTwoListeners},
		{"BusCancel", testBusCancel},
		{"VariantsIndex", testVariantsIndex},
		{"VariantsInvalidate", testVariantsInvalidate},
		{"VariantsBound", testVariantsBound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newBackend(t))
		})
	}
}

// newPage returns a page for key with every field set.
func newPage(key, body string, revalidate time.Duration, tags ...string) *isr.Page {
	return &isr.Page{
		Key:        key,
		Status:     http.StatusOK,
		Header:     http.Header{"Content-Type": {"text/html; charset=utf-8"}, "Cache-Tag": {"a, b"}},
		Body:       []byte(body),
		Tags:       tags,
		Revalidate: revalidate,
	}
}

// token issues a fencing token for key or fails the test.
func token(t *testing.T, s isr.Store, key string) int64 {
	t.Helper()
	tok, err := s.Token(t.Context(), key)
	if err != nil {
		t.Fatalf("Token(%q): %v", key, err)
	}
	return tok
}

// put takes a token and stores p under its key with a long ttl, and
// returns the token.
func put(t *testing.T, s isr.Store, p *isr.Page) int64 {
	t.Helper()
	tok := token(t, s, p.Key)
	if fresh, err := s.Put(t.Context(), p.Key, tok, p, longTTL); err != nil || !fresh {
		t.Fatalf("Put(%q, %d) = %v, %v; want true, nil", p.Key, tok, fresh, err)
	}
	return tok
}

// get returns the entry under key or fails the test.
func get(t *testing.T, s isr.Store, key string) *isr.Entry {
	t.Helper()
	e, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if e == nil || e.Page == nil {
		t.Fatalf("Get(%q) returned no page and no error", key)
	}
	return e
}

// getNotFound fails the test unless key holds no page.
func getNotFound(t *testing.T, s isr.Store, key string) {
	t.Helper()
	if e, err := s.Get(t.Context(), key); !errors.Is(err, isr.ErrNotFound) {
		t.Fatalf("Get(%q) = %+v, %v; want ErrNotFound", key, e, err)
	}
}

// eventually polls cond until it returns true or waitFor passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s never happened", waitFor, what)
		}
		time.Sleep(pollEvery)
	}
}

func testGetEmpty(t *testing.T, b isr.Backend) {
	getNotFound(t, b, "/empty")
	if keys, err := b.TagKeys(t.Context(), "nothing"); err != nil || len(keys) != 0 {
		t.Fatalf("TagKeys(unknown) = %q, %v; want none, nil", keys, err)
	}
}

func testTokenIncreasing(t *testing.T, b isr.Backend) {
	var last int64
	for i := range 10 {
		tok := token(t, b, "/tok")
		if tok <= last {
			t.Fatalf("Token #%d = %d, want > %d", i, tok, last)
		}
		last = tok
	}
	// Tokens of another key do not go backwards either.
	if first := token(t, b, "/tok2"); first <= 0 {
		t.Fatalf("Token(other key) = %d, want > 0", first)
	}
	if tok := token(t, b, "/tok"); tok <= last {
		t.Fatalf("Token after another key's = %d, want > %d", tok, last)
	}
}

func testTokenConcurrent(t *testing.T, b isr.Backend) {
	const n = 50
	toks := make([]int64, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { toks[i], errs[i] = b.Token(t.Context(), "/tokc") })
	}
	wg.Wait()
	seen := make(map[int64]bool)
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Token: %v", errs[i])
		}
		if seen[toks[i]] {
			t.Fatalf("Token issued %d twice to concurrent callers", toks[i])
		}
		seen[toks[i]] = true
	}
	if max := slices.Max(toks); token(t, b, "/tokc") <= max {
		t.Fatalf("Token after concurrent burst not larger than %d", max)
	}
}

func testPutGet(t *testing.T, b isr.Backend) {
	want := newPage("/posts/1", "<h1>post 1</h1>", shortRevalidate, "post", "post:1")
	want.Status = http.StatusNotFound
	want.Header.Add("Vary", "Accept-Encoding")
	tok := put(t, b, want)
	e := get(t, b, want.Key)
	got := e.Page
	if got.Key != want.Key || got.Status != want.Status || got.Revalidate != want.Revalidate {
		t.Errorf("Get = {Key %q Status %d Revalidate %v}, want {%q %d %v}",
			got.Key, got.Status, got.Revalidate, want.Key, want.Status, want.Revalidate)
	}
	if !reflect.DeepEqual(got.Header, want.Header) {
		t.Errorf("Get Header = %v, want %v", got.Header, want.Header)
	}
	if !bytes.Equal(got.Body, want.Body) {
		t.Errorf("Get Body = %q, want %q", got.Body, want.Body)
	}
	if !slices.Equal(sorted(got.Tags), sorted(want.Tags)) {
		t.Errorf("Get Tags = %q, want %q", got.Tags, want.Tags)
	}
	if got.Gen != tok {
		t.Errorf("Get Gen = %d, want the token %d", got.Gen, tok)
	}
	if e.Fresh <= 0 || e.Stale() {
		t.Errorf("Get right after Put: Fresh = %v, want > 0", e.Fresh)
	}
	if e.Age < 0 {
		t.Errorf("Get Age = %v, want >= 0", e.Age)
	}
	// An empty body and no headers or tags round-trip too.
	empty := &isr.Page{Key: "/empty-body", Status: http.StatusGone, Revalidate: shortRevalidate}
	put(t, b, empty)
	if e := get(t, b, empty.Key); len(e.Page.Body) != 0 || len(e.Page.Header) != 0 || len(e.Page.Tags) != 0 {
		t.Errorf("Get(empty page) = %+v, want no body, headers or tags", e.Page)
	}
}

func testGoesStale(t *testing.T, b isr.Backend) {
	p := newPage("/stale", "v1", shortRevalidate)
	put(t, b, p)
	eventually(t, "page going stale after its revalidate time", func() bool {
		return get(t, b, p.Key).Stale()
	})
	// Stale pages are still served, with their age.
	if e := get(t, b, p.Key); string(e.Page.Body) != "v1" || e.Age <= 0 {
		t.Fatalf("stale Get = body %q age %v, want v1 and a positive age", e.Page.Body, e.Age)
	}
}

func testNever(t *testing.T, b isr.Backend) {
	p := newPage("/never", "v1", isr.Never)
	put(t, b, p)
	e := get(t, b, p.Key)
	if e.Fresh != isr.Forever || e.Page.Revalidate != isr.Never {
		t.Fatalf("Never page: Fresh = %v, Revalidate = %v; want Forever, Never", e.Fresh, e.Page.Revalidate)
	}
	found, err := b.Invalidate(t.Context(), isr.ModeStale, p.Key)
	if err != nil || !slices.Equal(found, []bool{true}) {
		t.Fatalf("Invalidate = %v, %v; want [true], nil", found, err)
	}
	if e := get(t, b, p.Key); !e.Stale() {
		t.Fatalf("Never page after Invalidate: Fresh = %v, want stale", e.Fresh)
	}
}

func testFenced(t *testing.T, b isr.Backend) {
	ctx, key := t.Context(), "/fenced"
	a, bb := token(t, b, key), token(t, b, key)
	if _, err := b.Put(ctx, key, bb, newPage(key, "B", shortRevalidate), longTTL); err != nil {
		t.Fatalf("Put(B): %v", err)
	}
	if _, err := b.Put(ctx, key, a, newPage(key, "A", shortRevalidate), longTTL); !errors.Is(err, isr.ErrFenced) {
		t.Fatalf("Put(older token A) = %v, want ErrFenced", err)
	}
	if _, err := b.Put(ctx, key, bb, newPage(key, "B2", shortRevalidate), longTTL); !errors.Is(err, isr.ErrFenced) {
		t.Fatalf("Put(same token B again) = %v, want ErrFenced", err)
	}
	if e := get(t, b, key); string(e.Page.Body) != "B" || e.Page.Gen != bb {
		t.Fatalf("after fenced write: body %q gen %d, want B %d", e.Page.Body, e.Page.Gen, bb)
	}
}

func testStaleFloor(t *testing.T, b isr.Backend) {
	for _, mode := range []isr.Mode{isr.ModeStale, isr.ModeEager} {
		ctx, key := t.Context(), "/floor"+modeName(mode)
		put(t, b, newPage(key, "v1", time.Hour))
		before := token(t, b, key) // a render starts
		found, err := b.Invalidate(ctx, mode, key)
		if err != nil || !slices.Equal(found, []bool{true}) {
			t.Fatalf("Invalidate(%s) = %v, %v; want [true], nil", modeName(mode), found, err)
		}
		if e := get(t, b, key); !e.Stale() || string(e.Page.Body) != "v1" {
			t.Fatalf("after Invalidate(%s): body %q fresh %v, want v1 stale", modeName(mode), e.Page.Body, e.Fresh)
		}
		fresh, err := b.Put(ctx, key, before, newPage(key, "v2", time.Hour), longTTL)
		if err != nil || fresh {
			t.Fatalf("Put(token from before Invalidate) = %v, %v; want false, nil", fresh, err)
		}
		if e := get(t, b, key); !e.Stale() || string(e.Page.Body) != "v2" || e.Page.Gen != before {
			t.Fatalf("page rendered before Invalidate: body %q gen %d fresh %v, want v2 %d stale",
				e.Page.Body, e.Page.Gen, e.Fresh, before)
		}
		after := token(t, b, key)
		fresh, err = b.Put(ctx, key, after, newPage(key, "v3", time.Hour), longTTL)
		if err != nil || !fresh {
			t.Fatalf("Put(token from after Invalidate) = %v, %v; want true, nil", fresh, err)
		}
		if e := get(t, b, key); e.Stale() || string(e.Page.Body) != "v3" {
			t.Fatalf("page rendered after Invalidate: body %q fresh %v, want v3 fresh", e.Page.Body, e.Fresh)
		}
	}
}

func testDelete(t *testing.T, b isr.Backend) {
	ctx, key := t.Context(), "/delete"
	put(t, b, newPage(key, "v1", time.Hour))
	before := token(t, b, key)
	found, err := b.Invalidate(ctx, isr.ModeDelete, key)
	if err != nil || !slices.Equal(found, []bool{true}) {
		t.Fatalf("Invalidate(delete) = %v, %v; want [true], nil", found, err)
	}
	getNotFound(t, b, key)
	if _, err := b.Put(ctx, key, before, newPage(key, "v2", time.Hour), longTTL); !errors.Is(err, isr.ErrFenced) {
		t.Fatalf("Put(token from before delete) = %v, want ErrFenced", err)
	}
	getNotFound(t, b, key)
	after := token(t, b, key)
	if fresh, err := b.Put(ctx, key, after, newPage(key, "v3", time.Hour), longTTL); err != nil || !fresh {
		t.Fatalf("Put(token from after delete) = %v, %v; want true, nil", fresh, err)
	}
	if e := get(t, b, key); string(e.Page.Body) != "v3" || e.Page.Gen != after || e.Stale() {
		t.Fatalf("after delete and Put: body %q gen %d fresh %v, want v3 %d fresh", e.Page.Body, e.Page.Gen, e.Fresh, after)
	}
}

func testInvalidateFound(t *testing.T, b isr.Backend) {
	ctx := t.Context()
	for _, mode := range []isr.Mode{isr.ModeEager, isr.ModeStale, isr.ModeDelete} {
		p1, p2, miss := "/f1"+modeName(mode), "/f2"+modeName(mode), "/missing"+modeName(mode)
		put(t, b, newPage(p1, "1", time.Hour))
		put(t, b, newPage(p2, "2", time.Hour))
		found, err := b.Invalidate(ctx, mode, p1, miss, p2)
		if want := []bool{true, false, true}; err != nil || !slices.Equal(found, want) {
			t.Fatalf("Invalidate(%s) = %v, %v; want %v, nil", modeName(mode), found, err, want)
		}
		getNotFound(t, b, miss)
	}
	if found, err := b.Invalidate(ctx, isr.ModeStale); err != nil || len(found) != 0 {
		t.Fatalf("Invalidate(no keys) = %v, %v; want none, nil", found, err)
	}
}

func testTagKeys(t *testing.T, b isr.Backend) {
	put(t, b, newPage("/t1", "1", time.Hour, "blog", "post:1"))
	put(t, b, newPage("/t2", "2", time.Hour, "blog"))
	put(t, b, newPage("/t3", "3", time.Hour))
	for _, tc := range []struct {
		tag  string
		want []string
	}{
		{"blog", []string{"/t1", "/t2"}},
		{"post:1", []string{"/t1"}},
		{"unknown", nil},
	} {
		keys, err := b.TagKeys(t.Context(), tc.tag)
		if err != nil || !slices.Equal(sorted(keys), tc.want) {
			t.Errorf("TagKeys(%q) = %q, %v; want %q, nil", tc.tag, keys, err, tc.want)
		}
	}
}

func testHardTTL(t *testing.T, b isr.Backend) {
	ctx, key := t.Context(), "/ttl"
	tok := token(t, b, key)
	if _, err := b.Put(ctx, key, tok, newPage(key, "v1", isr.Never), shortTTL); err != nil {
		t.Fatalf("Put: %v", err)
	}
	get(t, b, key)
	eventually(t, "page disappearing after its hard ttl", func() bool {
		_, err := b.Get(ctx, key)
		return errors.Is(err, isr.ErrNotFound)
	})
	// The key can be written again.
	put(t, b, newPage(key, "v2", time.Hour))
	if e := get(t, b, key); string(e.Page.Body) != "v2" {
		t.Fatalf("after expiry and Put: body %q, want v2", e.Page.Body)
	}
}

// testFail: after Fail, Get of a key with no page returns a *FailedError
// (which is ErrNotFound too) until the backoff ends; a stored page wins
// over it.
func testFail(t *testing.T, b isr.Backend) {
	ctx := t.Context()
	if err := b.Fail(ctx, "/cold", shortTTL); err != nil {
		t.Fatalf("Fail: %v", err)
	}
	_, err := b.Get(ctx, "/cold")
	var fe *isr.FailedError
	if !errors.As(err, &fe) || !errors.Is(err, isr.ErrNotFound) || fe.RetryAfter <= 0 || fe.RetryAfter > shortTTL {
		t.Fatalf("Get after Fail = %v; want a FailedError with 0 < RetryAfter <= %v, also ErrNotFound", err, shortTTL)
	}
	eventually(t, "the failure's backoff to end", func() bool {
		_, err := b.Get(ctx, "/cold")
		return errors.Is(err, isr.ErrNotFound) && !errors.As(err, &fe)
	})
	if err := b.Fail(ctx, "/warm", time.Hour); err != nil {
		t.Fatalf("Fail: %v", err)
	}
	put(t, b, newPage("/warm", "v1", time.Hour))
	if e := get(t, b, "/warm"); string(e.Page.Body) != "v1" {
		t.Fatalf("a stored page after Fail: %q", e.Page.Body)
	}
}

func modeName(m isr.Mode) string {
	switch m {
	case isr.ModeEager:
		return "eager"
	case isr.ModeStale:
		return "stale"
	case isr.ModeDelete:
		return "delete"
	}
	return "unknown"
}

func sorted(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return slices.Sorted(slices.Values(s))
}

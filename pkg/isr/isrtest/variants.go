package isrtest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/isrcache/isrcache/pkg/isr"
)

// The variant tests: a page's variants (keys "page#variant") are indexed
// with the page, covered by its invalidation and bounded in number.

const (
	varPage = "/var"
	varRSC  = varPage + isr.VariantSep + "_rsc=abc&rsc=1"
	varData = varPage + isr.VariantSep + "data=build1"
)

// variants returns the sorted variants listed for key, failing the test on
// error.
func variants(t *testing.T, b isr.Store, key string) []string {
	t.Helper()
	vs, err := b.Variants(t.Context(), key)
	if err != nil || len(vs) != 1 {
		t.Fatalf("Variants(%q) = %q, %v; want one list, nil", key, vs, err)
	}
	return sorted(vs[0])
}

func testVariantsIndex(t *testing.T, b isr.Backend) {
	if got := variants(t, b, varPage); len(got) != 0 {
		t.Fatalf("Variants of an empty page = %q, want none", got)
	}
	put(t, b, newPage(varPage, "html", longTTL))
	put(t, b, newPage(varRSC, "rsc", longTTL))
	put(t, b, newPage(varData, "json", longTTL))
	if got, want := variants(t, b, varPage), sorted([]string{varRSC, varData}); !slices.Equal(got, want) {
		t.Fatalf("Variants(%q) = %q, want %q", varPage, got, want)
	}
	if got := variants(t, b, varRSC); len(got) != 0 {
		t.Fatalf("Variants of a variant = %q, want none", got)
	}
	for key, body := range map[string]string{varPage: "html", varRSC: "rsc", varData: "json"} {
		if e := get(t, b, key); string(e.Page.Body) != body || e.Page.Key != key {
			t.Errorf("Get(%q) = key %q body %q, want %q", key, e.Page.Key, e.Page.Body, body)
		}
	}
	many, err := b.Variants(t.Context(), "/other", varPage)
	if err != nil || len(many) != 2 || len(many[0]) != 0 || len(many[1]) != 2 {
		t.Fatalf("Variants(/other, %s) = %q, %v; want [[] [2 variants]]", varPage, many, err)
	}
}

func testVariantsInvalidate(t *testing.T, b isr.Backend) {
	rec := listen(t, b)
	put(t, b, newPage(varPage, "html", longTTL))
	put(t, b, newPage(varRSC, "rsc", longTTL))
	// Only a variant stored: the page's key still finds it.
	put(t, b, newPage("/only"+isr.VariantSep+"rsc=1", "rsc", longTTL))
	early := token(t, b, varData) // a render that started before the revalidation
	found, err := b.Invalidate(t.Context(), isr.ModeStale, varPage, "/only")
	if err != nil || !slices.Equal(found, []bool{true, true}) {
		t.Fatalf("Invalidate = %v, %v; want [true true], nil", found, err)
	}
	for _, key := range []string{varPage, varRSC, "/only" + isr.VariantSep + "rsc=1"} {
		if e := get(t, b, key); !e.Stale() {
			t.Errorf("Get(%q) after the page's invalidation is fresh (Fresh %v)", key, e.Fresh)
		}
		rec.wait(t, "the stale event of "+key, is(isr.EventStale, key))
	}
	// A variant first stored after its page's revalidation had no floor.
	if _, err := b.Put(t.Context(), varData, early, newPage(varData, "json", longTTL), longTTL); err != nil {
		t.Fatalf("Put of a new variant: %v", err)
	}

	early = token(t, b, varRSC)
	if _, err := b.Invalidate(t.Context(), isr.ModeDelete, varPage); err != nil {
		t.Fatalf("Invalidate(delete): %v", err)
	}
	for _, key := range []string{varPage, varRSC, varData} {
		getNotFound(t, b, key)
		rec.wait(t, "the delete event of "+key, is(isr.EventDeleted, key))
	}
	if got := variants(t, b, varPage); len(got) != 0 {
		t.Errorf("Variants after the page's deletion = %q, want none", got)
	}
	if _, err := b.Put(t.Context(), varRSC, early, newPage(varRSC, "old", longTTL), longTTL); !errors.Is(err, isr.ErrFenced) {
		t.Errorf("Put of a variant with a token from before its deletion = %v, want ErrFenced", err)
	}
}

func testVariantsBound(t *testing.T, b isr.Backend) {
	key := func(i int) string { return fmt.Sprintf("%s%s_rsc=%d&rsc=1", varPage, isr.VariantSep, i) }
	for i := range isr.MaxVariants {
		put(t, b, newPage(key(i), "rsc", longTTL))
	}
	extra := newPage(key(isr.MaxVariants), "one too many", longTTL)
	if _, err := b.Put(t.Context(), extra.Key, token(t, b, extra.Key), extra, longTTL); !errors.Is(err, isr.ErrTooManyVariants) {
		t.Fatalf("Put of variant #%d = %v, want ErrTooManyVariants", isr.MaxVariants+1, err)
	}
	getNotFound(t, b, extra.Key)
	put(t, b, newPage(key(0), "rewritten", longTTL)) // a known variant is rewritten
	put(t, b, newPage(varPage, "html", longTTL))     // the page itself is no variant
	if _, err := b.Invalidate(t.Context(), isr.ModeDelete, varPage); err != nil {
		t.Fatalf("Invalidate(delete): %v", err)
	}
	put(t, b, extra) // room again after the page's variants were deleted
}

package isr_test

import (
	"testing"

	"github.com/isrcache/isrcache/pkg/isr"
)

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

package isr_test

import (
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

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

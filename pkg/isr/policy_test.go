package isr_test

import (
	"net/http"
	"testing"

	"github.com/isrcache/isrcache/pkg/isr"
)

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
